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
        vec!["explain", "--help"],
    ] {
        let o = run(&args);
        assert!(o.status.success(), "{args:?}");
        assert!(stdout(&o).contains("Example"), "{args:?}: {}", stdout(&o));
    }
}

#[test]
fn explain_prints_every_clock_as_json_lines_and_text() {
    let args = [
        "explain",
        "--config",
        "examples/celigo.yaml",
        "--now",
        "2026-11-23T18:00:00Z",
        "--format",
        "json",
        "tests/testdata/tickets/celigo-preferred-urgent.json",
    ];
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["ticket"], "4711");
    // The config the clocks were computed with, as `check` names it.
    let hash = v["config"].as_str().unwrap().to_string();
    assert_eq!(hash.len(), 16);
    let check = stdout(&run(&["check", "--config", "examples/celigo.yaml"]));
    assert!(check.contains(&format!("(config {hash})")), "{check}");
    let clocks = v["clocks"].as_array().unwrap();
    // First response met; the first follow-up window breached and still open.
    assert_eq!(clocks[0]["metric"], "first_response");
    assert_eq!(clocks[0]["state"], "met");
    assert_eq!(clocks[0]["due_at"], "2026-11-21T20:00:00Z");
    assert_eq!(clocks[1]["metric"], "follow_up");
    assert_eq!(clocks[1]["state"], "breached");
    assert_eq!(clocks[1]["breached_at"], "2026-11-23T09:00:00Z");
    assert_eq!(clocks[1]["fulfilled_at"], serde_json::Value::Null);
    assert_eq!(clocks[1]["remaining_seconds"], -9 * 3600);
    for key in [
        "metric",
        "instance",
        "plan",
        "severity",
        "start",
        "due_at",
        "state",
        "reason",
        "fulfilled_at",
        "breached_at",
        "elapsed_seconds",
        "paused_seconds",
        "remaining_seconds",
    ] {
        assert!(clocks[0].get(key).is_some(), "missing {key}");
    }

    let o = run(&[
        "explain",
        "--config",
        "examples/celigo.yaml",
        "--now",
        "2026-11-23T18:00:00Z",
        "tests/testdata/tickets/celigo-preferred-urgent.json",
    ]);
    let text = stdout(&o);
    assert!(text.contains("ticket 4711: plan preferred"), "{text}");
    assert!(
        text.contains("breached, still open, 9h over target"),
        "{text}"
    );
}

#[test]
fn explain_reads_json_lines_from_stdin_and_names_a_bad_ticket() {
    let line = |id: &str| {
        format!(
            r#"{{"id":"{id}","created_at":"2026-11-22T00:00:00Z","priority":"P2","events":[{{"at":"2026-11-22T01:00:00Z","type":"comment","author":"agent","public":true}}]}}"#
        )
    };
    let input = format!("{}\n{}\n", line("a"), line("b"));
    let mut child = bin()
        .args([
            "explain",
            "--config",
            "examples/wati.yaml",
            "--now",
            "2026-11-23T00:00:00Z",
            "--format",
            "json",
            "-",
        ])
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
    let ids: Vec<String> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["ticket"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ids, ["a", "b"]);

    let mut child = bin()
        .args(["explain", "--config", "examples/wati.yaml", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            format!(
                "{}\n{{\"id\":\"c\",\"created_at\":\"yesterday\"}}\n",
                line("a")
            )
            .as_bytes(),
        )
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("ticket 2 (line 2"), "{err}");
    assert!(
        err.contains("\"yesterday\" is not an RFC 3339 instant"),
        "{err}"
    );
}

/// The store comes from `--store`, else the config's `store:` (relative to
/// the config's folder); one this build cannot open (or one with a
/// password written in it) is bad input, and the password is never printed.
#[test]
fn the_store_comes_from_the_flag_or_the_config_and_a_bad_one_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let example = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml"),
    )
    .unwrap();
    let config = dir.path().join("slo.yaml");
    std::fs::write(&config, format!("{example}\nstore: state/kept.sqlite\n")).unwrap();
    let config = config.to_str().unwrap();
    // No sources: a backfill with --once stops at once, its store created.
    let o = run(&["run", "--config", config, "--once"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        dir.path().join("state/kept.sqlite").exists(),
        "{}",
        stderr(&o)
    );

    let o = run(&[
        "run",
        "--config",
        config,
        "--once",
        "--store",
        "postgres://slo:hunter2@db/slo",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("holds a password"), "{}", stderr(&o));
    assert!(stderr(&o).contains("password_env="), "{}", stderr(&o));
    assert!(!stderr(&o).contains("hunter2"), "{}", stderr(&o));

    let o = run(&[
        "report",
        "--config",
        config,
        "--store",
        dir.path().join("none.sqlite").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));

    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        format!("{example}\nstore: postgres://slo:hunter2@db/slo\n"),
    )
    .unwrap();
    let o = run(&["check", "--config", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("store"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("hunter2"), "{}", stderr(&o));
}

/// A token written into the config, where `{env: …}` or `{file: …}`
/// belongs, is refused without ever being printed: not by `check`, not by
/// `run`, whatever the log format.
#[test]
fn a_token_written_into_the_config_is_refused_and_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let example = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml"),
    )
    .unwrap();
    const CANARY: &str = "zdCanary7f3aPastedToken";
    for (name, auth) in [
        ("inline", format!("token: \"{CANARY}\"")),
        ("under-env", format!("token: {{ env: \"{CANARY}-x\" }}")),
        ("as-a-list", format!("token: [\"{CANARY}\"]")),
    ] {
        let config = dir.path().join(format!("{name}.yaml"));
        std::fs::write(
            &config,
            format!(
                "{example}\nsources:\n  zendesk:\n    kind: zendesk\n    url: https://acme.zendesk.com\n    \
                 auth: {{ email: ops@acme.com, {auth} }}\n    start_time: 2026-01-01T00:00:00Z\n"
            ),
        )
        .unwrap();
        let config = config.to_str().unwrap();
        for args in [
            vec!["check", "--config", config],
            vec!["run", "--config", config, "--once"],
            vec!["run", "--config", config, "--once", "--log-format", "json"],
        ] {
            let o = run(&args);
            let (out, err) = (stdout(&o), stderr(&o));
            assert_eq!(o.status.code(), Some(2), "{name} {args:?}: {err}");
            assert!(
                !out.contains("zdCanary") && !err.contains("zdCanary"),
                "{name} {args:?}: {err}"
            );
            assert!(
                err.contains("auth.token") || err.contains("env:"),
                "{name} {args:?}: {err}"
            );
        }
    }
}

/// A command piped into a reader that stops early (`| head -1`) ends
/// quietly, without a panic and its exit status 101.
#[test]
fn a_closed_pipe_ends_a_command_quietly() {
    use std::io::Read;
    let mut child = bin()
        .args([
            "calendar",
            "show",
            "--config",
            "examples/celigo.yaml",
            "--calendar",
            "essential",
            "--start",
            "2026-11-02T00:00:00Z",
            "--days",
            "3000",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, then hang up.
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 64];
    let _ = stdout.read(&mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(out.status.code(), Some(101), "{err}");
}

/// A failure at run time (the port is taken) exits 1, bad input exits 2:
/// the daemon's errors keep the README's exit statuses apart.
#[test]
fn a_port_in_use_is_a_runtime_failure_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml");
    let store = dir.path().join("store.sqlite");
    let o = run(&[
        "run",
        "--config",
        config.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--listen",
        &addr,
        // Were the port free, a run without sources would end at once.
        "--once",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot listen on"), "{}", stderr(&o));
    drop(taken);
}

/// `explain` shows Zendesk's own SLA record (its ticket metric events, as a
/// ticket read from the store carries them) after our clocks: the
/// contract scenario's ticket 202, whose first-reply breach Zendesk
/// retracted when the priority went down.
#[test]
fn explain_shows_zendesks_own_record_beside_our_clocks() {
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("tests/contract/zendesk/metric_events/expected.json").unwrap(),
    )
    .unwrap();
    let path = std::env::temp_dir().join(format!(
        "helpdesk-slo-explain-zendesk-{}.json",
        std::process::id()
    ));
    std::fs::write(&path, expected["202"].to_string()).unwrap();
    let o = run(&[
        "explain",
        "--config",
        "tests/contract/zendesk/policy.yaml",
        "--now",
        "2026-09-08T12:00:00Z",
        path.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_file(&path);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let ours = text.find("first_response").expect("our clocks");
    let theirs = text
        .find("Zendesk's own record of reply_time (ticket metric events):")
        .unwrap_or_else(|| panic!("{text}"));
    assert!(ours < theirs, "{text}");
    for line in [
        "      #1 apply_sla 2026-09-08 09:00:00 UTC (Tue): policy \"Standard\", target 1h in business hours",
        "      #1 breach 2026-09-08 10:00:00 UTC (Tue) (retracted by Zendesk)",
        "      #1 apply_sla 2026-09-08 10:30:00 UTC (Tue): policy \"Standard\", target 4h in business hours",
        "      #1 update_status 2026-09-08 11:00:00 UTC (Tue): 2h calendar, 2h business",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    // The retracted breach shows once.
    assert_eq!(text.matches(" breach ").count(), 1, "{text}");
}
