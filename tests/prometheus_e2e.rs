//! A real Prometheus (Debian's `prometheus`, installed by scripts/test.sh)
//! scrapes the daemon running on the emulator with a scripted set of
//! tickets, and PromQL through its HTTP API returns the attainment and
//! imminent-breach values those tickets imply.

mod common;

use common::{free_port, scratch, which, Guard};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use helpdesk_slo::config_files;
use helpdesk_slo::daemon::{now_unix, run_with, Options};
use helpdesk_slo::simulator::generator::{
    generate, GeneratorOptions, NewComment, NewTicket, Update,
};
use helpdesk_slo::simulator::zendesk::{start, ServerOptions, SimState, DEMO_TOKEN};
use serde_json::Value;

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

async fn wait_for(
    client: &reqwest::Client,
    base: &str,
    expr: &str,
    want: impl Fn(f64) -> bool,
) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut last = None;
    while Instant::now() < deadline {
        last = query(client, base, expr).await;
        if last.is_some_and(&want) {
            return last.unwrap_or_default();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("{expr}: last value {last:?}, not what the scripted tickets imply");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_sees_the_attainment_and_imminent_breaches_of_scripted_tickets() {
    let prometheus = which("prometheus");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml");
    let cfg = config_files::load(&example).unwrap();
    let now = now_unix();
    // Organizations and people, no tickets: the tickets are scripted.
    let mut data = generate(
        &cfg,
        &GeneratorOptions {
            seed: 1,
            organizations: 8,
            days: 1,
            tickets_per_day: 0,
            start: now - 86_400,
            now: Some(now),
            ..GeneratorOptions::default()
        },
    );
    assert!(data.tickets.is_empty());
    let org = data
        .organizations
        .iter()
        .find(|o| o.plan.as_deref() == Some("premier"))
        .expect("a premier organization")
        .id;
    let requester = data
        .users
        .iter()
        .find(|u| u.organization_id == Some(org) && !u.role.is_agent())
        .unwrap()
        .id;
    let agent = data.agents().next().unwrap().id;
    // Premier runs 24x7; urgent first response is due in 1h.
    // (created minutes ago, first reply minutes after creation or none)
    let script: [(i64, Option<i64>); 4] = [
        (50, None),       // active, 10 minutes left: imminent within 15m
        (180, Some(30)),  // met
        (240, Some(120)), // breached (2h for a 1h target)
        (300, Some(10)),  // met
    ];
    for (ago, reply) in script {
        let at = now - ago * 60;
        let id = data.create_ticket(NewTicket {
            at,
            subject: "scripted".into(),
            requester_id: requester,
            organization_id: Some(org),
            priority: Some("urgent".into()),
            group_id: None,
            tags: Vec::new(),
            custom_fields: Vec::new(),
            body: "help".into(),
        });
        if let Some(after) = reply {
            data.update_ticket(Update {
                ticket_id: id,
                at: at + after * 60,
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
    }
    let server = start(SimState::new(&cfg, data, ServerOptions::default()))
        .await
        .unwrap();

    let tmp = scratch("daemon");
    let dir = tmp.path();
    std::fs::write(dir.join("token"), DEMO_TOKEN).unwrap();
    let config = dir.join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "{}\nsources:\n  zendesk:\n    kind: zendesk\n    url: {}\n    auth: {{ email: a@example.com, token: {{ file: {} }} }}\n    start_time: {}\n    poll_interval: 1s\n",
            std::fs::read_to_string(&example).unwrap(),
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

    let prom_tmp = scratch("prometheus");
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
    let series = r#"plan="premier",priority="urgent",metric="first_response""#;

    // 2 met, 1 breached in the last 7 days.
    let attainment = wait_for(
        &client,
        &base,
        &format!(r#"helpdesk_slo_attainment_ratio{{{series},window="7d"}}"#),
        |v| (v - 2.0 / 3.0).abs() < 1e-9,
    )
    .await;
    assert!((attainment - 2.0 / 3.0).abs() < 1e-9);
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
    // The unanswered ticket: imminent within 15 minutes (and so within 1h
    // and 4h), due about 10 minutes from now.
    for window in ["15m", "1h", "4h"] {
        wait_for(
            &client,
            &base,
            &format!(r#"helpdesk_slo_clocks_breaching_soon{{{series},window="{window}"}}"#),
            |v| v == 1.0,
        )
        .await;
    }
    wait_for(
        &client,
        &base,
        &format!("helpdesk_slo_next_breach_timestamp_seconds{{{series}}} - time()"),
        |v| (0.0..=600.0).contains(&v),
    )
    .await;
    // Nothing else on the plan is imminent.
    wait_for(
        &client,
        &base,
        r#"sum(helpdesk_slo_clocks_breaching_soon{plan="premier",window="15m"})"#,
        |v| v == 1.0,
    )
    .await;

    stop.send(true).unwrap();
    daemon.await.unwrap().unwrap();
    server.shutdown().await;
}
