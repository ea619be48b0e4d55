//! The README's first command: `helpdesk-slo demo` runs the emulator, the
//! daemon, the metrics and the JSON API, and writes last month's report.

use std::process::Command;

mod common;
use common::scratch;

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
