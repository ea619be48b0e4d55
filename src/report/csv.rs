//! The full lists a report's markdown only samples, as CSV files written
//! beside it: every breached clock (`2026-11.breaches.csv`), every data
//! quality finding (`2026-11.data-quality.csv`) and every customer's credit
//! figures (`2026-11.credits.csv`). The markdown caps its lists so that a
//! leader reads it in seconds; these files hold everything, for a
//! spreadsheet or a script.
//!
//! Format: RFC 4180 (comma-separated, CRLF line ends, a header row, fields
//! quoted when they hold a comma, a quote or a line break, quotes doubled),
//! UTF-8 without a byte order mark. Instants are UTC in RFC 3339
//! (`2026-11-03T17:00:00Z`), durations in seconds. A text field that a
//! spreadsheet would read as a formula (it starts with `=`, `+`, `-`, `@`,
//! a tab or a carriage return) gets a leading `'`, so opening the file never
//! runs what a helpdesk user typed. Rows are in the same fixed order as the
//! report's lists, so the same store and config give the same bytes.

use std::fmt::Write;

use super::figures::Figures;
use super::gather::Dataset;
use super::render::format::{metric_name, plan_name, severity_name, target_text};
use crate::policy::Config;
use crate::time::format_instant;

/// Which list a CSV file holds, and its file name suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvKind {
    Breaches,
    DataQuality,
    Credits,
}

impl CsvKind {
    /// Every kind, in the order the files are written.
    pub const ALL: [CsvKind; 3] = [CsvKind::Breaches, CsvKind::DataQuality, CsvKind::Credits];

    /// `breaches`, `data-quality`, `credits`: the part of the file name
    /// between the report's name and `.csv`.
    pub fn suffix(self) -> &'static str {
        match self {
            CsvKind::Breaches => "breaches",
            CsvKind::DataQuality => "data-quality",
            CsvKind::Credits => "credits",
        }
    }

    /// The file name beside the report whose name without `.md` is `stem`.
    pub fn file_name(self, stem: &str) -> String {
        format!("{stem}.{}.csv", self.suffix())
    }
}

/// A number or a field that needs no formula guard.
fn raw(out: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// Free text (names, values from the helpdesk): quoted as needed, with a
/// leading `'` when a spreadsheet would read it as a formula.
fn text(out: &mut String, s: &str) {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        raw(out, &format!("'{s}"));
    } else {
        raw(out, s);
    }
}

/// One row: `fields` are `(is_text, value)`.
pub(crate) fn row(out: &mut String, fields: &[(bool, &str)]) {
    for (i, (is_text, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if *is_text {
            text(out, v);
        } else {
            raw(out, v);
        }
    }
    out.push_str("\r\n");
}

pub(crate) fn header(out: &mut String, names: &[&str]) {
    let fields: Vec<(bool, &str)> = names.iter().map(|n| (false, *n)).collect();
    row(out, &fields);
}

fn opt(x: Option<i64>) -> String {
    x.map_or_else(String::new, |x| x.to_string())
}

/// Every breached clock of the month, in the report's order (plan, severity,
/// metric, ticket, instance).
pub fn breaches(config: &Config, data: &Dataset, fig: &Figures) -> String {
    let policy = &config.policy;
    let mut out = String::new();
    header(
        &mut out,
        &[
            "source",
            "ticket",
            "url",
            "customer_id",
            "customer",
            "plan",
            "severity",
            "metric",
            "instance",
            "started",
            "target",
            "target_seconds",
            "over_seconds",
            "still_open",
            "paused_seconds",
            "severity_changed",
        ],
    );
    for b in &fig.breaches {
        let t = &data.tickets[b.ticket];
        let c = &b.clock;
        let target = c
            .plan
            .and_then(|p| policy.plans.get(p))
            .map_or(String::new(), |p| target_text(p, c.severity, c.metric));
        row(
            &mut out,
            &[
                (true, &t.source),
                (true, &t.id),
                (true, t.url.as_deref().unwrap_or("")),
                (true, t.organization.as_ref().map_or("", |o| o.id.as_str())),
                (
                    true,
                    t.organization
                        .as_ref()
                        .and_then(|o| o.name.as_deref())
                        .unwrap_or(""),
                ),
                (true, plan_name(policy, c.plan)),
                (
                    true,
                    &c.severity
                        .map_or(String::new(), |s| severity_name(policy, Some(s))),
                ),
                (true, metric_name(policy, c.metric)),
                (false, &c.instance.to_string()),
                (false, &format_instant(c.start)),
                (true, &target),
                (false, &opt(b.target_seconds)),
                (false, &opt(b.over_seconds)),
                (false, if b.still_open { "yes" } else { "no" }),
                (false, &c.paused_seconds.to_string()),
                (false, if b.severity_changed { "yes" } else { "no" }),
            ],
        );
    }
    out
}

/// Every data quality finding, one row per ticket and finding (and per
/// polling gap, unpolled source and helpdesk note): `finding` names the
/// list, `detail` what the report says about that row.
pub fn data_quality(config: &Config, data: &Dataset, fig: &Figures) -> String {
    let policy = &config.policy;
    let q = &fig.quality;
    let mut out = String::new();
    header(&mut out, &["finding", "source", "ticket", "url", "detail"]);
    let ticket_row = |out: &mut String, finding: &str, i: usize, detail: &str| {
        let t = &data.tickets[i];
        row(
            out,
            &[
                (false, finding),
                (true, &t.source),
                (true, &t.id),
                (true, t.url.as_deref().unwrap_or("")),
                (true, detail),
            ],
        );
    };
    for &i in &q.no_plan {
        let org = data.tickets[i]
            .organization
            .as_ref()
            .map_or("no organization".to_string(), |o| {
                format!("organization {}", o.label())
            });
        ticket_row(&mut out, "no_plan", i, &org);
    }
    for (value, list) in &q.unmapped {
        for &i in list {
            ticket_row(&mut out, "unmapped_priority", i, value);
        }
    }
    let fallback = policy.default_severity.map_or_else(
        || "no severity: clocks excluded".to_string(),
        |s| format!("default severity {}", policy.severities[s]),
    );
    for &i in &q.missing_priority {
        ticket_row(&mut out, "missing_priority", i, &fallback);
    }
    for &i in &q.unknown_authors {
        let n = data.tickets[i].unknown_author_comments;
        ticket_row(
            &mut out,
            "unknown_author_comments",
            i,
            &format!("{n} comment(s)"),
        );
    }
    for &i in &q.inconsistent {
        let what: Vec<String> = data.tickets[i]
            .disagreements
            .iter()
            .map(|d| {
                format!(
                    "{}: {} in events, {} in the record",
                    d.field,
                    d.events.as_deref().unwrap_or("(missing)"),
                    d.record.as_deref().unwrap_or("(missing)")
                )
            })
            .collect();
        ticket_row(&mut out, "events_disagree_with_record", i, &what.join("; "));
    }
    for &i in &q.late {
        let detail = if q.since_first_issue.binary_search(&i).is_ok() {
            "after the first issue"
        } else {
            ""
        };
        ticket_row(&mut out, "arrived_after_month_closed", i, detail);
    }
    for (src, n) in &data.notes {
        let finding = if n.kind == "ignored_event" {
            "helpdesk_record_read_past".to_string()
        } else if let Some(field) = n.kind.strip_prefix("unmapped_") {
            format!("helpdesk_value_skipped:{field}")
        } else {
            n.kind.clone()
        };
        row(
            &mut out,
            &[
                (true, &finding),
                (true, src),
                (false, ""),
                (false, ""),
                (true, &n.name),
            ],
        );
    }
    for s in &q.never_polled {
        row(
            &mut out,
            &[
                (false, "never_polled"),
                (true, s),
                (false, ""),
                (false, ""),
                (false, ""),
            ],
        );
    }
    for (src, at) in &q.first_sync {
        row(
            &mut out,
            &[
                (false, "first_synchronised"),
                (true, src),
                (false, ""),
                (false, ""),
                (false, &format_instant(*at)),
            ],
        );
    }
    for g in &q.gaps {
        row(
            &mut out,
            &[
                (false, "polling_gap"),
                (true, &g.source),
                (false, ""),
                (false, ""),
                (
                    false,
                    &format!("{}/{}", format_instant(g.from), format_instant(g.to)),
                ),
            ],
        );
    }
    out
}

/// Every customer's credit figures, per credit table, in the report's
/// order (most credit first).
pub fn credits(config: &Config, _data: &Dataset, fig: &Figures) -> String {
    let policy = &config.policy;
    let mut out = String::new();
    header(
        &mut out,
        &[
            "credit_table",
            "customer_id",
            "customer",
            "plan",
            "period_from",
            "period_to",
            "period_complete",
            "sla_events",
            "violations",
            "violation_share",
            "credit",
        ],
    );
    for cf in &fig.credits {
        let table = &policy.credits[cf.table];
        for (label, c) in &cf.rows {
            let (from, to) = cf
                .plans
                .iter()
                .find(|(p, ..)| *p == c.plan)
                .map_or((0, 0), |(_, _, f, t)| (*f, *t));
            let name = label
                .strip_suffix(&format!(" ({})", c.organization))
                .unwrap_or("");
            let mut share = String::new();
            let _ = write!(share, "{:.4}", c.violation_share);
            let mut credit = String::new();
            let _ = write!(credit, "{:.4}", c.credit);
            row(
                &mut out,
                &[
                    (true, &table.name),
                    (true, &c.organization),
                    (true, name),
                    (true, &policy.plans[c.plan].name),
                    (false, &format_instant(from)),
                    (false, &format_instant(to)),
                    (false, if cf.period_complete { "yes" } else { "no" }),
                    (false, &c.events.to_string()),
                    (false, &c.violations.to_string()),
                    (false, &share),
                    (false, &credit),
                ],
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_formulas_guarded() {
        let mut out = String::new();
        row(
            &mut out,
            &[
                (true, "Acme, Inc."),
                (true, "say \"hi\""),
                (true, "=HYPERLINK(\"x\")"),
                (false, "-5"),
                (true, "plain"),
            ],
        );
        assert_eq!(
            out,
            "\"Acme, Inc.\",\"say \"\"hi\"\"\",\"'=HYPERLINK(\"\"x\"\")\",-5,plain\r\n"
        );
        assert_eq!(
            CsvKind::Breaches.file_name("2026-11"),
            "2026-11.breaches.csv"
        );
    }
}
