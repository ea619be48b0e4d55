//! The in-memory figures of every stored ticket's clocks: the open clocks
//! and running totals (per series, per 15-minute bucket of clock starts,
//! per credit period), kept current by per-ticket changes, from which
//! [`super::figures`] computes the metrics at any `now`.
//!
//! Guarantees:
//! * **Bounded by open work.** A ticket whose clocks are all decided leaves
//!   nothing behind but its share of the totals: memory grows with open
//!   clocks and with the buckets of history, not with the tickets stored.
//! * **Incremental.** [`Live::remove`] takes a ticket's old clocks (read
//!   back from the row they were stored in) out of every running total and
//!   [`Live::add`] adds its new ones, so a poll that changes 1,000 tickets
//!   costs 1,000 small updates, not a pass over the store.
//! * **Exact per ticket.** Totals always equal what a fresh pass over the
//!   current clocks would give (a test checks it against one), as long as
//!   every row counted is taken out with what it was counted under (the
//!   stored rows say it: [`Counted`]).
//! * **Per source.** A source another instance takes over leaves whole
//!   ([`Live::drop_source`]), without a pass over its rows.
//! * **Time is applied late.** What depends on `now` (an active clock
//!   crossing its due, remaining business time, the current month) is
//!   computed by [`super::figures`] from the open clocks only; the totals here
//!   hold what the stored states say.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::engine::{Clock, ClockState};
use crate::policy::model::{MetricId, PlanId, SeverityId};
use crate::policy::Policy;
use crate::reconcile::Outcome;

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

/// An unfulfilled clock with what the figures and the JSON API need of its
/// ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenClock {
    pub clock: LiveClock,
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

/// A ticket's clocks with what they are counted under: its creation and
/// organization as they were when the clocks were computed (credits and
/// per-organization windows depend on them).
#[derive(Debug, Clone, Copy)]
pub struct Counted<'a> {
    pub created_at: i64,
    pub organization: Option<&'a str>,
    pub clocks: &'a [Clock],
}

/// What one source contributes: its open clocks and its share of every
/// total. Sources are kept apart so that a source another instance takes
/// over leaves at once, whole.
#[derive(Debug, Default)]
struct Part {
    /// Tickets counted with at least one clock.
    tickets: usize,
    /// Every unfulfilled clock, in one contiguous list: what every refresh
    /// walks.
    open: Vec<OpenClock>,
    /// Where each ticket's open clocks are in `open`.
    open_at: HashMap<Box<str>, Vec<u32>>,
    /// Per plan, the first start bucket of each window as last advanced.
    window_starts: HashMap<PlanId, [i64; 4]>,
    /// Per plan and organization label (an allowed id, or `other`).
    org_windows: HashMap<(PlanId, Box<str>), Windowed>,
    totals: HashMap<SeriesKey, SeriesTotals>,
    /// Clocks without a plan or severity, per metric.
    unassigned: HashMap<MetricId, u64>,
    credits: HashMap<CreditKey, CreditCounts>,
    /// The tickets whose events disagree with their ticket record as last
    /// evaluated.
    inconsistent: HashSet<Box<str>>,
    /// Each ticket's clock instances as last reconciled with the
    /// helpdesk's own SLA record: (metric, by its index in
    /// `reconcile_metrics`, and outcome). Only tickets the helpdesk has a
    /// record of, only when the source reads it.
    reconciled: HashMap<Box<str>, Box<[(u16, Outcome)]>>,
    /// The metric names `reconciled` refers to.
    reconcile_metrics: Vec<Box<str>>,
    /// Instances per (metric index, outcome) over `reconciled`.
    reconcile_totals: HashMap<(u16, Outcome), u64>,
    /// The config hashes of the stored rows counted here: a row under
    /// another hash was never counted, and is not taken out.
    hashes: HashSet<Box<str>>,
    /// Creation and organization of tickets counted from rows that do not
    /// say what they were counted under (stored before they did), until
    /// their clocks are saved again.
    legacy: HashMap<Box<str>, (i64, Option<Box<str>>)>,
}

/// The live figures of every source: open clocks and running totals, not
/// every ticket. A decided clock is folded into the totals once, and taken
/// out again from its stored row when its ticket changes.
#[derive(Debug, Default)]
pub struct Live {
    /// Organizations with series of their own (label `org`); when any is
    /// set, every other organization is summed into `other`.
    org_allow: Vec<Box<str>>,
    /// Per source name.
    parts: BTreeMap<String, Part>,
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

    /// Tickets counted (with at least one clock).
    pub fn ticket_count(&self) -> usize {
        self.parts.values().map(|p| p.tickets).sum()
    }

    /// Tickets of one source counted (with at least one clock).
    pub fn source_tickets(&self, source: &str) -> usize {
        self.parts.get(source).map_or(0, |p| p.tickets)
    }

    fn part(&mut self, source: &str) -> &mut Part {
        // Looked up before an entry is made: a start-up load asks for the
        // same few sources once per stored ticket.
        if !self.parts.contains_key(source) {
            self.parts.insert(source.to_string(), Part::default());
        }
        self.parts
            .get_mut(source)
            .expect("the part was inserted above if it was missing")
    }

    /// Records whether a ticket's events disagree with its ticket record;
    /// true when it newly does.
    pub fn mark_inconsistent(&mut self, source: &str, id: &str, inconsistent: bool) -> bool {
        if inconsistent {
            self.part(source).inconsistent.insert(Box::from(id))
        } else {
            if let Some(p) = self.parts.get_mut(source) {
                p.inconsistent.remove(id);
            }
            false
        }
    }

    /// Tickets of one source whose events disagree with their record.
    pub fn inconsistent(&self, source: &str) -> usize {
        self.parts.get(source).map_or(0, |p| p.inconsistent.len())
    }

    /// Replaces how a ticket's clocks compare with the helpdesk's own
    /// record (`None`: not compared; a deleted ticket, or one without a
    /// record).
    pub fn set_reconciled(&mut self, source: &str, id: &str, now: Option<&[(String, Outcome)]>) {
        let part = self.part(source);
        if let Some(old) = part.reconciled.remove(id) {
            for key in old.iter() {
                if let Some(n) = part.reconcile_totals.get_mut(key) {
                    *n = n.saturating_sub(1);
                }
            }
        }
        let Some(now) = now else {
            return;
        };
        let mut packed = Vec::with_capacity(now.len());
        for (metric, outcome) in now {
            let index = match part.reconcile_metrics.iter().position(|m| **m == **metric) {
                Some(i) => i,
                None => {
                    part.reconcile_metrics.push(Box::from(metric.as_str()));
                    part.reconcile_metrics.len() - 1
                }
            };
            let key = (index as u16, *outcome);
            *part.reconcile_totals.entry(key).or_default() += 1;
            packed.push(key);
        }
        part.reconciled
            .insert(Box::from(id), packed.into_boxed_slice());
    }

    /// Clock instances of one source per (metric, outcome), as last
    /// reconciled.
    pub fn reconciled(&self, source: &str) -> BTreeMap<(String, Outcome), u64> {
        let Some(part) = self.parts.get(source) else {
            return BTreeMap::new();
        };
        part.reconcile_totals
            .iter()
            .filter_map(|((m, o), n)| {
                let metric = part.reconcile_metrics.get(usize::from(*m))?;
                Some(((metric.to_string(), *o), *n))
            })
            .collect()
    }

    /// Takes all of `source` out (its figures leave the exposition):
    /// another instance polls it now.
    pub fn drop_source(&mut self, source: &str) {
        self.parts.remove(source);
    }

    /// Counts a ticket's stored clocks, computed under config `hash`.
    pub fn add(&mut self, policy: &Policy, source: &str, id: &str, hash: &str, t: Counted<'_>) {
        let allow = std::mem::take(&mut self.org_allow);
        let part = self.part(source);
        if !part.hashes.contains(hash) {
            part.hashes.insert(Box::from(hash));
        }
        part.add(policy, &allow, id, t);
        self.org_allow = allow;
    }

    /// Takes a ticket's stored clocks out again, if rows under config
    /// `hash` were counted here (a reload's fresh index never counted the
    /// rows it replaces); true when it did.
    pub fn remove(
        &mut self,
        policy: &Policy,
        source: &str,
        id: &str,
        hash: &str,
        t: Counted<'_>,
    ) -> bool {
        let allow = std::mem::take(&mut self.org_allow);
        let counted = match self.parts.get_mut(source) {
            Some(part) if part.hashes.contains(hash) => {
                part.remove(policy, &allow, id, t);
                true
            }
            _ => false,
        };
        self.org_allow = allow;
        counted
    }

    /// Whether rows under config `hash` of `source` are counted here.
    pub fn counts(&self, source: &str, hash: &str) -> bool {
        self.parts
            .get(source)
            .is_some_and(|p| p.hashes.contains(hash))
    }

    /// Remembers what a ticket counted from a row that does not say it was
    /// counted under (see [`Live::take_legacy`]).
    pub fn remember_legacy(
        &mut self,
        source: &str,
        id: &str,
        created_at: i64,
        organization: Option<&str>,
    ) {
        self.part(source)
            .legacy
            .insert(Box::from(id), (created_at, organization.map(Box::from)));
    }

    /// The tickets of `source` counted from rows in the older form.
    pub fn legacy_ids(&self, source: &str) -> Vec<String> {
        self.parts
            .get(source)
            .map(|p| p.legacy.keys().map(|k| k.to_string()).collect())
            .unwrap_or_default()
    }

    /// What [`Live::remember_legacy`] kept for a ticket, once.
    pub fn take_legacy(&mut self, source: &str, id: &str) -> Option<(i64, Option<Box<str>>)> {
        self.parts.get_mut(source)?.legacy.remove(id)
    }

    /// The unfulfilled clocks (active, paused, breached and still open),
    /// with their source's name.
    pub fn open_clocks(&self) -> impl Iterator<Item = (&str, &OpenClock)> {
        self.parts
            .iter()
            .flat_map(|(name, p)| p.open.iter().map(move |o| (name.as_str(), o)))
    }

    /// Open clocks held (what a refresh walks).
    pub fn open_count(&self) -> usize {
        self.parts.values().map(|p| p.open.len()).sum()
    }

    /// Moves every plan's windows to end at `now`: buckets that fell out of
    /// a window leave its counts; a window that moved back (a clock set
    /// back, a new config) is recounted.
    pub fn advance(&mut self, policy: &Policy, starts_of: impl Fn(PlanId) -> [i64; 4]) {
        let starts: Vec<[i64; 4]> = (0..policy.plans.len())
            .map(|plan| starts_of(plan).map(|t| t.div_euclid(START_BUCKET_SECONDS)))
            .collect();
        for part in self.parts.values_mut() {
            part.advance(&starts);
        }
    }

    /// The stored states' totals of one series, summed over the sources.
    pub fn series_totals(&self, key: SeriesKey) -> Option<SeriesSums> {
        let mut out: Option<SeriesSums> = None;
        for t in self.parts.values().filter_map(|p| p.totals.get(&key)) {
            let o = out.get_or_insert_with(SeriesSums::default);
            o.met += t.met;
            o.breached += t.breached;
            o.excluded += t.excluded;
            for (w, c) in o.windows.iter_mut().zip(t.windowed.windows) {
                w.met += c.met;
                w.decided += c.decided;
            }
            for (b, n) in o.buckets.iter_mut().zip(t.buckets) {
                *b += n;
            }
            o.fulfil_sum += t.fulfil_sum;
            for (mine, theirs) in o.exemplars.iter_mut().zip(&t.exemplars) {
                if let Some(e) = theirs {
                    if mine.as_ref().is_none_or(|m| e.1 >= m.1) {
                        *mine = Some(e.clone());
                    }
                }
            }
        }
        out
    }

    /// The windows of one plan and organization label, summed over the
    /// sources.
    pub fn org_windows(&self, plan: PlanId, label: &str) -> [WindowCounts; 4] {
        let mut out = [WindowCounts::default(); 4];
        for p in self.parts.values() {
            if let Some(w) = p.org_windows.get(&(plan, Box::from(label))) {
                for (o, c) in out.iter_mut().zip(w.windows) {
                    o.met += c.met;
                    o.decided += c.decided;
                }
            }
        }
        out
    }

    /// Credit counts per customer period, every source's (a customer with
    /// tickets in two sources appears once per source).
    pub fn credits(&self) -> impl Iterator<Item = (&CreditKey, &CreditCounts)> {
        self.parts.values().flat_map(|p| p.credits.iter())
    }

    /// Clocks without a plan or severity, per metric, summed over the
    /// sources.
    pub fn unassigned(&self) -> BTreeMap<MetricId, u64> {
        let mut out = BTreeMap::new();
        for p in self.parts.values() {
            for (&m, &n) in &p.unassigned {
                *out.entry(m).or_default() += n;
            }
        }
        out
    }
}

/// A series' totals summed over the sources (see [`SeriesTotals`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeriesSums {
    pub met: u64,
    pub breached: u64,
    pub excluded: u64,
    pub windows: [WindowCounts; 4],
    pub buckets: [u64; FULFIL_BUCKETS.len() + 1],
    pub fulfil_sum: f64,
    pub exemplars: [Option<(Box<str>, i64, f64)>; FULFIL_BUCKETS.len() + 1],
}

impl Part {
    fn add(&mut self, policy: &Policy, allow: &[Box<str>], id: &str, t: Counted<'_>) {
        if t.clocks.is_empty() {
            return;
        }
        self.tickets += 1;
        // A ticket is counted once: open clocks of an earlier count (never
        // expected) are replaced, not duplicated.
        self.remove_open(id);
        let organization: Option<Box<str>> = t.organization.map(Box::from);
        let mut positions = Vec::new();
        for c in t
            .clocks
            .iter()
            .map(LiveClock::of)
            .filter(LiveClock::is_open)
        {
            positions.push(self.open.len() as u32);
            self.open.push(OpenClock {
                clock: c,
                created_at: t.created_at,
                id: Box::from(id),
                organization: organization.clone(),
            });
        }
        if !positions.is_empty() {
            self.open_at.insert(Box::from(id), positions);
        }
        self.account(policy, allow, id, t, 1);
    }

    fn remove(&mut self, policy: &Policy, allow: &[Box<str>], id: &str, t: Counted<'_>) {
        if t.clocks.is_empty() {
            return;
        }
        self.tickets = self.tickets.saturating_sub(1);
        self.remove_open(id);
        self.account(policy, allow, id, t, -1);
    }

    /// Takes a ticket's clocks out of `open`; the last entries move into the
    /// holes (highest position first, so none of the ticket's own move).
    fn remove_open(&mut self, id: &str) {
        let Some(mut positions) = self.open_at.remove(id) else {
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
                if let Some(at) = self.open_at.get_mut(&moved.id) {
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
    fn account(
        &mut self,
        policy: &Policy,
        allow: &[Box<str>],
        id: &str,
        t: Counted<'_>,
        sign: i64,
    ) {
        let add = |n: &mut u64| {
            *n = if sign > 0 {
                *n + 1
            } else {
                n.saturating_sub(1)
            }
        };
        for c in t.clocks.iter().map(LiveClock::of) {
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
                if !allow.is_empty() {
                    let label: Box<str> = match t.organization {
                        Some(o) if allow.iter().any(|a| &**a == o) => Box::from(o),
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

    fn account_credits(&mut self, policy: &Policy, t: Counted<'_>, sign: i64) {
        let Some(org) = t.organization else { return };
        for c in t.clocks.iter().map(LiveClock::of) {
            if !matches!(c.state, ClockState::Met | ClockState::Breached) {
                continue;
            }
            let Some(key) = c.key() else { continue };
            if let Some(ck) = credit_key(policy, key, t.created_at, org) {
                let e = self.credits.entry(ck.clone()).or_default();
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
                if *e == CreditCounts::default() {
                    self.credits.remove(&ck);
                }
            }
        }
    }

    /// Moves every plan's windows to start at `new` buckets (by plan).
    fn advance(&mut self, new_starts: &[[i64; 4]]) {
        let mut keys_by_plan: HashMap<PlanId, Vec<SeriesKey>> = HashMap::new();
        for k in self.totals.keys() {
            keys_by_plan.entry(k.plan).or_default().push(*k);
        }
        for (plan, &new) in new_starts.iter().enumerate() {
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

#[cfg(test)]
mod reconcile_tests {
    use super::*;

    fn counts(live: &Live) -> Vec<(String, &'static str, u64)> {
        live.reconciled("zendesk")
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|((m, o), n)| (m, o.as_str(), n))
            .collect()
    }

    #[test]
    fn a_ticket_reconciled_again_moves_between_outcomes() {
        let mut live = Live::new();
        let fr = |o| ("first_response".to_string(), o);
        live.set_reconciled(
            "zendesk",
            "1",
            Some(&[fr(Outcome::Agree), fr(Outcome::Differ)]),
        );
        live.set_reconciled("zendesk", "2", Some(&[fr(Outcome::Agree)]));
        assert_eq!(
            counts(&live),
            vec![
                ("first_response".to_string(), "agree", 2),
                ("first_response".to_string(), "differ", 1)
            ]
        );
        // Ticket 1 changed and now agrees; ticket 2 was deleted.
        live.set_reconciled("zendesk", "1", Some(&[fr(Outcome::Agree)]));
        live.set_reconciled("zendesk", "2", None);
        assert_eq!(
            counts(&live),
            vec![("first_response".to_string(), "agree", 1)]
        );
        assert!(live.reconciled("freshdesk").is_empty());
    }
}
