//! End-to-end backfill speed: the Zendesk emulator serving a synthetic
//! dataset over HTTP on loopback (no faults, no rate limit) → the real
//! Zendesk adapter (reqwest) → the SQLite store (a fresh file in a temporary
//! folder) → the clocks of every ticket computed and saved, through the
//! daemon's own backfill path (`helpdesk_slo::daemon::run` with
//! `once: true`).
//!
//! A bench binary (`harness = false`), not criterion: one backfill of 100,000
//! tickets takes seconds, and each run needs a fresh store. It prints the
//! dataset (tickets, audits, stored events), the pages and records the
//! daemon committed, wall time, CPU time (the whole process, and the
//! emulator's threads apart from the daemon's), and tickets and events per
//! second: once for the whole run, once for the moment every record was
//! committed (the clocks the backfill had not reached by then are computed
//! after it, on both cores).
//!
//! ```sh
//! cargo bench --bench backfill                      # 100,000 tickets, 1 run
//! BACKFILL_TICKETS=20000 BACKFILL_RUNS=3 cargo bench --bench backfill
//! ```
//!
//! `BACKFILL_STORE=LOCATION` backfills into that store instead of a fresh
//! SQLite file, such as an empty PostgreSQL database
//! (`postgres://USER@HOST:PORT/DATABASE?password_env=VARIABLE`); it must be
//! empty, so give one run per database.
//!
//! `BACKFILL_KEEP=1` keeps the store file for inspection (its folder is
//! printed). `BACKFILL_LOG=info` prints the daemon's log lines (progress per stream,
//! recomputations) with their times. `BACKFILL_TICKETS` is approximate: the generator creates
//! `days × tickets_per_day` tickets (100 days here); the exact count is
//! printed. Generating the dataset is not timed. The emulator runs on its own
//! runtime (one worker thread, named `emulator`) so its CPU time can be told
//! apart from the daemon's; both share the machine's cores, as they would on
//! one host. Under `cargo test --benches` (no `--bench` argument) a small
//! dataset runs once, as a smoke test.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use helpdesk_slo::config_files;
use helpdesk_slo::daemon::{run, Options};
use helpdesk_slo::policy::Config;
use helpdesk_slo::simulator::generator::{generate, GeneratorOptions};
use helpdesk_slo::simulator::zendesk::{start, ServerOptions, SimState, DEMO_TOKEN};
use helpdesk_slo::store;

/// The binary's allocator (`src/main.rs`), so the bench measures what runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Days of history the tickets are spread over.
const DAYS: u32 = 100;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// User and system CPU seconds of this process (all threads, also those
/// that ended) and of its live threads named `emulator`, from procfs
/// (Linux; zero elsewhere). Clock ticks are taken as 100 per second.
fn cpu_seconds() -> (f64, f64) {
    fn ticks(stat: &str) -> Option<u64> {
        let rest = &stat[stat.rfind(')')? + 1..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
    }
    let all = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| ticks(&s))
        .unwrap_or(0);
    let mut emulator = 0;
    if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
        for task in dir.flatten() {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            if comm.trim() == "emulator" {
                emulator += std::fs::read_to_string(task.path().join("stat"))
                    .ok()
                    .and_then(|s| ticks(&s))
                    .unwrap_or(0);
            }
        }
    }
    (all as f64 / 100.0, emulator as f64 / 100.0)
}

/// The Celigo example with a Zendesk source at `url`, no request budget.
fn write_config(dir: &Path, url: &str, start: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let example = std::fs::read_to_string(root.join("examples/celigo.yaml"))
        .expect("examples/celigo.yaml is readable");
    let token_file = dir.join("token");
    std::fs::write(&token_file, format!("{DEMO_TOKEN}\n")).expect("the token file is writable");
    let text = format!(
        "{example}\nsources:\n  zendesk:\n    kind: zendesk\n    url: {url}\n    auth: {{ email: bench@example.com, token: {{ file: {} }} }}\n    start_time: {start}\n    poll_interval: 1m\n",
        token_file.display()
    );
    let path = dir.join("config.yaml");
    std::fs::write(&path, text).expect("the config is writable");
    path
}

struct Figures {
    tickets: u64,
    events: u64,
    pages: u64,
    records: u64,
    recomputed: u64,
    stored: Duration,
    wall: Duration,
    cpu: f64,
    cpu_emulator: f64,
}

fn backfill_once(config: &Config, options: &GeneratorOptions, dir: &Path) -> Figures {
    let data = generate(config, options);
    let summary = data.summary();
    println!(
        "dataset: {} tickets ({} deleted), {} audits, {} organizations, {} users",
        summary.tickets,
        summary.deleted,
        summary.audits,
        summary.organizations,
        summary.agents + summary.end_users
    );
    let state = SimState::new(config, data, ServerOptions::default());

    // The emulator on its own single-threaded runtime (threads named
    // `emulator`), the daemon on a runtime like the binary's.
    let emulator = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(1)
        .thread_name("emulator")
        .enable_all()
        .build()
        .expect("the emulator runtime starts");
    let server = emulator
        .block_on(start(state))
        .expect("the emulator listens");
    let daemon = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the daemon runtime starts");

    let start_time = helpdesk_slo::time::format_instant(options.start - 86_400);
    let config_path = write_config(dir, &server.base_url(), &start_time);
    let location = std::env::var("BACKFILL_STORE")
        .unwrap_or_else(|_| format!("sqlite:{}", dir.join("store.sqlite").display()));
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let opts = Options {
        config: config_path,
        store: Some(location.clone()),
        once: true,
        ..Options::default()
    };
    let (cpu0, emu0) = cpu_seconds();
    let t0 = Instant::now();
    let result = daemon
        .block_on(run(opts, rx))
        .expect("the backfill succeeds");
    let wall = t0.elapsed();
    let (cpu1, emu1) = cpu_seconds();
    emulator.block_on(server.shutdown());

    let zendesk = &result.sources["zendesk"];
    let stats = store::open(&location)
        .and_then(|s| {
            assert!(
                s.stale_ticket_ids("zendesk")?.is_empty(),
                "every ticket has clocks"
            );
            s.stats()
        })
        .expect("the store reads back");
    assert_eq!(
        stats.clocks, stats.tickets,
        "clocks were saved for every live ticket"
    );
    Figures {
        tickets: stats.tickets + stats.deleted_tickets,
        events: stats.events,
        pages: zendesk.pages,
        records: zendesk.records,
        recomputed: zendesk.recomputed,
        stored: zendesk.stored_after.expect("a first run is a backfill"),
        wall,
        cpu: cpu1 - cpu0,
        cpu_emulator: emu1 - emu0,
    }
}

fn main() {
    // BACKFILL_LOG=info shows the daemon's progress lines (with times).
    if let Ok(filter) = std::env::var("BACKFILL_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .init();
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` does not.
    let bench = std::env::args().any(|a| a == "--bench");
    let tickets = env_usize("BACKFILL_TICKETS", if bench { 100_000 } else { 2_000 });
    let runs = env_usize("BACKFILL_RUNS", 1).max(1);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = config_files::load(&root.join("examples/celigo.yaml")).expect("the example loads");

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let options = GeneratorOptions {
        seed: 4,
        organizations: 200,
        days: DAYS,
        tickets_per_day: (tickets as u32).div_ceil(DAYS).max(1),
        start: (now - i64::from(DAYS) * 86_400) / 86_400 * 86_400,
        now: Some(now - 60),
        ..GeneratorOptions::default()
    };

    for run_no in 1..=runs {
        let dir = std::env::temp_dir().join(format!(
            "helpdesk-slo-bench-backfill-{}-{run_no}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("the scratch folder is writable");
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let f = backfill_once(&config, &options, &dir);
        let size = std::fs::metadata(dir.join("store.sqlite")).map_or(0, |m| m.len());
        let secs = f.wall.as_secs_f64();
        println!(
            "backfill run {run_no}: {} tickets, {} events stored, {} pages, {} records, {} tickets recomputed",
            f.tickets, f.events, f.pages, f.records, f.recomputed
        );
        println!(
            "  wall {:.2} s, CPU {:.2} s (daemon {:.2} s, emulator {:.2} s), store file {:.1} MB, load before: {}",
            secs,
            f.cpu,
            f.cpu - f.cpu_emulator,
            f.cpu_emulator,
            size as f64 / 1e6,
            load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
        );
        println!(
            "  {:.0} tickets/s, {:.0} events/s, {:.0} records/s (wall, every ticket's clocks computed and saved)",
            f.tickets as f64 / secs,
            f.events as f64 / secs,
            f.records as f64 / secs
        );
        let stored = f.stored.as_secs_f64();
        println!(
            "  every record stored after {:.2} s: {:.0} tickets/s; then {:.2} s for the clocks not yet computed",
            stored,
            f.tickets as f64 / stored,
            secs - stored
        );
        if std::env::var_os("BACKFILL_KEEP").is_some() {
            println!("  store kept in {}", dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
