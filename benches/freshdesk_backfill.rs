//! Freshdesk backfill end to end: the Freshdesk emulator serving a
//! synthetic account over HTTP on loopback → the real Freshdesk adapter →
//! the SQLite store (a fresh file) → the clocks of every ticket, through the
//! daemon's own backfill path (`helpdesk_slo::daemon::run`, `once: true`),
//! with `examples/freshdesk.yaml` pointed at the emulator and no request
//! budget (`requests_per_minute` far above what loopback serves).
//!
//! A bench binary (`harness = false`) like `benches/backfill.rs`: one
//! backfill takes seconds and needs a fresh store. It prints the tickets,
//! the requests the adapter made by endpoint (from the emulator's counts),
//! requests per 1,000 tickets, wall and CPU time, tickets/s and requests/s
//! unthrottled, and how long the same backfill takes at a few request
//! budgets (requests ÷ budget): Freshdesk's rate limit, not our CPU, is
//! what bounds a real backfill.
//!
//! ```sh
//! cargo bench --bench freshdesk_backfill                       # 100,000 tickets
//! FD_BACKFILL_TICKETS=20000 cargo bench --bench freshdesk_backfill
//! ```
//!
//! Under `cargo test --benches` (no `--bench` argument) 300 tickets run once,
//! as a smoke test.

use std::path::Path;
use std::time::{Duration, Instant};

use helpdesk_slo::daemon::{run, Options};
use helpdesk_slo::simulator::freshdesk::{start, synthetic, FdState, ServerOptions, DEMO_API_KEY};
use helpdesk_slo::store::{SqliteStore, Store};
use helpdesk_slo::time::format_instant;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Days the tickets are spread over.
const DAYS: i64 = 100;

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    (t(11) + t(12)) as f64 / 100.0
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let tickets: usize = std::env::var("FD_BACKFILL_TICKETS")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(if bench { 100_000 } else { 300 });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(backfill(tickets));
}

async fn backfill(n: usize) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let now = now - now % 3_600;
    let start_at = now - DAYS * 86_400;
    let account = synthetic::account(&synthetic::Options {
        seed: 1,
        tickets: n,
        start: start_at + 600,
        span: (DAYS - 1) * 86_400,
        now: now - 60,
        late_reply_rate: None,
        sla: None,
    });
    let customer = account.tickets.iter().filter(|t| t["source"] != 10).count();
    let server = start(FdState::new(account, ServerOptions::default()))
        .await
        .unwrap();
    let dir = tempfile::Builder::new()
        .prefix("helpdesk-slo-fd-bench-")
        .tempdir()
        .unwrap();
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/freshdesk.yaml"),
    )
    .unwrap();
    let key_file = dir.path().join("api_key");
    std::fs::write(&key_file, DEMO_API_KEY).unwrap();
    let config = example
        .replace("domain: acme ", &format!("url: {} ", server.base_url()))
        .replace(
            "api_key: { env: FRESHDESK_API_KEY }",
            &format!("api_key: {{ file: {} }}", key_file.display()),
        )
        .replace(
            "start_time: 2026-11-01T00:00:00Z",
            &format!("start_time: {}", format_instant(start_at)),
        )
        .replace("poll_interval: 1m", "poll_interval: 1s")
        .replace("requests_per_minute: 50", "requests_per_minute: 100000000");
    let config_path = dir.path().join("config.yaml");
    std::fs::write(&config_path, config).unwrap();
    let store_path = dir.path().join("store.sqlite");
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let opts = Options {
        config: config_path,
        store: Some(store_path.display().to_string()),
        once: true,
        ..Options::default()
    };
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    let summary = run(opts, rx).await.unwrap();
    let (wall, cpu) = (t0.elapsed(), cpu_seconds() - cpu0);
    let counts = server.state().counts();
    server.shutdown().await;
    let stored = SqliteStore::open(&store_path)
        .unwrap()
        .ticket_ids("freshdesk")
        .unwrap()
        .len();
    assert_eq!(stored, customer, "every customer ticket stored");
    let requests: u64 = counts.by_endpoint.values().sum();
    let s = &summary.sources["freshdesk"];
    println!("freshdesk backfill: {n} tickets made, {customer} customer tickets stored ({} outbound emails left out)", n - customer);
    println!("  requests: {requests} ({:?})", counts.by_endpoint);
    println!(
        "  requests per 1,000 tickets: {:.0}",
        requests as f64 * 1_000.0 / n as f64
    );
    println!(
        "  pages committed {}, records {}, tickets recomputed {}",
        s.pages, s.records, s.recomputed
    );
    println!(
        "  wall {:.2} s, CPU {:.2} s (daemon and emulator in one process, 2 cores)",
        wall.as_secs_f64(),
        cpu
    );
    println!(
        "  unthrottled: {:.0} tickets/s, {:.0} requests/s",
        n as f64 / wall.as_secs_f64(),
        requests as f64 / wall.as_secs_f64()
    );
    for budget in [50u64, 200, 700] {
        let t = Duration::from_secs_f64(requests as f64 * 60.0 / budget as f64);
        println!(
            "  at requests_per_minute: {budget}: {:.1} h ({:.1} tickets/s)",
            t.as_secs_f64() / 3_600.0,
            n as f64 / t.as_secs_f64()
        );
    }
}
