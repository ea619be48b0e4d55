//! Attainment per group: the dimensions a user groups clocks by, and the
//! counts of each group, kept in memory that grows with the groups, not
//! with the tickets.

use rustc_hash::FxHashMap;

use chrono::Datelike;

use crate::engine::{Clock, ClockState, Ticket};
use crate::policy::model::{MetricId, PlanId, SeverityId};
use crate::policy::Policy;

/// What clocks can be grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dimension {
    Plan,
    Severity,
    Metric,
    /// The ticket's organization (the customer).
    Org,
    /// The month of the clock's start, in its plan calendar's zone.
    Month,
    /// The quarter of the clock's start, in its plan calendar's zone.
    Quarter,
}

impl Dimension {
    /// Every dimension, in the order `--group-by` lists them.
    pub const ALL: [Dimension; 6] = [
        Dimension::Plan,
        Dimension::Severity,
        Dimension::Metric,
        Dimension::Org,
        Dimension::Month,
        Dimension::Quarter,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Dimension::Plan => "plan",
            Dimension::Severity => "severity",
            Dimension::Metric => "metric",
            Dimension::Org => "org",
            Dimension::Month => "month",
            Dimension::Quarter => "quarter",
        }
    }

    /// Parses a comma-separated list such as `plan,severity,metric`.
    pub fn parse_list(text: &str) -> Result<Vec<Dimension>, String> {
        let mut out = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let d = Dimension::ALL
                .into_iter()
                .find(|d| d.name() == part)
                .ok_or_else(|| {
                    format!(
                        "unknown group {part:?}; valid: {}",
                        Dimension::ALL.map(Dimension::name).join(", ")
                    )
                })?;
            if !out.contains(&d) {
                out.push(d);
            }
        }
        Ok(out)
    }
}

/// Where a clock is counted; a dimension not grouped by is `None`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
struct Key {
    plan: Option<Option<PlanId>>,
    severity: Option<Option<SeverityId>>,
    metric: Option<MetricId>,
    /// An index into [`Groups::orgs`].
    org: Option<Option<u32>>,
    /// `(year, month 1-12)` or `(year, quarter 1-4)`.
    month: Option<(i32, u32)>,
    quarter: Option<(i32, u32)>,
}

/// A group's counts, by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub met: u64,
    pub breached: u64,
    pub active: u64,
    pub paused: u64,
    pub no_target: u64,
    pub excluded: u64,
}

impl Counts {
    fn add(&mut self, state: ClockState) {
        match state {
            ClockState::Met => self.met += 1,
            ClockState::Breached => self.breached += 1,
            ClockState::Active => self.active += 1,
            ClockState::Paused => self.paused += 1,
            ClockState::NoTarget => self.no_target += 1,
            ClockState::Excluded => self.excluded += 1,
        }
    }

    /// Met plus breached.
    pub fn decided(&self) -> u64 {
        self.met + self.breached
    }

    /// Every clock counted.
    pub fn total(&self) -> u64 {
        self.decided() + self.active + self.paused + self.no_target + self.excluded
    }

    /// met / decided; `None` when nothing is decided.
    pub fn attainment(&self) -> Option<f64> {
        (self.decided() > 0).then(|| self.met as f64 / self.decided() as f64)
    }
}

/// A group as written out: its dimension values by name, and its counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// One value per grouped dimension, in the order grouped by (`-` for
    /// none: no plan, no severity, no organization).
    pub values: Vec<String>,
    pub counts: Counts,
}

/// Counts clocks per group.
#[derive(Debug, Default)]
pub struct Groups {
    by: Vec<Dimension>,
    counts: FxHashMap<Key, Counts>,
    /// When grouping by plan, severity and metric only (the default), the
    /// counts in a table indexed by them, sized to the policy on the first
    /// clock: counting a clock hashes nothing. Empty otherwise; clocks
    /// with an id outside the policy go to `counts`.
    dense: Vec<Counts>,
    /// The table's sizes: plans + 1, severities + 1, metrics (an absent
    /// plan or severity is slot 0).
    dense_sizes: (usize, usize, usize),
    /// How far apart a plan's, a severity's and a metric's slots are; 0
    /// for a dimension not grouped by (its slot is 0).
    dense_strides: (usize, usize, usize),
    /// The organizations seen, each once, indexed by the keys (a key holds
    /// the index, so counting a clock copies no text).
    orgs: Vec<String>,
    org_index: FxHashMap<String, u32>,
}

impl Groups {
    pub fn new(by: &[Dimension]) -> Groups {
        Groups {
            by: by.to_vec(),
            counts: FxHashMap::default(),
            dense: Vec::new(),
            dense_sizes: (0, 0, 0),
            dense_strides: (0, 0, 0),
            orgs: Vec::new(),
            org_index: FxHashMap::default(),
        }
    }

    /// Counts a ticket's clock.
    #[inline]
    pub fn add(&mut self, policy: &Policy, ticket: &Ticket, c: &Clock) {
        if let Some(i) = self.dense_index(policy, c) {
            self.dense[i].add(c.state);
            return;
        }
        self.add_keyed(policy, ticket, c);
    }

    /// Counts a clock by its key, when it has no slot in the dense table.
    #[inline(never)]
    fn add_keyed(&mut self, policy: &Policy, ticket: &Ticket, c: &Clock) {
        let mut key = Key::default();
        for i in 0..self.by.len() {
            let d = self.by[i];
            match d {
                Dimension::Plan => key.plan = Some(c.plan),
                Dimension::Severity => key.severity = Some(c.severity),
                Dimension::Metric => key.metric = Some(c.metric),
                Dimension::Org => {
                    key.org = Some(ticket.organization.as_ref().map(|o| self.org(&o.id)))
                }
                Dimension::Month | Dimension::Quarter => {
                    let tz = c
                        .plan
                        .and_then(|p| policy.plans.get(p))
                        .map_or(chrono_tz::UTC, |p| p.calendar.timezone());
                    if let Some(local) =
                        chrono::DateTime::from_timestamp(c.start, 0).map(|t| t.with_timezone(&tz))
                    {
                        if d == Dimension::Month {
                            key.month = Some((local.year(), local.month()));
                        } else {
                            key.quarter = Some((local.year(), local.month0() / 3 + 1));
                        }
                    }
                }
            }
        }
        self.counts.entry(key).or_default().add(c.state);
    }

    /// Sizes the dense table to the policy, when grouping by plan,
    /// severity and metric only; false otherwise (asked again for each
    /// clock then: a look at a few dimensions). Out of line: the table is
    /// sized once.
    #[inline(never)]
    fn make_dense(&mut self, policy: &Policy) -> bool {
        let simple = self
            .by
            .iter()
            .all(|d| matches!(d, Dimension::Plan | Dimension::Severity | Dimension::Metric));
        if !simple {
            return false;
        }
        let sizes = (
            policy.plans.len() + 1,
            policy.severities.len() + 1,
            policy.metrics.len().max(1),
        );
        let by = |d: Dimension, stride: usize| {
            if self.by.contains(&d) {
                stride
            } else {
                0
            }
        };
        self.dense_strides = (
            by(Dimension::Plan, sizes.1 * sizes.2),
            by(Dimension::Severity, sizes.2),
            by(Dimension::Metric, 1),
        );
        self.dense_sizes = sizes;
        self.dense = vec![Counts::default(); sizes.0 * sizes.1 * sizes.2];
        true
    }

    /// Where a clock counts in the dense table, when grouping by plan,
    /// severity and metric only and its ids are the policy's.
    #[inline]
    fn dense_index(&mut self, policy: &Policy, c: &Clock) -> Option<usize> {
        if self.dense.is_empty() && !self.make_dense(policy) {
            return None;
        }
        let (np, ns, nm) = self.dense_sizes;
        let (sp, ss, sm) = self.dense_strides;
        // A dimension grouped by needs the clock's id in the table.
        let slot = |v: Option<usize>, n: usize, stride: usize| match v {
            _ if stride == 0 => Some(0),
            None => Some(0),
            Some(i) if i + 1 < n => Some((i + 1) * stride),
            Some(_) => None,
        };
        let p = slot(c.plan, np, sp)?;
        let s = slot(c.severity, ns, ss)?;
        let m = match c.metric {
            _ if sm == 0 => 0,
            m if m < nm => m,
            _ => return None,
        };
        Some(p + s + m)
    }

    /// The key of a slot of the dense table.
    fn dense_key(&self, i: usize) -> Key {
        let (_, ns, nm) = self.dense_sizes;
        let (p, s, m) = (i / (ns * nm), i / nm % ns, i % nm);
        let id = |slot: usize| slot.checked_sub(1);
        let mut key = Key::default();
        for d in &self.by {
            match d {
                Dimension::Plan => key.plan = Some(id(p)),
                Dimension::Severity => key.severity = Some(id(s)),
                _ => key.metric = Some(m),
            }
        }
        key
    }

    /// The index of an organization, given one when first seen.
    fn org(&mut self, id: &str) -> u32 {
        if let Some(&i) = self.org_index.get(id) {
            return i;
        }
        let i = self.orgs.len() as u32;
        self.orgs.push(id.to_string());
        self.org_index.insert(id.to_string(), i);
        i
    }

    /// The dimensions grouped by.
    pub fn dimensions(&self) -> &[Dimension] {
        &self.by
    }

    /// Every group with its values named, sorted by them.
    pub fn into_groups(mut self, policy: &Policy) -> Vec<Group> {
        for i in 0..self.dense.len() {
            let counts = self.dense[i];
            if counts.total() > 0 {
                let key = self.dense_key(i);
                let e = self.counts.entry(key).or_default();
                e.met += counts.met;
                e.breached += counts.breached;
                e.active += counts.active;
                e.paused += counts.paused;
                e.no_target += counts.no_target;
                e.excluded += counts.excluded;
            }
        }
        let (by, orgs) = (self.by, self.orgs);
        let mut out: Vec<Group> = self
            .counts
            .into_iter()
            .map(|(k, counts)| Group {
                values: by.iter().map(|d| value(policy, &orgs, &k, *d)).collect(),
                counts,
            })
            .collect();
        out.sort_by(|a, b| a.values.cmp(&b.values));
        out
    }
}

fn value(policy: &Policy, orgs: &[String], k: &Key, d: Dimension) -> String {
    let none = || "-".to_string();
    match d {
        Dimension::Plan => k
            .plan
            .flatten()
            .and_then(|p| policy.plans.get(p))
            .map_or_else(none, |p| p.name.clone()),
        Dimension::Severity => k
            .severity
            .flatten()
            .and_then(|s| policy.severities.get(s))
            .map_or_else(none, Clone::clone),
        Dimension::Metric => k
            .metric
            .and_then(|m| policy.metrics.get(m))
            .map_or_else(none, |m| m.name.clone()),
        Dimension::Org => k
            .org
            .flatten()
            .and_then(|i| orgs.get(i as usize))
            .map_or_else(none, Clone::clone),
        Dimension::Month => k.month.map_or_else(none, |(y, m)| format!("{y:04}-{m:02}")),
        Dimension::Quarter => k.quarter.map_or_else(none, |(y, q)| format!("{y:04}-Q{q}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every state a clock can be in, drawn by index.
    const STATES: [ClockState; 6] = [
        ClockState::Met,
        ClockState::Breached,
        ClockState::Active,
        ClockState::Paused,
        ClockState::NoTarget,
        ClockState::Excluded,
    ];

    /// The shipped Celigo example: several plans, severities and metrics.
    fn celigo() -> Result<crate::policy::Config, TestCaseError> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml");
        crate::config_files::load(&path).map_err(|e| TestCaseError::fail(e.to_string()))
    }

    /// A first clock of `metric` in `state`, grouped only by its ids.
    fn clock(
        metric: usize,
        plan: Option<usize>,
        severity: Option<usize>,
        state: ClockState,
    ) -> Clock {
        Clock {
            metric,
            instance: 1,
            plan,
            severity,
            start: 1_793_000_000,
            due_at: None,
            state,
            reason: None,
            fulfilled_at: None,
            breached_at: None,
            elapsed_seconds: 0,
            paused_seconds: 0,
            remaining_seconds: None,
        }
    }

    proptest! {
        /// Grouped by organization (with plan and metric), the counts are
        /// those of a plain count by the organization's text, whatever the
        /// order the organizations come in.
        #[test]
        fn organizations_group_as_their_text_does(
            clocks in proptest::collection::vec(
                (proptest::option::of(0u8..5), 0usize..4, 0usize..2, 0usize..6),
                0..80,
            ),
        ) {
            let config = celigo()?;
            let policy = &config.policy;
            let mut groups = Groups::new(&[Dimension::Org, Dimension::Plan, Dimension::Metric]);
            let mut want: std::collections::BTreeMap<Vec<String>, Counts> = Default::default();
            for (org, plan, metric, state) in clocks {
                let ticket: Ticket = serde_json::from_value(serde_json::json!({
                    "id": "1",
                    "created_at": "2026-11-02T09:00:00Z",
                    "organization": org.map(|o| serde_json::json!({"id": format!("org-{o}")})),
                }))
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let clock = clock(metric, Some(plan), None, STATES[state]);
                groups.add(policy, &ticket, &clock);
                let values = vec![
                    org.map_or_else(|| "-".to_string(), |o| format!("org-{o}")),
                    policy.plans[plan].name.clone(),
                    policy.metrics[metric].name.clone(),
                ];
                want.entry(values).or_default().add(STATES[state]);
            }
            let got: Vec<(Vec<String>, Counts)> = groups
                .into_groups(policy)
                .into_iter()
                .map(|g| (g.values, g.counts))
                .collect();
            prop_assert_eq!(got, want.into_iter().collect::<Vec<_>>());
        }
    }

    proptest! {
        /// Grouped by plan, severity and metric or any of them (the table
        /// indexed by ids), the counts are those of a plain count by the
        /// names, clocks without a plan or severity included.
        #[test]
        fn plan_severity_metric_groups_count_as_their_names_do(
            clocks in proptest::collection::vec(
                (proptest::option::of(0usize..4), proptest::option::of(0usize..4), 0usize..2, 0usize..6),
                0..80,
            ),
            dims in proptest::sample::subsequence(
                vec![Dimension::Plan, Dimension::Severity, Dimension::Metric], 0..=3),
        ) {
            let config = celigo()?;
            let policy = &config.policy;
            let ticket: Ticket = serde_json::from_value(serde_json::json!({
                "id": "1",
                "created_at": "2026-11-02T09:00:00Z",
            }))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let mut groups = Groups::new(&dims);
            let mut want: std::collections::BTreeMap<Vec<String>, Counts> = Default::default();
            for (plan, severity, metric, state) in clocks {
                let clock = clock(metric, plan, severity, STATES[state]);
                groups.add(policy, &ticket, &clock);
                let values = dims
                    .iter()
                    .map(|d| match d {
                        Dimension::Plan => plan.map_or("-".to_string(), |p| policy.plans[p].name.clone()),
                        Dimension::Severity => severity.map_or("-".to_string(), |s| policy.severities[s].clone()),
                        _ => policy.metrics[metric].name.clone(),
                    })
                    .collect();
                want.entry(values).or_default().add(STATES[state]);
            }
            let got: Vec<(Vec<String>, Counts)> = groups
                .into_groups(policy)
                .into_iter()
                .map(|g| (g.values, g.counts))
                .collect();
            prop_assert_eq!(got, want.into_iter().collect::<Vec<_>>());
        }
    }

    #[test]
    fn group_lists_parse_and_name_what_is_valid() {
        assert_eq!(
            Dimension::parse_list("plan, severity,plan").unwrap(),
            [Dimension::Plan, Dimension::Severity]
        );
        let e = Dimension::parse_list("plan,team").unwrap_err();
        assert!(e.contains("\"team\"") && e.contains("quarter"), "{e}");
    }

    #[test]
    fn attainment_counts_only_decided_clocks() {
        let mut c = Counts::default();
        for s in [
            ClockState::Met,
            ClockState::Met,
            ClockState::Met,
            ClockState::Breached,
            ClockState::Active,
            ClockState::Excluded,
        ] {
            c.add(s);
        }
        assert_eq!((c.decided(), c.total()), (4, 6));
        assert_eq!(c.attainment(), Some(0.75));
        assert_eq!(Counts::default().attainment(), None);
    }
}
