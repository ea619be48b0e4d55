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
        let span = (now - first) as f64;
        if span <= 0.0 {
            return None;
        }
        let done = ((latest - first) as f64 / span).clamp(0.0, 1.0);
        if done <= 0.0 {
            return None;
        }
        let left = elapsed.as_secs_f64() * (1.0 - done) / done;
        Some((done, Duration::from_secs_f64(left.min(1e7))))
    }
}
