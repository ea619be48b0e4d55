//! The values the report writes: percentages, ratios, business durations,
//! local instants, changes, names, targets, ticket links and weekly hours.

use chrono::{TimeZone, Utc};
use chrono_tz::Tz;

use crate::calendar::{format_seconds, Calendar};
use crate::engine::aggregate::Tally;
use crate::policy::model::Plan;
use crate::policy::spec::TargetAmount;
use crate::policy::Policy;
use crate::report::gather::TicketRecord;

/// A table cell: pipes escaped, newlines flattened.
pub(crate) fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// `95.0%`, or `n/a`.
pub(crate) fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".to_string(), |x| format!("{:.1}%", x * 100.0))
}

/// A ratio as written in a config: `4%`, `10.1%`.
pub(crate) fn ratio(x: f64) -> String {
    let s = format!("{:.2}", x * 100.0);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

pub(crate) fn dur(seconds: Option<i64>) -> String {
    seconds.map_or_else(|| "-".to_string(), format_seconds)
}

/// `2026-10-31 23:30 PDT`.
pub(crate) fn local(t: i64, tz: Tz) -> String {
    Utc.timestamp_opt(t, 0).single().map_or_else(
        || t.to_string(),
        |u| u.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string(),
    )
}

/// `up 1.2 pts`, `down 0.4 pts`, `no change`, `n/a`.
pub(crate) fn delta(now: Option<f64>, before: Option<f64>) -> String {
    match (now, before) {
        (Some(a), Some(b)) => {
            let d = (a - b) * 100.0;
            let text = format!("{:.1}", d.abs());
            if text == "0.0" {
                "no change".to_string()
            } else if d > 0.0 {
                format!("up {text} pts")
            } else {
                format!("down {text} pts")
            }
        }
        _ => "n/a".to_string(),
    }
}

/// The severity column of clocks with no severity: their ticket's priority
/// was missing or maps to no severity, and there is no default.
pub(crate) const NO_SEVERITY: &str = "(no severity)";

pub(crate) fn severity_name(policy: &Policy, s: Option<usize>) -> String {
    s.and_then(|s| policy.severities.get(s))
        .cloned()
        .unwrap_or_else(|| NO_SEVERITY.to_string())
}

pub(crate) fn metric_name(policy: &Policy, m: usize) -> &str {
    policy.metrics.get(m).map_or("?", |m| m.name.as_str())
}

pub(crate) fn plan_name(policy: &Policy, p: Option<usize>) -> &str {
    p.and_then(|p| policy.plans.get(p))
        .map_or("(no plan)", |p| p.name.as_str())
}

/// A target as a person reads it, with its calendar when not the plan's.
pub(crate) fn target_text(plan: &Plan, s: Option<usize>, m: usize) -> String {
    let Some(t) = s.and_then(|s| plan.target(s, m)) else {
        return "not tracked".to_string();
    };
    let amount = match t.amount {
        TargetAmount::None => "none (counted, never breached)".to_string(),
        TargetAmount::Business(d) => d.to_string(),
        TargetAmount::BusinessDays(1) => "1 business day".to_string(),
        TargetAmount::BusinessDays(n) => format!("{n} business days"),
    };
    if t.calendar_name != plan.calendar_name {
        format!("{amount} ({})", t.calendar_name)
    } else {
        amount
    }
}

pub(crate) fn objective_met(t: &Tally, objective: Option<f64>) -> &'static str {
    match (t.attainment(), objective) {
        (None, _) => "no decided clocks",
        (Some(_), None) => "no objective",
        // Compared as shown (one decimal) so the table never contradicts
        // itself.
        (Some(a), Some(o)) if (a * 1000.0).round() >= (o * 1000.0).round() => "met",
        _ => "**below objective**",
    }
}

pub(crate) fn ticket_link(t: &TicketRecord) -> String {
    match &t.url {
        Some(u) => format!(
            "[#{}]({})",
            cell(&t.id),
            u.replace(' ', "%20").replace(')', "%29")
        ),
        None => format!("#{}", cell(&t.id)),
    }
}

/// Weekly hours grouped: `mon-fri 08:00-17:00; sat, sun closed`.
pub(crate) fn weekly_text(cal: &Calendar) -> String {
    let w = &cal.rules().weekly;
    if w.weekly_seconds() == 7 * 86_400 {
        return "24x7".to_string();
    }
    let days: Vec<String> = (0..7)
        .map(|d| {
            let windows = w.on_index(d);
            if windows.is_empty() {
                "closed".to_string()
            } else {
                windows
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        })
        .collect();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < 7 {
        let mut j = i;
        while j + 1 < 7 && days[j + 1] == days[i] {
            j += 1;
        }
        let name = crate::calendar::week::day_name;
        let span = if i == j {
            name(i).to_string()
        } else {
            format!("{}-{}", name(i), name(j))
        };
        parts.push(format!("{span} {}", days[i]));
        i = j + 1;
    }
    parts.join("; ")
}

/// Free text from the helpdesk (names, values) cut to `max` characters,
/// with `…` when cut, and made safe for a table cell: a line of the report
/// never grows with what a helpdesk user typed.
pub(crate) fn short(s: &str, max: usize) -> String {
    let s = cell(s);
    if s.chars().count() <= max {
        s
    } else {
        let mut cut: String = s.chars().take(max.saturating_sub(1)).collect();
        // Never end inside an escape: `\` + `|` is one character to a reader.
        if cut.ends_with('\\') {
            cut.pop();
        }
        cut.push('…');
        cut
    }
}

/// `, and 12 more` when `shown` of `total` are listed, else nothing.
pub(crate) fn more(shown: usize, total: usize) -> String {
    if total > shown {
        format!(", and {} more", total - shown)
    } else {
        String::new()
    }
}
