//! `helpdesk-slo explain`: every SLA clock of a ticket, for a person (text in
//! the plan calendar's local time) or a tool (stable JSON, one line per
//! ticket). A ticket whose status history its source approximated (a field
//! `<source>_history: approximated`, such as Freshdesk's
//! `freshdesk_history`) is said to be so, in both forms.

use std::io::{self, Read, Write};
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde::Serialize;

use super::{load, Failure};
use crate::calendar::format_seconds;
use crate::engine::{evaluate, Clock, ClockState, ClockView, Ticket};
use crate::policy::Config;
use crate::sources::approximated_history;
use crate::time::{format_local, parse_instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    /// The config file (YAML).
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// The instant to evaluate open clocks at (RFC 3339); default: now.
    #[arg(long, value_name = "INSTANT")]
    now: Option<String>,
    /// text for people, json (one line per ticket) for tools.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// A ticket timeline in JSON, or JSON lines of many; `-` reads stdin.
    #[arg(value_name = "TICKET.json")]
    input: String,
}

#[derive(Serialize)]
struct TicketView<'a> {
    ticket: &'a str,
    /// The content hash of the config the clocks were computed with.
    config: &'a str,
    /// `approximated` when the ticket's status history is; absent when it
    /// is the helpdesk's own.
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<&'static str>,
    clocks: Vec<ClockView<'a>>,
}

pub(crate) fn run(args: ExplainArgs) -> Result<(), Failure> {
    let cfg = load(&args.config)?;
    let now = match &args.now {
        Some(t) => parse_instant(t).map_err(|e| Failure::Usage(format!("--now: {e}")))?,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
    };
    let mut text = String::new();
    if args.input == "-" {
        io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Failure::Runtime(format!("reading stdin: {e}")))?;
    } else {
        text = std::fs::read_to_string(&args.input)
            .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", args.input)))?;
    }
    let out = io::stdout();
    let mut out = io::BufWriter::new(out.lock());
    let stream = serde_json::Deserializer::from_str(&text).into_iter::<Ticket>();
    for (n, ticket) in stream.enumerate() {
        let ticket = ticket.map_err(|e| {
            Failure::Usage(format!(
                "{}: ticket {} (line {}, column {}): {e}; see docs/timeline.md for the timeline form (id, created_at, events with at and type)",
                args.input,
                n + 1,
                e.line(),
                e.column()
            ))
        })?;
        let clocks = evaluate(&cfg.policy, &ticket, now);
        let written = match args.format {
            Format::Json => {
                let view = TicketView {
                    ticket: &ticket.id,
                    config: &cfg.hash,
                    history: approximated_history(&ticket).map(|_| "approximated"),
                    clocks: clocks.iter().map(|c| c.view(&cfg.policy)).collect(),
                };
                serde_json::to_writer(&mut out, &view)
                    .map_err(io::Error::other)
                    .and_then(|_| writeln!(out))
            }
            Format::Text => write_text(&mut out, &cfg, &ticket, &clocks, now),
        };
        written.map_err(|e| Failure::Runtime(format!("writing: {e}")))?;
    }
    out.flush()
        .map_err(|e| Failure::Runtime(format!("writing: {e}")))
}

fn write_text(
    out: &mut impl Write,
    cfg: &Config,
    ticket: &Ticket,
    clocks: &[Clock],
    now: i64,
) -> io::Result<()> {
    let policy = &cfg.policy;
    let plan = clocks
        .iter()
        .rev()
        .find_map(|c| c.plan)
        .and_then(|p| policy.plans.get(p));
    let tz = plan.map_or(chrono_tz::UTC, |p| p.calendar.timezone());
    writeln!(
        out,
        "ticket {}: plan {}, calendar {} ({}), as of {}",
        ticket.id,
        plan.map_or("(none)", |p| p.name.as_str()),
        plan.map_or("(none)", |p| p.calendar_name.as_str()),
        tz.name(),
        format_local(now, tz)
    )?;
    if let Some(field) = approximated_history(ticket) {
        writeln!(
            out,
            "  status history approximated ({field}: approximated): the helpdesk kept none for this ticket, so these clocks come from its last-value stats and can differ from what happened"
        )?;
    }
    if clocks.is_empty() {
        writeln!(
            out,
            "  no clocks: the plan has no targets for this ticket's severity"
        )?;
    }
    for c in clocks {
        let v = c.view(policy);
        let when = |t: Option<i64>| t.map_or_else(|| "-".to_string(), |t| format_local(t, tz));
        writeln!(
            out,
            "  {} #{} [{}] {}: started {}",
            v.metric,
            v.instance,
            v.severity.unwrap_or("?"),
            v.state.as_str(),
            format_local(v.start, tz)
        )?;
        match c.state {
            ClockState::Met => writeln!(
                out,
                "      due {}, met {} after {} business time",
                when(c.due_at),
                when(c.fulfilled_at),
                format_seconds(c.elapsed_seconds)
            )?,
            ClockState::Breached => writeln!(
                out,
                "      due {}, breached{}",
                when(c.due_at),
                match (c.fulfilled_at, c.remaining_seconds) {
                    (Some(f), _) => format!("; fulfilled {}", format_local(f, tz)),
                    (None, Some(r)) => format!(", still open, {} over target", format_seconds(-r)),
                    _ => String::new(),
                }
            )?,
            ClockState::Active => writeln!(
                out,
                "      due {}: due in {} business time",
                when(c.due_at),
                format_seconds(c.remaining_seconds.unwrap_or(0))
            )?,
            ClockState::Paused => writeln!(
                out,
                "      paused; {} business time left when it resumes",
                format_seconds(c.remaining_seconds.unwrap_or(0))
            )?,
            ClockState::NoTarget => writeln!(out, "      no target (counted, never breached)")?,
            ClockState::Excluded => writeln!(
                out,
                "      excluded: {}",
                c.reason.as_deref().unwrap_or("?")
            )?,
        }
        if c.paused_seconds > 0 {
            writeln!(
                out,
                "      paused for {} business time",
                format_seconds(c.paused_seconds)
            )?;
        }
    }
    // The helpdesk's own SLA record, where it keeps one (JSM, Zendesk's
    // metric events when read), beside ours.
    let own = crate::sources::jsm::sla::explain_lines(&ticket.fields, tz)
        .into_iter()
        .chain(crate::sources::zendesk::sla::explain_lines(
            &ticket.fields,
            tz,
        ));
    for line in own {
        writeln!(out, "{line}")?;
    }
    Ok(())
}
