//! What the daemon's tasks tell `/-/ready` and the exporter's own health
//! metrics: per-source counters and the tickets the exposition holds.

use crate::exposition::{Reconciled, SourceHealth};
use crate::sources::Reconciler;
use crate::state::DaemonState;

/// Updates the health of `source` in place.
pub(super) fn with_health(state: &DaemonState, source: &str, f: impl FnOnce(&mut SourceHealth)) {
    if let Ok(mut h) = state.health.lock() {
        f(h.sources.entry(source.to_string()).or_default());
    }
}

/// Copies how many tickets (and inconsistent tickets) the live index holds
/// per source, and how their clocks compare with the helpdesk's own SLA
/// record, into the health the exporter serves.
pub(super) fn update_stored_counts(state: &DaemonState) {
    let config = state.config();
    type Counts = (String, usize, usize, Option<Reconciled>);
    let counts: Vec<Counts> = match state.live.lock() {
        Ok(live) => config
            .sources
            .keys()
            .map(|k| {
                let reconciled = Reconciler::of(&config, k).map(|(r, spec)| Reconciled {
                    metrics: (r.metrics)(spec, &config.policy),
                    counts: live.reconciled(k),
                });
                (
                    k.clone(),
                    live.source_tickets(k),
                    live.inconsistent(k),
                    reconciled,
                )
            })
            .collect(),
        Err(_) => return,
    };
    if let Ok(mut h) = state.health.lock() {
        for (k, n, inconsistent, reconciled) in counts {
            let source = h.sources.entry(k).or_default();
            source.stored_tickets = n as u64;
            source.inconsistent_tickets = inconsistent as u64;
            source.reconciled = reconciled;
        }
    }
}

/// Counts `n` tickets recomputed by a poll loop, updates the counts of
/// what the live index holds (a deleted ticket left it even if nothing was
/// saved) and, when clocks changed, wakes the figures' refresh.
pub(super) fn count_recomputed(state: &DaemonState, source: &str, n: u64) {
    with_health(state, source, |h| h.tickets_changed += n);
    update_stored_counts(state);
    if n > 0 {
        state.dirty.notify_one();
    }
}
