//! Business-time arithmetic on a support calendar.
//!
//! Every SLA target in helpdesk-slo is measured on a calendar: an IANA time
//! zone, weekly opening windows in local wall-clock time, whole-day holidays
//! and partial-day closures. This module answers two questions, exactly and
//! fast, and nothing here does I/O or reads the clock.
//!
//! # The contract
//!
//! Instants are Unix seconds (UTC, second precision) within
//! [`MIN_INSTANT`]`..=`[`MAX_INSTANT`] (1970-01-01T00:00:00Z to
//! 2101-01-01T00:00:00Z, i.e. the years 1970 through 2100); anything else is
//! [`CalendarError::OutOfRange`], never a panic. `MAX_INSTANT` itself is the
//! exclusive end of the supported time: it may end a range, and no calendar
//! is open at it (so `next_close(MAX_INSTANT)` is `MAX_INSTANT`).
//!
//! * An instant is **open** when its local wall-clock time (date and time of
//!   day in the calendar's zone, with the zone's rules at that instant) falls
//!   in one of the windows of that local date, the date is not a holiday and
//!   the time is not in a closure of that date. So windows follow the zone's
//!   daylight-saving rules: a DST day has 23 or 25 real hours, a wall-clock
//!   time that does not exist (the spring-forward gap) is skipped, and a
//!   repeated hour (fall-back) counts twice, because both instants are real.
//! * [`Calendar::business_seconds`]`(a, b)`: the open seconds of `[a, b)`
//!   (zero when `b <= a`).
//! * [`Calendar::deadline`]`(a, n)`: the earliest instant `t >= a` with
//!   `business_seconds(a, t) == n`. `n == 0` gives `a` itself, even when the
//!   calendar is closed at `a`. For `n > 0` the deadline is an instant at
//!   which the last needed open second has *just* elapsed: a 30-minute target
//!   on a ticket created Friday 16:30 on an 08:00-17:00 calendar is due
//!   Friday 17:00 (not Monday 08:00), and a 1-hour one Monday 08:30.
//! * [`Calendar::is_open`], [`Calendar::next_open`] (the earliest open
//!   instant `>= t`) and [`Calendar::next_close`] (the earliest closed instant
//!   `>= t`).
//! * Adjacent windows are one open period: Sunday 16:00-24:00 followed by
//!   Monday 00:00-24:00 does not close at midnight.
//!
//! # Durations
//!
//! Targets in the config are business durations such as `45m`, `4h`,
//! `1h30m` or `2d` ([`BusinessDuration`]). A `d` is one business day of the
//! calendar, [`Calendar::day_length`]: set per calendar with `day_length`, by
//! default the most common daily open duration of its week (9h for Mon-Fri
//! 08:00-17:00, 24h for 24x7).
//!
//! # How it is fast
//!
//! Following zendesk/biz, business time is a set of integer intervals. Each
//! UTC year of a calendar is computed once, on first use, into its sorted open
//! intervals with cumulative business seconds (`table`); the tables are
//! shared by all threads. Both operations are then an indexed search over a
//! few hundred integers plus arithmetic (see `table`).

mod duration;
pub mod holidays;
pub mod spec;
mod table;
pub mod week;
mod zone;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone};
use chrono_tz::Tz;

pub use duration::{format_seconds, BusinessDuration};
use table::{year_start, YearTable};
pub use week::{DayWindow, WeeklyHours};

/// The supported instants (defined with instants, in [`crate::time`]).
pub use crate::time::{MAX_INSTANT, MIN_INSTANT};

// The last supported instant is where the year after the last one starts.
const _: () = assert!(MAX_INSTANT == year_start(LAST_YEAR + 1));

const FIRST_YEAR: i32 = 1970;
const LAST_YEAR: i32 = 2100;
const YEARS: usize = (LAST_YEAR - FIRST_YEAR + 1) as usize;

/// Why a calendar operation or definition failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("instant {} is outside the supported range 1970-01-01T00:00:00Z to 2101-01-01T00:00:00Z", describe_instant(*.0))]
    OutOfRange(i64),
    #[error("a business duration cannot be negative (got {0} seconds)")]
    NegativeDuration(i64),
    #[error("the deadline falls after the end of 2100, the last supported year")]
    DeadlineBeyondRange,
    #[error("calendar has no open hours in its week; give at least one window under `hours`")]
    NeverOpen,
    #[error("day_length must be between 1 second and 24h (got {0} seconds)")]
    BadDayLength(i64),
}

fn describe_instant(t: i64) -> String {
    DateTime::from_timestamp(t, 0).map_or_else(|| format!("{t} (Unix seconds)"), |d| d.to_rfc3339())
}

/// What a calendar is made of, resolved: no names or files left to look up.
#[derive(Debug, Clone)]
pub struct Rules {
    pub tz: Tz,
    pub weekly: WeeklyHours,
    /// Local dates on which the calendar is closed all day.
    pub holidays: BTreeSet<NaiveDate>,
    /// Local dates with closed windows (removed from that day's hours).
    pub closures: BTreeMap<NaiveDate, Vec<DayWindow>>,
}

/// A support calendar with precomputed, lazily built year tables.
///
/// Cheap to query from many threads at once (`Calendar: Send + Sync`); wrap
/// it in an `Arc` to share.
#[derive(Debug)]
pub struct Calendar {
    name: String,
    rules: Rules,
    day_length: i64,
    /// Open every second (24x7, no holidays or closures): every query is
    /// plain arithmetic, no table needed.
    always_open: bool,
    years: Box<[OnceLock<YearTable>]>,
}

impl Calendar {
    /// A calendar from resolved rules. `day_length` (seconds) defaults to the
    /// most common daily open duration of the week.
    pub fn new(
        name: impl Into<String>,
        rules: Rules,
        day_length: Option<i64>,
    ) -> Result<Self, CalendarError> {
        if rules.weekly.weekly_seconds() == 0 {
            return Err(CalendarError::NeverOpen);
        }
        let day_length =
            day_length.unwrap_or_else(|| i64::from(rules.weekly.typical_day_seconds()));
        if !(1..=86_400).contains(&day_length) {
            return Err(CalendarError::BadDayLength(day_length));
        }
        let always_open = rules.weekly == WeeklyHours::always()
            && rules.holidays.is_empty()
            && rules.closures.is_empty();
        Ok(Self {
            name: name.into(),
            rules,
            day_length,
            always_open,
            years: (0..YEARS).map(|_| OnceLock::new()).collect(),
        })
    }

    /// Open around the clock in UTC, no holidays.
    pub fn always(name: impl Into<String>) -> Self {
        let rules = Rules {
            tz: chrono_tz::UTC,
            weekly: WeeklyHours::always(),
            holidays: BTreeSet::new(),
            closures: BTreeMap::new(),
        };
        Self {
            name: name.into(),
            rules,
            day_length: 86_400,
            always_open: true,
            years: (0..YEARS).map(|_| OnceLock::new()).collect(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn timezone(&self) -> Tz {
        self.rules.tz
    }

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Seconds in one business day (`d` in durations).
    pub fn day_length(&self) -> i64 {
        self.day_length
    }

    /// A business duration in seconds on this calendar (`d` = [`Self::day_length`]).
    pub fn duration_seconds(&self, duration: BusinessDuration) -> i64 {
        duration.seconds_with_day(self.day_length)
    }

    #[inline]
    fn table(&self, index: usize) -> &YearTable {
        self.years[index].get_or_init(|| YearTable::build(&self.rules, FIRST_YEAR + index as i32))
    }

    /// The year table holding `t` (`MAX_INSTANT` belongs to the last year, as
    /// its end).
    #[inline]
    fn locate(t: i64) -> Result<usize, CalendarError> {
        if !(MIN_INSTANT..=MAX_INSTANT).contains(&t) {
            return Err(CalendarError::OutOfRange(t));
        }
        // An estimate from the mean Gregorian year is never off by more than
        // one year in 1970..=2100 (tested below), so one compare each way.
        let mut i = ((t / 31_556_952) as usize).min(YEARS - 1);
        if t < year_start(FIRST_YEAR + i as i32) {
            i -= 1;
        } else if i + 1 < YEARS && t >= year_start(FIRST_YEAR + i as i32 + 1) {
            i += 1;
        }
        Ok(i)
    }

    /// Open seconds in `[a, b)`; zero when `b <= a`.
    pub fn business_seconds(&self, a: i64, b: i64) -> Result<i64, CalendarError> {
        let ya = Self::locate(a)?;
        let yb = Self::locate(b)?;
        if b <= a {
            return Ok(0);
        }
        if self.always_open {
            return Ok(b - a);
        }
        if ya == yb {
            let t = self.table(ya);
            return Ok(t.cum_at(b) - t.cum_at(a));
        }
        let first = self.table(ya);
        let mut sum = first.total() - first.cum_at(a);
        for y in ya + 1..yb {
            sum += self.table(y).total();
        }
        Ok(sum + self.table(yb).cum_at(b))
    }

    /// The earliest instant `t >= a` with `business_seconds(a, t) == n`.
    pub fn deadline(&self, a: i64, n: i64) -> Result<i64, CalendarError> {
        let mut y = Self::locate(a)?;
        if n < 0 {
            return Err(CalendarError::NegativeDuration(n));
        }
        if n == 0 {
            return Ok(a);
        }
        if self.always_open {
            return if n <= MAX_INSTANT - a {
                Ok(a + n)
            } else {
                Err(CalendarError::DeadlineBeyondRange)
            };
        }
        let mut table = self.table(y);
        let mut target = table.cum_at(a).saturating_add(n);
        loop {
            let total = table.total();
            if target <= total {
                return Ok(table.instant_at(target));
            }
            target -= total;
            y += 1;
            if y >= YEARS {
                return Err(CalendarError::DeadlineBeyondRange);
            }
            table = self.table(y);
        }
    }

    /// Whether `t` is an open instant.
    pub fn is_open(&self, t: i64) -> Result<bool, CalendarError> {
        let y = Self::locate(t)?;
        if self.always_open {
            return Ok(t < MAX_INSTANT);
        }
        Ok(self.table(y).interval_at(t).is_some())
    }

    /// The earliest open instant `>= t`; `None` if the calendar never opens
    /// again before [`MAX_INSTANT`].
    pub fn next_open(&self, t: i64) -> Result<Option<i64>, CalendarError> {
        let mut y = Self::locate(t)?;
        let table = self.table(y);
        if table.interval_at(t).is_some() {
            return Ok(Some(t));
        }
        if let Some((start, _)) = table.interval_after(t) {
            return Ok(Some(start));
        }
        loop {
            y += 1;
            if y >= YEARS {
                return Ok(None);
            }
            if let Some((start, _)) = self.table(y).intervals().next() {
                return Ok(Some(start));
            }
        }
    }

    /// The earliest closed instant `>= t` (`t` itself when closed); `None` if
    /// the calendar stays open until [`MAX_INSTANT`].
    pub fn next_close(&self, t: i64) -> Result<Option<i64>, CalendarError> {
        let mut y = Self::locate(t)?;
        let Some((_, mut end)) = self.table(y).interval_at(t) else {
            return Ok(Some(t));
        };
        // An open period running over New Year is cut in two tables.
        loop {
            if end < self.table(y).end {
                return Ok(Some(end));
            }
            y += 1;
            if y >= YEARS {
                return Ok(None);
            }
            match self.table(y).interval_at(end) {
                Some((_, next_end)) => end = next_end,
                None => return Ok(Some(end)),
            }
        }
    }

    /// Whether the local date has any open time (not a holiday, has windows
    /// left after closures).
    pub fn is_business_day(&self, date: NaiveDate) -> bool {
        if self.rules.holidays.contains(&date) {
            return false;
        }
        let weekly = self.rules.weekly.on(date.weekday());
        match self.rules.closures.get(&date) {
            Some(closed) => !week::subtract(weekly, closed).is_empty(),
            None => !weekly.is_empty(),
        }
    }

    /// "N business days" read as a calendar rule: the same local clock time
    /// as `a` on the Nth business day after `a`'s local date, moved forward
    /// to the next open instant if that time is closed. (The other reading,
    /// `N × day_length` of business time, is `deadline`.) A wall-clock time
    /// that does not exist that day is taken an hour later; a repeated one at
    /// its first occurrence.
    pub fn add_business_days(&self, a: i64, n: u32) -> Result<i64, CalendarError> {
        Self::locate(a)?;
        let local = DateTime::from_timestamp(a, 0)
            .ok_or(CalendarError::OutOfRange(a))?
            .with_timezone(&self.rules.tz)
            .naive_local();
        let mut date = local.date();
        let mut found = 0;
        while found < n {
            date = date.succ_opt().ok_or(CalendarError::DeadlineBeyondRange)?;
            if date.year() > LAST_YEAR {
                return Err(CalendarError::DeadlineBeyondRange);
            }
            if self.is_business_day(date) {
                found += 1;
            }
        }
        let wall = date.and_time(local.time());
        let instant = self
            .rules
            .tz
            .from_local_datetime(&wall)
            .earliest()
            .or_else(|| {
                self.rules
                    .tz
                    .from_local_datetime(&(wall + chrono::Duration::hours(1)))
                    .earliest()
            })
            .ok_or(CalendarError::DeadlineBeyondRange)?
            .timestamp();
        if instant > MAX_INSTANT {
            return Err(CalendarError::DeadlineBeyondRange);
        }
        if self.is_open(instant)? {
            Ok(instant)
        } else {
            self.next_open(instant)?
                .ok_or(CalendarError::DeadlineBeyondRange)
        }
    }

    /// The open intervals overlapping `[from, to)`, clipped to it, with
    /// periods that run over New Year joined.
    pub fn open_intervals(&self, from: i64, to: i64) -> Result<Vec<(i64, i64)>, CalendarError> {
        let (ya, yb) = (Self::locate(from)?, Self::locate(to)?);
        let mut out: Vec<(i64, i64)> = Vec::new();
        for y in ya..=yb {
            for (s, e) in self.table(y).intervals() {
                let (s, e) = (s.max(from), e.min(to));
                if s >= e {
                    continue;
                }
                match out.last_mut() {
                    Some(last) if last.1 == s => last.1 = e,
                    _ => out.push((s, e)),
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
