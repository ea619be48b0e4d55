//! Unit tests of the calendar contract on hand-built rules. The property
//! tests against a brute-force reference live in `tests/calendar_properties.rs`,
//! the seed-policy worked examples in `tests/seed_calendars.rs`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use chrono_tz::Tz;

use super::week::parse_window;
use super::*;
use crate::time::{format_instant, parse_instant};

fn t(s: &str) -> i64 {
    parse_instant(s).unwrap()
}

fn weekly(spec: &[(usize, &str)]) -> WeeklyHours {
    let mut h = WeeklyHours::default();
    for (day, w) in spec {
        h.add_written(*day, parse_window(w).unwrap()).unwrap();
    }
    h
}

fn cal(tz: Tz, hours: WeeklyHours) -> Calendar {
    Calendar::new(
        "test",
        Rules {
            tz,
            weekly: hours,
            holidays: BTreeSet::new(),
            closures: BTreeMap::new(),
        },
        None,
    )
    .unwrap()
}

fn nine_to_five_la() -> Calendar {
    cal(
        chrono_tz::America::Los_Angeles,
        weekly(&[
            (0, "08:00-17:00"),
            (1, "08:00-17:00"),
            (2, "08:00-17:00"),
            (3, "08:00-17:00"),
            (4, "08:00-17:00"),
        ]),
    )
}

#[test]
fn zero_duration_is_the_start_even_when_closed() {
    let c = nine_to_five_la();
    let saturday = t("2026-11-21T20:00:00Z");
    assert!(!c.is_open(saturday).unwrap());
    assert_eq!(c.deadline(saturday, 0).unwrap(), saturday);
}

#[test]
fn a_deadline_lands_where_the_last_second_elapses() {
    let c = nine_to_five_la();
    // Friday 16:30 PST + 30m -> Friday 17:00 (the closing instant), not Monday.
    assert_eq!(
        format_instant(c.deadline(t("2026-11-21T00:30:00Z"), 1800).unwrap()),
        "2026-11-21T01:00:00Z"
    );
    // + 30m 1s -> Monday 08:00:01.
    assert_eq!(
        format_instant(c.deadline(t("2026-11-21T00:30:00Z"), 1801).unwrap()),
        "2026-11-23T16:00:01Z"
    );
}

#[test]
fn open_close_queries() {
    let c = nine_to_five_la();
    let friday_1700 = t("2026-11-21T01:00:00Z");
    let monday_0800 = t("2026-11-23T16:00:00Z");
    assert!(c.is_open(friday_1700 - 1).unwrap());
    assert!(!c.is_open(friday_1700).unwrap());
    assert!(c.is_open(monday_0800).unwrap());
    assert_eq!(c.next_close(friday_1700 - 100).unwrap(), Some(friday_1700));
    assert_eq!(c.next_close(friday_1700).unwrap(), Some(friday_1700));
    assert_eq!(c.next_open(friday_1700).unwrap(), Some(monday_0800));
    assert_eq!(c.next_open(monday_0800).unwrap(), Some(monday_0800));
}

#[test]
fn business_seconds_counts_only_open_time() {
    let c = nine_to_five_la();
    // Friday 16:00 PST to Monday 10:00 PST: 1h + 2h.
    assert_eq!(
        c.business_seconds(t("2026-11-21T00:00:00Z"), t("2026-11-23T18:00:00Z"))
            .unwrap(),
        3 * 3600
    );
    // A whole 2026: 261 weekdays of 9h.
    assert_eq!(
        c.business_seconds(t("2026-01-01T08:00:00Z"), t("2027-01-01T08:00:00Z"))
            .unwrap(),
        261 * 9 * 3600
    );
    assert_eq!(
        c.business_seconds(t("2026-11-23T18:00:00Z"), t("2026-11-21T00:00:00Z"))
            .unwrap(),
        0
    );
}

#[test]
fn dst_days_have_23_and_25_hours() {
    let c = cal(chrono_tz::America::Los_Angeles, WeeklyHours::always());
    // Local midnight to local midnight.
    let spring = c.business_seconds(t("2026-03-08T08:00:00Z"), t("2026-03-09T07:00:00Z"));
    let fall = c.business_seconds(t("2026-11-01T07:00:00Z"), t("2026-11-02T08:00:00Z"));
    assert_eq!(spring.unwrap(), 23 * 3600);
    assert_eq!(fall.unwrap(), 25 * 3600);
}

#[test]
fn a_repeated_hour_counts_twice_and_a_missing_one_not_at_all() {
    let tz = chrono_tz::America::Los_Angeles;
    // Sunday 01:00-03:00 local. On 2026-11-01 01:00-02:00 happens twice (3h);
    // on 2026-03-08 02:00-03:00 does not exist (1h).
    let c = cal(tz, weekly(&[(6, "01:00-03:00")]));
    let day = |d: &str| {
        let start = t(&format!("{d}T00:00:00Z"));
        c.business_seconds(start, start + 2 * 86_400).unwrap()
    };
    assert_eq!(day("2026-11-01"), 3 * 3600);
    assert_eq!(day("2026-03-08"), 3600);
    assert_eq!(day("2026-11-08"), 2 * 3600);
    // The spring-forward window 02:30-04:00 opens at 03:00 PDT.
    let c = cal(tz, weekly(&[(6, "02:30-04:00")]));
    assert_eq!(
        c.next_open(t("2026-03-08T08:00:00Z")).unwrap(),
        Some(t("2026-03-08T10:00:00Z"))
    );
}

#[test]
fn adjacent_windows_across_midnight_are_one_period() {
    let c = cal(
        chrono_tz::America::Los_Angeles,
        weekly(&[
            (6, "16:00-24:00"),
            (0, "00:00-24:00"),
            (1, "00:00-24:00"),
            (2, "00:00-24:00"),
            (3, "00:00-24:00"),
            (4, "00:00-17:00"),
        ]),
    );
    let sunday_1600 = t("2026-11-16T00:00:00Z");
    assert_eq!(
        c.next_close(sunday_1600 + 1).unwrap(),
        Some(t("2026-11-21T01:00:00Z"))
    );
    assert_eq!(
        c.open_intervals(sunday_1600, sunday_1600 + 7 * 86_400)
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn overnight_window_belongs_to_both_dates() {
    // Fri 22:00-06:00: open Friday night into Saturday morning.
    let c = cal(chrono_tz::UTC, weekly(&[(4, "22:00-06:00")]));
    assert!(c.is_open(t("2026-11-21T03:00:00Z")).unwrap()); // Saturday 03:00
    assert!(!c.is_open(t("2026-11-21T06:00:00Z")).unwrap());
    // Friday 2h and Saturday 6h each occur once: the tie goes to the longer.
    assert_eq!(c.day_length(), 6 * 3600);
}

#[test]
fn holidays_and_closures_are_local_dates() {
    let mut closures = BTreeMap::new();
    closures.insert(
        NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
        vec![DayWindow::new(12 * 3600, 17 * 3600).unwrap()],
    );
    let c = Calendar::new(
        "test",
        Rules {
            tz: chrono_tz::America::Los_Angeles,
            weekly: weekly(&[
                (0, "08:00-17:00"),
                (1, "08:00-17:00"),
                (2, "08:00-17:00"),
                (3, "08:00-17:00"),
                (4, "08:00-17:00"),
            ]),
            holidays: [NaiveDate::from_ymd_opt(2026, 12, 24).unwrap()]
                .into_iter()
                .collect(),
            closures,
        },
        None,
    )
    .unwrap();
    // Christmas Eve (Thursday) closed all day; Dec 31 (Thursday) 08:00-12:00.
    assert!(!c.is_open(t("2026-12-24T18:00:00Z")).unwrap());
    assert_eq!(
        c.business_seconds(t("2026-12-31T08:00:00Z"), t("2027-01-01T08:00:00Z"))
            .unwrap(),
        4 * 3600
    );
}

#[test]
fn an_open_period_over_new_year_is_not_cut() {
    let c = cal(chrono_tz::UTC, WeeklyHours::always());
    assert_eq!(c.next_close(t("2026-12-31T12:00:00Z")).unwrap(), None);
    assert_eq!(
        c.deadline(t("2026-12-31T23:00:00Z"), 7200).unwrap(),
        t("2027-01-01T01:00:00Z")
    );
    let spans = c
        .open_intervals(t("2026-12-31T00:00:00Z"), t("2027-01-02T00:00:00Z"))
        .unwrap();
    assert_eq!(
        spans,
        vec![(t("2026-12-31T00:00:00Z"), t("2027-01-02T00:00:00Z"))]
    );
    // Los Angeles: open 2026-12-31 16:00 PST (= 2027-01-01 00:00Z) to 20:00.
    let la = cal(
        chrono_tz::America::Los_Angeles,
        weekly(&[(3, "15:00-20:00")]),
    );
    assert_eq!(
        la.next_close(t("2026-12-31T23:30:00Z")).unwrap(),
        Some(t("2027-01-01T04:00:00Z"))
    );
}

#[test]
fn out_of_range_is_an_error_not_a_panic() {
    let c = nine_to_five_la();
    assert_eq!(c.is_open(-1), Err(CalendarError::OutOfRange(-1)));
    assert!(c.business_seconds(0, MAX_INSTANT + 1).is_err());
    assert!(c.deadline(MAX_INSTANT + 1, 0).is_err());
    assert_eq!(
        c.deadline(t("2100-12-31T12:00:00Z"), 100 * 3600),
        Err(CalendarError::DeadlineBeyondRange)
    );
    assert_eq!(c.deadline(0, -1), Err(CalendarError::NegativeDuration(-1)));
    assert!(c.next_open(i64::MIN).is_err());
    assert!(c.next_close(i64::MAX).is_err());
    // The edges themselves work.
    assert_eq!(c.business_seconds(0, 0).unwrap(), 0);
    // Friday 2100-12-31 04:00 PST opens at 08:00; nothing opens after the end.
    assert_eq!(
        c.next_open(t("2100-12-31T12:00:00Z")).unwrap(),
        Some(t("2100-12-31T16:00:00Z"))
    );
    assert_eq!(c.next_open(MAX_INSTANT).unwrap(), None);
    assert_eq!(c.is_open(MAX_INSTANT), Ok(false));
}

#[test]
fn a_calendar_that_never_opens_is_rejected() {
    let e = Calendar::new(
        "x",
        Rules {
            tz: chrono_tz::UTC,
            weekly: WeeklyHours::default(),
            holidays: BTreeSet::new(),
            closures: BTreeMap::new(),
        },
        None,
    );
    assert_eq!(e.unwrap_err(), CalendarError::NeverOpen);
}

#[test]
fn durations_resolve_with_the_calendar_day() {
    let c = nine_to_five_la();
    let d: BusinessDuration = "2d".parse().unwrap();
    assert_eq!(c.duration_seconds(d), 18 * 3600);
    let always = Calendar::always("always");
    assert_eq!(always.duration_seconds(d), 48 * 3600);
}

#[test]
fn every_instant_is_located_in_its_utc_year() {
    for y in FIRST_YEAR..=LAST_YEAR {
        let start = year_start(y);
        for t in [start, start + 1, start + 86_399, year_start(y + 1) - 1] {
            assert_eq!(Calendar::locate(t), Ok((y - FIRST_YEAR) as usize), "{t}");
        }
        if y > FIRST_YEAR {
            assert_eq!(
                Calendar::locate(start - 1),
                Ok((y - 1 - FIRST_YEAR) as usize)
            );
        }
    }
    assert_eq!(Calendar::locate(MAX_INSTANT), Ok(YEARS - 1));
    assert!(Calendar::locate(MAX_INSTANT + 1).is_err());
}
