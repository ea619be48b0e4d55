//! `helpdesk-slo reconcile` on Freshdesk end to end: the Freshdesk
//! emulator works out each ticket's due times and escalation flags from
//! its own SLA policies and business hours (not with our engine); the
//! daemon polls the account over HTTP into a store under
//! `examples/freshdesk.yaml`; the real binary compares the stored due
//! times with our clocks. The account's policy is the example's, so every
//! due agrees; then one divergence at a time is planted in the account
//! and found with its cause.

use std::path::{Path, PathBuf};
use std::time::Duration;

use helpdesk_slo::daemon::{run, Options};
use helpdesk_slo::simulator::freshdesk::synthetic::{self, default_sla, SlaSetup};
use helpdesk_slo::simulator::freshdesk::{start, FdState, ServerOptions, DEMO_API_KEY};
use helpdesk_slo::time::format_instant;
use serde_json::{json, Value};

mod common;
use common::reconcile::{counts, reconcile_json};

const EXAMPLE: &str = include_str!("../examples/freshdesk.yaml");

/// The example's policy with a source polling `url` from `start`.
fn config(url: &str, key_file: &Path, start: i64) -> String {
    let policy = EXAMPLE
        .split("\nsources:")
        .next()
        .expect("the example has a policy");
    format!(
        "{policy}\nsources:\n  freshdesk:\n    kind: freshdesk\n    url: {url}\n    api_key: {{ file: {key} }}\n    start_time: {start}\n    poll_interval: 1s\n    requests_per_minute: 600000\n    history: activities_export\n    custom_statuses:\n      \"6\": pending\n      \"9\": hold\n    outbound_email: ignore\n",
        key = key_file.display(),
        start = format_instant(start),
    )
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The synthetic account of 240 tickets, created up to its now, under `sla` (`None`:
/// the example's policy), polled once into a store; the config, the store
/// and the account's now; how many of its tickets Freshdesk escalated, and
/// how many await a next response.
async fn polled(dir: &Path, sla: Option<SlaSetup>) -> (PathBuf, PathBuf, String, (u64, u64)) {
    let now = now();
    let start_at = (now - 10 * 86_400) / 86_400 * 86_400;
    let account_now = now - 3_600;
    let account = synthetic::account(&synthetic::Options {
        seed: 5,
        tickets: 240,
        start: start_at + 3_600,
        span: account_now - start_at - 3_600,
        now: account_now,
        late_reply_rate: Some(0.3),
        sla,
    });
    let escalated = account
        .tickets
        .iter()
        .filter(|t| {
            ["fr_escalated", "is_escalated", "nr_escalated"]
                .iter()
                .any(|k| t[*k] == true)
        })
        .count() as u64;
    let awaiting = account
        .tickets
        .iter()
        .filter(|t| !t["nr_due_by"].is_null())
        .count() as u64;
    let server = start(FdState::new(
        account,
        ServerOptions {
            api_key: DEMO_API_KEY.into(),
            ..ServerOptions::default()
        },
    ))
    .await
    .unwrap();
    let key_file = dir.join("key");
    std::fs::write(&key_file, DEMO_API_KEY).unwrap();
    let config_path = dir.join("config.yaml");
    std::fs::write(
        &config_path,
        config(&server.base_url(), &key_file, start_at),
    )
    .unwrap();
    let store_path = dir.join("store.sqlite");
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let opts = Options {
        config: config_path.clone(),
        store: Some(store_path.display().to_string()),
        once: true,
        ..Options::default()
    };
    tokio::time::timeout(Duration::from_secs(300), run(opts, rx))
        .await
        .expect("the backfill finishes")
        .unwrap();
    server.shutdown().await;
    (
        config_path,
        store_path,
        format_instant(account_now),
        (escalated, awaiting),
    )
}

/// Every difference of `metric`.
fn differences<'a>(v: &'a Value, metric: &str) -> Vec<&'a Value> {
    v["differences"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["metric"] == metric)
        .collect()
}

/// The cause kinds of a difference.
fn kinds(d: &Value) -> Vec<&str> {
    d["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect()
}

/// Whether a difference is first said to come from a history ours lacks:
/// the ticket changed today, a day whose activities export Freshdesk has
/// not written yet (the account's history runs up to an hour ago).
fn history_incomplete(d: &Value) -> bool {
    kinds(d).first() == Some(&"history_incomplete")
}

/// The differences of `metric` other than those (see [`history_incomplete`]).
fn explained_differences<'a>(v: &'a Value, metric: &str) -> Vec<&'a Value> {
    differences(v, metric)
        .into_iter()
        .filter(|d| !history_incomplete(d))
        .collect()
}

/// The example's policy, changed by `change`.
fn planted(change: impl FnOnce(&mut SlaSetup)) -> Option<SlaSetup> {
    let year: i32 = format_instant(now())[..4].parse().unwrap();
    let mut setup = default_sla(year - 1, year + 1);
    change(&mut setup);
    Some(setup)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_matching_policy_agrees_with_every_freshdesk_due_time() {
    let tmp = common::scratch("fd-reconcile-matching");
    let (config, store, at, (escalated, awaiting)) = polled(tmp.path(), None).await;
    // Breaches are compared too, not only dues: some there are.
    assert!(escalated >= 10, "only {escalated} tickets escalated");
    let v = reconcile_json(&config, &store, &at);
    for (metric, least) in [("first_response", 200), ("resolution", 150)] {
        let (compared, agree) = counts(&v, metric);
        eprintln!("{metric}: {agree} of {compared} agree");
        assert!(compared >= least, "only {compared} {metric} compared");
        // Only a ticket changed today can differ: its status changes of
        // today are not exported yet, and the difference says so first.
        let found = differences(&v, metric);
        let unexplained = explained_differences(&v, metric);
        assert!(unexplained.is_empty(), "{metric}: {unexplained:#?}");
        assert!(
            agree + 5 >= compared,
            "{metric}: {} of {compared} differ: {found:#?}",
            compared - agree
        );
    }
    // Freshdesk shows only the next response awaited now: those alone are
    // compared, each with our last next reply.
    eprintln!("{escalated} tickets escalated, {awaiting} awaiting a next response");
    assert!(awaiting >= 1, "no ticket awaits a next response");
    assert_eq!(
        counts(&v, "next_reply"),
        (awaiting, awaiting),
        "{:#?}",
        differences(&v, "next_reply")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extra_holiday_in_freshdesk_is_found_and_named_as_the_calendar() {
    let tmp = common::scratch("fd-reconcile-holiday");
    // The account closes a weekday in the middle of the history that our
    // calendar keeps open.
    let day = (now() - 6 * 86_400) / 86_400;
    let mut day = chrono::DateTime::from_timestamp(day * 86_400, 0)
        .unwrap()
        .date_naive();
    while chrono::Datelike::weekday(&day).number_from_monday() > 5 {
        day = day.succ_opt().unwrap();
    }
    let sla = planted(|s| {
        s.business_hours[0]["holiday_list"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "Company offsite", "date": day.to_string()}));
    });
    let (config, store, at, _) = polled(tmp.path(), sla).await;
    let v = reconcile_json(&config, &store, &at);
    let found = explained_differences(&v, "resolution");
    assert!(!found.is_empty(), "an extra holiday made no difference");
    // Each names the day, or a span of our open days that holds it.
    let day = day.to_string();
    for d in &found {
        // A stretch of a status as long as the day's open time may be
        // named too, after it.
        let calendar = kinds(d).iter().position(|k| *k == "calendar");
        let Some(i) = calendar else {
            panic!("not the calendar: {d:#}")
        };
        let detail = d["causes"][i]["detail"].as_str().unwrap();
        let spans = detail.split(" open days from ").nth(1).and_then(|rest| {
            let (from, rest) = rest.split_once(" to ")?;
            Some((from.to_string(), rest.get(..10)?.to_string()))
        });
        let named =
            detail.contains(&day) || spans.is_some_and(|(from, to)| from <= day && day <= to);
        assert!(named, "{day} not named: {detail}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_only_we_pause_on_and_a_changed_target_are_each_found_with_their_cause() {
    // Freshdesk's timer runs on "Waiting on Customer" (6), which our
    // config pauses resolution on.
    let tmp = common::scratch("fd-reconcile-pause");
    let sla = planted(|s| {
        s.timer_off.remove(&6);
    });
    let (config, store, at, _) = polled(tmp.path(), sla).await;
    let v = reconcile_json(&config, &store, &at);
    let found = explained_differences(&v, "resolution");
    assert!(
        !found.is_empty(),
        "a pause on our side only made no difference"
    );
    for d in &found {
        assert_eq!(kinds(d), ["pause_status"], "{d:#}");
    }
    let found = differences(&v, "first_response");
    assert!(
        found.iter().all(|d| history_incomplete(d)),
        "first responses never wait on the customer: {found:#?}"
    );

    // Premier's urgent first response is 90 minutes in Freshdesk, 1 hour
    // in our config.
    let tmp = common::scratch("fd-reconcile-target");
    let sla = planted(|s| {
        let premier = s
            .sla_policies
            .iter_mut()
            .find(|p| p["name"] == "Premier")
            .unwrap();
        premier["sla_target"]["priority_4"]["respond_within"] = json!(5_400);
    });
    let (config, store, at, _) = polled(tmp.path(), sla).await;
    let v = reconcile_json(&config, &store, &at);
    let found = explained_differences(&v, "first_response");
    assert!(!found.is_empty(), "a changed target made no difference");
    for d in &found {
        assert_eq!(kinds(d), ["target"], "{d:#}");
        assert!(
            d["causes"][0]["detail"]
                .as_str()
                .unwrap()
                .contains("later by 30m"),
            "{d:#}"
        );
    }
}
