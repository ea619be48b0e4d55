//! A real Prometheus (Debian's `prometheus`, installed by scripts/test.sh)
//! scrapes the daemon running on an emulator (Zendesk, then Freshdesk) with
//! a scripted set of tickets, and PromQL through its HTTP API returns the
//! attainment and imminent-breach values those tickets imply (and, for
//! Freshdesk, the one ticket whose history is approximated).

mod common;

use common::prometheus::Prometheus;
use common::{freshdesk_config, scratch};
use std::path::Path;

use helpdesk_slo::config_files;
use helpdesk_slo::daemon::{now_unix, run_with, Options};
use helpdesk_slo::simulator::freshdesk::{self, synthetic, FdState};
use helpdesk_slo::simulator::generator::{
    generate, GeneratorOptions, NewComment, NewTicket, Update,
};
use helpdesk_slo::simulator::zendesk::{start, ServerOptions, SimState, DEMO_TOKEN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_sees_the_attainment_and_imminent_breaches_of_scripted_tickets() {
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

    let prometheus = Prometheus::scraping(target);
    let series = r#"plan="premier",priority="urgent",metric="first_response""#;

    // 2 met, 1 breached in the last 7 days.
    let attainment = prometheus
        .wait_for(
            &format!(r#"helpdesk_slo_attainment_ratio{{{series},window="7d"}}"#),
            |v| (v - 2.0 / 3.0).abs() < 1e-9,
        )
        .await;
    assert!((attainment - 2.0 / 3.0).abs() < 1e-9);
    prometheus
        .wait_for(
            &format!("helpdesk_slo_clocks_breached_total{{{series}}}"),
            |v| v == 1.0,
        )
        .await;
    prometheus
        .wait_for(&format!("helpdesk_slo_clocks_met_total{{{series}}}"), |v| {
            v == 2.0
        })
        .await;
    // The unanswered ticket: imminent within 15 minutes (and so within 1h
    // and 4h), due about 10 minutes from now.
    for window in ["15m", "1h", "4h"] {
        prometheus
            .wait_for(
                &format!(r#"helpdesk_slo_clocks_breaching_soon{{{series},window="{window}"}}"#),
                |v| v == 1.0,
            )
            .await;
    }
    prometheus
        .wait_for(
            &format!("helpdesk_slo_next_breach_timestamp_seconds{{{series}}} - time()"),
            |v| (0.0..=600.0).contains(&v),
        )
        .await;
    // Nothing else on the plan is imminent.
    prometheus
        .wait_for(
            r#"sum(helpdesk_slo_clocks_breaching_soon{plan="premier",window="15m"})"#,
            |v| v == 1.0,
        )
        .await;

    stop.send(true).unwrap();
    daemon.await.unwrap().unwrap();
    server.shutdown().await;
}

/// The same through the Freshdesk source: the Freshdesk emulator with
/// scripted tickets (creation in the activities export, replies as
/// conversations and stats), the daemon on `examples/freshdesk.yaml`, and
/// Prometheus reading the attainment, the imminent breach and the one
/// ticket whose history had to be approximated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_sees_the_figures_of_scripted_freshdesk_tickets() {
    let now = now_unix();
    // Agents, companies and statuses; no tickets: they are scripted.
    let mut account = synthetic::account(&synthetic::Options {
        seed: 1,
        tickets: 0,
        start: now - 86_400,
        span: 86_400,
        now,
        late_reply_rate: None,
        sla: None,
    });
    assert!(account.tickets.is_empty());
    let premier = synthetic::FIRST_COMPANY;
    assert_eq!(synthetic::company_plan(premier), "premier");
    let standard = premier + 1;
    assert_eq!(synthetic::company_plan(standard), "standard");
    let agent = account.agents[0]["id"].as_u64().unwrap();
    // Premier runs 24x7; urgent (Freshdesk priority 4) first response is
    // due in 1h. (created minutes ago, first reply minutes after creation
    // or none)
    let script: [(i64, Option<i64>); 4] = [
        (50, None),       // active, 10 minutes left: imminent within 15m
        (180, Some(30)),  // met
        (240, Some(120)), // breached (2h for a 1h target)
        (300, Some(10)),  // met
    ];
    for (ago, reply) in script {
        let at = now - ago * 60;
        let id = synthetic::open_ticket(&mut account, at, premier, 4, "scripted");
        if let Some(after) = reply {
            synthetic::agent_reply(&mut account, id, at + after * 60, agent).unwrap();
        }
    }
    // Created three days ago, before start_time's day (so no export is read
    // for it), answered yesterday: its history is approximated.
    let old = synthetic::open_ticket(&mut account, now - 3 * 86_400, standard, 1, "old");
    synthetic::agent_reply(&mut account, old, now - 86_400, agent).unwrap();
    let server = freshdesk::start(FdState::new(account, freshdesk::ServerOptions::default()))
        .await
        .unwrap();

    let tmp = scratch("fd-daemon");
    let dir = tmp.path();
    let config = freshdesk_config(dir, &server.base_url(), now - 2 * 86_400);
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
    let prometheus = Prometheus::scraping(addr.unwrap());
    let series = r#"plan="premier",priority="urgent",metric="first_response""#;
    let source = r#"source="freshdesk""#;

    prometheus
        .wait_for(&format!("helpdesk_slo_source_up{{{source}}}"), |v| v == 1.0)
        .await;
    prometheus
        .wait_for(&format!("helpdesk_slo_stored_tickets{{{source}}}"), |v| {
            v == 5.0
        })
        .await;
    prometheus
        .wait_for(
            &format!("helpdesk_slo_source_approximated_tickets{{{source}}}"),
            |v| v == 1.0,
        )
        .await;
    // 2 met, 1 breached in the last 7 days.
    let attainment = prometheus
        .wait_for(
            &format!(r#"helpdesk_slo_attainment_ratio{{{series},window="7d"}}"#),
            |v| (v - 2.0 / 3.0).abs() < 1e-9,
        )
        .await;
    assert!((attainment - 2.0 / 3.0).abs() < 1e-9);
    prometheus
        .wait_for(
            &format!("helpdesk_slo_clocks_breached_total{{{series}}}"),
            |v| v == 1.0,
        )
        .await;
    prometheus
        .wait_for(&format!("helpdesk_slo_clocks_met_total{{{series}}}"), |v| {
            v == 2.0
        })
        .await;
    // The unanswered ticket: imminent within 15 minutes, due about 10
    // minutes from now, and nothing else on the plan is.
    prometheus
        .wait_for(
            &format!(r#"helpdesk_slo_clocks_breaching_soon{{{series},window="15m"}}"#),
            |v| v == 1.0,
        )
        .await;
    prometheus
        .wait_for(
            &format!("helpdesk_slo_next_breach_timestamp_seconds{{{series}}} - time()"),
            |v| (0.0..=600.0).contains(&v),
        )
        .await;
    prometheus
        .wait_for(
            r#"sum(helpdesk_slo_clocks_breaching_soon{plan="premier",window="15m"})"#,
            |v| v == 1.0,
        )
        .await;

    stop.send(true).unwrap();
    daemon.await.unwrap().unwrap();
    server.shutdown().await;
}
