//! Every invalid config in `tests/testdata/config/` paired with the exact
//! error it must produce: the file, line and column, the key, what is wrong
//! and what would be valid. Reviewed like code: a change to a message shows
//! up here.

use std::path::Path;

use helpdesk_slo::policy::Config;

const CASES: &[(&str, &str)] = &[
    (
        "invalid-abbreviated-zone.yaml",
        r#"tests/testdata/config/invalid-abbreviated-zone.yaml:3:15: calendars.support.timezone: unknown time zone "PST": did you mean America/Los_Angeles? use an IANA name such as America/Los_Angeles, Europe/London or UTC"#,
    ),
    (
        "invalid-bad-closure-date.yaml",
        r#"tests/testdata/config/invalid-bad-closure-date.yaml:6:17: calendars.support.closures[0].date: "2026-13-01" is not a date; write YYYY-MM-DD with a real day, such as 2026-12-24"#,
    ),
    (
        "invalid-bad-date.yaml",
        r#"tests/testdata/config/invalid-bad-date.yaml:6:9: calendars.support.holidays[0]: "2026-02-30" is not a date; write YYYY-MM-DD with a real day, such as 2026-12-24"#,
    ),
    (
        "invalid-day-length.yaml",
        r#"tests/testdata/config/invalid-day-length.yaml:5:17: calendars.support.day_length: day_length "1d" must be a clock duration from 1s to 24h, such as 9h or 7h30m (it defines what 1d means)"#,
    ),
    (
        "invalid-holiday-file.yaml",
        r#"tests/testdata/config/invalid-timed-event.ics:5: DTSTART `20261224T090000Z` has a time of day, but only all-day events are holidays (give a date: DTSTART;VALUE=DATE:20261224); put partial-day closures under `closures:` in the calendar instead"#,
    ),
    (
        "invalid-hour-25.yaml",
        r#"tests/testdata/config/invalid-hour-25.yaml:6:12: calendars.support.hours.sat: window "10:00-25:00": hour 25 is not valid; hours run 00-23, and 24:00 may end a window"#,
    ),
    (
        "invalid-hours-word.yaml",
        r#"tests/testdata/config/invalid-hours-word.yaml:4:12: calendars.support.hours: hours "always" is not valid: write 24x7, or a map of day keys to windows such as {mon-fri: ["08:00-17:00"]}"#,
    ),
    (
        "invalid-missing-holiday-file.yaml",
        r#"tests/testdata/config/invalid-missing-holiday-file.yaml: calendars.support.holidays: cannot read holiday file "no-such-file.ics" (looked for tests/testdata/config/no-such-file.ics): No such file or directory (os error 2)"#,
    ),
    (
        "invalid-missing-timezone.yaml",
        r#"tests/testdata/config/invalid-missing-timezone.yaml:3:5: calendars.support: missing field `timezone`"#,
    ),
    (
        "invalid-no-windows.yaml",
        r#"tests/testdata/config/invalid-no-windows.yaml:4:12: calendars.support.hours: hours has no windows; give at least one, such as mon-fri: ["08:00-17:00"], or write 24x7"#,
    ),
    (
        "invalid-overlap-across-keys.yaml",
        r#"tests/testdata/config/invalid-overlap-across-keys.yaml:5:7: calendars.support.hours: fri 16:00-18:00 overlaps fri 09:00-17:00; windows on one day must not overlap"#,
    ),
    (
        "invalid-overlapping-windows.yaml",
        r#"tests/testdata/config/invalid-overlapping-windows.yaml:5:7: calendars.support.hours: sat 11:00-13:00 overlaps sat 10:00-12:00; windows on one day must not overlap"#,
    ),
    (
        "invalid-overnight-overlap.yaml",
        r#"tests/testdata/config/invalid-overnight-overlap.yaml:5:7: calendars.support.hours: tue 05:00-09:00 overlaps tue 00:00-06:00; windows on one day must not overlap"#,
    ),
    (
        "invalid-unknown-day.yaml",
        r#"tests/testdata/config/invalid-unknown-day.yaml:5:7: calendars.support.hours: "mon-fry" is not a day; use mon, tue, wed, thu, fri, sat, sun, a range such as mon-fri, a list such as sat,sun, or daily"#,
    ),
    (
        "invalid-unknown-holiday-set.yaml",
        r#"tests/testdata/config/invalid-unknown-holiday-set.yaml:6:9: calendars.support.holidays[0]: unknown holiday set "us-fed"; built-in sets are us-federal; or write a date (2026-12-24) or {file: holidays.ics}"#,
    ),
    (
        "invalid-unknown-key.yaml",
        r#"tests/testdata/config/invalid-unknown-key.yaml:5:5: calendars.support: unknown field `holiday`, expected one of `timezone`, `hours`, `holidays`, `closures`, `day_length`"#,
    ),
    (
        "invalid-unknown-zone.yaml",
        r#"tests/testdata/config/invalid-unknown-zone.yaml:3:15: calendars.support.timezone: unknown time zone "America/LosAngeles": did you mean America/Los_Angeles? use an IANA name such as America/Los_Angeles, Europe/London or UTC"#,
    ),
    (
        "invalid-window-syntax.yaml",
        r#"tests/testdata/config/invalid-window-syntax.yaml:4:23: calendars.support.hours.mon-fri: window "8-17": "8" is not a time; write HH:MM such as 08:00 or 17:30"#,
    ),
    (
        "invalid-yaml-syntax.yaml",
        r#"tests/testdata/config/invalid-yaml-syntax.yaml:5:1: did not find expected ',' or '}' at line 5 column 1, while parsing a flow mapping at line 4 column 12"#,
    ),
];

#[test]
fn each_invalid_config_gets_its_exact_error() {
    let mut failures = Vec::new();
    for (file, want) in CASES {
        let path = Path::new("tests/testdata/config").join(file);
        match Config::load(&path) {
            Ok(_) => failures.push(format!("{file}: loaded, expected: {want}")),
            Err(e) if e.to_string() != *want => {
                failures.push(format!("{file}:\n  got:  {e}\n  want: {want}"))
            }
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_invalid_file_has_a_case() {
    let mut files: Vec<String> = std::fs::read_dir("tests/testdata/config")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("invalid-") && n.ends_with(".yaml"))
        .collect();
    files.sort();
    let mut cased: Vec<String> = CASES.iter().map(|(f, _)| f.to_string()).collect();
    cased.sort();
    assert_eq!(files, cased);
}

#[test]
fn every_example_config_loads() {
    let mut n = 0;
    for entry in std::fs::read_dir("examples").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let cfg = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
            assert!(!cfg.calendars.is_empty(), "{}", path.display());
            n += 1;
        }
    }
    assert!(n >= 5, "expected one example per seed policy, found {n}");
}

#[test]
fn config_errors_never_panic_on_odd_yaml() {
    for text in [
        "",
        "calendars: 5",
        "[1, 2]",
        "calendars: {x: {timezone: UTC, hours: {mon: [5]}}}",
        "calendars: {x: {timezone: 7, hours: 24x7}}",
    ] {
        assert!(
            Config::from_yaml(text, Path::new("inline.yaml")).is_err(),
            "{text:?}"
        );
    }
}
