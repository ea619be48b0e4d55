//! End to end over HTTP: the Freshdesk emulator → the real Freshdesk
//! adapter → the SQLite store → the engine, through the daemon's poll loop,
//! with the shipped `examples/freshdesk.yaml` (its source pointed at the
//! emulator).

use std::path::PathBuf;
use std::time::Duration;

use helpdesk_slo::config_files;
use helpdesk_slo::daemon::{run, run_with, Options};
use helpdesk_slo::simulator::freshdesk::{start, synthetic, Faults, FdState, ServerOptions};
use helpdesk_slo::store::{SqliteStore, Store};

mod common;
use common::{comparable_clock, freshdesk_config as write_config, http_get, sample, scratch};

const TICKETS: usize = 160;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Backfills from an emulator with `faults`; every stored ticket's
/// timeline and clock states as JSON, in id order, and the emulator's
/// answers by status.
async fn backfill(
    name: &str,
    now: i64,
    faults: Faults,
) -> (Vec<String>, usize, std::collections::BTreeMap<u16, u64>) {
    let start_at = now - 9 * 86_400;
    let account = synthetic::account(&synthetic::Options {
        seed: 5,
        tickets: TICKETS,
        start: start_at + 3_600,
        span: 8 * 86_400,
        now: now - 3_600,
        late_reply_rate: None,
        sla: None,
    });
    let live = account.tickets.iter().filter(|t| t["source"] != 10).count();
    let server = start(FdState::new(
        account,
        ServerOptions {
            faults,
            ..ServerOptions::default()
        },
    ))
    .await
    .unwrap();
    let tmp = scratch(name);
    let dir = tmp.path();
    let config = write_config(dir, &server.base_url(), start_at);
    let store_path = dir.join("store.sqlite");
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let opts = Options {
        config,
        store: Some(store_path.display().to_string()),
        once: true,
        ..Options::default()
    };
    let summary = tokio::time::timeout(Duration::from_secs(300), run(opts, rx))
        .await
        .expect("backfill finishes")
        .unwrap();
    assert!(summary.sources["freshdesk"].pages > 0);
    let by_status = server.state().counts().by_status;
    assert_eq!(server.state().counts().credentials_sent_to_files, 0);
    server.shutdown().await;
    let store = SqliteStore::open(&store_path).unwrap();
    assert!(
        store.stale_ticket_ids("freshdesk").unwrap().is_empty(),
        "every ticket has clocks"
    );
    let hash = config_files::load(&dir.join("config.yaml"))
        .unwrap()
        .clocks_hash;
    let mut out = Vec::new();
    for id in store.ticket_ids("freshdesk").unwrap() {
        let t = store.ticket("freshdesk", &id).unwrap().unwrap();
        let (h, clocks) = store.clocks("freshdesk", &id).unwrap().unwrap();
        assert_eq!(h, hash);
        let states: Vec<serde_json::Value> = helpdesk_slo::store::decode_clocks(&clocks)
            .unwrap()
            .iter()
            .map(|v| comparable_clock(&serde_json::to_value(v).unwrap()))
            .collect();
        let timeline =
            serde_json::to_string(&helpdesk_slo::engine::Ticket { url: None, ..t }).unwrap();
        out.push(format!(
            "{timeline}\n{}",
            serde_json::to_string(&states).unwrap()
        ));
    }
    (out, live, by_status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_stores_every_customer_ticket_with_clocks() {
    let (tickets, live, _) = backfill("fd-clean", now(), Faults::default()).await;
    assert_eq!(
        tickets.len(),
        live,
        "every ticket but outbound emails, once"
    );
    assert!(tickets.len() > 100, "{}", tickets.len());
    // History came from the export (custom status 6 is configured pending),
    // replies from conversations by known agents, and plans matched.
    assert!(tickets
        .iter()
        .any(|t| t.contains(r#""id":"x."#) && t.contains(r#""value":"pending""#)));
    assert!(tickets.iter().any(|t| t.contains(r#""author":"agent""#)));
    assert!(tickets
        .iter()
        .any(|t| t.contains(r#""first_response",1,"met""#)));
    assert!(
        !tickets.iter().any(|t| t.contains("approximated")),
        "all created after start_time"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_and_faults_change_nothing_in_the_stored_state() {
    let now = now();
    let (clean, _, _) = backfill("fd-faultless", now, Faults::default()).await;
    let faults = Faults {
        seed: 3,
        rate_limit_every: Some(25),
        retry_after: 1,
        server_error_rate: 0.03,
        malformed_rate: 0.03,
    };
    let (faulty, _, by_status) = backfill("fd-faulty", now, faults).await;
    assert!(
        by_status.get(&429).copied().unwrap_or(0) > 0,
        "{by_status:?}"
    );
    assert_eq!(clean.len(), faulty.len());
    for (a, b) in clean.iter().zip(&faulty) {
        assert_eq!(a, b);
    }
}

/// Tickets created before `start_time`'s day have no exported history: the
/// daemon counts them in `helpdesk_slo_source_approximated_tickets` (and
/// again after a restart, before its first poll), and `explain` says of
/// each that its status history is approximated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approximated_tickets_are_counted_in_metrics_and_said_by_explain() {
    let now = now();
    let account = synthetic::account(&synthetic::Options {
        seed: 8,
        tickets: 120,
        start: now - 9 * 86_400,
        span: 8 * 86_400,
        now: now - 3_600,
        late_reply_rate: None,
        sla: None,
    });
    let start_at = now - 5 * 86_400;
    let history_from = start_at / 86_400 * 86_400;
    let instant = |t: &serde_json::Value, k: &str| {
        helpdesk_slo::time::parse_instant(t[k].as_str().unwrap()).unwrap()
    };
    // Listed (updated since start_time), a request (not an outbound
    // email), created before start_time's day: no exported history.
    let expected: Vec<String> = account
        .tickets
        .iter()
        .filter(|t| t["source"] != 10)
        .filter(|t| instant(t, "updated_at") >= start_at && instant(t, "created_at") < history_from)
        .map(|t| t["id"].to_string())
        .collect();
    assert!(expected.len() >= 5, "{} approximated", expected.len());
    let server = start(FdState::new(account, ServerOptions::default()))
        .await
        .unwrap();
    let tmp = scratch("fd-approximated");
    let dir = tmp.path();
    let config = write_config(dir, &server.base_url(), start_at);
    let store = dir.join("store.sqlite");
    let daemon = |config: PathBuf| {
        let (stop, rx) = tokio::sync::watch::channel(false);
        let (tx, started) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(run_with(
            Options {
                config,
                store: Some(store.display().to_string()),
                listen: Some("127.0.0.1:0".parse().unwrap()),
                ..Options::default()
            },
            rx,
            Some(tx),
        ));
        (stop, started, task)
    };
    let metrics_of = |addr: std::net::SocketAddr| async move {
        tokio::task::spawn_blocking(move || http_get(&addr.to_string(), "/metrics"))
            .await
            .unwrap()
    };
    let approximated = r#"source="freshdesk""#;
    let (stop, started, task) = daemon(config.clone());
    let (addr, _) = started.await.unwrap();
    let addr = addr.unwrap();
    // Caught up: the last complete poll's figures are rendered.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let metrics = loop {
        let metrics = metrics_of(addr).await;
        let polled = sample(
            &metrics,
            "helpdesk_slo_source_last_success_timestamp_seconds",
            &[approximated],
        );
        if polled.is_some_and(|t| t > 0.0) {
            break metrics;
        }
        assert!(std::time::Instant::now() < deadline, "no complete poll");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        sample(
            &metrics,
            "helpdesk_slo_source_approximated_tickets",
            &[approximated]
        ),
        Some(expected.len() as f64),
        "{expected:?}"
    );
    stop.send(true).unwrap();
    task.await.unwrap().unwrap();
    server.shutdown().await;

    // A restarted daemon says so before it polls (the emulator is gone).
    let (stop, started, task) = daemon(config.clone());
    let (addr, _) = started.await.unwrap();
    let metrics = metrics_of(addr.unwrap()).await;
    assert_eq!(
        sample(
            &metrics,
            "helpdesk_slo_source_approximated_tickets",
            &[approximated]
        ),
        Some(expected.len() as f64)
    );
    stop.send(true).unwrap();
    let _ = task.await;

    // explain, on an approximated ticket's stored timeline and on one with
    // exported history.
    let stored = SqliteStore::open(&store).unwrap();
    let exact = stored
        .ticket_ids("freshdesk")
        .unwrap()
        .into_iter()
        .find(|id| !expected.contains(id))
        .unwrap();
    for (id, approximated) in [(&expected[0], true), (&exact, false)] {
        let ticket = stored.ticket("freshdesk", id).unwrap().unwrap();
        let file = dir.join(format!("ticket-{id}.json"));
        std::fs::write(&file, serde_json::to_string(&ticket).unwrap()).unwrap();
        for format in ["text", "json"] {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_helpdesk-slo"))
                .args(["explain", "--format", format, "--config"])
                .arg(&config)
                .arg(&file)
                .env("FRESHDESK_API_KEY", "unused")
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let said = match format {
                "text" => {
                    stdout.contains("status history approximated (freshdesk_history: approximated)")
                }
                _ => stdout.contains(r#""history":"approximated""#),
            };
            assert_eq!(said, approximated, "ticket {id}, {format}:\n{stdout}");
        }
    }
}

/// An account without the ticket activities export (every export request
/// answers 404): every ticket alive on a day the export was asked for is
/// counted in `helpdesk_slo_source_approximated_tickets` after the first
/// complete poll, as with `history: stats`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_export_the_tickets_are_counted_approximated() {
    let now = now();
    let account = synthetic::account(&synthetic::Options {
        seed: 11,
        tickets: 120,
        start: now - 6 * 86_400,
        span: 5 * 86_400,
        now: now - 3_600,
        late_reply_rate: None,
        sla: None,
    });
    let start_at = now - 6 * 86_400;
    let instant = |t: &serde_json::Value, k: &str| {
        helpdesk_slo::time::parse_instant(t[k].as_str().unwrap()).unwrap()
    };
    // The export is asked for every day from start_time's day that has
    // ended, up to the last day a ticket changed: a ticket created on one
    // of them (it lives on until its last change) is approximated.
    let latest = account
        .tickets
        .iter()
        .map(|t| instant(t, "updated_at"))
        .max()
        .unwrap();
    let last_day = (now - 86_400).min(latest).div_euclid(86_400);
    let expected = account
        .tickets
        .iter()
        .filter(|t| t["source"] != 10)
        .filter(|t| instant(t, "updated_at") >= start_at)
        .filter(|t| instant(t, "created_at").div_euclid(86_400) <= last_day)
        .count();
    assert!(expected >= 50, "{expected} approximated");
    let server = start(FdState::new(
        account,
        ServerOptions {
            export_enabled: false,
            ..ServerOptions::default()
        },
    ))
    .await
    .unwrap();
    let tmp = scratch("fd-no-export");
    let dir = tmp.path();
    let config = write_config(dir, &server.base_url(), start_at);
    let store = dir.join("store.sqlite");
    let (stop, rx) = tokio::sync::watch::channel(false);
    let (tx, started) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(run_with(
        Options {
            config,
            store: Some(store.display().to_string()),
            listen: Some("127.0.0.1:0".parse().unwrap()),
            ..Options::default()
        },
        rx,
        Some(tx),
    ));
    let (addr, _) = started.await.unwrap();
    let addr = addr.unwrap().to_string();
    let label = r#"source="freshdesk""#;
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let metrics = loop {
        let a = addr.clone();
        let metrics = tokio::task::spawn_blocking(move || http_get(&a, "/metrics"))
            .await
            .unwrap();
        let polled = sample(
            &metrics,
            "helpdesk_slo_source_last_success_timestamp_seconds",
            &[label],
        );
        if polled.is_some_and(|t| t > 0.0) {
            break metrics;
        }
        assert!(std::time::Instant::now() < deadline, "no complete poll");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    stop.send(true).unwrap();
    task.await.unwrap().unwrap();
    let by_endpoint = server.state().counts().by_endpoint;
    server.shutdown().await;
    assert_eq!(
        sample(
            &metrics,
            "helpdesk_slo_source_approximated_tickets",
            &[label]
        ),
        Some(expected as f64)
    );
    assert_eq!(by_endpoint.get("export_file"), None, "{by_endpoint:?}");
}
