//! The `helpdesk-slo` command line.
//!
//! Each subcommand is a small function over the library; exit status 0 on
//! success, 1 on a runtime error, 2 on bad usage or a rejected config. Errors
//! go to stderr as one readable line.

pub mod batch;
mod calendar;
mod demo;
mod demo_freshdesk;
mod demo_jsm;
mod evaluate;
mod explain;
mod import;
mod import_freshdesk;
mod reconcile;
mod report;
mod rules;
mod run;
mod simulate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::policy::Config;

#[derive(Debug, Parser)]
#[command(
    name = "helpdesk-slo",
    version,
    about = "Business-hours-aware SLA/SLO attainment from helpdesk tickets",
    long_about = "Business-hours-aware SLA/SLO attainment from helpdesk tickets.\n\n\
        Polls helpdesks (Zendesk) into a store, keeps every ticket's SLA clocks current on \
        support calendars (time zone, weekly hours, holidays, closures), and exposes them as \
        Prometheus metrics, a JSON API, alert rules and monthly reports; evaluates exported \
        tickets offline. Exit status: 0 ok, 1 a failure at run time, 2 bad input.",
    after_help = "Examples:\n  helpdesk-slo check --config examples/celigo.yaml\n  \
        helpdesk-slo calendar deadline --config examples/celigo.yaml --calendar preferred \
        --start 2026-11-20T16:30:00Z --duration 4h"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole product on an embedded default: a simulated Zendesk
    /// (or, with --helpdesk freshdesk or jira-service-management, Freshdesk
    /// or Jira Service Management) with months of tickets, the daemon,
    /// /metrics, the JSON API and last month's report.
    #[command(
        after_help = "Example:\n  helpdesk-slo demo\n  helpdesk-slo demo --listen 127.0.0.1:9999 --days 90 --dir demo-state\n  helpdesk-slo demo --helpdesk freshdesk\n  helpdesk-slo demo --helpdesk jira-service-management\n\n\
        Prints the URLs of /metrics and the JSON API and the path of the report once the \
        backfill is done, then keeps running (new tickets arrive every few seconds) until Ctrl-C. \
        Needs no network and no helpdesk account."
    )]
    Demo(demo::DemoArgs),
    /// Validate a config file and summarise what it defines.
    #[command(
        after_help = "Example:\n  helpdesk-slo check --config examples/workzoom.yaml\n\n\
            Exit status 0 when the config is valid; 2 with an error naming the file, line, \
            key and what would be valid otherwise. Every key of the config is in docs/config.md."
    )]
    Check {
        /// The config file (YAML).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Print every SLA clock of a ticket timeline: when it started, paused,
    /// was met or breached, and when an open one is due.
    #[command(
        after_help = "Example:\n  helpdesk-slo explain --config examples/celigo.yaml \
        --now 2026-11-23T18:00:00Z tests/testdata/tickets/celigo-preferred-urgent.json\n\n\
        The input is one ticket timeline in JSON, or JSON lines of many (- reads stdin); \
        docs/timeline.md gives its form, docs/engine.md how each clock is counted. \
        --format json prints one line per ticket with every clock: metric, instance, plan, \
        severity, start, due_at, state, reason, fulfilled_at, breached_at, elapsed_seconds, \
        paused_seconds, remaining_seconds."
    )]
    Explain(explain::ExplainArgs),
    /// SLA clocks, attainment per group, credits and what-if from exported
    /// ticket timelines (or a store), with no daemon.
    #[command(
        after_help = "Examples:\n  helpdesk-slo evaluate --config examples/celigo.yaml --tickets tickets.jsonl \
        --from 2026-07-01T00:00:00Z --to 2026-10-01T00:00:00Z --credits\n  \
        helpdesk-slo evaluate --config examples/celigo.yaml --tickets tickets.jsonl \
        --what-if faster-urgent.yaml --format json\n\n\
        The input is ticket timelines, one JSON object per line (docs/timeline.md); - reads stdin. \
        --from/--to count the clocks that started in [from, to); credits count the tickets created \
        in it, per customer and credit period. Markdown (default) writes every table; json writes \
        one record per line (record: clock, group, credit, transition, mover, totals); csv writes \
        one table: the clocks with --clocks, the credits with --credits, else attainment. \
        Prints how many tickets it read, and how fast, on stderr."
    )]
    Evaluate(evaluate::EvaluateArgs),
    /// Business-time arithmetic on a calendar of a config: deadlines, business
    /// seconds between instants, open periods, batches.
    #[command(
        subcommand,
        after_help = "Example:\n  helpdesk-slo calendar deadline --config examples/workato.yaml \
            --calendar business-hours --start 2026-11-21T00:30:00Z --duration 1h"
    )]
    Calendar(calendar::CalendarCommand),
    /// Serve a synthetic Zendesk (the API subset the adapter reads), with data
    /// shaped by a config's plans, severities and calendars.
    #[command(
        after_help = "Example:\n  HELPDESK_SLO_SIM_TOKEN=secret helpdesk-slo simulate \
            --config examples/celigo.yaml --listen 127.0.0.1:8089 --seed 7 --days 30\n\n\
            Prints the base URL and where the token comes from. Clients authenticate with \
            Basic base64(EMAIL/token:TOKEN) or Bearer TOKEN."
    )]
    Simulate(simulate::SimulateArgs),
    /// Run the daemon: poll the configured helpdesks into the store and keep
    /// every ticket's SLA clocks current.
    #[command(
        after_help = "Example:\n  helpdesk-slo run --config helpdesk-slo.yaml --store /var/lib/helpdesk-slo/store.sqlite\n\n\
        The config's `sources:` names each helpdesk (kind, url, auth with the token from an \
        environment variable or a file, start_time). A first start backfills from start_time with \
        progress in the logs; a restart resumes from the stored cursors. --once stops when every \
        source is caught up. SIGTERM/SIGINT stop after the page in flight; nothing is lost."
    )]
    Run(run::RunArgs),
    /// Read a Zendesk account's SLA policies, schedules and holidays and print
    /// the equivalent config (calendars, severities, metrics, plans).
    #[command(
        after_help = "Example:\n  ZENDESK_API_TOKEN=... helpdesk-slo import-zendesk-policies \
        --url https://acme.zendesk.com --email admin@acme.com --out helpdesk-slo.yaml\n\n\
        Needs an admin's API token (with --email) or OAuth token (without), from \
        $ZENDESK_API_TOKEN, --token-env VARIABLE or --token-file FILE; the token is never \
        printed. The config is checked to load before it is written. Comments starting with \
        APPROXIMATION say where Zendesk and helpdesk-slo differ (filter conditions a plan match \
        cannot say, pausable update and wait/work-time metrics, calendar-hours targets); review \
        them, then add objectives, credits and `sources:`."
    )]
    ImportZendeskPolicies(import::ImportArgs),
    /// Read a Freshdesk account's SLA policies and business hours (with
    /// holidays) and print the equivalent config.
    #[command(
        after_help = "Example:\n  FRESHDESK_API_KEY=... helpdesk-slo import-freshdesk-policies \
        --url https://acme.freshdesk.com --out helpdesk-slo.yaml\n\n\
        Needs an admin's API key, from $FRESHDESK_API_KEY, --api-key-env VARIABLE or \
        --api-key-file FILE; the key is never printed. The config is checked to load before it is \
        written. Comments starting with APPROXIMATION say where Freshdesk and helpdesk-slo differ \
        (conditions on groups, sources or products, yearly holidays, one calendar per plan); \
        review them, then add objectives, credits and `sources:` (docs/freshdesk.md)."
    )]
    ImportFreshdeskPolicies(import_freshdesk::ImportFreshdeskArgs),
    /// Write a month's markdown SLA report from the store: attainment per
    /// plan, breached tickets, SLA credits, data quality, methodology.
    #[command(
        after_help = "Example:\n  helpdesk-slo report --config helpdesk-slo.yaml --store helpdesk-slo.sqlite \
        --month 2026-10 --out reports\n\n\
        Writes DIR/2026-10.md (with -plan-P and -customer-ORG suffixes when filtered) and prints \
        its path. The same store and config give the same bytes: the data cut-off is the last \
        completed poll in the store, and the report states it. --month defaults to the last full \
        month in the config's reports.timezone (UTC if not set)."
    )]
    Report(report::ReportArgs),
    /// Compare the stored clocks with the helpdesk's own SLA record
    /// (Zendesk's ticket metric events, Jira Service Management's SLA
    /// cycles): agreement per plan and metric, and
    /// every difference with its ticket and likely causes.
    #[command(
        after_help = "Example:\n  helpdesk-slo reconcile --config helpdesk-slo.yaml --store helpdesk-slo.sqlite \
        --from 2026-10-01 --to 2026-11-01\n\n\
        Needs a source that reads the helpdesk's record (Zendesk: ticket_metric_events: true; \
        Jira Service Management: always) and \
        a store the daemon has polled since. --format json or csv for tools. Each outcome \
        (agree, differ, missing_ours, missing_theirs) and cause is explained in docs/reconcile.md."
    )]
    Reconcile(reconcile::ReconcileArgs),
    /// Write the Prometheus alerting and recording rules of a config (or the
    /// exporter's health rules) and their `promtool test rules` tests.
    #[command(
        after_help = "Example:\n  helpdesk-slo rules --config examples/celigo.yaml --out alerts\n  \
        helpdesk-slo rules --exporter --out alerts\n\n\
        Writes DIR/NAME.rules.yaml and DIR/tests/NAME.test.yaml (NAME: the config file's stem, or \
        exporter). Burn-rate factors that could never fire at a plan's objective are replaced by a \
        reachable one, and the file's comments say so; an objective of 100% is rejected. Check the \
        result with `promtool check rules` and `promtool test rules`."
    )]
    Rules(rules::RulesArgs),
}

/// Runs the CLI on the process arguments.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(
        cli.command,
        Command::Run(_) | Command::Demo(_) | Command::Simulate(_)
    ) {
        end_quietly_on_a_closed_pipe();
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(1)
        }
    }
}

/// A command that prints and exits (`check`, `report --stdout`, `calendar
/// show`, …) piped into `head` ends quietly when the reader closes the
/// pipe, as Unix tools do, instead of panicking on the failed write: the
/// default action of SIGPIPE, which Rust's runtime ignores, is restored.
/// Not for the commands that serve (`run`, `demo`, `simulate`): a client
/// that hangs up must not end a server.
fn end_quietly_on_a_closed_pipe() {
    #[cfg(target_os = "linux")]
    // SAFETY: signal() with SIG_DFL installs no handler of ours and touches
    // no memory; it runs before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Why a command failed: the user's input, or something at run time.
#[derive(Debug)]
pub(crate) enum Failure {
    Usage(String),
    Runtime(String),
}

impl From<crate::daemon::DaemonError> for Failure {
    /// The daemon's bad input (config, web config, a source's settings, a
    /// store location) is a usage error; the rest failed at run time.
    fn from(e: crate::daemon::DaemonError) -> Failure {
        if e.is_bad_input() {
            Failure::Usage(e.to_string())
        } else {
            Failure::Runtime(e.to_string())
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Check { config } => {
            let cfg = load(&config)?;
            print!("{}", summary(&cfg));
            Ok(())
        }
        Command::Calendar(cmd) => calendar::run(cmd),
        Command::Explain(args) => explain::run(args),
        Command::Reconcile(args) => reconcile::run(args),
        Command::Evaluate(args) => evaluate::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Run(args) => run::run_daemon(args),
        Command::Demo(args) => demo::run(args),
        Command::ImportZendeskPolicies(args) => import::run(args),
        Command::ImportFreshdeskPolicies(args) => import_freshdesk::run(args),
        Command::Report(args) => report::run(args),
        Command::Rules(args) => rules::run(args),
    }
}

/// What `check` prints about a valid config.
fn summary(cfg: &Config) -> String {
    use crate::calendar::format_seconds;
    use std::fmt::Write;
    let mut out = String::new();
    let p = &cfg.policy;
    let _ = writeln!(out, "{}: ok (config {})", cfg.path.display(), cfg.hash);
    for (name, cal) in &cfg.calendars {
        let rules = cal.rules();
        let _ = writeln!(
            out,
            "  calendar {name}: {}, {} open per week, 1d = {}, {} holidays, {} closures",
            rules.tz.name(),
            format_seconds(i64::from(rules.weekly.weekly_seconds())),
            format_seconds(cal.day_length()),
            rules.holidays.len(),
            rules.closures.len(),
        );
    }
    if !p.severities.is_empty() {
        let _ = writeln!(
            out,
            "  severities (most severe first): {}",
            p.severities.join(", ")
        );
    }
    for m in &p.metrics {
        let _ = writeln!(out, "  metric {}: {}", m.name, m.kind.as_str());
    }
    for plan in &p.plans {
        let targets = plan
            .targets
            .iter()
            .flatten()
            .filter(|t| t.is_some())
            .count();
        let _ = writeln!(
            out,
            "  plan {}: calendar {}, precedence {}{}, {} targets{}{}",
            plan.name,
            plan.calendar_name,
            plan.precedence,
            if p.default_plan.is_some_and(|d| p.plans[d].name == plan.name) {
                " (default)"
            } else {
                ""
            },
            targets,
            plan.objective.map_or(String::new(), |o| format!(
                ", objective {}%",
                (o * 1000.0).round() / 10.0
            )),
            plan.credits.map_or(String::new(), |c| format!(
                ", credits {}",
                p.credits[c].name
            )),
        );
    }
    for c in &p.credits {
        let _ = writeln!(out, "  credit table {}: {} rows", c.name, c.tiers.len());
    }
    if !p.exclusions.is_empty() {
        let _ = writeln!(out, "  exclusions: {}", p.exclusions.len());
    }
    out
}

/// Opens a store a command only reads (`report`, `evaluate`): a store
/// file must exist already (reading never creates one); a location this
/// build cannot open is bad input.
pub(crate) fn open_store_to_read(location: &str) -> Result<Box<dyn crate::store::Store>, Failure> {
    use crate::store::{StoreError, StoreLocation};
    let parsed = StoreLocation::parse(location).map_err(|e| Failure::Usage(e.to_string()))?;
    if let StoreLocation::SqliteFile(path) = &parsed {
        if !path.exists() {
            return Err(Failure::Usage(format!(
                "store {} does not exist; give --store with the store the daemon writes (`run --store`)",
                path.display()
            )));
        }
    }
    parsed.open().map_err(|e| match e {
        StoreError::Unsupported { .. } => Failure::Usage(e.to_string()),
        _ => Failure::Runtime(e.to_string()),
    })
}

pub(crate) fn load(path: &std::path::Path) -> Result<Config, Failure> {
    crate::config_files::load(path).map_err(|e| Failure::Usage(e.to_string()))
}
