//! `helpdesk-slo reconcile` end to end: the emulator computes Zendesk's own
//! SLA record from its SLA policies (seeded from a config); the real
//! adapter polls it over HTTP into a store file; the real binary compares
//! the stored record with our clocks.

mod common;
use common::reconcile::reconcile_json as json;

use std::path::{Path, PathBuf};
use std::process::Command;

use helpdesk_slo::config_files;
use helpdesk_slo::policy::spec::SourceSpec;
use helpdesk_slo::simulator::generator::{generate, GeneratorOptions};
use helpdesk_slo::simulator::generator::{ChildKind, Dataset, Field, TicketStatus};
use helpdesk_slo::simulator::zendesk::{start, MetricRules, ServerOptions, SimState, DEMO_TOKEN};
use helpdesk_slo::sources::zendesk::Zendesk;
use helpdesk_slo::sources::Source;
use helpdesk_slo::store::SqliteStore;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

const SOURCE: &str = "zendesk";

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/testdata/reconcile")
        .join(name)
}

/// `policy` (a config file's text) with a Zendesk source at `url`.
fn with_source(policy: &str, url: &str, token_env: &str, metric_events: bool) -> String {
    format!(
        "{policy}\nsources:\n  {SOURCE}:\n    kind: zendesk\n    url: {url}\n    auth:\n      email: ops@acme.example\n      token:\n        env: {token_env}\n    start_time: \"2020-01-01T00:00:00Z\"\n    ticket_metric_events: {metric_events}\n"
    )
}

/// Drops every priority change after a ticket's creation: its priority is
/// the one it was created with, for its whole life.
fn fix_priorities(d: &mut Dataset) {
    for t in &mut d.tickets {
        let mut first = None;
        for (n, audit) in t.audits.iter_mut().enumerate() {
            if n == 0 {
                first = audit.events.iter().find_map(|e| match &e.kind {
                    ChildKind::Create {
                        field: Field::Priority,
                        value,
                    } => value.as_str().map(str::to_string),
                    _ => None,
                });
                continue;
            }
            audit.events.retain(|e| {
                !matches!(
                    e.kind,
                    ChildKind::Change {
                        field: Field::Priority,
                        ..
                    }
                )
            });
        }
        t.priority = first;
    }
}

/// An account whose tickets are generated under `ours` (a config's text)
/// and whose SLA policies and schedules the emulator serves are seeded
/// from `emulated`, after `plant` (its measuring rules); polled into a
/// store file in `dir`. Returns the config file (our side, with the
/// source), the store, and the instant to evaluate open clocks at (the
/// emulator's cutoff). With `priority_changes` false, every ticket keeps
/// the priority it was created with.
async fn polled(
    dir: &Path,
    emulated: &str,
    ours: &str,
    plant: impl FnOnce(&SimState),
    priority_changes: bool,
) -> (PathBuf, PathBuf, String) {
    let token_env = format!("HELPDESK_SLO_RECONCILE_TOKEN_{}", std::process::id());
    std::env::set_var(&token_env, DEMO_TOKEN);
    let load = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        config_files::load(&path).unwrap()
    };
    let our_config = load("ours.yaml", ours);
    let emulated_config = load("emulated.yaml", emulated);
    let options = GeneratorOptions {
        seed: 23,
        organizations: 8,
        days: 14,
        tickets_per_day: 25,
        ..GeneratorOptions::default()
    };
    let now = options.end() + 3600;
    let mut data = generate(&our_config, &options);
    if !priority_changes {
        fix_priorities(&mut data);
    }
    let state = SimState::new(
        &emulated_config,
        data,
        ServerOptions {
            now: Some(now),
            ..ServerOptions::default()
        },
    );
    plant(&state);
    let server = start(state).await.unwrap();
    let text = with_source(ours, &server.base_url(), &token_env, true);
    let config_path = dir.join("helpdesk-slo.yaml");
    std::fs::write(&config_path, &text).unwrap();
    let spec: SourceSpec = {
        let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
        serde_yaml_ng::from_value(v["sources"][SOURCE].clone()).unwrap()
    };
    let source = Zendesk::new(&spec).unwrap();
    let store_path = dir.join("store.sqlite");
    let mut store = SqliteStore::open(&store_path).unwrap();
    let (problems, _) =
        common::contract::backfill(&source, &mut store, SOURCE, source.streams(), 500).await;
    assert!(problems.is_empty(), "{problems:?}");
    drop(store);
    server.shutdown().await;
    // The emulator serves up to a minute before its now.
    let at = helpdesk_slo::time::format_instant(now - 60);
    (config_path, store_path, at)
}

fn reconcile(config: &Path, store: &Path, at: &str, more: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_helpdesk-slo"))
        .arg("reconcile")
        .arg("--config")
        .arg(config)
        .arg("--store")
        .arg(store)
        .args(["--now", at])
        .args(more)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every instance of a reconciliation that does not agree, by
/// `(ticket, metric, instance)`, with its cause kinds.
fn found(v: &Value) -> BTreeMap<(String, String, u64), Vec<String>> {
    v["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let key = (
                d["ticket"].as_str().unwrap().to_string(),
                d["metric"].as_str().unwrap().to_string(),
                d["instance"].as_u64().unwrap(),
            );
            let causes = d["causes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["kind"].as_str().unwrap().to_string())
                .collect();
            (key, causes)
        })
        .collect()
}

/// Compared instances per metric (all plans), and those that agree.
fn per_metric(v: &Value) -> BTreeMap<String, (u64, u64)> {
    let mut out: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for r in v["rows"].as_array().unwrap() {
        let e = out
            .entry(r["metric"].as_str().unwrap().to_string())
            .or_default();
        for k in ["agree", "differ", "missing_ours", "missing_theirs"] {
            e.0 += r[k].as_u64().unwrap();
        }
        e.1 += r["agree"].as_u64().unwrap();
    }
    out
}

fn matching() -> String {
    std::fs::read_to_string(testdata("matching.yaml")).unwrap()
}

/// The baseline: an account whose policies are our config's, its tickets
/// keeping their priorities, agrees on every instance of every metric.
async fn baseline(dir: &Path) -> Value {
    let policy = matching();
    let (config, store, at) = polled(dir, &policy, &policy, |_| {}, false).await;
    json(&config, &store, &at)
}

#[tokio::test]
async fn a_matching_account_agrees_on_every_clock_of_every_metric() {
    let tmp = common::scratch("reconcile-matching");
    let v = baseline(tmp.path()).await;
    let metrics = per_metric(&v);
    assert_eq!(
        metrics.keys().collect::<Vec<_>>(),
        vec!["first_response", "next_reply", "resolution"]
    );
    for (metric, (total, agree)) in &metrics {
        assert!(*total >= 100, "{metric}: only {total} instances compared");
        assert_eq!(agree, total, "{metric}: {:#?}", found(&v));
    }
    assert_eq!(v["tickets"], v["recorded_tickets"]);
    assert!(v["differences"].as_array().unwrap().is_empty());
    assert!(v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["agreement"] == 1.0));
}

/// Priority changes: Zendesk re-applies its policy to a clock we keep as
/// it was (breached), or breaches at the re-application where we breach
/// at the new due. Real differences between the tools, each named.
#[tokio::test]
async fn priority_changes_differ_with_named_causes() {
    let tmp = common::scratch("reconcile-priority");
    let policy = matching();
    let (config, store, at) = polled(tmp.path(), &policy, &policy, |_| {}, true).await;
    let v = json(&config, &store, &at);
    let found = found(&v);
    assert!(!found.is_empty(), "priority changes made no difference");
    let allowed: BTreeSet<&str> = [
        "retracted_breach",
        "target",
        "breached_at_retarget",
        "policy_applied_late",
    ]
    .into();
    let mut seen = BTreeSet::new();
    for (key, causes) in &found {
        assert!(!causes.is_empty(), "{key:?}: no cause");
        assert!(
            causes.iter().all(|c| allowed.contains(c.as_str())),
            "{key:?}: {causes:?}"
        );
        seen.insert(causes[0].clone());
    }
    assert!(seen.contains("retracted_breach"), "{seen:?}");
    assert!(seen.contains("breached_at_retarget"), "{seen:?}");
}

/// A planted divergence makes differences where the baseline agreed, and
/// every one of them is attributed to the planted cause; nothing else
/// changes.
async fn planted(name: &str, emulated: &str, plant: impl FnOnce(&SimState)) -> (Value, Value) {
    let tmp = common::scratch(name);
    let base_dir = tmp.path().join("baseline");
    let planted_dir = tmp.path().join("planted");
    std::fs::create_dir_all(&base_dir).unwrap();
    std::fs::create_dir_all(&planted_dir).unwrap();
    let before = baseline(&base_dir).await;
    let (config, store, at) = polled(&planted_dir, emulated, &matching(), plant, false).await;
    let after = json(&config, &store, &at);
    assert_eq!(before["tickets"], after["tickets"]);
    (before, after)
}

fn attributed_to(after: &Value, cause: &str) -> Vec<Value> {
    let found = found(after);
    assert!(!found.is_empty(), "the planted {cause} made no difference");
    for (key, causes) in &found {
        assert!(
            causes.contains(&cause.to_string()),
            "{key:?} differs for {causes:?}, not {cause}"
        );
    }
    after["differences"].as_array().unwrap().clone()
}

#[tokio::test]
async fn an_extra_holiday_on_zendesks_schedule_is_found_as_the_calendar() {
    // Wednesday 2026-11-11: Zendesk's schedule closed, ours open.
    let holiday = chrono::NaiveDate::from_ymd_opt(2026, 11, 11).unwrap();
    let (_, after) = planted("reconcile-holiday", &matching(), |s| {
        s.set_metric_rules(MetricRules {
            extra_holidays: vec![holiday],
            ..MetricRules::default()
        })
    })
    .await;
    let differences = attributed_to(&after, "calendar");
    for d in &differences {
        let detail = d["causes"][0]["detail"].as_str().unwrap();
        assert!(detail.contains("2026-11-11"), "{detail}");
    }
    assert!(differences.len() >= 5, "{}", differences.len());
}

#[tokio::test]
async fn a_status_only_zendesk_pauses_on_is_found_as_the_pause() {
    // Zendesk's requester wait time also pauses on hold; ours does not.
    let (_, after) = planted("reconcile-pause", &matching(), |s| {
        s.set_metric_rules(MetricRules {
            requester_wait_pauses_on: vec![TicketStatus::Pending, TicketStatus::Hold],
            ..MetricRules::default()
        })
    })
    .await;
    let differences = attributed_to(&after, "pause_status");
    for d in &differences {
        assert_eq!(d["metric"], "resolution", "{d}");
        let detail = d["causes"][0]["detail"].as_str().unwrap();
        assert!(
            detail.contains("paused on the helpdesk's side only")
                && detail.contains("(status hold)"),
            "{detail}"
        );
    }
}

#[tokio::test]
async fn a_changed_target_is_found_as_the_target() {
    // Zendesk's policy: a normal first reply in 6h; ours 4h.
    let emulated = matching().replace(
        "normal: { first_response: 4h,",
        "normal: { first_response: 6h,",
    );
    assert_ne!(emulated, matching());
    let (_, after) = planted("reconcile-target", &emulated, |_| {}).await;
    let differences = attributed_to(&after, "target");
    for d in &differences {
        assert_eq!(d["metric"], "first_response", "{d}");
        let detail = d["causes"][0]["detail"].as_str().unwrap();
        assert_eq!(detail, "our target is 4h, the helpdesk's 6h");
    }
}

#[tokio::test]
async fn text_and_csv_show_agreement_and_each_difference_with_its_ticket() {
    let tmp = common::scratch("reconcile-forms");
    let policy = matching();
    let (config, store, at) = polled(tmp.path(), &policy, &policy, |_| {}, true).await;
    let v = json(&config, &store, &at);
    let first = &v["differences"][0];
    let ticket = first["ticket"].as_str().unwrap();
    let url = first["url"].as_str().unwrap();
    assert!(url.ends_with(&format!("/agent/tickets/{ticket}")), "{url}");

    let (code, text, err) = reconcile(&config, &store, &at, &[]);
    assert_eq!(code, 0, "{err}");
    let row = text
        .lines()
        .find(|l| l.starts_with("zendesk") && l.contains("first_response"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(row.trim_end().ends_with("100.0%"), "{row}");
    let resolution = &v["rows"].as_array().unwrap()[2];
    let share = resolution["agree"].as_f64().unwrap()
        / ["agree", "differ", "missing_ours", "missing_theirs"]
            .iter()
            .map(|k| resolution[k].as_f64().unwrap())
            .sum::<f64>();
    assert!(
        text.contains(&format!("{:.1}%", share * 100.0)),
        "{share}: {text}"
    );
    assert!(
        text.contains(&format!("zendesk ticket {ticket} ({url})")),
        "{text}"
    );
    let cause = first["causes"][0]["kind"].as_str().unwrap();
    assert!(text.contains(&format!("    cause {cause}: ")), "{text}");

    let (code, csv, err) = reconcile(&config, &store, &at, &["--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "source,ticket,url,plan,metric,instance,outcome,differences,causes,details"
    );
    assert_eq!(lines.len() - 1, v["differences"].as_array().unwrap().len());
    assert!(
        lines[1].starts_with(&format!("zendesk,{ticket},{url},standard,")),
        "{}",
        lines[1]
    );

    // A window with none of the tickets: nothing compared.
    let (code, out, err) = reconcile(
        &config,
        &store,
        &at,
        &["--from", "2030-01-01", "--format", "json"],
    );
    assert_eq!(code, 0, "{err}");
    let none: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(none["tickets"], 0);
    assert!(none["rows"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn without_the_helpdesks_record_the_error_says_how_to_turn_it_on() {
    let tmp = common::scratch("reconcile-off");
    let policy = matching();
    let (config, store, at) = polled(tmp.path(), &policy, &policy, |_| {}, false).await;
    // The stream off in the config.
    let off = tmp.path().join("off.yaml");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("ticket_metric_events: true", "ticket_metric_events: false");
    std::fs::write(&off, text).unwrap();
    let (code, out, err) = reconcile(&off, &store, &at, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        err.contains("source zendesk: set `ticket_metric_events: true` under the source"),
        "{err}"
    );
    // On in the config, but nothing of it stored (a store polled without).
    let bare = tmp.path().join("bare.sqlite");
    {
        use helpdesk_slo::store::Store;
        let mut to = SqliteStore::open(&bare).unwrap();
        // One ticket header without its metric events.
        let page = helpdesk_slo::sources::Page {
            records: vec![helpdesk_slo::sources::Record::Ticket(
                helpdesk_slo::sources::TicketHeader {
                    id: "1".into(),
                    created_at: 1_793_600_000,
                    updated_at: 1_793_600_000,
                    url: None,
                    organization_id: None,
                    requester_id: None,
                    tags: vec![],
                    fields: BTreeMap::new(),
                    deleted: false,
                    status: None,
                    priority: None,
                    group: None,
                },
            )],
            stream: "tickets".into(),
            cursor: "1".into(),
            caught_up: true,
        };
        to.apply_page(SOURCE, &page).unwrap();
    }
    let (code, _, err) = reconcile(&config, &bare, &at, &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("none of its 1 stored tickets has a record of the helpdesk's own SLA clocks"),
        "{err}"
    );
    // An unknown source.
    let (code, _, err) = reconcile(&config, &store, &at, &["--source", "freshdesk"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no source \"freshdesk\" in the config; it has: zendesk"),
        "{err}"
    );
}

/// The daemon's reconciliation metrics (`helpdesk_slo_reconcile_*`) in an
/// exposition: instances by (metric, outcome), -1 for a series missing.
fn reconcile_series(metrics: &str) -> BTreeMap<(String, String), i64> {
    let mut out = BTreeMap::new();
    for metric in ["first_response", "next_reply", "resolution"] {
        for outcome in ["agree", "differ", "missing_ours", "missing_theirs"] {
            let m = format!("metric=\"{metric}\"");
            let o = format!("outcome=\"{outcome}\"");
            let v = common::sample(
                metrics,
                "helpdesk_slo_reconcile_clocks_total",
                &["source=\"zendesk\"", &m, &o],
            );
            out.insert(
                (metric.to_string(), outcome.to_string()),
                v.map_or(-1, |v| v as i64),
            );
        }
    }
    out
}

/// What `reconcile` finds in `store` now, as [`reconcile_series`] counts.
fn reconcile_now(config: &Path, store: &Path) -> BTreeMap<(String, String), i64> {
    let now = helpdesk_slo::time::format_instant(helpdesk_slo::clock::now_unix());
    let v = json(config, store, &now);
    let mut want = BTreeMap::new();
    for metric in ["first_response", "next_reply", "resolution"] {
        for outcome in ["agree", "differ", "missing_ours", "missing_theirs"] {
            want.insert((metric.to_string(), outcome.to_string()), 0);
        }
    }
    for r in v["rows"].as_array().unwrap() {
        for outcome in ["agree", "differ", "missing_ours", "missing_theirs"] {
            *want
                .get_mut(&(
                    r["metric"].as_str().unwrap().to_string(),
                    outcome.to_string(),
                ))
                .unwrap() += r[outcome].as_i64().unwrap();
        }
    }
    want
}

/// The daemon's exposition once a poll has completed after `after` (the
/// time of the source's last complete poll, Unix seconds) and it compared
/// some instance.
async fn scrape_after_poll(addr: &str, after: f64) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let a = addr.to_string();
        let metrics = tokio::task::spawn_blocking(move || common::http_get(&a, "/metrics"))
            .await
            .unwrap();
        let polled = last_poll(&metrics);
        let compared: i64 = reconcile_series(&metrics)
            .values()
            .filter(|n| **n > 0)
            .sum();
        if polled > after && compared > 0 {
            return metrics;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no complete poll after {after}: {metrics}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// When the source last completed a poll (0 if never).
fn last_poll(metrics: &str) -> f64 {
    common::sample(
        metrics,
        "helpdesk_slo_source_last_success_timestamp_seconds",
        &["source=\"zendesk\""],
    )
    .unwrap_or(0.0)
}

/// The emulator serving an account generated under the matching policy
/// (its SLA policies the same), as an hour after the generated span ends
/// (also returned), and a config in `dir` polling it with
/// `source_settings` (lines under the source) besides.
async fn matching_account(
    dir: &Path,
    options: &GeneratorOptions,
    source_settings: &str,
) -> (helpdesk_slo::simulator::zendesk::Server, PathBuf, i64) {
    let policy = matching();
    let config = config_files::from_yaml(&policy, Path::new("matching.yaml")).unwrap();
    let now = options.end() + 3600;
    let state = SimState::new(
        &config,
        generate(&config, options),
        ServerOptions {
            now: Some(now),
            ..ServerOptions::default()
        },
    );
    let server = start(state).await.unwrap();
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let token_env = format!(
        "HELPDESK_SLO_RECONCILE_DAEMON_TOKEN_{}_{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    );
    std::env::set_var(&token_env, DEMO_TOKEN);
    let config_path = dir.join("helpdesk-slo.yaml");
    std::fs::write(
        &config_path,
        with_source(&policy, &server.base_url(), &token_env, true) + source_settings,
    )
    .unwrap();
    (server, config_path, now)
}

/// The daemon's reconciliation metrics equal what `reconcile` finds in
/// the store it wrote: the same instances, by metric and outcome. When
/// the helpdesk's record alone changes (breaches Zendesk records as time
/// passes, no ticket changing), the next poll recomputes no ticket and
/// the metrics follow the record, equal to what `reconcile` finds again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemons_metrics_count_what_reconcile_finds() {
    use helpdesk_slo::daemon::{run_with, Options};
    let tmp = common::scratch("reconcile-daemon");
    let dir = tmp.path();
    let options = GeneratorOptions {
        seed: 5,
        organizations: 6,
        days: 7,
        tickets_per_day: 20,
        ..GeneratorOptions::default()
    };
    let (server, config_path, first_now) =
        matching_account(dir, &options, "    poll_interval: 1s\n").await;
    let store = dir.join("store.sqlite");
    let (stop, rx) = tokio::sync::watch::channel(false);
    let (tx, started) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(run_with(
        Options {
            config: config_path.clone(),
            store: Some(store.display().to_string()),
            listen: Some("127.0.0.1:0".parse().unwrap()),
            ..Options::default()
        },
        rx,
        Some(tx),
    ));
    let (addr, _) = started.await.unwrap();
    let addr = addr.unwrap().to_string();
    let metrics = scrape_after_poll(&addr, 0.0).await;
    let got = reconcile_series(&metrics);
    // Nothing changes in the helpdesk meanwhile: the store stays as it is.
    let want = tokio::task::spawn_blocking({
        let (config_path, store) = (config_path.clone(), store.clone());
        move || reconcile_now(&config_path, &store)
    })
    .await
    .unwrap();
    assert_eq!(got, want);
    let recomputed = |metrics: &str| {
        common::sample(
            metrics,
            "helpdesk_slo_source_tickets_changed_total",
            &["source=\"zendesk\""],
        )
        .unwrap()
    };
    let recomputed_first = recomputed(&metrics);

    // A week later in the helpdesk: breaches of what was still open, and
    // no ticket changed.
    let later = first_now + 7 * 86_400;
    let events = server.state().metric_events();
    let new_events = events
        .iter()
        .filter(|e| e.time > first_now - 60 && e.time <= later - 60)
        .count();
    assert!(new_events > 0, "the record does not change in a week");
    server.state().set_now(Some(later));
    let changed_at = helpdesk_slo::clock::now_unix() as f64;
    // A poll that started after the change, completed: the one after the
    // first to complete since.
    let after = last_poll(&scrape_after_poll(&addr, changed_at).await);
    let later_metrics = scrape_after_poll(&addr, after).await;
    stop.send(true).unwrap();
    task.await.unwrap().unwrap();
    server.shutdown().await;

    let want = reconcile_now(&config_path, &store);
    let got_later = reconcile_series(&later_metrics);
    assert_eq!(got_later, want);
    assert_ne!(got_later, got, "the new breaches changed nothing");
    assert_eq!(
        recomputed(&later_metrics),
        recomputed_first,
        "tickets recomputed for their record alone"
    );
    assert!(got.values().sum::<i64>() >= 100, "{got:?}");
    for metric in ["first_response", "next_reply", "resolution"] {
        let ratio = common::sample(
            &later_metrics,
            "helpdesk_slo_reconcile_agreement_ratio",
            &["source=\"zendesk\"", &format!("metric=\"{metric}\"")],
        )
        .unwrap();
        let agree = got_later[&(metric.to_string(), "agree".to_string())] as f64;
        let all: i64 = got_later
            .iter()
            .filter(|((m, _), _)| m == metric)
            .map(|(_, n)| n)
            .sum();
        assert!(
            (ratio - agree / all as f64).abs() < 1e-9,
            "{metric}: {ratio}"
        );
    }
}

/// The part of a report from its `## Reconciliation` heading to the next
/// heading of that level, with the emulator's address made stable.
fn reconciliation_section(report: &str, base: &str) -> Option<String> {
    let start = report.find("## Reconciliation")?;
    let rest = &report[start..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 4);
    Some(rest[..end].replace(base, "https://acme.zendesk.com"))
}

#[tokio::test]
async fn the_monthly_report_has_a_reconciliation_section() {
    let tmp = common::scratch("reconcile-report");
    let policy = matching();
    let (config, store, _) = polled(tmp.path(), &policy, &policy, |_| {}, true).await;
    let report = |config: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_helpdesk-slo"))
            .args(["report", "--month", "2026-11", "--stdout", "--config"])
            .arg(config)
            .arg("--store")
            .arg(&store)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let text = report(&config);
    let base = std::fs::read_to_string(&config)
        .unwrap()
        .lines()
        .find_map(|l| l.trim().strip_prefix("url: ").map(str::to_string))
        .unwrap();
    let section = reconciliation_section(&text, &base).unwrap_or_else(|| panic!("{text}"));
    let golden = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/testdata/reports/reconciliation-2026-11.md");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &section).unwrap();
    }
    let want = std::fs::read_to_string(&golden).unwrap();
    assert_eq!(section, want, "UPDATE_GOLDEN=1 to accept");
    // Methodology still follows; without the record, no section.
    assert!(text[text.find("## Reconciliation").unwrap()..].contains("\n## Methodology"));
    let off = tmp.path().join("off.yaml");
    std::fs::write(
        &off,
        std::fs::read_to_string(&config)
            .unwrap()
            .replace("ticket_metric_events: true", "ticket_metric_events: false"),
    )
    .unwrap();
    assert!(!report(&off).contains("## Reconciliation"));
}

/// A backfill computes the clocks of tickets that look complete while
/// Zendesk's record of them is still arriving on its own stream, without
/// reading that record: each of them is reconciled once every stream has
/// caught up, and the daemon's reconciliation equals what `reconcile`
/// finds in the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tickets_computed_during_a_backfill_are_reconciled_once_it_has_caught_up() {
    use helpdesk_slo::daemon::{run_with, Options};
    let tmp = common::scratch("reconcile-early");
    let dir = tmp.path();
    let options = GeneratorOptions {
        seed: 11,
        organizations: 20,
        days: 20,
        tickets_per_day: 200,
        ..GeneratorOptions::default()
    };
    // Paced, so that batches commit one after another with time between
    // them for the early recompute (see tests/daemon.rs).
    let (server, config_path, _) =
        matching_account(dir, &options, "    requests_per_minute: 1200\n").await;
    let store = dir.join("store.sqlite");
    let (_stop, rx) = tokio::sync::watch::channel(false);
    let (tx, started) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(run_with(
        Options {
            config: config_path.clone(),
            store: Some(store.display().to_string()),
            once: true,
            early_recompute_at_normal_priority: true,
            ..Options::default()
        },
        rx,
        Some(tx),
    ));
    let (_, daemon) = started.await.unwrap();
    let summary = task.await.unwrap().unwrap();
    server.shutdown().await;
    let done = &summary.sources[SOURCE];
    assert!(
        done.recomputed_early > 0,
        "no clocks were computed during the backfill: {done:?}"
    );
    assert!(done.reconciled >= done.recomputed_early, "{done:?}");
    let live = daemon.live().lock().unwrap().reconciled(SOURCE);
    let mut got = reconcile_now(&config_path, &store);
    got.values_mut().for_each(|n| *n = 0);
    for ((metric, outcome), n) in live {
        *got.get_mut(&(metric, outcome.as_str().to_string()))
            .unwrap() = n as i64;
    }
    let want = reconcile_now(&config_path, &store);
    assert_eq!(got, want);
    assert!(got.values().sum::<i64>() > 3_000, "{got:?}");
}
