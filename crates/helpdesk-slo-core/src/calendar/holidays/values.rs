//! iCalendar property values a holiday reads: all-day dates, date lists
//! (EXDATE, RDATE, RECURRENCE-ID) and durations in whole days.

use chrono::NaiveDate;

use super::lines::{shorten, Property};
use super::IcsError;

pub(super) enum DateError {
    Malformed,
    NotACalendarDate,
}

/// Parses a basic-format date `YYYYMMDD`.
pub(super) fn parse_basic_date(text: &str) -> Result<NaiveDate, DateError> {
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DateError::Malformed);
    }
    let field = |range: std::ops::Range<usize>| {
        text.get(range)
            .and_then(|digits| digits.parse::<u32>().ok())
            .ok_or(DateError::Malformed)
    };
    let year = i32::try_from(field(0..4)?).map_err(|_| DateError::Malformed)?;
    NaiveDate::from_ymd_opt(year, field(4..6)?, field(6..8)?).ok_or(DateError::NotACalendarDate)
}

/// Whether `text` is a basic-format date-time `YYYYMMDDTHHMMSS` with an optional `Z`.
pub(super) fn is_date_time(text: &str) -> bool {
    let bytes = text.strip_suffix('Z').unwrap_or(text).as_bytes();
    bytes.len() == 15
        && bytes.iter().enumerate().all(|(index, byte)| {
            if index == 8 {
                *byte == b'T'
            } else {
                byte.is_ascii_digit()
            }
        })
}

/// A date value of property `prop`, with errors that name the property.
fn date_value(prop: &Property<'_>, text: &str) -> Result<NaiveDate, IcsError> {
    parse_basic_date(text).map_err(|error| {
        let message = match error {
            DateError::Malformed => format!(
                "malformed date `{}` in {}: expected 8 digits YYYYMMDD, e.g. \
                 {};VALUE=DATE:20261224",
                shorten(text),
                prop.name,
                prop.name
            ),
            DateError::NotACalendarDate => format!(
                "`{text}` in {} is not a calendar date: expected YYYYMMDD with a month \
                 01-12 and a day that exists in that month, e.g. {};VALUE=DATE:20261224",
                prop.name, prop.name
            ),
        };
        IcsError::new(prop.line, message)
    })
}

fn timed_event_error(prop: &Property<'_>) -> IcsError {
    IcsError::new(
        prop.line,
        format!(
            "{} `{}` has a time of day, but only all-day events are holidays (give a date: \
             DTSTART;VALUE=DATE:20261224); put partial-day closures under `closures:` in the \
             calendar instead",
            prop.name,
            shorten(prop.value.trim())
        ),
    )
}

/// The all-day date of a DTSTART or DTEND property.
pub(super) fn all_day_date(prop: &Property<'_>) -> Result<NaiveDate, IcsError> {
    let value = prop.value.trim();
    match prop.param("VALUE").map(str::to_ascii_uppercase).as_deref() {
        None | Some("DATE") => {}
        Some("DATE-TIME") => return Err(timed_event_error(prop)),
        Some(other) => {
            return Err(IcsError::new(
                prop.line,
                format!(
                    "{} has VALUE={}, but a holiday's {} is a date: {};VALUE=DATE:YYYYMMDD",
                    prop.name,
                    shorten(other),
                    prop.name,
                    prop.name
                ),
            ))
        }
    }
    if is_date_time(value) {
        return Err(timed_event_error(prop));
    }
    date_value(prop, value)
}

/// The dates of an EXDATE, RDATE or RECURRENCE-ID property (comma-separated values).
/// With `date_part_of_times`, date-times are accepted and their date part taken.
pub(super) fn date_list(
    prop: &Property<'_>,
    date_part_of_times: bool,
) -> Result<Vec<NaiveDate>, IcsError> {
    let value_type = prop.param("VALUE").map(str::to_ascii_uppercase);
    let times_allowed = date_part_of_times && value_type.as_deref() != Some("DATE");
    let type_ok = match value_type.as_deref() {
        None | Some("DATE") => true,
        Some("DATE-TIME") => date_part_of_times,
        Some(_) => false,
    };
    let expected = if date_part_of_times {
        format!(
            "{}:YYYYMMDD or {}:YYYYMMDDTHHMMSS, e.g. {};VALUE=DATE:20261224",
            prop.name, prop.name, prop.name
        )
    } else {
        format!("dates, e.g. {};VALUE=DATE:20261224,20271224", prop.name)
    };
    if !type_ok {
        return Err(IcsError::new(
            prop.line,
            format!(
                "{} has VALUE={}, which is not supported here: expected {expected}",
                prop.name,
                shorten(value_type.as_deref().unwrap_or_default())
            ),
        ));
    }
    let mut dates = Vec::new();
    for item in prop.value.split(',') {
        let item = item.trim();
        if is_date_time(item) {
            if !times_allowed {
                return Err(IcsError::new(
                    prop.line,
                    format!(
                        "{} `{item}` has a time of day, but an all-day holiday's {} takes \
                         {expected}",
                        prop.name, prop.name
                    ),
                ));
            }
            dates.push(date_value(prop, item.get(..8).unwrap_or(item))?);
        } else {
            dates.push(date_value(prop, item)?);
        }
    }
    Ok(dates)
}

/// `PnD` or `PnW` as a number of days, at least 1.
pub(super) fn duration_days(prop: &Property<'_>) -> Result<u64, IcsError> {
    let value = prop.value.trim().to_ascii_uppercase();
    let body = value.strip_prefix('+').unwrap_or(&value);
    let parsed = body.strip_prefix('P').and_then(|rest| {
        let (number, factor) = if let Some(n) = rest.strip_suffix('D') {
            (n, 1)
        } else {
            (rest.strip_suffix('W')?, 7)
        };
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        number.parse::<u64>().ok()?.checked_mul(factor)
    });
    match parsed {
        Some(days) if days >= 1 => Ok(days),
        _ => Err(IcsError::new(
            prop.line,
            format!(
                "unsupported DURATION `{}`: an all-day holiday lasts whole days or weeks, \
                 PnD or PnW with n at least 1 (e.g. DURATION:P1D or DURATION:P2W); or give \
                 DTEND;VALUE=DATE:YYYYMMDD",
                shorten(prop.value.trim())
            ),
        )),
    }
}
