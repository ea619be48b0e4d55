//! `import-zendesk-policies` end to end over HTTP: the Zendesk emulator
//! serves SLA policies, schedules and holidays; the importer reads them and
//! its YAML must load with `Config::from_yaml` and say exactly what the
//! emulator serves.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use helpdesk_slo::config_files;
use helpdesk_slo::import::zendesk::{import, ImportError, ImportOptions, Imported};
use helpdesk_slo::policy::spec::{MetricKindSpec, SecretSpec, Status, TargetAmount};
use helpdesk_slo::policy::Config;
use helpdesk_slo::simulator::generator::{generate, GeneratorOptions};
use helpdesk_slo::simulator::zendesk::{
    endpoint, start, Faults, Server, ServerOptions, SimState, DEMO_TOKEN,
};
use helpdesk_slo::simulator::zendesk_admin::{Admin, Holiday, Schedule};
use serde_json::json;

mod common;
use common::scratch;

fn celigo() -> Config {
    config_files::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml")).unwrap()
}

async fn emulator(options: ServerOptions) -> Server {
    let cfg = celigo();
    let data = generate(
        &cfg,
        &GeneratorOptions {
            seed: 3,
            organizations: 4,
            days: 1,
            tickets_per_day: 5,
            ..GeneratorOptions::default()
        },
    );
    start(SimState::new(&cfg, data, options)).await.unwrap()
}

fn token_file(dir: &Path, token: &str) -> SecretSpec {
    let path = dir.join("token");
    std::fs::write(&path, format!("{token}\n")).unwrap();
    SecretSpec {
        env: None,
        file: Some(path),
    }
}

async fn run_import(server: &Server, dir: &Path, token: &str) -> Result<Imported, ImportError> {
    import(&ImportOptions {
        url: server.base_url(),
        email: Some("admin@example.com".into()),
        token: token_file(dir, token),
        default_schedule: None,
    })
    .await
}

/// The YAML with wrapped comments joined back into one line each.
fn unwrapped(yaml: &str) -> String {
    let mut out = String::new();
    for line in yaml.lines() {
        match line.trim_start().strip_prefix("#   ") {
            Some(rest) if !out.is_empty() => {
                out.pop();
                out.push(' ');
                out.push_str(rest);
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

fn load(yaml: &str) -> Config {
    Config::from_yaml(yaml, Path::new("imported.yaml"))
        .unwrap_or_else(|e| panic!("{e}\n---\n{yaml}"))
}

fn metric_name(kind: MetricKindSpec, pause_on: &[Status]) -> &'static str {
    match kind {
        MetricKindSpec::FirstResponse => "first_reply_time",
        MetricKindSpec::NextReply => "next_reply_time",
        MetricKindSpec::PeriodicUpdate if pause_on.is_empty() => "periodic_update_time",
        MetricKindSpec::PeriodicUpdate => "pausable_update_time",
        MetricKindSpec::Resolution => "requester_wait_time",
        MetricKindSpec::TierResponse => unreachable!(),
    }
}

/// Seconds of a target on its calendar.
fn seconds(t: &helpdesk_slo::policy::model::Target) -> i64 {
    match t.amount {
        TargetAmount::Business(d) => t.calendar.duration_seconds(d),
        TargetAmount::BusinessDays(n) => i64::from(n) * t.calendar.day_length(),
        TargetAmount::None => -1,
    }
}

#[tokio::test]
async fn the_celigo_config_round_trips_through_the_emulator() {
    let cfg = celigo();
    let server = emulator(ServerOptions::default()).await;
    server.state().admin().modify(|a| {
        *a = Admin::from_config_years(&cfg, 2026, 2027);
        // Two policies a page: the importer must follow next_page.
        a.policies_per_page = 2;
    });
    let tmp = scratch("celigo");
    let dir = tmp.path();
    let out = run_import(&server, dir, DEMO_TOKEN).await.unwrap();
    let got = load(&out.yaml);
    assert_eq!(out.policies, 4);
    assert_eq!(out.schedules, cfg.calendars.len());
    assert!(server.state().requests(endpoint::SLA_POLICIES) >= 2);

    // Calendars: same zone, hours and holidays (within the served years).
    for (name, want) in &cfg.calendars {
        let have = got.calendar(name).unwrap();
        assert_eq!(have.timezone(), want.timezone(), "{name}");
        for day in 0..7 {
            assert_eq!(
                have.rules().weekly.on_index(day),
                want.rules().weekly.on_index(day),
                "{name} day {day}"
            );
        }
        let served: BTreeSet<NaiveDate> = want
            .rules()
            .holidays
            .iter()
            .copied()
            .filter(|d| (2026..=2027).contains(&chrono::Datelike::year(d)))
            .collect();
        assert_eq!(have.rules().holidays, served, "{name}");
    }
    let christmas = NaiveDate::from_ymd_opt(2026, 12, 25).unwrap();
    assert!(got
        .calendar("essential")
        .unwrap()
        .rules()
        .holidays
        .contains(&christmas));

    // Plans: same match, order, calendar; every target the same length.
    let (wp, gp) = (&cfg.policy, &got.policy);
    let names = |p: &helpdesk_slo::policy::Policy| {
        p.plans.iter().map(|x| x.name.clone()).collect::<Vec<_>>()
    };
    assert_eq!(names(gp), names(wp), "match order");
    let mut compared = 0;
    for want in &wp.plans {
        let have = &gp.plans[gp.plan_id(&want.name).unwrap()];
        assert_eq!(have.matcher, want.matcher, "{}", want.name);
        assert_eq!(have.calendar_name, want.calendar_name, "{}", want.name);
        for (s, sev) in wp.severities.iter().enumerate() {
            let hs = gp.severities.iter().position(|x| x == sev).unwrap();
            for (m, metric) in wp.metrics.iter().enumerate() {
                let Some(t) = want.target(s, m) else { continue };
                let hm = gp
                    .metric_id(metric_name(metric.kind, &metric.pause_on))
                    .unwrap();
                let h = have
                    .target(hs, hm)
                    .unwrap_or_else(|| panic!("{} {sev} {}", want.name, metric.name));
                assert_eq!(
                    seconds(h),
                    seconds(t),
                    "{} {sev} {}",
                    want.name,
                    metric.name
                );
                let always = t.calendar.rules().weekly.weekly_seconds() == 7 * 86_400
                    && t.calendar.rules().holidays.is_empty();
                if always {
                    // Calendar hours: the 24x7 calendar, or the plan's own
                    // when that is open 24x7 without holidays.
                    let rules = h.calendar.rules();
                    assert_eq!(rules.weekly.weekly_seconds(), 7 * 86_400);
                    assert!(rules.holidays.is_empty());
                    let expected = if want.calendar_name == "premier" {
                        "premier"
                    } else {
                        "calendar-hours"
                    };
                    assert_eq!(h.calendar_name, expected, "{} {sev}", want.name);
                } else {
                    assert_eq!(h.calendar_name, t.calendar_name, "{} {sev}", want.name);
                }
                compared += 1;
            }
        }
        // And nothing more than the config had.
        let count = |p: &helpdesk_slo::policy::model::Plan| {
            p.targets.iter().flatten().filter(|t| t.is_some()).count()
        };
        assert_eq!(count(have), count(want), "{}", want.name);
    }
    assert!(compared >= 20, "{compared}");
    // The follow-up metric pauses like the config's.
    let follow_up = &gp.metrics[gp.metric_id("pausable_update_time").unwrap()];
    assert_eq!(follow_up.pause_on, vec![Status::Pending, Status::Hold]);
    assert!(out
        .yaml
        .contains("# APPROXIMATION: Zendesk pausable update"));
    server.shutdown().await;
}

fn eastern_schedule() -> Schedule {
    // Monday-Friday 09:00-12:00 and 13:00-17:00.
    let mut intervals = Vec::new();
    for d in 1..=5u32 {
        intervals.push((d * 1440 + 540, d * 1440 + 720));
        intervals.push((d * 1440 + 780, d * 1440 + 1020));
    }
    Schedule {
        id: 360_001,
        name: "East Coast Support".into(),
        time_zone: "Eastern Time (US & Canada)".into(),
        intervals,
        holidays: vec![
            Holiday {
                id: 1,
                name: "Christmas".into(),
                start_date: NaiveDate::from_ymd_opt(2026, 12, 24).unwrap(),
                end_date: NaiveDate::from_ymd_opt(2026, 12, 26).unwrap(),
            },
            Holiday {
                id: 2,
                name: "New Year's Day".into(),
                start_date: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
                end_date: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
            },
        ],
    }
}

fn account() -> Admin {
    let tokyo = Schedule {
        id: 360_002,
        name: "Tokyo desk".into(),
        time_zone: "Tokyo".into(),
        intervals: vec![(1440 + 600, 1440 + 1080)],
        holidays: vec![],
    };
    let metric = |p: &str, m: &str, t: i64, bh: bool| json!({"priority": p, "metric": m, "target": t, "business_hours": bh});
    let policies = vec![
        json!({
            "id": 21, "title": "Everyone", "position": 3,
            "filter": {"all": [], "any": []},
            "policy_metrics": [metric("low", "first_reply_time", 1440, true)]
        }),
        json!({
            "id": 20, "title": "VIP urgent", "position": 1,
            "description": "Urgent tickets from VIPs",
            "filter": {
                "all": [
                    {"field": "priority", "operator": "is", "value": "urgent"},
                    {"field": "current_tags", "operator": "includes", "value": "vip"}
                ],
                "any": []
            },
            "policy_metrics": [
                metric("urgent", "first_reply_time", 15, false),
                metric("high", "first_reply_time", 60, true)
            ]
        }),
        json!({
            "id": 22, "title": "Enterprise", "position": 2,
            "filter": {
                "all": [
                    {"field": "group_id", "operator": "is", "value": 7},
                    {"field": "schedule_id", "operator": "is", "value": 360_002}
                ],
                "any": [
                    {"field": "organization.tags", "operator": "includes", "value": "enterprise"},
                    {"field": "organization_id", "operator": "is", "value": 42}
                ]
            },
            "policy_metrics": [
                metric("normal", "requester_wait_time", 480, true),
                metric("normal", "pausable_update_time", 120, true),
                metric("low", "agent_work_time", 2400, true),
                metric("high", "total_resolution_time", 90, false),
                metric("high", "some_future_metric", 10, true)
            ]
        }),
        json!({
            "id": 23, "title": "Never reached", "position": 4,
            "filter": {"all": [{"field": "current_tags", "operator": "includes", "value": "x"}], "any": []},
            "policy_metrics": [metric("low", "first_reply_time", 5, true)]
        }),
    ];
    Admin {
        schedules: vec![eastern_schedule(), tokyo],
        sla_policies: policies,
        policies_per_page: 0,
    }
}

#[tokio::test]
async fn an_account_imports_with_its_targets_holidays_and_approximations() {
    let server = emulator(ServerOptions::default()).await;
    server.state().admin().modify(|a| *a = account());
    let tmp = scratch("account");
    let dir = tmp.path();
    let out = run_import(&server, dir, DEMO_TOKEN).await.unwrap();
    let got = load(&out.yaml);
    let yaml = &unwrapped(&out.yaml);

    // Schedules: zones mapped, hours and every holiday day.
    let east = got.calendar("east-coast-support").unwrap();
    assert_eq!(east.timezone(), chrono_tz::America::New_York);
    let windows: Vec<String> = east
        .rules()
        .weekly
        .on_index(0)
        .iter()
        .map(|w| w.to_string())
        .collect();
    assert_eq!(windows, vec!["09:00-12:00", "13:00-17:00"]);
    assert!(east.rules().weekly.on_index(5).is_empty());
    let days: Vec<String> = east
        .rules()
        .holidays
        .iter()
        .map(|d| d.to_string())
        .collect();
    assert_eq!(
        days,
        vec!["2026-12-24", "2026-12-25", "2026-12-26", "2027-01-01"]
    );
    assert!(yaml.contains("- 2026-12-25   # Christmas"), "{yaml}");
    let tokyo = got.calendar("tokyo-desk").unwrap();
    assert_eq!(tokyo.timezone(), chrono_tz::Asia::Tokyo);
    assert_eq!(
        tokyo.rules().weekly.on_index(0)[0].to_string(),
        "10:00-18:00"
    );

    let p = &got.policy;
    assert_eq!(p.severities, vec!["urgent", "high", "normal", "low"]);
    assert_eq!(p.default_severity, None);
    // Position order: VIP (1) over Enterprise (2); Everyone is the default;
    // "Never reached" comes after a policy without conditions.
    let names: Vec<&str> = p.plans.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(names, vec!["vip-urgent", "enterprise", "everyone"]);
    assert!(p.plans[0].precedence > p.plans[1].precedence);
    assert_eq!(p.default_plan, Some(2));
    assert!(yaml.contains("\"Never reached\" (id 23)"), "{yaml}");

    // VIP: ticket tag match; only the urgent target (priority filter), on
    // calendar hours, 15 minutes.
    let vip = &p.plans[0];
    assert_eq!(vip.matcher.ticket_tags, vec!["vip"]);
    assert_eq!(vip.calendar_name, "east-coast-support");
    let frt = p.metric_id("first_reply_time").unwrap();
    let t = vip.target(0, frt).unwrap();
    assert_eq!(
        (seconds(t), t.calendar_name.as_str()),
        (900, "calendar-hours")
    );
    assert!(vip.target(1, frt).is_none());
    assert!(yaml.contains("applies only to priorities urgent"), "{yaml}");

    // Enterprise: organization tag or id; runs on the schedule its filter
    // names; group_id is noted; each Zendesk metric kept exactly.
    let ent = &p.plans[1];
    assert_eq!(ent.matcher.organization_tags, vec!["enterprise"]);
    assert_eq!(ent.matcher.organization_ids, vec!["42"]);
    assert_eq!(ent.calendar_name, "tokyo-desk");
    assert!(yaml.contains("`group_id is 7`"), "{yaml}");
    assert!(
        yaml.contains("\"some_future_metric\" is left out"),
        "{yaml}"
    );
    let target = |plan: &helpdesk_slo::policy::model::Plan, sev: usize, m: &str| {
        let t = plan.target(sev, p.metric_id(m).unwrap()).unwrap();
        (seconds(t), t.calendar_name.clone())
    };
    assert_eq!(
        target(ent, 2, "requester_wait_time"),
        (480 * 60, "tokyo-desk".into())
    );
    assert_eq!(
        target(ent, 2, "pausable_update_time"),
        (7200, "tokyo-desk".into())
    );
    assert_eq!(
        target(ent, 3, "agent_work_time"),
        (2400 * 60, "tokyo-desk".into())
    );
    assert_eq!(
        target(ent, 1, "total_resolution_time"),
        (5400, "calendar-hours".into())
    );
    let everyone = &p.plans[2];
    assert_eq!(
        target(everyone, 3, "first_reply_time"),
        (86_400, "east-coast-support".into())
    );

    // Metric kinds and pauses.
    let metric = |name: &str| &p.metrics[p.metric_id(name).unwrap()];
    assert_eq!(
        metric("requester_wait_time").kind,
        MetricKindSpec::Resolution
    );
    assert_eq!(
        metric("requester_wait_time").pause_on,
        vec![Status::Pending]
    );
    assert_eq!(
        metric("agent_work_time").pause_on,
        vec![Status::Pending, Status::Hold]
    );
    assert_eq!(metric("total_resolution_time").pause_on, vec![]);
    assert_eq!(
        metric("pausable_update_time").kind,
        MetricKindSpec::PeriodicUpdate
    );
    for what in ["requester wait time", "agent work time", "pausable update"] {
        assert!(
            yaml.contains(&format!("# APPROXIMATION: Zendesk {what}")),
            "{what}\n{yaml}"
        );
    }
    assert!(out.approximations >= 6, "{}", out.approximations);
    assert_eq!(out.holidays, 4);
    server.shutdown().await;
}

#[tokio::test]
async fn a_wrong_token_is_refused_without_printing_it() {
    let server = emulator(ServerOptions::default()).await;
    let tmp = scratch("wrong-token");
    let dir = tmp.path();
    let wrong = "wrong-token-7f3a9c1e55";
    let err = run_import(&server, dir, wrong).await.unwrap_err();
    assert!(matches!(err, ImportError::Auth(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("HTTP 401"), "{text}");
    assert!(text.contains("did not accept the credentials"), "{text}");
    assert!(text.contains("Couldn't authenticate you"), "{text}");
    assert!(!text.contains(wrong), "{text}");
    assert!(!format!("{err:?}").contains(wrong));
    assert!(!text.contains(DEMO_TOKEN));
    server.shutdown().await;
}

#[tokio::test]
async fn an_unknown_time_zone_is_an_error_naming_the_schedule() {
    let server = emulator(ServerOptions::default()).await;
    server.state().admin().modify(|a| {
        *a = account();
        a.schedules[1].time_zone = "Olympus Mons Time".into();
    });
    let tmp = scratch("zone");
    let dir = tmp.path();
    let err = run_import(&server, dir, DEMO_TOKEN).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ImportError::UnknownZone { .. }), "{text}");
    assert!(
        text.contains("schedule \"Tokyo desk\" (id 360002)"),
        "{text}"
    );
    assert!(text.contains("\"Olympus Mons Time\""), "{text}");
    server.shutdown().await;
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried() {
    let server = emulator(ServerOptions {
        faults: Faults {
            seed: 5,
            rate_limit_every: Some(3),
            retry_after: 1,
            server_error_rate: 0.2,
            malformed_rate: 0.2,
            ..Faults::default()
        },
        ..ServerOptions::default()
    })
    .await;
    server.state().admin().modify(|a| *a = account());
    let tmp = scratch("faults");
    let dir = tmp.path();
    let out = run_import(&server, dir, DEMO_TOKEN).await.unwrap();
    load(&out.yaml);
    let stats = server.state().stats();
    assert!(stats.rate_limited >= 1, "{stats:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn the_command_writes_the_config_and_fails_cleanly_on_a_bad_token() {
    let server = emulator(ServerOptions::default()).await;
    server.state().admin().modify(|a| *a = account());
    let tmp = scratch("cli");
    let dir = tmp.path();
    let out = dir.join("imported.yaml");
    let url = server.base_url();
    let bin = env!("CARGO_BIN_EXE_helpdesk-slo");
    let run = |token: &'static str, out: PathBuf, url: String| {
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(bin)
                .args([
                    "import-zendesk-policies",
                    "--url",
                    &url,
                    "--email",
                    "admin@example.com",
                ])
                .args(["--token-env", "IMPORT_TEST_TOKEN", "--out"])
                .arg(&out)
                .env("IMPORT_TEST_TOKEN", token)
                .output()
                .unwrap()
        })
    };
    let ok = run(DEMO_TOKEN, out.clone(), url.clone()).await.unwrap();
    let stderr = String::from_utf8_lossy(&ok.stderr);
    assert!(ok.status.success(), "{stderr}");
    assert!(
        stderr.contains("imported 4 SLA policies and 2 schedules"),
        "{stderr}"
    );
    let yaml = std::fs::read_to_string(&out).unwrap();
    load(&yaml);
    assert!(
        yaml.contains(
            "#     auth: { email: \"admin@example.com\", token: { env: IMPORT_TEST_TOKEN } }"
        ),
        "{yaml}"
    );
    assert!(!yaml.contains(DEMO_TOKEN));

    let bad = run("not-the-token-9d2e", dir.join("no.yaml"), url)
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("HTTP 401"), "{stderr}");
    assert!(!stderr.contains("not-the-token-9d2e"), "{stderr}");
    assert!(!dir.join("no.yaml").exists());
    server.shutdown().await;
}
