//! `Breached clocks`: every clock that started in the month and breached,
//! a row each.

use std::fmt::Write;

use super::format::{cell, local, metric_name, plan_name, severity_name, target_text, ticket_link};
use crate::calendar::format_seconds;
use crate::policy::Config;
use crate::report::figures::Breach;
use crate::report::gather::Dataset;

pub(super) fn breaches(out: &mut String, config: &Config, data: &Dataset, list: &[Breach]) {
    let policy = &config.policy;
    let _ = writeln!(out, "## Breached clocks");
    let _ = writeln!(out);
    if list.is_empty() {
        let _ = writeln!(out, "No clock that started in the month breached.");
        let _ = writeln!(out);
        return;
    }
    let _ = writeln!(
        out,
        "{} breached clock(s). Over by: business time past the target on the target's calendar (at the cut-off for a clock still open).",
        list.len()
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| Ticket | Customer | Plan | Severity | Metric | Started | Target | Over by | Paused time | Severity changed |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---:|---|---|");
    for b in list {
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
                format!(" ({})", cell(&t.source))
            } else {
                String::new()
            },
            t.organization
                .as_ref()
                .map_or("-".to_string(), |o| cell(&o.label())),
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
