//! End to end over HTTP: the Zendesk emulator → the real adapter → the
//! SQLite store → the engine, through the daemon's poll loop.

use std::path::{Path, PathBuf};
use std::time::Duration;

use helpdesk_slo::config_files;
use helpdesk_slo::daemon::{run, Options};
use helpdesk_slo::policy::Config;
use helpdesk_slo::simulator::generator::{generate, GeneratorOptions};
use helpdesk_slo::simulator::zendesk::{
    endpoint, start, Faults, ServerOptions, SimState, DEMO_TOKEN,
};
use helpdesk_slo::store::{decode_clocks, SqliteStore, Store};

mod common;
use common::{comparable_clock, scratch};

/// Whether the store at `path` has committed a cursor of `stream` (read
/// from another connection, as any reader of the file may).
fn has_cursor(path: &Path, stream: &str) -> bool {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    let Ok(conn) = rusqlite::Connection::open_with_flags(path, flags) else {
        return false;
    };
    conn.query_row(
        "SELECT count(*) FROM cursors WHERE stream = ?1",
        [stream],
        |r| r.get::<_, i64>(0),
    )
    .is_ok_and(|n| n > 0)
}

/// Stored clocks as the JSON values of their views (what the daemon serves).
fn clock_values(stored: &[u8]) -> Result<Vec<serde_json::Value>, String> {
    let views = decode_clocks(stored).map_err(|e| e.to_string())?;
    views
        .iter()
        .map(|v| serde_json::to_value(v).map_err(|e| e.to_string()))
        .collect()
}

/// The Celigo example with a Zendesk source pointing at `url`.
fn write_config(dir: &Path, url: &str) -> PathBuf {
    let example =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml"))
            .unwrap();
    let token_file = dir.join("token");
    std::fs::write(&token_file, format!("{DEMO_TOKEN}\n")).unwrap();
    let text = format!(
        "{example}\nsources:\n  zendesk:\n    kind: zendesk\n    url: {url}\n    auth: {{ email: demo@example.com, token: {{ file: {} }} }}\n    start_time: 2026-10-01T00:00:00Z\n    poll_interval: 1s\n",
        token_file.display()
    );
    let path = dir.join("config.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

fn example_config() -> Config {
    config_files::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml")).unwrap()
}

fn options() -> GeneratorOptions {
    GeneratorOptions {
        seed: 7,
        organizations: 12,
        days: 6,
        tickets_per_day: 30,
        ..GeneratorOptions::default()
    }
}

/// Backfills from an emulator with `faults` and returns every stored
/// ticket's timeline and clocks as JSON, in id order.
async fn backfill(name: &str, faults: Faults) -> (Vec<String>, usize) {
    let cfg = example_config();
    let data = generate(&cfg, &options());
    let live = data
        .tickets
        .iter()
        .filter(|t| format!("{:?}", t.status) != "Deleted")
        .count();
    let state = SimState::new(
        &cfg,
        data,
        ServerOptions {
            faults,
            ..ServerOptions::default()
        },
    );
    let server = start(state).await.unwrap();
    let tmp = scratch(name);
    let dir = tmp.path();
    let config = write_config(dir, &server.base_url());
    let store_path = dir.join("store.sqlite");
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let opts = Options {
        config,
        store: Some(store_path.clone().display().to_string()),
        once: true,
        ..Options::default()
    };
    let summary = tokio::time::timeout(Duration::from_secs(120), run(opts.clone(), rx.clone()))
        .await
        .expect("backfill finishes")
        .unwrap();
    assert!(summary.sources["zendesk"].pages > 0);
    // A second run over the same data stores nothing new.
    let again = run(opts, rx).await.unwrap();
    assert!(again.sources["zendesk"].recomputed <= summary.sources["zendesk"].recomputed);
    server.shutdown().await;

    let store = SqliteStore::open(&store_path).unwrap();
    assert!(
        store.stale_ticket_ids("zendesk").unwrap().is_empty(),
        "every ticket has clocks"
    );
    let mut out = Vec::new();
    for id in store.ticket_ids("zendesk").unwrap() {
        let t = store.ticket("zendesk", &id).unwrap().unwrap();
        let (hash, clocks) = store.clocks("zendesk", &id).unwrap().unwrap();
        assert_eq!(
            hash,
            config_files::load(&dir.join("config.yaml"))
                .unwrap()
                .clocks_hash
        );
        let states: Vec<serde_json::Value> = clock_values(&clocks)
            .unwrap()
            .into_iter()
            .map(|c| comparable_clock(&c))
            .collect();
        // The emulator's port differs between runs.
        let timeline =
            serde_json::to_string(&helpdesk_slo::engine::Ticket { url: None, ..t }).unwrap();
        out.push(format!(
            "{timeline}\n{}",
            serde_json::to_string(&states).unwrap()
        ));
    }
    (out, live)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_stores_every_ticket_with_clocks() {
    let (tickets, live) = backfill("clean", Faults::default()).await;
    assert_eq!(tickets.len(), live, "every live ticket stored once");
    assert!(tickets.len() > 100, "{}", tickets.len());
    // Users and organizations were read: replies are agent replies, plans
    // match, so some first responses are met and some breached.
    assert!(tickets.iter().any(|t| t.contains(r#""author":"agent""#)));
    assert!(tickets
        .iter()
        .any(|t| t.contains(r#""first_response",1,"met""#)));
    assert!(tickets.iter().any(|t| t.contains(r#""breached""#)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_change_nothing_in_the_stored_state() {
    let (clean, _) = backfill("faultless", Faults::default()).await;
    let faults = Faults {
        seed: 3,
        rate_limit_every: Some(7),
        retry_after: 1,
        server_error_rate: 0.1,
        malformed_rate: 0.1,
        duplicate_rate: 0.2,
        ..Faults::default()
    };
    let (faulty, _) = backfill("faulty", faults).await;
    assert_eq!(clean.len(), faulty.len());
    for (a, b) in clean.iter().zip(&faulty) {
        assert_eq!(a, b);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_config_recomputes_stored_clocks_at_start() {
    let cfg = example_config();
    let data = generate(
        &cfg,
        &GeneratorOptions {
            tickets_per_day: 10,
            days: 3,
            ..options()
        },
    );
    let server = start(SimState::new(&cfg, data, ServerOptions::default()))
        .await
        .unwrap();
    let tmp = scratch("reconfig");
    let dir = tmp.path();
    let config = write_config(dir, &server.base_url());
    let store_path = dir.join("store.sqlite");
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let opts = Options {
        config: config.clone(),
        store: Some(store_path.clone().display().to_string()),
        once: true,
        ..Options::default()
    };
    run(opts.clone(), rx.clone()).await.unwrap();
    // Tighten Premier's urgent target: the stored clocks carry the old hash.
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "urgent: { first_response: 1h",
        "urgent: { first_response: 1m",
    );
    std::fs::write(&config, text).unwrap();
    let new_hash = config_files::load(&config).unwrap().clocks_hash;
    run(opts, rx).await.unwrap();
    server.shutdown().await;
    let store = SqliteStore::open(&store_path).unwrap();
    let ids = store.ticket_ids("zendesk").unwrap();
    assert!(!ids.is_empty());
    for id in &ids {
        let (hash, _) = store.clocks("zendesk", id).unwrap().unwrap();
        assert_eq!(
            hash, new_hash,
            "ticket {id} recomputed under the new config"
        );
    }
}

/// Every stored ticket's timeline and its clocks' identities, in id order.
fn stored_state(store_path: &Path) -> Vec<String> {
    let store = SqliteStore::open(store_path).unwrap();
    assert!(store.stale_ticket_ids("zendesk").unwrap().is_empty());
    let mut out = Vec::new();
    for id in store.ticket_ids("zendesk").unwrap() {
        let t = store.ticket("zendesk", &id).unwrap().unwrap();
        let (_, clocks) = store.clocks("zendesk", &id).unwrap().unwrap();
        let ids: Vec<serde_json::Value> = clock_values(&clocks)
            .unwrap()
            .into_iter()
            .map(|c| serde_json::json!([c["metric"], c["instance"], c["start"], c["fulfilled_at"]]))
            .collect();
        out.push(format!(
            "{}\n{}",
            serde_json::to_string(&t).unwrap(),
            serde_json::to_string(&ids).unwrap()
        ));
    }
    out
}

#[test]
fn a_daemon_killed_mid_backfill_resumes_and_loses_nothing() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let bin = env!("CARGO_BIN_EXE_helpdesk-slo");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml");
    let mut sim = Command::new(bin)
        .args(["simulate", "--config"])
        .arg(&example)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--seed",
            "11",
            "--days",
            "40",
            "--tickets-per-day",
            "150",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    let mut out = std::io::BufReader::new(sim.stdout.take().unwrap());
    out.read_line(&mut first).unwrap();
    // Keep draining its stdout: a closed pipe would end the emulator.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let url = first.trim().rsplit(' ').next().unwrap().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{first}");

    let tmp = scratch("sigkill");
    let dir = tmp.path();
    let config = write_config(dir, &url);
    let daemon = |store: &Path| {
        let mut c = Command::new(bin);
        c.args(["run", "--once", "--config"])
            .arg(&config)
            .arg("--store")
            .arg(store);
        c.stdout(Stdio::null()).stderr(Stdio::null());
        c
    };
    // Killed (SIGKILL) mid-backfill, twice, then run to the end: once
    // when the first tickets are committed, once when the first events
    // are (what the store holds says how far the backfill got, whatever
    // the machine's speed).
    let killed = dir.join("killed.sqlite");
    for stream in ["tickets", "ticket_events"] {
        let mut child = daemon(&killed).spawn().unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while !has_cursor(&killed, stream) {
            assert!(
                child.try_wait().unwrap().is_none(),
                "the backfill ended before committing {stream}"
            );
            assert!(
                std::time::Instant::now() < deadline,
                "no {stream} committed"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        let finished = child.try_wait().unwrap().is_some();
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(
            !finished,
            "the backfill finished before the kill; make the dataset larger"
        );
    }
    assert!(daemon(&killed).status().unwrap().success());
    // The same backfill, never interrupted.
    let clean = dir.join("clean.sqlite");
    assert!(daemon(&clean).status().unwrap().success());
    sim.kill().unwrap();
    sim.wait().unwrap();

    let (a, b) = (stored_state(&killed), stored_state(&clean));
    assert!(a.len() > 300, "{}", a.len());
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
}

/// A graceful shutdown (the watch channel) in the middle of a backfill waits
/// for the batch being committed: once `run` returns, nothing writes to the
/// store any more, and a restart completes the backfill to exactly the state
/// of one that was never interrupted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_shutdown_mid_backfill_finishes_its_commit_and_loses_nothing() {
    let cfg = example_config();
    let options = GeneratorOptions {
        seed: 5,
        organizations: 12,
        days: 20,
        tickets_per_day: 150,
        ..GeneratorOptions::default()
    };
    let state = SimState::new(
        &cfg,
        generate(&cfg, &options),
        ServerOptions {
            // Slow pages, so that the shutdown lands mid-backfill.
            faults: Faults {
                delay: Some(Duration::from_millis(5)),
                ..Faults::default()
            },
            ..ServerOptions::default()
        },
    );
    let server = start(state).await.unwrap();
    let tmp = scratch("graceful");
    let dir = tmp.path();
    let config = write_config(dir, &server.base_url());
    let opts = |store: &Path, once: bool| Options {
        config: config.clone(),
        store: Some(store.to_path_buf().display().to_string()),
        once,
        ..Options::default()
    };

    let stopped = dir.join("stopped.sqlite");
    let (tx, rx) = tokio::sync::watch::channel(false);
    let daemon = tokio::spawn(run(opts(&stopped, false), rx));
    // Stop a few pages into the events stream: the first batch of them has
    // been handed to the store, the next ones are being fetched.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while server.state().requests(endpoint::TICKET_EVENTS) < 10 {
        assert!(std::time::Instant::now() < deadline, "no events requested");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    tx.send(true).unwrap();
    let summary = tokio::time::timeout(Duration::from_secs(60), daemon)
        .await
        .expect("the daemon stops")
        .unwrap()
        .unwrap();
    let pages = summary.sources["zendesk"].pages;
    assert!(pages > 0, "nothing was committed before the shutdown");
    // Nothing is still committing behind the returned run.
    let before = SqliteStore::open(&stopped).unwrap().stats().unwrap();
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let after = SqliteStore::open(&stopped).unwrap().stats().unwrap();
        assert_eq!(before, after, "the store changed after the daemon stopped");
    }

    let (_tx, rx) = tokio::sync::watch::channel(false);
    let resumed = run(opts(&stopped, true), rx.clone()).await.unwrap();
    assert!(
        resumed.sources["zendesk"].pages > 0,
        "the backfill finished before the shutdown; make the dataset larger"
    );
    let clean = dir.join("clean.sqlite");
    run(opts(&clean, true), rx).await.unwrap();
    server.shutdown().await;

    let (a, b) = (stored_state(&stopped), stored_state(&clean));
    assert!(a.len() > 2_000, "{}", a.len());
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
}

/// Every stored ticket's clocks, in id order, without what depends on the
/// moment they were computed: an open clock's state and figures.
fn stored_clocks(store_path: &Path) -> Vec<(String, serde_json::Value)> {
    let store = SqliteStore::open(store_path).unwrap();
    assert!(store.stale_ticket_ids("zendesk").unwrap().is_empty());
    let mut out = Vec::new();
    for id in store.ticket_ids("zendesk").unwrap() {
        let (_, clocks) = store.clocks("zendesk", &id).unwrap().unwrap();
        let clocks: Vec<serde_json::Value> = clock_values(&clocks)
            .unwrap()
            .into_iter()
            .map(|c| {
                if c["fulfilled_at"].is_null() {
                    serde_json::json!([c["metric"], c["instance"], c["start"]])
                } else {
                    serde_json::json!([
                        c["metric"],
                        c["instance"],
                        c["start"],
                        c["state"],
                        c["due_at"],
                        c["fulfilled_at"],
                        c["breached_at"],
                        c["elapsed_seconds"]
                    ])
                }
            })
            .collect();
        out.push((id, serde_json::Value::Array(clocks)));
    }
    out
}

/// A backfill computes the clocks of tickets whose events are all in while
/// later pages are still being fetched and committed. What it leaves in
/// the store is what recomputing every ticket from its stored timeline
/// gives (a changed config makes the next start do exactly that).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clocks_computed_during_the_backfill_equal_a_full_recompute() {
    let cfg = example_config();
    let options = GeneratorOptions {
        seed: 11,
        organizations: 20,
        days: 20,
        tickets_per_day: 300,
        ..GeneratorOptions::default()
    };
    let server = start(SimState::new(
        &cfg,
        generate(&cfg, &options),
        ServerOptions::default(),
    ))
    .await
    .unwrap();
    let tmp = scratch("early");
    let dir = tmp.path();
    let config = write_config(dir, &server.base_url());
    // Pages paced (50 ms apart) so that batches commit one after another
    // with time between them for the early recompute, however busy the
    // machine: unpaced, a loaded store takes the events in one or two big
    // batches and the backfill may end before any chunk is computed.
    let paced = std::fs::read_to_string(&config).unwrap() + "    requests_per_minute: 1200\n";
    std::fs::write(&config, paced).unwrap();
    let store_path = dir.join("store.sqlite");
    let opts = Options {
        config: config.clone(),
        store: Some(store_path.clone().display().to_string()),
        once: true,
        // On idle CPU only, a busy machine (other tests run beside this
        // one) could leave it no time at all before the backfill ends.
        early_recompute_at_normal_priority: true,
        ..Options::default()
    };
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let summary = run(opts.clone(), rx.clone()).await.unwrap();
    let first = &summary.sources["zendesk"];
    let early = stored_clocks(&store_path);
    assert!(early.len() > 5_000, "{}", early.len());
    assert!(
        first.recomputed_early > 0,
        "no clocks were computed during the backfill: {first:?}"
    );
    assert!(first.recomputed >= early.len() as u64, "{first:?}");

    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{text}\n# every ticket once more\n")).unwrap();
    let new_hash = config_files::load(&config).unwrap().clocks_hash;
    run(opts, rx).await.unwrap();
    server.shutdown().await;
    let store = SqliteStore::open(&store_path).unwrap();
    for (id, _) in &early {
        let (hash, _) = store.clocks("zendesk", id).unwrap().unwrap();
        assert_eq!(hash, new_hash, "ticket {id} recomputed");
    }
    let full = stored_clocks(&store_path);
    assert_eq!(early.len(), full.len());
    for (a, b) in early.iter().zip(&full) {
        assert_eq!(a, b);
    }
}

/// A Zendesk adapter at `url`, its token in a file under `dir`.
fn zendesk_at(dir: &Path, url: &str) -> helpdesk_slo::sources::zendesk::Zendesk {
    let token_file = dir.join("token");
    std::fs::write(&token_file, "fixture-token\n").unwrap();
    let yaml = format!(
        "kind: zendesk\nurl: {url}\nauth: {{ email: ops@acme.example, token: {{ file: {} }} }}\nstart_time: 2026-10-01T00:00:00Z\n",
        token_file.display()
    );
    let spec: helpdesk_slo::policy::spec::SourceSpec = serde_yaml_ng::from_str(&yaml).unwrap();
    helpdesk_slo::sources::zendesk::Zendesk::new(&spec).unwrap()
}

/// A loopback server answering every request with `200` and `body`.
async fn answering(body: &'static str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(answer.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}")
}

/// JSON of the wrong shape (a field of another type) is a parse error the
/// exporter counts, like a body that is not JSON at all, not only a retry.
#[tokio::test]
async fn json_of_the_wrong_shape_counts_as_a_parse_error() {
    use helpdesk_slo::sources::Source;
    let tmp = scratch("wrong-shape");
    let url = answering(r#"{"tickets": "not a list", "end_of_stream": "soon"}"#).await;
    let source = zendesk_at(tmp.path(), &url);
    let stats = source.request_stats().unwrap();
    let e = tokio::time::timeout(Duration::from_secs(10), source.poll("tickets", None))
        .await
        .unwrap()
        .unwrap_err();
    assert!(e.to_string().contains("tickets"), "{e}");
    assert_eq!(stats.snapshot().parse_errors, 1, "{e}");
}

/// A host that cannot be reached: the error names the URL it asked (no
/// query string) and why it failed, not `error sending request for url ()`.
#[tokio::test]
async fn an_unreachable_host_is_named_with_the_cause() {
    use helpdesk_slo::sources::Source;
    let tmp = scratch("unreachable");
    // A port that was free a moment ago: nothing listens there.
    let port = common::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let source = zendesk_at(tmp.path(), &url);
    let e = tokio::time::timeout(Duration::from_secs(20), source.poll("tickets", None))
        .await
        .unwrap()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("{url}/api/v2/incremental/tickets/cursor.json:")),
        "{e}"
    );
    assert!(!e.contains("()") && !e.contains('?'), "{e}");
    assert!(e.to_lowercase().contains("refused"), "{e}");
}

/// A `Retry-After` near 2^64 (the issue's probe) holds the source at most
/// the limit and kills nothing: the source stays up and the daemon ready,
/// with the rate limit counted, instead of a reader that panicked while
/// the daemon said all was well.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_near_2_pow_64_holds_the_source_and_kills_nothing() {
    let cfg = example_config();
    let data = generate(
        &cfg,
        &GeneratorOptions {
            tickets_per_day: 5,
            days: 2,
            ..options()
        },
    );
    let server = start(SimState::new(
        &cfg,
        data,
        ServerOptions {
            faults: Faults {
                rate_limit_every: Some(2),
                retry_after: u64::MAX - 1,
                ..Faults::default()
            },
            ..ServerOptions::default()
        },
    ))
    .await
    .unwrap();
    let tmp = scratch("huge-retry-after");
    let dir = tmp.path();
    let config = write_config(dir, &server.base_url());
    let (stop, rx) = tokio::sync::watch::channel(false);
    let (tx, started) = tokio::sync::oneshot::channel();
    let opts = Options {
        config,
        store: Some(dir.join("store.sqlite").display().to_string()),
        listen: Some("127.0.0.1:0".parse().unwrap()),
        ..Options::default()
    };
    let daemon = tokio::spawn(helpdesk_slo::daemon::run_with(opts, rx, Some(tx)));
    let (_, state) = started.await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while server.state().stats().rate_limited == 0 {
        assert!(std::time::Instant::now() < deadline, "no 429 was sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Time for a reader that would panic or stop to be noticed.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!daemon.is_finished());
    assert_eq!(state.not_ready(), None);
    state.refresh(helpdesk_slo::daemon::now_unix());
    let text = state.rendered().prometheus.clone();
    let line = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
            .to_string()
    };
    assert!(line("helpdesk_slo_source_up{").ends_with(" 1.0"), "{text}");
    assert!(
        line("helpdesk_slo_source_rate_limited_total{").ends_with(" 1"),
        "{text}"
    );
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(10), daemon)
        .await
        .expect("the daemon stops while the source is held")
        .unwrap()
        .unwrap();
}

/// Reloads that alternate two configs while a backfill runs: once all is
/// done, every stored clock was computed under the config in force at the
/// end (its hash, and its due instants as that config gives them), never
/// left under a superseded one by a recompute that started before a reload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloads_during_a_backfill_leave_no_clock_under_an_old_config() {
    let cfg = example_config();
    let data = generate(
        &cfg,
        &GeneratorOptions {
            days: 30,
            tickets_per_day: 120,
            ..options()
        },
    );
    let server = start(SimState::new(
        &cfg,
        data,
        ServerOptions {
            // A backfill of a few seconds, for the reloads to land in.
            faults: Faults {
                delay: Some(Duration::from_millis(40)),
                ..Faults::default()
            },
            ..ServerOptions::default()
        },
    ))
    .await
    .unwrap();
    let tmp = scratch("reload-backfill");
    let dir = tmp.path();
    let config = write_config(dir, &server.base_url());
    let a = std::fs::read_to_string(&config).unwrap();
    // Another premier urgent first-response target: other due instants.
    let b = a.replacen(
        "urgent: { first_response: 1h, follow_up: 12h }",
        "urgent: { first_response: 3h, follow_up: 10h }",
        1,
    );
    assert_ne!(a, b);
    let (stop, rx) = tokio::sync::watch::channel(false);
    let (tx, started) = tokio::sync::oneshot::channel();
    let opts = Options {
        config: config.clone(),
        store: Some(dir.join("store.sqlite").display().to_string()),
        ..Options::default()
    };
    let daemon = tokio::spawn(helpdesk_slo::daemon::run_with(opts, rx, Some(tx)));
    let (_, state) = started.await.unwrap();
    // A completed poll of every stream shows as its last success.
    let caught_up = || {
        state.refresh(helpdesk_slo::daemon::now_unix());
        let text = state.rendered().prometheus.clone();
        text.lines()
            .find(|l| l.starts_with("helpdesk_slo_source_last_success_timestamp_seconds{"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
            .is_some_and(|v| v > 0.0)
    };
    // Reloads only while the backfill runs: the last one lands in it, and
    // nothing recomputes everything after it.
    let mut reloads = 0;
    for text in [&b, &a].iter().cycle() {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if caught_up() {
            break;
        }
        std::fs::write(&config, text).unwrap();
        state.reload().await.unwrap();
        reloads += 1;
    }
    assert!(reloads >= 2, "the backfill ended after {reloads} reloads");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while !caught_up() {
        assert!(
            std::time::Instant::now() < deadline,
            "the backfill never finished"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A poll after the backfill: whatever is pending is recomputed.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    stop.send(true).unwrap();
    daemon.await.unwrap().unwrap();
    server.shutdown().await;

    let final_config = config_files::load(&config).unwrap();
    let store = SqliteStore::open(dir.join("store.sqlite")).unwrap();
    let ids = store.ticket_ids("zendesk").unwrap();
    assert!(ids.len() > 1000, "{}", ids.len());
    let mut wrong = Vec::new();
    for id in &ids {
        let (hash, clocks) = store.clocks("zendesk", id).unwrap().unwrap();
        let ticket = store.ticket("zendesk", id).unwrap().unwrap();
        let fresh = helpdesk_slo::engine::evaluate(
            &final_config.policy,
            &ticket,
            helpdesk_slo::daemon::now_unix(),
        );
        let due = |views: Vec<(String, u32, i64, Option<i64>)>| views;
        let stored = due(decode_clocks(&clocks)
            .unwrap()
            .iter()
            .map(|c| (c.metric.to_string(), c.instance, c.start, c.due_at))
            .collect());
        let expected = due(fresh
            .iter()
            .map(|c| {
                let v = c.view(&final_config.policy);
                (v.metric.to_string(), v.instance, v.start, v.due_at)
            })
            .collect());
        if hash != final_config.clocks_hash || stored != expected {
            wrong.push(format!("{id} {hash} {stored:?} {expected:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} tickets keep clocks of a superseded config after {reloads} reloads, e.g. {:?}",
        wrong.len(),
        ids.len(),
        &wrong[..wrong.len().min(5)]
    );
}

/// The live figures are a running sum of the stored clocks rows, not a
/// copy of every ticket: after tickets are deleted, moved to another
/// organization after they were decided, and answered while the daemon
/// runs, what it serves equals a fresh count of the rows the store holds
/// (totals, windows and each customer's credit counts).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_figures_equal_a_fresh_count_of_the_stored_rows_after_deletions_and_moves() {
    use helpdesk_slo::engine::clocks_from_views;
    use helpdesk_slo::exposition::{compute, Counted, Live};
    use helpdesk_slo::simulator::generator::{Edit, NewComment, TicketStatus, Update};
    use helpdesk_slo::store::decode_counted_clocks;

    let cfg = example_config();
    let data = generate(&cfg, &options());
    let t0 = data.tickets.iter().map(|t| t.updated_at).max().unwrap() + 3600;
    let sim = SimState::new(&cfg, data, ServerOptions::default());
    sim.set_now(Some(t0));
    let server = start(sim).await.unwrap();
    let tmp = scratch("live-rows");
    let dir = tmp.path();
    let config = write_config(dir, &server.base_url());
    let store_path = dir.join("store.sqlite");
    let (stop, rx) = tokio::sync::watch::channel(false);
    let (tx, started) = tokio::sync::oneshot::channel();
    let opts = Options {
        config,
        store: Some(store_path.display().to_string()),
        ..Options::default()
    };
    let daemon = tokio::spawn(helpdesk_slo::daemon::run_with(opts, rx, Some(tx)));
    let (_, state) = started.await.unwrap();
    let settled = |want: &dyn Fn(&SqliteStore) -> bool| {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(s) = SqliteStore::open(&store_path) {
                if s.stale_ticket_ids("zendesk").unwrap().is_empty() && want(&s) {
                    return;
                }
            }
            assert!(std::time::Instant::now() < deadline, "never settled");
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let total = server.state().read(|d| d.tickets.len());
    settled(&|s| s.stats().unwrap().clocks as usize + 2 >= total);

    // Solved tickets with an organization: two deleted, three moved to
    // another organization; three open ones answered.
    let (deleted, moved) = server.state().modify(|d| {
        let agent = d.agents().next().unwrap().id;
        let orgs: Vec<_> = d.organizations.iter().map(|o| o.id).collect();
        let solved: Vec<_> = d
            .tickets
            .iter()
            .filter(|t| t.status == TicketStatus::Solved && t.organization_id.is_some())
            .map(|t| (t.id, t.organization_id))
            .take(5)
            .collect();
        let open: Vec<_> = d
            .tickets
            .iter()
            .filter(|t| t.status == TicketStatus::Open)
            .map(|t| t.id)
            .take(3)
            .collect();
        assert_eq!((solved.len(), open.len()), (5, 3));
        for &(id, _) in &solved[..2] {
            d.delete_ticket(id, t0 + 10).unwrap();
        }
        for &(id, org) in &solved[2..] {
            let other = orgs.iter().copied().find(|&o| Some(o) != org).unwrap();
            d.update_ticket(Update {
                ticket_id: id,
                at: t0 + 10,
                updater_id: agent as i64,
                edits: vec![Edit::Organization(Some(other))],
                comment: None,
            })
            .unwrap();
        }
        for id in open {
            d.update_ticket(Update {
                ticket_id: id,
                at: t0 + 10,
                updater_id: agent as i64,
                edits: Vec::new(),
                comment: Some(NewComment {
                    author_id: agent,
                    public: true,
                    body: "on it".into(),
                }),
            })
            .unwrap();
        }
        let ids = |v: &[(u64, Option<u64>)]| -> Vec<String> {
            v.iter().map(|(id, _)| id.to_string()).collect()
        };
        (ids(&solved[..2]), ids(&solved[2..]))
    });
    server.state().set_now(Some(t0 + 200));
    settled(&|s| {
        deleted
            .iter()
            .all(|id| s.ticket("zendesk", id).unwrap().is_none())
            && moved.iter().all(|id| {
                let org = s
                    .ticket("zendesk", id)
                    .unwrap()
                    .unwrap()
                    .organization
                    .map(|o| o.id);
                let (_, blob) = s.clocks("zendesk", id).unwrap().unwrap();
                let (counted, _) = decode_counted_clocks(&blob).unwrap();
                counted.unwrap().organization.map(str::to_string) == org
            })
    });
    stop.send(true).unwrap();
    daemon.await.unwrap().unwrap();
    server.shutdown().await;

    let policy = &cfg.policy;
    let store = SqliteStore::open(&store_path).unwrap();
    let mut fresh = Live::new();
    for row in store.all_clocks("zendesk").unwrap() {
        let (counted, views) = decode_counted_clocks(&row.clocks).unwrap();
        let counted = counted.expect("the daemon saves what clocks are counted under");
        let clocks = clocks_from_views(policy, &views).unwrap();
        let c = Counted {
            created_at: counted.created_at,
            organization: counted.organization,
            clocks: &clocks,
        };
        fresh.add(policy, "zendesk", &row.ticket_id, &row.config_hash, c);
    }
    let now = helpdesk_slo::daemon::now_unix();
    let mut live = state.live().lock().unwrap();
    let strip = |mut f: helpdesk_slo::exposition::Figures| {
        for s in &mut f.series {
            s.exemplars.clear();
        }
        f
    };
    assert_eq!(live.ticket_count(), fresh.ticket_count());
    assert_eq!(live.open_count(), fresh.open_count());
    assert_eq!(
        strip(compute(policy, &mut live, now)),
        strip(compute(policy, &mut fresh, now))
    );
    let credits = |l: &Live| {
        let mut v: Vec<_> = l
            .credits()
            .filter(|(_, c)| c.events > 0)
            .map(|(k, c)| (k.clone(), *c))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    assert_eq!(credits(&live), credits(&fresh));
}
