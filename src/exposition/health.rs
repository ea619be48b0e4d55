//! The exporter's own health: what the daemon knows about each source's
//! polling and about its config, as plain values the renderer reads.

use std::collections::BTreeMap;

use crate::reconcile::Outcome;
use crate::sources::RequestCounts;

/// One source's polling.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceHealth {
    /// The last request got a usable answer.
    pub up: bool,
    /// When the last poll that caught up with every stream finished.
    pub last_success: i64,
    /// How long the last complete poll took, in seconds.
    pub poll_duration_seconds: f64,
    pub requests: RequestCounts,
    pub rate_limited: u64,
    pub retries: u64,
    pub records: u64,
    pub tickets_changed: u64,
    pub stored_tickets: u64,
    /// Tickets (evaluated since the start) whose events disagree with the
    /// helpdesk's ticket record.
    pub inconsistent_tickets: u64,
    /// Tickets in the store whose status history the adapter approximated
    /// (the helpdesk kept none for them), as of the last complete poll.
    pub approximated_tickets: u64,
    /// How its clocks compare with the helpdesk's own SLA record, when the
    /// source reads one.
    pub reconciled: Option<Reconciled>,
    /// Why the source's poll loop stopped, while it waits to be started
    /// again (`up` is false and `/-/ready` answers 503 meanwhile).
    pub stopped: Option<String>,
    /// On a store several daemons share: whether this instance holds the
    /// source's lease (polls it and serves its figures). `None`: no
    /// leases, every source is this instance's.
    pub owner: Option<bool>,
}

impl SourceHealth {
    /// This instance polls the source and serves its series.
    pub fn is_served(&self) -> bool {
        self.owner != Some(false)
    }
}

/// A source's clock instances compared with the helpdesk's record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reconciled {
    /// The metrics compared (each gets a series per outcome).
    pub metrics: Vec<String>,
    /// Instances per (metric, outcome); absent ones are zero.
    pub counts: BTreeMap<(String, Outcome), u64>,
}

impl Reconciled {
    /// Agreeing over all compared instances of `metric`; 1 when none.
    pub fn agreement(&self, metric: &str) -> f64 {
        let (mut agree, mut all) = (0u64, 0u64);
        for ((m, o), n) in &self.counts {
            if m == metric {
                all += n;
                if *o == Outcome::Agree {
                    agree += n;
                }
            }
        }
        if all == 0 {
            1.0
        } else {
            agree as f64 / all as f64
        }
    }
}

/// Everything about the daemon itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Health {
    pub sources: BTreeMap<String, SourceHealth>,
    /// This instance's name, when sources are polled under leases.
    pub instance: Option<String>,
    /// The last (re)load of the config succeeded.
    pub config_ok: bool,
    /// When the running config was loaded.
    pub config_loaded_at: i64,
    /// When the figures were computed.
    pub computed_at: i64,
}
