//! The in-memory view of every stored ticket's clocks, kept current by
//! per-ticket replacement, from which [`super::figures`] computes the
//! metrics at any `now`.
//!
//! Guarantees:
//! * **Incremental.** [`Live::replace`] subtracts a ticket's old clocks from
//!   every running total and adds its new ones, so a poll that changes 1,000
//!   tickets costs 1,000 small updates, not a pass over the store.
//! * **Exact per ticket.** Totals always equal what a fresh pass over the
//!   current clocks would give (a test checks it against one).
//! * **Time is applied late.** What depends on `now` (an active clock
//!   crossing its due, remaining business time, the current month) is
//!   computed by [`super::figures`] from the open clocks only; the totals here
//!   hold what the stored states say.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::engine::{Clock, ClockState};
use crate::policy::model::{MetricId, PlanId, SeverityId};
use crate::policy::Policy;

/// Met and decided counts of one window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WindowCounts {
    pub met: u64,
    pub decided: u64,
}

impl WindowCounts {
    /// met / decided; 1 with nothing decided.
    pub fn attainment(&self) -> f64 {
        if self.decided == 0 {
            1.0
        } else {
            self.met as f64 / self.decided as f64
        }
    }
}

/// The `org` label of every organization not in the allowlist.
pub const OTHER_ORG: &str = "other";

/// Buckets of clock start times, for windowed counts: 15 minutes, the finest
/// step of any time zone's offset, so local month and quarter starts fall
/// on bucket edges.
pub const START_BUCKET_SECONDS: i64 = 900;

/// Histogram bounds of business seconds to fulfil: 1m to 7d.
pub const FULFIL_BUCKETS: [f64; 12] = [
    60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0, 172800.0, 345600.0,
    604800.0,
];

/// A plan × severity × metric series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    pub plan: PlanId,
    pub severity: SeverityId,
    pub metric: MetricId,
}

/// A clock reduced to what the figures need, small (a million tickets'
/// clocks live in memory): indexes as `u16`, `u16::MAX` for none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveClock {
    metric: u16,
    plan: u16,
    severity: u16,
    pub state: ClockState,
    pub start: i64,
    pub due_at: Option<i64>,
    pub fulfilled_at: Option<i64>,
    pub elapsed_seconds: i64,
}

const NONE: u16 = u16::MAX;

fn small(i: usize) -> u16 {
    // No policy comes near 65,535 plans, severities or metrics; a larger
    // index would read as "none" rather than wrap onto another series.
    u16::try_from(i).unwrap_or(NONE)
}

impl LiveClock {
    fn of(c: &Clock) -> LiveClock {
        LiveClock {
            metric: small(c.metric),
            plan: c.plan.map_or(NONE, small),
            severity: c.severity.map_or(NONE, small),
            state: c.state,
            start: c.start,
            due_at: c.due_at,
            fulfilled_at: c.fulfilled_at,
            elapsed_seconds: c.elapsed_seconds,
        }
    }

    pub fn metric(&self) -> MetricId {
        usize::from(self.metric)
    }

    /// The series; `None` when the ticket has no plan or no severity.
    pub fn key(&self) -> Option<SeriesKey> {
        (self.plan != NONE && self.severity != NONE && self.metric != NONE).then(|| SeriesKey {
            plan: usize::from(self.plan),
            severity: usize::from(self.severity),
            metric: usize::from(self.metric),
        })
    }

    /// Not fulfilled yet: running, paused, or breached and still open.
    fn is_open(&self) -> bool {
        match self.state {
            ClockState::Active | ClockState::Paused => true,
            ClockState::Breached => self.fulfilled_at.is_none(),
            _ => false,
        }
    }

    /// Fulfilled, with an outcome (what the histogram holds).
    fn fulfilled(&self) -> bool {
        self.fulfilled_at.is_some() && matches!(self.state, ClockState::Met | ClockState::Breached)
    }
}

/// What the figures need of a ticket besides its clocks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LiveTicket {
    pub created_at: i64,
    /// The organization's id, for credits.
    pub organization: Option<Box<str>>,
    pub clocks: Box<[LiveClock]>,
}

/// An unfulfilled clock with what the figures and the JSON API need of its
/// ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenClock {
    pub clock: LiveClock,
    pub source: u16,
    pub created_at: i64,
    pub id: Box<str>,
    pub organization: Option<Box<str>>,
}

/// Decided clocks by start bucket, and the met/decided counts of the
/// buckets inside each window: a window's counts change by one clock at a
/// time, or by the buckets it passes as it moves.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Windowed {
    /// Met and breached clocks by start bucket (`start / 900`).
    by_start: BTreeMap<i64, (u32, u32)>,
    pub windows: [WindowCounts; 4],
}

impl Windowed {
    /// Adds (`sign` 1) or removes (-1) a decided clock; `starts` are the
    /// windows' first buckets, when placed.
    fn add(&mut self, start: i64, met: bool, sign: i64, starts: Option<&[i64; 4]>) {
        let bucket = start.div_euclid(START_BUCKET_SECONDS);
        let step = |n: &mut u64, by: u64| {
            *n = if sign > 0 {
                *n + by
            } else {
                n.saturating_sub(by)
            }
        };
        if let Some(starts) = starts {
            for (i, &first) in starts.iter().enumerate() {
                if bucket >= first {
                    step(&mut self.windows[i].met, u64::from(met));
                    step(&mut self.windows[i].decided, 1);
                }
            }
        }
        let slot = self.by_start.entry(bucket).or_default();
        let n = if met { &mut slot.0 } else { &mut slot.1 };
        *n = if sign > 0 {
            *n + 1
        } else {
            n.saturating_sub(1)
        };
        if *slot == (0, 0) {
            self.by_start.remove(&bucket);
        }
    }

    /// Moves the windows from `old` to `new` first buckets.
    fn advance(&mut self, old: Option<[i64; 4]>, new: [i64; 4]) {
        for i in 0..4 {
            let w = &mut self.windows[i];
            match old {
                Some(o) if new[i] >= o[i] => {
                    for (_, &(met, breached)) in self.by_start.range(o[i]..new[i]) {
                        w.met = w.met.saturating_sub(u64::from(met));
                        w.decided = w
                            .decided
                            .saturating_sub(u64::from(met) + u64::from(breached));
                    }
                }
                _ => {
                    *w = WindowCounts::default();
                    for (_, &(met, breached)) in self.by_start.range(new[i]..) {
                        w.met += u64::from(met);
                        w.decided += u64::from(met) + u64::from(breached);
                    }
                }
            }
        }
    }
}

/// Per-series totals of the stored states.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeriesTotals {
    pub met: u64,
    pub breached: u64,
    pub excluded: u64,
    /// Histogram of fulfilled clocks: counts per [`FULFIL_BUCKETS`] bound
    /// (not cumulative), then the `+Inf` overflow.
    pub buckets: [u64; FULFIL_BUCKETS.len() + 1],
    pub fulfil_sum: f64,
    /// Per histogram bucket, the ticket whose clock in it was fulfilled
    /// last, and its value (OpenMetrics exemplars).
    pub exemplars: [Option<(Box<str>, i64, f64)>; FULFIL_BUCKETS.len() + 1],
    /// Decided clocks by start, and the windows' counts.
    pub windowed: Windowed,
}

/// Credit counts of one customer for one credit period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CreditCounts {
    pub events: u64,
    pub violations: u64,
}

/// Identifies a customer's credit period: (credit table, plan, organization,
/// first instant of the period).
pub type CreditKey = (usize, PlanId, Box<str>, i64);

/// The live clocks of every ticket of every source.
#[derive(Debug, Default)]
pub struct Live {
    /// Per source name, per ticket id.
    tickets: BTreeMap<String, HashMap<Box<str>, LiveTicket>>,
    /// Every unfulfilled clock, in one contiguous list: what every refresh
    /// walks, so it is kept apart from the per-ticket map (whose entries
    /// are scattered over the heap).
    open: Vec<OpenClock>,
    /// Where each ticket's open clocks are in `open`, per source index.
    open_at: Vec<HashMap<Box<str>, Vec<u32>>>,
    /// Source names, by the index open clocks carry.
    source_names: Vec<String>,
    /// Per plan, the first start bucket of each window as last advanced.
    window_starts: HashMap<PlanId, [i64; 4]>,
    /// Organizations with series of their own (label `org`); when any is
    /// set, every other organization is summed into `other`.
    org_allow: Vec<Box<str>>,
    /// Per plan and organization label (an allowed id, or `other`).
    pub(crate) org_windows: HashMap<(PlanId, Box<str>), Windowed>,
    pub(crate) totals: HashMap<SeriesKey, SeriesTotals>,
    /// Clocks without a plan or severity, per metric.
    pub(crate) unassigned: HashMap<MetricId, u64>,
    pub(crate) credits: HashMap<CreditKey, CreditCounts>,
    /// Per source, the tickets whose events disagree with their ticket
    /// record as last evaluated.
    inconsistent: BTreeMap<String, HashSet<Box<str>>>,
}

impl Live {
    pub fn new() -> Live {
        Live::default()
    }

    /// A live index with series of their own for these organization ids
    /// (the config's `exposition.organizations`).
    pub fn with_organizations(ids: &[String]) -> Live {
        Live {
            org_allow: ids.iter().map(|s| Box::from(s.as_str())).collect(),
            ..Live::default()
        }
    }

    /// The organizations with series of their own.
    pub fn organizations(&self) -> &[Box<str>] {
        &self.org_allow
    }

    /// Tickets held.
    pub fn ticket_count(&self) -> usize {
        self.tickets.values().map(HashMap::len).sum()
    }

    /// Tickets of one source.
    pub fn source_tickets(&self, source: &str) -> usize {
        self.tickets.get(source).map_or(0, HashMap::len)
    }

    /// Records whether a ticket's events disagree with its ticket record;
    /// true when it newly does.
    pub fn mark_inconsistent(&mut self, source: &str, id: &str, inconsistent: bool) -> bool {
        if inconsistent {
            if !self.inconsistent.contains_key(source) {
                self.inconsistent.insert(source.to_string(), HashSet::new());
            }
            self.inconsistent
                .get_mut(source)
                .is_some_and(|set| set.insert(Box::from(id)))
        } else {
            if let Some(set) = self.inconsistent.get_mut(source) {
                set.remove(id);
            }
            false
        }
    }

    /// Tickets of one source whose events disagree with their record.
    pub fn inconsistent(&self, source: &str) -> usize {
        self.inconsistent.get(source).map_or(0, HashSet::len)
    }

    /// Takes every ticket of `source` out (its figures leave the
    /// exposition): another instance polls it now.
    pub fn drop_source(&mut self, policy: &Policy, source: &str) {
        let ids: Vec<Box<str>> = self
            .tickets
            .get(source)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        for id in ids {
            self.replace(policy, source, &id, 0, None, &[]);
        }
        self.inconsistent.remove(source);
    }

    /// Replaces a ticket's clocks (an empty list removes it: deleted).
    pub fn replace(
        &mut self,
        policy: &Policy,
        source: &str,
        id: &str,
        created_at: i64,
        organization: Option<&str>,
        clocks: &[Clock],
    ) {
        if !self.tickets.contains_key(source) {
            self.tickets.insert(source.to_string(), HashMap::new());
        }
        let old = self.tickets.get_mut(source).and_then(|m| m.remove(id));
        if let Some(old) = old {
            self.account(policy, id, &old, -1);
        }
        let src = self.source_index(source);
        self.remove_open(src, id);
        if clocks.is_empty() {
            return;
        }
        let ticket = LiveTicket {
            created_at,
            organization: organization.map(Box::from),
            clocks: clocks.iter().map(LiveClock::of).collect(),
        };
        let mut positions = Vec::new();
        for c in ticket.clocks.iter().filter(|c| c.is_open()) {
            positions.push(self.open.len() as u32);
            self.open.push(OpenClock {
                clock: *c,
                source: src,
                created_at,
                id: Box::from(id),
                organization: ticket.organization.clone(),
            });
        }
        if !positions.is_empty() {
            if let Some(m) = self.open_at.get_mut(usize::from(src)) {
                m.insert(Box::from(id), positions);
            }
        }
        self.account(policy, id, &ticket, 1);
        if let Some(map) = self.tickets.get_mut(source) {
            map.insert(Box::from(id), ticket);
        }
    }

    fn source_index(&mut self, source: &str) -> u16 {
        if let Some(i) = self.source_names.iter().position(|s| s == source) {
            return i as u16;
        }
        self.source_names.push(source.to_string());
        self.open_at.push(HashMap::new());
        (self.source_names.len() - 1) as u16
    }

    /// Takes a ticket's clocks out of `open`; the last entries move into the
    /// holes (highest position first, so none of the ticket's own move).
    fn remove_open(&mut self, src: u16, id: &str) {
        let Some(mut positions) = self
            .open_at
            .get_mut(usize::from(src))
            .and_then(|m| m.remove(id))
        else {
            return;
        };
        positions.sort_unstable_by(|a, b| b.cmp(a));
        for p in positions {
            let p = p as usize;
            if p >= self.open.len() {
                continue;
            }
            let last = self.open.len() - 1;
            self.open.swap_remove(p);
            if p != last {
                let moved = &self.open[p];
                if let Some(at) = self
                    .open_at
                    .get_mut(usize::from(moved.source))
                    .and_then(|m| m.get_mut(&moved.id))
                {
                    for x in at.iter_mut() {
                        if *x as usize == last {
                            *x = p as u32;
                        }
                    }
                }
            }
        }
    }

    /// Adds (`sign` 1) or removes (-1) a ticket's contribution to the totals.
    fn account(&mut self, policy: &Policy, id: &str, t: &LiveTicket, sign: i64) {
        let add = |n: &mut u64| {
            *n = if sign > 0 {
                *n + 1
            } else {
                n.saturating_sub(1)
            }
        };
        for c in t.clocks.iter() {
            let Some(key) = c.key() else {
                add(self.unassigned.entry(c.metric()).or_default());
                continue;
            };
            let tot = self.totals.entry(key).or_default();
            match c.state {
                ClockState::Met => add(&mut tot.met),
                ClockState::Breached => add(&mut tot.breached),
                ClockState::Excluded => add(&mut tot.excluded),
                _ => {}
            }
            if matches!(c.state, ClockState::Met | ClockState::Breached) {
                let met = c.state == ClockState::Met;
                let starts = self.window_starts.get(&key.plan);
                tot.windowed.add(c.start, met, sign, starts);
                if !self.org_allow.is_empty() {
                    let label: Box<str> = match &t.organization {
                        Some(o) if self.org_allow.contains(o) => o.clone(),
                        _ => Box::from(OTHER_ORG),
                    };
                    self.org_windows
                        .entry((key.plan, label))
                        .or_default()
                        .add(c.start, met, sign, starts);
                }
            }
            if c.fulfilled() {
                let v = c.elapsed_seconds as f64;
                let b = FULFIL_BUCKETS
                    .iter()
                    .position(|&bound| v <= bound)
                    .unwrap_or(FULFIL_BUCKETS.len());
                add(&mut tot.buckets[b]);
                tot.fulfil_sum += sign as f64 * v;
                if sign > 0 {
                    let at = c.fulfilled_at.unwrap_or(0);
                    let newer = tot.exemplars[b].as_ref().is_none_or(|(_, t, _)| at >= *t);
                    if newer {
                        tot.exemplars[b] = Some((Box::from(id), at, v));
                    }
                }
            }
        }
        self.account_credits(policy, t, sign);
    }

    fn account_credits(&mut self, policy: &Policy, t: &LiveTicket, sign: i64) {
        let Some(org) = &t.organization else { return };
        for c in t.clocks.iter() {
            if !matches!(c.state, ClockState::Met | ClockState::Breached) {
                continue;
            }
            let Some(key) = c.key() else { continue };
            if let Some(ck) = credit_key(policy, key, t.created_at, org) {
                let e = self.credits.entry(ck).or_default();
                let step = |n: &mut u64| {
                    *n = if sign > 0 {
                        *n + 1
                    } else {
                        n.saturating_sub(1)
                    }
                };
                step(&mut e.events);
                if c.state == ClockState::Breached {
                    step(&mut e.violations);
                }
            }
        }
    }

    /// The unfulfilled clocks (active, paused, breached and still open),
    /// with their source's name.
    pub fn open_clocks(&self) -> impl Iterator<Item = (&str, &OpenClock)> {
        self.open.iter().map(|o| {
            (
                self.source_names
                    .get(usize::from(o.source))
                    .map_or("", String::as_str),
                o,
            )
        })
    }

    /// Moves every plan's windows to end at `now`: buckets that fell out of
    /// a window leave its counts; a window that moved back (a clock set
    /// back, a new config) is recounted.
    pub fn advance(&mut self, policy: &Policy, now: i64, starts_of: impl Fn(PlanId) -> [i64; 4]) {
        let mut keys_by_plan: HashMap<PlanId, Vec<SeriesKey>> = HashMap::new();
        for k in self.totals.keys() {
            keys_by_plan.entry(k.plan).or_default().push(*k);
        }
        let _ = now;
        for plan in 0..policy.plans.len() {
            let new: [i64; 4] = starts_of(plan).map(|t| t.div_euclid(START_BUCKET_SECONDS));
            let old = self.window_starts.get(&plan).copied();
            if old == Some(new) {
                continue;
            }
            for key in keys_by_plan.get(&plan).map(Vec::as_slice).unwrap_or(&[]) {
                if let Some(tot) = self.totals.get_mut(key) {
                    tot.windowed.advance(old, new);
                }
            }
            for ((p, _), w) in self.org_windows.iter_mut() {
                if *p == plan {
                    w.advance(old, new);
                }
            }
            self.window_starts.insert(plan, new);
        }
    }

    /// Every ticket of every source (tests compare the totals with a fresh
    /// pass over these).
    pub fn all_tickets(&self) -> impl Iterator<Item = (&str, &str, &LiveTicket)> {
        self.tickets
            .iter()
            .flat_map(|(s, m)| m.iter().map(move |(id, t)| (s.as_str(), &**id, t)))
    }
}

/// Where a decided clock counts for credits, if anywhere: the plan's credit
/// table covers its metric and severity, and the ticket qualifies.
pub(crate) fn credit_key(
    policy: &Policy,
    key: SeriesKey,
    created_at: i64,
    org: &str,
) -> Option<CreditKey> {
    let plan = policy.plans.get(key.plan)?;
    let table_id = plan.credits?;
    let table = policy.credits.get(table_id)?;
    if !table.metrics.contains(&key.metric) || table.exclude_severities.contains(&key.severity) {
        return None;
    }
    if table.only_created_in_business_hours
        && !policy.created_in_support_hours(key.plan, Some(key.severity), created_at)
    {
        return None;
    }
    let (from, _) = crate::engine::aggregate::period_bounds(
        created_at,
        table.period,
        plan.calendar.timezone(),
    )?;
    Some((table_id, key.plan, Box::from(org), from))
}
