//! Worked examples from the seed support policies, on the calendars shipped in
//! `examples/`: if an example config or the calendar engine drifts from what
//! the policy text says, one of these names the case.

use std::path::Path;
use std::sync::Arc;

use helpdesk_slo::calendar::{BusinessDuration, Calendar};
use helpdesk_slo::config_files;
use helpdesk_slo::time::{format_instant, parse_instant};

fn calendar(file: &str, name: &str) -> Arc<Calendar> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(file);
    let cfg = config_files::load(&path).unwrap_or_else(|e| panic!("{e}"));
    cfg.calendar(name).unwrap().clone()
}

fn t(s: &str) -> i64 {
    parse_instant(s).unwrap()
}

/// The deadline of `duration` (as written in a policy) from `start`, as UTC text.
fn due(cal: &Calendar, start: &str, duration: &str) -> String {
    let d: BusinessDuration = duration.parse().unwrap();
    format_instant(cal.deadline(t(start), cal.duration_seconds(d)).unwrap())
}

#[test]
fn workato_friday_afternoon_tickets_roll_over_the_weekend() {
    // Mon-Fri 08:00-17:00 Pacific; a ticket created Friday 16:30 PST.
    let cal = calendar("workato.yaml", "business-hours");
    let friday_1630 = "2026-11-21T00:30:00Z";
    assert_eq!(due(&cal, friday_1630, "30m"), "2026-11-21T01:00:00Z"); // Fri 17:00
    assert_eq!(due(&cal, friday_1630, "1h"), "2026-11-23T16:30:00Z"); // Mon 08:30
    assert_eq!(due(&cal, friday_1630, "0m"), friday_1630);
}

#[test]
fn workato_premium_24_hour_response_is_business_hours() {
    // "Respond within 24 hours" on Mon-Fri 08:00-17:00: 24 business hours.
    let cal = calendar("workato.yaml", "business-hours");
    // Monday 2026-11-16 09:00 PST: 8h Mon + 9h Tue + 7h Wed -> Wed 15:00 PST.
    assert_eq!(
        due(&cal, "2026-11-16T17:00:00Z", "24h"),
        "2026-11-18T23:00:00Z"
    );
    // "Resolve within 3 days" with 1d = 9h = 27 business hours -> Thu 09:00.
    assert_eq!(
        due(&cal, "2026-11-16T17:00:00Z", "3d"),
        "2026-11-19T17:00:00Z"
    );
    assert_eq!(cal.day_length(), 9 * 3600);
}

#[test]
fn workato_hourly_status_reports_are_wall_clock() {
    let cal = calendar("workato.yaml", "wall-clock");
    // Saturday night, still one hour.
    assert_eq!(
        due(&cal, "2026-11-22T07:00:00Z", "1h"),
        "2026-11-22T08:00:00Z"
    );
    // Across the fall-back night: one real hour, whatever the wall clock says.
    assert_eq!(
        due(&cal, "2026-11-01T08:30:00Z", "1h"),
        "2026-11-01T09:30:00Z"
    );
}

#[test]
fn wati_pro_first_response_runs_around_the_clock() {
    let cal = calendar("wati.yaml", "around-the-clock");
    assert_eq!(
        due(&cal, "2026-11-22T03:00:00Z", "45m"),
        "2026-11-22T03:45:00Z"
    );
    assert_eq!(
        due(&cal, "2026-12-31T23:30:00Z", "2h"),
        "2027-01-01T01:30:00Z"
    );
    assert_eq!(
        due(&cal, "2026-11-20T22:00:00Z", "8h"),
        "2026-11-21T06:00:00Z"
    );
    assert_eq!(cal.day_length(), 86_400);
}

#[test]
fn workzoom_eastern_weekday_hours() {
    // Mon-Fri 08:00-18:00 America/New_York.
    let cal = calendar("workzoom.yaml", "support-hours");
    // Critical, 4h: Friday 16:00 EST -> 2h Fri + 2h Mon -> Mon 10:00 EST.
    assert_eq!(
        due(&cal, "2026-11-20T21:00:00Z", "4h"),
        "2026-11-23T15:00:00Z"
    );
    // Major, 1 business day = 10h: Wed 12:00 -> Thu 12:00.
    assert_eq!(
        due(&cal, "2026-11-25T17:00:00Z", "1d"),
        "2026-11-26T17:00:00Z"
    );
    // Over the spring-forward weekend: Fri 17:00 EST + 4h -> Mon 11:00 EDT.
    assert_eq!(
        due(&cal, "2026-03-06T22:00:00Z", "4h"),
        "2026-03-09T15:00:00Z"
    );
    // Minor, 20 business days = 200h = four full weeks.
    assert_eq!(
        due(&cal, "2026-11-02T13:00:00Z", "20d"),
        "2026-11-27T23:00:00Z"
    );
}

#[test]
fn celigo_preferred_runs_sunday_1600_through_friday_1700() {
    let cal = calendar("celigo.yaml", "preferred");
    // Urgent, 2h, created Saturday: the clock starts Sunday 16:00 PST.
    assert_eq!(
        due(&cal, "2026-11-21T18:00:00Z", "2h"),
        "2026-11-23T02:00:00Z"
    );
    // Sunday 23:00 + 2h runs straight through midnight: Monday 01:00 PST.
    assert_eq!(
        due(&cal, "2026-11-23T07:00:00Z", "2h"),
        "2026-11-23T09:00:00Z"
    );
    // High, 8h, created Friday 16:00: 1h Fri, then 7h from Sunday 16:00.
    assert_eq!(
        due(&cal, "2026-11-21T00:00:00Z", "8h"),
        "2026-11-23T07:00:00Z"
    );
    // Thanksgiving (a US federal holiday) closes Thursday 2026-11-26:
    // Wed 23:00 + 2h = 1h Wed + 1h from Fri 00:00 -> Fri 01:00 PST.
    assert_eq!(
        due(&cal, "2026-11-26T07:00:00Z", "2h"),
        "2026-11-27T09:00:00Z"
    );
    // The week is one open period: no close at any midnight between.
    let sunday_1600 = t("2026-11-16T00:00:00Z");
    assert_eq!(
        cal.next_close(sunday_1600).unwrap().map(format_instant),
        Some("2026-11-21T01:00:00Z".to_string()) // Friday 17:00 PST
    );
}

#[test]
fn celigo_essential_skips_new_years_day_across_the_utc_year_boundary() {
    let cal = calendar("celigo.yaml", "essential");
    // Thu 2026-12-31 16:00 PST + 2h: 1h Thu, Fri 2027-01-01 is a holiday,
    // weekend, Mon 2027-01-04 08:00 + 1h -> 09:00 PST.
    assert_eq!(
        due(&cal, "2027-01-01T00:00:00Z", "2h"),
        "2027-01-04T17:00:00Z"
    );
    // Normal first response 3d (1d = 9h) from Monday 08:00 -> Wednesday 17:00.
    assert_eq!(
        due(&cal, "2026-11-16T16:00:00Z", "3d"),
        "2026-11-19T01:00:00Z"
    );
}

#[test]
fn celigo_premier_and_after_hours_urgent_are_24x7() {
    for name in ["premier", "after-hours-urgent"] {
        let cal = calendar("celigo.yaml", name);
        assert_eq!(
            due(&cal, "2026-11-21T18:00:00Z", "1h"),
            "2026-11-21T19:00:00Z"
        );
        assert_eq!(
            due(&cal, "2026-11-21T18:00:00Z", "12h"),
            "2026-11-22T06:00:00Z"
        );
    }
}

#[test]
fn support_model_office_hours_close_for_lunch_and_bank_holidays() {
    // Europe/London Mon-Fri 09:00-12:30 and 13:30-17:30; UK bank holidays
    // from the shipped iCalendar file.
    let cal = calendar("support-model.yaml", "office-hours");
    // 12:00 + 1h: 30m before lunch, 30m after -> 14:00 (GMT in November).
    assert_eq!(
        due(&cal, "2026-11-18T12:00:00Z", "1h"),
        "2026-11-18T14:00:00Z"
    );
    // Good Friday 2026-04-03 and Easter Monday 04-06 are closed:
    // Thu 2026-04-02 17:00 BST + 1h -> 30m Thu, then Tue 04-07 09:30 BST.
    assert_eq!(
        due(&cal, "2026-04-02T16:00:00Z", "1h"),
        "2026-04-07T08:30:00Z"
    );
    // Christmas Eve closes at lunch: Thu 2026-12-24 12:00 + 1h -> 30m, then
    // Christmas Day, the weekend and Boxing Day (substitute, Mon 12-28) are
    // closed -> Tue 12-29 09:30.
    assert_eq!(
        due(&cal, "2026-12-24T12:00:00Z", "1h"),
        "2026-12-29T09:30:00Z"
    );
    assert_eq!(cal.day_length(), 7 * 3600 + 1800);
}
