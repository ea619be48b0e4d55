//! Unit tests of rule generation on a small inline config: the files are
//! YAML, alerts carry their annotations and routing, burn-rate rules use
//! reachable factors, names are quoted, bad configs are refused.

use std::path::Path;

use super::*;

const CONFIG: &str = r#"
calendars:
  business: { timezone: America/Los_Angeles, hours: { mon-fri: ["08:00-17:00"] } }
severities:
  - { name: critical, priorities: [p1] }
  - { name: high, priorities: [p2] }
  - { name: normal, priorities: [p3] }
metrics:
  first_response: { kind: first_response }
plans:
  gold:
    match: { organization_tags: [gold] }
    precedence: 2
    calendar: business
    objective: 90%
    targets: { critical: { first_response: 1h }, high: { first_response: 4h } }
  basic:
    default: true
    calendar: business
    targets: { normal: { first_response: 1d } }
"#;

fn config() -> Config {
    Config::from_yaml(CONFIG, Path::new("team.yaml")).unwrap()
}

fn parsed(text: &str) -> serde_yaml_ng::Value {
    serde_yaml_ng::from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn alerts(rules: &serde_yaml_ng::Value) -> Vec<serde_yaml_ng::Value> {
    rules["groups"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_sequence().unwrap().clone())
        .filter(|r| r.get("alert").is_some())
        .collect()
}

#[test]
fn rule_and_test_files_are_yaml() {
    let g = config_rules(&config(), "team", &Options::default()).unwrap();
    let rules = parsed(&g.rules);
    let groups: Vec<&str> = rules["groups"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    // Plans without an objective get no burn-rate group.
    assert_eq!(
        groups,
        [
            "helpdesk-slo.team.clocks",
            "helpdesk-slo.team.sli",
            "helpdesk-slo.team.plan.gold"
        ]
    );
    let tests = parsed(&g.tests);
    assert_eq!(tests["rule_files"][0].as_str(), Some("../team.rules.yaml"));
    assert!(tests["tests"].as_sequence().unwrap().len() >= 5);
    parsed(&exporter_rules(&Options::default()).rules);
    parsed(&exporter_rules(&Options::default()).tests);
}

#[test]
fn every_alert_has_the_required_annotations_and_a_routing_severity() {
    let opts = Options::default();
    let g = config_rules(&config(), "team", &opts).unwrap();
    let e = exporter_rules(&opts);
    for text in [&g.rules, &e.rules] {
        for a in alerts(&parsed(text)) {
            let name = a["alert"].as_str().unwrap();
            for k in ["summary", "description", "runbook_url", "dashboard_url"] {
                assert!(a["annotations"].get(k).is_some(), "{name} lacks {k}");
            }
            let runbook = a["annotations"]["runbook_url"].as_str().unwrap();
            assert_eq!(
                runbook,
                format!("docs/runbooks.md#{}", name.to_lowercase()),
                "{name}"
            );
            let sev = a["labels"]["severity"].as_str().unwrap();
            assert!(
                ["page", "warning", "ticket"].contains(&sev),
                "{name}: {sev}"
            );
        }
    }
}

#[test]
fn imminent_breach_pages_for_the_most_severe_level_and_warns_for_the_next() {
    let g = config_rules(&config(), "team", &Options::default()).unwrap();
    let imminent: Vec<_> = alerts(&parsed(&g.rules))
        .into_iter()
        .filter(|a| a["alert"] == "HelpdeskSloBreachImminent")
        .collect();
    assert_eq!(imminent.len(), 2);
    assert_eq!(imminent[0]["labels"]["severity"], "page");
    let expr = imminent[0]["expr"].as_str().unwrap();
    assert!(expr.contains(r#"priority="critical""#), "{expr}");
    assert!(expr.contains(r#"window="15m""#), "{expr}");
    assert!(expr.contains(r#"plan=~"gold|basic""#), "{expr}");
    assert!(expr.contains("- time()) <= 900"), "{expr}");
    assert_eq!(imminent[1]["labels"]["severity"], "warning");
    assert!(imminent[1]["expr"]
        .as_str()
        .unwrap()
        .contains(r#"window="1h""#));
}

#[test]
fn burn_rate_rules_use_ratios_of_sums_and_reachable_factors() {
    let g = config_rules(&config(), "team", &Options::default()).unwrap();
    // 90%: 14.4x is out of reach and is replaced, and the file says so.
    assert!(g.rules.contains("14.4x can never fire"), "{}", g.rules);
    assert!(!g.rules.contains("> 14.4"));
    assert!(g
        .rules
        .contains("plan:helpdesk_slo_burn_rate:ratio1h{plan=\"gold\"} > 9\n"));
    assert!(g
        .rules
        .contains("plan:helpdesk_slo_clocks_decided:increase1h{plan=\"gold\"} >= 10"));
    // Ratios of increases, never averages of ratios.
    assert!(!g.rules.contains("avg_over_time"));
    assert!(g.rules.contains(
        "sum by (plan) (increase(helpdesk_slo_clocks_met_total{plan=~\"gold|basic\"}[3d]))"
    ));
    assert!(g.rules.contains(
        "/ on (plan) group_left ()\n          (1 - max by (plan) (helpdesk_slo_objective_ratio"
    ));
    assert!(g
        .rules
        .contains("helpdesk_slo_objective_ratio{plan=\"gold\"} - 0.9)"));
}

#[test]
fn options_reach_the_output() {
    let opts = Options {
        runbook_url: "https://git.example.com/ops/hs/blob/main/docs/runbooks.md".into(),
        grafana_url: "https://grafana.example.com".into(),
        min_clocks: 25,
        job: "hs".into(),
        stale_after: 1_800,
        external_url: Some("https://slo.example.com/helpdesk".into()),
    };
    let g = config_rules(&config(), "team", &opts).unwrap();
    assert!(g
        .rules
        .contains("https://git.example.com/ops/hs/blob/main/docs/runbooks.md#helpdeskslobreached"));
    assert!(g
        .rules
        .contains("https://grafana.example.com/d/helpdesk-slo-oncall?"));
    assert!(g.rules.contains(">= 25"));
    // The API links use the external URL, never the scraped instance.
    assert!(g
        .rules
        .contains("https://slo.example.com/helpdesk/api/v1/clocks?state=at_risk&plan="));
    assert!(!g.rules.contains("http://{{ $labels.instance }}"));
    let e = exporter_rules(&opts);
    let absent = alerts(&parsed(&e.rules))
        .into_iter()
        .find(|a| a["alert"] == "HelpdeskSloDaemonAbsent")
        .unwrap();
    assert_eq!(absent["expr"].as_str(), Some("absent(up{job=\"hs\"} == 1)"));
    assert!(e.rules.contains("> 1800"));
}

#[test]
fn configs_without_plans_or_budget_are_rejected() {
    let no_plans = Config::from_yaml(
        "calendars:\n  c: { timezone: UTC, hours: 24x7 }\n",
        Path::new("cal.yaml"),
    )
    .unwrap();
    let err = config_rules(&no_plans, "cal", &Options::default()).unwrap_err();
    assert!(err.contains("no plans"), "{err}");

    // An objective of 100% leaves no budget to burn: the config itself is
    // refused, so `check` says what `rules` would.
    let full = CONFIG.replace("objective: 90%", "objective: 100%");
    let err = Config::from_yaml(&full, Path::new("team.yaml")).unwrap_err();
    assert_eq!(err.key.as_deref(), Some("plans.gold.objective"), "{err}");
    assert!(err.message.contains("no error budget"), "{err}");
    // The rules keep their own check for a policy built otherwise.
    assert!(super::burn::pairs(1.0)
        .unwrap_err()
        .contains("no error budget"));
}

#[test]
fn names_are_quoted_for_promql_and_yaml() {
    assert_eq!(render::str_lit(r#"a"b\c"#), r#""a\"b\\c""#);
    assert_eq!(render::regex_alternatives(&["a.b", "c+d"]), r"a\.b|c\+d");
    assert_eq!(render::quoted("page"), "page");
    assert_eq!(render::quoted("on"), "\"on\"");
    assert_eq!(render::quoted("a: b"), "\"a: b\"");
    assert_eq!(render::quoted("plan:x:ratio1h"), "plan:x:ratio1h");
    assert_eq!(render::quoted("a:"), "\"a:\"");
    assert_eq!(render::duration(5_400), "1h30m");
    assert_eq!(parse_duration("1h30m"), Ok(5_400));
    assert_eq!(parse_duration("10m"), Ok(600));
    assert!(parse_duration("10").is_err());
    assert!(parse_duration("30m1h").is_err());
    assert!(parse_duration("").is_err());
}
