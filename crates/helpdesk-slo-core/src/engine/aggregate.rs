//! Attainment and credits over many tickets' clocks.
//!
//! **Clocks are counted by their start**: a clock belongs to the period in
//! which it started, whenever it ends. Reports, metrics and credits all use
//! this rule, so a month's figures only change while its clocks are still
//! open, and "tickets opened in the quarter" (seed 003's credit rule) is the
//! same set everywhere.
//!
//! A clock is *decided* when met or breached (an open clock past its due is
//! breached). Attainment is met / decided; excluded, no-target, active and
//! paused clocks are counted but not in the ratio.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, TimeZone};
use chrono_tz::Tz;

use super::{Clock, ClockState};
use crate::policy::model::{CreditTable, MetricId, PlanId, SeverityId};
use crate::policy::spec::CreditPeriod;
use crate::policy::Policy;

/// Counts of one plan × severity × metric.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub met: u64,
    pub breached: u64,
    pub excluded: u64,
    pub no_target: u64,
    pub active: u64,
    pub paused: u64,
    /// Business seconds to fulfil, of fulfilled clocks (met or breached).
    pub fulfil_seconds: Vec<i64>,
}

impl Tally {
    pub fn add(&mut self, c: &Clock) {
        match c.state {
            ClockState::Met => self.met += 1,
            ClockState::Breached => self.breached += 1,
            ClockState::Excluded => self.excluded += 1,
            ClockState::NoTarget => self.no_target += 1,
            ClockState::Active => self.active += 1,
            ClockState::Paused => self.paused += 1,
        }
        if c.fulfilled_at.is_some()
            && matches!(
                c.state,
                ClockState::Met | ClockState::Breached | ClockState::NoTarget
            )
        {
            self.fulfil_seconds.push(c.elapsed_seconds);
        }
    }

    /// Met plus breached.
    pub fn decided(&self) -> u64 {
        self.met + self.breached
    }

    /// Every clock counted, in any state.
    pub fn total(&self) -> u64 {
        self.decided() + self.excluded + self.no_target + self.active + self.paused
    }

    /// met / decided; `None` when nothing is decided.
    pub fn attainment(&self) -> Option<f64> {
        (self.decided() > 0).then(|| self.met as f64 / self.decided() as f64)
    }

    /// Share of the error budget left against `objective`: 1 with no
    /// breach, 0 when breaches use exactly the allowed share, negative past
    /// it. With nothing decided the whole budget is left.
    pub fn error_budget_remaining(&self, objective: f64) -> f64 {
        let allowed = (1.0 - objective) * self.decided() as f64;
        if self.breached == 0 {
            1.0
        } else if allowed <= 0.0 {
            f64::NEG_INFINITY
        } else {
            1.0 - self.breached as f64 / allowed
        }
    }

    /// Nearest-rank percentile (0 < p <= 100) of business seconds to fulfil.
    pub fn percentile(&self, p: f64) -> Option<i64> {
        let mut v = self.fulfil_seconds.clone();
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
        v.get(rank.min(v.len()) - 1).copied()
    }
}

/// Where a clock is tallied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub plan: Option<PlanId>,
    pub severity: Option<SeverityId>,
    pub metric: MetricId,
}

/// Tallies the clocks that started in `[from, to)`, per plan × severity ×
/// metric.
pub fn tally<'c>(
    clocks: impl IntoIterator<Item = &'c Clock>,
    from: i64,
    to: i64,
) -> BTreeMap<Key, Tally> {
    let mut out: BTreeMap<Key, Tally> = BTreeMap::new();
    for c in clocks {
        if c.start < from || c.start >= to {
            continue;
        }
        out.entry(Key {
            plan: c.plan,
            severity: c.severity,
            metric: c.metric,
        })
        .or_default()
        .add(c);
    }
    out
}

/// The first instant of the period (month or quarter) containing `t`, and
/// of the next one, in the zone's local time.
pub fn period_bounds(t: i64, period: CreditPeriod, tz: Tz) -> Option<(i64, i64)> {
    let local = chrono::DateTime::from_timestamp(t, 0)?.with_timezone(&tz);
    let months = match period {
        CreditPeriod::Month => 1,
        CreditPeriod::Quarter => 3,
    };
    let first_month = (local.month0() / months) * months + 1;
    let start = NaiveDate::from_ymd_opt(local.year(), first_month, 1)?;
    let next = start.checked_add_months(chrono::Months::new(months))?;
    let at = |d: NaiveDate| {
        tz.from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
            .earliest()
            .map(|x| x.timestamp())
    };
    Some((at(start)?, at(next)?))
}

/// What identifies a ticket for credits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketMeta {
    pub id: String,
    pub organization: Option<String>,
    pub created_at: i64,
}

/// One customer's credit for one period.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerCredit {
    pub organization: String,
    pub plan: PlanId,
    /// SLA events: decided clocks of the table's metrics.
    pub events: u64,
    pub violations: u64,
    pub violation_share: f64,
    pub credit: f64,
    /// The row of the credit table that gave the credit.
    pub tier: Option<usize>,
}

/// Whether a clock of a ticket is an SLA event of credit table `table_id`:
/// its plan uses the table, its metric is one of the table's, its severity
/// is not excluded, it is decided (met or breached), and, when the table
/// says so, the ticket was created in its support hours
/// ([`Policy::created_in_support_hours`]: on the calendar of the plan's
/// first-response target for the clock's severity, so a Celigo Preferred
/// urgent ticket created on a Saturday counts). (Which period it counts in
/// is the caller's: the period of the ticket's creation.)
pub fn counts_for_credit(policy: &Policy, table_id: usize, meta: &TicketMeta, c: &Clock) -> bool {
    counts_for_credit_with(policy, table_id, c, |plan, severity| {
        policy.created_in_support_hours(plan, severity, meta.created_at)
    })
}

/// [`counts_for_credit`], with whether the ticket was created in the
/// support hours of a plan and severity answered by `in_support_hours`
/// (asked only when the table needs it, after every other condition
/// holds), so a caller can answer it once for a ticket's clocks.
pub fn counts_for_credit_with(
    policy: &Policy,
    table_id: usize,
    c: &Clock,
    in_support_hours: impl FnOnce(PlanId, Option<SeverityId>) -> bool,
) -> bool {
    let Some(table) = policy.credits.get(table_id) else {
        return false;
    };
    let Some((plan_id, plan)) = c.plan.and_then(|p| Some((p, policy.plans.get(p)?))) else {
        return false;
    };
    plan.credits == Some(table_id)
        && table.metrics.contains(&c.metric)
        && !c
            .severity
            .is_some_and(|s| table.exclude_severities.contains(&s))
        && matches!(c.state, ClockState::Met | ClockState::Breached)
        && (!table.only_created_in_business_hours || in_support_hours(plan_id, c.severity))
}

/// Credits for the period `[from, to)`: per organization on a plan with
/// `table`, over tickets created in the period.
pub fn credits(
    policy: &Policy,
    table_id: usize,
    tickets: &[(TicketMeta, Vec<Clock>)],
    from: i64,
    to: i64,
) -> Vec<CustomerCredit> {
    let Some(table): Option<&CreditTable> = policy.credits.get(table_id) else {
        return Vec::new();
    };
    let mut per: BTreeMap<(String, PlanId), (u64, u64)> = BTreeMap::new();
    for (meta, clocks) in tickets {
        if meta.created_at < from || meta.created_at >= to {
            continue;
        }
        let Some(org) = &meta.organization else {
            continue;
        };
        for c in clocks {
            let Some(plan_id) = c.plan else { continue };
            if counts_for_credit(policy, table_id, meta, c) {
                let e = per.entry((org.clone(), plan_id)).or_default();
                e.0 += 1;
                if c.state == ClockState::Breached {
                    e.1 += 1;
                }
            }
        }
    }
    per.into_iter()
        .map(|((organization, plan), (events, violations))| {
            let share = if events == 0 {
                0.0
            } else {
                violations as f64 / events as f64
            };
            let (credit, tier) = table.credit_for(violations, events);
            CustomerCredit {
                organization,
                plan,
                events,
                violations,
                violation_share: share,
                credit,
                tier,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_instant;

    fn clock(state: ClockState, elapsed: i64) -> Clock {
        Clock {
            metric: 0,
            instance: 1,
            plan: Some(0),
            severity: Some(0),
            start: 100,
            due_at: None,
            state,
            reason: None,
            fulfilled_at: matches!(state, ClockState::Met | ClockState::Breached).then_some(200),
            breached_at: None,
            elapsed_seconds: elapsed,
            paused_seconds: 0,
            remaining_seconds: None,
        }
    }

    #[test]
    fn attainment_budget_and_percentiles() {
        let mut t = Tally::default();
        for i in 0..19 {
            t.add(&clock(ClockState::Met, 60 * (i + 1)));
        }
        t.add(&clock(ClockState::Breached, 10_000));
        t.add(&clock(ClockState::Excluded, 0));
        t.add(&clock(ClockState::Active, 5));
        assert_eq!(t.decided(), 20);
        assert_eq!(t.total(), 22);
        assert_eq!(t.attainment(), Some(0.95));
        // At a 95% objective one breach in twenty uses the whole budget.
        assert!(t.error_budget_remaining(0.95).abs() < 1e-9);
        assert!((t.error_budget_remaining(0.90) - 0.5).abs() < 1e-9);
        assert_eq!(t.percentile(50.0), Some(600));
        assert_eq!(t.percentile(90.0), Some(1080));
        assert_eq!(t.percentile(100.0), Some(10_000));
        assert_eq!(Tally::default().attainment(), None);
        assert_eq!(Tally::default().error_budget_remaining(0.95), 1.0);
    }

    #[test]
    fn quarters_are_local() {
        let tz = chrono_tz::America::Los_Angeles;
        // 2026-10-01T03:00Z is still September 30 in Los Angeles.
        let (s, e) = period_bounds(
            parse_instant("2026-10-01T03:00:00Z").unwrap(),
            CreditPeriod::Quarter,
            tz,
        )
        .unwrap();
        assert_eq!(s, parse_instant("2026-07-01T07:00:00Z").unwrap());
        assert_eq!(e, parse_instant("2026-10-01T07:00:00Z").unwrap());
        let (s, _) = period_bounds(
            parse_instant("2026-11-15T00:00:00Z").unwrap(),
            CreditPeriod::Month,
            tz,
        )
        .unwrap();
        assert_eq!(s, parse_instant("2026-11-01T07:00:00Z").unwrap());
    }
}
