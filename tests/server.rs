//! The running daemon over HTTP: emulator → daemon → `/metrics`, the JSON
//! API, readiness, and config reload (HTTP and SIGHUP), with a rejected
//! config keeping the old one running.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use helpdesk_slo::config_files;
use helpdesk_slo::daemon::{run_with, Options};
use helpdesk_slo::policy::Config;
use helpdesk_slo::simulator::generator::{generate, GeneratorOptions};
use helpdesk_slo::simulator::zendesk::{start, ServerOptions, SimState, DEMO_TOKEN};

mod common;
use common::{scratch, Guard};

fn example() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml"))
        .unwrap()
}

/// `policy` (a config without sources) plus a Zendesk source at `url`.
fn write_config(dir: &Path, policy: &str, url: &str) -> PathBuf {
    let token_file = dir.join("token");
    std::fs::write(&token_file, format!("{DEMO_TOKEN}\n")).unwrap();
    let text = format!(
        "{policy}\nsources:\n  zendesk:\n    kind: zendesk\n    url: {url}\n    auth: {{ email: demo@example.com, token: {{ file: {} }} }}\n    start_time: 2026-10-01T00:00:00Z\n    poll_interval: 1s\n",
        token_file.display()
    );
    let path = dir.join("config.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The value of the one sample of `metric` whose line contains every
/// `labels` fragment.
fn sample(text: &str, metric: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(&format!("{metric}{{")) || l.starts_with(&format!("{metric} ")))
        .find(|l| labels.iter().all(|f| l.contains(f)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

fn sum(text: &str, metric: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{metric}{{")))
        .filter(|l| labels.iter().all(|f| l.contains(f)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn get(client: &reqwest::Client, url: &str) -> (u16, String, String) {
    let r = client.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_serves_metrics_the_api_and_reloads() {
    let cfg = Config::from_yaml(&example(), Path::new("celigo.yaml")).unwrap();
    let data = generate(
        &cfg,
        &GeneratorOptions {
            seed: 11,
            organizations: 10,
            days: 20,
            tickets_per_day: 25,
            ..GeneratorOptions::default()
        },
    );
    let tickets = data.tickets.len();
    let server = start(SimState::new(&cfg, data, ServerOptions::default()))
        .await
        .unwrap();
    let tmp = scratch("serve");
    let dir = tmp.path();
    let config = write_config(dir, &example(), &server.base_url());
    let (stop, rx) = tokio::sync::watch::channel(false);
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    let opts = Options {
        config: config.clone(),
        store: Some(dir.join("store.sqlite").display().to_string()),
        once: false,
        listen: Some("127.0.0.1:0".parse().unwrap()),
        reports_dir: None,
        web_config: None,
        enable_lifecycle: true,
        ..Options::default()
    };
    let daemon = tokio::spawn(run_with(opts, rx, Some(started_tx)));
    let (addr, _state) = started_rx.await.unwrap();
    let base = format!("http://{}", addr.unwrap());
    let client = reqwest::Client::new();

    // Ready as soon as the (empty) store is loaded.
    assert_eq!(get(&client, &format!("{base}/-/ready")).await.0, 200);
    assert_eq!(get(&client, &format!("{base}/-/healthy")).await.0, 200);

    // Wait for the backfill: every ticket stored and computed.
    let deadline = Instant::now() + Duration::from_secs(120);
    let text = loop {
        let (_, _, text) = get(&client, &format!("{base}/metrics")).await;
        let stored = sample(&text, "helpdesk_slo_stored_tickets", &[]).unwrap_or(0.0);
        let polled = sample(
            &text,
            "helpdesk_slo_source_last_success_timestamp_seconds",
            &[],
        )
        .unwrap_or(0.0);
        if polled > 0.0 && stored > 0.0 {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "no complete poll in time:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let stored = sample(&text, "helpdesk_slo_stored_tickets", &[]).unwrap();
    assert!(
        stored > 0.9 * tickets as f64 && stored <= tickets as f64,
        "{stored} of {tickets}"
    );
    assert_eq!(sample(&text, "helpdesk_slo_source_up", &[]), Some(1.0));
    assert!(
        sum(
            &text,
            "helpdesk_slo_source_requests_total",
            &["code=\"200\""]
        ) >= 4.0
    );
    assert!(sum(&text, "helpdesk_slo_clocks_met_total", &[]) > 0.0);
    assert!(sum(&text, "helpdesk_slo_clocks_breached_total", &[]) > 0.0);

    // Content negotiation.
    let (status, ct, _) = get(&client, &format!("{base}/metrics")).await;
    assert_eq!(
        (status, ct.as_str()),
        (200, "text/plain; version=0.0.4; charset=utf-8")
    );
    let r = client
        .get(format!("{base}/metrics"))
        .header(
            "accept",
            "application/openmetrics-text;version=1.0.0,text/plain;q=0.5",
        )
        .send()
        .await
        .unwrap();
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    assert!(r.text().await.unwrap().ends_with("# EOF\n"));

    // The JSON API agrees with the metrics it was computed beside: clocks
    // at risk within 4h are the ones `breaching_soon{window="4h"}` counts
    // (a scrape and a query a moment apart; the generator's open clocks
    // are far from the 4h edge often enough that the counts match, so
    // allow the refresh in between to move one).
    let (status, ct, body) = get(&client, &format!("{base}/api/v1/clocks?state=at_risk")).await;
    assert_eq!((status, ct.as_str()), (200, "application/json"));
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let (_, _, text) = get(&client, &format!("{base}/metrics")).await;
    let soon = sum(
        &text,
        "helpdesk_slo_clocks_breaching_soon",
        &["window=\"4h\""],
    );
    let listed = v["count"].as_f64().unwrap();
    assert!(
        (listed - soon).abs() <= 1.0,
        "api {listed} vs metrics {soon}"
    );
    for c in v["clocks"].as_array().unwrap() {
        assert!(c["business_seconds_remaining"].as_i64().unwrap() <= 4 * 3600);
        assert!(c["url"].as_str().unwrap().contains("/agent/tickets/"));
    }
    let (_, _, body) = get(&client, &format!("{base}/api/v1/clocks?state=breached")).await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(v["count"].as_u64().unwrap() > 0, "{body}");
    let (status, _, body) = get(&client, &format!("{base}/api/v1/clocks?plan=gold")).await;
    assert_eq!(status, 400);
    assert!(
        body.contains("unknown plan \\\"gold\\\"") && body.contains("premier"),
        "{body}"
    );
    assert_eq!(get(&client, &format!("{base}/nope")).await.0, 404);

    // /config shows the file, and no token.
    let (_, _, shown) = get(&client, &format!("{base}/config")).await;
    assert!(shown.contains("csp_premier") && !shown.contains(DEMO_TOKEN));
    let old_hash = config_files::load(&config).unwrap().hash;
    assert!(shown.contains(&old_hash));

    // A broken config is rejected; the old one keeps running.
    let good = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, good.replace("objective: 95%", "objective: 195%")).unwrap();
    let r = client
        .post(format!("{base}/-/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let msg = r.text().await.unwrap();
    assert!(
        msg.contains("previous config keeps running") && msg.contains("objective"),
        "{msg}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, _, text) = get(&client, &format!("{base}/metrics")).await;
    assert_eq!(
        sample(&text, "helpdesk_slo_config_last_reload_successful", &[]),
        Some(0.0)
    );
    assert!(get(&client, &format!("{base}/config"))
        .await
        .2
        .contains(&old_hash));

    // A valid change applies: the essential plan's objective moves.
    std::fs::write(
        &config,
        good.replacen("objective: 95%", "objective: 90%", 1),
    )
    .unwrap();
    let r = client
        .post(format!("{base}/-/reload"))
        .send()
        .await
        .unwrap();
    let msg = r.text().await.unwrap();
    assert!(msg.contains("tickets recomputed"), "{msg}");
    // Answered once the new figures are rendered: no wait needed.
    let (_, _, text) = get(&client, &format!("{base}/metrics")).await;
    assert_eq!(
        sample(&text, "helpdesk_slo_config_last_reload_successful", &[]),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            "helpdesk_slo_objective_ratio",
            &["plan=\"essential\""]
        ),
        Some(0.9)
    );
    // Every ticket is still there, recomputed under the new config.
    assert_eq!(
        sample(&text, "helpdesk_slo_stored_tickets", &[]),
        Some(stored)
    );
    assert!(!get(&client, &format!("{base}/config"))
        .await
        .2
        .contains(&old_hash));

    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(30), daemon)
        .await
        .expect("the daemon stops")
        .unwrap()
        .unwrap();
    server.shutdown().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_config_of_the_real_binary() {
    let cfg = Config::from_yaml(&example(), Path::new("celigo.yaml")).unwrap();
    let data = generate(
        &cfg,
        &GeneratorOptions {
            seed: 3,
            organizations: 4,
            days: 3,
            tickets_per_day: 10,
            ..GeneratorOptions::default()
        },
    );
    let server = start(SimState::new(&cfg, data, ServerOptions::default()))
        .await
        .unwrap();
    let tmp = scratch("sighup");
    let dir = tmp.path();
    let config = write_config(dir, &example(), &server.base_url());
    // A free port for the child.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // Killed on drop: a failed assertion leaves no daemon running.
    let mut child = Guard(
        std::process::Command::new(env!("CARGO_BIN_EXE_helpdesk-slo"))
            .args(["run", "--config"])
            .arg(&config)
            .arg("--store")
            .arg(dir.join("store.sqlite"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(format!("{base}/-/ready")).send().await {
            if r.status().as_u16() == 200 {
                break;
            }
        }
        assert!(Instant::now() < deadline, "the daemon never became ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let good = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        good.replacen("objective: 95%", "objective: 91%", 1),
    )
    .unwrap();
    let new_hash = config_files::load(&config).unwrap().hash;
    let pid = child.0.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let shown = get(&client, &format!("{base}/config")).await.2;
        if shown.contains(&new_hash) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "SIGHUP did not reload the config"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // `/config` shows the new config as soon as it is installed, a moment
    // before the figures under it are rendered.
    let objective = |text: &str| {
        sample(
            text,
            "helpdesk_slo_objective_ratio",
            &["plan=\"essential\""],
        )
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, _, text) = get(&client, &format!("{base}/metrics")).await;
        if objective(&text) == Some(0.91) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the reloaded objective is not served: {:?}",
            objective(&text)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Still alive after the signal, and stops cleanly on SIGTERM.
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = child.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_writes_scheduled_reports_and_serves_the_latest() {
    let cfg = Config::from_yaml(&example(), Path::new("celigo.yaml")).unwrap();
    let data = generate(
        &cfg,
        &GeneratorOptions {
            seed: 4,
            organizations: 4,
            days: 3,
            tickets_per_day: 10,
            ..GeneratorOptions::default()
        },
    );
    let server = start(SimState::new(&cfg, data, ServerOptions::default()))
        .await
        .unwrap();
    let tmp = scratch("schedule");
    let dir = tmp.path();
    // Every minute, so the test sees a run within about one.
    let policy = format!(
        "{}\nreports:\n  schedule: \"* * * * *\"\n  timezone: Europe/Berlin\n  out: monthly\n",
        example()
    );
    let config = write_config(dir, &policy, &server.base_url());
    let (stop, rx) = tokio::sync::watch::channel(false);
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    let opts = Options {
        config,
        store: Some(dir.join("store.sqlite").display().to_string()),
        listen: Some("127.0.0.1:0".parse().unwrap()),
        ..Options::default()
    };
    let daemon = tokio::spawn(run_with(opts, rx, Some(started_tx)));
    let (addr, _) = started_rx.await.unwrap();
    let base = format!("http://{}", addr.unwrap());
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(150);
    let name = loop {
        let (_, _, body) = get(&client, &format!("{base}/api/v1/reports")).await;
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        // The CSV files beside a report are listed too; they are written
        // before it.
        let md = v["reports"].as_array().and_then(|l| {
            l.iter()
                .filter_map(|r| r["name"].as_str())
                .find(|n| n.ends_with(".md"))
                .map(str::to_string)
        });
        if let Some(n) = md {
            break n;
        }
        assert!(Instant::now() < deadline, "no scheduled report was written");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    // The last full month in Berlin, written into the config's `out`.
    assert!(dir.join("monthly").join(&name).is_file(), "{name}");
    assert_eq!(name.len(), "2026-10.md".len(), "{name}");
    let (status, ct, body) = get(&client, &format!("{base}/api/v1/reports/latest")).await;
    assert_eq!((status, ct.as_str()), (200, "text/markdown; charset=utf-8"));
    assert!(body.starts_with("# SLA report: "), "{body}");
    // The report's CSV files are served beside it, as CSV.
    let csv = name.replace(".md", ".breaches.csv");
    let (status, ct, body) = get(&client, &format!("{base}/api/v1/reports/{csv}")).await;
    assert_eq!((status, ct.as_str()), (200, "text/csv; charset=utf-8"));
    assert!(body.starts_with("source,ticket,url,"), "{body}");
    assert_eq!(
        get(&client, &format!("{base}/api/v1/reports/..%2fconfig.yaml"))
            .await
            .0,
        404
    );
    stop.send(true).unwrap();
    daemon.await.unwrap().unwrap();
    server.shutdown().await;
}

/// The shipped systemd unit exposes nothing by itself: it listens on
/// localhost, leaves the lifecycle endpoint off (reload is SIGHUP), and has
/// descriptors to spare beyond the connection limit.
#[test]
fn the_systemd_unit_listens_on_localhost_with_descriptors_to_spare() {
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/systemd/helpdesk-slo.service"),
    )
    .unwrap();
    let exec = unit.lines().find(|l| l.starts_with("ExecStart=")).unwrap();
    assert!(exec.contains("--listen 127.0.0.1:"), "{exec}");
    assert!(!exec.contains("--web.enable-lifecycle"), "{exec}");
    assert!(unit.contains("ExecReload=/bin/kill -HUP $MAINPID"));
    let nofile: u64 = unit
        .lines()
        .find_map(|l| l.strip_prefix("LimitNOFILE="))
        .expect("LimitNOFILE= in the unit")
        .parse()
        .unwrap();
    let connections = helpdesk_slo::server::Limits::default().max_connections as u64;
    assert!(nofile >= 4 * connections, "LimitNOFILE={nofile}");
}
