//! The built-in holiday sets (`us-federal`): their dates by year, as observed.
//!
//! The rules and their sources are in the [`super`] module docs.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate, Weekday};

/// Names accepted in a calendar's `holidays:` list as built-in sets.
pub const NAMED_SETS: &[&str] = &["us-federal"];

/// All dates of the named set in the years `first_year..=last_year` (sorted, deduplicated),
/// or None if the name is not a built-in set.
///
/// Names match exactly (see [`NAMED_SETS`]). An empty or reversed year range, or years
/// chrono cannot represent, give `Some` of an empty list. Dates are observed dates, filtered
/// by the year they fall in (see the module docs).
#[must_use]
pub fn named_set_dates(name: &str, first_year: i32, last_year: i32) -> Option<Vec<NaiveDate>> {
    match name {
        "us-federal" => Some(us_federal_dates(first_year, last_year)),
        _ => None,
    }
}

/// Observed US federal holidays falling in `first_year..=last_year`.
fn us_federal_dates(first_year: i32, last_year: i32) -> Vec<NaiveDate> {
    let first = first_year.max(NaiveDate::MIN.year());
    let last = last_year.min(NaiveDate::MAX.year());
    if first > last {
        return Vec::new();
    }
    let mut dates = BTreeSet::new();
    // A holiday of the year before or after can be observed inside the range
    // (January 1 on a Saturday is observed on December 31 of the year before).
    for year in first.saturating_sub(1)..=last.saturating_add(1) {
        for (_, date) in us_federal_holidays(year) {
            if let Some(observed) = observed_date(date) {
                if (first..=last).contains(&observed.year()) {
                    dates.insert(observed);
                }
            }
        }
    }
    dates.into_iter().collect()
}

/// The legal public holidays of `year` on their actual (not observed) dates, with names.
/// Holidays whose date chrono cannot represent are left out.
fn us_federal_holidays(year: i32) -> Vec<(&'static str, NaiveDate)> {
    let ymd = |month, day| NaiveDate::from_ymd_opt(year, month, day);
    let nth = |month, weekday, n| NaiveDate::from_weekday_of_month_opt(year, month, weekday, n);
    let monday_holiday_act = year >= 1971;
    let rules = [
        ("New Year's Day", ymd(1, 1)),
        (
            "Birthday of Martin Luther King, Jr.",
            if year >= 1986 {
                nth(1, Weekday::Mon, 3)
            } else {
                None
            },
        ),
        (
            "Washington's Birthday",
            if monday_holiday_act {
                nth(2, Weekday::Mon, 3)
            } else {
                ymd(2, 22)
            },
        ),
        (
            "Memorial Day",
            if monday_holiday_act {
                last_weekday_of_month(year, 5, Weekday::Mon)
            } else {
                ymd(5, 30)
            },
        ),
        (
            "Juneteenth National Independence Day",
            if year >= 2021 { ymd(6, 19) } else { None },
        ),
        ("Independence Day", ymd(7, 4)),
        ("Labor Day", nth(9, Weekday::Mon, 1)),
        (
            "Columbus Day",
            if monday_holiday_act {
                nth(10, Weekday::Mon, 2)
            } else {
                ymd(10, 12)
            },
        ),
        (
            "Veterans Day",
            if (1971..=1977).contains(&year) {
                nth(10, Weekday::Mon, 4)
            } else {
                ymd(11, 11)
            },
        ),
        ("Thanksgiving Day", nth(11, Weekday::Thu, 4)),
        ("Christmas Day", ymd(12, 25)),
    ];
    rules
        .into_iter()
        .filter_map(|(name, date)| date.map(|date| (name, date)))
        .collect()
}

/// The last `weekday` of `month` in `year`.
fn last_weekday_of_month(year: i32, month: u32, weekday: Weekday) -> Option<NaiveDate> {
    let (next_year, next_month) = if month == 12 {
        (year.checked_add(1)?, 1)
    } else {
        (year, month + 1)
    };
    let mut date = NaiveDate::from_ymd_opt(next_year, next_month, 1)?.pred_opt()?;
    while date.weekday() != weekday {
        date = date.pred_opt()?;
    }
    Some(date)
}

/// The day a holiday on `date` is observed: Saturday moves to Friday, Sunday to Monday.
fn observed_date(date: NaiveDate) -> Option<NaiveDate> {
    match date.weekday() {
        Weekday::Sat => date.pred_opt(),
        Weekday::Sun => date.succ_opt(),
        _ => Some(date),
    }
}
