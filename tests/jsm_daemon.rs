//! End to end over HTTP: the Jira Service Management emulator → the real
//! adapter → the SQLite store → the engine, through the daemon's poll
//! loop. The fixture site (`tests/testdata/jsm/lifecycle`) gives the clocks
//! worked out by hand; a synthetic site, backfilled with the shipped
//! `examples/jsm.yaml` pointed at the emulator, stores the same state with
//! and without rate limits and faults.

use std::path::{Path, PathBuf};
use std::time::Duration;

use helpdesk_slo::daemon::{run, Options};
use helpdesk_slo::simulator::jsm::{start, synthetic, Faults, JsmState, ServerOptions, Site};
use helpdesk_slo::store::{SqliteStore, Store};
use helpdesk_slo::time::format_instant;
use serde_json::{json, Value};

mod common;
mod jsm_fixture_site;
use common::scratch;
use jsm_fixture_site::{fixture_site, fixtures};

const EMAIL: &str = "support-bot@acme.example";
const TOKEN: &str = "jsm-daemon-test-token";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn options(faults: Faults) -> ServerOptions {
    ServerOptions {
        email: EMAIL.into(),
        token: TOKEN.into(),
        user_timezone: chrono_tz::America::Los_Angeles,
        faults,
        ..ServerOptions::default()
    }
}

/// Runs the daemon once over `config`; the store's path.
async fn backfill_once(dir: &Path, config: PathBuf) -> PathBuf {
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
    assert!(summary.sources["jsm"].pages > 0);
    store_path
}

/// Each stored clock of a ticket as `[metric, instance, state, start,
/// due_at, fulfilled_at, breached_at]`.
fn clock_states(store: &SqliteStore, id: &str) -> Vec<Value> {
    let (_, clocks) = store.clocks("jsm", id).unwrap().unwrap();
    helpdesk_slo::store::decode_clocks(&clocks)
        .unwrap()
        .iter()
        .map(|v| {
            let c = serde_json::to_value(v).unwrap();
            json!([
                c["metric"],
                c["instance"],
                c["state"],
                c["start"],
                c["due_at"],
                c["fulfilled_at"],
                c["breached_at"]
            ])
        })
        .collect()
}

#[test]
fn the_example_config_passes_check() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_helpdesk-slo"))
        .args(["check", "--config", "examples/jsm.yaml"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.starts_with("examples/jsm.yaml: ok"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_gives_the_fixture_site_its_hand_computed_clocks() {
    let server = start(JsmState::new(Site::default(), options(Faults::default())))
        .await
        .unwrap();
    let dir_fx = fixtures().join("lifecycle");
    let site = fixture_site(&dir_fx, &server.base_url());
    server.state().with_site(|s| *s = site);
    let tmp = scratch("jsm-fixture-daemon");
    let dir = tmp.path();
    let token_file = dir.join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let policy = std::fs::read_to_string(fixtures().join("policy.yaml")).unwrap();
    let extra: String = std::fs::read_to_string(dir_fx.join("source.yaml"))
        .unwrap()
        .lines()
        .map(|l| format!("    {l}\n"))
        .collect();
    let config = format!(
        "{policy}\nsources:\n  jsm:\n    kind: jira_service_management\n    url: {}\n    auth: {{ email: {EMAIL}, token: {{ file: {} }} }}\n    start_time: 2026-11-02T00:00:00Z\n    poll_interval: 1s\n    requests_per_minute: 600000\n{extra}",
        server.base_url(),
        token_file.display()
    );
    let path = dir.join("config.yaml");
    std::fs::write(&path, config).unwrap();
    let store_path = backfill_once(dir, path).await;
    server.shutdown().await;
    let store = SqliteStore::open(&store_path).unwrap();
    assert_eq!(
        store.ticket_ids("jsm").unwrap(),
        vec!["SUP-1", "SUP-2", "SUP-3"]
    );
    // Worked out by hand (tests/testdata/jsm/lifecycle/clocks.json says
    // why); "now" is today, long after the fixtures, so SUP-3's resolution
    // has breached by now and SUP-2's is still paused.
    let n = Value::Null;
    let want = |id: &str| -> Vec<Value> {
        match id {
            "SUP-1" => vec![
                json!([
                    "first_response",
                    1,
                    "met",
                    "2026-11-02T17:00:00Z",
                    "2026-11-02T21:00:00Z",
                    "2026-11-02T17:20:00Z",
                    n
                ]),
                json!([
                    "resolution",
                    1,
                    "met",
                    "2026-11-02T17:00:00Z",
                    "2026-11-03T01:40:00Z",
                    "2026-11-02T19:00:00Z",
                    n
                ]),
                json!([
                    "resolution",
                    2,
                    "met",
                    "2026-11-02T20:00:00Z",
                    "2026-11-03T04:00:00Z",
                    "2026-11-02T21:00:00Z",
                    n
                ]),
            ],
            "SUP-2" => vec![
                json!([
                    "first_response",
                    1,
                    "met",
                    "2026-11-02T18:00:00Z",
                    "2026-11-03T02:00:00Z",
                    "2026-11-02T18:30:00Z",
                    n
                ]),
                json!(["resolution", 1, "paused", "2026-11-02T18:00:00Z", n, n, n]),
            ],
            _ => vec![
                json!([
                    "first_response",
                    1,
                    "breached",
                    "2026-11-03T16:00:00Z",
                    "2026-11-04T00:00:00Z",
                    n,
                    "2026-11-04T00:00:00Z"
                ]),
                json!([
                    "resolution",
                    1,
                    "breached",
                    "2026-11-03T16:00:00Z",
                    "2026-11-05T16:00:00Z",
                    n,
                    "2026-11-05T16:00:00Z"
                ]),
            ],
        }
    };
    for id in ["SUP-1", "SUP-2", "SUP-3"] {
        assert_eq!(clock_states(&store, id), want(id), "{id}");
    }
    // JSM's own cycles are stored as sent: SUP-1's two resolution cycles
    // (the reopen started another), SUP-2's paused ongoing cycle.
    let t = store.ticket("jsm", "SUP-1").unwrap().unwrap();
    let ttr = &t.fields["jsm_sla.customfield_10031"];
    assert_eq!(ttr["completedCycles"].as_array().unwrap().len(), 2);
    let t = store.ticket("jsm", "SUP-2").unwrap().unwrap();
    assert_eq!(
        t.fields["jsm_sla.customfield_10031"]["ongoingCycle"]["paused"],
        true
    );
}

/// `examples/jsm.yaml` polling `url` from `start`.
fn write_example_config(dir: &Path, url: &str, start: i64) -> PathBuf {
    let example =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/jsm.yaml"))
            .unwrap();
    let token_file = dir.join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let replace = |text: String, from: &str, to: &str| {
        assert!(
            text.contains(from),
            "examples/jsm.yaml no longer has {from:?}"
        );
        text.replace(from, to)
    };
    let text = replace(
        example,
        "url: https://acme.atlassian.net",
        &format!("url: {url}"),
    );
    let text = replace(
        text,
        "token: { env: JSM_API_TOKEN }",
        &format!("token: {{ file: {} }}", token_file.display()),
    );
    let text = replace(
        text,
        "start_time: 2026-11-01T00:00:00Z",
        &format!("start_time: {}", format_instant(start)),
    );
    let text = replace(text, "poll_interval: 1m", "poll_interval: 1s");
    let text = replace(
        text,
        "requests_per_minute: 100",
        "requests_per_minute: 600000",
    );
    let path = dir.join("config.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Backfills a synthetic site with `faults`: every stored ticket's
/// timeline and clock states, in id order, and the answers by status.
async fn synthetic_backfill(
    name: &str,
    now: i64,
    faults: Faults,
) -> (Vec<String>, usize, std::collections::BTreeMap<u16, u64>) {
    let start_at = now - 9 * 86_400;
    let site = synthetic::site(&synthetic::Options {
        seed: 5,
        issues: 120,
        start: start_at + 3_600,
        span: 8 * 86_400,
        now: now - 3_600,
        project: "SUP".into(),
        timezone: chrono_tz::America::Los_Angeles,
        late_reply_rate: None,
    });
    let issues = site.issues.len();
    let server = start(JsmState::new(site, options(faults))).await.unwrap();
    let tmp = scratch(name);
    let dir = tmp.path();
    let config = write_example_config(dir, &server.base_url(), start_at);
    let store_path = backfill_once(dir, config).await;
    let by_status = server.state().counts().by_status;
    server.shutdown().await;
    let store = SqliteStore::open(&store_path).unwrap();
    assert!(
        store.stale_ticket_ids("jsm").unwrap().is_empty(),
        "every ticket has clocks"
    );
    let mut out = Vec::new();
    for id in store.ticket_ids("jsm").unwrap() {
        let t = store.ticket("jsm", &id).unwrap().unwrap();
        let timeline =
            serde_json::to_string(&helpdesk_slo::engine::Ticket { url: None, ..t }).unwrap();
        out.push(format!(
            "{timeline}\n{}",
            Value::from(clock_states(&store, &id))
        ));
    }
    (out, issues, by_status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_synthetic_backfill_is_the_same_with_rate_limits_and_faults() {
    let now = now();
    let (clean, issues, _) = synthetic_backfill("jsm-clean", now, Faults::default()).await;
    assert_eq!(clean.len(), issues, "every request, once");
    assert!(
        clean.iter().any(|t| t.contains(r#""value":"pending""#)),
        "waiting for customer"
    );
    assert!(clean.iter().any(|t| t.contains(r#""author":"agent""#)));
    assert!(clean.iter().any(|t| t.contains(r#""author":"requester""#)));
    assert!(
        clean.iter().any(|t| t.contains(r#""public":false"#)),
        "internal notes"
    );
    assert!(clean
        .iter()
        .any(|t| t.contains(r#"["first_response",1,"met""#)));
    let faults = Faults {
        seed: 3,
        rate_limit_every: Some(25),
        retry_after: 1,
        server_error_rate: 0.03,
    };
    let (faulty, _, by_status) = synthetic_backfill("jsm-faulty", now, faults).await;
    assert!(
        by_status.get(&429).copied().unwrap_or(0) > 0,
        "{by_status:?}"
    );
    assert!(
        by_status.get(&503).copied().unwrap_or(0) > 0,
        "{by_status:?}"
    );
    assert_eq!(clean, faulty);
}
