//! The emulator's shared state: the dataset and its page index, the
//! account settings, the clock, and what the requests so far counted.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::index::PageIndex;
use super::metric_events::{self, MetricEvent, Rules};
use super::{FaultStats, ServerOptions};
use crate::policy::Config;
use crate::simulator::generator::Dataset;
use crate::simulator::zendesk_admin::{Admin, AdminState};

/// [`Inner::clock`] when it follows the wall clock.
const WALL_CLOCK: i64 = i64::MIN;

#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) seq: u64,
    pub(super) stats: FaultStats,
    pub(super) by_endpoint: BTreeMap<&'static str, u64>,
    pub(super) account: Window,
    pub(super) incremental: Window,
}

#[derive(Debug, Default)]
pub(super) struct Window {
    started: Option<Instant>,
    used: u32,
}

impl Window {
    /// Counts a request unless `limit` is reached; returns (allowed, used
    /// after, seconds left in the window).
    pub(super) fn take(&mut self, now: Instant, limit: Option<u32>) -> (bool, u32, u64) {
        let started = match self.started {
            Some(s) if now.duration_since(s) < Duration::from_secs(60) => s,
            _ => {
                self.started = Some(now);
                self.used = 0;
                now
            }
        };
        let left = 60u64
            .saturating_sub(now.duration_since(started).as_secs())
            .max(1);
        if limit.is_some_and(|l| self.used >= l) {
            return (false, self.used, left);
        }
        self.used += 1;
        (true, self.used, left)
    }
}

#[derive(Debug)]
pub(super) struct Inner {
    /// Change it only through [`SimState::modify`], which drops `index`.
    pub(super) data: Mutex<Dataset>,
    /// The incremental exports' items in page order, built on the first
    /// incremental request after a change (locked after `data`).
    pub(super) index: Mutex<Option<Arc<PageIndex>>>,
    pub(super) options: ServerOptions,
    pub(super) admin: AdminState,
    pub(super) counters: Mutex<Counters>,
    /// Unix seconds, or [`WALL_CLOCK`].
    pub(super) clock: AtomicI64,
    /// How the ticket metric events are measured.
    pub(super) rules: Mutex<Rules>,
    /// Every ticket's metric events, computed on the first request after a
    /// change of the dataset, the rules or the account settings (the
    /// settings' text tells those apart), locked after `data`.
    pub(super) metric_events: Mutex<Option<(String, Arc<Vec<MetricEvent>>)>>,
}

/// The emulator's state, shared by the server and its users (cheap to
/// clone).
#[derive(Debug, Clone)]
pub struct SimState(pub(super) Arc<Inner>);

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl SimState {
    /// Builds the page order and serializes every item of the incremental
    /// exports once, here (see `PageIndex`): serving a page then only
    /// copies bytes. That JSON is held in memory, about 3 KB per ticket with
    /// its audits (290 MB for 100,000 tickets, built in about 1.5 s).
    pub fn new(config: &Config, dataset: Dataset, options: ServerOptions) -> Self {
        let index = Arc::new(PageIndex::new(&dataset, true));
        Self(Arc::new(Inner {
            data: Mutex::new(dataset),
            index: Mutex::new(Some(index)),
            admin: AdminState::new(Admin::from_config(config)),
            clock: AtomicI64::new(options.now.unwrap_or(WALL_CLOCK)),
            options,
            counters: Mutex::new(Counters::default()),
            rules: Mutex::new(Rules::default()),
            metric_events: Mutex::new(None),
        }))
    }

    /// The emulator's "now" (Unix seconds): the pinned time, or the wall
    /// clock.
    pub fn now(&self) -> i64 {
        match self.0.clock.load(Ordering::Relaxed) {
            WALL_CLOCK => crate::clock::now_unix(),
            t => t,
        }
    }

    /// Pins the emulator's clock (`None`: the wall clock from now on).
    /// Items changed less than [`ServerOptions::exclude_recent_seconds`]
    /// before it are left out of the incremental exports.
    pub fn set_now(&self, now: Option<i64>) {
        self.0
            .clock
            .store(now.unwrap_or(WALL_CLOCK), Ordering::Relaxed);
    }

    /// The newest instant the incremental exports serve.
    pub(super) fn cutoff(&self) -> i64 {
        self.now()
            .saturating_sub(self.0.options.exclude_recent_seconds.max(0))
    }

    pub fn token(&self) -> &str {
        &self.0.options.token
    }

    pub fn options(&self) -> &ServerOptions {
        &self.0.options
    }

    /// The SLA policies, schedules and holidays served (see
    /// [`crate::simulator::zendesk_admin`]); tests may replace them.
    pub fn admin(&self) -> &AdminState {
        &self.0.admin
    }

    /// Reads the dataset.
    pub fn read<R>(&self, f: impl FnOnce(&Dataset) -> R) -> R {
        f(&lock(&self.0.data))
    }

    /// Changes the dataset while it is served. The page order is rebuilt
    /// at the next request; the JSON serialized in [`Self::new`] is dropped
    /// with it, and pages are serialized on request from then on (a
    /// dataset that changes every few seconds, as in `demo`, would
    /// otherwise be serialized whole after every change).
    pub fn modify<R>(&self, f: impl FnOnce(&mut Dataset) -> R) -> R {
        let mut data = lock(&self.0.data);
        let r = f(&mut data);
        // Still under the data lock: no request pairs new data with the old
        // order.
        *lock(&self.0.index) = None;
        *lock(&self.0.metric_events) = None;
        r
    }

    /// How the ticket metric events are measured: the seam for planted
    /// divergences from the config ([`Rules`]).
    pub fn set_metric_rules(&self, rules: Rules) {
        let _data = lock(&self.0.data);
        *lock(&self.0.rules) = rules;
        *lock(&self.0.metric_events) = None;
    }

    /// Every ticket's metric events in the export's order (all of them,
    /// whatever the clock: the export serves those up to its cutoff).
    pub fn metric_events(&self) -> Arc<Vec<MetricEvent>> {
        let data = lock(&self.0.data);
        self.metric_events_of(&data)
    }

    /// [`Self::metric_events`] of `data` (the locked dataset).
    pub(super) fn metric_events_of(&self, data: &Dataset) -> Arc<Vec<MetricEvent>> {
        let key = self.0.admin.read(|a| format!("{a:?}"));
        let mut cached = lock(&self.0.metric_events);
        if let Some((k, events)) = cached.as_ref() {
            if *k == key {
                return events.clone();
            }
        }
        let rules = lock(&self.0.rules).clone();
        let events = Arc::new(self.0.admin.read(|a| metric_events::all(data, a, &rules)));
        *cached = Some((key, events.clone()));
        events
    }

    /// The page order of `data` (the locked dataset), built if missing.
    pub(super) fn page_index(&self, data: &Dataset) -> Arc<PageIndex> {
        lock(&self.0.index)
            .get_or_insert_with(|| Arc::new(PageIndex::new(data, false)))
            .clone()
    }

    /// Fault and request counts so far.
    pub fn stats(&self) -> FaultStats {
        lock(&self.0.counters).stats.clone()
    }

    /// Requests to one endpoint (see [`endpoint`](super::endpoint)), answered or not.
    pub fn requests(&self, endpoint: &str) -> u64 {
        lock(&self.0.counters)
            .by_endpoint
            .get(endpoint)
            .copied()
            .unwrap_or(0)
    }

    /// Requests per endpoint.
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        lock(&self.0.counters)
            .by_endpoint
            .iter()
            .map(|(k, v)| ((*k).to_string(), *v))
            .collect()
    }
}
