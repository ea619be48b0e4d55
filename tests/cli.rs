//! The `helpdesk-slo` binary, driven as a user or a batch tool drives it.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_helpdesk-slo"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn deadline_prints_utc_then_local_time() {
    let o = run(&[
        "calendar",
        "deadline",
        "--config",
        "examples/workato.yaml",
        "--calendar",
        "business-hours",
        "--start",
        "2026-11-21T00:30:00Z",
        "--duration",
        "1h",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("2026-11-23T16:30:00Z"));
    let local = lines.next().unwrap();
    assert!(local.starts_with("2026-11-23T08:30:00-08:00"), "{local}");
    assert!(local.contains("PST (Mon)"), "{local}");
}

#[test]
fn deadline_accepts_offsets_and_business_days() {
    // Friday 08:00 PST + 2d (1d = 9h on this calendar) -> Monday 17:00 PST.
    let o = run(&[
        "calendar",
        "deadline",
        "--config",
        "examples/workato.yaml",
        "--calendar",
        "business-hours",
        "--start",
        "2026-11-20T08:00:00-08:00",
        "--duration",
        "2d",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().next(), Some("2026-11-24T01:00:00Z"));
}

#[test]
fn between_prints_business_seconds() {
    let o = run(&[
        "calendar",
        "between",
        "--config",
        "examples/workato.yaml",
        "--calendar",
        "business-hours",
        "--start",
        "2026-11-21T00:00:00Z",
        "--end",
        "2026-11-23T18:00:00Z",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "10800\n3h business time\n");
}

#[test]
fn usage_errors_exit_2_and_say_what_is_valid() {
    let o = run(&[
        "calendar",
        "deadline",
        "--config",
        "examples/workato.yaml",
        "--calendar",
        "nope",
        "--start",
        "2026-11-21T00:00:00Z",
        "--duration",
        "1h",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no calendar named \"nope\""),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("business-hours, wall-clock"),
        "{}",
        stderr(&o)
    );

    let o = run(&[
        "calendar",
        "deadline",
        "--config",
        "examples/workato.yaml",
        "--calendar",
        "business-hours",
        "--start",
        "1969-07-20T20:17:00Z",
        "--duration",
        "1h",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--start") && stderr(&o).contains("supported range"),
        "{}",
        stderr(&o)
    );

    let o = run(&[
        "calendar",
        "deadline",
        "--config",
        "examples/workato.yaml",
        "--calendar",
        "business-hours",
        "--start",
        "2026-11-21T00:00:00Z",
        "--duration",
        "4 hours",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("45m, 4h, 1h30m or 2d"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_deadline_past_2100_is_a_runtime_error() {
    let o = run(&[
        "calendar",
        "deadline",
        "--config",
        "examples/workato.yaml",
        "--calendar",
        "business-hours",
        "--start",
        "2100-12-31T12:00:00Z",
        "--duration",
        "20h",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("after the end of 2100"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn check_reports_config_errors_with_location() {
    let o = run(&[
        "check",
        "--config",
        "tests/testdata/config/invalid-hour-25.yaml",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with(
            "error: tests/testdata/config/invalid-hour-25.yaml:6:12: calendars.support.hours.sat: "
        ),
        "{}",
        stderr(&o)
    );
    let o = run(&["check", "--config", "examples/celigo.yaml"]);
    assert!(o.status.success());
    assert!(
        stdout(&o)
            .contains("calendar preferred: America/Los_Angeles, 121h open per week, 1d = 24h"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn batch_answers_every_line_in_order_and_goes_on_after_errors() {
    let input = concat!(
        r#"{"calendar":"business-hours","op":"deadline","start":"2026-11-21T00:30:00Z","seconds":3600}"#,
        "\n",
        r#"{"calendar":"business-hours","op":"between","start":"2026-11-21T00:00:00Z","end":"2026-11-23T18:00:00Z"}"#,
        "\n",
        r#"{"calendar":"nope","op":"between","start":"2026-11-21T00:00:00Z","end":"2026-11-23T18:00:00Z"}"#,
        "\n",
        "not json\n",
        "\n",
        r#"{"calendar":"business-hours","op":"deadline","start":"2026-11-21T00:30:00Z"}"#,
        "\n",
        r#"{"calendar":"wall-clock","op":"deadline","start":"2026-11-21T00:30:00+01:00","seconds":0}"#,
        "\n",
        r#"{"calendar":"wall-clock","op":"sum","start":"2026-11-21T00:30:00Z","seconds":0}"#,
        "\n",
        r#"{"calendar":"wall-clock","op":"between","start":"2026-11-21T00:30:00Z","end":"2026-11-20T00:30:00Z"}"#,
    );
    let mut child = bin()
        .args(["calendar", "batch", "--config", "examples/workato.yaml"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 9, "{out}");
    assert_eq!(lines[0], r#"{"deadline":"2026-11-23T16:30:00Z"}"#);
    assert_eq!(lines[1], r#"{"seconds":10800}"#);
    assert!(
        lines[2].starts_with(r#"{"error":"line 3: no calendar named \"nope\""#),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].starts_with(r#"{"error":"line 4: not a valid request"#),
        "{}",
        lines[3]
    );
    assert_eq!(lines[4], "");
    assert!(
        lines[5].contains("line 6: op deadline needs \\\"seconds\\\""),
        "{}",
        lines[5]
    );
    assert_eq!(lines[6], r#"{"deadline":"2026-11-20T23:30:00Z"}"#);
    assert!(
        lines[7].contains("line 8: unknown op \\\"sum\\\""),
        "{}",
        lines[7]
    );
    assert!(
        lines[8].contains("line 9: end is before start"),
        "{}",
        lines[8]
    );
    for l in lines.iter().filter(|l| !l.is_empty()) {
        serde_json::from_str::<serde_json::Value>(l).unwrap();
    }
}

#[test]
fn every_subcommand_has_help_with_an_example() {
    for args in [
        vec!["--help"],
        vec!["check", "--help"],
        vec!["calendar", "--help"],
        vec!["calendar", "deadline", "--help"],
        vec!["calendar", "between", "--help"],
        vec!["calendar", "show", "--help"],
        vec!["calendar", "batch", "--help"],
    ] {
        let o = run(&args);
        assert!(o.status.success(), "{args:?}");
        assert!(stdout(&o).contains("Example"), "{args:?}: {}", stdout(&o));
    }
}
