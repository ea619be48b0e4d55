//! `helpdesk-slo calendar …`: debug deadlines, count business time, batch.

use std::io::{self, BufWriter};
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::batch::run_batch;
use super::{load, Failure};
use crate::calendar::{format_seconds, BusinessDuration};
use crate::time::{format_instant, format_local, format_offset, parse_instant};

#[derive(Debug, Args)]
pub(crate) struct Target {
    /// The config file (YAML) that defines the calendar.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// The calendar's name under `calendars:`.
    #[arg(long, value_name = "NAME")]
    calendar: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CalendarCommand {
    /// Print when a business duration that starts at an instant is due.
    #[command(
        after_help = "Example:\n  helpdesk-slo calendar deadline --config examples/workato.yaml \
        --calendar business-hours --start 2026-11-20T23:30:00Z --duration 1h\n\n\
        Prints the deadline in RFC 3339 UTC, then in the calendar's local time. \
        The deadline is the earliest instant t >= start with exactly DURATION of open \
        time in [start, t); a zero duration gives the start itself."
    )]
    Deadline {
        #[command(flatten)]
        target: Target,
        /// The start instant, RFC 3339 (2026-11-20T16:30:00Z or with an offset).
        #[arg(long, value_name = "INSTANT")]
        start: String,
        /// Business time: 45m, 4h, 1h30m, 2d (d = the calendar's business day).
        #[arg(long, value_name = "DURATION")]
        duration: String,
    },
    /// Print the business seconds between two instants.
    #[command(
        after_help = "Example:\n  helpdesk-slo calendar between --config examples/workato.yaml \
        --calendar business-hours --start 2026-11-20T16:00:00Z --end 2026-11-23T18:00:00Z\n\n\
        Prints the open seconds in [start, end), then the same as hours and minutes."
    )]
    Between {
        #[command(flatten)]
        target: Target,
        /// Start of the range (inclusive), RFC 3339.
        #[arg(long, value_name = "INSTANT")]
        start: String,
        /// End of the range (exclusive), RFC 3339.
        #[arg(long, value_name = "INSTANT")]
        end: String,
    },
    /// List the open periods of a calendar in a range, in UTC and local time.
    #[command(
        after_help = "Example:\n  helpdesk-slo calendar show --config examples/celigo.yaml \
        --calendar preferred --start 2026-11-01T00:00:00Z --days 7"
    )]
    Show {
        #[command(flatten)]
        target: Target,
        /// Start of the range, RFC 3339.
        #[arg(long, value_name = "INSTANT")]
        start: String,
        /// Length of the range in days.
        #[arg(long, default_value_t = 7)]
        days: u32,
    },
    /// Answer JSON lines from stdin, one JSON line out per line in, in order.
    #[command(
        after_help = "Example:\n  echo '{\"calendar\":\"business-hours\",\"op\":\"deadline\",\
        \"start\":\"2026-11-20T16:30:00Z\",\"seconds\":3600}' | \
        helpdesk-slo calendar batch --config examples/workato.yaml\n\n\
        Input lines:\n  {\"calendar\":\"NAME\",\"op\":\"deadline\",\"start\":\"…Z\",\"seconds\":N}  \
        -> {\"deadline\":\"…Z\"}\n  {\"calendar\":\"NAME\",\"op\":\"between\",\"start\":\"…Z\",\
        \"end\":\"…Z\"}  -> {\"seconds\":N}\nA bad line gets {\"error\":\"…\"} naming the line \
        and what is wrong; the batch goes on. Empty lines are echoed as empty lines."
    )]
    Batch {
        /// The config file (YAML) that defines the calendars.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
}

fn instant(text: &str, flag: &str) -> Result<i64, Failure> {
    parse_instant(text).map_err(|e| Failure::Usage(format!("--{flag}: {e}")))
}

pub(crate) fn run(cmd: CalendarCommand) -> Result<(), Failure> {
    match cmd {
        CalendarCommand::Deadline {
            target,
            start,
            duration,
        } => {
            let cfg = load(&target.config)?;
            let cal = cfg.calendar(&target.calendar).map_err(Failure::Usage)?;
            let start = instant(&start, "start")?;
            let duration: BusinessDuration = duration
                .parse()
                .map_err(|e| Failure::Usage(format!("--duration: {e}")))?;
            let seconds = cal.duration_seconds(duration);
            let due = cal
                .deadline(start, seconds)
                .map_err(|e| Failure::Runtime(e.to_string()))?;
            println!("{}", format_instant(due));
            println!(
                "{}  {}  ({} business time, 1d = {})",
                format_offset(due, cal.timezone()),
                format_local(due, cal.timezone()),
                format_seconds(seconds),
                format_seconds(cal.day_length()),
            );
            Ok(())
        }
        CalendarCommand::Between { target, start, end } => {
            let cfg = load(&target.config)?;
            let cal = cfg.calendar(&target.calendar).map_err(Failure::Usage)?;
            let (a, b) = (instant(&start, "start")?, instant(&end, "end")?);
            if b < a {
                return Err(Failure::Usage(format!(
                    "--end {end} is before --start {start}; the range is [start, end)"
                )));
            }
            let secs = cal
                .business_seconds(a, b)
                .map_err(|e| Failure::Runtime(e.to_string()))?;
            println!("{secs}");
            println!("{} business time", format_seconds(secs));
            Ok(())
        }
        CalendarCommand::Show {
            target,
            start,
            days,
        } => {
            let cfg = load(&target.config)?;
            let cal = cfg.calendar(&target.calendar).map_err(Failure::Usage)?;
            let from = instant(&start, "start")?;
            let to = (from + i64::from(days) * 86_400).min(crate::calendar::MAX_INSTANT);
            let tz = cal.timezone();
            let periods = cal
                .open_intervals(from, to)
                .map_err(|e| Failure::Runtime(e.to_string()))?;
            println!("calendar {} ({}), open periods:", cal.name(), tz.name());
            for (a, b) in &periods {
                println!(
                    "  {} .. {}   {} .. {}   {}",
                    format_instant(*a),
                    format_instant(*b),
                    format_local(*a, tz),
                    format_local(*b, tz),
                    format_seconds(b - a)
                );
            }
            let total: i64 = periods.iter().map(|(a, b)| b - a).sum();
            println!(
                "total {} in {} periods",
                format_seconds(total),
                periods.len()
            );
            Ok(())
        }
        CalendarCommand::Batch { config } => {
            let cfg = load(&config)?;
            let stdin = io::stdin().lock();
            let stdout = BufWriter::with_capacity(1 << 16, io::stdout().lock());
            run_batch(&cfg, stdin, stdout)
                .map(|_| ())
                .map_err(|e| Failure::Runtime(format!("batch: {e}")))
        }
    }
}
