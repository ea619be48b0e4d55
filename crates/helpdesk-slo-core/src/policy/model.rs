//! The validated policy the engine runs on: names resolved to indexes,
//! calendars to shared [`Calendar`]s, targets to a severity × metric table
//! per plan. Built only by [`super::Config::from_yaml_with`], so every value here
//! has passed validation.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use super::spec::{
    CreditPeriod, FieldMatch, Fraction, MatchSpec, MetricKindSpec, OnReopen, Status, TargetAmount,
};
use crate::calendar::Calendar;

pub type SeverityId = usize;
pub type MetricId = usize;
pub type PlanId = usize;

/// The SLA policy of a config.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Severity names, most severe first.
    pub severities: Vec<String>,
    /// Lower-cased priority value (and severity name) → severity.
    pub priorities: NameMap<SeverityId>,
    pub default_severity: Option<SeverityId>,
    /// The ticket field holding the assigned severity, if any.
    pub severity_field: Option<String>,
    pub metrics: Vec<Metric>,
    /// In match order: highest precedence first.
    pub plans: Vec<Plan>,
    pub default_plan: Option<PlanId>,
    pub credits: Vec<CreditTable>,
    pub exclusions: Vec<Exclusion>,
    /// Metric ids by kind, in [`kind_index`] order (the engine's hot path
    /// asks "which metrics are of kind K" at every step).
    pub by_kind: [Vec<MetricId>; 5],
}

/// A map keyed by the short names of a config (priority values), hashed
/// with FNV-1a: the engine looks a ticket's priority up at every change of
/// it, and std's default hash (SipHash, made to resist keys chosen by an
/// attacker, which a config's keys are not) costs several times more for
/// such keys.
pub type NameMap<V> = HashMap<String, V, BuildHasherDefault<Fnv>>;

/// FNV-1a, 64 bits.
#[derive(Debug, Clone, Copy)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// The position of a kind in [`Policy::by_kind`].
pub fn kind_index(kind: MetricKindSpec) -> usize {
    match kind {
        MetricKindSpec::FirstResponse => 0,
        MetricKindSpec::NextReply => 1,
        MetricKindSpec::PeriodicUpdate => 2,
        MetricKindSpec::Resolution => 3,
        MetricKindSpec::TierResponse => 4,
    }
}

impl Policy {
    /// The severity a priority value or severity name maps to.
    pub fn severity_of(&self, value: &str) -> Option<SeverityId> {
        if let Some(&s) = self.priorities.get(value) {
            return Some(s);
        }
        self.priorities.get(&value.trim().to_lowercase()).copied()
    }

    /// The metrics of a kind.
    pub fn metrics_of(&self, kind: MetricKindSpec) -> &[MetricId] {
        &self.by_kind[kind_index(kind)]
    }

    pub fn metric_id(&self, name: &str) -> Option<MetricId> {
        self.metrics.iter().position(|m| m.name == name)
    }

    pub fn plan_id(&self, name: &str) -> Option<PlanId> {
        self.plans.iter().position(|p| p.name == name)
    }

    /// The calendar whose open hours are a ticket's support hours on `plan`
    /// at `severity`, with its name: the calendar of the plan's
    /// first-response target for the severity (Celigo's Preferred urgent
    /// targets run on the 24x7 `after-hours-urgent` calendar: urgent support
    /// is around the clock), or the plan's calendar when there is no such
    /// target. Other targets' calendars say how time counts (Workato's hourly
    /// updates on a wall clock), not when support is open.
    pub fn support_calendar(
        &self,
        plan: PlanId,
        severity: Option<SeverityId>,
    ) -> (&str, &Calendar) {
        let p = &self.plans[plan];
        severity
            .and_then(|s| {
                self.metrics_of(MetricKindSpec::FirstResponse)
                    .iter()
                    .find_map(|&m| p.target(s, m))
            })
            .map_or((p.calendar_name.as_str(), p.calendar.as_ref()), |t| {
                (t.calendar_name.as_str(), t.calendar.as_ref())
            })
    }

    /// Whether a ticket created at `created` was created in its support
    /// hours on `plan` at `severity` ([`Policy::support_calendar`]), for
    /// `only_created_in_business_hours` of plans and credit tables alike.
    /// An instant the calendar cannot place (before 1970 or from 2101) is
    /// not in support hours: no calendar is open there.
    pub fn created_in_support_hours(
        &self,
        plan: PlanId,
        severity: Option<SeverityId>,
        created: i64,
    ) -> bool {
        let (_, calendar) = self.support_calendar(plan, severity);
        calendar.is_open(created).unwrap_or(false)
    }
}

/// A metric and its settings.
#[derive(Debug, Clone)]
pub struct Metric {
    pub name: String,
    pub kind: MetricKindSpec,
    pub pause_on: Vec<Status>,
    pub on_reopen: OnReopen,
    pub group: Option<String>,
    pub count_internal_notes: bool,
}

impl Metric {
    pub fn pauses_on(&self, status: Status) -> bool {
        self.pause_on.contains(&status)
    }
}

/// A customer plan.
#[derive(Debug, Clone)]
pub struct Plan {
    pub name: String,
    pub matcher: MatchSpec,
    pub precedence: i32,
    pub calendar_name: String,
    pub calendar: Arc<Calendar>,
    pub objective: Option<f64>,
    pub credits: Option<usize>,
    pub only_created_in_business_hours: bool,
    /// `targets[severity][metric]`; `None`: the metric is not tracked for
    /// that severity on this plan.
    pub targets: Vec<Vec<Option<Target>>>,
}

impl Plan {
    pub fn target(&self, severity: SeverityId, metric: MetricId) -> Option<&Target> {
        self.targets.get(severity)?.get(metric)?.as_ref()
    }
}

/// A resolved target.
#[derive(Debug, Clone)]
pub struct Target {
    pub amount: TargetAmount,
    pub calendar_name: String,
    pub calendar: Arc<Calendar>,
}

/// One row of a credit table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CreditTier {
    /// Violation share this row starts at, exactly as written: what
    /// [`CreditTable::credit_for`] compares.
    pub share: Fraction,
    /// The same as a float, for display only.
    pub threshold: f64,
    /// `above` (strictly more than the threshold) instead of `from`.
    pub strict: bool,
    pub credit: f64,
}

/// A credit table.
#[derive(Debug, Clone)]
pub struct CreditTable {
    pub name: String,
    pub period: CreditPeriod,
    pub metrics: Vec<MetricId>,
    pub exclude_severities: Vec<SeverityId>,
    pub only_created_in_business_hours: bool,
    /// Lowest threshold first.
    pub tiers: Vec<CreditTier>,
}

impl CreditTable {
    /// The credit for `violations` out of `events` SLA events, and the row
    /// that gave it (`None`: below every row, no credit). The share is
    /// compared with each row's threshold exactly, in integers: 101 of 1000
    /// is not above 10.1%. No events is a share of 0.
    pub fn credit_for(&self, violations: u64, events: u64) -> (f64, Option<usize>) {
        let mut best = (0.0, None);
        for (i, tier) in self.tiers.iter().enumerate() {
            let order = tier.share.cmp_share(violations, events);
            let reached = if tier.strict {
                order.is_gt()
            } else {
                order.is_ge()
            };
            if reached {
                best = (tier.credit, Some(i));
            }
        }
        best
    }
}

/// A declared exclusion: clocks it matches are counted as excluded.
#[derive(Debug, Clone)]
pub struct Exclusion {
    pub reason: String,
    /// `[from, to)`: clocks open at any instant in it.
    pub window: Option<(i64, i64)>,
    pub ticket_tags: Vec<String>,
    pub ticket_field: Option<FieldMatch>,
    pub plans: Vec<PlanId>,
    pub severities: Vec<SeverityId>,
    pub metrics: Vec<MetricId>,
}
