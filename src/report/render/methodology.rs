//! `Methodology`: the calendars, how each metric's clock runs, how clocks
//! are counted and what is excluded.

use std::fmt::Write;

use chrono::Datelike;

use super::format::{cell, weekly_text};
use crate::calendar::format_seconds;
use crate::policy::spec::MetricKindSpec;
use crate::policy::Config;
use crate::report::figures::Figures;
use crate::report::gather::Dataset;

fn kind_text(config: &Config, m: usize) -> String {
    let metric = &config.policy.metrics[m];
    let what = match metric.kind {
        MetricKindSpec::FirstResponse => {
            "starts when the ticket is created; met by the first public agent reply".to_string()
        }
        MetricKindSpec::NextReply => "starts at the oldest unanswered requester message after a reply; met by the next public agent reply".to_string(),
        MetricKindSpec::PeriodicUpdate => "a window starts at each public agent reply while the ticket is unsolved; met by the next reply, or by a solve".to_string(),
        MetricKindSpec::Resolution => format!(
            "runs from creation to solve; a reopen {}",
            match metric.on_reopen {
                crate::policy::spec::OnReopen::Continue => "continues the same clock",
                crate::policy::spec::OnReopen::Restart => "starts a new clock",
            }
        ),
        MetricKindSpec::TierResponse => format!(
            "starts when the ticket reaches group `{}`; met by that group's first comment",
            metric.group.as_deref().unwrap_or("?")
        ),
    };
    let pauses = if metric.pause_on.is_empty() {
        "never paused".to_string()
    } else {
        format!(
            "paused while {}",
            metric
                .pause_on
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" or ")
        )
    };
    format!(
        "`{}` ({}): {what}; {pauses}",
        metric.name,
        metric.kind.as_str()
    )
}

pub(super) fn methodology(out: &mut String, config: &Config, data: &Dataset, fig: &Figures) {
    let policy = &config.policy;
    let _ = writeln!(out, "## Methodology");
    let _ = writeln!(out);
    let _ = writeln!(out, "Calendars (targets are business time on these):");
    let _ = writeln!(out);
    let mut names: Vec<&str> = Vec::new();
    for p in &fig.plans {
        let plan = &policy.plans[p.plan];
        names.push(plan.calendar_name.as_str());
        for t in plan.targets.iter().flatten().flatten() {
            names.push(t.calendar_name.as_str());
        }
    }
    names.sort_unstable();
    names.dedup();
    for name in names {
        let Some(cal) = config.calendars.get(name) else {
            continue;
        };
        let rules = cal.rules();
        let (first, last) = (data.month.first_day(), data.month.last_day());
        let holidays: Vec<String> = rules
            .holidays
            .range(first..=last)
            .map(|d| format!("{d} ({})", d.weekday()))
            .collect();
        let closures: Vec<String> = rules
            .closures
            .range(first..=last)
            .map(|(d, w)| {
                format!(
                    "{d} {}",
                    w.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "- `{name}`: {}, {}; 1d = {}; holidays in the month: {}{}.",
            rules.tz.name(),
            weekly_text(cal),
            format_seconds(cal.day_length()),
            if holidays.is_empty() {
                "none".to_string()
            } else {
                holidays.join(", ")
            },
            if closures.is_empty() {
                String::new()
            } else {
                format!("; closures: {}", closures.join("; "))
            }
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "Clocks:");
    let _ = writeln!(out);
    for m in 0..policy.metrics.len() {
        let _ = writeln!(out, "- {}.", kind_text(config, m));
    }
    let _ = writeln!(
        out,
        "- A clock is met when fulfilled by its due, breached when fulfilled later or still open past its due at the cut-off. A severity change re-targets open clocks from their start. Paused time never counts."
    );
    let _ = writeln!(
        out,
        "- Counting: a clock belongs to the month in which it started, in its plan's calendar time zone. Attainment = met / (met + breached); excluded, no-target and open clocks are counted but not in the ratio."
    );
    let mut excl: Vec<String> = policy
        .exclusions
        .iter()
        .map(|x| format!("\"{}\"", cell(&x.reason)))
        .collect();
    for p in &fig.plans {
        let plan = &policy.plans[p.plan];
        if plan.only_created_in_business_hours {
            excl.push(format!(
                "`{}`: tickets created outside its calendar's hours",
                plan.name
            ));
        }
    }
    if excl.is_empty() {
        let _ = writeln!(
            out,
            "- Exclusions: tickets on no plan, or with a priority no severity maps (and no default)."
        );
    } else {
        let _ = writeln!(
            out,
            "- Exclusions: {}; tickets on no plan, or with a priority no severity maps (and no default).",
            excl.join("; ")
        );
    }
    let _ = writeln!(
        out,
        "- Reproducible: every clock is evaluated from the stored ticket timelines at the data cut-off; the same store and config give this report byte for byte."
    );
}
