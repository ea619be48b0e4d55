//! A real Prometheus (Debian's `prometheus`, installed by scripts/test.sh)
//! scrapes the daemon polling the Jira Service Management emulator, whose
//! site holds a scripted set of requests, and PromQL through its HTTP API
//! returns the attainment, breaches and imminent breaches those requests
//! imply, and the source's own health.

mod common;

use common::{free_port, scratch, which, Guard};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::TimeZone;
use helpdesk_slo::daemon::{now_unix, run_with, Options};
use helpdesk_slo::simulator::jsm::{start, synthetic, JsmState, ServerOptions, Site};
use serde_json::{json, Value};

const EMAIL: &str = "support-bot@acme.example";
const TOKEN: &str = "jsm-prometheus-token";

async fn query(client: &reqwest::Client, base: &str, expr: &str) -> Option<f64> {
    let url = reqwest::Url::parse_with_params(&format!("{base}/api/v1/query"), &[("query", expr)])
        .unwrap();
    let v: Value = client.get(url).send().await.ok()?.json().await.ok()?;
    let r = v["data"]["result"].as_array()?;
    if r.len() != 1 {
        return None;
    }
    r[0]["value"][1].as_str()?.parse().ok()
}

async fn wait_for(client: &reqwest::Client, base: &str, expr: &str, want: impl Fn(f64) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut last = None;
    while Instant::now() < deadline {
        last = query(client, base, expr).await;
        if last.is_some_and(&want) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("{expr}: last value {last:?}, not what the scripted requests imply");
}

/// A Jira timestamp in the API user's zone, offset without a colon.
fn jira(t: i64) -> String {
    chrono_tz::America::Los_Angeles
        .timestamp_opt(t, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S%.3f%z")
        .to_string()
}

fn account(id: &str, kind: &str) -> Value {
    json!({"accountId": id, "displayName": id, "active": true, "accountType": kind})
}

/// A site of scripted requests: `(minutes ago created, minutes after
/// creation of the agent's public reply)`, all Highest.
fn scripted_site(now: i64, script: &[(i64, Option<i64>)]) -> Site {
    let mut site = Site {
        statuses: synthetic::STATUSES
            .iter()
            .map(|s| synthetic::status(s.0))
            .collect(),
        // The agent may be assigned the desk's requests: an agent of it.
        users: vec![
            account("557058:agent", "atlassian"),
            account("qm:customer", "customer"),
        ],
        assignable: ["557058:agent".to_string()].into(),
        ..Site::default()
    };
    for (n, (ago, reply)) in script.iter().enumerate() {
        let key = format!("SUP-{}", n + 1);
        let created = now - ago * 60;
        let mut updated = created;
        let mut comments = Vec::new();
        let mut histories = Vec::new();
        let mut status = "10001";
        if let Some(after) = reply {
            let at = created + after * 60;
            updated = at;
            comments.push(json!({"id": format!("{}", 500 + n), "author": account("557058:agent", "atlassian"),
                "body": {"type": "doc", "version": 1, "content": []}, "created": jira(at), "updated": jira(at), "jsdPublic": true}));
            histories.push(json!({"id": format!("{}", 900 + n), "author": account("557058:agent", "atlassian"), "created": jira(at),
                "items": [{"field": "status", "fieldtype": "jira", "fieldId": "status", "from": "10001",
                           "fromString": "Waiting for support", "to": "3", "toString": "In Progress"}]}));
            status = "3";
        }
        site.issues.push(json!({"id": format!("{}", 10_000 + n), "key": key, "self": "",
            "fields": {"summary": "scripted", "status": synthetic::status(status),
                       "priority": {"id": "1", "name": "Highest"}, "created": jira(created), "updated": jira(updated),
                       "reporter": account("qm:customer", "customer")}}));
        site.comments.insert(key.clone(), comments);
        site.changelogs.insert(key, histories);
    }
    site
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_sees_the_attainment_and_imminent_breaches_of_scripted_requests() {
    let prometheus = which("prometheus");
    let now = now_unix();
    // The fixtures' policy: 24x7, Highest first response due in 1h.
    let script: [(i64, Option<i64>); 4] = [
        (50, None),       // active, 10 minutes left: imminent within 15m
        (180, Some(30)),  // met
        (240, Some(120)), // breached (2h for a 1h target)
        (300, Some(10)),  // met
    ];
    let server = start(JsmState::new(
        scripted_site(now, &script),
        ServerOptions {
            email: EMAIL.into(),
            token: TOKEN.into(),
            user_timezone: chrono_tz::America::Los_Angeles,
            ..ServerOptions::default()
        },
    ))
    .await
    .unwrap();

    let tmp = scratch("jsm-prom-daemon");
    let dir = tmp.path();
    std::fs::write(dir.join("token"), TOKEN).unwrap();
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata/jsm/policy.yaml");
    let config = dir.join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "{}\nsources:\n  jsm:\n    kind: jira_service_management\n    url: {}\n    auth: {{ email: {EMAIL}, token: {{ file: {} }} }}\n    project: SUP\n    user_timezone: America/Los_Angeles\n    start_time: {}\n    poll_interval: 1s\n",
            std::fs::read_to_string(&policy).unwrap(),
            server.base_url(),
            dir.join("token").display(),
            helpdesk_slo::time::format_instant(now - 2 * 86_400),
        ),
    )
    .unwrap();
    let (stop, rx) = tokio::sync::watch::channel(false);
    let (tx, started) = tokio::sync::oneshot::channel();
    let daemon = tokio::spawn(run_with(
        Options {
            config,
            store: Some(dir.join("store.sqlite").display().to_string()),
            listen: Some("127.0.0.1:0".parse().unwrap()),
            ..Options::default()
        },
        rx,
        Some(tx),
    ));
    let (addr, _) = started.await.unwrap();
    let target = addr.unwrap();

    let prom_tmp = scratch("jsm-prometheus");
    let prom_dir = prom_tmp.path();
    let prom_port = free_port();
    std::fs::write(
        prom_dir.join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: helpdesk-slo\n    static_configs:\n      - targets: [\"{target}\"]\n"
        ),
    )
    .unwrap();
    let _prom = Guard(
        Command::new(prometheus)
            .arg(format!(
                "--config.file={}",
                prom_dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                prom_dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{prom_port}");
    let client = reqwest::Client::new();
    let series = r#"plan="premier",priority="sev1",metric="first_response""#;

    // 2 met, 1 breached in the last 7 days.
    wait_for(
        &client,
        &base,
        &format!(r#"helpdesk_slo_attainment_ratio{{{series},window="7d"}}"#),
        |v| (v - 2.0 / 3.0).abs() < 1e-9,
    )
    .await;
    wait_for(
        &client,
        &base,
        &format!("helpdesk_slo_clocks_breached_total{{{series}}}"),
        |v| v == 1.0,
    )
    .await;
    wait_for(
        &client,
        &base,
        &format!("helpdesk_slo_clocks_met_total{{{series}}}"),
        |v| v == 2.0,
    )
    .await;
    // The unanswered request: imminent within 15 minutes, due in about 10.
    wait_for(
        &client,
        &base,
        &format!(r#"helpdesk_slo_clocks_breaching_soon{{{series},window="15m"}}"#),
        |v| v == 1.0,
    )
    .await;
    wait_for(
        &client,
        &base,
        &format!("helpdesk_slo_next_breach_timestamp_seconds{{{series}}} - time()"),
        |v| (0.0..=600.0).contains(&v),
    )
    .await;
    // The source's own health: up, and its requests answered 200.
    wait_for(
        &client,
        &base,
        r#"helpdesk_slo_source_up{source="jsm"}"#,
        |v| v == 1.0,
    )
    .await;
    wait_for(
        &client,
        &base,
        r#"helpdesk_slo_source_requests_total{source="jsm",code="200"}"#,
        |v| v >= 7.0,
    )
    .await;

    stop.send(true).unwrap();
    daemon.await.unwrap().unwrap();
    server.shutdown().await;
}
