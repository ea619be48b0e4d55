//! `Data quality`: tickets on no plan, unmapped priorities, unknown
//! authors, inconsistent tickets, skipped helpdesk values, polling gaps and
//! data that arrived after the month closed.

use std::fmt::Write;

use super::format::{cell, local, more, short, ticket_link};
use super::{EXAMPLES_PER_LINE, ITEMS_PER_LIST, NAME_CHARS};
use crate::calendar::format_seconds;
use crate::policy::Config;
use crate::report::figures::Figures;
use crate::report::gather::Dataset;
use crate::time::format_instant;

pub(super) fn quality(out: &mut String, config: &Config, data: &Dataset, fig: &Figures, csv: &str) {
    let policy = &config.policy;
    let q = &fig.quality;
    let _ = writeln!(out, "## Data quality");
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Each finding names up to {EXAMPLES_PER_LINE} example tickets; every ticket of every finding is in [{csv}]({csv})."
    );
    let _ = writeln!(out);
    // Up to EXAMPLES_PER_LINE linked tickets, and how many more.
    let ids = |list: &[usize]| -> String {
        let shown: Vec<String> = list
            .iter()
            .take(EXAMPLES_PER_LINE)
            .map(|&i| ticket_link(&data.tickets[i]))
            .collect();
        format!("{}{}", shown.join(", "), more(shown.len(), list.len()))
    };
    if q.no_plan.is_empty() {
        let _ = writeln!(out, "- Tickets on no plan: none.");
    } else {
        let _ = writeln!(
            out,
            "- Tickets on no plan ({}; their clocks are counted as excluded):\n  - {}.",
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
        let _ = writeln!(
            out,
            "- Unmapped priorities ({} value(s), {fallback}):",
            q.unmapped.len()
        );
        // The values on the most tickets first.
        let mut values: Vec<(&String, &Vec<usize>)> = q.unmapped.iter().collect();
        values.sort_by_key(|(_, list)| std::cmp::Reverse(list.len()));
        for (value, list) in values.iter().take(ITEMS_PER_LIST) {
            let _ = writeln!(
                out,
                "  - `{}` on {} ticket(s): {}",
                short(value, NAME_CHARS),
                list.len(),
                ids(list)
            );
        }
        if values.len() > ITEMS_PER_LIST {
            let _ = writeln!(
                out,
                "  - {} more value(s) on {} ticket(s).",
                values.len() - ITEMS_PER_LIST,
                values
                    .iter()
                    .skip(ITEMS_PER_LIST)
                    .map(|(_, l)| l.len())
                    .sum::<usize>()
            );
        }
    }
    if q.missing_priority.is_empty() {
        let _ = writeln!(out, "- Tickets without a priority: none.");
    } else {
        let fallback = policy.default_severity.map_or(
            "they have no severity, so their clocks are excluded".to_string(),
            |s| {
                format!(
                    "their clocks are counted under the default severity `{}`",
                    policy.severities[s]
                )
            },
        );
        let _ = writeln!(
            out,
            "- Tickets without a priority ({}; the priority is missing: never set in its events, and no severity assigned; {fallback}):\n  - {}.",
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
            "- Comments by authors missing from the helpdesk's users (deleted or API users; such a comment counts for no clock) on {} ticket(s), with how many:\n  - {}.",
            q.unknown_authors.len(),
            q.unknown_authors
                .iter()
                .take(EXAMPLES_PER_LINE)
                .map(|&i| format!(
                    "{} ({})",
                    ticket_link(&data.tickets[i]),
                    data.tickets[i].unknown_author_comments
                ))
                .collect::<Vec<_>>()
                .join(", ")
                + &more(EXAMPLES_PER_LINE, q.unknown_authors.len())
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
        for &i in q.inconsistent.iter().take(ITEMS_PER_LIST) {
            let t = &data.tickets[i];
            let what: Vec<String> = t
                .disagreements
                .iter()
                .map(|d| {
                    // A value the helpdesk never set is missing, not a
                    // value called "none".
                    let value = |v: &Option<String>| {
                        v.as_deref().map_or("missing".to_string(), |v| {
                            format!("`{}`", short(v, NAME_CHARS))
                        })
                    };
                    format!(
                        "{} {} in events, {} in the record",
                        d.field,
                        value(&d.events),
                        value(&d.record)
                    )
                })
                .collect();
            let _ = writeln!(out, "  - {}: {}", ticket_link(t), what.join("; "));
        }
        if q.inconsistent.len() > ITEMS_PER_LIST {
            let _ = writeln!(
                out,
                "  - and {} more ticket(s).",
                q.inconsistent.len() - ITEMS_PER_LIST
            );
        }
    }
    // Up to ITEMS_PER_LIST of a list of notes, and how many more.
    let capped = |list: Vec<String>| -> String {
        let n = list.len();
        let shown: Vec<String> = list.into_iter().take(ITEMS_PER_LIST).collect();
        format!("{}{}", shown.join(", "), more(shown.len(), n))
    };
    let named = |kind: &str| -> Vec<String> {
        data.notes
            .iter()
            .filter(|(_, n)| n.kind == kind)
            .map(|(src, n)| {
                format!(
                    "`{}` ({})",
                    short(&n.name, NAME_CHARS),
                    short(src, NAME_CHARS)
                )
            })
            .collect()
    };
    let ignored = named("ignored_event");
    if ignored.is_empty() {
        let _ = writeln!(out, "- Helpdesk records read past: none.");
    } else {
        let _ = writeln!(
            out,
            "- Helpdesk records read past (kinds that change nothing an SLA reads): {}.",
            capped(ignored)
        );
    }
    let unmapped: Vec<String> = data
        .notes
        .iter()
        .filter_map(|(src, n)| {
            let field = n.kind.strip_prefix("unmapped_")?;
            Some(format!(
                "{} `{}` ({})",
                short(field, NAME_CHARS),
                short(&n.name, NAME_CHARS),
                short(src, NAME_CHARS)
            ))
        })
        .collect();
    if unmapped.is_empty() {
        let _ = writeln!(out, "- Helpdesk values skipped: none.");
    } else {
        let _ = writeln!(
            out,
            "- Helpdesk values skipped (no status they count as; map a custom status under the source's `custom_statuses`): {}.",
            capped(unmapped)
        );
    }
    for (src, at) in &q.first_sync {
        let _ = writeln!(
            out,
            "- `{}` first synchronised on {}: its data up to then came in that first backfill (not late), and no poll was missed before it.",
            short(src, NAME_CHARS),
            local(*at, data.timezone)
        );
    }
    // Written only when a helpdesk reported any (Freshdesk: tickets with no
    // exported history, days whose history export had expired).
    let approximated = named(crate::sources::APPROXIMATED_HISTORY);
    if !approximated.is_empty() {
        let _ = writeln!(
            out,
            "- {} whose status history is approximated from the helpdesk's last-value stats (it kept no history for them; their clocks can differ from what happened): {}.",
            match approximated.len() {
                1 => "1 ticket".to_string(),
                n => format!("{n} tickets"),
            },
            capped(approximated)
        );
    }
    let missing = named("missing_activities_export");
    if !missing.is_empty() {
        let _ = writeln!(
            out,
            "- Days whose ticket history the helpdesk no longer had (their status and priority changes are missing): {}.",
            capped(missing)
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
        for g in q.gaps.iter().take(ITEMS_PER_LIST) {
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
        if q.gaps.len() > ITEMS_PER_LIST {
            let _ = writeln!(
                out,
                "  - and {} more gap(s).",
                q.gaps.len() - ITEMS_PER_LIST
            );
        }
    }
    if q.late.is_empty() {
        let _ = writeln!(out, "- Data that arrived after the month closed: none.");
    } else {
        let (_, end) = data.month.bounds(data.timezone);
        let reissue = match data.first_issue {
            Some(first) if !q.since_first_issue.is_empty() => format!(
                "; {} of them after the first issue of this report (cut-off {})",
                q.since_first_issue.len(),
                format_instant(first)
            ),
            Some(_) => "; none after the first issue of this report".to_string(),
            None => String::new(),
        };
        // Data of a source's first backfill is not late; a source with no
        // poll recorded has no first synchronisation to tell it by.
        let synced = if data.polls.iter().all(|p| p.first.is_some()) {
            " and after the first synchronisation"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "- Data that arrived after the month closed ({}){synced}: {} ticket(s) changed in the store since; their figures here include that data up to the cut-off{reissue}:\n  - {}.",
            local(end, data.timezone),
            q.late.len(),
            ids(&q.late)
        );
    }
    let _ = writeln!(out);
}
