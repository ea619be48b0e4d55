//! `helpdesk-slo demo`: the whole product on an embedded default, on one
//! machine with no helpdesk account.
//!
//! Starts the Zendesk emulator in-process with months of synthetic tickets
//! on the plans of a config (the embedded Celigo example unless `--config`
//! names another) — or, with `--helpdesk freshdesk`, the Freshdesk emulator
//! with a synthetic account on the embedded Freshdesk example
//! ([`super::demo_freshdesk`]), or with `--helpdesk
//! jira-service-management` (`jsm`), the JSM emulator with a synthetic
//! site on the embedded JSM example ([`super::demo_jsm`]) — writes a
//! config whose source points at it, and runs the real daemon against it
//! over HTTP with its store in a scratch folder. Once the backfill is done
//! it writes last month's report and prints where everything is; then it
//! keeps running, with new tickets arriving every few seconds so imminent
//! breaches come and go, until SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use tokio::sync::{oneshot, watch};
use tracing::{debug, info, warn};

use super::run::{init_logs, LogFormat};
use super::Failure;
use super::{demo_freshdesk, demo_jsm};
use crate::clock::now_unix;
use crate::config_files::FileSystem;
use crate::daemon::{run_with, Options};
use crate::policy::{Config, IncludedFiles};
use crate::simulator::generator::{generate, organization_plan, GeneratorOptions, NewTicket};
use crate::simulator::zendesk::{start, ServerOptions, SimState, DEMO_TOKEN};

/// The embedded default policy: seed 003 (Celigo), four plans, quarterly
/// credits, US Pacific calendars with US federal holidays.
const EMBEDDED_CONFIG: &str = include_str!("../../examples/celigo.yaml");

/// The helpdesk the demo emulates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Helpdesk {
    Zendesk,
    Freshdesk,
    #[value(alias = "jsm")]
    JiraServiceManagement,
}

impl Helpdesk {
    /// The embedded example a helpdesk other than Zendesk runs, with its
    /// name and the file name it is read as.
    fn embedded(self) -> Option<(&'static str, &'static str, &'static str)> {
        match self {
            Helpdesk::Zendesk => None,
            Helpdesk::Freshdesk => Some((
                demo_freshdesk::EMBEDDED_CONFIG,
                "the embedded Freshdesk example (examples/freshdesk.yaml)",
                "freshdesk.yaml",
            )),
            Helpdesk::JiraServiceManagement => Some((
                demo_jsm::EMBEDDED_CONFIG,
                "the embedded Jira Service Management example (examples/jsm.yaml)",
                "jsm.yaml",
            )),
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// The helpdesk to emulate: zendesk (on the embedded Celigo example or
    /// --config), freshdesk (a synthetic Freshdesk account with its daily
    /// activities export, on the embedded Freshdesk example), or
    /// jira-service-management, also jsm (a synthetic Jira Service
    /// Management site, on the embedded JSM example).
    #[arg(long, value_enum, default_value_t = Helpdesk::Zendesk)]
    helpdesk: Helpdesk,
    /// A config whose plans, severities and calendars shape the synthetic
    /// tickets [default: the embedded Celigo example]. Its `sources:` are
    /// replaced by the emulator. Zendesk only.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where the daemon serves /metrics and the JSON API.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9887")]
    listen: SocketAddr,
    /// Folder for the store, the generated config and the reports
    /// [default: a new folder under the system's temp folder, removed on
    /// exit; kept and printed with --exit-after-report].
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Days of ticket history before now, 60 to 730.
    #[arg(long, default_value_t = 75, value_parser = clap::value_parser!(u32).range(60..=730))]
    days: u32,
    /// Tickets created per day, on average.
    #[arg(long, default_value_t = 60)]
    tickets_per_day: u32,
    /// Seed of the synthetic data (the same seed gives the same history).
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Stop once the report is written instead of running on (for scripts).
    #[arg(long)]
    exit_after_report: bool,
    /// Log lines for people (text) or for log pipelines (json).
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
}

pub(crate) fn run(args: DemoArgs) -> Result<(), Failure> {
    init_logs(args.log_format);
    let own_config = match args.helpdesk {
        Helpdesk::Zendesk => None,
        Helpdesk::Freshdesk => Some(
            "the Freshdesk demo runs the embedded examples/freshdesk.yaml, whose plans \
             match its synthetic companies' plan field",
        ),
        Helpdesk::JiraServiceManagement => Some(
            "the Jira Service Management demo runs the embedded examples/jsm.yaml, whose \
             plans match its synthetic organizations (premier: organizations 1 and 2)",
        ),
    };
    if let (Some(_), Some(why)) = (&args.config, own_config) {
        return Err(Failure::Usage(format!(
            "--config is for the Zendesk demo: {why}"
        )));
    }
    let (policy_text, policy_name) = match (&args.config, args.helpdesk.embedded()) {
        (None, Some((text, name, _))) => (text.to_string(), name.to_string()),
        (Some(path), _) => (
            std::fs::read_to_string(path).map_err(|e| {
                Failure::Usage(format!("cannot read config {}: {e}", path.display()))
            })?,
            path.display().to_string(),
        ),
        (None, None) => (
            EMBEDDED_CONFIG.to_string(),
            "the embedded Celigo example (examples/celigo.yaml)".to_string(),
        ),
    };
    let config_path = args.config.clone().unwrap_or_else(|| {
        PathBuf::from(
            args.helpdesk
                .embedded()
                .map_or("celigo.yaml", |(_, _, file)| file),
        )
    });
    let policy = crate::config_files::from_yaml(&policy_text, &config_path)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!(
            "helpdesk-slo-demo-{}-{}",
            std::process::id(),
            now_unix()
        )),
    };
    std::fs::create_dir_all(&dir)
        .map_err(|e| Failure::Runtime(format!("cannot create {}: {e}", dir.display())))?;
    if args.config.is_some() {
        copy_includes(&policy_text, &config_path, &dir)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Runtime(format!("cannot start the async runtime: {e}")))?;
    let temporary = args.dir.is_none();
    let keep = args.exit_after_report;
    let result = runtime.block_on(demo(args, policy, policy_text, policy_name, dir.clone()));
    drop(runtime);
    if temporary {
        // The folder was ours: an interactive run cleans up after itself; a
        // scripted one (--exit-after-report) leaves its report to be read.
        if keep {
            println!(
                "The store, config and reports are left in {}",
                dir.display()
            );
        } else {
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => println!(
                    "Removed the demo's folder {} (run with --dir DIR to keep the store and reports).",
                    dir.display()
                ),
                Err(e) => println!("Left the demo's folder {} ({e}).", dir.display()),
            }
        }
    }
    result
}

/// Drops any `sources:` section of a config text (the demo supplies its
/// own): everything from a top-level `sources:` line to the next top-level
/// key.
fn without_sources(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut skipping = false;
    for line in text.lines() {
        let top_level = !line.starts_with([' ', '\t', '#']) && !line.is_empty();
        if top_level {
            skipping = line.starts_with("sources:");
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

async fn demo(
    args: DemoArgs,
    policy: Config,
    policy_text: String,
    policy_name: String,
    dir: PathBuf,
) -> Result<(), Failure> {
    let now = now_unix();
    let start_at = now - i64::from(args.days) * 86_400;
    info!(days = args.days, tickets_per_day = args.tickets_per_day, seed = args.seed, policy = %policy_name, "generating synthetic tickets");
    let severities = policy.policy.severities.clone();
    let token_file = dir.join("token");
    let source_start = crate::time::format_instant(start_at - 86_400);
    let (emulator, tickets, helpdesk_name, source) = match args.helpdesk {
        Helpdesk::Zendesk => {
            let options = realistic(
                &policy.policy,
                GeneratorOptions {
                    seed: args.seed,
                    organizations: 40,
                    days: args.days,
                    tickets_per_day: args.tickets_per_day,
                    start: start_at,
                    now: Some(now),
                    ..GeneratorOptions::default()
                },
            );
            let mut data = generate(&policy, &options);
            seed_at_risk(
                &mut data,
                now,
                severities.first().map_or("urgent", String::as_str),
            );
            let tickets = data.tickets.len();
            let sim = SimState::new(&policy, data, ServerOptions::default());
            let server = start(sim)
                .await
                .map_err(|e| Failure::Runtime(format!("cannot start the emulator: {e}")))?;
            let source = format!(
                "  zendesk:\n    kind: zendesk\n    url: {}\n    auth: {{ email: demo@example.com, token: {{ file: {} }} }}\n    start_time: {source_start}\n    poll_interval: 5s\n    ticket_metric_events: true\n",
                server.base_url(),
                token_file.display(),
            );
            (Emulator::Zendesk(server), tickets, "Zendesk", source)
        }
        Helpdesk::Freshdesk => {
            let (server, tickets) =
                demo_freshdesk::emulator(args.seed, args.days, args.tickets_per_day, now)
                    .await
                    .map_err(|e| Failure::Runtime(format!("cannot start the emulator: {e}")))?;
            let source = demo_freshdesk::source_yaml(
                &server,
                &token_file.display().to_string(),
                &source_start,
            );
            (Emulator::Freshdesk(server), tickets, "Freshdesk", source)
        }
        Helpdesk::JiraServiceManagement => {
            let (server, tickets) =
                demo_jsm::emulator(args.seed, args.days, args.tickets_per_day, now)
                    .await
                    .map_err(|e| Failure::Runtime(format!("cannot start the emulator: {e}")))?;
            let source =
                demo_jsm::source_yaml(&server, &token_file.display().to_string(), &source_start);
            (
                Emulator::Jsm(server),
                tickets,
                "Jira Service Management",
                source,
            )
        }
    };
    std::fs::write(&token_file, format!("{}\n", emulator.secret()))
        .map_err(|e| Failure::Runtime(format!("cannot write {}: {e}", token_file.display())))?;
    let config_file = dir.join("config.yaml");
    let text = format!(
        "# Generated by `helpdesk-slo demo` from {policy_name}:\n# the policy, plus a source pointing at the in-process {helpdesk_name} emulator.\n{}\nsources:\n{source}",
        without_sources(&policy_text),
    );
    std::fs::write(&config_file, text)
        .map_err(|e| Failure::Runtime(format!("cannot write {}: {e}", config_file.display())))?;
    let reports = dir.join("reports");
    std::fs::create_dir_all(&reports)
        .map_err(|e| Failure::Runtime(format!("cannot create {}: {e}", reports.display())))?;
    let store = dir.join("store.sqlite");

    let (stop_tx, stop_rx) = watch::channel(false);
    let (started_tx, started_rx) = oneshot::channel();
    let opts = Options {
        config: config_file.clone(),
        store: Some(store.display().to_string()),
        once: false,
        listen: Some(args.listen),
        reports_dir: Some(reports.clone()),
        web_config: None,
        early_recompute_at_normal_priority: false,
        ..Options::default()
    };
    let daemon = tokio::spawn(run_with(opts, stop_rx.clone(), Some(started_tx)));
    let Ok((bound, state)) = started_rx.await else {
        // The daemon stopped before serving: its error says why.
        return match daemon.await {
            Ok(Err(e)) => Err(e.into()),
            _ => Err(Failure::Runtime("the daemon stopped at start".into())),
        };
    };
    let base = bound.map_or_else(String::new, |a| format!("http://{a}"));
    info!(tickets, emulator = %emulator.base_url(), "backfilling from the emulator");

    // Wait for the first complete poll of every stream.
    loop {
        let polled = state
            .health
            .lock()
            .map(|h| h.sources.values().all(|s| s.last_success > 0))
            .unwrap_or(false);
        if polled {
            break;
        }
        if daemon.is_finished() {
            return match daemon.await {
                Ok(Err(e)) => Err(e.into()),
                _ => Err(Failure::Runtime(
                    "the daemon stopped during the backfill".into(),
                )),
            };
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    state.refresh(now_unix());

    let report = write_last_month_report(&config_file, &store, &reports);
    // Listening for Ctrl-C from before the banner invites it.
    let stop_signal = stop_signals();
    println!();
    println!(
        "helpdesk-slo demo is running ({tickets} synthetic {helpdesk_name} tickets over {} days, {policy_name})",
        args.days
    );
    println!("  metrics:        {base}/metrics");
    println!("  at-risk clocks: {base}/api/v1/clocks?state=at_risk");
    println!("  breached:       {base}/api/v1/clocks?state=breached");
    println!("  reports:        {base}/api/v1/reports");
    match &report {
        Ok(path) => println!("  last month:     {}", path.display()),
        Err(e) => println!("  last month:     not written: {e}"),
    }
    println!("  config:         {}", config_file.display());
    println!("  store:          {}", store.display());
    println!("  emulator:       {}", emulator.banner());
    println!("Stop with Ctrl-C.");

    if !args.exit_after_report {
        let arrivals = match &emulator {
            Emulator::Zendesk(server) => tokio::spawn(new_arrivals(
                server.state().clone(),
                args.seed,
                severities.clone(),
                stop_rx.clone(),
            )),
            Emulator::Freshdesk(server) => tokio::spawn(demo_freshdesk::new_arrivals(
                server.state().clone(),
                args.seed,
                stop_rx.clone(),
            )),
            Emulator::Jsm(server) => tokio::spawn(demo_jsm::new_arrivals(
                server.state().clone(),
                args.seed,
                stop_rx.clone(),
            )),
        };
        stop_signal.await;
        info!("shutting down");
        let _ = stop_tx.send(true);
        let _ = arrivals.await;
    } else {
        let _ = stop_tx.send(true);
    }
    let result = daemon
        .await
        .map_err(|e| Failure::Runtime(format!("the daemon task failed: {e}")))?;
    emulator.shutdown().await;
    result?;
    report.map(|_| ()).map_err(Failure::Runtime)
}

/// The emulator the demo's daemon polls.
enum Emulator {
    Zendesk(crate::simulator::zendesk::Server),
    Freshdesk(crate::simulator::freshdesk::Server),
    Jsm(crate::simulator::jsm::Server),
}

impl Emulator {
    fn base_url(&self) -> String {
        match self {
            Emulator::Zendesk(s) => s.base_url(),
            Emulator::Freshdesk(s) => s.base_url(),
            Emulator::Jsm(s) => s.base_url(),
        }
    }

    /// The API token (Zendesk, JSM) or key (Freshdesk) the emulator accepts.
    fn secret(&self) -> &'static str {
        match self {
            Emulator::Zendesk(_) => DEMO_TOKEN,
            Emulator::Freshdesk(_) => crate::simulator::freshdesk::DEMO_API_KEY,
            Emulator::Jsm(_) => crate::simulator::jsm::DEMO_TOKEN,
        }
    }

    /// What the banner says of it.
    fn banner(&self) -> String {
        match self {
            Emulator::Zendesk(s) => format!("{} (token {DEMO_TOKEN})", s.base_url()),
            Emulator::Freshdesk(s) => demo_freshdesk::banner(s),
            Emulator::Jsm(s) => demo_jsm::banner(s),
        }
    }

    async fn shutdown(self) {
        match self {
            Emulator::Zendesk(s) => s.shutdown().await,
            Emulator::Freshdesk(s) => s.shutdown().await,
            Emulator::Jsm(s) => s.shutdown().await,
        }
    }
}

/// SIGINT or SIGTERM, listened for from the moment this is called (the
/// handlers are installed before it returns).
fn stop_signals() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            return Box::pin(async move {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            });
        }
    }
    Box::pin(super::run::wait_for_stop())
}

/// Share of replies that miss their target on most plans: attainment
/// lands at or a little above a typical 95% objective.
const LATE_REPLIES: f64 = 0.01;
/// On the one plan that is slipping (one without credits, where there is
/// one): a few points below its objective.
const LATE_REPLIES_SLIPPING: f64 = 0.1;
/// For the two customers served badly enough to be owed credits.
const LATE_REPLIES_CREDITED: f64 = 0.2;

/// Synthetic history shaped like a real support organisation rather than a
/// stress test: most plans at or near their objective, one plan slipping,
/// two customers on a plan with credits owed some, and few tickets on no
/// plan.
fn realistic(policy: &crate::policy::model::Policy, base: GeneratorOptions) -> GeneratorOptions {
    let mut options = GeneratorOptions {
        late_reply_rate: LATE_REPLIES,
        organizations_without_plan: Some(2),
        requesters_without_organization: 0.02,
        prompt_updates: true,
        ..base
    };
    let plan_of = |i: usize| organization_plan(policy, &options, i);
    // A plan without credits slips (below its objective, most of its
    // customers would be owed credits otherwise); without one, the second
    // plan organizations are on.
    let on_plans: Vec<&crate::policy::model::Plan> =
        (0..options.organizations).filter_map(plan_of).collect();
    let slipping = on_plans
        .iter()
        .find(|p| p.credits.is_none())
        .or_else(|| on_plans.get(1).or(on_plans.first()))
        .map(|p| p.name.clone());
    // Two customers of plans with credits, away from the first of each plan.
    let credited: Vec<usize> = (0..options.organizations)
        .filter(|&i| plan_of(i).is_some_and(|p| p.credits.is_some()))
        .skip(3)
        .step_by(3)
        .take(2)
        .collect();
    if let Some(plan) = slipping {
        options
            .late_reply_rate_by_plan
            .insert(plan, LATE_REPLIES_SLIPPING);
    }
    for i in credited {
        options
            .late_reply_rate_by_organization
            .insert(i, LATE_REPLIES_CREDITED);
    }
    options
}

/// Included files as the loader asked for them, recorded.
#[derive(Default)]
struct Recorded(std::cell::RefCell<Vec<(PathBuf, String)>>);

impl IncludedFiles for Recorded {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        let text = FileSystem.read(path)?;
        self.0.borrow_mut().push((path.to_path_buf(), text.clone()));
        Ok(text)
    }
}

/// Copies the files the config includes by a relative path (holiday
/// calendars) into `dir`, where the generated config's includes resolve.
/// Absolute includes resolve as they are; one that climbs out of the
/// config's folder (`../`) cannot be placed and is refused with the fix.
fn copy_includes(text: &str, config: &Path, dir: &Path) -> Result<(), Failure> {
    let recorded = Recorded::default();
    Config::from_yaml_with(text, config, &recorded).map_err(|e| Failure::Usage(e.to_string()))?;
    let folder = config.parent().unwrap_or(Path::new(""));
    for (path, contents) in recorded.0.into_inner() {
        let Ok(relative) = path.strip_prefix(folder) else {
            continue; // absolute: the generated config finds it too
        };
        if relative.is_absolute() {
            continue;
        }
        if relative
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(Failure::Usage(format!(
                "{}: the demo copies the config into its own folder and cannot place \
                 the include {} there; write it as an absolute path or move it beside the config",
                config.display(),
                relative.display()
            )));
        }
        let target = dir.join(relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| {
                Failure::Runtime(format!("cannot create {}: {e}", parent.display()))
            })?;
        }
        std::fs::write(&target, contents)
            .map_err(|e| Failure::Runtime(format!("cannot write {}: {e}", target.display())))?;
    }
    Ok(())
}

/// Writes last month's report into `reports`, from what the daemon stored.
fn write_last_month_report(config: &Path, store: &Path, reports: &Path) -> Result<PathBuf, String> {
    let config = crate::config_files::load(config).map_err(|e| e.to_string())?;
    // A second connection: the daemon keeps writing through its own.
    let store = crate::store::open(&store.to_string_lossy()).map_err(|e| e.to_string())?;
    let options = crate::report::ReportOptions {
        out: Some(reports.to_path_buf()),
        ..Default::default()
    };
    let month = crate::report::Month::last_full(now_unix(), options.timezone(&config))
        .ok_or_else(|| "no previous month".to_string())?;
    crate::report::write_month(&*store, &config, month, &options).map_err(|e| e.to_string())
}

/// A few urgent tickets created 50 minutes ago and not yet answered, one
/// per plan: on a plan whose calendar is open now they breach within
/// minutes, so the at-risk API and the imminent-breach alerts have
/// something to show right after the backfill.
fn seed_at_risk(d: &mut crate::simulator::generator::Dataset, now: i64, most_severe: &str) {
    let mut plans_seen: Vec<String> = Vec::new();
    let picks: Vec<(u64, u64)> = d
        .organizations
        .iter()
        .filter_map(|o| {
            let plan = o.plan.clone()?;
            if plans_seen.contains(&plan) {
                return None;
            }
            let requester = d
                .users
                .iter()
                .find(|u| u.organization_id == Some(o.id) && !u.role.is_agent())?;
            plans_seen.push(plan);
            Some((o.id, requester.id))
        })
        .collect();
    for (org, requester) in picks {
        d.create_ticket(NewTicket {
            at: now - 50 * 60,
            subject: "Demo: production is down".into(),
            requester_id: requester,
            organization_id: Some(org),
            priority: Some(most_severe.to_string()),
            group_id: None,
            tags: Vec::new(),
            custom_fields: Vec::new(),
            body: "Nothing works since a few minutes ago.".into(),
        });
    }
}

/// New tickets every few seconds on random organizations, most of them
/// urgent or high, so imminent breaches appear on the dashboards and the
/// alerts have something to say.
async fn new_arrivals(
    sim: SimState,
    seed: u64,
    severities: Vec<String>,
    mut stop: watch::Receiver<bool>,
) {
    let mut x = seed | 1;
    let mut next = move || {
        // xorshift: a demo needs variety, not statistics.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
        let r = next();
        let created = sim.modify(|d| {
            let orgs: Vec<_> = d
                .organizations
                .iter()
                .filter(|o| o.plan.is_some())
                .map(|o| o.id)
                .collect();
            let org = *orgs.get((r % orgs.len().max(1) as u64) as usize)?;
            let requester = d
                .users
                .iter()
                .find(|u| u.organization_id == Some(org) && !u.role.is_agent())?
                .id;
            // Mostly the two most severe levels: those have short targets.
            let level = [0, 1, 1, 2][(r >> 8) as usize % 4].min(severities.len().saturating_sub(1));
            let priority = severities.get(level).map_or("urgent", String::as_str);
            Some(d.create_ticket(NewTicket {
                at: now_unix(),
                subject: "Demo: something broke".into(),
                requester_id: requester,
                organization_id: Some(org),
                priority: Some(priority.to_string()),
                group_id: None,
                tags: Vec::new(),
                custom_fields: Vec::new(),
                body: "It stopped working a minute ago.".into(),
            }))
        });
        match created {
            // At debug: one every few seconds would scroll the banner away.
            Some(id) => debug!(ticket = id, "a new demo ticket arrived"),
            None => warn!("the demo data has no organization with a requester"),
        }
    }
}
