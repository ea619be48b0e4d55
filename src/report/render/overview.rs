//! The report's opening: the header (scope, month, data cut-off, config),
//! the `Summary` and the `Trend` (attainment per month, charted).

use std::fmt::Write;

use super::format::{cell, delta, objective_met, pct, plan_name};
use super::{CUTOFF_PREFIX, REISSUE_PREFIX};
use crate::policy::Config;
use crate::report::figures::{Figures, PlanFigures};
use crate::report::gather::{CutoffBasis, Dataset};
use crate::time::format_instant;

pub(super) fn header(out: &mut String, config: &Config, data: &Dataset, fig: &Figures) {
    let policy = &config.policy;
    let _ = writeln!(out, "# SLA report: {}", data.month.long_name());
    let _ = writeln!(out);
    let scope_plan = data.plan.map_or("all plans".to_string(), |p| {
        format!("plan `{}`", plan_name(policy, Some(p)))
    });
    let scope_customer = data
        .customer
        .as_ref()
        .map_or("all customers".to_string(), |c| {
            format!("customer {}", c.label())
        });
    let basis = match &data.cutoff_basis {
        CutoffBasis::Given => "given when the report was made".to_string(),
        CutoffBasis::LastPoll { source } => {
            format!("the last completed poll of `{source}`")
        }
        CutoffBasis::LatestData => {
            "no completed poll recorded: the latest event in the data".to_string()
        }
        CutoffBasis::MonthEnd => "no data: the month's end".to_string(),
    };
    let file = config.path.file_name().map_or_else(
        || config.path.display().to_string(),
        |f| f.to_string_lossy().into_owned(),
    );
    let _ = writeln!(out, "- **Scope:** {scope_plan}, {scope_customer}.");
    let _ = writeln!(
        out,
        "- **Month:** {} to {}, midnight to midnight in each plan's calendar time zone (tickets on no plan, polls and late data: {}).",
        data.month.first_day(),
        data.month.last_day(),
        data.timezone.name()
    );
    let _ = writeln!(
        out,
        "{CUTOFF_PREFIX}{} ({basis}). Open clocks are evaluated at this instant; nothing that happened after it is counted.",
        format_instant(data.cutoff)
    );
    let (_, end) = data.month.bounds(data.timezone);
    if data.cutoff < end {
        let _ = writeln!(
            out,
            "- **Incomplete:** the cut-off is before the month's end; figures cover the month up to the cut-off."
        );
    }
    // A re-issue only when data arrived after an issue of this report was
    // made: data of the first backfill, or that came before the first
    // issue, changes no figure anyone has read.
    if let Some(first) = data.first_issue {
        let n = fig.quality.since_first_issue.len();
        if n > 0 {
            let _ = writeln!(
                out,
                "{REISSUE_PREFIX}{}; data of {n} ticket(s) of this month arrived since (listed under Data quality), so figures may differ from that issue.",
                format_instant(first)
            );
        }
    }
    let _ = writeln!(
        out,
        "- **Config:** `{}` (hash `{}`).",
        cell(&file),
        config.hash
    );
    let _ = writeln!(out);
}

pub(super) fn summary(out: &mut String, config: &Config, data: &Dataset, fig: &Figures) {
    let policy = &config.policy;
    let prev = data.month.prev().long_name();
    let _ = writeln!(out, "## Summary");
    let _ = writeln!(out);
    let counted: u64 = fig.plans.iter().map(|p| p.month.total()).sum();
    let breached: u64 = fig.plans.iter().map(|p| p.month.breached).sum();
    let with_objective: Vec<&PlanFigures> = fig
        .plans
        .iter()
        .filter(|p| policy.plans[p.plan].objective.is_some() && p.month.decided() > 0)
        .collect();
    let met = with_objective
        .iter()
        .filter(|p| objective_met(&p.month, policy.plans[p.plan].objective) == "met")
        .count();
    if counted == 0 {
        let _ = writeln!(
            out,
            "No SLA clock started in {} for this scope.",
            data.month.long_name()
        );
    } else {
        let _ = writeln!(
            out,
            "In {}, **{met} of {} plan(s)** with decided clocks met their objective. {counted} clock(s) counted over {} ticket(s); {breached} breached.",
            data.month.long_name(),
            with_objective.len(),
            fig.month_tickets
        );
        let mut first = true;
        for p in &with_objective {
            let obj = policy.plans[p.plan].objective;
            if objective_met(&p.month, obj) != "met" {
                if first {
                    let _ = writeln!(out);
                    first = false;
                }
                let before = match p.previous.attainment() {
                    Some(_) => format!(
                        "{prev}: {}, {}",
                        pct(p.previous.attainment()),
                        delta(p.month.attainment(), p.previous.attainment())
                    ),
                    None => format!("{prev}: no decided clocks"),
                };
                let _ = writeln!(
                    out,
                    "- `{}` is below its objective: {} against {} ({before}).",
                    policy.plans[p.plan].name,
                    pct(p.month.attainment()),
                    pct(obj),
                );
            }
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| Plan | Attainment | Objective | Status | vs {prev} | Decided | Breached | Counted |"
    );
    let _ = writeln!(out, "|---|---:|---:|---|---|---:|---:|---:|");
    for p in &fig.plans {
        let plan = &policy.plans[p.plan];
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} | {} | {} |",
            cell(&plan.name),
            pct(p.month.attainment()),
            pct(plan.objective),
            objective_met(&p.month, plan.objective),
            delta(p.month.attainment(), p.previous.attainment()),
            p.month.decided(),
            p.month.breached,
            p.month.total()
        );
    }
    let _ = writeln!(out);
}

pub(super) fn trend(out: &mut String, config: &Config, fig: &Figures) {
    let policy = &config.policy;
    let Some(first) = fig.plans.first() else {
        return;
    };
    let _ = writeln!(out, "## Trend");
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Attainment per month (clocks counted in the month they started). Bars: attainment; line: objective. Months with no decided clock are left out of the charts."
    );
    let _ = writeln!(out);
    for p in &fig.plans {
        let plan = &policy.plans[p.plan];
        let points: Vec<(String, f64)> = p
            .trend
            .iter()
            .filter_map(|(m, t)| t.attainment().map(|a| (m.to_string(), a)))
            .collect();
        if points.is_empty() {
            continue;
        }
        let _ = writeln!(out, "```mermaid");
        let _ = writeln!(out, "xychart-beta");
        let _ = writeln!(out, "    title \"{}: attainment by month (%)\"", plan.name);
        let labels: Vec<String> = points.iter().map(|(m, _)| format!("\"{m}\"")).collect();
        let _ = writeln!(out, "    x-axis [{}]", labels.join(", "));
        let _ = writeln!(out, "    y-axis \"Attainment (%)\" 0 --> 100");
        let values: Vec<String> = points
            .iter()
            .map(|(_, a)| format!("{:.1}", a * 100.0))
            .collect();
        let _ = writeln!(out, "    bar [{}]", values.join(", "));
        if let Some(o) = plan.objective {
            let line: Vec<String> = points.iter().map(|_| format!("{:.1}", o * 100.0)).collect();
            let _ = writeln!(out, "    line [{}]", line.join(", "));
        }
        let _ = writeln!(out, "```");
        let _ = writeln!(out);
    }
    let months: Vec<String> = first.trend.iter().map(|(m, _)| m.to_string()).collect();
    let _ = writeln!(out, "| Plan | {} |", months.join(" | "));
    let _ = writeln!(out, "|---|{}", "---:|".repeat(months.len()));
    for p in &fig.plans {
        let cells: Vec<String> = p
            .trend
            .iter()
            .map(|(_, t)| {
                if t.decided() == 0 {
                    "n/a".to_string()
                } else {
                    format!("{} ({}/{})", pct(t.attainment()), t.met, t.decided())
                }
            })
            .collect();
        let _ = writeln!(
            out,
            "| `{}` | {} |",
            cell(&policy.plans[p.plan].name),
            cells.join(" | ")
        );
    }
    let _ = writeln!(out);
}
