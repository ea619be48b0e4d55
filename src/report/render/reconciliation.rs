//! `Reconciliation`: our clocks beside the helpdesk's own SLA record, for
//! the month's tickets of a source that reads one (Zendesk with
//! `ticket_metric_events: true`): agreement per plan and metric, the count
//! of each cause, and the largest differences with ticket links and their
//! causes (capped at [`super::ITEMS_PER_LIST`]; `helpdesk-slo reconcile`
//! lists them all). Absent when no source has such a record.

use std::fmt::Write as _;

use super::format::{cell, short};
use super::{ITEMS_PER_LIST, NAME_CHARS};
use crate::reconcile::aspect_value;
use crate::reconcile::store::{Found, Summary};

fn link(f: &Found) -> String {
    match &f.url {
        Some(u) => format!(
            "[#{}]({})",
            cell(&f.ticket),
            u.replace(' ', "%20").replace(')', "%29")
        ),
        None => format!("#{}", cell(&f.ticket)),
    }
}

pub(super) fn reconciliation(out: &mut String, s: &Summary) {
    let _ = writeln!(out, "## Reconciliation with the helpdesk's own SLA record");
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Our clocks beside the helpdesk's own record of the same clock instances, for the {} tickets of the month it has a record of ({} read); `helpdesk-slo reconcile` lists every difference, and docs/reconcile.md explains each outcome and cause.",
        s.recorded_tickets, s.tickets
    );
    let _ = writeln!(out);
    if s.rows.is_empty() {
        let _ = writeln!(out, "No clock instance to compare this month.");
        let _ = writeln!(out);
        return;
    }
    let _ = writeln!(
        out,
        "| Source | Plan | Metric | Agree | Differ | Missing ours | Missing theirs | Agreement |"
    );
    let _ = writeln!(out, "|---|---|---|---:|---:|---:|---:|---:|");
    for r in &s.rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            short(&r.source, NAME_CHARS),
            short(&r.plan, NAME_CHARS),
            short(&r.metric, NAME_CHARS),
            r.agree,
            r.differ,
            r.missing_ours,
            r.missing_theirs,
            r.agreement_text()
        );
    }
    let _ = writeln!(out);
    if s.differences.is_empty() {
        let _ = writeln!(out, "Every compared clock agrees.");
        let _ = writeln!(out);
        return;
    }
    let causes: Vec<String> = s.causes.iter().map(|(c, n)| format!("`{c}` {n}")).collect();
    let _ = writeln!(out, "Causes: {}.", causes.join(", "));
    let _ = writeln!(out);
    let shown = s.differences.len().min(ITEMS_PER_LIST);
    let _ = writeln!(
        out,
        "The largest differences ({shown} of {}):",
        s.differences.len()
    );
    let _ = writeln!(out);
    for f in s.differences.iter().take(ITEMS_PER_LIST) {
        let c = &f.comparison;
        let what: Vec<String> = c
            .differences
            .iter()
            .map(|d| {
                format!(
                    "{} ours {}, theirs {}",
                    d.aspect.as_str(),
                    aspect_value(d.aspect, d.ours),
                    aspect_value(d.aspect, d.theirs)
                )
            })
            .collect();
        let why: Vec<String> = c
            .causes
            .iter()
            .map(|c| format!("`{}`: {}", c.kind.as_str(), cell(&c.detail)))
            .collect();
        let _ = writeln!(
            out,
            "- {} ({}, {} #{}): {}{}. {}",
            link(f),
            short(&f.plan, NAME_CHARS),
            short(&c.metric, NAME_CHARS),
            c.instance,
            c.outcome.as_str(),
            if what.is_empty() {
                String::new()
            } else {
                format!("; {}", what.join("; "))
            },
            why.join("; ")
        );
    }
    let _ = writeln!(out);
}
