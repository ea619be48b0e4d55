//! `helpdesk-slo reconcile` on Jira Service Management end to end: the
//! JSM emulator writes its own "Time to first response" SLA cycles (24x7,
//! a goal by priority, worked out by the emulator, not by our engine); the
//! daemon polls the site over HTTP into a store; the real binary compares
//! the stored cycles with our clocks.

use std::path::{Path, PathBuf};
use std::time::Duration;

use helpdesk_slo::daemon::{run, Options};
use helpdesk_slo::simulator::jsm::{start, synthetic, JsmState, ServerOptions};
use helpdesk_slo::time::format_instant;
use serde_json::Value;

mod common;
use common::reconcile::{counts, reconcile_json};

const EMAIL: &str = "support-bot@acme.example";
const TOKEN: &str = "jsm-reconcile-test-token";

/// Our policy: the emulator's "Time to first response" goals (Highest 1h,
/// High 2h, Medium 4h, Low and Lowest 8h) on `calendar`; resolution
/// compared with nothing (the emulator keeps no "Time to resolution").
fn config(url: &str, token_file: &Path, start: i64, calendar: &str) -> String {
    format!(
        r#"calendars:
  always:
    timezone: America/Los_Angeles
    hours: 24x7
  business:
    timezone: America/Los_Angeles
    hours:
      mon-fri: ["08:00-17:00"]
severities:
  - {{ name: p1, priorities: [Highest] }}
  - {{ name: p2, priorities: [High] }}
  - {{ name: p3, priorities: [Medium] }}
  - {{ name: p4, priorities: [Low, Lowest] }}
default_severity: p3
metrics:
  first_response: {{ kind: first_response }}
  resolution: {{ kind: resolution, pause_on: [pending, hold] }}
plans:
  everyone:
    default: true
    calendar: {calendar}
    objective: 95%
    targets:
      p1: {{ first_response: 1h, resolution: 1d }}
      p2: {{ first_response: 2h, resolution: 2d }}
      p3: {{ first_response: 4h, resolution: 3d }}
      p4: {{ first_response: 8h, resolution: 5d }}
sources:
  jsm:
    kind: jira_service_management
    url: {url}
    auth:
      email: {EMAIL}
      token: {{ file: {token} }}
    project: SUP
    start_time: {start}
    user_timezone: America/Los_Angeles
    statuses:
      "10002": pending
      "6": closed
    organization_field: customfield_10002
    sla_fields: [customfield_10030]
    reconcile: {{ resolution: none }}
    poll_interval: 1s
    requests_per_minute: 600000
"#,
        token = token_file.display(),
        start = format_instant(start),
    )
}

/// A synthetic site of 150 requests polled once into a store under our
/// policy on `calendar`; the config, the store and the site's now.
async fn polled(dir: &Path, calendar: &str) -> (PathBuf, PathBuf, String) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let start_at = now - 9 * 86_400;
    let site_now = now - 3_600;
    let site = synthetic::site(&synthetic::Options {
        seed: 11,
        issues: 150,
        start: start_at + 3_600,
        span: 8 * 86_400,
        now: site_now,
        project: "SUP".into(),
        timezone: chrono_tz::America::Los_Angeles,
        late_reply_rate: None,
    });
    let server = start(JsmState::new(
        site,
        ServerOptions {
            email: EMAIL.into(),
            token: TOKEN.into(),
            user_timezone: chrono_tz::America::Los_Angeles,
            ..ServerOptions::default()
        },
    ))
    .await
    .unwrap();
    let token_file = dir.join("token");
    std::fs::write(&token_file, TOKEN).unwrap();
    let config_path = dir.join("config.yaml");
    std::fs::write(
        &config_path,
        config(&server.base_url(), &token_file, start_at, calendar),
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
    (config_path, store_path, format_instant(site_now))
}

/// The cause kinds of every difference of `metric`.
fn causes(v: &Value, metric: &str) -> Vec<Vec<String>> {
    v["differences"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["metric"] == metric)
        .map(|d| {
            d["causes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["kind"].as_str().unwrap().to_string())
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_matching_policy_agrees_with_every_jsm_cycle_and_business_hours_are_named() {
    let tmp = common::scratch("jsm-reconcile");
    let matching = tmp.path().join("matching");
    std::fs::create_dir_all(&matching).unwrap();
    let (config, store, at) = polled(&matching, "always").await;
    let v = reconcile_json(&config, &store, &at);
    let (compared, agree) = counts(&v, "first_response");
    assert!(compared >= 140, "only {compared} first responses compared");
    assert_eq!(agree, compared, "{:#?}", v["differences"]);
    assert_eq!(counts(&v, "resolution"), (0, 0), "resolution maps to none");

    // The same site under our business-hours calendar: JSM's 24x7 cycles
    // now differ, and each difference names the calendar.
    let business = tmp.path().join("business");
    std::fs::create_dir_all(&business).unwrap();
    let (config, store, at) = polled(&business, "business").await;
    let v = reconcile_json(&config, &store, &at);
    let (compared, agree) = counts(&v, "first_response");
    assert!(
        agree < compared,
        "a business-hours calendar made no difference"
    );
    let found = causes(&v, "first_response");
    assert_eq!(found.len() as u64, compared - agree);
    for c in &found {
        assert!(c.iter().any(|k| k == "calendar"), "{c:?}");
    }
}
