//! Business-time arithmetic of the emulators' own SLA records (Zendesk's
//! metric events, Freshdesk's due times): a schedule's open hours, in its
//! zone, less its holidays, walked day by day. Independent of the SLA
//! engine's calendar on purpose, so comparing the two can find a
//! difference; plain and slow rather than clever.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

/// A schedule's open hours as UTC windows, day by day.
#[derive(Debug, Clone)]
pub struct Hours {
    tz: Tz,
    /// Open `[start, end)` minutes from Sunday 00:00 local.
    intervals: Vec<(u32, u32)>,
    /// Closed local days, `first..=last`.
    holidays: Vec<(NaiveDate, NaiveDate)>,
}

/// How long the search for a deadline looks ahead.
const MAX_DAYS: i64 = 3 * 366;

impl Hours {
    /// Open `intervals` (minutes from Sunday 00:00 local, `[start, end)`)
    /// in `tz`, closed on the `holidays` (local days, `first..=last`).
    pub fn new(tz: Tz, intervals: Vec<(u32, u32)>, holidays: Vec<(NaiveDate, NaiveDate)>) -> Self {
        Self {
            tz,
            intervals,
            holidays,
        }
    }

    fn utc(&self, local: NaiveDateTime) -> i64 {
        match self.tz.from_local_datetime(&local).earliest() {
            Some(t) => t.timestamp(),
            // A wall-clock time that does not exist (a DST gap): an hour on.
            None => self
                .tz
                .from_local_datetime(&(local + Duration::hours(1)))
                .earliest()
                .map_or_else(|| local.and_utc().timestamp(), |t| t.timestamp()),
        }
    }

    fn local_date(&self, t: i64) -> NaiveDate {
        chrono::DateTime::from_timestamp(t, 0)
            .map(|u| u.with_timezone(&self.tz).date_naive())
            .unwrap_or_default()
    }

    /// The open windows of a local day, in UTC, in order.
    fn windows(&self, day: NaiveDate) -> Vec<(i64, i64)> {
        if self.holidays.iter().any(|(a, b)| (*a..=*b).contains(&day)) {
            return Vec::new();
        }
        let lo = day.weekday().num_days_from_sunday() * 1440;
        let hi = lo + 1440;
        let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
        let mut out = Vec::new();
        for &(s, e) in &self.intervals {
            let (s, e) = (s.max(lo), e.min(hi));
            if s < e {
                let at = |m: u32| self.utc(midnight + Duration::minutes(i64::from(m - lo)));
                out.push((at(s), at(e)));
            }
        }
        out.sort_unstable();
        out
    }

    /// Open seconds in `[a, b)`.
    pub fn seconds(&self, a: i64, b: i64) -> i64 {
        if b <= a {
            return 0;
        }
        let mut day = self.local_date(a);
        let last = self.local_date(b);
        let mut total = 0;
        while day <= last {
            for (s, e) in self.windows(day) {
                total += (e.min(b) - s.max(a)).max(0);
            }
            day = day.succ_opt().unwrap_or(last + Duration::days(1));
        }
        total
    }

    /// The earliest instant with `secs` open seconds in `[a, it)`.
    pub fn add(&self, a: i64, secs: i64) -> Option<i64> {
        let mut left = secs;
        let mut day = self.local_date(a);
        for _ in 0..MAX_DAYS {
            for (s, e) in self.windows(day) {
                if e <= a {
                    continue;
                }
                let s = s.max(a);
                if left <= e - s {
                    return Some(s + left);
                }
                left -= e - s;
            }
            day = day.succ_opt()?;
        }
        None
    }
}

/// What an SLA target counts: calendar time, or a schedule's open hours.
#[derive(Debug, Clone, Copy)]
pub enum Clock<'a> {
    Calendar,
    Business(&'a Hours),
}

impl Clock<'_> {
    /// Seconds counted in `[a, b)`; zero when `b <= a`.
    pub fn seconds(&self, a: i64, b: i64) -> i64 {
        match self {
            Clock::Calendar => (b - a).max(0),
            Clock::Business(h) => h.seconds(a, b),
        }
    }

    /// When `secs` counted seconds have passed from `a`.
    pub fn add(&self, a: i64, secs: i64) -> Option<i64> {
        match self {
            Clock::Calendar => Some(a.saturating_add(secs)),
            Clock::Business(h) => h.add(a, secs),
        }
    }
}
