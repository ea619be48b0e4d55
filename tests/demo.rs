//! The README's first command: `helpdesk-slo demo` runs the emulator, the
//! daemon, the metrics and the JSON API, and writes last month's report.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

mod common;
use common::{http_get, sample, scratch};

#[test]
fn the_demo_backfills_serves_and_writes_last_months_report() {
    let tmp = scratch("demo");
    let dir = tmp.path();
    let out = Command::new(env!("CARGO_BIN_EXE_helpdesk-slo"))
        .args([
            "demo",
            "--exit-after-report",
            "--listen",
            "127.0.0.1:0",
            "--days",
            "60",
            "--tickets-per-day",
            "15",
            "--dir",
        ])
        .arg(dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for what in [
        "metrics:",
        "/api/v1/clocks?state=at_risk",
        "last month:",
        "store:",
    ] {
        assert!(stdout.contains(what), "{what} missing:\n{stdout}");
    }
    // The report of the last full month, with every plan of the example,
    // and the CSV files beside it.
    let mut files: Vec<_> = std::fs::read_dir(dir.join("reports"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let reports: Vec<_> = files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    assert_eq!(reports.len(), 1, "{files:?}");
    assert_eq!(files.len(), 4, "{files:?}");
    for kind in ["breaches", "credits", "data-quality"] {
        let csv = reports[0].with_extension(format!("{kind}.csv"));
        assert!(files.contains(&csv), "{} missing: {files:?}", csv.display());
    }
    let report = std::fs::read_to_string(reports[0]).unwrap();
    assert!(report.starts_with("# SLA report: "), "{}", &report[..200]);
    for plan in ["essential", "preferred", "premier"] {
        assert!(report.contains(&format!("`{plan}`")), "{plan}");
    }
    assert!(stdout.contains(&reports[0].display().to_string()));
    // Progress was logged, and no token leaked into the logs.
    assert!(stderr.contains("caught up with every stream"), "{stderr}");
    assert!(!stderr.contains("helpdesk-slo-simulator-demo-token"));
}

/// Runs `helpdesk-slo` with `args`, expecting success; returns stdout.
fn run_ok(args: &[&str], dir: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_helpdesk-slo"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{args:?}\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The demo's history looks like a real support organisation, not a stress
/// test: most plans meet their objective, one slips, a few customers are
/// owed credits (not every one at the maximum), and few tickets are on no
/// plan. Read back with `evaluate` from the demo's own store.
#[test]
fn the_demos_history_looks_like_a_support_org() {
    let tmp = scratch("demo-realism");
    let dir = tmp.path();
    run_ok(
        &[
            "demo",
            "--exit-after-report",
            "--listen",
            "127.0.0.1:0",
            "--dir",
            ".",
        ],
        dir,
    );
    let out = run_ok(
        &[
            "evaluate",
            "--config",
            "config.yaml",
            "--store",
            "store.sqlite",
            "--group-by",
            "plan",
            "--credits",
            "--format",
            "json",
        ],
        dir,
    );
    let records: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The embedded example's objectives.
    let objective = |plan: &str| match plan {
        "preferred" | "premier" => 0.96,
        _ => 0.95,
    };
    let groups: Vec<&Value> = records.iter().filter(|r| r["record"] == "group").collect();
    let mut met = 0;
    let mut below = 0;
    let mut planless = 0;
    let mut clocks = 0;
    for g in &groups {
        let n: u64 = [
            "met",
            "breached",
            "excluded",
            "active",
            "paused",
            "no_target",
        ]
        .iter()
        .map(|k| g[*k].as_u64().unwrap())
        .sum();
        clocks += n;
        let plan = g["plan"].as_str().unwrap();
        if plan == "-" {
            planless += n;
            continue;
        }
        let attainment = g["attainment"].as_f64().unwrap();
        assert!(
            attainment > 0.85,
            "{plan} at {attainment}: not a believable desk"
        );
        if attainment >= objective(plan) {
            met += 1;
        } else {
            below += 1;
        }
    }
    assert!(
        met >= 2 && below >= 1,
        "met {met}, below {below}: {groups:?}"
    );
    assert!(
        (planless as f64) < 0.12 * clocks as f64,
        "{planless} of {clocks} clocks on no plan"
    );
    // Credits of the last credit period the demo covers.
    let credits: Vec<&Value> = records.iter().filter(|r| r["record"] == "credit").collect();
    let last = credits
        .iter()
        .filter_map(|c| c["from"].as_str())
        .max()
        .unwrap();
    let period: Vec<&&Value> = credits.iter().filter(|c| c["from"] == last).collect();
    let owed = period
        .iter()
        .filter(|c| c["credit"].as_f64().unwrap() > 0.0)
        .count();
    let at_most = period
        .iter()
        .filter(|c| c["credit"].as_f64().unwrap() >= 0.3)
        .count();
    assert!(owed >= 1, "nobody owed a credit: {period:?}");
    assert!(
        2 * owed < period.len(),
        "{owed} of {} customers owed credits",
        period.len()
    );
    assert!(
        at_most < owed || owed <= 2,
        "{at_most} of {owed} at the maximum"
    );
}

/// `demo --config` with a config that includes a holiday file by a relative
/// path (the shipped support model): the include comes along.
#[test]
fn the_demo_runs_a_config_with_relative_holiday_files() {
    let tmp = scratch("demo-includes");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/support-model.yaml");
    let out = Command::new(env!("CARGO_BIN_EXE_helpdesk-slo"))
        .args(["demo", "--exit-after-report", "--listen", "127.0.0.1:0"])
        .args(["--days", "60", "--tickets-per-day", "10", "--config"])
        .arg(&config)
        .arg("--dir")
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(tmp
        .path()
        .join("holidays/uk-england-wales-2026-2027.ics")
        .is_file());
}

/// Without `--dir`, an interactive demo removes its temp folder when it is
/// stopped, and says so.
#[test]
fn the_demo_cleans_up_its_temp_folder_on_exit() {
    let tmp = scratch("demo-tmp");
    let mut child = Command::new(env!("CARGO_BIN_EXE_helpdesk-slo"))
        .args(["demo", "--listen", "127.0.0.1:0", "--days", "60"])
        .args(["--tickets-per-day", "5"])
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut store = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(path) = line.trim().strip_prefix("store:") {
            store = Some(std::path::PathBuf::from(path.trim()));
        }
        if line.starts_with("Stop with Ctrl-C") {
            break;
        }
    }
    let store = store.expect("the banner names the store");
    let folder = store.parent().unwrap().to_path_buf();
    assert!(folder.starts_with(tmp.path()), "{folder:?}");
    assert!(folder.is_dir());
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    assert!(child.wait().unwrap().success());
    assert!(!folder.exists(), "{folder:?} left behind");
    assert!(
        rest.iter().any(|l| l.contains("Removed the demo's folder")),
        "{rest:?}"
    );
}

/// `demo --helpdesk freshdesk`: the Freshdesk emulator with a synthetic
/// account and its activities export, the real daemon polling it; its
/// /metrics carry the Freshdesk tickets' clocks on both plans of the
/// embedded example (none approximated: the export covers the history),
/// an unanswered urgent ticket is about to breach, and last month's report
/// has both plans.
#[test]
fn the_freshdesk_demo_serves_metrics_and_a_report_of_freshdesk_tickets() {
    let tmp = scratch("demo-freshdesk");
    let dir = tmp.path();
    let mut child = Command::new(env!("CARGO_BIN_EXE_helpdesk-slo"))
        .args(["demo", "--helpdesk", "freshdesk", "--listen", "127.0.0.1:0"])
        .args(["--days", "60", "--tickets-per-day", "12", "--dir"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut demo = common::Guard(child);
    let mut lines = BufReader::new(stdout).lines();
    let mut banner = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.starts_with("Stop with Ctrl-C");
        banner.push(line);
        if done {
            break;
        }
    }
    let banner = banner.join("\n");
    assert!(banner.contains("synthetic Freshdesk tickets"), "{banner}");
    assert!(banner.contains("export files at"), "{banner}");
    let metrics_url = banner
        .lines()
        .find_map(|l| l.trim().strip_prefix("metrics:"))
        .unwrap_or_else(|| panic!("no metrics URL: {banner}"))
        .trim()
        .to_string();
    let addr = metrics_url
        .strip_prefix("http://")
        .and_then(|r| r.strip_suffix("/metrics"))
        .unwrap()
        .to_string();
    let metrics = http_get(&addr, "/metrics");
    let source = r#"source="freshdesk""#;
    assert_eq!(
        sample(&metrics, "helpdesk_slo_source_up", &[source]),
        Some(1.0)
    );
    // 720 tickets over 60 days, less the outbound emails (about one in
    // fifty, not requests), plus the two seeded urgent ones.
    let stored = sample(&metrics, "helpdesk_slo_stored_tickets", &[source]).unwrap();
    assert!((650.0..=722.0).contains(&stored), "{stored} tickets stored");
    assert_eq!(
        sample(
            &metrics,
            "helpdesk_slo_source_approximated_tickets",
            &[source]
        ),
        Some(0.0),
        "the export covers the whole history"
    );
    for plan in ["premier", "standard"] {
        let plan_label = format!(r#"plan="{plan}""#);
        let met: f64 = metrics
            .lines()
            .filter(|l| l.starts_with("helpdesk_slo_clocks_met_total{") && l.contains(&plan_label))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            .sum();
        assert!(met > 50.0, "{plan}: {met} clocks met");
    }
    // The seeded unanswered urgent ticket on the 24x7 plan: due in about
    // ten minutes.
    let soon = sample(
        &metrics,
        "helpdesk_slo_clocks_breaching_soon",
        &[
            r#"plan="premier""#,
            r#"priority="urgent""#,
            r#"metric="first_response""#,
            r#"window="15m""#,
        ],
    );
    assert!(soon.is_some_and(|v| v >= 1.0), "{soon:?}");
    // Last month's report, with both plans and no approximated history.
    let reports: Vec<_> = std::fs::read_dir(dir.join("reports"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    assert_eq!(reports.len(), 1, "{reports:?}");
    let report = std::fs::read_to_string(&reports[0]).unwrap();
    for plan in ["premier", "standard"] {
        assert!(report.contains(&format!("`{plan}`")), "{plan}");
    }
    assert!(!report.contains("approximated"), "{report}");
    let config = std::fs::read_to_string(dir.join("config.yaml")).unwrap();
    assert!(config.contains("kind: freshdesk"), "{config}");
    // Ctrl-C stops it cleanly.
    let interrupted = Command::new("kill")
        .args(["-INT", &demo.0.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    assert!(demo.0.wait().unwrap().success());
}

/// The Freshdesk demo runs its own example: `--config` is refused, saying
/// why, before anything starts.
#[test]
fn the_freshdesk_demo_refuses_a_config_of_its_own() {
    let tmp = scratch("demo-freshdesk-config");
    let out = Command::new(env!("CARGO_BIN_EXE_helpdesk-slo"))
        .args(["demo", "--helpdesk", "freshdesk", "--exit-after-report"])
        .args([
            "--listen",
            "127.0.0.1:0",
            "--config",
            "examples/celigo.yaml",
        ])
        .arg("--dir")
        .arg(tmp.path())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--config is for the Zendesk demo"),
        "{stderr}"
    );
    assert!(!tmp.path().join("store.sqlite").exists());
}

/// `demo --helpdesk jira-service-management`: the JSM emulator with a
/// synthetic site, the real daemon polling it; its /metrics carry the
/// requests' clocks on both plans of the embedded example, an unanswered
/// Highest request on the 24x7 plan is about to breach, and last month's
/// report has both plans.
#[test]
fn the_jsm_demo_serves_metrics_and_a_report_of_jsm_requests() {
    let tmp = scratch("demo-jsm");
    let dir = tmp.path();
    let mut child = Command::new(env!("CARGO_BIN_EXE_helpdesk-slo"))
        .args(["demo", "--helpdesk", "jira-service-management"])
        .args(["--listen", "127.0.0.1:0"])
        .args(["--days", "60", "--tickets-per-day", "12", "--dir"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut demo = common::Guard(child);
    let mut lines = BufReader::new(stdout).lines();
    let mut banner = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.starts_with("Stop with Ctrl-C");
        banner.push(line);
        if done {
            break;
        }
    }
    let banner = banner.join("\n");
    assert!(
        banner.contains("synthetic Jira Service Management tickets"),
        "{banner}"
    );
    assert!(banner.contains("project SUP"), "{banner}");
    let metrics_url = banner
        .lines()
        .find_map(|l| l.trim().strip_prefix("metrics:"))
        .unwrap_or_else(|| panic!("no metrics URL: {banner}"))
        .trim()
        .to_string();
    let addr = metrics_url
        .strip_prefix("http://")
        .and_then(|r| r.strip_suffix("/metrics"))
        .unwrap()
        .to_string();
    let metrics = http_get(&addr, "/metrics");
    let source = r#"source="jsm""#;
    assert_eq!(
        sample(&metrics, "helpdesk_slo_source_up", &[source]),
        Some(1.0)
    );
    // 720 requests over 60 days plus the two seeded Highest ones, and the
    // few that arrived since the backfill.
    let stored = sample(&metrics, "helpdesk_slo_stored_tickets", &[source]).unwrap();
    assert!(
        (722.0..=740.0).contains(&stored),
        "{stored} requests stored"
    );
    for plan in ["premier", "standard"] {
        let plan_label = format!(r#"plan="{plan}""#);
        let met: f64 = metrics
            .lines()
            .filter(|l| l.starts_with("helpdesk_slo_clocks_met_total{") && l.contains(&plan_label))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            .sum();
        assert!(met > 50.0, "{plan}: {met} clocks met");
    }
    // The seeded unanswered Highest request on the 24x7 plan: due in about
    // ten minutes.
    let soon = sample(
        &metrics,
        "helpdesk_slo_clocks_breaching_soon",
        &[
            r#"plan="premier""#,
            r#"priority="p1""#,
            r#"metric="first_response""#,
            r#"window="15m""#,
        ],
    );
    assert!(soon.is_some_and(|v| v >= 1.0), "{soon:?}");
    // Last month's report, with both plans.
    let reports: Vec<_> = std::fs::read_dir(dir.join("reports"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    assert_eq!(reports.len(), 1, "{reports:?}");
    let report = std::fs::read_to_string(&reports[0]).unwrap();
    for plan in ["premier", "standard"] {
        assert!(report.contains(&format!("`{plan}`")), "{plan}");
    }
    let config = std::fs::read_to_string(dir.join("config.yaml")).unwrap();
    assert!(config.contains("kind: jira_service_management"), "{config}");
    // Ctrl-C stops it cleanly.
    let interrupted = Command::new("kill")
        .args(["-INT", &demo.0.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    assert!(demo.0.wait().unwrap().success());
}

/// The JSM demo (here by its short name) runs its own example: `--config`
/// is refused, saying why, before anything starts.
#[test]
fn the_jsm_demo_refuses_a_config_of_its_own() {
    let tmp = scratch("demo-jsm-config");
    let out = Command::new(env!("CARGO_BIN_EXE_helpdesk-slo"))
        .args(["demo", "--helpdesk", "jsm", "--exit-after-report"])
        .args(["--listen", "127.0.0.1:0", "--config", "examples/jsm.yaml"])
        .arg("--dir")
        .arg(tmp.path())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--config is for the Zendesk demo"),
        "{stderr}"
    );
    assert!(stderr.contains("examples/jsm.yaml"), "{stderr}");
    assert!(!tmp.path().join("store.sqlite").exists());
}
