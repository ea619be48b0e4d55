//! Property tests of the calendar engine against a brute-force reference.
//!
//! The reference below knows nothing of the engine's year tables: it converts
//! each instant to local wall-clock time with chrono-tz and applies the
//! contract of `helpdesk_slo::calendar` literally (holiday? in a weekly
//! window? in a closure?). Durations are walked minute by minute on UTC minute
//! boundaries, which is exact here because every window and closure boundary
//! generated is minute aligned and every zone used has whole-minute offsets in
//! 2020-2030, so openness is constant within a UTC minute.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::OnceLock;

use chrono::{Datelike, Days, NaiveDate, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use helpdesk_slo::calendar::week::{format_time_of_day, parse_window, DayWindow, WeeklyHours};
use helpdesk_slo::calendar::{Calendar, CalendarError, Rules, MAX_INSTANT, MIN_INSTANT};
use helpdesk_slo::time::{format_instant, format_local};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::Config;

const MINUTE: i64 = 60;
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

/// How far the reference walks looking for a deadline or the next open or
/// closed instant before giving up (and skipping that comparison).
const WALK_LIMIT: i64 = 120 * DAY;

const ZONES: [Tz; 5] = [
    chrono_tz::America::Los_Angeles,
    chrono_tz::Europe::London,
    chrono_tz::Australia::Sydney,
    chrono_tz::Asia::Kolkata,
    chrono_tz::America::New_York,
];

/// Unix seconds of a UTC date and time.
fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .expect("valid UTC time")
        .timestamp()
}

/// Unix seconds of a local wall-clock time that exists exactly once.
fn local(tz: Tz, y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
    tz.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .expect("unambiguous local time")
        .timestamp()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

// ---------------------------------------------------------------------------
// The reference
// ---------------------------------------------------------------------------

fn in_any(windows: &[DayWindow], second_of_day: u32) -> bool {
    windows
        .iter()
        .any(|w| w.start <= second_of_day && second_of_day < w.end)
}

/// The contract, literally: local date and time of `t`, then holiday, weekly
/// windows and closures of that local date.
fn ref_is_open(rules: &Rules, t: i64) -> bool {
    let local = Utc
        .timestamp_opt(t, 0)
        .single()
        .expect("instant representable by chrono")
        .with_timezone(&rules.tz)
        .naive_local();
    let date = local.date();
    if rules.holidays.contains(&date) {
        return false;
    }
    let sod = local.num_seconds_from_midnight();
    in_any(rules.weekly.on(date.weekday()), sod)
        && !rules.closures.get(&date).is_some_and(|c| in_any(c, sod))
}

/// Minute walks over [`ref_is_open`], memoised per UTC minute.
struct Reference<'r> {
    rules: &'r Rules,
    minutes: HashMap<i64, bool>,
}

impl<'r> Reference<'r> {
    fn new(rules: &'r Rules) -> Self {
        Self {
            rules,
            minutes: HashMap::new(),
        }
    }

    /// Whether the UTC minute containing `t` is open.
    fn open(&mut self, t: i64) -> bool {
        let minute = t.div_euclid(MINUTE);
        let rules = self.rules;
        *self
            .minutes
            .entry(minute)
            .or_insert_with(|| ref_is_open(rules, minute * MINUTE))
    }

    /// The end of the UTC minute containing `t`.
    fn minute_end(t: i64) -> i64 {
        (t.div_euclid(MINUTE) + 1) * MINUTE
    }

    /// Open seconds of `[a, b)`.
    fn business_seconds(&mut self, a: i64, b: i64) -> i64 {
        let (mut t, mut sum) = (a, 0);
        while t < b {
            let end = Self::minute_end(t).min(b);
            if self.open(t) {
                sum += end - t;
            }
            t = end;
        }
        sum
    }

    /// The earliest `t >= a` with `n` open seconds in `[a, t)`; `None` when
    /// not reached within [`WALK_LIMIT`].
    fn deadline(&mut self, a: i64, n: i64) -> Option<i64> {
        if n == 0 {
            return Some(a);
        }
        let (mut t, mut left) = (a, n);
        while t < a + WALK_LIMIT {
            let end = Self::minute_end(t);
            if self.open(t) {
                if end - t >= left {
                    return Some(t + left);
                }
                left -= end - t;
            }
            t = end;
        }
        None
    }

    /// The earliest `u >= t` whose openness is `want`, within `limit`.
    fn next_with(&mut self, t: i64, want: bool, limit: i64) -> Option<i64> {
        let mut u = t;
        while u < t + limit {
            if self.open(u) == want {
                return Some(u);
            }
            u = Self::minute_end(u);
        }
        None
    }

    /// The open runs of `[a, b)`, maximal.
    fn open_intervals(&mut self, a: i64, b: i64) -> Vec<(i64, i64)> {
        let mut out: Vec<(i64, i64)> = Vec::new();
        let mut t = a;
        while t < b {
            let end = Self::minute_end(t).min(b);
            if self.open(t) {
                match out.last_mut() {
                    Some(last) if last.1 == t => last.1 = end,
                    _ => out.push((t, end)),
                }
            }
            t = end;
        }
        out
    }
}

// ---------------------------------------------------------------------------
// Random calendars
// ---------------------------------------------------------------------------

/// The instants of every UTC offset change of a zone in 2023-2028, found by
/// scanning day by day and bisecting to the second.
fn transitions(zone: usize) -> &'static [i64] {
    static ALL: OnceLock<Vec<Vec<i64>>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        let offset = |tz: Tz, t: i64| {
            Utc.timestamp_opt(t, 0)
                .single()
                .expect("in range")
                .with_timezone(&tz)
                .offset()
                .fix()
                .local_minus_utc()
        };
        ZONES
            .iter()
            .map(|&tz| {
                let mut found = Vec::new();
                let mut t = utc(2023, 1, 1, 0, 0);
                while t < utc(2029, 1, 1, 0, 0) {
                    let (o0, o1) = (offset(tz, t), offset(tz, t + DAY));
                    if o0 != o1 {
                        let (mut lo, mut hi) = (t, t + DAY);
                        while hi - lo > 1 {
                            let mid = lo + (hi - lo) / 2;
                            if offset(tz, mid) == o0 {
                                lo = mid;
                            } else {
                                hi = mid;
                            }
                        }
                        found.push(hi);
                    }
                    t += DAY;
                }
                found
            })
            .collect()
    });
    &all[zone]
}

fn new_years() -> Vec<i64> {
    (2024..=2028).map(|y| utc(y, 1, 1, 0, 0)).collect()
}

/// Instants in 2024-2027, biased to within ±2 days (and ±2 minutes) of the
/// zone's DST transitions and of New Year (where the engine splits its
/// tables), rounded to a random granularity so that boundaries are hit
/// exactly.
fn instant_strategy(zone: usize) -> impl Strategy<Value = i64> {
    let mut points = transitions(zone).to_vec();
    if points.is_empty() {
        points = new_years();
    }
    let near =
        |points: Vec<i64>, spread: i64| (select(points), -spread..=spread).prop_map(|(p, d)| p + d);
    let base = prop_oneof![
        4 => utc(2024, 1, 1, 0, 0)..utc(2028, 1, 1, 0, 0),
        3 => near(points.clone(), 2 * DAY),
        1 => near(points, 2 * MINUTE),
        2 => near(new_years(), 2 * DAY),
        1 => near(new_years(), 2 * MINUTE),
    ];
    (base, select(vec![1i64, 1, 60, 900, 3600])).prop_map(|(t, g)| t - t.rem_euclid(g))
}

/// `HH:MM` for a minute of the day, `24:00` for 1440.
fn hhmm(minute: u32) -> String {
    format_time_of_day(minute * 60)
}

/// A window as written in a config: interesting fixed ones (24:00 ends,
/// past midnight, around the 01:00-03:00 DST hours) and random minute-aligned
/// ones (an empty one is rejected by `parse_window` and so skipped).
fn window_text() -> impl Strategy<Value = String> {
    const FIXED: [&str; 12] = [
        "08:00-17:00",
        "09:00-17:30",
        "00:00-24:00",
        "16:00-24:00",
        "22:00-06:00",
        "22:00-00:00",
        "01:30-03:00",
        "02:30-04:00",
        "00:00-02:30",
        "01:00-02:00",
        "12:00-13:00",
        "23:30-01:30",
    ];
    prop_oneof![
        3 => select(FIXED.to_vec()).prop_map(String::from),
        2 => (0u32..1440, 0u32..=1440).prop_map(|(s, e)| format!("{}-{}", hhmm(s), hhmm(e))),
        2 => (dst_minute(), dst_minute()).prop_map(|(s, e)| format!("{}-{}", hhmm(s), hhmm(e))),
    ]
}

/// A minute of the day at or near the hours the zones used change their
/// clocks (01:00-03:00 local), so that several windows and closures cut the
/// skipped and the repeated hour.
fn dst_minute() -> impl Strategy<Value = u32> {
    prop_oneof![
        3 => select(vec![0u32, 30, 60, 75, 90, 105, 120, 135, 150, 165, 180, 210, 240]),
        1 => 0u32..=240,
        1 => Just(1440),
    ]
}

/// A weekday index, biased to Sunday: every DST change of the zones used
/// happens on a Sunday.
fn weekday() -> impl Strategy<Value = usize> {
    prop_oneof![2 => 0usize..7, 1 => Just(6usize)]
}

fn written(days: &[usize], text: &str) -> Vec<(usize, String)> {
    days.iter().map(|&d| (d, text.to_string())).collect()
}

/// `(24x7, windows as (weekday index from Monday, text))`.
fn weekly_strategy() -> impl Strategy<Value = (bool, Vec<(usize, String)>)> {
    let presets = vec![
        vec![],
        written(&[0, 1, 2, 3, 4], "08:00-17:00"),
        written(&[0, 1, 2, 3, 4, 5, 6], "00:00-24:00"),
        // Adjacent across midnight: one open period from Sunday 16:00.
        [
            written(&[6], "16:00-24:00"),
            written(&[0, 1], "00:00-24:00"),
        ]
        .concat(),
        written(&[0, 1, 2, 3, 4, 5, 6], "22:00-06:00"),
        written(&[1, 2, 3, 4, 5], "09:00-17:30"),
    ];
    prop_oneof![
        1 => Just((true, vec![])),
        6 => (select(presets), vec((weekday(), window_text()), 0..6)).prop_map(
            |(preset, extra)| (false, [preset, extra].concat())
        ),
    ]
}

/// One random calendar and a start instant.
#[derive(Clone)]
struct Case {
    zone: usize,
    always: bool,
    windows: Vec<(usize, String)>,
    holidays: Vec<NaiveDate>,
    /// Local date and closed minutes of the day `[start, end)`.
    closures: Vec<(NaiveDate, u32, u32)>,
    a: i64,
}

impl Case {
    fn tz(&self) -> Tz {
        ZONES[self.zone]
    }

    fn rules(&self) -> Rules {
        let weekly = if self.always {
            WeeklyHours::always()
        } else {
            let mut weekly = WeeklyHours::default();
            for (day, text) in &self.windows {
                if let Ok(window) = parse_window(text) {
                    // An overlapping window is rejected: ignore it.
                    let _ = weekly.add_written(*day, window);
                }
            }
            if weekly.weekly_seconds() == 0 {
                let fallback = parse_window("09:00-17:00").expect("valid window");
                weekly.add_written(0, fallback).expect("empty week");
            }
            weekly
        };
        let mut closures: BTreeMap<NaiveDate, Vec<DayWindow>> = BTreeMap::new();
        for &(day, s, e) in &self.closures {
            if let Some(w) = DayWindow::new(s * 60, e * 60) {
                closures.entry(day).or_default().push(w);
            }
        }
        Rules {
            tz: self.tz(),
            weekly,
            holidays: self.holidays.iter().copied().collect::<BTreeSet<_>>(),
            closures,
        }
    }

    fn calendar(&self) -> Option<Calendar> {
        match Calendar::new("t", self.rules(), None) {
            Ok(cal) => Some(cal),
            Err(CalendarError::NeverOpen) => None,
            Err(e) => panic!("unexpected calendar error {e}"),
        }
    }

    /// A business duration from a spec: at most three weeks of this
    /// calendar's open time, so that the reference walk stays short.
    fn duration(&self, cal: &Calendar, spec: Dur) -> i64 {
        let weekly = i64::from(cal.rules().weekly.weekly_seconds());
        let n = match spec {
            Dur::Seconds(n) => n,
            Dur::Days(permille) => permille * 10 * cal.day_length() / 1000,
        };
        n.min(3 * weekly)
    }
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rules = self.rules();
        writeln!(f, "Case {{")?;
        writeln!(
            f,
            "  zone: {}, a: {} = {} ({})",
            self.tz().name(),
            self.a,
            format_instant(self.a),
            format_local(self.a, self.tz())
        )?;
        if self.always {
            writeln!(f, "  weekly: 24x7")?;
        } else {
            writeln!(f, "  written: {:?}", self.windows)?;
            let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
            for (i, day) in days.iter().enumerate() {
                let ws: Vec<String> = rules
                    .weekly
                    .on_index(i)
                    .iter()
                    .map(|w| w.to_string())
                    .collect();
                writeln!(f, "  {day}: {}", ws.join(", "))?;
            }
        }
        writeln!(f, "  holidays: {:?}", rules.holidays)?;
        let closures: Vec<String> = rules
            .closures
            .iter()
            .map(|(d, ws)| {
                let ws: Vec<String> = ws.iter().map(|w| w.to_string()).collect();
                format!("{d} {}", ws.join(","))
            })
            .collect();
        writeln!(f, "  closures: {closures:?}")?;
        write!(f, "}}")
    }
}

/// A business duration: seconds, or per mille of ten business days.
#[derive(Debug, Clone, Copy)]
enum Dur {
    Seconds(i64),
    Days(i64),
}

fn dur_strategy() -> impl Strategy<Value = Dur> {
    prop_oneof![
        1 => Just(Dur::Seconds(0)),
        3 => (1i64..=120).prop_map(Dur::Seconds),
        3 => (1i64..=4 * HOUR).prop_map(Dur::Seconds),
        2 => (1i64..=DAY).prop_map(Dur::Seconds),
        2 => (0i64..=1000).prop_map(Dur::Days),
    ]
}

/// A span of wall time: seconds to three weeks.
fn span_strategy() -> impl Strategy<Value = i64> {
    prop_oneof![
        1 => 0i64..=120,
        2 => 0i64..=2 * HOUR,
        2 => 0i64..=2 * DAY,
        2 => 0i64..=21 * DAY,
    ]
}

fn case_strategy() -> impl Strategy<Value = Case> {
    (0..ZONES.len())
        .prop_flat_map(|zone| {
            (
                Just(zone),
                instant_strategy(zone),
                weekly_strategy(),
                vec(-1i64..=22, 0..=3),
                vec(
                    (
                        -1i64..=22,
                        prop_oneof![0u32..1440, dst_minute()],
                        prop_oneof![1u32..=1440, dst_minute()],
                    ),
                    0..=3,
                ),
            )
        })
        .prop_map(|(zone, a, (always, windows), holidays, closures)| {
            make_case(zone, a, always, windows, holidays, closures)
        })
}

/// A case from holidays and closures given as day offsets from the local
/// date of `a`.
fn make_case(
    zone: usize,
    a: i64,
    always: bool,
    windows: Vec<(usize, String)>,
    holidays: Vec<i64>,
    closures: Vec<(i64, u32, u32)>,
) -> Case {
    let start = Utc
        .timestamp_opt(a, 0)
        .single()
        .expect("in range")
        .with_timezone(&ZONES[zone])
        .date_naive();
    let day = |offset: i64| {
        if offset >= 0 {
            start + Days::new(offset as u64)
        } else {
            start - Days::new(offset.unsigned_abs())
        }
    };
    Case {
        zone,
        always,
        windows,
        holidays: holidays.into_iter().map(day).collect(),
        closures: closures
            .into_iter()
            .map(|(d, s, e)| (day(d), s, e))
            .collect(),
        a,
    }
}

/// A calendar cut finely around the hours where clocks change (windows and
/// closures starting and ending at 00:00-04:00), in a zone with DST, and a
/// start at most two days before one of the zone's transitions.
fn dst_case_strategy() -> impl Strategy<Value = Case> {
    let dst_window =
        (dst_minute(), dst_minute()).prop_map(|(s, e)| format!("{}-{}", hhmm(s), hhmm(e)));
    let zones: Vec<usize> = (0..ZONES.len())
        .filter(|&z| !transitions(z).is_empty())
        .collect();
    (select(zones), vec((weekday(), dst_window), 1..6))
        .prop_flat_map(|(zone, windows)| {
            (
                Just(zone),
                select(transitions(zone).to_vec()),
                0..=2 * DAY,
                select(vec![1i64, 60, 900, 3600]),
                Just(windows),
                vec(-1i64..=3, 0..=1),
                vec((0i64..=2, dst_minute(), dst_minute()), 0..=3),
            )
        })
        .prop_map(
            |(zone, transition, before, granularity, windows, holidays, closures)| {
                let a = transition - before;
                let a = a - a.rem_euclid(granularity);
                make_case(zone, a, false, windows, holidays, closures)
            },
        )
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        // Failures are reported with their shrunk input; no files written.
        failure_persistence: None,
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(192))]

    #[test]
    fn business_seconds_match_reference(case in case_strategy(), span in span_strategy()) {
        let Some(cal) = case.calendar() else { return Ok(()) };
        let mut reference = Reference::new(cal.rules());
        let (a, b) = (case.a, case.a + span);
        prop_assert_eq!(cal.business_seconds(a, b).unwrap(), reference.business_seconds(a, b));
        prop_assert_eq!(cal.business_seconds(b, a).unwrap(), 0);
        prop_assert_eq!(cal.open_intervals(a, b).unwrap(), reference.open_intervals(a, b));
    }

    #[test]
    fn dst_weekends_match_reference(case in dst_case_strategy(), permille in 0i64..=1000) {
        let Some(cal) = case.calendar() else { return Ok(()) };
        let mut reference = Reference::new(cal.rules());
        let (a, b) = (case.a, case.a + 4 * DAY);
        prop_assert_eq!(cal.open_intervals(a, b).unwrap(), reference.open_intervals(a, b));
        let total = reference.business_seconds(a, b);
        prop_assert_eq!(cal.business_seconds(a, b).unwrap(), total);
        let n = total * permille / 1000;
        prop_assert_eq!(cal.deadline(a, n).unwrap(), reference.deadline(a, n).unwrap(), "n = {}", n);
    }

    #[test]
    fn deadline_matches_reference(case in case_strategy(), dur in dur_strategy()) {
        let Some(cal) = case.calendar() else { return Ok(()) };
        let mut reference = Reference::new(cal.rules());
        let n = case.duration(&cal, dur);
        if let Some(want) = reference.deadline(case.a, n) {
            prop_assert_eq!(cal.deadline(case.a, n).unwrap(), want, "n = {}", n);
        }
    }

    #[test]
    fn is_open_matches_reference(
        case in case_strategy(),
        probes in vec(prop_oneof![-2 * HOUR..=2 * HOUR, 0..=21 * DAY], 1..24),
    ) {
        let Some(cal) = case.calendar() else { return Ok(()) };
        for t in std::iter::once(case.a).chain(probes.into_iter().map(|d| case.a + d)) {
            prop_assert_eq!(
                cal.is_open(t).unwrap(),
                ref_is_open(cal.rules(), t),
                "t = {} = {}", format_instant(t), format_local(t, case.tz())
            );
        }
    }

}

proptest! {
    // The slowest: a calendar open for weeks makes the reference walk far.
    #![proptest_config(config(96))]

    #[test]
    fn next_open_and_next_close_match_reference(
        case in case_strategy(),
        probes in vec(prop_oneof![-2 * HOUR..=2 * HOUR, 0..=21 * DAY], 0..5),
    ) {
        let Some(cal) = case.calendar() else { return Ok(()) };
        let rules = cal.rules();
        let mut reference = Reference::new(rules);
        let limit = 30 * DAY;
        for t in std::iter::once(case.a).chain(probes.into_iter().map(|d| case.a + d)) {
            let at = format!("t = {} = {}", format_instant(t), format_local(t, case.tz()));
            // A calendar that never opens (closes) again within the limit is
            // not asked: the engine would scan every year to 2100 for it.
            if let Some(want) = reference.next_with(t, true, limit) {
                let got = cal.next_open(t).unwrap();
                prop_assert_eq!(got, Some(want), "next_open, {}", at);
                prop_assert!(ref_is_open(rules, want));
                prop_assert_eq!(reference.business_seconds(t, want), 0);
            }
            if let Some(want) = reference.next_with(t, false, limit) {
                let got = cal.next_close(t).unwrap();
                prop_assert_eq!(got, Some(want), "next_close, {}", at);
                prop_assert!(!ref_is_open(rules, want));
                prop_assert_eq!(reference.business_seconds(t, want), want - t);
            }
        }
    }
}

proptest! {
    #![proptest_config(config(384))]

    #[test]
    fn deadline_inverts_business_seconds(
        case in case_strategy(),
        dur in dur_strategy(),
        span in span_strategy(),
    ) {
        let Some(cal) = case.calendar() else { return Ok(()) };
        let (a, n) = (case.a, case.duration(&cal, dur));
        let due = cal.deadline(a, n).unwrap();
        prop_assert!(due >= a);
        prop_assert_eq!(cal.business_seconds(a, due).unwrap(), n, "due {}", format_instant(due));
        if n > 0 {
            prop_assert!(
                cal.business_seconds(a, due - 1).unwrap() < n,
                "due {} is not the earliest", format_instant(due)
            );
            prop_assert!(cal.is_open(due - 1).unwrap(), "the last second before due is closed");
        } else {
            prop_assert_eq!(due, a);
        }
        let b = a + span;
        let bs = cal.business_seconds(a, b).unwrap();
        prop_assert!(bs <= span);
        prop_assert!(cal.deadline(a, bs).unwrap() <= b);
    }

    #[test]
    fn deadline_is_monotone_and_business_seconds_additive(
        case in case_strategy(),
        dur in dur_strategy(),
        more in dur_strategy(),
        span in span_strategy(),
        span2 in span_strategy(),
    ) {
        let Some(cal) = case.calendar() else { return Ok(()) };
        let (a, b, c) = (case.a, case.a + span, case.a + span + span2);
        let n = case.duration(&cal, dur);
        let m = n + case.duration(&cal, more);
        prop_assert!(cal.deadline(a, n).unwrap() <= cal.deadline(b, n).unwrap());
        prop_assert!(cal.deadline(a, n).unwrap() <= cal.deadline(a, m).unwrap());
        prop_assert_eq!(
            cal.business_seconds(a, b).unwrap() + cal.business_seconds(b, c).unwrap(),
            cal.business_seconds(a, c).unwrap()
        );
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn instants_out_of_range_are_errors(
        case in case_strategy(),
        t in prop_oneof![i64::MIN..MIN_INSTANT, MIN_INSTANT - 2 * DAY..MIN_INSTANT,
                         MAX_INSTANT + 1..MAX_INSTANT + 2 * DAY, MAX_INSTANT + 1..=i64::MAX],
        n in 0i64..=10 * DAY,
    ) {
        let Some(cal) = case.calendar() else { return Ok(()) };
        let bad = Err(CalendarError::OutOfRange(t));
        prop_assert_eq!(cal.business_seconds(t, case.a), bad.clone());
        prop_assert_eq!(cal.business_seconds(case.a, t), bad.clone());
        prop_assert_eq!(cal.deadline(t, n), bad.clone());
        prop_assert_eq!(cal.is_open(t), bad.clone().map(|_: i64| false));
        prop_assert_eq!(cal.next_open(t), bad.clone().map(|_: i64| None));
        prop_assert_eq!(cal.next_close(t), bad.clone().map(|_: i64| None));
        prop_assert_eq!(cal.open_intervals(t, case.a), bad.clone().map(|_: i64| vec![]));
        prop_assert_eq!(cal.open_intervals(case.a, t), bad.map(|_: i64| vec![]));
    }
}

// ---------------------------------------------------------------------------
// DST days, by hand
// ---------------------------------------------------------------------------

fn calendar(tz: Tz, windows: &[(usize, &str)], holidays: &[NaiveDate]) -> Calendar {
    let mut weekly = WeeklyHours::default();
    for &(day, text) in windows {
        weekly
            .add_written(day, parse_window(text).expect("valid window"))
            .expect("no overlap");
    }
    let rules = Rules {
        tz,
        weekly,
        holidays: holidays.iter().copied().collect(),
        closures: BTreeMap::new(),
    };
    Calendar::new("dst", rules, None).expect("valid calendar")
}

fn every_day(tz: Tz) -> Calendar {
    let days: Vec<(usize, &str)> = (0..7).map(|d| (d, "00:00-24:00")).collect();
    calendar(tz, &days, &[])
}

/// The real length of a local date, measured three ways on calendars open
/// 00:00-24:00: across the day on an every-day calendar, on a calendar open
/// only that weekday, and on an every-day calendar with the neighbouring
/// dates as holidays.
fn assert_day_length(tz: Tz, day: NaiveDate, hours: i64) {
    let (y, m, d) = (day.year(), day.month(), day.day());
    let next = day + Days::new(1);
    let from = local(tz, y, m, d, 0, 0);
    let to = local(tz, next.year(), next.month(), next.day(), 0, 0);
    let label = format!("{} {day}", tz.name());
    assert_eq!(to - from, hours * HOUR, "{label}: chrono-tz disagrees");

    let all = every_day(tz);
    assert_eq!(
        all.business_seconds(from, to).unwrap(),
        hours * HOUR,
        "{label}"
    );
    assert_eq!(all.deadline(from, hours * HOUR).unwrap(), to, "{label}");

    let weekday = day.weekday().num_days_from_monday() as usize;
    let only = calendar(tz, &[(weekday, "00:00-24:00")], &[]);
    let (wide_from, wide_to) = (from - 3 * DAY, from + 3 * DAY);
    assert_eq!(
        only.business_seconds(wide_from, wide_to).unwrap(),
        hours * HOUR,
        "{label}"
    );
    assert_eq!(
        only.open_intervals(wide_from, wide_to).unwrap(),
        vec![(from, to)],
        "{label}"
    );
    assert_eq!(only.next_open(wide_from).unwrap(), Some(from), "{label}");
    assert_eq!(only.next_close(from).unwrap(), Some(to), "{label}");

    let days: Vec<(usize, &str)> = (0..7).map(|d| (d, "00:00-24:00")).collect();
    let around = calendar(tz, &days, &[day - Days::new(1), next]);
    let runs = around.open_intervals(wide_from, wide_to).unwrap();
    assert!(runs.contains(&(from, to)), "{label}: {runs:?}");
    assert_eq!(around.next_open(from - 1).unwrap(), Some(from), "{label}");
    assert_eq!(around.next_close(from).unwrap(), Some(to), "{label}");
}

#[test]
fn los_angeles_dst_days() {
    let tz = chrono_tz::America::Los_Angeles;
    assert_day_length(tz, date(2026, 3, 8), 23);
    assert_day_length(tz, date(2026, 11, 1), 25);
    assert_day_length(tz, date(2026, 3, 9), 24);
}

#[test]
fn sydney_dst_days() {
    let tz = chrono_tz::Australia::Sydney;
    assert_day_length(tz, date(2026, 4, 5), 25);
    assert_day_length(tz, date(2026, 10, 4), 23);
}

#[test]
fn london_dst_days() {
    let tz = chrono_tz::Europe::London;
    assert_day_length(tz, date(2026, 3, 29), 23);
    assert_day_length(tz, date(2026, 10, 25), 25);
}

#[test]
fn repeated_hour_counts_twice() {
    // 2026-11-01 is a Sunday; 02:00 PDT (09:00Z) falls back to 01:00 PST.
    let cal = calendar(chrono_tz::America::Los_Angeles, &[(6, "01:30-03:00")], &[]);
    let (from, to) = (utc(2026, 10, 31, 0, 0), utc(2026, 11, 3, 0, 0));
    assert_eq!(cal.business_seconds(from, to).unwrap(), 2 * HOUR);
    assert_eq!(
        cal.open_intervals(from, to).unwrap(),
        vec![
            (utc(2026, 11, 1, 8, 30), utc(2026, 11, 1, 9, 0)), // 01:30-02:00 PDT
            (utc(2026, 11, 1, 9, 30), utc(2026, 11, 1, 11, 0)), // 01:30-03:00 PST
        ]
    );
    assert_eq!(
        cal.deadline(from, 30 * MINUTE).unwrap(),
        utc(2026, 11, 1, 9, 0)
    );
    assert_eq!(
        cal.deadline(from, 30 * MINUTE + 1).unwrap(),
        utc(2026, 11, 1, 9, 30) + 1
    );
    assert!(!cal.is_open(utc(2026, 11, 1, 9, 15)).unwrap()); // 01:15 PST
    assert_eq!(
        cal.next_open(utc(2026, 11, 1, 9, 0)).unwrap(),
        Some(utc(2026, 11, 1, 9, 30))
    );
    assert_eq!(
        cal.next_close(utc(2026, 11, 1, 8, 45)).unwrap(),
        Some(utc(2026, 11, 1, 9, 0))
    );
}

#[test]
fn windows_interleaved_by_the_repeated_hour() {
    // 00:00-01:30 and 01:45-03:00 on the fall-back Sunday: the PST copy of
    // the first (01:00-01:30 PST) lies after the PDT copy of the second.
    let cal = calendar(
        chrono_tz::America::Los_Angeles,
        &[(6, "00:00-01:30"), (6, "01:45-03:00")],
        &[],
    );
    let (from, to) = (utc(2026, 10, 31, 0, 0), utc(2026, 11, 3, 0, 0));
    assert_eq!(
        cal.open_intervals(from, to).unwrap(),
        vec![
            (utc(2026, 11, 1, 7, 0), utc(2026, 11, 1, 8, 30)), // 00:00-01:30 PDT
            (utc(2026, 11, 1, 8, 45), utc(2026, 11, 1, 9, 30)), // 01:45 PDT-01:30 PST
            (utc(2026, 11, 1, 9, 45), utc(2026, 11, 1, 11, 0)), // 01:45-03:00 PST
        ]
    );
    assert_eq!(
        cal.business_seconds(from, to).unwrap(),
        3 * HOUR + 30 * MINUTE
    );
}

#[test]
fn skipped_hour_is_not_counted() {
    // 2026-03-08 is a Sunday; 02:00 PST (10:00Z) springs forward to 03:00 PDT.
    let cal = calendar(chrono_tz::America::Los_Angeles, &[(6, "02:30-04:00")], &[]);
    let (from, to) = (utc(2026, 3, 7, 0, 0), utc(2026, 3, 10, 0, 0));
    assert_eq!(cal.business_seconds(from, to).unwrap(), HOUR);
    assert_eq!(
        cal.open_intervals(from, to).unwrap(),
        vec![(utc(2026, 3, 8, 10, 0), utc(2026, 3, 8, 11, 0))] // 03:00-04:00 PDT
    );
    assert_eq!(cal.next_open(from).unwrap(), Some(utc(2026, 3, 8, 10, 0)));
    assert_eq!(cal.deadline(from, HOUR).unwrap(), utc(2026, 3, 8, 11, 0));
}

#[test]
fn always_open_calendar_never_closes_and_edges_are_in_range() {
    let days: Vec<(usize, &str)> = (0..7).map(|d| (d, "00:00-24:00")).collect();
    let cal = calendar(chrono_tz::Europe::London, &days, &[]);
    let t = utc(2026, 6, 1, 12, 0);
    assert_eq!(cal.next_close(t).unwrap(), None);
    assert_eq!(cal.next_open(t).unwrap(), Some(t));
    assert_eq!(
        cal.business_seconds(MIN_INSTANT, MIN_INSTANT + DAY)
            .unwrap(),
        DAY
    );
    assert_eq!(
        cal.business_seconds(MAX_INSTANT - DAY, MAX_INSTANT)
            .unwrap(),
        DAY
    );
    assert!(cal.is_open(MIN_INSTANT).unwrap());
    assert_eq!(cal.deadline(MAX_INSTANT - DAY, DAY).unwrap(), MAX_INSTANT);
    assert_eq!(
        cal.deadline(MAX_INSTANT - DAY, DAY + 1),
        Err(CalendarError::DeadlineBeyondRange)
    );
    assert_eq!(
        cal.deadline(t, -1),
        Err(CalendarError::NegativeDuration(-1))
    );
}

#[test]
fn huge_durations_are_errors_not_panics() {
    let cal = every_day(chrono_tz::Asia::Kolkata);
    let t = utc(2026, 6, 1, 12, 0);
    for n in [MAX_INSTANT, i64::MAX / 2, i64::MAX - 1, i64::MAX] {
        assert_eq!(
            cal.deadline(t, n),
            Err(CalendarError::DeadlineBeyondRange),
            "n = {n}"
        );
    }
}
