//! The figures of a report, computed from a [`Dataset`] and the policy:
//! pure, no I/O, deterministic (every list is sorted by a total order).
//!
//! * **Counting.** A clock belongs to the month in which it started
//!   ([`crate::engine::aggregate`]), read in its plan's calendar zone: a
//!   ticket opened 23:30 on October 31st in Los Angeles counts for October
//!   even though it is November in UTC. Clocks on no plan use the report's
//!   zone.
//! * **Attainment** is met / (met + breached); excluded, no-target and open
//!   clocks are counted but not in the ratio. An open clock past its due at
//!   the cut-off is breached.
//! * **Credits** follow [`crate::engine::aggregate::credits`] (counted as
//!   the tickets are read, [`Dataset::credit_counts`]): tickets
//!   created in the period (the quarter to date, or the month), per
//!   organization on a plan with a credit table, each plan's period read in
//!   its calendar's zone.

use std::collections::{BTreeMap, BTreeSet};

use chrono_tz::Tz;

use super::gather::{Dataset, TicketRecord, TREND_MONTHS};
use super::month::Month;
use crate::engine::aggregate::{tally, CustomerCredit, Key, Tally};
use crate::engine::{Clock, ClockState};
use crate::policy::model::{MetricId, PlanId, SeverityId};
use crate::policy::spec::CreditPeriod;
use crate::policy::spec::TargetAmount;
use crate::policy::Policy;

/// Buckets of time to fulfil as a share of the target, upper bounds in
/// percent (the last is open-ended).
pub const DISTRIBUTION_BUCKETS: [&str; 6] = [
    "0-25%",
    "25-50%",
    "50-75%",
    "75-100%",
    "100-150%",
    "over 150%",
];

/// One plan's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanFigures {
    pub plan: PlanId,
    pub timezone: Tz,
    /// `[start, end)` of the month in the plan's zone.
    pub bounds: (i64, i64),
    /// Every clock of the plan that started in the month.
    pub month: Tally,
    pub previous: Tally,
    /// Severity × metric, severities most severe first (none last).
    pub rows: Vec<(Option<SeverityId>, MetricId, Tally)>,
    /// Oldest first, ending with the month.
    pub trend: Vec<(Month, Tally)>,
    /// Fulfilled clocks by time to fulfil as a share of the target.
    pub distribution: [u64; 6],
    /// Excluded clocks by reason, sorted by reason.
    pub excluded: Vec<(String, u64)>,
    /// Clocks of the month on tickets that never had a priority (nor an
    /// assigned severity): counted under the default severity, if any.
    pub missing_priority_clocks: u64,
}

/// A breached clock.
#[derive(Debug, Clone, PartialEq)]
pub struct Breach {
    /// Index into [`Dataset::tickets`].
    pub ticket: usize,
    pub clock: Clock,
    /// The target in business seconds, when it is a duration.
    pub target_seconds: Option<i64>,
    /// Business time past the target (at the cut-off if still open).
    pub over_seconds: Option<i64>,
    pub still_open: bool,
    pub paused: bool,
    pub severity_changed: bool,
}

/// One credit table's figures over one period.
#[derive(Debug, Clone, PartialEq)]
pub struct CreditFigures {
    pub table: usize,
    /// Per plan on the table: its period bounds in its zone.
    pub plans: Vec<(PlanId, Tz, i64, i64)>,
    pub period: CreditPeriod,
    /// The month ends the period: the figures are final.
    pub period_complete: bool,
    /// Sorted by organization label, then plan.
    pub rows: Vec<(String, CustomerCredit)>,
}

/// A gap between completed polls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollGap {
    pub source: String,
    pub from: i64,
    pub to: i64,
}

/// Data quality findings for the month's tickets.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Quality {
    /// Tickets whose clocks are on no plan (indexes into the dataset).
    pub no_plan: Vec<usize>,
    /// Priority value → tickets that had it.
    pub unmapped: BTreeMap<String, Vec<usize>>,
    /// Tickets that never had a priority (nor an assigned severity).
    pub missing_priority: Vec<usize>,
    /// Tickets with comments by authors the helpdesk's user list lacks.
    pub unknown_authors: Vec<usize>,
    /// Tickets whose events disagree with the helpdesk's ticket record.
    pub inconsistent: Vec<usize>,
    pub gaps: Vec<PollGap>,
    /// Sources with no completed poll around the month.
    pub never_polled: Vec<String>,
    /// Tickets whose data changed after the month closed (and after their
    /// source's first synchronisation).
    pub late: Vec<usize>,
    /// Of those, the tickets whose data changed after the first issue of
    /// this report.
    pub since_first_issue: Vec<usize>,
    /// Sources first synchronised (their first completed poll ever) after
    /// the month started: `(source, first poll)`. No gap is counted before.
    pub first_sync: Vec<(String, i64)>,
}

/// Everything a report shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub plans: Vec<PlanFigures>,
    pub breaches: Vec<Breach>,
    pub credits: Vec<CreditFigures>,
    pub quality: Quality,
    /// Tickets with a clock counted in the month, or created in it.
    pub month_tickets: usize,
}

fn plan_zone(policy: &Policy, plan: Option<PlanId>, fallback: Tz) -> Tz {
    plan.and_then(|p| policy.plans.get(p))
        .map_or(fallback, |p| p.calendar.timezone())
}

/// Whether a clock started in `month` (read in its plan's zone).
fn in_month(policy: &Policy, c: &Clock, month: Month, fallback: Tz) -> bool {
    let (s, e) = month.bounds(plan_zone(policy, c.plan, fallback));
    c.start >= s && c.start < e
}

/// The target of a clock in business seconds, when it is a duration or a
/// number of business days.
pub fn target_seconds(policy: &Policy, c: &Clock) -> Option<i64> {
    let t = policy.plans.get(c.plan?)?.target(c.severity?, c.metric)?;
    match t.amount {
        TargetAmount::None => None,
        TargetAmount::Business(d) => Some(t.calendar.duration_seconds(d)),
        TargetAmount::BusinessDays(n) => {
            let due = t.calendar.add_business_days(c.start, n).ok()?;
            t.calendar.business_seconds(c.start, due).ok()
        }
    }
}

fn merged(tallies: &BTreeMap<Key, Tally>, plan: PlanId) -> Tally {
    let mut out = Tally::default();
    for (k, t) in tallies {
        if k.plan == Some(plan) {
            out.met += t.met;
            out.breached += t.breached;
            out.excluded += t.excluded;
            out.no_target += t.no_target;
            out.active += t.active;
            out.paused += t.paused;
            out.fulfil_seconds.extend(&t.fulfil_seconds);
        }
    }
    out
}

fn plan_figures(policy: &Policy, data: &Dataset, plan: PlanId) -> PlanFigures {
    let tz = policy.plans[plan].calendar.timezone();
    let clocks = || {
        data.tickets
            .iter()
            .flat_map(|t| &t.clocks)
            .filter(move |c| c.plan == Some(plan))
    };
    let per_month = |m: Month| {
        let (s, e) = m.bounds(tz);
        tally(clocks(), s, e)
    };
    let bounds = data.month.bounds(tz);
    let this = per_month(data.month);
    let mut trend = Vec::new();
    let mut m = data.month;
    for _ in 0..TREND_MONTHS {
        let mut t = merged(&per_month(m), plan);
        // The trend-only tickets, counted as they were read.
        if let Some(f) = data.folded.get(&(plan, m)) {
            t.met += f.met;
            t.breached += f.breached;
            t.excluded += f.excluded;
            t.no_target += f.no_target;
            t.active += f.active;
            t.paused += f.paused;
        }
        trend.push((m, t));
        m = m.prev();
    }
    trend.reverse();
    let previous = trend
        .iter()
        .rev()
        .nth(1)
        .map(|(_, t)| t.clone())
        .unwrap_or_default();

    // Rows: every severity × metric the plan has a target for, and any other
    // that has clocks.
    let mut keys: BTreeSet<(usize, MetricId)> = BTreeSet::new();
    let p = &policy.plans[plan];
    for s in 0..policy.severities.len() {
        for m in 0..policy.metrics.len() {
            if p.target(s, m).is_some() {
                keys.insert((s, m));
            }
        }
    }
    let sev_rank = |s: Option<SeverityId>| s.unwrap_or(usize::MAX);
    for k in this.keys() {
        keys.insert((sev_rank(k.severity), k.metric));
    }
    let rows = keys
        .into_iter()
        .map(|(s, m)| {
            let severity = (s != usize::MAX).then_some(s);
            let t = this
                .get(&Key {
                    plan: Some(plan),
                    severity,
                    metric: m,
                })
                .cloned()
                .unwrap_or_default();
            (severity, m, t)
        })
        .collect();

    let mut distribution = [0u64; 6];
    let mut excluded: BTreeMap<String, u64> = BTreeMap::new();
    for c in clocks().filter(|c| c.start >= bounds.0 && c.start < bounds.1) {
        if c.state == ClockState::Excluded {
            *excluded
                .entry(c.reason.clone().unwrap_or_else(|| "no reason given".into()))
                .or_default() += 1;
        }
        if c.fulfilled_at.is_none() || !matches!(c.state, ClockState::Met | ClockState::Breached) {
            continue;
        }
        let Some(target) = target_seconds(policy, c) else {
            continue;
        };
        // Integer arithmetic: the same bucket on every machine.
        let pct = if target == 0 {
            if c.elapsed_seconds == 0 {
                0
            } else {
                i64::MAX
            }
        } else {
            c.elapsed_seconds.saturating_mul(100) / target
        };
        let exact = target == 0 || c.elapsed_seconds.saturating_mul(100) % target == 0;
        let bucket = match pct {
            p if p < 25 || (p == 25 && exact) => 0,
            p if p < 50 || (p == 50 && exact) => 1,
            p if p < 75 || (p == 75 && exact) => 2,
            p if p < 100 || (p == 100 && exact) => 3,
            p if p < 150 || (p == 150 && exact) => 4,
            _ => 5,
        };
        distribution[bucket] += 1;
    }
    let missing_priority_clocks = data
        .tickets
        .iter()
        .filter(|t| t.missing_priority)
        .flat_map(|t| &t.clocks)
        .filter(|c| c.plan == Some(plan) && c.start >= bounds.0 && c.start < bounds.1)
        .count() as u64;
    PlanFigures {
        plan,
        missing_priority_clocks,
        timezone: tz,
        bounds,
        month: merged(&this, plan),
        previous,
        rows,
        trend,
        distribution,
        excluded: excluded.into_iter().collect(),
    }
}

fn breaches(policy: &Policy, data: &Dataset) -> Vec<Breach> {
    let mut out = Vec::new();
    for (i, t) in data.tickets.iter().enumerate() {
        for c in &t.clocks {
            if c.state != ClockState::Breached || !in_month(policy, c, data.month, data.timezone) {
                continue;
            }
            let target = target_seconds(policy, c);
            let end = c.fulfilled_at.unwrap_or(data.cutoff);
            out.push(Breach {
                ticket: i,
                clock: c.clone(),
                target_seconds: target,
                over_seconds: target.map(|t| c.elapsed_seconds - t),
                still_open: c.fulfilled_at.is_none(),
                paused: c.paused_seconds > 0,
                severity_changed: t.severity_changes.iter().any(|&x| x > c.start && x <= end),
            });
        }
    }
    let plan_rank = |c: &Clock| c.plan.unwrap_or(usize::MAX);
    out.sort_by(|a, b| {
        let (ta, tb) = (&data.tickets[a.ticket], &data.tickets[b.ticket]);
        (
            plan_rank(&a.clock),
            a.clock.severity.unwrap_or(usize::MAX),
            a.clock.metric,
            ta.source.as_str(),
            super::gather::id_key(&ta.id),
            a.clock.instance,
        )
            .cmp(&(
                plan_rank(&b.clock),
                b.clock.severity.unwrap_or(usize::MAX),
                b.clock.metric,
                tb.source.as_str(),
                super::gather::id_key(&tb.id),
                b.clock.instance,
            ))
    });
    out
}

/// Per organization, the credit of `plan` on table `table_id`, from the
/// counts made as the tickets were read ([`Dataset::credit_counts`]).
fn credit_rows(
    policy: &Policy,
    table_id: usize,
    plan: PlanId,
    data: &Dataset,
) -> Vec<CustomerCredit> {
    let Some(table) = policy.credits.get(table_id) else {
        return Vec::new();
    };
    data.credit_counts
        .iter()
        .filter(|((t, _, p), _)| *t == table_id && *p == plan)
        .map(|((_, organization, _), &(events, violations))| {
            let share = if events == 0 {
                0.0
            } else {
                violations as f64 / events as f64
            };
            let (credit, tier) = table.credit_for(violations, events);
            CustomerCredit {
                organization: organization.clone(),
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

fn credit_figures(policy: &Policy, data: &Dataset, plans: &[PlanId]) -> Vec<CreditFigures> {
    let labels: BTreeMap<&str, String> = data
        .organizations
        .iter()
        .map(|(id, name)| {
            let o = super::gather::OrgRef {
                id: id.clone(),
                name: name.clone(),
            };
            (id.as_str(), o.label())
        })
        .collect();
    let mut out = Vec::new();
    for (table_id, table) in policy.credits.iter().enumerate() {
        let on_table: Vec<PlanId> = plans
            .iter()
            .copied()
            .filter(|&p| policy.plans[p].credits == Some(table_id))
            .collect();
        if on_table.is_empty() {
            continue;
        }
        let mut periods = Vec::new();
        let mut rows = Vec::new();
        for &p in &on_table {
            let tz = policy.plans[p].calendar.timezone();
            let first = match table.period {
                CreditPeriod::Quarter => data.month.quarter_start(),
                CreditPeriod::Month => data.month,
            };
            let from = first.bounds(tz).0;
            let to = data.month.bounds(tz).1;
            periods.push((p, tz, from, to));
            for c in credit_rows(policy, table_id, p, data) {
                let label = labels
                    .get(c.organization.as_str())
                    .cloned()
                    .unwrap_or_else(|| c.organization.clone());
                rows.push((label, c));
            }
        }
        rows.sort_by(|a, b| (a.0.as_str(), a.1.plan).cmp(&(b.0.as_str(), b.1.plan)));
        out.push(CreditFigures {
            table: table_id,
            plans: periods,
            period: table.period,
            period_complete: table.period == CreditPeriod::Month || data.month.ends_quarter(),
            rows,
        });
    }
    out
}

fn quality(data: &Dataset, month_tickets: &[usize]) -> Quality {
    let mut q = Quality::default();
    for &i in month_tickets {
        let t: &TicketRecord = &data.tickets[i];
        if t.clocks.iter().any(|c| c.plan.is_none()) {
            q.no_plan.push(i);
        }
        for v in &t.unmapped_priorities {
            q.unmapped.entry(v.clone()).or_default().push(i);
        }
        if t.missing_priority {
            q.missing_priority.push(i);
        }
        if t.unknown_author_comments > 0 {
            q.unknown_authors.push(i);
        }
        if !t.disagreements.is_empty() {
            q.inconsistent.push(i);
        }
        if t.changed_after_close {
            q.late.push(i);
            if t.changed_since_first_issue {
                q.since_first_issue.push(i);
            }
        }
    }
    let (start, end) = data.month.bounds(data.timezone);
    let horizon = end.min(data.cutoff);
    for s in &data.polls {
        if s.before.is_none() && s.during.is_empty() && s.after.is_none() {
            q.never_polled.push(s.source.clone());
            continue;
        }
        // A source first synchronised in or after the month had no poll to
        // miss before: its data up to then came in its first backfill, and
        // gaps are measured from that first poll.
        let first_sync = s.first.filter(|&f| f >= start);
        if let Some(f) = first_sync {
            q.first_sync.push((s.source.clone(), f));
        }
        if horizon <= start {
            continue;
        }
        // Each completed poll, and the next one (or the month's end, or the
        // cut-off if earlier): longer than the threshold between them is a
        // gap.
        let mut points = s.during.clone();
        points.push(s.after.unwrap_or(horizon));
        let mut prev = s.before.or(first_sync);
        for p in points {
            let Some(from) = prev else {
                // Not synchronised before this point: nothing to miss.
                prev = Some(p);
                continue;
            };
            if p > from && p - from > s.gap_threshold {
                q.gaps.push(PollGap {
                    source: s.source.clone(),
                    from,
                    to: p,
                });
            }
            prev = Some(p.max(from));
        }
    }
    q.gaps
        .sort_by(|a, b| (a.source.as_str(), a.from).cmp(&(b.source.as_str(), b.from)));
    q.gaps.dedup();
    q
}

/// Computes a report's figures.
pub fn compute(policy: &Policy, data: &Dataset) -> Figures {
    let plans: Vec<PlanId> = match data.plan {
        Some(p) => vec![p],
        None => (0..policy.plans.len()).collect(),
    };
    let (m_start, m_end) = data.month.bounds(data.timezone);
    let month_tickets: Vec<usize> = data
        .tickets
        .iter()
        .enumerate()
        .filter(|(_, t)| {
            t.clocks
                .iter()
                .any(|c| in_month(policy, c, data.month, data.timezone))
                || (t.created_at >= m_start && t.created_at < m_end)
        })
        .map(|(i, _)| i)
        .collect();
    Figures {
        plans: plans
            .iter()
            .map(|&p| plan_figures(policy, data, p))
            .collect(),
        breaches: breaches(policy, data),
        credits: credit_figures(policy, data, &plans),
        quality: quality(data, &month_tickets),
        month_tickets: month_tickets.len(),
    }
}
