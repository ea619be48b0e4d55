//! End to end on the PostgreSQL store: the Zendesk emulator → the real
//! adapter → the daemon → PostgreSQL, checked against the same run on
//! SQLite: the same tickets and clocks stored, the same figures in
//! /metrics, the same report written by `report --store postgres://…`,
//! and a daemon killed mid-backfill that resumes and loses nothing. Each
//! test has a database of its own on the test cluster (`scripts/test.sh`
//! starts it; without it these tests fail, saying so).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use helpdesk_slo::config_files;
use helpdesk_slo::daemon::{run_with, Options};
use helpdesk_slo::simulator::generator::{generate, GeneratorOptions};
use helpdesk_slo::simulator::zendesk::{start, ServerOptions, SimState};
use helpdesk_slo::store;

mod common;
use common::pg_daemon::{decided_figures, has_cursor, spawn_simulator, stored_state, write_config};
use common::postgres::PgDatabase;
use common::{http_get, sample, scratch};

/// 2026-11-20T00:00:00Z: the generated account's "now", so both runs
/// read the same history, all of it in November 2026.
const DATA_NOW: i64 = 1_795_132_800;

/// Runs the daemon on `location` until its first complete poll and
/// returns its /metrics then.
async fn serve_until_polled(config: &Path, location: &str) -> String {
    let (stop, rx) = tokio::sync::watch::channel(false);
    let (tx, started) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(run_with(
        Options {
            config: config.to_path_buf(),
            store: Some(location.to_string()),
            listen: Some("127.0.0.1:0".parse().unwrap()),
            ..Options::default()
        },
        rx,
        Some(tx),
    ));
    let (addr, _) = started.await.unwrap();
    let addr = addr.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    let metrics = loop {
        let metrics = tokio::task::spawn_blocking(move || http_get(&addr.to_string(), "/metrics"))
            .await
            .unwrap();
        let polled = sample(
            &metrics,
            "helpdesk_slo_source_last_success_timestamp_seconds",
            &[r#"source="zendesk""#],
        );
        if polled.is_some_and(|t| t > 0.0) {
            break metrics;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no complete poll on {location}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    stop.send(true).unwrap();
    task.await.unwrap().unwrap();
    metrics
}

fn report(config: &Path, location: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_helpdesk-slo"))
        .args(["report", "--stdout", "--month", "2026-11", "--config"])
        .arg(config)
        .args(["--store", location])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "report on {location}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_and_report_on_postgres_match_sqlite() {
    let cfg =
        config_files::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml"))
            .unwrap();
    let data = generate(
        &cfg,
        &GeneratorOptions {
            seed: 7,
            organizations: 12,
            days: 6,
            tickets_per_day: 30,
            start: DATA_NOW - 6 * 86_400,
            now: Some(DATA_NOW),
            ..GeneratorOptions::default()
        },
    );
    let server = start(SimState::new(&cfg, data, ServerOptions::default()))
        .await
        .unwrap();
    let tmp = scratch("pg-daemon");
    let dir = tmp.path();
    let config = write_config(dir, &server.base_url());
    let db = PgDatabase::new("pg_daemon");
    let sqlite = format!("sqlite:{}", dir.join("store.sqlite").display());

    // Both stores' first synchronisation at the same instant, before any
    // data: what each daemon stores after it is late data for the report,
    // which lists it (by when the store says it stored each ticket), the
    // same in both.
    let unix_now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    };
    let first_sync = unix_now() - 1;
    for location in [sqlite.as_str(), db.url()] {
        store::open(location)
            .unwrap()
            .record_poll("zendesk", first_sync)
            .unwrap();
    }
    let on_sqlite = serve_until_polled(&config, &sqlite).await;
    let on_postgres = serve_until_polled(&config, db.url()).await;
    server.shutdown().await;

    // The same tickets and clocks stored.
    let (a, b) = (stored_state(&sqlite), stored_state(db.url()));
    assert!(a.len() > 100, "{}", a.len());
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
    // The same figures served.
    let figures = decided_figures(&on_postgres);
    assert!(
        sample(&on_postgres, "helpdesk_slo_stored_tickets", &[]) == Some(b.len() as f64),
        "{figures:?}"
    );
    assert!(
        figures
            .iter()
            .any(|l| l.starts_with("helpdesk_slo_clocks_met_total{")),
        "{on_postgres}"
    );
    assert_eq!(decided_figures(&on_sqlite), figures);

    // A restarted daemon serves the stored clocks from PostgreSQL before
    // it polls (the emulator is gone): the same decided figures.
    let (stop, rx) = tokio::sync::watch::channel(false);
    let (tx, started) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(run_with(
        Options {
            config: config.clone(),
            store: Some(db.url().to_string()),
            listen: Some("127.0.0.1:0".parse().unwrap()),
            ..Options::default()
        },
        rx,
        Some(tx),
    ));
    let (addr, _) = started.await.unwrap();
    let addr = addr.unwrap();
    let restarted = tokio::task::spawn_blocking(move || http_get(&addr.to_string(), "/metrics"))
        .await
        .unwrap();
    stop.send(true).unwrap();
    let _ = task.await;
    assert_eq!(decided_figures(&restarted), figures);

    // `report --store postgres://…` writes what it writes from SQLite. Its
    // cut-off is the last completed poll: one at the same instant, later
    // than either daemon's, in both stores.
    let cut_off = unix_now();
    for location in [sqlite.as_str(), db.url()] {
        store::open(location)
            .unwrap()
            .record_poll("zendesk", cut_off)
            .unwrap();
    }
    let from_sqlite = report(&config, &sqlite);
    let from_postgres = report(&config, db.url());
    assert!(from_postgres.len() > 500, "{from_postgres}");
    assert!(
        from_postgres.contains("Data that arrived after the month closed (")
            && from_postgres.contains("ticket(s) changed in the store since"),
        "{from_postgres}"
    );
    assert_eq!(from_sqlite, from_postgres);
}

/// SIGKILLed twice mid-backfill (once its first tickets are committed,
/// once its first events are), then run to the end: PostgreSQL holds what
/// a backfill that was never interrupted stores.
#[test]
fn a_daemon_on_postgres_killed_mid_backfill_resumes_and_loses_nothing() {
    let bin = env!("CARGO_BIN_EXE_helpdesk-slo");
    let (sim, url) = spawn_simulator("11", "40", "150");

    let tmp = scratch("pg-sigkill");
    let dir = tmp.path();
    let config = write_config(dir, &url);
    let daemon = |store: &str| {
        let mut c = Command::new(bin);
        c.args(["run", "--once", "--config"])
            .arg(&config)
            .args(["--store", store]);
        c.stdout(Stdio::null()).stderr(Stdio::null());
        c
    };
    let killed = PgDatabase::new("pg_killed");
    for stream in ["tickets", "ticket_events"] {
        let mut child = common::Guard(daemon(killed.url()).spawn().unwrap());
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while !has_cursor(&killed, stream) {
            assert!(
                child.0.try_wait().unwrap().is_none(),
                "the backfill ended before committing {stream}"
            );
            assert!(
                std::time::Instant::now() < deadline,
                "no {stream} committed"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let finished = child.0.try_wait().unwrap().is_some();
        assert!(
            !finished,
            "the backfill finished before the kill; make the dataset larger"
        );
        drop(child);
    }
    assert!(daemon(killed.url()).status().unwrap().success());
    let clean = PgDatabase::new("pg_clean");
    assert!(daemon(clean.url()).status().unwrap().success());
    drop(sim);

    let (a, b) = (stored_state(killed.url()), stored_state(clean.url()));
    assert!(a.len() > 300, "{}", a.len());
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
}
