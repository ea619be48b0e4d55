//! A `Plan` section per plan: its calendar and objective, a row per
//! severity and metric, excluded clocks by reason and the time-to-fulfil
//! distribution (charted).

use std::fmt::Write;

use super::format::{cell, dur, local, metric_name, pct, severity_name, target_text, NO_SEVERITY};
use crate::policy::Config;
use crate::report::figures::{PlanFigures, DISTRIBUTION_BUCKETS};
use crate::report::gather::Dataset;

pub(super) fn plan_section(out: &mut String, config: &Config, data: &Dataset, p: &PlanFigures) {
    let policy = &config.policy;
    let plan = &policy.plans[p.plan];
    let _ = writeln!(out, "## Plan `{}`", plan.name);
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Calendar `{}` ({}); month from {} to {}; objective {}{}.",
        plan.calendar_name,
        p.timezone.name(),
        local(p.bounds.0, p.timezone),
        local(p.bounds.1, p.timezone),
        pct(plan.objective),
        plan.credits
            .and_then(|c| policy.credits.get(c))
            .map_or(String::new(), |c| format!("; credit table `{}`", c.name))
    );
    let _ = writeln!(out);
    if p.month.total() == 0 {
        let _ = writeln!(
            out,
            "No clock of this plan started in {}.",
            data.month.long_name()
        );
        let _ = writeln!(out);
    }
    let _ = writeln!(
        out,
        "| Severity | Metric | Target | Counted | Met | Breached | Excluded | Open | No target | Attainment | Median | p90 |"
    );
    let _ = writeln!(
        out,
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for (s, m, t) in &p.rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&severity_name(policy, *s)),
            cell(metric_name(policy, *m)),
            target_text(plan, *s, *m),
            t.total(),
            t.met,
            t.breached,
            t.excluded,
            t.active + t.paused,
            t.no_target,
            pct(t.attainment()),
            dur(t.percentile(50.0)),
            dur(t.percentile(90.0)),
        );
    }
    let _ = writeln!(
        out,
        "| **all** | | | **{}** | **{}** | **{}** | **{}** | **{}** | **{}** | **{}** | {} | {} |",
        p.month.total(),
        p.month.met,
        p.month.breached,
        p.month.excluded,
        p.month.active + p.month.paused,
        p.month.no_target,
        pct(p.month.attainment()),
        dur(p.month.percentile(50.0)),
        dur(p.month.percentile(90.0)),
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Median and p90: business time to fulfil, of fulfilled clocks (nearest rank). Open: active or paused at the cut-off, not yet due."
    );
    let _ = writeln!(out);
    if p.missing_priority_clocks > 0 {
        let _ = writeln!(
            out,
            "{} clock(s) are on tickets whose priority is missing (never set in their events): {}.",
            p.missing_priority_clocks,
            policy.default_severity.map_or_else(
                || format!("they have no severity, shown as `{NO_SEVERITY}`, and are excluded"),
                |s| format!(
                    "they are counted under `{}`, the default severity",
                    cell(&policy.severities[s])
                )
            )
        );
        let _ = writeln!(out);
    }
    if p.rows.iter().any(|(s, _, t)| s.is_none() && t.total() > 0) {
        let _ = writeln!(
            out,
            "`{NO_SEVERITY}`: the ticket's priority is missing or maps to no severity, and there is no default severity (see the reasons below and Data quality)."
        );
        let _ = writeln!(out);
    }
    if !p.excluded.is_empty() {
        let _ = writeln!(out, "Excluded clocks by reason:");
        let _ = writeln!(out);
        for (reason, n) in &p.excluded {
            let _ = writeln!(out, "- {}: {n}", cell(reason));
        }
        let _ = writeln!(out);
    }
    let fulfilled: u64 = p.distribution.iter().sum();
    if fulfilled > 0 {
        let _ = writeln!(
            out,
            "Time to fulfil as a share of the target ({fulfilled} fulfilled clock(s) with a duration target):"
        );
        let _ = writeln!(out);
        let _ = writeln!(out, "```mermaid");
        let _ = writeln!(out, "xychart-beta");
        let _ = writeln!(
            out,
            "    title \"{}: time to fulfil, share of target\"",
            plan.name
        );
        let labels: Vec<String> = DISTRIBUTION_BUCKETS
            .iter()
            .map(|b| format!("\"{b}\""))
            .collect();
        let _ = writeln!(out, "    x-axis [{}]", labels.join(", "));
        let max = p.distribution.iter().copied().max().unwrap_or(0).max(1);
        let _ = writeln!(out, "    y-axis \"Clocks\" 0 --> {max}");
        let values: Vec<String> = p.distribution.iter().map(u64::to_string).collect();
        let _ = writeln!(out, "    bar [{}]", values.join(", "));
        let _ = writeln!(out, "```");
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "| Share of target | {} |",
            DISTRIBUTION_BUCKETS.join(" | ")
        );
        let _ = writeln!(out, "|---|{}", "---:|".repeat(DISTRIBUTION_BUCKETS.len()));
        let _ = writeln!(out, "| Clocks | {} |", values.join(" | "));
        let _ = writeln!(out);
    }
}
