//! One UTC year of a calendar, precomputed: its open intervals in UTC with the
//! business seconds accumulated up to the end of each, so that every query is
//! a binary search plus arithmetic.
//!
//! A year is the UTC range `[Jan 1 00:00Z, next Jan 1 00:00Z)`. Open periods
//! that run across the boundary are cut there; the caller continues into the
//! next year's table.
//!
//! Two small indexes make the searches O(1) in practice: `day_first` maps
//! each UTC day of the year to the intervals that can start on it, and
//! `cum_first` maps each bucket of accumulated business seconds to the
//! intervals whose running total can end in it. A lookup reads its bucket's
//! bounds and binary-searches only between them (usually zero to two
//! entries) instead of the whole year.

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
    /// First instant of the year.
    start: i64,
    /// `day_first[d]`: how many intervals start before UTC day `d` of the
    /// year, `start + d * 86_400`; `d` in `0..=days + 1`, the last two
    /// entries being `starts.len()`.
    day_first: Vec<u32>,
    /// Width of a `cum_first` bucket: `1 << cum_shift` business seconds.
    cum_shift: u32,
    /// `cum_first[j]`: how many intervals have `cum_end < j << cum_shift`;
    /// `j` in `0..=(total >> cum_shift) + 1`, the last entry being
    /// `cum_end.len()`.
    cum_first: Vec<u32>,
}

const DAY: i64 = 86_400;

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
            start,
            day_first: Vec::new(),
            cum_shift: 0,
            cum_first: Vec::new(),
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
        table.build_indexes();
        table
    }

    /// Fills `day_first`, `cum_shift` and `cum_first` from the intervals.
    fn build_indexes(&mut self) {
        let n = self.starts.len();
        let days = ((self.end - self.start) / DAY) as usize;
        self.day_first = Vec::with_capacity(days + 2);
        let mut i = 0;
        for d in 0..=days + 1 {
            let day_start = self.start + d as i64 * DAY;
            while i < n && self.starts[i] < day_start {
                i += 1;
            }
            self.day_first.push(i as u32);
        }
        // Buckets about as wide as the mean interval: one or two cum_end
        // values in each.
        let total = self.total();
        let mean = (total / n.max(1) as i64).max(1);
        self.cum_shift = mean.ilog2();
        let buckets = (total >> self.cum_shift) as usize + 2;
        self.cum_first = Vec::with_capacity(buckets);
        let mut i = 0;
        for j in 0..buckets {
            let bound = (j as i64) << self.cum_shift;
            while i < n && self.cum_end[i] < bound {
                i += 1;
            }
            self.cum_first.push(i as u32);
        }
    }

    /// Business seconds in the whole year.
    #[inline]
    pub fn total(&self) -> i64 {
        self.cum_end.last().copied().unwrap_or(0)
    }

    /// Number of intervals starting at or before `t`.
    #[inline]
    fn started_by(&self, t: i64) -> usize {
        // Intervals starting before t's day all count; those starting after
        // it never do. Days outside the year clamp to its first or last.
        let d = ((t - self.start).max(0) / DAY).min(self.day_first.len() as i64 - 2) as usize;
        let (lo, hi) = (self.day_first[d] as usize, self.day_first[d + 1] as usize);
        lo + self.starts[lo..hi].partition_point(|&s| s <= t)
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
        // The first interval with cum_end >= target lies in target's bucket
        // or is the first of the next one.
        let j = (target.max(0) >> self.cum_shift).min(self.cum_first.len() as i64 - 2) as usize;
        let (lo, hi) = (self.cum_first[j] as usize, self.cum_first[j + 1] as usize);
        let i = (lo + self.cum_end[lo..hi].partition_point(|&c| c < target))
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
