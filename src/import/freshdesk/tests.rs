//! The importer against hand-written pages of Freshdesk's documented
//! shapes (`tests/testdata/freshdesk/_account/`), and over HTTP against the
//! emulator.

use std::path::Path;

use serde_json::Value;

use super::*;
use crate::simulator::freshdesk::{start, Account, FdState, ServerOptions, DEMO_API_KEY};

fn fixture(name: &str) -> Vec<Value> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/testdata/freshdesk/_account")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn times_read_both_ways() {
    assert_eq!(clock("8:00 am").as_deref(), Some("08:00"));
    assert_eq!(clock("5:30 PM").as_deref(), Some("17:30"));
    assert_eq!(clock("12:00 am").as_deref(), Some("00:00"));
    assert_eq!(clock("12:15 pm").as_deref(), Some("12:15"));
    assert_eq!(clock("17:30").as_deref(), Some("17:30"));
    assert_eq!(clock("13:00 pm"), None);
    assert_eq!(clock("noon"), None);
    assert_eq!(duration(900), "15m");
    assert_eq!(duration(7200), "2h");
    assert_eq!(duration(5400), "90m");
}

#[test]
fn business_hours_and_policies_become_a_config_that_loads() {
    let out = convert(
        "https://acme.freshdesk.com",
        &fixture("business_hours.json"),
        &fixture("sla_policies.json"),
        2026,
    )
    .unwrap();
    let y = &out.yaml;
    // Rails zone names, both keys for the hours, 12-hour and 24-hour times.
    assert!(y.contains("  us-support:  # Freshdesk business hours 11000001 \"US Support\" (the account's default)\n    timezone: America/New_York"), "{y}");
    assert!(y.contains("      fri: [\"08:00-13:30\"]"), "{y}");
    assert!(
        y.contains(
            "  emea:  # Freshdesk business hours 11000002 \"EMEA\"\n    timezone: Europe/London"
        ),
        "{y}"
    );
    assert!(y.contains("      mon: [\"09:00-17:30\"]"), "{y}");
    // A dated holiday as is; a recurring one for three years, marked.
    assert!(y.contains("      - 2026-11-20  # Company offsite"), "{y}");
    assert!(
        y.contains("APPROXIMATION: Christmas Day (Dec 25) recurs every year"),
        "{y}"
    );
    for d in ["2026-12-25", "2027-12-25", "2028-12-25"] {
        assert!(
            y.contains(&format!("      - {d}  # Christmas Day")),
            "{d}: {y}"
        );
    }
    // Policies in position order; calendar-hours targets; next reply.
    assert!(y.contains("  premier-customers:  # Freshdesk SLA policy 12000002 \"Premier customers\", position 1\n    match: { organization_ids: [7001, 7003] }\n    precedence: 2"), "{y}");
    assert!(y.contains("      urgent: { first_response: { target: 15m, calendar: calendar-hours }, next_reply: { target: 30m, calendar: calendar-hours }, resolution: { target: 2h, calendar: calendar-hours } }"), "{y}");
    assert!(
        y.contains("      medium: { first_response: 1h, resolution: 24h }"),
        "{y}"
    );
    assert!(y.contains("    match: { ticket_field: { name: type, values: [\"Incident\"] } }\n    # APPROXIMATION: Freshdesk also requires groups 5002; sources 1"), "{y}");
    assert!(y.contains("    precedence: 1"), "{y}");
    assert!(y.contains("  default-sla-policy:  # Freshdesk SLA policy 12000001 \"Default SLA Policy\", position 3\n    default: true"), "{y}");
    assert!(
        y.contains("policy 12000004 \"Old trial policy\" is not active: left out"),
        "{y}"
    );
    assert_eq!((out.policies, out.calendars, out.holidays), (3, 2, 4));
    assert!(out.approximations >= 4, "{}", out.approximations);
    // It loads, and the plans say what the policies said.
    let config = crate::config_files::from_yaml(y, Path::new("imported.yaml")).unwrap();
    assert_eq!(config.policy.plans.len(), 3);
}

#[test]
fn an_unknown_time_zone_is_an_error_naming_the_business_hours() {
    let mut hours = fixture("business_hours.json");
    hours[1]["time_zone"] = "Atlantis".into();
    let e = convert("x", &hours, &fixture("sla_policies.json"), 2026)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("business hours 11000002 (EMEA)") && e.contains("\"Atlantis\""),
        "{e}"
    );
}

#[tokio::test]
async fn the_import_reads_every_page_from_the_account() {
    let account = Account {
        business_hours: fixture("business_hours.json"),
        sla_policies: fixture("sla_policies.json"),
        ..Account::default()
    };
    let server = start(FdState::new(account, ServerOptions::default()))
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("helpdesk-slo-fd-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("key");
    std::fs::write(&key, DEMO_API_KEY).unwrap();
    let options = ImportOptions {
        url: server.base_url(),
        api_key: SecretSpec {
            env: None,
            file: Some(key),
        },
    };
    let out = import(&options).await.unwrap();
    assert_eq!((out.policies, out.calendars), (3, 2));
    assert!(!out.yaml.contains(DEMO_API_KEY));
    let requests = server.state().counts().by_endpoint;
    assert_eq!(requests.get("sla_policies"), Some(&1));
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}
