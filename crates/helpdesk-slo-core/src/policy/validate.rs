//! Checks across sections, and the build of the resolved [`Policy`].
//!
//! Everything a single value can get wrong was caught while reading; what is
//! left are relations: duplicate names, settings that do not fit a metric's
//! kind, plans that could both match one ticket with no precedence between
//! them, credit tables out of order. Each error carries the key path of the
//! offending entry so the loader can point at its line.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::model::{CreditTable, CreditTier, Exclusion, Metric, Plan, Policy, Target};
use super::spec::{ConfigSpec, MatchSpec, MetricKindSpec, TargetAmount};
use crate::calendar::Calendar;

/// A relation error: where (key path) and what.
#[derive(Debug)]
pub(crate) struct PathError {
    pub path: Vec<String>,
    pub message: String,
}

fn err<T>(path: &[&str], message: impl Into<String>) -> Result<T, PathError> {
    Err(PathError {
        path: path.iter().map(|s| s.to_string()).collect(),
        message: message.into(),
    })
}

pub(crate) fn build_policy(
    spec: &ConfigSpec,
    calendars: &BTreeMap<String, Arc<Calendar>>,
) -> Result<Policy, PathError> {
    let mut policy = Policy::default();

    // Severities: unique names, each priority value mapped once.
    for (i, sev) in spec.severities.iter().enumerate() {
        if policy.severities.contains(&sev.name) {
            return err(
                &["severities"],
                format!("severity \"{}\" is listed twice", sev.name),
            );
        }
        policy.severities.push(sev.name.clone());
        for value in std::iter::once(&sev.name).chain(&sev.priorities) {
            let key = value.trim().to_lowercase();
            if let Some(&other) = policy.priorities.get(&key) {
                if other != i {
                    return err(
                        &["severities"],
                        format!(
                            "priority \"{value}\" maps to both \"{}\" and \"{}\"; each priority value belongs to one severity",
                            spec.severities[other].name, sev.name
                        ),
                    );
                }
            }
            policy.priorities.insert(key, i);
        }
    }
    policy.severity_field = spec.severity_field.clone();
    policy.default_severity = spec
        .default_severity
        .as_ref()
        .and_then(|s| policy.severities.iter().position(|n| n == s.as_str()));

    // Metrics: settings must fit the kind.
    for (name, m) in &spec.metrics {
        let at = ["metrics", name.as_str()];
        if m.on_reopen.is_some() && m.kind != MetricKindSpec::Resolution {
            return err(
                &at,
                format!(
                    "on_reopen applies only to kind resolution, not {}",
                    m.kind.as_str()
                ),
            );
        }
        match (m.kind, &m.group) {
            (MetricKindSpec::TierResponse, None) => {
                return err(&at, "kind tier_response needs `group`: the helpdesk group that is the tier (e.g. l2-experts)")
            }
            (k, Some(_)) if k != MetricKindSpec::TierResponse => {
                return err(&at, format!("group applies only to kind tier_response, not {}", k.as_str()))
            }
            _ => {}
        }
        if m.kind == MetricKindSpec::Resolution && m.count_internal_notes {
            return err(
                &at,
                "count_internal_notes does not apply to kind resolution (a solve ends it)",
            );
        }
        policy.metrics.push(Metric {
            name: name.clone(),
            kind: m.kind,
            pause_on: m.pause_on.clone(),
            on_reopen: m.on_reopen.unwrap_or_default(),
            group: m.group.clone(),
            count_internal_notes: m.count_internal_notes,
        });
    }

    for (id, m) in policy.metrics.iter().enumerate() {
        policy.by_kind[super::model::kind_index(m.kind)].push(id);
    }

    // Credit tables: rows in increasing order, each `from` or `above`.
    for (name, c) in &spec.credits {
        let at = ["credits", name.as_str(), "tiers"];
        let mut tiers = Vec::new();
        for row in &c.tiers {
            let (share, strict) = match (row.from, row.above) {
                (Some(f), None) => (f, false),
                (None, Some(a)) => (a, true),
                _ => return err(&at, "each row has exactly one of `from` (at least) or `above` (strictly more), and `credit`"),
            };
            if let Some(prev) = tiers.last() {
                let prev: &CreditTier = prev;
                let order = share.cmp_exact(prev.share);
                if order.is_lt() || (order.is_eq() && (prev.strict || !strict)) {
                    return err(
                        &at,
                        "rows must go from the lowest violation share to the highest",
                    );
                }
            }
            tiers.push(CreditTier {
                share,
                threshold: share.value(),
                strict,
                credit: row.credit.0,
            });
        }
        if tiers.is_empty() {
            return err(
                &at,
                "a credit table needs at least one row, such as {from: 4%, credit: 10%}",
            );
        }
        let metrics = c
            .metrics
            .iter()
            .filter_map(|m| policy.metric_id(m.as_str()))
            .collect();
        let exclude_severities = c
            .exclude_severities
            .iter()
            .filter_map(|s| policy.severities.iter().position(|n| n == s.as_str()))
            .collect();
        policy.credits.push(CreditTable {
            name: name.clone(),
            period: c.period,
            metrics,
            exclude_severities,
            only_created_in_business_hours: c.only_created_in_business_hours,
            tiers,
        });
    }

    // Plans.
    let mut defaults = Vec::new();
    for (name, p) in &spec.plans {
        let at = ["plans", name.as_str()];
        if p.default {
            defaults.push(name.as_str());
        }
        if p.matches.is_empty() && !p.default {
            return err(&at, "the plan matches no ticket: give `match` (organization_tags, organization_ids, organization_field, ticket_tags, ticket_field) or `default: true`");
        }
        // Attainment, the error budget and the alert rules divide by what
        // an objective leaves: 0% promises nothing, 100% leaves no budget.
        if let Some(o) = p.objective.filter(|o| !(o.0 > 0.0 && o.0 < 1.0)) {
            let shown = (o.0 * 1000.0).round() / 10.0;
            return err(
                &["plans", name.as_str(), "objective"],
                format!(
                    "objective {shown}%: give one above 0% and below 100%, such as 99.9% \
                     (100% leaves no error budget: one breach would use it all, and burn-rate \
                     alerts could not be computed)"
                ),
            );
        }
        let calendar = |n: &str| -> Arc<Calendar> {
            calendars
                .get(n)
                .cloned()
                .unwrap_or_else(|| Arc::new(Calendar::always(n)))
        };
        let mut targets = vec![vec![None; policy.metrics.len()]; policy.severities.len()];
        for (sev, per_metric) in &p.targets {
            let Some(s) = policy.severities.iter().position(|n| n == sev.as_str()) else {
                continue;
            };
            for (metric, t) in per_metric {
                let Some(m) = policy.metric_id(metric.as_str()) else {
                    continue;
                };
                let cal_name = t
                    .calendar
                    .as_ref()
                    .map_or(p.calendar.as_str(), |c| c.as_str());
                if let (TargetAmount::BusinessDays(_), MetricKindSpec::PeriodicUpdate) =
                    (t.amount, policy.metrics[m].kind)
                {
                    return err(
                        &["plans", name, "targets", sev.as_str(), metric.as_str()],
                        "business_days targets are for response and resolution; give a periodic update a duration such as 1h",
                    );
                }
                targets[s][m] = Some(Target {
                    amount: t.amount,
                    calendar_name: cal_name.to_string(),
                    calendar: calendar(cal_name),
                });
            }
        }
        policy.plans.push(Plan {
            name: name.clone(),
            matcher: p.matches.clone(),
            precedence: p.precedence.unwrap_or(0),
            calendar_name: p.calendar.as_str().to_string(),
            calendar: calendar(p.calendar.as_str()),
            objective: p.objective.map(|r| r.0),
            credits: p
                .credits
                .as_ref()
                .and_then(|c| policy.credits.iter().position(|t| t.name == c.as_str())),
            only_created_in_business_hours: p.only_created_in_business_hours,
            targets,
        });
    }
    if defaults.len() > 1 {
        return err(
            &["plans", defaults[1]],
            format!(
                "plans {} are all `default: true`; only one plan can be the default",
                defaults.join(", ")
            ),
        );
    }
    // Overlapping matches need distinct precedence.
    for (i, a) in policy.plans.iter().enumerate() {
        for b in &policy.plans[i + 1..] {
            let explicit = |n: &str| spec.plans.get(n).and_then(|p| p.precedence);
            if a.matcher.is_empty() || b.matcher.is_empty() || disjoint(&a.matcher, &b.matcher) {
                continue;
            }
            if explicit(&a.name).is_none()
                || explicit(&b.name).is_none()
                || a.precedence == b.precedence
            {
                return err(
                    &["plans", b.name.as_str()],
                    format!(
                        "plans \"{}\" and \"{}\" can both match one ticket (an organization or ticket can carry both criteria); give each a different `precedence` (higher wins)",
                        a.name, b.name
                    ),
                );
            }
        }
    }
    // Match order: highest precedence first, then by name (stable).
    policy.plans.sort_by(|a, b| {
        b.precedence
            .cmp(&a.precedence)
            .then_with(|| a.name.cmp(&b.name))
    });
    policy.default_plan = policy
        .plans
        .iter()
        .position(|p| spec.plans.get(&p.name).is_some_and(|s| s.default));

    // Exclusions.
    for (i, x) in spec.exclusions.iter().enumerate() {
        let at = ["exclusions"];
        let window = match (x.from, x.to) {
            (Some(f), Some(t)) if f.0 < t.0 => Some((f.0, t.0)),
            (Some(_), Some(_)) => {
                return err(
                    &at,
                    format!(
                        "exclusion {} (\"{}\"): `from` must be before `to`",
                        i + 1,
                        x.reason
                    ),
                )
            }
            (None, None) => None,
            _ => {
                return err(
                    &at,
                    format!(
                        "exclusion {} (\"{}\"): give both `from` and `to`, or neither",
                        i + 1,
                        x.reason
                    ),
                )
            }
        };
        let ex = Exclusion {
            reason: x.reason.clone(),
            window,
            ticket_tags: x.ticket_tags.clone(),
            ticket_field: x.ticket_field.clone(),
            plans: x
                .plans
                .iter()
                .filter_map(|p| policy.plan_id(p.as_str()))
                .collect(),
            severities: x
                .severities
                .iter()
                .filter_map(|s| policy.severities.iter().position(|n| n == s.as_str()))
                .collect(),
            metrics: x
                .metrics
                .iter()
                .filter_map(|m| policy.metric_id(m.as_str()))
                .collect(),
        };
        if ex.window.is_none()
            && ex.ticket_tags.is_empty()
            && ex.ticket_field.is_none()
            && ex.plans.is_empty()
            && ex.severities.is_empty()
            && ex.metrics.is_empty()
        {
            return err(&at, format!("exclusion {} (\"{}\") matches everything; give from/to, ticket_tags, ticket_field, plans, severities or metrics", i + 1, x.reason));
        }
        policy.exclusions.push(ex);
    }
    Ok(policy)
}

/// Whether no ticket can match both: each matches on one single-valued key
/// (organization id, or the same field) with disjoint values.
fn disjoint(a: &MatchSpec, b: &MatchSpec) -> bool {
    let lower = |v: &[String]| v.iter().map(|s| s.to_lowercase()).collect::<Vec<_>>();
    let only_ids = |m: &MatchSpec| {
        m.organization_tags.is_empty()
            && m.ticket_tags.is_empty()
            && m.organization_field.is_none()
            && m.ticket_field.is_none()
    };
    if only_ids(a) && only_ids(b) {
        return !a
            .organization_ids
            .iter()
            .any(|id| b.organization_ids.contains(id));
    }
    let single = |m: &MatchSpec| -> Option<(bool, String, Vec<String>)> {
        let simple = m.organization_tags.is_empty()
            && m.ticket_tags.is_empty()
            && m.organization_ids.is_empty();
        match (&m.organization_field, &m.ticket_field) {
            (Some(f), None) if simple => Some((true, f.name.clone(), lower(&f.values))),
            (None, Some(f)) if simple => Some((false, f.name.clone(), lower(&f.values))),
            _ => None,
        }
    };
    match (single(a), single(b)) {
        (Some((oa, na, va)), Some((ob, nb, vb))) if oa == ob && na == nb => {
            !va.iter().any(|v| vb.contains(v))
        }
        _ => false,
    }
}

/// The `reports:` section, with file paths resolved against `base` (the
/// config file's folder).
pub(crate) fn build_reports(
    spec: &ConfigSpec,
    base: &std::path::Path,
) -> Result<Option<super::schedule::ReportSettings>, PathError> {
    let Some(r) = &spec.reports else {
        return Ok(None);
    };
    let timezone = r.timezone.map_or(chrono_tz::UTC, |z| z.0);
    let schedule = match &r.schedule {
        Some(c) => Some(
            super::schedule::Schedule::parse(&c.0, timezone)
                .or_else(|m| err(&["reports", "schedule"], m))?,
        ),
        None => None,
    };
    let mut seen: Vec<String> = Vec::new();
    for c in &r.customers {
        let key = c.trim().to_lowercase();
        if key.is_empty() {
            return err(
                &["reports", "customers"],
                "a customer is an organization id or name; this one is empty",
            );
        }
        if seen.contains(&key) {
            return err(
                &["reports", "customers"],
                format!("customer \"{c}\" is listed twice; each customer gets one report"),
            );
        }
        seen.push(key);
    }
    if r.out.as_ref().is_some_and(|o| o.as_os_str().is_empty()) {
        return err(
            &["reports", "out"],
            "out is empty; give the folder reports are written to, such as reports/",
        );
    }
    Ok(Some(super::schedule::ReportSettings {
        schedule,
        timezone,
        out: r.out.as_ref().map(|o| base.join(o)),
        customers: r.customers.clone(),
    }))
}

/// The most organizations `exposition.max_organizations` may allow.
const MAX_ORGANIZATIONS_CAP: usize = 200;

/// `exposition.organizations`, checked: no duplicates, within the cap.
pub(crate) fn build_exposition(spec: &ConfigSpec) -> Result<Vec<String>, PathError> {
    let e = &spec.exposition;
    let max = e.max_organizations.unwrap_or(20);
    if max > MAX_ORGANIZATIONS_CAP {
        return err(
            &["exposition", "max_organizations"],
            format!(
                "{max} is more than {MAX_ORGANIZATIONS_CAP}; every organization adds a series per \
                 plan and window, so keep the allowlist to the customers people watch"
            ),
        );
    }
    let mut ids: Vec<String> = Vec::new();
    for id in &e.organizations {
        let id = id.text();
        if id.trim().is_empty() || id.eq_ignore_ascii_case("other") {
            return err(
                &["exposition", "organizations"],
                format!("\"{id}\" is not an organization id (\"other\" names everyone else)"),
            );
        }
        if ids.contains(&id) {
            return err(
                &["exposition", "organizations"],
                format!("organization {id} is listed twice"),
            );
        }
        ids.push(id);
    }
    if ids.len() > max {
        return err(
            &["exposition", "organizations"],
            format!(
                "{} organizations, more than max_organizations ({max}); raise \
                 exposition.max_organizations (at most {MAX_ORGANIZATIONS_CAP}) or list fewer",
                ids.len()
            ),
        );
    }
    Ok(ids)
}
