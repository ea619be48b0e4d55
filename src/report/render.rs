//! Markdown from [`Figures`]: pure and byte-stable. Numbers are formatted
//! with fixed precision (attainment one decimal, violation shares two),
//! durations as business time (`2h30m`), instants in UTC or in the named
//! zone, every list in a fixed order; nothing reads the clock or the
//! environment. Charts are Mermaid `xychart-beta` blocks, each followed by a
//! table with the same numbers.

use std::fmt::Write;

use chrono::{Datelike, TimeZone, Utc};
use chrono_tz::Tz;

use super::figures::{Breach, CreditFigures, Figures, PlanFigures, DISTRIBUTION_BUCKETS};
use super::gather::{CutoffBasis, Dataset, TicketRecord};
use crate::calendar::{format_seconds, Calendar};
use crate::engine::aggregate::Tally;
use crate::policy::model::{CreditTier, Plan};
use crate::policy::spec::{CreditPeriod, MetricKindSpec, TargetAmount};
use crate::policy::{Config, Policy};
use crate::time::format_instant;

/// A table cell: pipes escaped, newlines flattened.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// `95.0%`, or `n/a`.
fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".to_string(), |x| format!("{:.1}%", x * 100.0))
}

/// A ratio as written in a config: `4%`, `10.1%`.
fn ratio(x: f64) -> String {
    let s = format!("{:.2}", x * 100.0);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

fn dur(seconds: Option<i64>) -> String {
    seconds.map_or_else(|| "-".to_string(), format_seconds)
}

/// `2026-10-31 23:30 PDT`.
fn local(t: i64, tz: Tz) -> String {
    Utc.timestamp_opt(t, 0).single().map_or_else(
        || t.to_string(),
        |u| u.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string(),
    )
}

/// `up 1.2 pts`, `down 0.4 pts`, `no change`, `n/a`.
fn delta(now: Option<f64>, before: Option<f64>) -> String {
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

fn severity_name(policy: &Policy, s: Option<usize>) -> String {
    s.and_then(|s| policy.severities.get(s))
        .cloned()
        .unwrap_or_else(|| "(none)".to_string())
}

fn metric_name(policy: &Policy, m: usize) -> &str {
    policy.metrics.get(m).map_or("?", |m| m.name.as_str())
}

fn plan_name(policy: &Policy, p: Option<usize>) -> &str {
    p.and_then(|p| policy.plans.get(p))
        .map_or("(no plan)", |p| p.name.as_str())
}

/// A target as a person reads it, with its calendar when not the plan's.
fn target_text(plan: &Plan, s: Option<usize>, m: usize) -> String {
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

fn objective_met(t: &Tally, objective: Option<f64>) -> &'static str {
    match (t.attainment(), objective) {
        (None, _) => "no decided clocks",
        (Some(_), None) => "no objective",
        // Compared as shown (one decimal) so the table never contradicts
        // itself.
        (Some(a), Some(o)) if (a * 1000.0).round() >= (o * 1000.0).round() => "met",
        _ => "**below objective**",
    }
}

fn ticket_link(t: &TicketRecord) -> String {
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
fn weekly_text(cal: &Calendar) -> String {
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

/// Renders the report.
pub fn render(config: &Config, data: &Dataset, fig: &Figures) -> String {
    let mut out = String::new();
    header(&mut out, config, data, fig);
    summary(&mut out, config, data, fig);
    trend(&mut out, config, fig);
    for p in &fig.plans {
        plan_section(&mut out, config, data, p);
    }
    breaches(&mut out, config, data, &fig.breaches);
    credits(&mut out, config, data, &fig.credits);
    quality(&mut out, config, data, fig);
    methodology(&mut out, config, data, fig);
    out
}

fn header(out: &mut String, config: &Config, data: &Dataset, fig: &Figures) {
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
        "- **Data cut-off:** {} ({basis}). Open clocks are evaluated at this instant; nothing that happened after it is counted.",
        format_instant(data.cutoff)
    );
    let (_, end) = data.month.bounds(data.timezone);
    if data.cutoff < end {
        let _ = writeln!(
            out,
            "- **Incomplete:** the cut-off is before the month's end; figures cover the month up to the cut-off."
        );
    }
    if !fig.quality.late.is_empty() {
        let _ = writeln!(
            out,
            "- **Re-issue note:** data of {} ticket(s) of this month arrived after the month closed (listed under Data quality); an issue of this report made earlier may show other figures.",
            fig.quality.late.len()
        );
    }
    let _ = writeln!(
        out,
        "- **Config:** `{}` (hash `{}`).",
        cell(&file),
        config.hash
    );
    let _ = writeln!(out);
}

fn summary(out: &mut String, config: &Config, data: &Dataset, fig: &Figures) {
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

fn trend(out: &mut String, config: &Config, fig: &Figures) {
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

fn plan_section(out: &mut String, config: &Config, data: &Dataset, p: &PlanFigures) {
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

fn breaches(out: &mut String, config: &Config, data: &Dataset, list: &[Breach]) {
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

fn tier_text(tier: &CreditTier) -> String {
    format!(
        "{} {}: {} credit",
        if tier.strict { "above" } else { "from" },
        ratio(tier.threshold),
        ratio(tier.credit)
    )
}

fn credits(out: &mut String, config: &Config, data: &Dataset, list: &[CreditFigures]) {
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
            let _ = writeln!(
                out,
                "| Customer | Plan | SLA events | Violations | Violation % | Credit % | Rule |"
            );
            let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---|");
            for (label, c) in &cf.rows {
                let rule = match c.tier.and_then(|i| table.tiers.get(i)) {
                    Some(t) => tier_text(t),
                    None => "below every row: no credit".to_string(),
                };
                let _ = writeln!(
                    out,
                    "| {} | `{}` | {} | {} | {:.2}% | {} | {} |",
                    cell(label),
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

fn quality(out: &mut String, config: &Config, data: &Dataset, fig: &Figures) {
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

fn methodology(out: &mut String, config: &Config, data: &Dataset, fig: &Figures) {
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
