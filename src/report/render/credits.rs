//! `SLA credits`: per credit table, its period (month or quarter to date),
//! its tiers and what was earned.

use std::fmt::Write;

use super::format::{cell, local, metric_name, ratio, severity_name, short};
use super::{CUSTOMERS_PER_TABLE, NAME_CHARS};
use crate::engine::aggregate::CustomerCredit;
use crate::policy::model::CreditTier;
use crate::policy::spec::CreditPeriod;
use crate::policy::Config;
use crate::report::figures::CreditFigures;
use crate::report::gather::Dataset;

fn tier_text(tier: &CreditTier) -> String {
    format!(
        "{} {}: {} credit",
        if tier.strict { "above" } else { "from" },
        ratio(tier.threshold),
        ratio(tier.credit)
    )
}

/// The rows shown of a table: most credit first, then the highest
/// violation share, then by customer; at most [`CUSTOMERS_PER_TABLE`].
fn worst(cf: &CreditFigures) -> Vec<&(String, CustomerCredit)> {
    let mut rows: Vec<&(String, CustomerCredit)> = cf.rows.iter().collect();
    // Stable: equal rows keep the figures' order (customer, plan).
    rows.sort_by(|a, b| {
        b.1.credit
            .total_cmp(&a.1.credit)
            .then(b.1.violation_share.total_cmp(&a.1.violation_share))
    });
    rows.truncate(CUSTOMERS_PER_TABLE);
    rows
}

pub(super) fn credits(
    out: &mut String,
    config: &Config,
    data: &Dataset,
    list: &[CreditFigures],
    csv: &str,
) {
    let policy = &config.policy;
    let _ = writeln!(out, "## SLA credits");
    let _ = writeln!(out);
    if list.is_empty() {
        let _ = writeln!(out, "No plan in this report carries a credit table.");
        let _ = writeln!(out);
        return;
    }
    for cf in list {
        let table = &policy.credits[cf.table];
        let (label, state) = match cf.period {
            CreditPeriod::Quarter if cf.period_complete => (
                data.month.quarter_label(),
                "the quarter is complete: these are the quarter's figures".to_string(),
            ),
            CreditPeriod::Quarter => (
                format!("{} to date", data.month.quarter_label()),
                format!(
                    "quarter to date, {} through {}: provisional until the quarter ends",
                    data.month.quarter_start().first_day(),
                    data.month.last_day()
                ),
            ),
            _ => (data.month.long_name(), "the month".to_string()),
        };
        let _ = writeln!(out, "### `{}`: {label}", table.name);
        let _ = writeln!(out);
        let _ = writeln!(out, "Period: {state}.");
        let _ = writeln!(out);
        let plans: Vec<String> = cf
            .plans
            .iter()
            .map(|(p, tz, from, to)| {
                format!(
                    "`{}` ({} to {})",
                    policy.plans[*p].name,
                    local(*from, *tz),
                    local(*to, *tz)
                )
            })
            .collect();
        let _ = writeln!(out, "Plans on this table: {}.", plans.join(", "));
        let _ = writeln!(out);
        if cf.rows.is_empty() {
            let _ = writeln!(
                out,
                "No SLA event in the period for a customer on these plans."
            );
            let _ = writeln!(out);
        } else {
            let owed = cf.rows.iter().filter(|(_, c)| c.credit > 0.0).count();
            let events: u64 = cf.rows.iter().map(|(_, c)| c.events).sum();
            let violations: u64 = cf.rows.iter().map(|(_, c)| c.violations).sum();
            let shown = worst(cf);
            let which = if shown.len() < cf.rows.len() {
                format!("The {} owed the most are below", shown.len())
            } else {
                "Most credit first".to_string()
            };
            let _ = writeln!(
                out,
                "{} customer(s) with SLA events, {owed} owed a credit; {events} SLA events, {violations} violations in all. {which}; every customer is in [{csv}]({csv}).",
                cf.rows.len(),
            );
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "| Customer | Plan | SLA events | Violations | Violation % | Credit % | Rule |"
            );
            let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---|");
            for (label, c) in shown {
                let rule = match c.tier.and_then(|i| table.tiers.get(i)) {
                    Some(t) => tier_text(t),
                    None => "below every row: no credit".to_string(),
                };
                let _ = writeln!(
                    out,
                    "| {} | `{}` | {} | {} | {:.2}% | {} | {} |",
                    short(label, NAME_CHARS),
                    cell(&policy.plans[c.plan].name),
                    c.events,
                    c.violations,
                    c.violation_share * 100.0,
                    ratio(c.credit),
                    rule
                );
            }
            let _ = writeln!(out);
        }
        let metrics: Vec<&str> = table
            .metrics
            .iter()
            .map(|&m| metric_name(policy, m))
            .collect();
        let _ = writeln!(out, "How it is counted:");
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "- SLA events: met or breached clocks of {} on tickets created in the period, per organization; a violation is a breached one.",
            metrics
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut excluded: Vec<String> = Vec::new();
        if !table.exclude_severities.is_empty() {
            excluded.push(format!(
                "severity {}",
                table
                    .exclude_severities
                    .iter()
                    .map(|&s| format!("`{}`", severity_name(policy, Some(s))))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if table.only_created_in_business_hours {
            excluded.push("tickets created outside the plan's support hours".to_string());
        }
        let non_credit: Vec<String> = policy
            .plans
            .iter()
            .filter(|p| p.credits != Some(cf.table))
            .map(|p| format!("`{}`", p.name))
            .collect();
        if !non_credit.is_empty() {
            excluded.push(format!(
                "plans without this table ({})",
                non_credit.join(", ")
            ));
        }
        excluded.push("clocks excluded by the policy's exclusions, open clocks not yet due, and tickets with no organization".to_string());
        let _ = writeln!(out, "- Not counted: {}.", excluded.join("; "));
        let tiers: Vec<String> = table.tiers.iter().map(tier_text).collect();
        let _ = writeln!(
            out,
            "- Tiers (the highest row reached applies): {}.",
            tiers.join("; ")
        );
        let _ = writeln!(out);
    }
}
