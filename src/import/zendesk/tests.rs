//! The importer's conversions, without a server.

use super::*;
use serde_json::json;

fn policy(v: Value) -> ZPolicy {
    serde_json::from_value(v).unwrap()
}

fn schedule(v: Value) -> ZSchedule {
    serde_json::from_value(v).unwrap()
}

#[test]
fn account_urls_are_normalized_and_never_carry_credentials() {
    assert_eq!(account_url("acme").unwrap(), "https://acme.zendesk.com");
    assert_eq!(
        account_url("acme.zendesk.com/").unwrap(),
        "https://acme.zendesk.com"
    );
    assert_eq!(
        account_url("http://127.0.0.1:8089").unwrap(),
        "http://127.0.0.1:8089"
    );
    let e = account_url("https://me:s3cret@acme.zendesk.com")
        .unwrap_err()
        .to_string();
    assert!(!e.contains("s3cret"), "{e}");
    assert!(account_url("ftp://acme.zendesk.com").is_err());
}

#[test]
fn intervals_split_at_midnight_and_group_days() {
    // Sunday 16:00 through Friday 17:00 as one interval, as the emulator
    // merges them.
    let iv = [ZInterval {
        start_time: 16 * 60,
        end_time: 5 * 1440 + 17 * 60,
    }];
    assert_eq!(
        hours_yaml(&iv).unwrap(),
        "{ mon-thu: [\"00:00-24:00\"], fri: [\"00:00-17:00\"], sun: [\"16:00-24:00\"] }"
    );
    let weekdays: Vec<ZInterval> = (1..=5)
        .map(|d| ZInterval {
            start_time: d * 1440 + 480,
            end_time: d * 1440 + 1020,
        })
        .chain([ZInterval {
            start_time: 6 * 1440 + 600,
            end_time: 6 * 1440 + 720,
        }])
        .collect();
    assert_eq!(
        hours_yaml(&weekdays).unwrap(),
        "{ mon-fri: [\"08:00-17:00\"], sat: [\"10:00-12:00\"] }"
    );
    let all = [ZInterval {
        start_time: 0,
        end_time: 7 * 1440,
    }];
    assert_eq!(hours_yaml(&all).unwrap(), "24x7");
    assert_eq!(hours_yaml(&[]), None);
}

#[test]
fn filters_become_matches_with_notes_for_what_they_cannot_say() {
    let f: ZFilter = serde_json::from_value(json!({
        "all": [],
        "any": [
            {"field": "organization.tags", "operator": "includes", "value": "gold"},
            {"field": "current_tags", "operator": "includes", "value": "vip urgent_care"}
        ]
    }))
    .unwrap();
    let out = convert_filter(Some(&f));
    assert_eq!(out.criteria.organization_tags, vec!["gold"]);
    assert_eq!(out.criteria.ticket_tags, vec!["vip", "urgent_care"]);
    assert!(out.notes.is_empty(), "{:?}", out.notes);
    assert!(!out.catch_all);

    let f: ZFilter = serde_json::from_value(json!({
        "all": [
            {"field": "priority", "operator": "greater_than", "value": "normal"},
            {"field": "group_id", "operator": "is", "value": 360001},
            {"field": "custom_fields_360005", "operator": "is", "value": "enterprise"}
        ],
        "any": []
    }))
    .unwrap();
    let out = convert_filter(Some(&f));
    assert_eq!(out.admitted, [true, true, false, false]);
    assert_eq!(
        out.criteria.ticket_field,
        Some(("360005".to_string(), vec!["enterprise".to_string()]))
    );
    assert!(out.notes.iter().any(|n| n.contains("`group_id is 360001`")));

    let f: ZFilter = serde_json::from_value(json!({
        "all": [{"field": "priority", "operator": "is", "value": "urgent"}]
    }))
    .unwrap();
    let out = convert_filter(Some(&f));
    assert!(out.catch_all);
    assert_eq!(out.admitted, [true, false, false, false]);
    assert!(convert_filter(None).catch_all);
}

#[test]
fn a_policy_without_conditions_is_the_default_and_hides_later_ones() {
    let account = Account {
        schedules: vec![schedule(json!({
            "id": 1, "name": "Support hours", "time_zone": "London",
            "intervals": [{"start_time": 1980, "end_time": 2460}]
        }))],
        policies: vec![
            policy(json!({
                "id": 10, "title": "Everyone", "position": 2,
                "filter": {"all": [], "any": []},
                "policy_metrics": [{"priority": "low", "metric": "first_reply_time", "target": 600, "business_hours": true}]
            })),
            policy(json!({
                "id": 11, "title": "Gold", "position": 1,
                "filter": {"all": [{"field": "organization_id", "operator": "is", "value": 77}], "any": []},
                "policy_metrics": [{"priority": "urgent", "metric": "first_reply_time", "target": 30, "business_hours": false}]
            })),
            policy(json!({
                "id": 12, "title": "Never", "position": 3,
                "filter": {"all": [{"field": "current_tags", "operator": "includes", "value": "x"}], "any": []},
                "policy_metrics": []
            })),
        ],
    };
    let out = convert(&account, None, None).unwrap();
    let cfg = Config::from_yaml(&out.yaml, Path::new("x.yaml")).unwrap();
    let p = &cfg.policy;
    assert_eq!(p.plans.len(), 2, "{}", out.yaml);
    assert_eq!(p.plans[0].name, "gold");
    assert_eq!(p.plans[0].matcher.organization_ids, vec!["77"]);
    let d = p.default_plan.unwrap();
    assert_eq!(p.plans[d].name, "everyone");
    assert!(out.yaml.contains("\"Never\" (id 12)"), "{}", out.yaml);
    let m = p.metric_id("first_reply_time").unwrap();
    let t = p.plans[0].target(0, m).unwrap();
    assert_eq!(t.calendar_name, CALENDAR_HOURS);
    assert_eq!(
        p.plans[d].target(3, m).unwrap().calendar_name,
        "support-hours"
    );
}

/// The reconcile defaults read the importer's metric correspondence
/// backwards: a config written by `import-zendesk-policies` compares each
/// metric with the Zendesk metric it came from (replies with `reply_time`,
/// first or next; total resolution time has no metric events of its own).
#[test]
fn reconcile_defaults_invert_the_imported_metrics() {
    use crate::sources::zendesk::config::ZendeskMetric;
    use crate::sources::zendesk::reconcile::reconcile_mapping;
    use crate::sources::zendesk::sla::{Instances, Reconciled};
    let mut yaml = String::from(
        "calendars:\n  c: { timezone: UTC, hours: 24x7 }\nseverities: [{ name: urgent, priorities: [urgent] }]\nmetrics:\n",
    );
    for (name, definition, _) in METRICS {
        yaml.push_str(&format!("  {name}: {definition}\n"));
    }
    yaml.push_str("plans:\n  p: { default: true, calendar: c, targets: { urgent: { first_reply_time: 1h } } }\n");
    let config = crate::policy::Config::from_yaml(&yaml, std::path::Path::new("imported.yaml"))
        .unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let mut got = reconcile_mapping(&config.policy, &BTreeMap::new());
    got.sort_by(|a, b| a.metric.cmp(&b.metric));
    let want = |metric: &str, zendesk, instances| Reconciled {
        metric: metric.into(),
        zendesk,
        instances,
    };
    assert_eq!(
        got,
        vec![
            want("agent_work_time", "agent_work_time", Instances::All),
            want("first_reply_time", "reply_time", Instances::First),
            want("next_reply_time", "reply_time", Instances::AfterFirst),
            want(
                "pausable_update_time",
                "pausable_update_time",
                Instances::All
            ),
            want(
                "periodic_update_time",
                "periodic_update_time",
                Instances::All
            ),
            want("requester_wait_time", "requester_wait_time", Instances::All),
        ]
    );
    // The config's choice wins; `none` leaves a metric out.
    let chosen: BTreeMap<String, ZendeskMetric> = [
        (
            "agent_work_time".to_string(),
            ZendeskMetric::RequesterWaitTime,
        ),
        ("first_reply_time".to_string(), ZendeskMetric::None),
    ]
    .into();
    let got = reconcile_mapping(&config.policy, &chosen);
    assert!(!got.iter().any(|r| r.metric == "first_reply_time"));
    assert_eq!(
        got.iter()
            .find(|r| r.metric == "agent_work_time")
            .map(|r| r.zendesk),
        Some("requester_wait_time")
    );
}
