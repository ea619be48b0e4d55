//! Every invalid config in `tests/testdata/config/` paired with the exact
//! error it must produce: the file, line and column, the key, what is wrong
//! and what would be valid. Reviewed like code: a change to a message shows
//! up here.

use std::path::Path;

use helpdesk_slo::config_files;
use helpdesk_slo::config_files::load as load_config;
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
        "invalid-closure-outside-hours.yaml",
        r#"tests/testdata/config/invalid-closure-outside-hours.yaml:7: calendars.support.closures[1]: the closure of 2026-12-31 19:00-21:00 closes nothing: the calendar is open 09:00-17:00 on Thursdays; a closure removes open hours (check its hours against the calendar's, in Europe/London)"#,
    ),
    (
        "invalid-credit-tiers-order.yaml",
        r#"tests/testdata/config/invalid-credit-tiers-order.yaml:12: credits.sla.tiers: rows must go from the lowest violation share to the highest"#,
    ),
    (
        "invalid-day-length.yaml",
        r#"tests/testdata/config/invalid-day-length.yaml:5:17: calendars.support.day_length: day_length "1d" must be a clock duration from 1s to 24h, such as 9h or 7h30m (it defines what 1d means)"#,
    ),
    (
        "invalid-exclusion-matches-everything.yaml",
        r#"tests/testdata/config/invalid-exclusion-matches-everything.yaml:9: exclusions: exclusion 1 ("outage") matches everything; give from/to, ticket_tags, ticket_field, plans, severities or metrics"#,
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
        "invalid-metric-kind.yaml",
        r#"tests/testdata/config/invalid-metric-kind.yaml:7:27: metrics.first_response.kind: unknown variant `response`, expected one of `first_response`, `next_reply`, `periodic_update`, `resolution`, `tier_response`"#,
    ),
    (
        "invalid-missing-holiday-file.yaml",
        r#"tests/testdata/config/invalid-missing-holiday-file.yaml:6: calendars.support.holidays[0]: cannot read holiday file "no-such-file.ics" (looked for tests/testdata/config/no-such-file.ics): No such file or directory (os error 2)"#,
    ),
    (
        "invalid-objective-100.yaml",
        r#"tests/testdata/config/invalid-objective-100.yaml:10: plans.gold.objective: objective 100%: give one above 0% and below 100%, such as 99.9% (100% leaves no error budget: one breach would use it all, and burn-rate alerts could not be computed)"#,
    ),
    (
        "invalid-poll-interval-words.yaml",
        r#"tests/testdata/config/invalid-poll-interval-words.yaml:9:20: sources.zendesk.poll_interval: "5 minutes" is not a duration (unknown unit "minutes"); write a number and a unit, such as 45m, 4h, 1h30m or 2d (d = 24 hours), units d, h, m, s in that order"#,
    ),
    (
        "invalid-precedence-word.yaml",
        r#"tests/testdata/config/invalid-precedence-word.yaml:9:17: plans.gold.precedence: "two" is not a whole number; write one such as 2 (higher wins)"#,
    ),
    (
        "invalid-schedule-shorthand.yaml",
        r#"tests/testdata/config/invalid-schedule-shorthand.yaml:4:13: reports.schedule: schedule "@fortnightly" is not a shorthand this build knows; write one of @yearly, @annually, @monthly, @weekly, @daily, @hourly, or the 5 fields of crontab such as "0 6 1 * *" (06:00 on the 1st)"#,
    ),
    (
        "invalid-missing-timezone.yaml",
        r#"tests/testdata/config/invalid-missing-timezone.yaml:3:5: calendars.support: missing field `timezone`"#,
    ),
    (
        "invalid-negative-duration.yaml",
        r#"tests/testdata/config/invalid-negative-duration.yaml:14:35: plans.gold.targets.critical.first_response: "-4h" is not a duration (a duration cannot be negative); write a number and a unit, such as 45m, 4h, 1h30m or 2d (d = one business day of the calendar), units d, h, m, s in that order; or `none` for no target (counted, never breached)"#,
    ),
    (
        "invalid-no-windows.yaml",
        r#"tests/testdata/config/invalid-no-windows.yaml:4:12: calendars.support.hours: hours has no windows; give at least one, such as mon-fri: ["08:00-17:00"], or write 24x7"#,
    ),
    (
        "invalid-objective.yaml",
        r#"tests/testdata/config/invalid-objective.yaml:13:16: plans.gold.objective: "150%" is outside 0%..100%"#,
    ),
    (
        "invalid-on-reopen-wrong-kind.yaml",
        r#"tests/testdata/config/invalid-on-reopen-wrong-kind.yaml:9: metrics.follow_up: on_reopen applies only to kind resolution, not periodic_update"#,
    ),
    (
        "invalid-overlap-across-keys.yaml",
        r#"tests/testdata/config/invalid-overlap-across-keys.yaml:5:7: calendars.support.hours: fri 16:00-18:00 overlaps fri 09:00-17:00; windows on one day must not overlap"#,
    ),
    (
        "invalid-overlapping-plans.yaml",
        r#"tests/testdata/config/invalid-overlapping-plans.yaml:15: plans.silver: plans "gold" and "silver" can both match one ticket (an organization or ticket can carry both criteria); give each a different `precedence` (higher wins)"#,
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
        "invalid-pause-status.yaml",
        r#"tests/testdata/config/invalid-pause-status.yaml:9:43: metrics.waiting.pause_on[0]: unknown variant `waiting`, expected one of `new`, `open`, `pending`, `hold`, `solved`, `closed`"#,
    ),
    (
        "invalid-plan-matches-nothing.yaml",
        r#"tests/testdata/config/invalid-plan-matches-nothing.yaml:10: plans.gold: the plan matches no ticket: give `match` (organization_tags, organization_ids, organization_field, ticket_tags, ticket_field) or `default: true`"#,
    ),
    (
        "invalid-plan-unknown-calendar.yaml",
        r#"tests/testdata/config/invalid-plan-unknown-calendar.yaml:12:15: plans.gold.calendar: unknown calendar "bizz"; the calendars defined under `calendars:` are: biz"#,
    ),
    (
        "invalid-priority-two-severities.yaml",
        r#"tests/testdata/config/invalid-priority-two-severities.yaml:3: severities: priority "P1" maps to both "critical" and "high"; each priority value belongs to one severity"#,
    ),
    (
        "invalid-reconcile-metric.yaml",
        r#"tests/testdata/config/invalid-reconcile-metric.yaml:16: sources.zendesk.reconcile.first_reply: "first_reply" is not one of the config's metrics; reconcile maps each of them (by name: first_response) to the helpdesk's"#,
    ),
    (
        "invalid-reconcile-value.yaml",
        r#"tests/testdata/config/invalid-reconcile-value.yaml:16: sources.zendesk.reconcile.first_response: "first_reply_time" is not a Zendesk metric; write one of reply_time, requester_wait_time, agent_work_time, periodic_update_time, pausable_update_time, none (none: compare first_response with nothing)"#,
    ),
    (
        "invalid-report-both-days.yaml",
        r#"tests/testdata/config/invalid-report-both-days.yaml:6:13: reports.schedule: schedule "0 6 1 * mon" restricts both day-of-month and day-of-week; give one and write * for the other"#,
    ),
    (
        "invalid-report-duplicate-customer.yaml",
        r#"tests/testdata/config/invalid-report-duplicate-customer.yaml:7: reports.customers: customer "acme" is listed twice; each customer gets one report"#,
    ),
    (
        "invalid-exposition-duplicate-org.yaml",
        r#"tests/testdata/config/invalid-exposition-duplicate-org.yaml:5: exposition.organizations: organization 901 is listed twice"#,
    ),
    (
        "invalid-exposition-too-many-orgs.yaml",
        r#"tests/testdata/config/invalid-exposition-too-many-orgs.yaml:6: exposition.organizations: 3 organizations, more than max_organizations (2); raise exposition.max_organizations (at most 200) or list fewer"#,
    ),
    (
        "invalid-report-schedule.yaml",
        r#"tests/testdata/config/invalid-report-schedule.yaml:5:13: reports.schedule: schedule "0 0 6 1 * *" has 6 fields; write the 5 fields of crontab: minute hour day-of-month month day-of-week, such as "0 6 1 * *" (06:00 on the 1st), or @monthly"#,
    ),
    (
        "invalid-source-key.yaml",
        r#"tests/testdata/config/invalid-source-key.yaml:9: sources.zendesk.custom_status: unknown field `custom_status`, expected one of `url`, `auth`, `start_time`, `custom_statuses`, `voice_comments`, `ticket_metric_events`, `reconcile` (besides kind, poll_interval and requests_per_minute)"#,
    ),
    (
        "invalid-source-kind.yaml",
        r#"tests/testdata/config/invalid-source-kind.yaml:5: sources.helpdesk.kind: unknown kind "zendesks"; this build knows: zendesk, freshdesk, jira_service_management"#,
    ),
    (
        "invalid-source-missing-start.yaml",
        r#"tests/testdata/config/invalid-source-missing-start.yaml:4: sources.zendesk: missing field `start_time`"#,
    ),
    (
        "invalid-source-url.yaml",
        r#"tests/testdata/config/invalid-source-url.yaml:6: sources.zendesk.url: "acme.zendesk.com" is not a URL: the account's base URL with its scheme, such as https://acme.zendesk.com"#,
    ),
    (
        "invalid-target-map-key.yaml",
        r#"tests/testdata/config/invalid-target-map-key.yaml:12:23: plans.gold.targets.critical.fr: unexpected key `calender` in a target; a target map has one of `target` (4h, 2d, none) or `business_days` (N), and optionally `calendar`"#,
    ),
    (
        "invalid-target-unknown-metric.yaml",
        r#"tests/testdata/config/invalid-target-unknown-metric.yaml:14:19: plans.gold.targets.critical: unknown metric "first_reply"; the metrics defined under `metrics:` are: first_response, resolution"#,
    ),
    (
        "invalid-target-unknown-severity.yaml",
        r#"tests/testdata/config/invalid-target-unknown-severity.yaml:14:7: plans.gold.targets: unknown severity "urgent"; the severities defined under `severities:` are: critical, normal"#,
    ),
    (
        "invalid-tier-without-group.yaml",
        r#"tests/testdata/config/invalid-tier-without-group.yaml:9: metrics.l2: kind tier_response needs `group`: the helpdesk group that is the tier (e.g. l2-experts)"#,
    ),
    (
        "invalid-two-default-plans.yaml",
        r#"tests/testdata/config/invalid-two-default-plans.yaml:13: plans.silver: plans gold, silver are all `default: true`; only one plan can be the default"#,
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
        "invalid-unparseable-duration.yaml",
        r#"tests/testdata/config/invalid-unparseable-duration.yaml:14:35: plans.gold.targets.critical.first_response: "4 hours" is not a duration (unknown unit "hours"); write a number and a unit, such as 45m, 4h, 1h30m or 2d (d = one business day of the calendar), units d, h, m, s in that order; or `none` for no target (counted, never breached)"#,
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
        match load_config(&path) {
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
            let cfg = config_files::load(&path).unwrap_or_else(|e| panic!("{e}"));
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

/// The source config `docs/zendesk.md` shows loads and passes the source
/// checks, with the keys it documents.
#[test]
fn the_zendesk_config_in_the_docs_loads() {
    let doc = std::fs::read_to_string("docs/zendesk.md").unwrap();
    let block = doc
        .split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/zendesk.md has a yaml block");
    let text = format!(
        "calendars:\n  support: {{ timezone: UTC, hours: 24x7 }}\nseverities: [{{ name: sev1, priorities: [urgent, sev1] }}]\n{block}"
    );
    let config = helpdesk_slo::config_files::from_yaml(&text, Path::new("docs/zendesk.md"))
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let spec = &config.sources["zendesk"];
    let zendesk = helpdesk_slo::sources::zendesk::config::ZendeskConfig::from_spec(spec).unwrap();
    assert_eq!(zendesk.url, "https://acme.zendesk.com");
    assert_eq!(
        zendesk.custom_statuses.get("1500001234"),
        Some(&helpdesk_slo::policy::spec::Status::Hold)
    );
    assert_eq!(
        config.policy.severity_field.as_deref(),
        Some("360041597112")
    );
    // Zendesk's own SLA record is read only when asked for.
    assert!(!zendesk.ticket_metric_events);
}
