//! Whole-day closures for business-hours calendars: built-in holiday sets and a reader
//! for iCalendar holiday feeds.
//!
//! A calendar's `holidays:` list names the days on which the business is closed all day.
//! An entry is either the name of a built-in set ([`NAMED_SETS`], expanded by
//! [`named_set_dates`]) or an iCalendar file, whose text the caller reads and hands to
//! [`parse_ics`]. Partial-day closures are not holidays; they belong under `closures:`.
//!
//! Guarantees: the module is pure (no I/O, no clock, no environment), never panics on any
//! input, and every list of dates it returns is sorted ascending without duplicates.
//!
//! # Built-in set `us-federal`
//!
//! The legal public holidays of 5 U.S.C. 6103(a), on the days federal offices with a
//! Monday–Friday workweek close (5 U.S.C. 6103(b)): a holiday falling on a Saturday is
//! observed the Friday before, one falling on a Sunday the Monday after. The set holds
//! observed dates only, and an observed date belongs to the year it falls in: New Year's
//! Day 2028 (a Saturday) is observed on Friday 2027-12-31, which is in the 2027 set, and
//! the 2028 set has no day for it. The rules by year:
//!
//! | holiday | rule |
//! | --- | --- |
//! | New Year's Day | January 1 |
//! | Birthday of Martin Luther King, Jr. | third Monday of January, from 1986 |
//! | Washington's Birthday | third Monday of February from 1971; February 22 before |
//! | Memorial Day | last Monday of May from 1971; May 30 before |
//! | Juneteenth National Independence Day | June 19, from 2021 |
//! | Independence Day | July 4 |
//! | Labor Day | first Monday of September |
//! | Columbus Day | second Monday of October from 1971; October 12 before |
//! | Veterans Day | November 11, except 1971–1977: fourth Monday of October |
//! | Thanksgiving Day | fourth Thursday of November |
//! | Christmas Day | December 25 |
//!
//! The Saturday/Sunday rule is applied to every year alike. Not included: Inauguration Day
//! (a holiday only in the Washington, D.C. area) and one-off closures by executive order
//! (such as December 24, 2019 or December 26, 2024); list those in an iCalendar file.
//! The rules are meant for 1969..=2101; other years get the same rules without claim to
//! historical accuracy, and years chrono cannot represent yield no dates.
//!
//! Sources: 5 U.S.C. 6103; the Uniform Monday Holiday Act (Pub. L. 90-363, effective 1971);
//! Pub. L. 94-97 (Veterans Day back to November 11 from 1978); Pub. L. 98-144 (Martin
//! Luther King, Jr. Day, from 1986); Pub. L. 117-17 (Juneteenth, 2021); the U.S. Office of
//! Personnel Management's federal holiday tables, which list the observed dates.
//!
//! # iCalendar subset read by [`parse_ics`]
//!
//! Hand-written rather than taken from a crate: we need line-accurate errors and only the
//! all-day subset; the crates that parse iCalendar drop line numbers.
//!
//! The reader follows RFC 5545 for the part that holiday feeds (Google Calendar and
//! Outlook exports, government feeds) use, and rejects what it does not understand rather
//! than guess:
//!
//! - CRLF or LF line ends; a line starting with a space or tab continues the previous one
//!   (unfolding). Blank lines and a leading byte-order mark are skipped. An error's line
//!   number is the physical line where the offending logical line starts.
//! - Property and parameter names, component names and keywords are case-insensitive;
//!   parameters may be quoted (`X-NAME="a:b"`).
//! - `BEGIN`/`END` must nest and balance. Each top-level component must be a `VCALENDAR`
//!   (several in one text are allowed). `VEVENT`s directly inside a `VCALENDAR` are read;
//!   all other components (`VTIMEZONE`, `VTODO`, a `VALARM` inside a `VEVENT`, ...) are
//!   skipped with everything in them.
//! - A `VEVENT` needs an all-day `DTSTART` (`DTSTART;VALUE=DATE:20261224` or an 8-digit
//!   value). It lasts until `DTEND` (exclusive, all-day, after `DTSTART`), or for a
//!   `DURATION` of `PnD` or `PnW`, or one day if neither is given; at most 366 days.
//!   Every day in [start, end) of every occurrence is a closed date.
//! - `RRULE:FREQ=YEARLY` repeats the event on DTSTART's month and day, with optional
//!   `COUNT=n` or `UNTIL=YYYYMMDD[THHMMSS[Z]]` (inclusive), `INTERVAL=n` and `WKST`, and
//!   `BYMONTH`/`BYMONTHDAY` only where they repeat DTSTART's own month and day (as Outlook
//!   writes them). Other rules are errors. Occurrences are generated up to the year 2100
//!   at most; a February 29 start recurs in leap years only. DTSTART itself is always the
//!   first occurrence.
//! - `RDATE` (dates) adds occurrences; `EXDATE` (dates, or date-times whose date part is
//!   taken) removes them. An event with `UID` and `RECURRENCE-ID` replaces that occurrence
//!   of the recurring event with the same `UID`. `STATUS:CANCELLED` events close nothing.
//! - Other properties (`SUMMARY`, `TRANSP`, ...) are ignored.

use std::collections::{BTreeSet, HashMap};

use chrono::{Datelike, Days, NaiveDate, Weekday};

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

/// An error in an iCalendar text: the physical line where the offending (logical) line
/// starts, 1-based, and what is wrong and what would be valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct IcsError {
    pub line: usize,
    pub message: String,
}

impl IcsError {
    fn new(line: usize, message: impl Into<String>) -> Self {
        IcsError {
            line,
            message: message.into(),
        }
    }
}

/// Recurrences are generated up to this year at most.
const LAST_RECURRENCE_YEAR: i32 = 2100;

/// The longest single event accepted, in days.
const MAX_EVENT_DAYS: u64 = 366;

/// An iCalendar (RFC 5545) text's all-day VEVENTs as closed dates (sorted, deduplicated).
///
/// See the module docs for the subset read.
///
/// # Errors
///
/// [`IcsError`] for the first problem found, with the physical line number where the
/// offending logical line starts (for a VEVENT without DTSTART or an unclosed component,
/// its BEGIN line): a timed (non-all-day) event, a malformed date, DTEND not after DTSTART,
/// a VEVENT without DTSTART, unbalanced BEGIN/END, no VCALENDAR, an unsupported RRULE or
/// DURATION, a repeated single-valued property, or a malformed content line.
pub fn parse_ics(text: &str) -> Result<Vec<NaiveDate>, IcsError> {
    let mut stack: Vec<(String, usize)> = Vec::new();
    let mut saw_calendar = false;
    let mut current: Option<EventBuilder> = None;
    let mut events: Vec<Event> = Vec::new();

    for (line, content) in unfold(text)? {
        let prop = match parse_property(line, &content) {
            Ok(prop) => prop,
            Err(_) if stack.is_empty() && !saw_calendar => {
                return Err(IcsError::new(
                    line,
                    format!(
                        "expected BEGIN:VCALENDAR, found `{}`: an iCalendar file starts with \
                         BEGIN:VCALENDAR and ends with END:VCALENDAR",
                        shorten(&content)
                    ),
                ))
            }
            Err(error) => return Err(error),
        };
        match prop.name.as_str() {
            "BEGIN" => {
                let component = component_name(&prop)?;
                match (stack.len(), component.as_str()) {
                    (0, "VCALENDAR") => saw_calendar = true,
                    (0, _) => {
                        return Err(IcsError::new(
                            line,
                            format!(
                                "expected BEGIN:VCALENDAR, found BEGIN:{component}: an iCalendar \
                                 file wraps its events in BEGIN:VCALENDAR ... END:VCALENDAR"
                            ),
                        ))
                    }
                    (_, "VCALENDAR") => {
                        return Err(IcsError::new(
                            line,
                            format!(
                                "BEGIN:VCALENDAR inside {} (BEGIN on line {}): a VCALENDAR \
                                 cannot be nested; close the open one with END:{} first",
                                stack_top_name(&stack),
                                stack_top_line(&stack),
                                stack_top_name(&stack)
                            ),
                        ))
                    }
                    (1, "VEVENT") => current = Some(EventBuilder::new(line)),
                    _ => {}
                }
                stack.push((component, line));
            }
            "END" => {
                let component = component_name(&prop)?;
                match stack.pop() {
                    None => {
                        return Err(IcsError::new(
                            line,
                            format!(
                                "END:{component} without a matching BEGIN:{component} \
                                 (no component is open here)"
                            ),
                        ))
                    }
                    Some((open, open_line)) if open != component => {
                        return Err(IcsError::new(
                            line,
                            format!(
                                "END:{component} does not match BEGIN:{open} on line \
                                 {open_line}: expected END:{open}"
                            ),
                        ))
                    }
                    Some(_) => {
                        if component == "VEVENT" && stack.len() == 1 {
                            if let Some(builder) = current.take() {
                                events.push(builder.finish()?);
                            }
                        }
                    }
                }
            }
            name => {
                if stack.is_empty() {
                    let message = if saw_calendar {
                        format!(
                            "{name} outside of BEGIN:VCALENDAR ... END:VCALENDAR: every \
                             property belongs inside a VCALENDAR"
                        )
                    } else {
                        format!(
                            "expected BEGIN:VCALENDAR, found {name}: an iCalendar file starts \
                             with BEGIN:VCALENDAR and ends with END:VCALENDAR"
                        )
                    };
                    return Err(IcsError::new(line, message));
                }
                let in_event = stack.len() == 2 && stack_top_name(&stack) == "VEVENT";
                if let (true, Some(builder)) = (in_event, current.as_mut()) {
                    builder.add(&prop)?;
                }
            }
        }
    }

    if let Some((open, open_line)) = stack.last() {
        return Err(IcsError::new(
            *open_line,
            format!("BEGIN:{open} is never closed: expected END:{open} before the end of the text"),
        ));
    }
    if !saw_calendar {
        return Err(IcsError::new(
            1,
            "no BEGIN:VCALENDAR found, the text has no content lines: an iCalendar file \
             starts with BEGIN:VCALENDAR and ends with END:VCALENDAR",
        ));
    }

    Ok(closed_dates(events))
}

fn stack_top_name(stack: &[(String, usize)]) -> &str {
    stack.last().map_or("", |(name, _)| name.as_str())
}

fn stack_top_line(stack: &[(String, usize)]) -> usize {
    stack.last().map_or(0, |(_, line)| *line)
}

/// The component name of a BEGIN or END line, upper-cased.
fn component_name(prop: &Property<'_>) -> Result<String, IcsError> {
    let name = prop.value.trim();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(IcsError::new(
            prop.line,
            format!(
                "{}:{} does not name a component: expected e.g. {}:VCALENDAR or {}:VEVENT",
                prop.name,
                shorten(prop.value),
                prop.name,
                prop.name
            ),
        ));
    }
    Ok(name.to_ascii_uppercase())
}

/// Splits `text` into logical lines, each with the physical line number it starts on.
fn unfold(text: &str) -> Result<Vec<(usize, String)>, IcsError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines: Vec<(usize, String)> = Vec::new();
    // Whether the previous physical line was a content line that a folded line may continue.
    let mut can_continue = false;
    for (index, raw) in text.split('\n').enumerate() {
        let number = index + 1;
        let physical = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(rest) = physical
            .strip_prefix(' ')
            .or_else(|| physical.strip_prefix('\t'))
        {
            match lines.last_mut() {
                Some((_, logical)) if can_continue => logical.push_str(rest),
                _ => {
                    return Err(IcsError::new(
                        number,
                        "line starts with a space or tab, which marks a folded continuation, \
                         but there is no content line right before it to continue: remove the \
                         leading whitespace or join it to the line it belongs to",
                    ))
                }
            }
        } else if physical.trim().is_empty() {
            can_continue = false;
        } else {
            lines.push((number, physical.to_owned()));
            can_continue = true;
        }
    }
    Ok(lines)
}

/// One content line: `NAME *(;PARAM=VALUE) : VALUE`.
struct Property<'a> {
    line: usize,
    /// Upper-cased.
    name: String,
    /// Upper-cased parameter names with their values (several values joined by commas).
    params: Vec<(String, String)>,
    value: &'a str,
}

impl Property<'_> {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(param, _)| param == name)
            .map(|(_, value)| value.as_str())
    }
}

fn parse_property(line: usize, text: &str) -> Result<Property<'_>, IcsError> {
    let bad = |what: &str| {
        IcsError::new(
            line,
            format!(
                "{what} in `{}`: a content line is NAME:VALUE or NAME;PARAM=VALUE:VALUE, \
                 e.g. DTSTART;VALUE=DATE:20261224",
                shorten(text)
            ),
        )
    };
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || c == '-';

    let name_end = text.find(|c: char| !is_name_char(c)).unwrap_or(text.len());
    let name = &text[..name_end];
    if name.is_empty() {
        return Err(bad("no property name"));
    }
    let mut params = Vec::new();
    let mut rest = &text[name_end..];
    loop {
        if let Some(value) = rest.strip_prefix(':') {
            return Ok(Property {
                line,
                name: name.to_ascii_uppercase(),
                params,
                value,
            });
        }
        let Some(after) = rest.strip_prefix(';') else {
            return Err(if rest.is_empty() {
                bad("no `:` between the property name and its value")
            } else {
                bad("unexpected character after the property name")
            });
        };
        let param_end = after
            .find(|c: char| !is_name_char(c))
            .unwrap_or(after.len());
        let param_name = &after[..param_end];
        let Some(mut cursor) = after[param_end..].strip_prefix('=') else {
            return Err(bad("malformed parameter (expected ;NAME=VALUE)"));
        };
        if param_name.is_empty() {
            return Err(bad("malformed parameter (expected ;NAME=VALUE)"));
        }
        let mut values = Vec::new();
        loop {
            if let Some(quoted) = cursor.strip_prefix('"') {
                let Some(close) = quoted.find('"') else {
                    return Err(bad("unterminated quoted parameter value"));
                };
                values.push(&quoted[..close]);
                cursor = &quoted[close + 1..];
            } else {
                let end = cursor.find([',', ';', ':']).unwrap_or(cursor.len());
                values.push(&cursor[..end]);
                cursor = &cursor[end..];
            }
            match cursor.strip_prefix(',') {
                Some(next) => cursor = next,
                None => break,
            }
        }
        params.push((param_name.to_ascii_uppercase(), values.join(",")));
        rest = cursor;
    }
}

/// Shortens a value for quoting in an error message.
fn shorten(text: &str) -> String {
    const MAX_CHARS: usize = 60;
    if text.chars().count() <= MAX_CHARS {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(MAX_CHARS).collect();
        short.push_str("...");
        short
    }
}

enum DateError {
    Malformed,
    NotACalendarDate,
}

/// Parses a basic-format date `YYYYMMDD`.
fn parse_basic_date(text: &str) -> Result<NaiveDate, DateError> {
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
fn is_date_time(text: &str) -> bool {
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
fn all_day_date(prop: &Property<'_>) -> Result<NaiveDate, IcsError> {
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
fn date_list(prop: &Property<'_>, date_part_of_times: bool) -> Result<Vec<NaiveDate>, IcsError> {
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
fn duration_days(prop: &Property<'_>) -> Result<u64, IcsError> {
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

/// The supported part of an RRULE: yearly on DTSTART's own month and day.
#[derive(Debug, Clone, Copy)]
struct YearlyRule {
    count: Option<u32>,
    until: Option<NaiveDate>,
    interval: u32,
    by_month: Option<u32>,
    by_month_day: Option<u32>,
}

fn parse_rrule(prop: &Property<'_>) -> Result<YearlyRule, IcsError> {
    let unsupported = |what: &str| {
        IcsError::new(
            prop.line,
            format!(
                "unsupported RRULE ({what}): only yearly repetition on DTSTART's own date is \
                 supported, RRULE:FREQ=YEARLY with optional COUNT=n or UNTIL=YYYYMMDD (e.g. \
                 RRULE:FREQ=YEARLY;COUNT=10); give holidays with moving dates, such as the \
                 fourth Thursday of November, one event per year"
            ),
        )
    };
    let positive = |key: &str, value: &str| {
        value
            .parse::<u32>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| {
                IcsError::new(
                    prop.line,
                    format!(
                        "RRULE {key}={} is not valid: expected a whole number of at least 1, \
                         e.g. RRULE:FREQ=YEARLY;{key}=5",
                        shorten(value)
                    ),
                )
            })
    };

    let mut rule = YearlyRule {
        count: None,
        until: None,
        interval: 1,
        by_month: None,
        by_month_day: None,
    };
    let mut freq: Option<String> = None;
    let mut seen: Vec<String> = Vec::new();
    for part in prop.value.trim().split(';').filter(|part| !part.is_empty()) {
        let Some((key, value)) = part.split_once('=') else {
            return Err(unsupported(&format!(
                "`{}` is not KEY=VALUE",
                shorten(part)
            )));
        };
        let key = key.trim().to_ascii_uppercase();
        let value = value.trim();
        if seen.contains(&key) {
            return Err(IcsError::new(
                prop.line,
                format!("RRULE has {key} twice: give each rule part once"),
            ));
        }
        seen.push(key.clone());
        match key.as_str() {
            "FREQ" => freq = Some(value.to_ascii_uppercase()),
            "COUNT" => rule.count = Some(positive("COUNT", value)?),
            "INTERVAL" => rule.interval = positive("INTERVAL", value)?,
            "UNTIL" => {
                let date_part = if is_date_time(value) {
                    value.get(..8).unwrap_or(value)
                } else {
                    value
                };
                rule.until = Some(parse_basic_date(date_part).map_err(|_| {
                    IcsError::new(
                        prop.line,
                        format!(
                            "RRULE UNTIL={} is not a date: expected UNTIL=YYYYMMDD or \
                             UNTIL=YYYYMMDDTHHMMSSZ, e.g. UNTIL=20301231",
                            shorten(value)
                        ),
                    )
                })?);
            }
            "WKST" => {
                if !["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
                    .contains(&value.to_ascii_uppercase().as_str())
                {
                    return Err(IcsError::new(
                        prop.line,
                        format!(
                            "RRULE WKST={} is not a weekday: expected one of MO, TU, WE, TH, \
                             FR, SA, SU",
                            shorten(value)
                        ),
                    ));
                }
            }
            "BYMONTH" => {
                rule.by_month = Some(
                    value
                        .parse::<u32>()
                        .ok()
                        .filter(|m| (1..=12).contains(m))
                        .ok_or_else(|| unsupported(&format!("BYMONTH={}", shorten(value))))?,
                );
            }
            "BYMONTHDAY" => {
                rule.by_month_day = Some(
                    value
                        .parse::<u32>()
                        .ok()
                        .filter(|d| (1..=31).contains(d))
                        .ok_or_else(|| unsupported(&format!("BYMONTHDAY={}", shorten(value))))?,
                );
            }
            _ => return Err(unsupported(&format!("{key}={}", shorten(value)))),
        }
    }
    match freq.as_deref() {
        Some("YEARLY") => {}
        Some(other) => return Err(unsupported(&format!("FREQ={}", shorten(other)))),
        None => return Err(unsupported("no FREQ")),
    }
    if rule.count.is_some() && rule.until.is_some() {
        return Err(IcsError::new(
            prop.line,
            "RRULE has both COUNT and UNTIL, which RFC 5545 forbids: give one of them, e.g. \
             RRULE:FREQ=YEARLY;COUNT=10 or RRULE:FREQ=YEARLY;UNTIL=20301231",
        ));
    }
    Ok(rule)
}

/// The properties of one VEVENT as they are read, in any order.
struct EventBuilder {
    begin_line: usize,
    dtstart: Option<(NaiveDate, usize)>,
    dtend: Option<(NaiveDate, usize)>,
    duration: Option<(u64, usize)>,
    rrule: Option<(YearlyRule, usize)>,
    rdates: Vec<NaiveDate>,
    exdates: Vec<NaiveDate>,
    uid: Option<(String, usize)>,
    recurrence_id: Option<(NaiveDate, usize)>,
    cancelled: bool,
}

/// A finished VEVENT: its occurrences' start dates and how many days each lasts.
struct Event {
    uid: Option<String>,
    recurrence_id: Option<NaiveDate>,
    cancelled: bool,
    starts: BTreeSet<NaiveDate>,
    days: u64,
}

/// Stores `value` in an at-most-once slot, or reports the repeated property.
fn set_once<T>(
    slot: &mut Option<(T, usize)>,
    value: T,
    prop: &Property<'_>,
) -> Result<(), IcsError> {
    if let Some((_, first_line)) = slot {
        return Err(IcsError::new(
            prop.line,
            format!(
                "second {} in this VEVENT (the first is on line {first_line}): give it once",
                prop.name
            ),
        ));
    }
    *slot = Some((value, prop.line));
    Ok(())
}

impl EventBuilder {
    fn new(begin_line: usize) -> Self {
        EventBuilder {
            begin_line,
            dtstart: None,
            dtend: None,
            duration: None,
            rrule: None,
            rdates: Vec::new(),
            exdates: Vec::new(),
            uid: None,
            recurrence_id: None,
            cancelled: false,
        }
    }

    fn add(&mut self, prop: &Property<'_>) -> Result<(), IcsError> {
        match prop.name.as_str() {
            "DTSTART" => set_once(&mut self.dtstart, all_day_date(prop)?, prop),
            "DTEND" => set_once(&mut self.dtend, all_day_date(prop)?, prop),
            "DURATION" => set_once(&mut self.duration, duration_days(prop)?, prop),
            "RRULE" => set_once(&mut self.rrule, parse_rrule(prop)?, prop),
            "UID" => set_once(&mut self.uid, prop.value.trim().to_owned(), prop),
            "RECURRENCE-ID" => {
                let dates = date_list(prop, true)?;
                match dates.as_slice() {
                    [date] => set_once(&mut self.recurrence_id, *date, prop),
                    _ => Err(IcsError::new(
                        prop.line,
                        "RECURRENCE-ID takes exactly one date, e.g. \
                         RECURRENCE-ID;VALUE=DATE:20261225",
                    )),
                }
            }
            "RDATE" => {
                self.rdates.extend(date_list(prop, false)?);
                Ok(())
            }
            "EXDATE" => {
                self.exdates.extend(date_list(prop, true)?);
                Ok(())
            }
            "STATUS" => {
                self.cancelled = prop.value.trim().eq_ignore_ascii_case("CANCELLED");
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn finish(self) -> Result<Event, IcsError> {
        let Some((start, _)) = self.dtstart else {
            return Err(IcsError::new(
                self.begin_line,
                "VEVENT has no DTSTART: every holiday event needs its all-day date, e.g. \
                 DTSTART;VALUE=DATE:20261224",
            ));
        };
        let (days, length_line) = match (self.dtend, self.duration) {
            (Some((_, end_line)), Some((_, duration_line))) => {
                return Err(IcsError::new(
                    end_line.max(duration_line),
                    format!(
                        "VEVENT has both DTEND (line {end_line}) and DURATION (line \
                         {duration_line}): give only one of them"
                    ),
                ))
            }
            (Some((end, end_line)), None) => {
                let days = (end - start).num_days();
                if days < 1 {
                    return Err(IcsError::new(
                        end_line,
                        format!(
                            "DTEND {} is not after DTSTART {}: DTEND is exclusive, so a \
                             one-day holiday on {} has DTEND;VALUE=DATE:{} (or no DTEND)",
                            end.format("%Y%m%d"),
                            start.format("%Y%m%d"),
                            start.format("%Y%m%d"),
                            start
                                .succ_opt()
                                .map_or_else(String::new, |next| next.format("%Y%m%d").to_string())
                        ),
                    ));
                }
                (u64::try_from(days).unwrap_or(u64::MAX), end_line)
            }
            (None, Some((days, duration_line))) => (days, duration_line),
            (None, None) => (1, self.begin_line),
        };
        if days > MAX_EVENT_DAYS {
            return Err(IcsError::new(
                length_line,
                format!(
                    "event lasts {days} days: a holiday event may last at most \
                     {MAX_EVENT_DAYS} days; split longer closures into several events"
                ),
            ));
        }

        let mut starts = BTreeSet::from([start]);
        if let Some((rule, rule_line)) = self.rrule {
            expand_yearly(start, &rule, rule_line, &mut starts)?;
        }
        starts.extend(self.rdates);
        for exdate in &self.exdates {
            starts.remove(exdate);
        }
        Ok(Event {
            uid: self.uid.map(|(uid, _)| uid),
            recurrence_id: self.recurrence_id.map(|(date, _)| date),
            cancelled: self.cancelled,
            starts,
            days,
        })
    }
}

/// Adds the yearly recurrences of an event starting on `start` to `starts`.
fn expand_yearly(
    start: NaiveDate,
    rule: &YearlyRule,
    rule_line: usize,
    starts: &mut BTreeSet<NaiveDate>,
) -> Result<(), IcsError> {
    let date_text = start.format("%Y%m%d");
    if rule.by_month.is_some_and(|month| month != start.month()) {
        return Err(IcsError::new(
            rule_line,
            format!(
                "unsupported RRULE: BYMONTH differs from the month of DTSTART {date_text}; only \
                 yearly repetition on DTSTART's own date is supported, e.g. RRULE:FREQ=YEARLY"
            ),
        ));
    }
    if rule.by_month_day.is_some_and(|day| day != start.day()) {
        return Err(IcsError::new(
            rule_line,
            format!(
                "unsupported RRULE: BYMONTHDAY differs from the day of DTSTART {date_text}; only \
                 yearly repetition on DTSTART's own date is supported, e.g. RRULE:FREQ=YEARLY"
            ),
        ));
    }
    if let Some(until) = rule.until {
        if until < start {
            return Err(IcsError::new(
                rule_line,
                format!(
                    "RRULE UNTIL={} is before DTSTART {date_text}: UNTIL is the last day an \
                     occurrence may start on",
                    until.format("%Y%m%d")
                ),
            ));
        }
    }
    // DTSTART is the first occurrence and counts towards COUNT.
    let mut produced: u32 = 1;
    let mut year = i64::from(start.year());
    loop {
        if rule.count.is_some_and(|count| produced >= count) {
            break;
        }
        year += i64::from(rule.interval);
        if year > i64::from(LAST_RECURRENCE_YEAR) {
            break;
        }
        let Ok(year) = i32::try_from(year) else {
            break;
        };
        // February 29 recurs in leap years only; skipped years do not count.
        let Some(date) = NaiveDate::from_ymd_opt(year, start.month(), start.day()) else {
            continue;
        };
        if rule.until.is_some_and(|until| date > until) {
            break;
        }
        starts.insert(date);
        produced = produced.saturating_add(1);
    }
    Ok(())
}

/// Applies RECURRENCE-ID overrides and cancellations, and lists every closed day.
fn closed_dates(mut events: Vec<Event>) -> Vec<NaiveDate> {
    let mut overridden: HashMap<String, BTreeSet<NaiveDate>> = HashMap::new();
    for event in &events {
        if let (Some(uid), Some(date)) = (&event.uid, event.recurrence_id) {
            overridden.entry(uid.clone()).or_default().insert(date);
        }
    }
    for event in &mut events {
        if event.recurrence_id.is_some() {
            continue;
        }
        if let Some(replaced) = event.uid.as_ref().and_then(|uid| overridden.get(uid)) {
            event.starts.retain(|date| !replaced.contains(date));
        }
    }
    let mut dates = BTreeSet::new();
    for event in events.iter().filter(|event| !event.cancelled) {
        for start in &event.starts {
            for offset in 0..event.days {
                if let Some(date) = start.checked_add_days(Days::new(offset)) {
                    dates.insert(date);
                }
            }
        }
    }
    dates.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let interval = ics(
            "BEGIN:VEVENT\nDTSTART:20261225\nRRULE:FREQ=YEARLY;INTERVAL=2;COUNT=3\nEND:VEVENT\n",
        );
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
        let with_tzid =
            ics("BEGIN:VEVENT\nDTSTART;TZID=Europe/Berlin:20261224T130000\nEND:VEVENT\n");
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
        let same = ics(
            "BEGIN:VEVENT\nDTSTART;VALUE=DATE:20261224\nDTEND;VALUE=DATE:20261224\nEND:VEVENT\n",
        );
        let error = err(&same);
        assert_eq!(error.line, 6);
        assert!(error.message.contains("not after DTSTART"), "{error}");
        assert!(
            error.message.contains("DTEND;VALUE=DATE:20261225"),
            "{error}"
        );
        let before = ics(
            "BEGIN:VEVENT\nDTEND;VALUE=DATE:20261220\nDTSTART;VALUE=DATE:20261224\nEND:VEVENT\n",
        );
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
        let by_day = ics(
            "BEGIN:VEVENT\nDTSTART:20261126\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=4TH\nEND:VEVENT\n",
        );
        let error = err(&by_day);
        assert_eq!(error.line, 6);
        assert!(error.message.contains("BYDAY=4TH"), "{error}");
        let other_month =
            ics("BEGIN:VEVENT\nDTSTART:20261126\nRRULE:FREQ=YEARLY;BYMONTH=12\nEND:VEVENT\n");
        assert_eq!(err(&other_month).line, 6);
        let both = ics("BEGIN:VEVENT\nDTSTART:20261224\nRRULE:FREQ=YEARLY;COUNT=2;UNTIL=20301224\nEND:VEVENT\n");
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
        let both =
            ics("BEGIN:VEVENT\nDTSTART:20261224\nDTEND:20261225\nDURATION:P1D\nEND:VEVENT\n");
        let error = err(&both);
        assert_eq!(error.line, 7);
        assert!(error.message.contains("only one"), "{error}");
        let twice = ics("BEGIN:VEVENT\nDTSTART:20261224\nDTSTART:20261225\nEND:VEVENT\n");
        let error = err(&twice);
        assert_eq!(error.line, 6);
        assert!(error.message.contains("first is on line 5"), "{error}");
        let too_long = ics("BEGIN:VEVENT\nDTSTART:20260101\nDURATION:P100W\nEND:VEVENT\n");
        assert!(err(&too_long).message.contains("at most 366 days"));
        let huge =
            ics("BEGIN:VEVENT\nDTSTART:20260101\nDURATION:P99999999999999999999D\nEND:VEVENT\n");
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
}
