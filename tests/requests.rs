//! Request economy against the emulator: steady-state polling costs a few
//! requests per thousand changed tickets and none per ticket, and the
//! configured per-minute request budget holds.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use helpdesk_slo::daemon::{run, Options};
use helpdesk_slo::policy::Config;
use helpdesk_slo::simulator::generator::{generate, GeneratorOptions, NewComment, Update};
use helpdesk_slo::simulator::zendesk::{endpoint, start, ServerOptions, SimState, DEMO_TOKEN};

mod common;
use common::scratch;

fn example() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml"))
        .unwrap()
}

fn write_config(dir: &Path, url: &str, extra: &str) -> PathBuf {
    let token_file = dir.join("token");
    std::fs::write(&token_file, format!("{DEMO_TOKEN}\n")).unwrap();
    let text = format!(
        "{}\nsources:\n  zendesk:\n    kind: zendesk\n    url: {url}\n    auth: {{ email: demo@example.com, token: {{ file: {} }} }}\n    start_time: 2026-10-01T00:00:00Z\n    poll_interval: 1s\n{extra}",
        example(),
        token_file.display()
    );
    let path = dir.join("config.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

fn total(counts: &std::collections::BTreeMap<String, u64>) -> u64 {
    counts.values().sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_costs_a_few_requests_per_thousand_changed_tickets() {
    let cfg = Config::from_yaml(&example(), Path::new("celigo.yaml")).unwrap();
    let options = GeneratorOptions {
        seed: 5,
        organizations: 20,
        days: 20,
        tickets_per_day: 60,
        ..GeneratorOptions::default()
    };
    let end = options.end();
    let data = generate(&cfg, &options);
    let server = start(SimState::new(&cfg, data, ServerOptions::default()))
        .await
        .unwrap();
    let tmp = scratch("economy");
    let dir = tmp.path();
    let config = write_config(dir, &server.base_url(), "");
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let opts = Options {
        config,
        store: Some(dir.join("store.sqlite").display().to_string()),
        once: true,
        ..Options::default()
    };
    run(opts.clone(), rx.clone()).await.unwrap();

    // 800 tickets get an agent reply after the backfill.
    let sim = server.state().clone();
    let changed = sim.modify(|d| {
        let agent = d.agents().next().unwrap().id;
        let ids: Vec<_> = d
            .tickets
            .iter()
            .filter(|t| format!("{:?}", t.status) != "Deleted")
            .map(|t| t.id)
            .take(800)
            .collect();
        for &id in &ids {
            d.update_ticket(Update {
                ticket_id: id,
                at: end + 60,
                updater_id: agent as i64,
                edits: Vec::new(),
                comment: Some(NewComment {
                    author_id: agent,
                    public: true,
                    body: "Looking into it.".into(),
                }),
            })
            .unwrap();
        }
        ids.len()
    });
    assert_eq!(changed, 800);

    let before = sim.request_counts();
    let summary = run(opts, rx).await.unwrap();
    let after = sim.request_counts();
    let s = &summary.sources["zendesk"];
    assert!(s.recomputed >= 800, "{s:?}");
    let requests = total(&after) - total(&before);
    // One page of each of the four incremental streams (800 tickets and
    // their 800+ events fit in 1,000-record pages, give or take one more
    // events page), and the account's custom statuses, read once by each
    // start of the daemon: no request per ticket.
    assert!(
        requests <= 7,
        "{requests} requests: {before:?} -> {after:?}"
    );
    let custom = |c: &std::collections::BTreeMap<String, u64>| {
        c.get(endpoint::CUSTOM_STATUSES).copied().unwrap_or(0)
    };
    assert_eq!(
        custom(&after) - custom(&before),
        1,
        "{before:?} -> {after:?}"
    );
    let per_ticket = requests as f64 / changed as f64;
    assert!(
        per_ticket <= 0.01,
        "{per_ticket} requests per changed ticket"
    );
    for (ep, n) in &after {
        let incremental = [
            endpoint::TICKETS,
            endpoint::TICKET_EVENTS,
            endpoint::ORGANIZATIONS,
            endpoint::USERS,
            endpoint::CUSTOM_STATUSES,
        ]
        .contains(&ep.as_str());
        assert!(
            incremental,
            "an endpoint other than the incremental exports and the custom statuses was called: {ep} ({n})"
        );
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_budget_spaces_requests_out() {
    let cfg = Config::from_yaml(&example(), Path::new("celigo.yaml")).unwrap();
    let data = generate(
        &cfg,
        &GeneratorOptions {
            seed: 9,
            organizations: 6,
            days: 4,
            tickets_per_day: 20,
            ..GeneratorOptions::default()
        },
    );
    let server = start(SimState::new(&cfg, data, ServerOptions::default()))
        .await
        .unwrap();
    let tmp = scratch("budget");
    let dir = tmp.path();
    // 300 a minute: at least 200 ms between requests.
    let config = write_config(dir, &server.base_url(), "    requests_per_minute: 300\n");
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let opts = Options {
        config,
        store: Some(dir.join("store.sqlite").display().to_string()),
        once: true,
        ..Options::default()
    };
    let t0 = Instant::now();
    run(opts, rx).await.unwrap();
    let elapsed = t0.elapsed();
    let requests = total(&server.state().request_counts());
    assert!(requests >= 4, "{requests}");
    let floor = Duration::from_millis(200) * (requests as u32 - 1);
    assert!(
        elapsed >= floor.mul_f64(0.95),
        "{requests} requests in {elapsed:?}: faster than 300 a minute"
    );
    server.shutdown().await;
}
