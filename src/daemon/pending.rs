//! The tickets a poll loop has committed changes to and not computed yet:
//! which looked complete, which an early recompute was handed, and which a
//! finished recompute settled.

use std::collections::{HashMap, HashSet};

use crate::store::Applied;

/// Tickets changed by committed batches whose clocks are not computed yet
/// (the store's stale marks hold the same, durably).
#[derive(Default)]
pub(super) struct Pending {
    /// Batches committed so far by this poll loop.
    pub(super) batches: u64,
    /// Changed tickets, with the number of the batch that last changed
    /// them, and whether they were handed to an early recompute since.
    pub(super) changed: HashMap<String, (u64, bool)>,
    /// Changed tickets that looked complete, not yet handed to an early
    /// recompute.
    pub(super) complete: Vec<String>,
    /// Tickets whose reconciliation with the helpdesk's own SLA record is
    /// out of date while their clocks are not: their record changed (the
    /// store does not mark them stale for it). Only memory holds these,
    /// as only memory holds the reconciliation (it starts empty with the
    /// daemon).
    pub(super) recorded: HashSet<String>,
}

impl Pending {
    pub(super) fn add(&mut self, applied: Applied) {
        self.batches += 1;
        for id in applied.changed {
            self.changed.insert(id, (self.batches, false));
        }
        self.complete.extend(applied.complete);
        self.recorded.extend(applied.recorded);
    }

    /// Every pending ticket, sorted; none is pending after.
    pub(super) fn take_all(&mut self) -> Vec<String> {
        self.complete.clear();
        let mut ids: Vec<String> = self.changed.drain().map(|(id, _)| id).collect();
        ids.sort_unstable();
        ids
    }

    /// `ids` were just reconciled from a snapshot that holds every batch
    /// committed so far: their reconciliation is up to date.
    pub(super) fn settle_recorded(&mut self, ids: &[String]) {
        if self.recorded.is_empty() {
            return;
        }
        for id in ids {
            self.recorded.remove(id);
        }
    }

    /// The tickets to reconcile again, sorted; none is left after.
    pub(super) fn take_recorded(&mut self) -> Vec<String> {
        let mut ids: Vec<String> = self.recorded.drain().collect();
        ids.sort_unstable();
        ids
    }

    /// The complete tickets not handed over yet, now marked handed.
    pub(super) fn hand_over(&mut self) -> Vec<String> {
        let ids = std::mem::take(&mut self.complete);
        for id in &ids {
            if let Some(entry) = self.changed.get_mut(id) {
                entry.1 = true;
            }
        }
        ids
    }

    /// Pending tickets never handed to an early recompute, sorted.
    pub(super) fn not_handed(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .changed
            .iter()
            .filter(|(_, &(_, handed))| !handed)
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort_unstable();
        ids
    }

    /// A recompute of `ids`, started after batch `as_of` was committed,
    /// saved the clocks of all but `overtaken`: those of the others no
    /// later batch changed are done.
    pub(super) fn settle(&mut self, ids: &[String], as_of: u64, overtaken: &[String]) {
        let overtaken: HashSet<&str> = overtaken.iter().map(String::as_str).collect();
        for id in ids {
            if !overtaken.contains(id.as_str())
                && self
                    .changed
                    .get(id)
                    .is_some_and(|&(batch, _)| batch <= as_of)
            {
                self.changed.remove(id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(changed: &[&str], complete: &[&str]) -> Applied {
        recorded(changed, complete, &[])
    }

    fn recorded(changed: &[&str], complete: &[&str], recorded: &[&str]) -> Applied {
        let own = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect();
        Applied {
            changed: own(changed),
            complete: own(complete),
            recorded: own(recorded),
            dropped_clocks: Vec::new(),
        }
    }

    /// Tickets whose SLA record alone changed wait for a reconciliation,
    /// not a recompute; a recompute that reconciled one after its record
    /// was committed settles it.
    #[test]
    fn tickets_whose_record_changed_wait_for_a_reconciliation() {
        let mut pending = Pending::default();
        pending.add(recorded(&["1"], &[], &["2", "3"]));
        pending.add(recorded(&[], &[], &["4", "2"]));
        assert_eq!(pending.take_all(), ["1"]);
        pending.settle_recorded(&["3".to_string()]);
        assert_eq!(pending.take_recorded(), ["2", "4"]);
        assert!(pending.take_recorded().is_empty());
    }

    /// What an early recompute was handed, what it settled and what it
    /// never got: a ticket changed again after it was handed over is not
    /// settled by the old hand-over, and counts as not handed again.
    #[test]
    fn pending_tells_what_was_handed_over_and_what_is_done() {
        let mut pending = Pending::default();
        pending.add(applied(&["1", "2", "3"], &["1", "2"]));
        let handed = pending.hand_over();
        assert_eq!(handed, ["1", "2"]);
        assert!(pending.complete.is_empty());
        assert_eq!(pending.not_handed(), ["3"]);
        // Ticket 2 changes again in batch 2, after the hand-over of batch 1.
        pending.add(applied(&["2", "4"], &[]));
        assert_eq!(pending.not_handed(), ["2", "3", "4"]);
        pending.settle(&handed, 1, &[]);
        let mut left: Vec<_> = pending.changed.keys().cloned().collect();
        left.sort();
        assert_eq!(left, ["2", "3", "4"]);
        // Overtaken clocks settle nothing.
        pending.settle(&["3".to_string(), "4".to_string()], 2, &["4".to_string()]);
        assert_eq!(pending.take_all(), ["2", "4"]);
    }
}
