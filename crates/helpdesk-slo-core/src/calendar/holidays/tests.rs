//! Tests of the built-in sets and of the iCalendar reader.

use super::*;
use chrono::{Datelike, NaiveDate, Weekday};

fn d(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap()
}

fn federal(year: i32) -> Vec<NaiveDate> {
    named_set_dates("us-federal", year, year).unwrap()
}

// ---- us-federal -------------------------------------------------------------------

#[test]
fn named_sets_lists_us_federal() {
    assert_eq!(NAMED_SETS, &["us-federal"]);
    for name in NAMED_SETS {
        assert!(named_set_dates(name, 2026, 2026).is_some());
    }
}

#[test]
fn us_federal_2026_full_list() {
    assert_eq!(
        federal(2026),
        vec![
            d(2026, 1, 1),   // New Year's Day, Thursday
            d(2026, 1, 19),  // Martin Luther King, Jr.
            d(2026, 2, 16),  // Washington's Birthday
            d(2026, 5, 25),  // Memorial Day
            d(2026, 6, 19),  // Juneteenth, Friday
            d(2026, 7, 3),   // Independence Day observed (July 4 is a Saturday)
            d(2026, 9, 7),   // Labor Day
            d(2026, 10, 12), // Columbus Day
            d(2026, 11, 11), // Veterans Day, Wednesday
            d(2026, 11, 26), // Thanksgiving Day
            d(2026, 12, 25), // Christmas Day, Friday
        ]
    );
}

#[test]
fn us_federal_2027_full_list_with_observed_dates() {
    assert_eq!(
        federal(2027),
        vec![
            d(2027, 1, 1),   // New Year's Day, Friday
            d(2027, 1, 18),  // Martin Luther King, Jr.
            d(2027, 2, 15),  // Washington's Birthday
            d(2027, 5, 31),  // Memorial Day
            d(2027, 6, 18),  // Juneteenth observed (June 19 is a Saturday)
            d(2027, 7, 5),   // Independence Day observed (July 4 is a Sunday)
            d(2027, 9, 6),   // Labor Day
            d(2027, 10, 11), // Columbus Day
            d(2027, 11, 11), // Veterans Day, Thursday
            d(2027, 11, 25), // Thanksgiving Day
            d(2027, 12, 24), // Christmas Day observed (December 25 is a Saturday)
            d(2027, 12, 31), // New Year's Day 2028 observed (January 1, 2028 is a Saturday)
        ]
    );
}

#[test]
fn us_federal_new_year_on_saturday_belongs_to_previous_year() {
    let y2028 = federal(2028);
    assert!(!y2028.contains(&d(2027, 12, 31)));
    assert!(!y2028.contains(&d(2028, 1, 1)));
    assert!(y2028.iter().all(|date| date.month() != 1 || date.day() > 1));
    assert_eq!(y2028.first(), Some(&d(2028, 1, 17)));
    // Same for 2022 (Saturday): observed on Friday 2021-12-31.
    assert!(federal(2021).contains(&d(2021, 12, 31)));
    assert!(!federal(2022).contains(&d(2022, 1, 1)));
}

#[test]
fn us_federal_multi_year_range_is_union_of_single_years() {
    let range = named_set_dates("us-federal", 2026, 2028).unwrap();
    let mut union: Vec<NaiveDate> = (2026..=2028).flat_map(federal).collect();
    union.sort();
    assert_eq!(range, union);
}

#[test]
fn us_federal_mlk_day_from_1986() {
    let y1985 = federal(1985);
    assert!(y1985
        .iter()
        .all(|date| date.month() != 1 || date.day() == 1));
    assert!(federal(1986).contains(&d(1986, 1, 20)));
}

#[test]
fn us_federal_juneteenth_from_2021() {
    assert!(federal(2020).iter().all(|date| date.month() != 6));
    // 2021-06-19 was a Saturday: observed Friday June 18.
    assert!(federal(2021).contains(&d(2021, 6, 18)));
}

#[test]
fn us_federal_before_uniform_monday_holiday_act() {
    assert_eq!(
        federal(1969),
        vec![
            d(1969, 1, 1),
            d(1969, 2, 21), // February 22 is a Saturday
            d(1969, 5, 30), // Memorial Day on May 30
            d(1969, 7, 4),
            d(1969, 9, 1),
            d(1969, 10, 13), // October 12 is a Sunday
            d(1969, 11, 11),
            d(1969, 11, 27),
            d(1969, 12, 25),
        ]
    );
    assert!(federal(1970).contains(&d(1970, 10, 12)));
}

#[test]
fn us_federal_veterans_day_in_october_1971_to_1977() {
    let y1975 = federal(1975);
    assert!(y1975.contains(&d(1975, 10, 27)));
    assert!(!y1975.contains(&d(1975, 11, 11)));
    // Back to November 11 in 1978 (a Saturday: observed Friday November 10).
    assert!(federal(1978).contains(&d(1978, 11, 10)));
}

#[test]
fn us_federal_every_supported_year_is_sane() {
    for year in 1969..=2101 {
        let dates = federal(year);
        assert!(
            (8..=12).contains(&dates.len()),
            "{year}: {} dates",
            dates.len()
        );
        assert!(dates.windows(2).all(|pair| pair[0] < pair[1]), "{year}");
        for date in &dates {
            assert_eq!(date.year(), year);
            assert!(
                !matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
                "{date} is a weekend day"
            );
        }
    }
}

#[test]
fn us_federal_out_of_range_years_do_not_panic() {
    assert_eq!(
        named_set_dates("us-federal", i32::MIN, i32::MIN),
        Some(vec![])
    );
    assert_eq!(
        named_set_dates("us-federal", i32::MAX, i32::MAX),
        Some(vec![])
    );
    assert_eq!(named_set_dates("us-federal", 2027, 2026), Some(vec![]));
    let max_year = NaiveDate::MAX.year();
    let at_max = named_set_dates("us-federal", max_year, i32::MAX).unwrap();
    assert!(!at_max.is_empty());
    assert!(at_max.iter().all(|date| date.year() == max_year));
    let min_year = NaiveDate::MIN.year();
    let at_min = named_set_dates("us-federal", i32::MIN, min_year).unwrap();
    assert!(at_min.iter().all(|date| date.year() == min_year));
}

#[test]
fn unknown_named_set_is_none() {
    assert_eq!(named_set_dates("uk-bank-holidays", 2026, 2026), None);
    assert_eq!(named_set_dates("US-Federal", 2026, 2026), None);
    assert_eq!(named_set_dates("", 2026, 2026), None);
}

// ---- parse_ics: accepted input ----------------------------------------------------

fn ics(body: &str) -> String {
    format!("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n{body}END:VCALENDAR\n")
}

fn err(text: &str) -> IcsError {
    parse_ics(text).unwrap_err()
}

/// A Google-Calendar-like export: CRLF, folded lines, a VTIMEZONE with timed DTSTARTs,
/// a VALARM, multi-day events, a yearly recurrence with an exception, an override.
const REALISTIC_LINES: &[&str] = &[
    "BEGIN:VCALENDAR",
    "PRODID:-//Google Inc//Google Calendar 70.9054//EN",
    "VERSION:2.0",
    "CALSCALE:GREGORIAN",
    "METHOD:PUBLISH",
    "X-WR-CALNAME:Support team closures",
    "X-WR-TIMEZONE:Europe/Berlin",
    "BEGIN:VTIMEZONE",
    "TZID:Europe/Berlin",
    "BEGIN:DAYLIGHT",
    "TZOFFSETFROM:+0100",
    "TZOFFSETTO:+0200",
    "DTSTART:19700329T020000",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
    "END:DAYLIGHT",
    "END:VTIMEZONE",
    "BEGIN:VEVENT",
    "DTSTART;VALUE=DATE:20261224",
    "DTEND;VALUE=DATE:20261227",
    "DTSTAMP:20260101T120000Z",
    "UID:xmas-2026@example.com",
    "SUMMARY:Christmas closure\\, including Christmas Eve and a very long summary th",
    " at Google folds onto a second line",
    "TRANSP:TRANSPARENT",
    "BEGIN:VALARM",
    "ACTION:DISPLAY",
    "TRIGGER;VALUE=DATE-TIME:20261223T090000Z",
    "DESCRIPTION:Reminder",
    "END:VALARM",
    "END:VEVENT",
    "BEGIN:VEVENT",
    "DTSTART;VALU",
    " E=DATE:20270101",
    "RRULE:FREQ=YEARLY;COUNT=3",
    "EXDATE;VALUE=DATE:20280101",
    "SUMMARY:New Year",
    "UID:new-year@example.com",
    "END:VEVENT",
    "BEGIN:VEVENT",
    "UID:company-day@example.com",
    "SUMMARY:Company day",
    "DTSTART;VALUE=DATE:20260615",
    "RRULE:FREQ=YEARLY;UNTIL=20280615",
    "END:VEVENT",
    "BEGIN:VEVENT",
    "UID:company-day@example.com",
    "RECURRENCE-ID;VALUE=DATE:20270615",
    "SUMMARY:Company day (moved)",
    "DTSTART;VALUE=DATE:20270618",
    "END:VEVENT",
    "BEGIN:VEVENT",
    "UID:offsite@example.com",
    "SUMMARY:Offsite",
    "DTSTART:20260304",
    "DURATION:P2D",
    "END:VEVENT",
    "END:VCALENDAR",
];

fn realistic(line_end: &str) -> String {
    let mut text = REALISTIC_LINES.join(line_end);
    text.push_str(line_end);
    text
}

fn realistic_expected() -> Vec<NaiveDate> {
    vec![
        d(2026, 3, 4),
        d(2026, 3, 5),
        d(2026, 6, 15),
        d(2026, 12, 24),
        d(2026, 12, 25),
        d(2026, 12, 26),
        d(2027, 1, 1),
        d(2027, 6, 18),
        d(2028, 6, 15),
        d(2029, 1, 1),
    ]
}

#[test]
fn realistic_feed_with_crlf_and_folding() {
    assert_eq!(parse_ics(&realistic("\r\n")).unwrap(), realistic_expected());
}

#[test]
fn realistic_feed_with_lf_line_ends() {
    let lf = realistic("\n");
    assert_eq!(parse_ics(&lf).unwrap(), realistic_expected());
}

#[test]
fn tab_folding_bom_blank_lines_and_no_final_newline() {
    let text = "\u{feff}BEGIN:VCALENDAR\n\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:2026\n\t1224\nEND:VEVENT\nEND:VCALENDAR";
    assert_eq!(parse_ics(text).unwrap(), vec![d(2026, 12, 24)]);
}

#[test]
fn names_are_case_insensitive() {
    let text = "begin:vcalendar\nBegin:VEvent\ndtstart;value=date:20261224\nDtEnd;Value=Date:20261226\nrrule:freq=yearly;count=2\nend:vevent\nEND:vcalendar\n";
    assert_eq!(
        parse_ics(text).unwrap(),
        vec![
            d(2026, 12, 24),
            d(2026, 12, 25),
            d(2027, 12, 24),
            d(2027, 12, 25)
        ]
    );
}

#[test]
fn eight_digit_dtstart_without_value_and_quoted_parameters() {
    let text = ics(
        "BEGIN:VEVENT\nDTSTART;X-LABEL=\"closed: all; day\",other:20261231\nSUMMARY:a:b\nEND:VEVENT\n",
    );
    assert_eq!(parse_ics(&text).unwrap(), vec![d(2026, 12, 31)]);
}

#[test]
fn empty_calendar_and_duplicate_days_are_fine() {
    assert_eq!(parse_ics(&ics("")).unwrap(), vec![]);
    let text = ics(
        "BEGIN:VEVENT\nDTSTART:20261225\nEND:VEVENT\nBEGIN:VEVENT\nDTSTART:20261224\nDTEND:20261226\nEND:VEVENT\n",
    );
    assert_eq!(
        parse_ics(&text).unwrap(),
        vec![d(2026, 12, 24), d(2026, 12, 25)]
    );
}

#[test]
fn several_calendars_in_one_text() {
    let one = ics("BEGIN:VEVENT\nDTSTART:20260101\nEND:VEVENT\n");
    let two = ics("BEGIN:VEVENT\nDTSTART:20270101\nEND:VEVENT\n");
    assert_eq!(
        parse_ics(&format!("{one}{two}")).unwrap(),
        vec![d(2026, 1, 1), d(2027, 1, 1)]
    );
}

#[test]
fn other_components_are_ignored() {
    let text = ics(
        "BEGIN:VTODO\nDTSTART:20260101T090000\nEND:VTODO\nBEGIN:X-THING\nBEGIN:VEVENT\nDTSTART:20260101T090000\nEND:VEVENT\nEND:X-THING\n",
    );
    assert_eq!(parse_ics(&text).unwrap(), vec![]);
}

#[test]
fn duration_in_days_and_weeks() {
    let text = ics(
        "BEGIN:VEVENT\nDTSTART:20260803\nDURATION:P1W\nEND:VEVENT\nBEGIN:VEVENT\nDTSTART:20261001\nDURATION:+p1d\nEND:VEVENT\n",
    );
    let dates = parse_ics(&text).unwrap();
    assert_eq!(dates.len(), 8);
    assert_eq!(dates.first(), Some(&d(2026, 8, 3)));
    assert_eq!(dates[6], d(2026, 8, 9));
    assert_eq!(dates[7], d(2026, 10, 1));
}

#[test]
fn yearly_rrule_without_bound_stops_in_2100() {
    let text = ics("BEGIN:VEVENT\nDTSTART:20261225\nRRULE:FREQ=YEARLY\nEND:VEVENT\n");
    let dates = parse_ics(&text).unwrap();
    assert_eq!(dates.len(), 2100 - 2026 + 1);
    assert_eq!(dates.last(), Some(&d(2100, 12, 25)));
}

#[test]
fn yearly_rrule_until_forms_and_interval() {
    let until_date =
        ics("BEGIN:VEVENT\nDTSTART:20261225\nRRULE:FREQ=YEARLY;UNTIL=20281225\nEND:VEVENT\n");
    let expected = vec![d(2026, 12, 25), d(2027, 12, 25), d(2028, 12, 25)];
    assert_eq!(parse_ics(&until_date).unwrap(), expected);
    let until_time = ics(
        "BEGIN:VEVENT\nDTSTART:20261225\nRRULE:FREQ=YEARLY;UNTIL=20281225T000000Z;WKST=SU\nEND:VEVENT\n",
    );
    assert_eq!(parse_ics(&until_time).unwrap(), expected);
    let interval =
        ics("BEGIN:VEVENT\nDTSTART:20261225\nRRULE:FREQ=YEARLY;INTERVAL=2;COUNT=3\nEND:VEVENT\n");
    assert_eq!(
        parse_ics(&interval).unwrap(),
        vec![d(2026, 12, 25), d(2028, 12, 25), d(2030, 12, 25)]
    );
}

#[test]
fn yearly_rrule_on_february_29_skips_common_years() {
    let text = ics("BEGIN:VEVENT\nDTSTART:20240229\nRRULE:FREQ=YEARLY;COUNT=3\nEND:VEVENT\n");
    assert_eq!(
        parse_ics(&text).unwrap(),
        vec![d(2024, 2, 29), d(2028, 2, 29), d(2032, 2, 29)]
    );
}

#[test]
fn outlook_style_redundant_bymonth_bymonthday() {
    let text = ics(
        "BEGIN:VEVENT\nDTSTART;VALUE=DATE:20261225\nDTEND;VALUE=DATE:20261226\nRRULE:FREQ=YEARLY;COUNT=2;BYMONTHDAY=25;BYMONTH=12\nEND:VEVENT\n",
    );
    assert_eq!(
        parse_ics(&text).unwrap(),
        vec![d(2026, 12, 25), d(2027, 12, 25)]
    );
}

#[test]
fn exdate_and_rdate() {
    let text = ics(
        "BEGIN:VEVENT\nDTSTART;VALUE=DATE:20261225\nRRULE:FREQ=YEARLY;COUNT=4\nEXDATE;VALUE=DATE:20271225,20281225\nEXDATE;TZID=Europe/Berlin:20291225T000000\nRDATE;VALUE=DATE:20261231\nEND:VEVENT\n",
    );
    assert_eq!(
        parse_ics(&text).unwrap(),
        vec![d(2026, 12, 25), d(2026, 12, 31)]
    );
}

#[test]
fn exdate_removes_all_days_of_a_multi_day_occurrence() {
    let text = ics(
        "BEGIN:VEVENT\nDTSTART:20261224\nDTEND:20261226\nRRULE:FREQ=YEARLY;COUNT=2\nEXDATE:20261224\nEND:VEVENT\n",
    );
    assert_eq!(
        parse_ics(&text).unwrap(),
        vec![d(2027, 12, 24), d(2027, 12, 25)]
    );
}

#[test]
fn cancelled_events_and_cancelled_occurrences_close_nothing() {
    let text = ics(
        "BEGIN:VEVENT\nUID:a\nDTSTART:20260101\nSTATUS:CANCELLED\nEND:VEVENT\n\
BEGIN:VEVENT\nUID:b\nDTSTART:20260501\nRRULE:FREQ=YEARLY;COUNT=3\nEND:VEVENT\n\
BEGIN:VEVENT\nUID:b\nRECURRENCE-ID;VALUE=DATE:20270501\nDTSTART:20270501\nSTATUS:cancelled\nEND:VEVENT\n",
    );
    assert_eq!(
        parse_ics(&text).unwrap(),
        vec![d(2026, 5, 1), d(2028, 5, 1)]
    );
}

// ---- parse_ics: errors ------------------------------------------------------------

#[test]
fn error_display_has_line_number() {
    let error = IcsError::new(7, "something is wrong");
    assert_eq!(error.to_string(), "line 7: something is wrong");
}

#[test]
fn error_timed_dtstart_points_to_closures() {
    let text = ics("BEGIN:VEVENT\nSUMMARY:Team offsite afternoon\nDTSTART:20261224T130000Z\nDTEND:20261224T170000Z\nEND:VEVENT\n");
    let error = err(&text);
    assert_eq!(error.line, 6);
    assert!(
        error.message.contains("only all-day events are holidays"),
        "{error}"
    );
    assert!(error.message.contains("closures:"), "{error}");
    let with_tzid = ics("BEGIN:VEVENT\nDTSTART;TZID=Europe/Berlin:20261224T130000\nEND:VEVENT\n");
    assert_eq!(err(&with_tzid).line, 5);
    let value_date_time =
        ics("BEGIN:VEVENT\nDTSTART;VALUE=DATE-TIME:20261224T130000\nEND:VEVENT\n");
    assert!(err(&value_date_time).message.contains("closures:"));
}

#[test]
fn error_timed_dtend_points_to_closures() {
    let text = ics("BEGIN:VEVENT\nDTEND:20261224T170000\nDTSTART:20261224\nEND:VEVENT\n");
    let error = err(&text);
    assert_eq!(error.line, 5);
    assert!(error.message.contains("closures:"), "{error}");
}

#[test]
fn error_line_of_folded_line_is_where_it_starts() {
    let text = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;TZID=Europe/Be\r\n rlin:20261224T13\r\n 0000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let error = err(text);
    assert_eq!(error.line, 3);
    assert!(error.message.contains("20261224T130000"), "{error}");
}

#[test]
fn error_malformed_dates() {
    let dashed = ics("BEGIN:VEVENT\nDTSTART;VALUE=DATE:2026-12-24\nEND:VEVENT\n");
    let error = err(&dashed);
    assert_eq!(error.line, 5);
    assert!(
        error.message.contains("malformed date `2026-12-24`"),
        "{error}"
    );
    assert!(error.message.contains("YYYYMMDD"), "{error}");
    let impossible = ics("BEGIN:VEVENT\nDTSTART;VALUE=DATE:20260230\nEND:VEVENT\n");
    let error = err(&impossible);
    assert_eq!(error.line, 5);
    assert!(error.message.contains("not a calendar date"), "{error}");
    let bad_exdate = ics("BEGIN:VEVENT\nDTSTART:20260101\nEXDATE:2026010\nEND:VEVENT\n");
    assert_eq!(err(&bad_exdate).line, 6);
    let bad_until =
        ics("BEGIN:VEVENT\nDTSTART:20260101\nRRULE:FREQ=YEARLY;UNTIL=2030\nEND:VEVENT\n");
    assert!(err(&bad_until).message.contains("UNTIL"));
    let other_value = ics("BEGIN:VEVENT\nDTSTART;VALUE=PERIOD:20260101/P1D\nEND:VEVENT\n");
    assert!(err(&other_value).message.contains("VALUE=PERIOD"));
}

#[test]
fn error_dtend_not_after_dtstart() {
    let same =
        ics("BEGIN:VEVENT\nDTSTART;VALUE=DATE:20261224\nDTEND;VALUE=DATE:20261224\nEND:VEVENT\n");
    let error = err(&same);
    assert_eq!(error.line, 6);
    assert!(error.message.contains("not after DTSTART"), "{error}");
    assert!(
        error.message.contains("DTEND;VALUE=DATE:20261225"),
        "{error}"
    );
    let before =
        ics("BEGIN:VEVENT\nDTEND;VALUE=DATE:20261220\nDTSTART;VALUE=DATE:20261224\nEND:VEVENT\n");
    assert_eq!(err(&before).line, 5);
}

#[test]
fn error_vevent_without_dtstart() {
    let text = ics("BEGIN:VEVENT\nSUMMARY:No date\nDTEND:20261225\nEND:VEVENT\n");
    let error = err(&text);
    assert_eq!(error.line, 4);
    assert!(error.message.contains("no DTSTART"), "{error}");
}

#[test]
fn error_unbalanced_begin_end() {
    let mismatched = ics("BEGIN:VEVENT\nDTSTART:20261224\nEND:VTODO\n");
    let error = err(&mismatched);
    assert_eq!(error.line, 6);
    assert!(error.message.contains("expected END:VEVENT"), "{error}");
    let unclosed = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20261224\nEND:VEVENT\n";
    let error = err(unclosed);
    assert_eq!(error.line, 1);
    assert!(error.message.contains("never closed"), "{error}");
    let unclosed_event = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20261224\n";
    assert_eq!(err(unclosed_event).line, 2);
    let stray_end = "BEGIN:VCALENDAR\nEND:VCALENDAR\nEND:VCALENDAR\n";
    let error = err(stray_end);
    assert_eq!(error.line, 3);
    assert!(
        error.message.contains("without a matching BEGIN"),
        "{error}"
    );
    let nested = "BEGIN:VCALENDAR\nBEGIN:VCALENDAR\nEND:VCALENDAR\nEND:VCALENDAR\n";
    assert_eq!(err(nested).line, 2);
}

#[test]
fn error_no_vcalendar() {
    let bare_event = "BEGIN:VEVENT\nDTSTART:20261224\nEND:VEVENT\n";
    let error = err(bare_event);
    assert_eq!(error.line, 1);
    assert!(
        error.message.contains("expected BEGIN:VCALENDAR"),
        "{error}"
    );
    let not_ics = "\n\nholidays:\n  - 2026-12-24\n";
    assert_eq!(err(not_ics).line, 3);
    let html = err("<!DOCTYPE html>\n<html></html>\n");
    assert_eq!(html.line, 1);
    assert!(html.message.contains("expected BEGIN:VCALENDAR"), "{html}");
    let empty = err("");
    assert_eq!(empty.line, 1);
    assert!(empty.message.contains("no BEGIN:VCALENDAR"), "{empty}");
    assert!(err("\r\n\r\n").message.contains("no BEGIN:VCALENDAR"));
    let after_end = format!("{}SUMMARY:late\n", ics(""));
    assert!(err(&after_end)
        .message
        .contains("outside of BEGIN:VCALENDAR"));
}

#[test]
fn error_unsupported_rrule() {
    let weekly = ics("BEGIN:VEVENT\nDTSTART:20261224\nRRULE:FREQ=WEEKLY\nEND:VEVENT\n");
    let error = err(&weekly);
    assert_eq!(error.line, 6);
    assert!(
        error.message.contains("unsupported RRULE (FREQ=WEEKLY)"),
        "{error}"
    );
    assert!(error.message.contains("FREQ=YEARLY"), "{error}");
    let by_day =
        ics("BEGIN:VEVENT\nDTSTART:20261126\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=4TH\nEND:VEVENT\n");
    let error = err(&by_day);
    assert_eq!(error.line, 6);
    assert!(error.message.contains("BYDAY=4TH"), "{error}");
    let other_month =
        ics("BEGIN:VEVENT\nDTSTART:20261126\nRRULE:FREQ=YEARLY;BYMONTH=12\nEND:VEVENT\n");
    assert_eq!(err(&other_month).line, 6);
    let both = ics(
        "BEGIN:VEVENT\nDTSTART:20261224\nRRULE:FREQ=YEARLY;COUNT=2;UNTIL=20301224\nEND:VEVENT\n",
    );
    assert!(err(&both).message.contains("both COUNT and UNTIL"));
    let zero = ics("BEGIN:VEVENT\nDTSTART:20261224\nRRULE:FREQ=YEARLY;COUNT=0\nEND:VEVENT\n");
    assert!(err(&zero).message.contains("COUNT=0"));
    let no_freq = ics("BEGIN:VEVENT\nDTSTART:20261224\nRRULE:COUNT=2\nEND:VEVENT\n");
    assert!(err(&no_freq).message.contains("no FREQ"));
    let until_before =
        ics("BEGIN:VEVENT\nDTSTART:20261224\nRRULE:FREQ=YEARLY;UNTIL=20201224\nEND:VEVENT\n");
    assert!(err(&until_before).message.contains("before DTSTART"));
}

#[test]
fn error_unsupported_duration_and_conflicts() {
    let timed = ics("BEGIN:VEVENT\nDTSTART:20261224\nDURATION:PT8H\nEND:VEVENT\n");
    let error = err(&timed);
    assert_eq!(error.line, 6);
    assert!(error.message.contains("PnD or PnW"), "{error}");
    assert!(err(&ics(
        "BEGIN:VEVENT\nDTSTART:20261224\nDURATION:P0D\nEND:VEVENT\n"
    ))
    .message
    .contains("unsupported DURATION"));
    let both = ics("BEGIN:VEVENT\nDTSTART:20261224\nDTEND:20261225\nDURATION:P1D\nEND:VEVENT\n");
    let error = err(&both);
    assert_eq!(error.line, 7);
    assert!(error.message.contains("only one"), "{error}");
    let twice = ics("BEGIN:VEVENT\nDTSTART:20261224\nDTSTART:20261225\nEND:VEVENT\n");
    let error = err(&twice);
    assert_eq!(error.line, 6);
    assert!(error.message.contains("first is on line 5"), "{error}");
    let too_long = ics("BEGIN:VEVENT\nDTSTART:20260101\nDURATION:P100W\nEND:VEVENT\n");
    assert!(err(&too_long).message.contains("at most 366 days"));
    let huge = ics("BEGIN:VEVENT\nDTSTART:20260101\nDURATION:P99999999999999999999D\nEND:VEVENT\n");
    assert!(err(&huge).message.contains("unsupported DURATION"));
}

#[test]
fn error_malformed_content_lines() {
    let leading_fold = " BEGIN:VCALENDAR\nEND:VCALENDAR\n";
    let error = err(leading_fold);
    assert_eq!(error.line, 1);
    assert!(error.message.contains("continuation"), "{error}");
    let fold_after_blank = "BEGIN:VCALENDAR\n\n continued\nEND:VCALENDAR\n";
    assert_eq!(err(fold_after_blank).line, 3);
    let no_colon = ics("BEGIN:VEVENT\nDTSTART 20261224\nEND:VEVENT\n");
    assert_eq!(err(&no_colon).line, 5);
    let no_value_sep = ics("BEGIN:VEVENT\nDTSTART;VALUE=DATE\nEND:VEVENT\n");
    assert!(err(&no_value_sep).message.contains("no `:`"));
    let unterminated = ics("BEGIN:VEVENT\nDTSTART;X=\"abc:20261224\nEND:VEVENT\n");
    assert!(err(&unterminated).message.contains("unterminated"));
    let bad_param = ics("BEGIN:VEVENT\nDTSTART;VALUE:20261224\nEND:VEVENT\n");
    assert!(err(&bad_param).message.contains("malformed parameter"));
    let empty_begin = "BEGIN:\nEND:VCALENDAR\n";
    assert!(err(empty_begin)
        .message
        .contains("does not name a component"));
}

#[test]
fn messages_shorten_long_values_without_splitting_characters() {
    let long = "é".repeat(200);
    let text = ics(&format!("BEGIN:VEVENT\nDTSTART:{long}\nEND:VEVENT\n"));
    let error = err(&text);
    assert!(error.message.contains("..."), "{error}");
    assert!(error.message.len() < 400);
}
