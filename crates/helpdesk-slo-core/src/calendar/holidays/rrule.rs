//! Yearly recurrence rules: the RRULE subset read and its expansion into
//! occurrence dates.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate};

use super::lines::{shorten, Property};
use super::values::{is_date_time, parse_basic_date};
use super::IcsError;

/// Recurrences are generated up to this year at most.
const LAST_RECURRENCE_YEAR: i32 = 2100;

/// The supported part of an RRULE: yearly on DTSTART's own month and day.
#[derive(Debug, Clone, Copy)]
pub(super) struct YearlyRule {
    count: Option<u32>,
    until: Option<NaiveDate>,
    interval: u32,
    by_month: Option<u32>,
    by_month_day: Option<u32>,
}

pub(super) fn parse_rrule(prop: &Property<'_>) -> Result<YearlyRule, IcsError> {
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

/// Adds the yearly recurrences of an event starting on `start` to `starts`.
pub(super) fn expand_yearly(
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
