//! One UTC year of a calendar, precomputed: its open intervals in UTC with the
//! business seconds accumulated up to the end of each, so that every query is
//! a search plus arithmetic.
//!
//! A year is the UTC range `[Jan 1 00:00Z, next Jan 1 00:00Z)`. Open periods
//! that run across the boundary are cut there; the caller continues into the
//! next year's table.
//!
//! The two searches (by instant over interval starts, by business seconds
//! over the running totals) go through a [`BucketIndex`]: the key range cut
//! into power-of-two buckets about as wide as the mean gap between keys, so a
//! lookup is one bucket read plus a fixed, usually zero to two, number of
//! branch-free halving steps, instead of a binary search over the year with
//! a mispredicted branch or a dependent load at every level.

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
    /// Searches `starts`.
    by_start: BucketIndex,
    /// Searches `cum_end`.
    by_cum: BucketIndex,
}

/// Counts the keys `<= x` of a sorted `i64` list in (nearly) constant time.
///
/// Bucket `b` covers `[origin + (b << shift), origin + ((b + 1) << shift))`
/// and `first[b]` is the number of keys below it, so the count for `x` is
/// `first[b]` plus the number of keys `<= x` inside `x`'s bucket. That part
/// is found by `steps` halvings over a window of `2^steps - 1` keys starting
/// at `first[b]`, where `2^steps - 1` is at least the fullest bucket and the
/// keys are followed by `2^steps - 1` copies of `i64::MAX` so that every
/// window is in bounds. Keys past the bucket are greater than `x` and count
/// as nothing, so the result is exact whatever the distribution; the number
/// of steps only grows (like a binary search) when keys crowd into one bucket.
#[derive(Debug, Clone)]
struct BucketIndex {
    origin: i64,
    shift: u32,
    /// Queries are clamped to this (the largest key), keeping them below the
    /// `i64::MAX` padding.
    max_key: i64,
    first: Vec<u32>,
    steps: u32,
    /// The keys, then `2^steps - 1` copies of `i64::MAX`.
    keys: Vec<i64>,
}

impl BucketIndex {
    /// An index over `keys`: sorted ascending, none below `origin`.
    fn new(keys: &[i64], origin: i64) -> Self {
        debug_assert!(keys.windows(2).all(|w| w[0] <= w[1]));
        debug_assert!(keys.first().is_none_or(|&k| k >= origin));
        let n = keys.len();
        let max_key = keys.last().copied().unwrap_or(origin);
        let span = max_key - origin;
        let mean_gap = (span / n.max(1) as i64).max(1);
        let shift = mean_gap.ilog2();
        // The last bucket starts after the largest key: first[last] == n.
        let buckets = (span >> shift) as usize + 2;
        let mut first = Vec::with_capacity(buckets);
        let mut i = 0;
        let mut fullest = 0;
        for b in 0..buckets {
            let bucket_start = origin + ((b as i64) << shift);
            let at = i;
            while i < n && keys[i] < bucket_start {
                i += 1;
            }
            fullest = fullest.max(i - at);
            first.push(i as u32);
        }
        let steps = usize::BITS - fullest.leading_zeros();
        let mut padded = Vec::with_capacity(n + (1 << steps) - 1);
        padded.extend_from_slice(keys);
        padded.resize(n + (1 << steps) - 1, i64::MAX);
        Self {
            origin,
            shift,
            max_key,
            first,
            steps,
            keys: padded,
        }
    }

    /// How many keys are `<= x`.
    #[inline]
    fn count_le(&self, x: i64) -> usize {
        // Every key is <= max_key, so clamping changes nothing.
        let x = x.min(self.max_key);
        let bucket = (x.saturating_sub(self.origin).max(0) >> self.shift) as usize;
        let lo = self.first[bucket.min(self.first.len() - 1)] as usize;
        let window = &self.keys[lo..];
        let mut counted = 0;
        let mut step = self.steps;
        while step > 0 {
            step -= 1;
            let half = 1 << step;
            if window[counted + half - 1] <= x {
                counted += half;
            }
        }
        lo + counted
    }
}

/// Unix seconds of `year-01-01T00:00:00Z` (proleptic Gregorian).
///
/// `Calendar::locate` calls this on every query, so the years 1970..=2101
/// come from a table computed at compile time; other years are computed.
pub(crate) const fn year_start(year: i32) -> i64 {
    let i = year as i64 - TABLED_FROM as i64;
    if i >= 0 && i < YEAR_STARTS.len() as i64 {
        YEAR_STARTS[i as usize]
    } else {
        computed_year_start(year)
    }
}

const fn computed_year_start(year: i32) -> i64 {
    days_from_civil(year as i64, 1, 1) * 86_400
}

const TABLED_FROM: i32 = 1970;
/// `year_start` of 1970..=2101.
const YEAR_STARTS: [i64; 132] = {
    let mut starts = [0; 132];
    let mut i = 0;
    while i < starts.len() {
        starts[i] = computed_year_start(TABLED_FROM + i as i32);
        i += 1;
    }
    starts
};

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
            by_start: BucketIndex::new(&[], start),
            by_cum: BucketIndex::new(&[], 0),
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
        table.by_start = BucketIndex::new(&table.starts, start);
        table.by_cum = BucketIndex::new(&table.cum_end, 0);
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
        self.by_start.count_le(t)
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
        // The first interval with cum_end >= target: as many as have
        // cum_end < target, i.e. <= target - 1.
        let i = self
            .by_cum
            .count_le(target.saturating_sub(1))
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
        for y in 1900..2200 {
            assert_eq!(year_start(y), computed_year_start(y), "{y}");
        }
    }

    /// Exact against `partition_point` for even, clustered, sparse, empty
    /// and duplicated keys, at and around every key.
    #[test]
    fn bucket_index_counts_exactly() {
        let mut lists: Vec<Vec<i64>> = vec![
            vec![],
            vec![5],
            (0..300).map(|i| 1_000 + i * 86_400).collect(),
            (0..300).map(|i| 1_000 + i * i * 37).collect(),
            vec![10, 10, 10, 11, 50_000_000],
            (0..64).map(|i| 7 + i).chain([1 << 40]).collect(),
        ];
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let mut random: Vec<i64> = (0..500)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 30_000_000) as i64
            })
            .collect();
        random.sort_unstable();
        lists.push(random);
        for keys in &lists {
            for origin in [0, 5, 1_000] {
                if keys.first().is_some_and(|&k| k < origin) {
                    continue;
                }
                let index = BucketIndex::new(keys, origin);
                let mut probes = vec![i64::MIN, -1, 0, origin, i64::MAX - 1, i64::MAX];
                for &k in keys {
                    probes.extend([k - 1, k, k + 1]);
                }
                for &p in &probes {
                    assert_eq!(
                        index.count_le(p),
                        keys.partition_point(|&k| k <= p),
                        "{p} in {keys:?}"
                    );
                }
            }
        }
    }

    fn rules(tz: chrono_tz::Tz, windows: &[(usize, &str)], holidays: &[NaiveDate]) -> Rules {
        let mut weekly = super::super::WeeklyHours::default();
        for (day, w) in windows {
            weekly
                .add_written(*day, super::super::week::parse_window(w).unwrap())
                .unwrap();
        }
        Rules {
            tz,
            weekly,
            holidays: holidays.iter().copied().collect(),
            closures: Default::default(),
        }
    }

    /// A year table's bucket indexes give exactly what a binary search over
    /// the whole year gives, at and around every boundary and between them.
    #[test]
    fn indexed_searches_match_full_binary_search() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let weekdays: Vec<(usize, &str)> = (0..5).map(|day| (day, "08:00-17:00")).collect();
        let cases = [
            rules(chrono_tz::UTC, &[], &[]),
            rules(
                chrono_tz::America::Los_Angeles,
                &weekdays,
                &[d(2026, 1, 1), d(2026, 12, 25), d(1970, 1, 1)],
            ),
            rules(
                chrono_tz::America::Los_Angeles,
                &[(6, "16:00-24:00"), (0, "00:00-24:00"), (4, "00:00-17:00")],
                &[],
            ),
            rules(
                chrono_tz::Europe::London,
                &[(0, "22:00-06:00"), (3, "01:30-01:31")],
                &[],
            ),
            rules(
                chrono_tz::Australia::Lord_Howe,
                &[(1, "00:00-00:01"), (1, "01:00-24:00"), (2, "02:00-02:45")],
                &[],
            ),
            rules(chrono_tz::UTC, &[(0, "00:00-24:00")], &[]),
        ];
        for rules in &cases {
            let rules = if rules.weekly.weekly_seconds() == 0 {
                Rules {
                    weekly: super::super::WeeklyHours::always(),
                    ..rules.clone()
                }
            } else {
                rules.clone()
            };
            for year in [1970, 2024, 2026, 2100] {
                let table = YearTable::build(&rules, year);
                let mut probes: Vec<i64> = (year_start(year) - 2..=table.end + 2)
                    .step_by(3_607)
                    .collect();
                for (s, e) in table.intervals() {
                    probes.extend([s - 1, s, s + 1, e - 1, e, e + 1]);
                }
                probes.extend([
                    year_start(year) - 1,
                    year_start(year),
                    table.end,
                    table.end + 1,
                ]);
                for &t in &probes {
                    assert_eq!(
                        table.started_by(t),
                        table.starts.partition_point(|&s| s <= t),
                        "started_by({t}) in {year}"
                    );
                }
                let mut targets: Vec<i64> = (1..=table.total()).step_by(997).collect();
                for &c in &table.cum_end {
                    targets.extend([c - 1, c, c + 1]);
                }
                for &target in targets.iter().filter(|&&x| 0 < x && x <= table.total()) {
                    let i = table
                        .cum_end
                        .partition_point(|&c| c < target)
                        .min(table.ends.len().saturating_sub(1));
                    let want = table.ends[i] - (table.cum_end[i] - target);
                    assert_eq!(
                        table.instant_at(target),
                        want,
                        "instant_at({target}) in {year}"
                    );
                }
            }
        }
    }
}
