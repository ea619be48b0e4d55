//! VEVENTs: their properties collected into an event with its occurrences,
//! and the events of a text turned into closed dates.

use std::collections::{BTreeSet, HashMap};

use chrono::{Days, NaiveDate};

use super::lines::Property;
use super::rrule::{expand_yearly, parse_rrule, YearlyRule};
use super::values::{all_day_date, date_list, duration_days};
use super::IcsError;

/// The longest single event accepted, in days.
const MAX_EVENT_DAYS: u64 = 366;

/// The properties of one VEVENT as they are read, in any order.
pub(super) struct EventBuilder {
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
pub(super) struct Event {
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
    pub(super) fn new(begin_line: usize) -> Self {
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

    pub(super) fn add(&mut self, prop: &Property<'_>) -> Result<(), IcsError> {
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

    pub(super) fn finish(self) -> Result<Event, IcsError> {
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

/// Applies RECURRENCE-ID overrides and cancellations, and lists every closed day.
pub(super) fn closed_dates(mut events: Vec<Event>) -> Vec<NaiveDate> {
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
