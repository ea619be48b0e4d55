//! Where a backfill stream stands: the newest record time seen against the
//! time it started from, for the progress log's share done and ETA.

use std::time::Duration;

use crate::sources::{Page, Record};

/// Where a backfill stands: the newest record time seen against the time
/// it started from, for progress and ETA.
#[derive(Debug, Default)]
pub(super) struct Progress {
    first: Option<i64>,
    latest: Option<i64>,
}

impl Progress {
    pub(super) fn see(&mut self, page: &Page) {
        let newest = page
            .records
            .iter()
            .filter_map(|r| match r {
                Record::Ticket(t) => Some(t.updated_at),
                Record::Event(e) => Some(e.at),
                _ => None,
            })
            .max();
        if let Some(t) = newest {
            self.first.get_or_insert(t);
            self.latest = Some(self.latest.map_or(t, |l| l.max(t)));
        }
    }

    /// Share of the way from the first record to now, and the time left at
    /// the rate so far.
    pub(super) fn estimate(&self, elapsed: Duration, now: i64) -> Option<(f64, Duration)> {
        let (first, latest) = (self.first?, self.latest?);
        // Record times come from the helpdesk: any i64, so no integer
        // subtraction that could overflow.
        let span = now as f64 - first as f64;
        if span <= 0.0 {
            return None;
        }
        let done = ((latest as f64 - first as f64) / span).clamp(0.0, 1.0);
        if done <= 0.0 {
            return None;
        }
        let left = elapsed.as_secs_f64() * (1.0 - done) / done;
        Some((done, Duration::from_secs_f64(left.min(1e7))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Record times at the ends of i64 (a helpdesk's word) neither panic
    /// nor give an estimate outside 0..=1.
    #[test]
    fn extreme_record_times_do_not_overflow() {
        let p = Progress {
            first: Some(i64::MIN),
            latest: Some(i64::MAX),
        };
        let (done, _) = p.estimate(Duration::from_secs(10), 1_790_000_000).unwrap();
        assert!((0.0..=1.0).contains(&done));
        let p = Progress {
            first: Some(i64::MIN),
            latest: Some(i64::MIN + 1),
        };
        assert!(p
            .estimate(Duration::MAX, i64::MAX)
            .is_none_or(|(d, _)| (0.0..=1.0).contains(&d)));
    }
}
