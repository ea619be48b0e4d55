//! How an evaluation is written: JSON lines for tools (one record per
//! line, its kind in `record`), CSV for spreadsheets (one table), Markdown
//! for people (every table, with headings).

use std::io::{self, Write};

use serde_json::json;

use super::credits::{percent, Credit};
use super::groups::{Counts, Dimension, Group};
use super::what_if::{Mover, Transition};
use crate::engine::{ClockState, ClockView};
use crate::time::format_instant;

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Md,
}

/// Which table CSV writes (it holds one table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Clocks,
    Groups,
    Credits,
}

/// A clock as written: its ticket, its view, and its state under the
/// what-if config.
pub struct ClockRow<'a> {
    pub ticket: &'a str,
    pub view: ClockView<'a>,
    pub what_if: Option<Option<ClockState>>,
}

/// A group under both configs (the second only with what-if).
pub struct GroupRow {
    pub values: Vec<String>,
    pub before: Counts,
    pub after: Option<Counts>,
}

/// A credit under both configs (the second only with what-if).
pub struct CreditRow {
    pub credit: Credit,
    pub what_if: Option<Option<Credit>>,
}

/// What the last tables say besides the rows.
pub struct Totals {
    pub tickets: u64,
    pub clocks: u64,
    pub tickets_changed: Option<u64>,
}

/// Writes records in one format.
pub struct Writer<W: Write> {
    format: Format,
    /// The CSV table, when CSV.
    table: Table,
    what_if: bool,
    /// Where JSON and Markdown go.
    out: Option<W>,
    /// Where CSV goes.
    csv: Option<csv::Writer<W>>,
    clock_header: bool,
}

fn state(s: Option<ClockState>) -> &'static str {
    s.map_or("-", ClockState::as_str)
}

fn ratio(a: Option<f64>) -> String {
    a.map_or_else(|| "-".to_string(), percent)
}

fn csv_error(e: csv::Error) -> io::Error {
    io::Error::other(e)
}

impl<W: Write> Writer<W> {
    pub fn new(format: Format, table: Table, what_if: bool, out: W) -> Writer<W> {
        let (out, csv) = match format {
            Format::Csv => (None, Some(csv::Writer::from_writer(out))),
            _ => (Some(out), None),
        };
        Writer {
            format,
            table,
            what_if,
            out,
            csv,
            clock_header: false,
        }
    }

    /// The Markdown title and what was evaluated.
    pub fn heading(&mut self, lines: &[String]) -> io::Result<()> {
        if let (Format::Md, Some(out)) = (self.format, self.out.as_mut()) {
            writeln!(out, "# SLA evaluation\n")?;
            for l in lines {
                writeln!(out, "- {l}")?;
            }
            writeln!(out)?;
        }
        Ok(())
    }

    /// One clock, as it is computed.
    pub fn clock(&mut self, row: &ClockRow<'_>) -> io::Result<()> {
        let v = &row.view;
        let instant = |t: Option<i64>| t.map(format_instant).unwrap_or_default();
        match self.format {
            Format::Json => {
                let Some(out) = self.out.as_mut() else {
                    return Ok(());
                };
                let mut value = json!({"record": "clock", "ticket": row.ticket});
                if let (Some(obj), Ok(serde_json::Value::Object(view))) =
                    (value.as_object_mut(), serde_json::to_value(v))
                {
                    obj.extend(view);
                    if let Some(w) = row.what_if {
                        obj.insert("what_if_state".into(), json!(w.map(ClockState::as_str)));
                    }
                }
                serde_json::to_writer(&mut *out, &value)?;
                writeln!(out)
            }
            Format::Csv if self.table == Table::Clocks => {
                let Some(csv) = self.csv.as_mut() else {
                    return Ok(());
                };
                if !self.clock_header {
                    self.clock_header = true;
                    let mut header = vec![
                        "ticket",
                        "metric",
                        "instance",
                        "plan",
                        "severity",
                        "start",
                        "due_at",
                        "state",
                        "reason",
                        "fulfilled_at",
                        "breached_at",
                        "elapsed_seconds",
                        "paused_seconds",
                        "remaining_seconds",
                    ];
                    if self.what_if {
                        header.push("what_if_state");
                    }
                    csv.write_record(&header).map_err(csv_error)?;
                }
                let mut record = vec![
                    row.ticket.to_string(),
                    v.metric.to_string(),
                    v.instance.to_string(),
                    v.plan.unwrap_or("").to_string(),
                    v.severity.unwrap_or("").to_string(),
                    format_instant(v.start),
                    instant(v.due_at),
                    v.state.as_str().to_string(),
                    v.reason.unwrap_or("").to_string(),
                    instant(v.fulfilled_at),
                    instant(v.breached_at),
                    v.elapsed_seconds.to_string(),
                    v.paused_seconds.to_string(),
                    v.remaining_seconds
                        .map(|s| s.to_string())
                        .unwrap_or_default(),
                ];
                if let Some(w) = row.what_if {
                    record.push(state(w).to_string());
                }
                csv.write_record(&record).map_err(csv_error)
            }
            Format::Csv => Ok(()),
            Format::Md => {
                let Some(out) = self.out.as_mut() else {
                    return Ok(());
                };
                if !self.clock_header {
                    self.clock_header = true;
                    writeln!(out, "## Clocks\n")?;
                    write!(out, "| ticket | metric | # | plan | severity | start | due | state | fulfilled | elapsed |")?;
                    if self.what_if {
                        write!(out, " what-if state |")?;
                    }
                    writeln!(out)?;
                    write!(out, "|---|---|---|---|---|---|---|---|---|---|")?;
                    if self.what_if {
                        write!(out, "---|")?;
                    }
                    writeln!(out)?;
                }
                write!(
                    out,
                    "| {} | {} | {} | {} | {} | {} | {} | {}{} | {} | {} |",
                    row.ticket,
                    v.metric,
                    v.instance,
                    v.plan.unwrap_or("-"),
                    v.severity.unwrap_or("-"),
                    format_instant(v.start),
                    v.due_at.map_or_else(|| "-".into(), format_instant),
                    v.state.as_str(),
                    v.reason.map(|r| format!(" ({r})")).unwrap_or_default(),
                    v.fulfilled_at.map_or_else(|| "-".into(), format_instant),
                    crate::calendar::format_seconds(v.elapsed_seconds),
                )?;
                if let Some(w) = row.what_if {
                    write!(out, " {} |", state(w))?;
                }
                writeln!(out)
            }
        }
    }

    /// Attainment per group.
    pub fn groups(&mut self, by: &[Dimension], rows: &[GroupRow]) -> io::Result<()> {
        let names: Vec<&str> = by.iter().map(|d| d.name()).collect();
        match self.format {
            Format::Json => {
                let Some(out) = self.out.as_mut() else {
                    return Ok(());
                };
                for r in rows {
                    let mut value = json!({"record": "group"});
                    if let Some(obj) = value.as_object_mut() {
                        for (n, v) in names.iter().zip(&r.values) {
                            obj.insert((*n).to_string(), json!(v));
                        }
                        obj.extend(counts_json(&r.before));
                        if let Some(a) = &r.after {
                            obj.insert("what_if".into(), serde_json::Value::Object(counts_json(a)));
                        }
                    }
                    serde_json::to_writer(&mut *out, &value)?;
                    writeln!(out)?;
                }
                Ok(())
            }
            Format::Csv if self.table == Table::Groups => {
                let Some(csv) = self.csv.as_mut() else {
                    return Ok(());
                };
                let mut header: Vec<String> = names.iter().map(|n| n.to_string()).collect();
                header.extend(COUNT_COLUMNS.iter().map(|c| c.to_string()));
                if self.what_if {
                    header.extend(COUNT_COLUMNS.iter().map(|c| format!("what_if_{c}")));
                }
                csv.write_record(&header).map_err(csv_error)?;
                for r in rows {
                    let mut record = r.values.clone();
                    record.extend(counts_fields(&r.before));
                    if self.what_if {
                        record.extend(counts_fields(&r.after.unwrap_or_default()));
                    }
                    csv.write_record(&record).map_err(csv_error)?;
                }
                Ok(())
            }
            Format::Csv => Ok(()),
            Format::Md => {
                let Some(out) = self.out.as_mut() else {
                    return Ok(());
                };
                let title = if names.is_empty() {
                    "## Attainment\n".to_string()
                } else {
                    format!("## Attainment by {}\n", names.join(", "))
                };
                writeln!(out, "{title}")?;
                let mut header: Vec<String> = names.iter().map(|n| n.to_string()).collect();
                header.extend(
                    [
                        "met",
                        "breached",
                        "attainment",
                        "open",
                        "no target",
                        "excluded",
                    ]
                    .map(String::from),
                );
                if self.what_if {
                    header.extend(
                        [
                            "what-if met",
                            "what-if breached",
                            "what-if attainment",
                            "change",
                        ]
                        .map(String::from),
                    );
                }
                writeln!(out, "| {} |", header.join(" | "))?;
                writeln!(out, "|{}", "---|".repeat(header.len()))?;
                for r in rows {
                    let b = &r.before;
                    let mut cells = r.values.clone();
                    cells.extend([
                        b.met.to_string(),
                        b.breached.to_string(),
                        ratio(b.attainment()),
                        (b.active + b.paused).to_string(),
                        b.no_target.to_string(),
                        b.excluded.to_string(),
                    ]);
                    if self.what_if {
                        let a = r.after.unwrap_or_default();
                        let change = match (b.attainment(), a.attainment()) {
                            (Some(x), Some(y)) => {
                                format!("{:+.1} pp", (y - x) * 100.0)
                            }
                            _ => "-".to_string(),
                        };
                        cells.extend([
                            a.met.to_string(),
                            a.breached.to_string(),
                            ratio(a.attainment()),
                            change,
                        ]);
                    }
                    writeln!(out, "| {} |", cells.join(" | "))?;
                }
                writeln!(out)
            }
        }
    }

    /// Credits per customer and period.
    pub fn credits(&mut self, rows: &[CreditRow]) -> io::Result<()> {
        let date = |t: i64| format_instant(t).chars().take(10).collect::<String>();
        match self.format {
            Format::Json => {
                let Some(out) = self.out.as_mut() else {
                    return Ok(());
                };
                for r in rows {
                    let mut value = credit_json(&r.credit);
                    if let (Some(obj), Some(w)) = (value.as_object_mut(), &r.what_if) {
                        obj.insert("record".into(), json!("credit"));
                        obj.insert(
                            "what_if".into(),
                            w.as_ref().map_or(serde_json::Value::Null, credit_json),
                        );
                    } else if let Some(obj) = value.as_object_mut() {
                        obj.insert("record".into(), json!("credit"));
                    }
                    serde_json::to_writer(&mut *out, &value)?;
                    writeln!(out)?;
                }
                Ok(())
            }
            Format::Csv if self.table == Table::Credits => {
                let Some(csv) = self.csv.as_mut() else {
                    return Ok(());
                };
                let mut header = vec![
                    "table",
                    "organization",
                    "plan",
                    "from",
                    "to",
                    "events",
                    "violations",
                    "violation_share",
                    "credit",
                    "rule",
                ];
                if self.what_if {
                    header.extend(["what_if_violations", "what_if_credit", "what_if_rule"]);
                }
                csv.write_record(&header).map_err(csv_error)?;
                for r in rows {
                    let c = &r.credit;
                    let mut record = vec![
                        c.table.clone(),
                        c.organization.clone(),
                        c.plan.clone(),
                        date(c.from),
                        date(c.to),
                        c.events.to_string(),
                        c.violations.to_string(),
                        c.violation_share.to_string(),
                        c.credit.to_string(),
                        c.rule.clone().unwrap_or_default(),
                    ];
                    if let Some(w) = &r.what_if {
                        record.extend([
                            w.as_ref()
                                .map(|w| w.violations.to_string())
                                .unwrap_or_default(),
                            w.as_ref().map(|w| w.credit.to_string()).unwrap_or_default(),
                            w.as_ref().and_then(|w| w.rule.clone()).unwrap_or_default(),
                        ]);
                    }
                    csv.write_record(&record).map_err(csv_error)?;
                }
                Ok(())
            }
            Format::Csv => Ok(()),
            Format::Md => {
                let Some(out) = self.out.as_mut() else {
                    return Ok(());
                };
                writeln!(out, "## Credits\n")?;
                if rows.is_empty() {
                    return writeln!(
                        out,
                        "No customer on a plan with a credit table had an SLA event.\n"
                    );
                }
                write!(out, "| customer | plan | period | SLA events | violations | share | credit | rule |")?;
                if self.what_if {
                    write!(out, " what-if violations | what-if credit | what-if rule |")?;
                }
                writeln!(out)?;
                writeln!(out, "|{}", "---|".repeat(if self.what_if { 11 } else { 8 }))?;
                for r in rows {
                    let c = &r.credit;
                    write!(
                        out,
                        "| {} | {} | {} to {} | {} | {} | {} | {} | {} |",
                        c.organization,
                        c.plan,
                        date(c.from),
                        date(c.to),
                        c.events,
                        c.violations,
                        percent(c.violation_share),
                        percent(c.credit),
                        c.rule.as_deref().unwrap_or("below every row"),
                    )?;
                    if let Some(w) = &r.what_if {
                        match w {
                            Some(w) => write!(
                                out,
                                " {} | {} | {} |",
                                w.violations,
                                percent(w.credit),
                                w.rule.as_deref().unwrap_or("below every row")
                            )?,
                            None => write!(out, " - | - | - |")?,
                        }
                    }
                    writeln!(out)?;
                }
                writeln!(out)
            }
        }
    }

    /// What-if: which clocks change state, and the tickets that move most.
    pub fn changes(&mut self, transitions: &[Transition], movers: &[Mover]) -> io::Result<()> {
        match self.format {
            Format::Json => {
                let Some(out) = self.out.as_mut() else {
                    return Ok(());
                };
                for t in transitions {
                    let value = json!({"record": "transition", "metric": t.metric,
                        "state": t.before.map(ClockState::as_str),
                        "what_if_state": t.after.map(ClockState::as_str), "clocks": t.clocks});
                    serde_json::to_writer(&mut *out, &value)?;
                    writeln!(out)?;
                }
                for m in movers {
                    let value = json!({"record": "mover", "ticket": m.ticket,
                        "breaches_added": m.breaches_added, "clocks_changed": m.changed});
                    serde_json::to_writer(&mut *out, &value)?;
                    writeln!(out)?;
                }
                Ok(())
            }
            Format::Csv => Ok(()),
            Format::Md => {
                let Some(out) = self.out.as_mut() else {
                    return Ok(());
                };
                writeln!(out, "## What changes\n")?;
                if transitions.is_empty() {
                    return writeln!(out, "No clock changes state.\n");
                }
                writeln!(out, "| metric | state | what-if state | clocks |")?;
                writeln!(out, "|---|---|---|---|")?;
                for t in transitions {
                    writeln!(
                        out,
                        "| {} | {} | {} | {} |",
                        t.metric,
                        state(t.before),
                        state(t.after),
                        t.clocks
                    )?;
                }
                writeln!(out, "\nThe tickets that move most:\n")?;
                writeln!(out, "| ticket | breaches added | clocks changed |")?;
                writeln!(out, "|---|---|---|")?;
                for m in movers {
                    writeln!(
                        out,
                        "| {} | {:+} | {} |",
                        m.ticket, m.breaches_added, m.changed
                    )?;
                }
                writeln!(out)
            }
        }
    }

    /// How much was evaluated; flushes.
    pub fn totals(&mut self, t: &Totals) -> io::Result<()> {
        match self.format {
            Format::Json => {
                let Some(out) = self.out.as_mut() else {
                    return Ok(());
                };
                let value = json!({"record": "totals", "tickets": t.tickets, "clocks": t.clocks,
                    "tickets_changed": t.tickets_changed});
                serde_json::to_writer(&mut *out, &value)?;
                writeln!(out)?;
            }
            Format::Csv => {
                if let Some(csv) = self.csv.as_mut() {
                    csv.flush()?;
                }
            }
            Format::Md => {
                let Some(out) = self.out.as_mut() else {
                    return Ok(());
                };
                write!(out, "{} tickets, {} clocks", t.tickets, t.clocks)?;
                if let Some(n) = t.tickets_changed {
                    let s = if n == 1 { "" } else { "s" };
                    write!(out, "; {n} ticket{s} with a clock that changes")?;
                }
                writeln!(out, ".")?;
            }
        }
        match self.out.as_mut() {
            Some(out) => out.flush(),
            None => Ok(()),
        }
    }
}

const COUNT_COLUMNS: [&str; 7] = [
    "met",
    "breached",
    "attainment",
    "active",
    "paused",
    "no_target",
    "excluded",
];

fn counts_fields(c: &Counts) -> Vec<String> {
    vec![
        c.met.to_string(),
        c.breached.to_string(),
        c.attainment().map(|a| a.to_string()).unwrap_or_default(),
        c.active.to_string(),
        c.paused.to_string(),
        c.no_target.to_string(),
        c.excluded.to_string(),
    ]
}

fn counts_json(c: &Counts) -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    m.insert("met".into(), json!(c.met));
    m.insert("breached".into(), json!(c.breached));
    m.insert("attainment".into(), json!(c.attainment()));
    m.insert("active".into(), json!(c.active));
    m.insert("paused".into(), json!(c.paused));
    m.insert("no_target".into(), json!(c.no_target));
    m.insert("excluded".into(), json!(c.excluded));
    m
}

fn credit_json(c: &Credit) -> serde_json::Value {
    json!({"table": c.table, "organization": c.organization, "plan": c.plan,
        "from": format_instant(c.from), "to": format_instant(c.to), "events": c.events,
        "violations": c.violations, "violation_share": c.violation_share,
        "credit": c.credit, "rule": c.rule})
}

/// Group rows of both configs, joined by their values.
pub fn join_groups(before: Vec<Group>, after: Option<Vec<Group>>) -> Vec<GroupRow> {
    let Some(after) = after else {
        return before
            .into_iter()
            .map(|g| GroupRow {
                values: g.values,
                before: g.counts,
                after: None,
            })
            .collect();
    };
    let mut joined: std::collections::BTreeMap<Vec<String>, (Counts, Counts)> =
        std::collections::BTreeMap::new();
    for g in before {
        joined.entry(g.values).or_default().0 = g.counts;
    }
    for g in after {
        joined.entry(g.values).or_default().1 = g.counts;
    }
    joined
        .into_iter()
        .map(|(values, (b, a))| GroupRow {
            values,
            before: b,
            after: Some(a),
        })
        .collect()
}

/// Credit rows of both configs, joined by table, customer, plan and
/// period.
pub fn join_credits(before: Vec<Credit>, after: Option<Vec<Credit>>) -> Vec<CreditRow> {
    let Some(after) = after else {
        return before
            .into_iter()
            .map(|credit| CreditRow {
                credit,
                what_if: None,
            })
            .collect();
    };
    let key = |c: &Credit| {
        (
            c.table.clone(),
            c.organization.clone(),
            c.plan.clone(),
            c.from,
        )
    };
    let mut after: std::collections::BTreeMap<_, Credit> =
        after.into_iter().map(|c| (key(&c), c)).collect();
    let mut rows: Vec<CreditRow> = before
        .into_iter()
        .map(|credit| {
            let w = after.remove(&key(&credit));
            CreditRow {
                credit,
                what_if: Some(w),
            }
        })
        .collect();
    // Customers only the what-if config credits: shown with no credit
    // before.
    for (_, w) in after {
        let mut none = w.clone();
        none.events = 0;
        none.violations = 0;
        none.violation_share = 0.0;
        none.credit = 0.0;
        none.rule = None;
        rows.push(CreditRow {
            credit: none,
            what_if: Some(Some(w)),
        });
    }
    rows
}
