//! `helpdesk-slo evaluate` through the real binary: attainment per group,
//! credits, what-if and its errors, on tickets whose clocks are known.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::scratch;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Two Preferred urgent tickets created Saturday 18:00 UTC (the 24x7
/// after-hours calendar, first response due in 2 h): one answered after
/// 90 minutes (met), one after 3 hours (breached).
const TICKETS: &str = r#"{"id":"met","created_at":"2026-11-21T18:00:00Z","organization":{"id":"900","tags":["csp_preferred"]},"events":[{"at":"2026-11-21T18:00:00Z","type":"priority","value":"urgent"},{"at":"2026-11-21T19:30:00Z","type":"comment","author":"agent","public":true}]}

{"id":"late","created_at":"2026-11-21T18:00:00Z","organization":{"id":"900","tags":["csp_preferred"]},"events":[{"at":"2026-11-21T18:00:00Z","type":"priority","value":"urgent"},{"at":"2026-11-21T21:00:00Z","type":"comment","author":"agent","public":true}]}
"#;

fn evaluate(dir: &Path, args: &[&str]) -> Output {
    let tickets = dir.join("tickets.jsonl");
    if !tickets.exists() {
        std::fs::write(&tickets, TICKETS).unwrap();
    }
    Command::new(env!("CARGO_BIN_EXE_helpdesk-slo"))
        .current_dir(repo())
        .args([
            "evaluate",
            "--config",
            "examples/celigo.yaml",
            "--now",
            "2026-11-25T00:00:00Z",
        ])
        .arg("--tickets")
        .arg(&tickets)
        .args(args)
        .output()
        .unwrap()
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn records<'a>(lines: &'a [serde_json::Value], kind: &str) -> Vec<&'a serde_json::Value> {
    lines.iter().filter(|l| l["record"] == kind).collect()
}

#[test]
fn attainment_per_group_counts_met_and_breached_clocks() {
    let tmp = scratch("evaluate-groups");
    let out = evaluate(
        tmp.path(),
        &["--format", "json", "--group-by", "plan,metric"],
    );
    let lines = json_lines(&out);
    let groups = records(&lines, "group");
    let first = groups
        .iter()
        .find(|g| g["plan"] == "preferred" && g["metric"] == "first_response")
        .expect("a preferred first_response group");
    assert_eq!(
        (first["met"].as_u64(), first["breached"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(first["attainment"].as_f64(), Some(0.5));
    let totals = records(&lines, "totals");
    assert_eq!(totals[0]["tickets"], 2);
    // Every clock counted is in exactly one group.
    let counted: u64 = groups
        .iter()
        .map(|g| {
            [
                "met",
                "breached",
                "active",
                "paused",
                "no_target",
                "excluded",
            ]
            .iter()
            .map(|k| g[*k].as_u64().unwrap())
            .sum::<u64>()
        })
        .sum();
    assert_eq!(Some(counted), totals[0]["clocks"].as_u64());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("evaluated 2 tickets"), "{stderr}");
}

#[test]
fn clocks_and_credits_name_the_rule_that_gave_each_credit() {
    let tmp = scratch("evaluate-credits");
    // Monday 10:00 Pacific: created in the Preferred plan's support hours,
    // so both tickets' clocks count for credits.
    std::fs::write(
        tmp.path().join("tickets.jsonl"),
        TICKETS.replace("2026-11-21T", "2026-11-23T"),
    )
    .unwrap();
    let out = evaluate(tmp.path(), &["--format", "json", "--clocks", "--credits"]);
    let lines = json_lines(&out);
    let clocks = records(&lines, "clock");
    let late = clocks
        .iter()
        .find(|c| c["ticket"] == "late" && c["metric"] == "first_response")
        .unwrap();
    assert_eq!(late["state"], "breached");
    assert_eq!(late["due_at"], "2026-11-23T20:00:00Z");
    let credits = records(&lines, "credit");
    assert_eq!(credits.len(), 1, "{credits:?}");
    let c = credits[0];
    assert_eq!(c["organization"], "900");
    assert_eq!(c["plan"], "preferred");
    assert_eq!(
        c["from"], "2026-10-01T07:00:00Z",
        "the quarter, in the plan's zone"
    );
    // Two first responses (one late) and two follow-ups, due a day after
    // each reply and breached by --now.
    assert_eq!(
        (c["events"].as_u64(), c["violations"].as_u64()),
        (Some(4), Some(3))
    );
    assert_eq!(c["violation_share"], 0.75);
    assert_eq!(c["credit"], 0.3);
    assert_eq!(c["rule"], "above 10.1%: 30% credit");
}

#[test]
fn urgent_tickets_created_in_after_hours_urgent_support_count_for_credits() {
    let tmp = scratch("evaluate-credits-after-hours");
    // TICKETS as they are: created Saturday 10:00 Pacific, outside the
    // Preferred plan's calendar, but urgent, and Preferred's urgent targets
    // run on the 24x7 after-hours-urgent calendar ("After Hours, Urgent
    // Support: 24 hours per day, 7 days per week"): submitted during the
    // applicable support hours, so their clocks are SLA events.
    let out = evaluate(tmp.path(), &["--format", "json", "--clocks", "--credits"]);
    let lines = json_lines(&out);
    let credits = records(&lines, "credit");
    assert_eq!(credits.len(), 1, "{credits:?}");
    let c = credits[0];
    assert_eq!(
        (&c["organization"], &c["plan"]),
        (&"900".into(), &"preferred".into())
    );
    // Two first responses (one late) and two follow-ups breached by --now.
    assert_eq!(
        (c["events"].as_u64(), c["violations"].as_u64()),
        (Some(4), Some(3))
    );
    assert_eq!(c["rule"], "above 10.1%: 30% credit");
}

#[test]
fn what_if_shows_which_clocks_change_and_the_tickets_that_move() {
    let tmp = scratch("evaluate-what-if");
    let text = std::fs::read_to_string(repo().join("examples/celigo.yaml")).unwrap();
    let slower = text.replace(
        "first_response: { target: 2h, calendar: after-hours-urgent }",
        "first_response: { target: 4h, calendar: after-hours-urgent }",
    );
    assert_ne!(text, slower);
    let what_if = tmp.path().join("four-hours.yaml");
    std::fs::write(&what_if, slower).unwrap();
    let out = evaluate(
        tmp.path(),
        &[
            "--format",
            "json",
            "--group-by",
            "plan,metric",
            "--what-if",
            what_if.to_str().unwrap(),
        ],
    );
    let lines = json_lines(&out);
    let transitions = records(&lines, "transition");
    assert_eq!(transitions.len(), 1, "{transitions:?}");
    let t = transitions[0];
    assert_eq!(
        (&t["metric"], &t["state"], &t["what_if_state"], &t["clocks"]),
        (
            &"first_response".into(),
            &"breached".into(),
            &"met".into(),
            &1.into()
        )
    );
    let movers = records(&lines, "mover");
    assert_eq!(movers[0]["ticket"], "late");
    assert_eq!(movers[0]["breaches_added"], -1);
    let group = records(&lines, "group")
        .into_iter()
        .find(|g| g["plan"] == "preferred" && g["metric"] == "first_response")
        .unwrap();
    assert_eq!(group["breached"], 1);
    assert_eq!(group["what_if"]["breached"], 0);
    assert_eq!(records(&lines, "totals")[0]["tickets_changed"], 1);

    // Markdown: every table, with the change in points.
    let md = evaluate(tmp.path(), &["--what-if", what_if.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&md.stdout);
    assert!(text.contains("## What changes"), "{text}");
    assert!(text.contains("+50.0 pp"), "{text}");
}

#[test]
fn csv_writes_one_table() {
    let tmp = scratch("evaluate-csv");
    let out = evaluate(tmp.path(), &["--format", "csv", "--group-by", "plan"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("plan,met,breached,attainment,active,paused,no_target,excluded")
    );
    assert!(text.contains("preferred,"), "{text}");
    let both = evaluate(tmp.path(), &["--format", "csv", "--clocks", "--credits"]);
    assert_eq!(both.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&both.stderr).contains("one table"));
}

#[test]
fn a_line_that_is_not_a_ticket_is_named_and_exits_2() {
    let tmp = scratch("evaluate-bad");
    std::fs::write(
        tmp.path().join("tickets.jsonl"),
        "{\"id\":\"1\",\"created_at\":\"2026-11-21T18:00:00Z\"}\n{\"id\":\"2\",\"created_at\":\"yesterday\"}\n",
    )
    .unwrap();
    let out = evaluate(tmp.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("tickets.jsonl: line 2"), "{stderr}");
    assert!(stderr.contains("docs/timeline.md"), "{stderr}");
    let groups = evaluate(tmp.path(), &["--group-by", "plan,team"]);
    assert_eq!(groups.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&groups.stderr).contains("valid: plan, severity"));
}
