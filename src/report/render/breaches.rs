//! `Breached clocks`: how many clocks that started in the month breached,
//! per plan, and the worst of them ([`BREACHES_PER_PLAN`] per plan, by
//! business time past the target); every one is in the breaches CSV file
//! beside the report.

use std::fmt::Write;

use super::format::{
    cell, local, metric_name, plan_name, severity_name, short, target_text, ticket_link,
};
use super::{BREACHES_PER_PLAN, NAME_CHARS};
use crate::calendar::format_seconds;
use crate::policy::Config;
use crate::report::figures::Breach;
use crate::report::gather::Dataset;

/// Per plan (in the list's order), the worst [`BREACHES_PER_PLAN`] of
/// `list`: most business time over the target first (a clock without a
/// duration target last), then in the list's order. With the plan's count.
pub(crate) fn worst_per_plan(list: &[Breach]) -> Vec<(Option<usize>, usize, Vec<&Breach>)> {
    let mut out: Vec<(Option<usize>, usize, Vec<&Breach>)> = Vec::new();
    for b in list {
        match out.last_mut() {
            Some((p, n, v)) if *p == b.clock.plan => {
                *n += 1;
                v.push(b);
            }
            _ => out.push((b.clock.plan, 1, vec![b])),
        }
    }
    for (_, _, v) in &mut out {
        // Stable: ties keep the list's order.
        v.sort_by_key(|b| std::cmp::Reverse(b.over_seconds.unwrap_or(i64::MIN)));
        v.truncate(BREACHES_PER_PLAN);
    }
    out
}

pub(super) fn breaches(
    out: &mut String,
    config: &Config,
    data: &Dataset,
    list: &[Breach],
    csv: &str,
) {
    let policy = &config.policy;
    let _ = writeln!(out, "## Breached clocks");
    let _ = writeln!(out);
    if list.is_empty() {
        let _ = writeln!(out, "No clock that started in the month breached.");
        let _ = writeln!(out);
        return;
    }
    let groups = worst_per_plan(list);
    let per_plan: Vec<String> = groups
        .iter()
        .map(|(p, n, _)| format!("`{}` {n}", cell(plan_name(policy, *p))))
        .collect();
    let shown: usize = groups.iter().map(|(_, _, v)| v.len()).sum();
    let _ = writeln!(
        out,
        "{} breached clock(s): {}.",
        list.len(),
        per_plan.join(", ")
    );
    let _ = writeln!(out);
    let which = if shown < list.len() {
        format!("The {BREACHES_PER_PLAN} worst per plan, most time over the target first")
    } else {
        "All of them, most time over the target first in each plan".to_string()
    };
    let _ = writeln!(
        out,
        "{which}; every breached clock is in [{csv}]({csv}). Over by: business time past the target on the target's calendar (at the cut-off for a clock still open)."
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| Ticket | Customer | Plan | Severity | Metric | Started | Target | Over by | Paused time | Severity changed |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---:|---|---|");
    for b in groups.iter().flat_map(|(_, _, v)| v) {
        let t = &data.tickets[b.ticket];
        let c = &b.clock;
        let tz = c
            .plan
            .and_then(|p| policy.plans.get(p))
            .map_or(data.timezone, |p| p.calendar.timezone());
        let target = c
            .plan
            .and_then(|p| policy.plans.get(p))
            .map_or("-".to_string(), |p| target_text(p, c.severity, c.metric));
        let over = match b.over_seconds {
            Some(s) => format_seconds(s),
            None => "-".to_string(),
        };
        let metric = if c.instance > 1 {
            format!("{} #{}", metric_name(policy, c.metric), c.instance)
        } else {
            metric_name(policy, c.metric).to_string()
        };
        let _ = writeln!(
            out,
            "| {}{} | {} | `{}` | {} | {} | {} | {} | {}{} | {} | {} |",
            ticket_link(t),
            if data.polls.len() > 1 {
                format!(" ({})", short(&t.source, NAME_CHARS))
            } else {
                String::new()
            },
            t.organization
                .as_ref()
                .map_or("-".to_string(), |o| short(&o.label(), NAME_CHARS)),
            cell(plan_name(policy, c.plan)),
            cell(&severity_name(policy, c.severity)),
            cell(&metric),
            local(c.start, tz),
            target,
            over,
            if b.still_open { " (still open)" } else { "" },
            if b.paused {
                format_seconds(c.paused_seconds)
            } else {
                "no".to_string()
            },
            if b.severity_changed { "yes" } else { "no" },
        );
    }
    let _ = writeln!(out);
}
