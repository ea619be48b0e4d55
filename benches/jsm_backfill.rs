//! Jira Service Management backfill end to end: the JSM emulator serving a
//! synthetic site over HTTP on loopback → the real JSM adapter → the SQLite
//! store (a fresh file) → the clocks of every request, through the
//! daemon's own backfill path (`helpdesk_slo::daemon::run`, `once: true`),
//! with `examples/jsm.yaml` pointed at the emulator and no request budget.
//!
//! A bench binary (`harness = false`) like `benches/freshdesk_backfill.rs`:
//! it prints the requests made, the requests the adapter made by endpoint
//! (from the emulator's counts), requests per 1,000 changed requests, wall
//! and CPU time, requests/s unthrottled, and how long the same backfill
//! takes at a few request budgets. `JSM_BACKFILL_CAP` sets how many
//! histories the search embeds (Jira's cap; a lower one makes the adapter
//! page the changelog of more requests).
//!
//! ```sh
//! cargo bench --bench jsm_backfill                          # 100,000 requests
//! JSM_BACKFILL_ISSUES=20000 cargo bench --bench jsm_backfill
//! JSM_BACKFILL_CAP=3 JSM_BACKFILL_ISSUES=20000 cargo bench --bench jsm_backfill
//! ```
//!
//! Under `cargo test --benches` (no `--bench` argument) 300 requests run
//! once, as a smoke test.

use std::path::Path;
use std::time::{Duration, Instant};

use helpdesk_slo::daemon::{run, Options};
use helpdesk_slo::simulator::jsm::{start, synthetic, JsmState, ServerOptions};
use helpdesk_slo::store::{SqliteStore, Store};
use helpdesk_slo::time::format_instant;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Days the requests are spread over.
const DAYS: i64 = 100;
const EMAIL: &str = "support-bot@acme.example";
const TOKEN: &str = "jsm-bench-token";

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    (t(11) + t(12)) as f64 / 100.0
}

fn env_number(name: &str) -> Option<usize> {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let issues = env_number("JSM_BACKFILL_ISSUES").unwrap_or(if bench { 100_000 } else { 300 });
    let cap = env_number("JSM_BACKFILL_CAP").unwrap_or(100);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(backfill(issues, cap));
}

async fn backfill(n: usize, cap: usize) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let now = now - now % 3_600;
    let start_at = now - DAYS * 86_400;
    let timezone = chrono_tz::America::Los_Angeles;
    let site = synthetic::site(&synthetic::Options {
        seed: 1,
        issues: n,
        start: start_at + 600,
        span: (DAYS - 1) * 86_400,
        now: now - 60,
        project: "SUP".into(),
        timezone,
        late_reply_rate: None,
    });
    let made = site.issues.len();
    let histories: usize = site.changelogs.values().map(Vec::len).sum();
    let server = start(JsmState::new(
        site,
        ServerOptions {
            email: EMAIL.into(),
            token: TOKEN.into(),
            user_timezone: timezone,
            embedded_changelog_cap: cap,
            ..ServerOptions::default()
        },
    ))
    .await
    .unwrap();
    let dir = tempfile::Builder::new()
        .prefix("helpdesk-slo-jsm-bench-")
        .tempdir()
        .unwrap();
    let example =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/jsm.yaml"))
            .unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, TOKEN).unwrap();
    let config = example
        .replace(
            "url: https://acme.atlassian.net",
            &format!("url: {}", server.base_url()),
        )
        .replace(
            "token: { env: JSM_API_TOKEN }",
            &format!("token: {{ file: {} }}", token_file.display()),
        )
        .replace(
            "start_time: 2026-11-01T00:00:00Z",
            &format!("start_time: {}", format_instant(start_at)),
        )
        .replace("poll_interval: 1m", "poll_interval: 1s")
        .replace("requests_per_minute: 100", "requests_per_minute: 100000000");
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
        .ticket_ids("jsm")
        .unwrap()
        .len();
    assert_eq!(stored, made, "every request stored");
    let requests: u64 = counts.by_endpoint.values().sum();
    let s = &summary.sources["jsm"];
    println!(
        "jsm backfill: {made} requests stored ({histories} histories; embedded changelog cap {cap})"
    );
    println!("  HTTP requests: {requests} ({:?})", counts.by_endpoint);
    println!(
        "  HTTP requests per 1,000 changed requests: {:.0}",
        requests as f64 * 1_000.0 / made as f64
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
        "  unthrottled: {:.0} requests stored/s, {:.0} HTTP requests/s",
        made as f64 / wall.as_secs_f64(),
        requests as f64 / wall.as_secs_f64()
    );
    for budget in [100u64, 600, 1_000] {
        let t = Duration::from_secs_f64(requests as f64 * 60.0 / budget as f64);
        println!(
            "  at requests_per_minute: {budget}: {:.1} h ({:.1} requests stored/s)",
            t.as_secs_f64() / 3_600.0,
            made as f64 / t.as_secs_f64()
        );
    }
}
