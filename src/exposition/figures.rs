//! The metric values at one instant, from the [`Live`] totals plus what
//! time does to open clocks: an active clock past its due is breached, the
//! rest have business time left on their target's calendar.
//!
//! Every configured plan × severity × metric with a target gets a
//! [`SeriesFigures`], zero when nothing happened, so the exposition never
//! omits a series.

use std::collections::{BTreeMap, HashMap};

pub use super::live::WindowCounts;
use super::live::{credit_key, Live, SeriesKey, FULFIL_BUCKETS, START_BUCKET_SECONDS};
use crate::engine::aggregate::period_bounds;
use crate::engine::ClockState;
use crate::policy::model::PlanId;
use crate::policy::spec::{CreditPeriod, TargetAmount};
use crate::policy::Policy;

/// The attainment windows, in label order.
pub const WINDOWS: [&str; 4] = ["7d", "30d", "month", "quarter"];

/// The imminent-breach horizons (business seconds), with their labels.
pub const SOON: [(&str, i64); 3] = [("15m", 900), ("1h", 3600), ("4h", 14_400)];

/// One plan × severity × metric series at `now`.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesFigures {
    pub key: SeriesKey,
    pub active: u64,
    pub paused: u64,
    pub met_total: u64,
    pub breached_total: u64,
    pub excluded_total: u64,
    pub windows: [WindowCounts; 4],
    /// Active clocks with at most this much business time left, per [`SOON`].
    pub soon: [u64; 3],
    pub next_due: Option<i64>,
    pub next_business_seconds: Option<i64>,
    /// Histogram counts per bucket (not cumulative), then `+Inf`.
    pub buckets: [u64; FULFIL_BUCKETS.len() + 1],
    pub fulfil_sum: f64,
    /// Per bucket: (ticket id, value).
    pub exemplars: Vec<Option<(String, f64)>>,
}

/// A plan at `now`.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanFigures {
    pub plan: PlanId,
    pub objective: Option<f64>,
    pub windows: [WindowCounts; 4],
    /// Credits of the current period, when the plan has a credit table:
    /// (customers owed a credit, sum of their credit shares).
    pub credits: Option<(u64, f64)>,
}

/// One allowlisted organization (or `other`) on one plan at `now`.
#[derive(Debug, Clone, PartialEq)]
pub struct OrgFigures {
    pub plan: PlanId,
    pub org: String,
    pub windows: [WindowCounts; 4],
}

/// Every figure at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub now: i64,
    pub series: Vec<SeriesFigures>,
    pub plans: Vec<PlanFigures>,
    /// Per plan × allowlisted organization and `other`; empty without an
    /// allowlist.
    pub orgs: Vec<OrgFigures>,
    /// Clocks of tickets with no plan or no mapped severity, per metric
    /// name.
    pub unassigned: BTreeMap<String, u64>,
}

/// The configured series: plan × severity × metric with a real target.
pub fn configured_series(policy: &Policy) -> Vec<SeriesKey> {
    let mut out = Vec::new();
    for (plan, p) in policy.plans.iter().enumerate() {
        for severity in 0..policy.severities.len() {
            for metric in 0..policy.metrics.len() {
                if p.target(severity, metric)
                    .is_some_and(|t| !matches!(t.amount, TargetAmount::None))
                {
                    out.push(SeriesKey {
                        plan,
                        severity,
                        metric,
                    });
                }
            }
        }
    }
    out
}

/// Business seconds from `now` to `due` on the calendar of the series'
/// target, negative once past due (wall-clock seconds when the series has
/// no target): what the exposition's imminent-breach gauges and the JSON
/// API's `business_seconds_remaining` both say.
pub fn business_seconds_left(policy: &Policy, key: SeriesKey, due: i64, now: i64) -> i64 {
    let calendar = policy
        .plans
        .get(key.plan)
        .and_then(|p| p.target(key.severity, key.metric))
        .map(|t| &t.calendar);
    let signed = if now <= due {
        calendar.and_then(|c| c.business_seconds(now, due).ok())
    } else {
        calendar.and_then(|c| c.business_seconds(due, now).ok().map(|x| -x))
    };
    signed.unwrap_or(due - now)
}

/// The first instant of each window ending at `now`, for a plan.
fn window_starts(policy: &Policy, plan: PlanId, now: i64) -> [i64; 4] {
    let tz = policy
        .plans
        .get(plan)
        .map_or(chrono_tz::UTC, |p| p.calendar.timezone());
    let month = period_bounds(now, CreditPeriod::Month, tz).map_or(now, |b| b.0);
    let quarter = period_bounds(now, CreditPeriod::Quarter, tz).map_or(now, |b| b.0);
    [now - 7 * 86_400, now - 30 * 86_400, month, quarter]
}

/// Computes every figure at `now` (moving the live windows to `now`
/// first).
pub fn compute(policy: &Policy, live: &mut Live, now: i64) -> Figures {
    live.advance(policy, |plan| window_starts(policy, plan, now));
    let live = &*live;
    let keys = configured_series(policy);
    let mut starts_by_plan: HashMap<PlanId, [i64; 4]> = HashMap::new();
    // Series by a dense index (plan, severity, metric): the open-clock walk
    // below looks one up per clock.
    let (ns, nm) = (policy.severities.len(), policy.metrics.len());
    let dense = |k: &SeriesKey| (k.plan * ns + k.severity) * nm + k.metric;
    let mut slot: Vec<Option<usize>> = vec![None; policy.plans.len() * ns * nm];
    let mut series: Vec<SeriesFigures> = Vec::with_capacity(keys.len());
    for &key in &keys {
        starts_by_plan
            .entry(key.plan)
            .or_insert_with(|| window_starts(policy, key.plan, now));
        let totals = live.series_totals(key);
        let totals = totals.as_ref();
        let mut f = SeriesFigures {
            key,
            active: 0,
            paused: 0,
            met_total: totals.map_or(0, |t| t.met),
            breached_total: totals.map_or(0, |t| t.breached),
            excluded_total: totals.map_or(0, |t| t.excluded),
            windows: totals.map(|t| t.windows).unwrap_or_default(),
            soon: [0; 3],
            next_due: None,
            next_business_seconds: None,
            buckets: totals.map_or([0; FULFIL_BUCKETS.len() + 1], |t| t.buckets),
            fulfil_sum: totals.map_or(0.0, |t| t.fulfil_sum),
            exemplars: vec![None; FULFIL_BUCKETS.len() + 1],
        };
        if let Some(t) = totals {
            for (i, e) in t.exemplars.iter().enumerate() {
                f.exemplars[i] = e.as_ref().map(|(id, _, v)| (id.to_string(), *v));
            }
        }
        if let Some(x) = slot.get_mut(dense(&key)) {
            *x = Some(series.len());
        }
        series.push(f);
    }

    // Per-organization windows: every plan × allowed organization and
    // `other` exists, zero when quiet.
    let mut orgs: BTreeMap<(PlanId, String), [WindowCounts; 4]> = BTreeMap::new();
    if !live.organizations().is_empty() {
        for plan in 0..policy.plans.len() {
            for org in live
                .organizations()
                .iter()
                .map(|o| o.to_string())
                .chain([super::live::OTHER_ORG.to_string()])
            {
                let w = live.org_windows(plan, &org);
                orgs.insert((plan, org), w);
            }
        }
    }

    // Open clocks: what time has done to them since they were computed.
    let mut late_credit: HashMap<super::live::CreditKey, u64> = HashMap::new();
    for (_source, open) in live.open_clocks() {
        let clock = &open.clock;
        let Some(key) = clock.key() else { continue };
        let Some(f) = slot
            .get(dense(&key))
            .copied()
            .flatten()
            .and_then(|i| series.get_mut(i))
        else {
            continue;
        };
        match (clock.state, clock.due_at) {
            (ClockState::Paused, _) | (ClockState::Active, None) => f.paused += 1,
            (ClockState::Active, Some(due)) if now > due => {
                // Breached since it was computed: counted from its due.
                f.breached_total += 1;
                let starts = starts_by_plan.get(&key.plan).copied().unwrap_or([now; 4]);
                let label = if live.organizations().is_empty() {
                    None
                } else {
                    Some(match &open.organization {
                        Some(o) if live.organizations().contains(o) => o.to_string(),
                        _ => super::live::OTHER_ORG.to_string(),
                    })
                };
                for (w, &start) in starts.iter().enumerate() {
                    if clock.start >= start.div_euclid(START_BUCKET_SECONDS) * START_BUCKET_SECONDS
                    {
                        f.windows[w].decided += 1;
                        if let Some(o) = label
                            .as_ref()
                            .and_then(|l| orgs.get_mut(&(key.plan, l.clone())))
                        {
                            o[w].decided += 1;
                        }
                    }
                }
                if let Some(org) = &open.organization {
                    if let Some(ck) = credit_key(policy, key, open.created_at, org) {
                        *late_credit.entry(ck).or_default() += 1;
                    }
                }
            }
            (ClockState::Active, Some(due)) => {
                f.active += 1;
                let left = business_seconds_left(policy, key, due, now);
                for (i, &(_, horizon)) in SOON.iter().enumerate() {
                    if left <= horizon {
                        f.soon[i] += 1;
                    }
                }
                f.next_due = Some(f.next_due.map_or(due, |d| d.min(due)));
                f.next_business_seconds =
                    Some(f.next_business_seconds.map_or(left, |d| d.min(left)));
            }
            _ => {}
        }
    }

    let mut plans = Vec::new();
    for (plan_id, plan) in policy.plans.iter().enumerate() {
        let mut windows = [WindowCounts::default(); 4];
        for f in series.iter().filter(|f| f.key.plan == plan_id) {
            for (w, c) in f.windows.iter().enumerate() {
                windows[w].met += c.met;
                windows[w].decided += c.decided;
            }
        }
        let credits = plan.credits.and_then(|table_id| {
            let table = policy.credits.get(table_id)?;
            let (period, _) = period_bounds(now, table.period, plan.calendar.timezone())?;
            let mut owed = (0u64, 0.0f64);
            let mut per_org: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
            for ((t, p, org, from), counts) in live.credits() {
                if *t == table_id && *p == plan_id && *from == period {
                    let e = per_org.entry(org).or_default();
                    e.0 += counts.events;
                    e.1 += counts.violations;
                }
            }
            for ((t, p, org, from), n) in &late_credit {
                if *t == table_id && *p == plan_id && *from == period {
                    let e = per_org.entry(org).or_default();
                    e.0 += n;
                    e.1 += n;
                }
            }
            for (events, violations) in per_org.values() {
                if *events == 0 {
                    continue;
                }
                let (credit, _) = table.credit_for(*violations, *events);
                if credit > 0.0 {
                    owed.0 += 1;
                    owed.1 += credit;
                }
            }
            Some(owed)
        });
        plans.push(PlanFigures {
            plan: plan_id,
            objective: plan.objective,
            windows,
            credits,
        });
    }

    let unassigned = live
        .unassigned()
        .into_iter()
        .filter_map(|(m, n)| Some((policy.metrics.get(m)?.name.clone(), n)))
        .collect();
    Figures {
        now,
        series,
        plans,
        orgs: orgs
            .into_iter()
            .map(|((plan, org), windows)| OrgFigures { plan, org, windows })
            .collect(),
        unassigned,
    }
}

/// Share of the error budget left: 1 with no breach, 0 at exactly the
/// allowed share, negative past it.
pub fn budget_remaining(w: &WindowCounts, objective: f64) -> f64 {
    let breached = w.decided - w.met;
    if breached == 0 {
        return 1.0;
    }
    let allowed = (1.0 - objective) * w.decided as f64;
    if allowed <= 0.0 {
        return f64::NEG_INFINITY;
    }
    1.0 - breached as f64 / allowed
}

/// Breach share over the allowed share; 0 with nothing decided.
pub fn burn_rate(w: &WindowCounts, objective: f64) -> f64 {
    if w.decided == 0 {
        return 0.0;
    }
    let share = (w.decided - w.met) as f64 / w.decided as f64;
    let allowed = 1.0 - objective;
    if allowed <= 0.0 {
        return if share > 0.0 { f64::INFINITY } else { 0.0 };
    }
    share / allowed
}
