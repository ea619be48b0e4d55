//! `Data quality`: tickets on no plan, unmapped priorities, unknown
//! authors, inconsistent tickets, skipped helpdesk values, polling gaps and
//! data that arrived after the month closed.

use std::fmt::Write;

use super::format::{cell, local, ticket_link};
use crate::calendar::format_seconds;
use crate::policy::Config;
use crate::report::figures::Figures;
use crate::report::gather::Dataset;
use crate::time::format_instant;

pub(super) fn quality(out: &mut String, config: &Config, data: &Dataset, fig: &Figures) {
    let policy = &config.policy;
    let q = &fig.quality;
    let _ = writeln!(out, "## Data quality");
    let _ = writeln!(out);
    let ids = |list: &[usize]| -> String {
        list.iter()
            .map(|&i| ticket_link(&data.tickets[i]))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if q.no_plan.is_empty() {
        let _ = writeln!(out, "- Tickets on no plan: none.");
    } else {
        let _ = writeln!(
            out,
            "- Tickets on no plan ({}; their clocks are counted as excluded): {}.",
            q.no_plan.len(),
            ids(&q.no_plan)
        );
    }
    if q.unmapped.is_empty() {
        let _ = writeln!(out, "- Unmapped priorities: none.");
    } else {
        let fallback = policy
            .default_severity
            .map_or("no severity: their clocks are excluded".to_string(), |s| {
                format!("mapped to the default severity `{}`", policy.severities[s])
            });
        let _ = writeln!(out, "- Unmapped priorities ({fallback}):");
        for (value, list) in &q.unmapped {
            let _ = writeln!(
                out,
                "  - `{}` on {} ticket(s): {}",
                cell(value),
                list.len(),
                ids(list)
            );
        }
    }
    if q.missing_priority.is_empty() {
        let _ = writeln!(out, "- Tickets without a priority: none.");
    } else {
        let fallback = policy
            .default_severity
            .map_or("no severity: their clocks are excluded".to_string(), |s| {
                format!("on the default severity `{}`", policy.severities[s])
            });
        let _ = writeln!(
            out,
            "- Tickets without a priority ({}, {fallback}): {}.",
            q.missing_priority.len(),
            ids(&q.missing_priority)
        );
    }
    if q.unknown_authors.is_empty() {
        let _ = writeln!(
            out,
            "- Comments by authors missing from the helpdesk's users: none."
        );
    } else {
        let _ = writeln!(
            out,
            "- Comments by authors missing from the helpdesk's users (deleted or API users; such a comment counts for no clock) on {} ticket(s): {}.",
            q.unknown_authors.len(),
            q.unknown_authors
                .iter()
                .map(|&i| format!(
                    "{} ({})",
                    ticket_link(&data.tickets[i]),
                    data.tickets[i].unknown_author_comments
                ))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if q.inconsistent.is_empty() {
        let _ = writeln!(
            out,
            "- Tickets whose events disagree with the helpdesk's ticket record: none."
        );
    } else {
        let _ = writeln!(
            out,
            "- Tickets whose events disagree with the helpdesk's ticket record ({}; a ticket the record shows solved is counted solved at its last update):",
            q.inconsistent.len()
        );
        for &i in &q.inconsistent {
            let t = &data.tickets[i];
            let what: Vec<String> = t
                .disagreements
                .iter()
                .map(|d| {
                    format!(
                        "{} `{}` in events, `{}` in the record",
                        d.field,
                        cell(d.events.as_deref().unwrap_or("(none)")),
                        cell(d.record.as_deref().unwrap_or("(none)"))
                    )
                })
                .collect();
            let _ = writeln!(out, "  - {}: {}", ticket_link(t), what.join("; "));
        }
    }
    let named = |kind: &str| -> Vec<String> {
        data.notes
            .iter()
            .filter(|(_, n)| n.kind == kind)
            .map(|(src, n)| format!("`{}` ({})", cell(&n.name), cell(src)))
            .collect()
    };
    let ignored = named("ignored_event");
    if ignored.is_empty() {
        let _ = writeln!(out, "- Helpdesk records read past: none.");
    } else {
        let _ = writeln!(
            out,
            "- Helpdesk records read past (kinds that change nothing an SLA reads): {}.",
            ignored.join(", ")
        );
    }
    let unmapped: Vec<String> = data
        .notes
        .iter()
        .filter_map(|(src, n)| {
            let field = n.kind.strip_prefix("unmapped_")?;
            Some(format!("{field} `{}` ({})", cell(&n.name), cell(src)))
        })
        .collect();
    if unmapped.is_empty() {
        let _ = writeln!(out, "- Helpdesk values skipped: none.");
    } else {
        let _ = writeln!(
            out,
            "- Helpdesk values skipped (no status they count as; map a custom status under the source's `custom_statuses`): {}.",
            unmapped.join(", ")
        );
    }
    // Written only when a helpdesk reported any (Freshdesk: tickets with no
    // exported history, days whose history export had expired).
    let approximated = named("approximated_history");
    if !approximated.is_empty() {
        let _ = writeln!(
            out,
            "- Tickets whose status history is approximated from the helpdesk's last-value stats (it kept no history for them; their clocks can differ from what happened): {}.",
            approximated.join(", ")
        );
    }
    let missing = named("missing_activities_export");
    if !missing.is_empty() {
        let _ = writeln!(
            out,
            "- Days whose ticket history the helpdesk no longer had (their status and priority changes are missing): {}.",
            missing.join(", ")
        );
    }
    if q.gaps.is_empty() && q.never_polled.is_empty() {
        let _ = writeln!(
            out,
            "- Gaps in polling: none (no longer than the threshold between completed polls)."
        );
    } else {
        let _ = writeln!(out, "- Gaps in polling:");
        for s in &q.never_polled {
            let _ = writeln!(
                out,
                "  - `{}`: no completed poll recorded; freshness unknown.",
                cell(s)
            );
        }
        for g in &q.gaps {
            let threshold = data
                .polls
                .iter()
                .find(|p| p.source == g.source)
                .map_or(0, |p| p.gap_threshold);
            let _ = writeln!(
                out,
                "  - `{}`: no completed poll from {} to {} ({}; threshold {}).",
                cell(&g.source),
                local(g.from, data.timezone),
                local(g.to, data.timezone),
                format_seconds(g.to - g.from),
                format_seconds(threshold)
            );
        }
    }
    if q.late.is_empty() {
        let _ = writeln!(out, "- Data that arrived after the month closed: none.");
    } else {
        let (_, end) = data.month.bounds(data.timezone);
        let _ = writeln!(
            out,
            "- Data that arrived after the month closed ({}): {} ticket(s) changed in the store after {}: {}. Their figures here include that data up to the cut-off; this is a re-issue of any earlier issue of the report.",
            local(end, data.timezone),
            q.late.len(),
            format_instant(end),
            ids(&q.late)
        );
    }
    let _ = writeln!(out);
}
