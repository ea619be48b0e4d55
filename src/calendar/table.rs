//! One UTC year of a calendar, precomputed: its open intervals in UTC with the
//! business seconds accumulated up to the end of each, so that every query is
//! a binary search plus arithmetic.
//!
//! A year is the UTC range `[Jan 1 00:00Z, next Jan 1 00:00Z)`. Open periods
//! that run across the boundary are cut there; the caller continues into the
//! next year's table.

use chrono::{Datelike, Days, NaiveDate};

use super::week::subtract;
use super::zone::offset_segments;
use super::Rules;
use crate::time::days_from_civil;

/// Open intervals of one UTC year, sorted, disjoint and non-adjacent.
#[derive(Debug, Clone)]
pub(crate) struct YearTable {
    /// First instant of the next year.
    pub end: i64,
    starts: Vec<i64>,
    ends: Vec<i64>,
    /// Business seconds in `[self.start, ends[i])`.
    cum_end: Vec<i64>,
}

/// Unix seconds of `year-01-01T00:00:00Z` (proleptic Gregorian).
pub(crate) const fn year_start(year: i32) -> i64 {
    days_from_civil(year as i64, 1, 1) * 86_400
}

fn local_day_start(date: NaiveDate) -> i64 {
    days_from_civil(
        i64::from(date.year()),
        i64::from(date.month()),
        i64::from(date.day()),
    ) * 86_400
}

impl YearTable {
    pub fn build(rules: &Rules, year: i32) -> Self {
        let (start, end) = (year_start(year), year_start(year + 1));
        // Local days that can touch this UTC year: offsets lie within ±26h.
        let margin = 3 * 86_400;
        let segments = offset_segments(rules.tz, start - margin, end + margin);
        let mut pieces: Vec<(i64, i64)> = Vec::with_capacity(400);
        let first_day = NaiveDate::from_ymd_opt(year, 1, 1)
            .and_then(|d| d.checked_sub_days(Days::new(2)))
            .unwrap_or(NaiveDate::MIN);
        for date in first_day.iter_days().take(372) {
            if rules.holidays.contains(&date) {
                continue;
            }
            let weekly = rules.weekly.on(date.weekday());
            let windows = match rules.closures.get(&date) {
                Some(closed) => subtract(weekly, closed),
                None => weekly.to_vec(),
            };
            let day0 = local_day_start(date);
            for w in windows {
                let (ls, le) = (day0 + i64::from(w.start), day0 + i64::from(w.end));
                // The UTC instants whose local time lies in [ls, le): within
                // each constant-offset segment, a shifted copy of the window.
                for seg in &segments {
                    let a = (ls - seg.offset).max(seg.start).max(start);
                    let b = (le - seg.offset).min(seg.end).min(end);
                    if a < b {
                        pieces.push((a, b));
                    }
                }
            }
        }
        // A repeated (fall-back) hour can interleave the preimages of windows.
        pieces.sort_unstable();
        let mut table = Self {
            end,
            starts: Vec::with_capacity(pieces.len()),
            ends: Vec::with_capacity(pieces.len()),
            cum_end: Vec::with_capacity(pieces.len()),
        };
        let mut total = 0i64;
        for (a, b) in pieces {
            match table.ends.last_mut() {
                Some(last_end) if *last_end >= a => {
                    if b > *last_end {
                        total += b - *last_end;
                        *last_end = b;
                        if let Some(c) = table.cum_end.last_mut() {
                            *c = total;
                        }
                    }
                }
                _ => {
                    total += b - a;
                    table.starts.push(a);
                    table.ends.push(b);
                    table.cum_end.push(total);
                }
            }
        }
        table
    }

    /// Business seconds in the whole year.
    #[inline]
    pub fn total(&self) -> i64 {
        self.cum_end.last().copied().unwrap_or(0)
    }

    /// Number of intervals starting at or before `t`.
    #[inline]
    fn started_by(&self, t: i64) -> usize {
        self.starts.partition_point(|&s| s <= t)
    }

    /// Business seconds in `[self.start, t)`, for `t` in `[start, end]`.
    #[inline]
    pub fn cum_at(&self, t: i64) -> i64 {
        let i = self.started_by(t);
        if i == 0 {
            return 0;
        }
        let i = i - 1;
        self.cum_end[i] - (self.ends[i] - t).max(0)
    }

    /// The earliest instant at which `target` business seconds have elapsed
    /// since the year's start; `0 < target <= total()`.
    #[inline]
    pub fn instant_at(&self, target: i64) -> i64 {
        let i = self
            .cum_end
            .partition_point(|&c| c < target)
            .min(self.ends.len().saturating_sub(1));
        self.ends[i] - (self.cum_end[i] - target)
    }

    /// The open interval containing `t`, if any.
    #[inline]
    pub fn interval_at(&self, t: i64) -> Option<(i64, i64)> {
        let i = self.started_by(t);
        (i > 0 && t < self.ends[i - 1]).then(|| (self.starts[i - 1], self.ends[i - 1]))
    }

    /// The first interval starting after `t`.
    #[inline]
    pub fn interval_after(&self, t: i64) -> Option<(i64, i64)> {
        let i = self.started_by(t);
        (i < self.starts.len()).then(|| (self.starts[i], self.ends[i]))
    }

    /// All intervals of the year, in order.
    pub fn intervals(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.starts.iter().copied().zip(self.ends.iter().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_starts_match_chrono() {
        for y in [1970, 1972, 2000, 2026, 2100, 2101] {
            let chrono = NaiveDate::from_ymd_opt(y, 1, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc()
                .timestamp();
            assert_eq!(year_start(y), chrono, "{y}");
        }
    }
}
