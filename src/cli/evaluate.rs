//! `helpdesk-slo evaluate`: SLA clocks, attainment, credits and what-if
//! from exported ticket timelines or a store, with no daemon.

use std::io::{self, BufRead, BufReader};
use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, ValueEnum};

use super::{load, Failure};
use crate::evaluate::groups::Dimension;
use crate::evaluate::input::{for_each_ticket, InputError};
use crate::evaluate::output::Format;
use crate::evaluate::{Evaluation, Options};
use crate::policy::Config;
use crate::time::{format_instant, parse_instant};

/// The input's buffer: a line across its end is read a slower way (copied
/// and checked whole), one in about 900 of ~1.2 KB lines at this size.
const INPUT_BUFFER: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FormatArg {
    Json,
    Csv,
    Md,
}

#[derive(Debug, Args)]
pub(crate) struct EvaluateArgs {
    /// The config file (YAML) whose policy the tickets are evaluated under.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Ticket timelines, one JSON object per line (docs/timeline.md); `-`
    /// reads stdin.
    #[arg(long, value_name = "FILE", conflicts_with = "store")]
    tickets: Option<String>,
    /// Read the tickets from a store the daemon wrote instead (a file path
    /// or sqlite:PATH).
    #[arg(long, value_name = "STORE", required_unless_present = "tickets")]
    store: Option<String>,
    /// With --store: only this source's tickets [default: every source of
    /// the config].
    #[arg(long, value_name = "NAME", requires = "store")]
    source: Option<String>,
    /// Count clocks that started at or after this instant (RFC 3339).
    #[arg(long, value_name = "INSTANT")]
    from: Option<String>,
    /// Count clocks that started before this instant (RFC 3339).
    #[arg(long, value_name = "INSTANT")]
    to: Option<String>,
    /// Evaluate open clocks at this instant [default: now].
    #[arg(long, value_name = "INSTANT")]
    now: Option<String>,
    /// json (one record per line), csv (one table) or md (every table).
    #[arg(long, value_enum, default_value = "md")]
    format: FormatArg,
    /// Attainment per these, comma-separated: plan, severity, metric, org,
    /// month, quarter.
    #[arg(long, value_name = "LIST", default_value = "plan,severity,metric")]
    group_by: String,
    /// Write every clock (with csv: the clocks table).
    #[arg(long)]
    clocks: bool,
    /// Write credits per customer and credit period, with the rule that gave
    /// each (with csv: the credits table).
    #[arg(long)]
    credits: bool,
    /// Evaluate the same tickets under this second config too, side by
    /// side: which clocks change state, attainment and credits before and
    /// after, the tickets that move most.
    #[arg(long, value_name = "FILE")]
    what_if: Option<PathBuf>,
}

/// Bad input and failures of evaluation, told apart for the exit status.
enum Stop {
    Input(InputError),
    Write(io::Error),
}

impl From<InputError> for Stop {
    fn from(e: InputError) -> Stop {
        Stop::Input(e)
    }
}

impl From<Stop> for Failure {
    fn from(s: Stop) -> Failure {
        match s {
            Stop::Input(e @ InputError::Ticket { .. }) => Failure::Usage(e.to_string()),
            Stop::Input(e) => Failure::Runtime(e.to_string()),
            Stop::Write(e) => Failure::Runtime(format!("writing: {e}")),
        }
    }
}

fn instant(flag: &str, text: Option<&str>) -> Result<Option<i64>, Failure> {
    text.map(|t| parse_instant(t).map_err(|e| Failure::Usage(format!("--{flag}: {e}"))))
        .transpose()
}

pub(crate) fn run(args: EvaluateArgs) -> Result<(), Failure> {
    let config = load(&args.config)?;
    let what_if: Option<Config> = args.what_if.as_deref().map(load).transpose()?;
    let format = match args.format {
        FormatArg::Json => Format::Json,
        FormatArg::Csv => Format::Csv,
        FormatArg::Md => Format::Md,
    };
    if format == Format::Csv && args.clocks && args.credits {
        return Err(Failure::Usage(
            "csv writes one table: give --clocks or --credits, not both (or use --format json or md)"
                .into(),
        ));
    }
    let now = instant("now", args.now.as_deref())?.unwrap_or_else(crate::clock::now_unix);
    let opts = Options {
        now,
        from: instant("from", args.from.as_deref())?,
        to: instant("to", args.to.as_deref())?,
        group_by: Dimension::parse_list(&args.group_by)
            .map_err(|e| Failure::Usage(format!("--group-by: {e}")))?,
        clocks: args.clocks,
        credits: args.credits,
        format,
    };
    let mut about = vec![format!(
        "config {} ({})",
        args.config.display(),
        config.hash
    )];
    if let (Some(path), Some(c)) = (&args.what_if, &what_if) {
        about.push(format!("what-if config {} ({})", path.display(), c.hash));
    }
    about.push(match (opts.from, opts.to) {
        (None, None) => format!("every clock, as of {}", format_instant(now)),
        (from, to) => format!(
            "clocks that started from {} to {} (credits: tickets created then), as of {}",
            from.map_or_else(|| "the first".into(), format_instant),
            to.map_or_else(|| "the last".into(), format_instant),
            format_instant(now)
        ),
    });
    let stdout = io::stdout();
    let out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut evaluation = Evaluation::new(&config, what_if.as_ref(), opts, &about, out)
        .map_err(|e| Failure::Runtime(format!("writing: {e}")))?;
    let started = Instant::now();
    let read = match (&args.tickets, &args.store) {
        (Some(path), _) => {
            let reader: Box<dyn BufRead> = if path == "-" {
                Box::new(BufReader::with_capacity(INPUT_BUFFER, io::stdin().lock()))
            } else {
                let file = std::fs::File::open(path)
                    .map_err(|e| Failure::Usage(format!("cannot read {path}: {e}")))?;
                Box::new(BufReader::with_capacity(INPUT_BUFFER, file))
            };
            for_each_ticket(path, reader, |t| evaluation.add(t).map_err(Stop::Write))?
        }
        (None, Some(store)) => from_store(&config, store, args.source.as_deref(), &mut evaluation)?,
        (None, None) => {
            return Err(Failure::Usage(
                "give --tickets FILE or --store STORE".into(),
            ))
        }
    };
    let totals = evaluation
        .finish()
        .map_err(|e| Failure::Runtime(format!("writing: {e}")))?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "evaluated {read} tickets ({} clocks) in {secs:.2} s, {:.0} tickets/s",
        totals.clocks,
        read as f64 / secs.max(1e-9)
    );
    Ok(())
}

/// Tickets read from a store, a chunk at a time.
fn from_store<W: io::Write>(
    config: &Config,
    location: &str,
    only: Option<&str>,
    evaluation: &mut Evaluation<'_, W>,
) -> Result<u64, Failure> {
    let store = super::open_store_to_read(location)?;
    let sources: Vec<String> = match only {
        Some(s) if config.sources.contains_key(s) => vec![s.to_string()],
        Some(s) => {
            return Err(Failure::Usage(format!(
                "--source {s:?}: the config has no such source; it has: {}",
                config
                    .sources
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
        None => config.sources.keys().cloned().collect(),
    };
    let mut read = 0u64;
    for source in sources {
        let ids = store
            .ticket_ids(&source)
            .map_err(|e| Failure::Runtime(e.to_string()))?;
        for chunk in ids.chunks(2_000) {
            for t in store
                .tickets(&source, chunk)
                .map_err(|e| Failure::Runtime(e.to_string()))?
            {
                evaluation
                    .add(&t)
                    .map_err(|e| Failure::Runtime(format!("writing: {e}")))?;
                read += 1;
            }
        }
    }
    Ok(read)
}
