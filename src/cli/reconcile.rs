//! `helpdesk-slo reconcile`: our clocks beside the helpdesk's own SLA
//! record, from the store: agreement per source, plan and metric, and
//! every instance that does not agree with its ticket, what differs and
//! the likely causes (text for people; json or csv for tools). The forms
//! are in docs/reconcile.md.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::Failure;
use crate::engine::Ticket;
use crate::reconcile::store::{reconcile, reconcile_from, Error, Found, Options, Summary};
use crate::reconcile::{aspect_value, DEFAULT_TOLERANCE_SECONDS};
use crate::time::{format_instant, parse_instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Text,
    Json,
    Csv,
}

#[derive(Debug, Args)]
pub(crate) struct ReconcileArgs {
    /// The config file (YAML) the daemon runs with.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// The store the daemon writes (`run --store`) [default: the config's
    /// `store:`, else helpdesk-slo.sqlite].
    #[arg(long, value_name = "STORE", conflicts_with = "tickets")]
    store: Option<String>,
    /// Read ticket timelines (JSON lines, as `explain` takes, with the
    /// helpdesk's record in their fields) instead of a store; they are the
    /// tickets of the one source given with --source, else of the config's
    /// only source with a record to compare with.
    #[arg(long, value_name = "FILE")]
    tickets: Option<PathBuf>,
    /// Tickets created at or after this instant (RFC 3339, or a date
    /// YYYY-MM-DD for its midnight UTC).
    #[arg(long, value_name = "INSTANT")]
    from: Option<String>,
    /// Tickets created before this instant.
    #[arg(long, value_name = "INSTANT")]
    to: Option<String>,
    /// The instant open clocks are evaluated at; default: now. Give the
    /// time of the last poll to compare open clocks as the helpdesk had
    /// them then.
    #[arg(long, value_name = "INSTANT")]
    now: Option<String>,
    /// text for people; json or csv for tools.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// A source of the config to reconcile (repeatable); default: each
    /// source whose helpdesk keeps a record this build reads.
    #[arg(long = "source", value_name = "NAME")]
    sources: Vec<String>,
    /// At most this many differences in the text form (json and csv have
    /// them all).
    #[arg(long, value_name = "N", default_value_t = 20)]
    limit: usize,
    /// Instants and durations this many seconds apart agree (Zendesk
    /// reports whole minutes).
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_TOLERANCE_SECONDS)]
    tolerance: i64,
}

fn instant(flag: &str, text: &str) -> Result<i64, Failure> {
    let full = if text.len() == 10 {
        format!("{text}T00:00:00Z")
    } else {
        text.to_string()
    };
    parse_instant(&full).map_err(|e| Failure::Usage(format!("{flag}: {e}")))
}

pub(crate) fn run(args: ReconcileArgs) -> Result<(), Failure> {
    let config = super::load(&args.config)?;
    let now = match &args.now {
        Some(t) => instant("--now", t)?,
        None => crate::clock::now_unix(),
    };
    let options = Options {
        from: args
            .from
            .as_deref()
            .map(|t| instant("--from", t))
            .transpose()?,
        to: args.to.as_deref().map(|t| instant("--to", t)).transpose()?,
        now,
        tolerance: args.tolerance.max(0),
        sources: args.sources,
    };
    let fail = |e: Error| match e {
        Error::Store(_) => Failure::Runtime(e.to_string()),
        _ => Failure::Usage(e.to_string()),
    };
    let summary = match &args.tickets {
        None => {
            let store =
                super::open_store_to_read(crate::store::location(args.store.as_deref(), &config))?;
            reconcile(&*store, &config, &options).map_err(fail)?
        }
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
            let mut tickets = Vec::new();
            let stream = serde_json::Deserializer::from_str(&text).into_iter::<Ticket>();
            for (n, t) in stream.enumerate() {
                tickets.push(t.map_err(|e| {
                    Failure::Usage(format!(
                        "{}: ticket {} (line {}, column {}): {e}; see docs/timeline.md",
                        path.display(),
                        n + 1,
                        e.line(),
                        e.column()
                    ))
                })?);
            }
            let options = Options {
                sources: if options.sources.is_empty() {
                    vec![only_source(&config)?]
                } else {
                    options.sources.clone()
                },
                ..options.clone()
            };
            if options.sources.len() != 1 {
                return Err(Failure::Usage(
                    "--tickets reads the tickets of one source: give --source once".to_string(),
                ));
            }
            let mut given = Some(tickets);
            reconcile_from(&config, &options, &mut |_, f| {
                for t in given.take().unwrap_or_default() {
                    f(t);
                }
                Ok(())
            })
            .map_err(fail)?
        }
    };
    let text = match args.format {
        Format::Text => text(&summary, &options, args.limit),
        Format::Json => {
            let mut s = serde_json::to_string(&Json {
                now: format_instant(now),
                tolerance_seconds: options.tolerance,
                summary: &summary,
            })
            .map_err(|e| Failure::Runtime(e.to_string()))?;
            s.push('\n');
            s
        }
        Format::Csv => csv(&summary),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| Failure::Runtime(format!("writing: {e}")))
}

/// The config's only source with a record to compare with.
fn only_source(config: &crate::policy::Config) -> Result<String, Failure> {
    let names: Vec<&String> = config
        .sources
        .iter()
        .filter(|(_, s)| crate::sources::kind(&s.kind).is_some_and(|k| k.reconcile.is_some()))
        .map(|(n, _)| n)
        .collect();
    match names.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(Failure::Usage(
            "the config has no source whose helpdesk keeps an SLA record this build compares with (Zendesk, Jira Service Management); see docs/reconcile.md".to_string(),
        )),
        _ => Err(Failure::Usage(format!(
            "--tickets reads the tickets of one source: give --source, one of {}",
            names.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(", ")
        ))),
    }
}

#[derive(serde::Serialize)]
struct Json<'a> {
    now: String,
    tolerance_seconds: i64,
    #[serde(flatten)]
    summary: &'a Summary,
}

fn text(s: &Summary, options: &Options, limit: usize) -> String {
    let mut out = format!(
        "Reconciliation with the helpdesk's own SLA record: {} tickets, {} with a record; open clocks as of {}; tolerance {}s\n\n",
        s.tickets,
        s.recorded_tickets,
        format_instant(options.now),
        options.tolerance
    );
    let mut table = vec![[
        "source",
        "plan",
        "metric",
        "agree",
        "differ",
        "missing_ours",
        "missing_theirs",
        "agreement",
    ]
    .map(str::to_string)];
    for r in &s.rows {
        table.push([
            r.source.clone(),
            r.plan.clone(),
            r.metric.clone(),
            r.agree.to_string(),
            r.differ.to_string(),
            r.missing_ours.to_string(),
            r.missing_theirs.to_string(),
            r.agreement_text(),
        ]);
    }
    let widths: Vec<usize> = (0..8)
        .map(|i| table.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    for r in &table {
        let cells: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i < 3 {
                    format!("{c:<w$}", w = widths[i])
                } else {
                    format!("{c:>w$}", w = widths[i])
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    if s.differences.is_empty() {
        out.push_str("\nEvery compared clock agrees.\n");
        return out;
    }
    out.push_str("\nCauses:");
    for (cause, n) in &s.causes {
        out.push_str(&format!(" {cause} {n};"));
    }
    out.pop();
    out.push('\n');
    out.push_str(&format!(
        "\n{} not agreeing, largest first{}:\n",
        match s.differences.len() {
            1 => "1 instance".to_string(),
            n => format!("{n} instances"),
        },
        if s.differences.len() > limit {
            format!(" (the first {limit}; --limit to see more)")
        } else {
            String::new()
        }
    ));
    for f in s.differences.iter().take(limit) {
        out.push_str(&found_text(f));
    }
    out
}

fn found_text(f: &Found) -> String {
    let c = &f.comparison;
    let mut out = format!(
        "\n  {} ticket {}{}, plan {}: {} #{} {}\n",
        f.source,
        f.ticket,
        f.url
            .as_deref()
            .map_or_else(String::new, |u| format!(" ({u})")),
        f.plan,
        c.metric,
        c.instance,
        c.outcome.as_str()
    );
    for d in &c.differences {
        out.push_str(&format!(
            "    {}: ours {}, theirs {}\n",
            d.aspect.as_str(),
            aspect_value(d.aspect, d.ours),
            aspect_value(d.aspect, d.theirs)
        ));
    }
    for cause in &c.causes {
        out.push_str(&format!(
            "    cause {}: {}\n",
            cause.kind.as_str(),
            cause.detail
        ));
    }
    out
}

fn csv(s: &Summary) -> String {
    use crate::report::csv::{header, row};
    let mut out = String::new();
    header(
        &mut out,
        &[
            "source",
            "ticket",
            "url",
            "plan",
            "metric",
            "instance",
            "outcome",
            "differences",
            "causes",
            "details",
        ],
    );
    for f in &s.differences {
        let c = &f.comparison;
        let differences: Vec<String> = c
            .differences
            .iter()
            .map(|d| {
                format!(
                    "{}: ours {}, theirs {}",
                    d.aspect.as_str(),
                    aspect_value(d.aspect, d.ours),
                    aspect_value(d.aspect, d.theirs)
                )
            })
            .collect();
        let causes: Vec<&str> = c.causes.iter().map(|c| c.kind.as_str()).collect();
        let details: Vec<&str> = c.causes.iter().map(|c| c.detail.as_str()).collect();
        let instance = c.instance.to_string();
        row(
            &mut out,
            &[
                (true, &f.source),
                (true, &f.ticket),
                (true, f.url.as_deref().unwrap_or("")),
                (true, &f.plan),
                (true, &c.metric),
                (false, &instance),
                (false, c.outcome.as_str()),
                (true, &differences.join("; ")),
                (false, &causes.join(" ")),
                (true, &details.join("; ")),
            ],
        );
    }
    out
}
