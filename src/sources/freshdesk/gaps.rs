//! The days whose activities export could not be had (no file: the export
//! not enabled, past its retention, not written yet), as sorted, disjoint
//! ranges of UTC days. A ticket whose life touches one of them has no exact
//! status history: it is flagged approximated. Pure: no I/O.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Sorted, disjoint, non-adjacent ranges of days, both ends included
/// (`[["2026-11-03","2026-11-05"]]`); an account without the export is one
/// range that grows a day a day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub(super) struct Gaps(Vec<(NaiveDate, NaiveDate)>);

impl Gaps {
    /// No day missing.
    #[cfg(test)]
    pub(super) const EMPTY: Gaps = Gaps(Vec::new());

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds `day`.
    pub(super) fn insert(&mut self, day: NaiveDate) {
        if self.contains(day) {
            return;
        }
        self.0.push((day, day));
        self.0.sort_unstable();
        let mut merged: Vec<(NaiveDate, NaiveDate)> = Vec::with_capacity(self.0.len());
        for (from, to) in self.0.drain(..) {
            match merged.last_mut() {
                Some(last) if last.1.succ_opt().is_some_and(|n| n >= from) => {
                    last.1 = last.1.max(to);
                }
                _ => merged.push((from, to)),
            }
        }
        self.0 = merged;
    }

    /// Removes `day` (its file came after all).
    pub(super) fn remove(&mut self, day: NaiveDate) {
        let mut out = Vec::with_capacity(self.0.len() + 1);
        for &(from, to) in &self.0 {
            if day < from || day > to {
                out.push((from, to));
                continue;
            }
            if let Some(before) = day.pred_opt().filter(|d| *d >= from) {
                out.push((from, before));
            }
            if let Some(after) = day.succ_opt().filter(|d| *d <= to) {
                out.push((after, to));
            }
        }
        self.0 = out;
    }

    pub(super) fn contains(&self, day: NaiveDate) -> bool {
        self.0.iter().any(|&(from, to)| from <= day && day <= to)
    }

    /// Whether a day from `first` to `last` (included) is missing.
    pub(super) fn overlaps(&self, first: NaiveDate, last: NaiveDate) -> bool {
        self.0.iter().any(|&(from, to)| from <= last && first <= to)
    }

    /// The missing days from `from` up to `until` (excluded), earliest
    /// first.
    pub(super) fn days_between(&self, from: NaiveDate, until: NaiveDate) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        for &(a, b) in &self.0 {
            let mut d = a.max(from);
            while d <= b && d < until {
                out.push(d);
                match d.succ_opt() {
                    Some(n) => d = n,
                    None => break,
                }
            }
        }
        out
    }

    /// The earliest day in one of `self` and `other` but not both: where
    /// tickets flagged by one and not the other begin.
    pub(super) fn first_difference(&self, other: &Gaps) -> Option<NaiveDate> {
        let starts = self.0.iter().chain(&other.0).map(|r| r.0);
        let ends = self.0.iter().chain(&other.0).filter_map(|r| r.1.succ_opt());
        let mut edges: Vec<NaiveDate> = starts.chain(ends).collect();
        edges.sort_unstable();
        // Between two consecutive edges membership is constant in both.
        edges
            .into_iter()
            .find(|&d| self.contains(d) != other.contains(d))
    }
}

/// The UTC day of a Unix instant.
pub(super) fn day_of(at: i64) -> NaiveDate {
    chrono::DateTime::from_timestamp(at, 0)
        .map(|t| t.date_naive())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn days_merge_into_ranges_and_split_when_one_comes_back() {
        let mut g = Gaps::default();
        for day in ["2026-11-05", "2026-11-03", "2026-11-04", "2026-11-09"] {
            g.insert(d(day));
        }
        assert_eq!(
            serde_json::to_string(&g).unwrap(),
            r#"[["2026-11-03","2026-11-05"],["2026-11-09","2026-11-09"]]"#
        );
        assert!(g.overlaps(d("2026-11-01"), d("2026-11-03")));
        assert!(!g.overlaps(d("2026-11-06"), d("2026-11-08")));
        assert!(g.overlaps(d("2026-11-06"), d("2026-11-20")));
        let before = g.clone();
        g.remove(d("2026-11-04"));
        assert_eq!(
            serde_json::to_string(&g).unwrap(),
            r#"[["2026-11-03","2026-11-03"],["2026-11-05","2026-11-05"],["2026-11-09","2026-11-09"]]"#
        );
        assert!(!g.overlaps(d("2026-11-04"), d("2026-11-04")));
        assert_eq!(g.first_difference(&before), Some(d("2026-11-04")));
        assert_eq!(before.first_difference(&before), None);
        assert_eq!(
            Gaps::default().first_difference(&before),
            Some(d("2026-11-03"))
        );
        assert_eq!(
            g.days_between(d("2026-11-04"), d("2026-11-09")),
            vec![d("2026-11-05")]
        );
        g.remove(d("2026-11-03"));
        g.remove(d("2026-11-05"));
        g.remove(d("2026-11-09"));
        assert!(g.is_empty());
    }
}
