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

mod events;
mod ics;
mod lines;
mod named;
mod rrule;
mod values;

pub use ics::{parse_ics, IcsError};
pub use named::{named_set_dates, NAMED_SETS};

#[cfg(test)]
mod tests;
