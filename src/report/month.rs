//! A calendar month (`2026-10`), and its bounds in a time zone.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate, TimeZone};
use chrono_tz::Tz;

/// A calendar month, independent of any zone until [`Month::bounds`] is
/// asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    /// 1..=12
    month: u32,
}

impl Month {
    /// `None` unless `month` is 1..=12 and the year is within 1970..=2100.
    pub fn new(year: i32, month: u32) -> Option<Self> {
        ((1970..=2100).contains(&year) && (1..=12).contains(&month)).then_some(Self { year, month })
    }

    pub fn year(self) -> i32 {
        self.year
    }

    /// 1..=12
    pub fn month(self) -> u32 {
        self.month
    }

    /// The month before.
    pub fn prev(self) -> Self {
        if self.month == 1 {
            Self {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Self {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// The month after.
    pub fn next(self) -> Self {
        if self.month == 12 {
            Self {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Self {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// The month containing instant `t` in `tz`.
    pub fn containing(t: i64, tz: Tz) -> Option<Self> {
        let local = chrono::DateTime::from_timestamp(t, 0)?.with_timezone(&tz);
        Self::new(local.year(), local.month())
    }

    /// The last month that had ended by instant `now` in `tz`: at 06:00 on
    /// November 1st that is October.
    pub fn last_full(now: i64, tz: Tz) -> Option<Self> {
        Self::containing(now, tz).map(Self::prev)
    }

    /// The first day.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or(NaiveDate::MIN)
    }

    /// The last day.
    pub fn last_day(self) -> NaiveDate {
        self.next().first_day().pred_opt().unwrap_or(NaiveDate::MIN)
    }

    /// `[start, end)`: local midnight of the 1st to local midnight of the
    /// next month's 1st, in `tz`.
    pub fn bounds(self, tz: Tz) -> (i64, i64) {
        (
            midnight(self.first_day(), tz),
            midnight(self.next().first_day(), tz),
        )
    }

    /// The first month of the quarter this month is in.
    pub fn quarter_start(self) -> Self {
        Self {
            year: self.year,
            month: (self.month - 1) / 3 * 3 + 1,
        }
    }

    /// Whether this is the last month of its quarter.
    pub fn ends_quarter(self) -> bool {
        self.month % 3 == 0
    }

    /// `Q4 2026`.
    pub fn quarter_label(self) -> String {
        format!("Q{} {}", (self.month - 1) / 3 + 1, self.year)
    }

    /// `October 2026`.
    pub fn long_name(self) -> String {
        const NAMES: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        format!("{} {}", NAMES[(self.month - 1) as usize], self.year)
    }
}

/// Local midnight of `date` in `tz` (the first instant of the day when
/// midnight itself is skipped by a DST jump).
fn midnight(date: NaiveDate, tz: Tz) -> i64 {
    let mut t = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    for _ in 0..4 {
        if let Some(x) = tz.from_local_datetime(&t).earliest() {
            return x.timestamp();
        }
        t += chrono::Duration::minutes(30);
    }
    t.and_utc().timestamp()
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Month {
    type Err = String;

    /// `YYYY-MM`.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("\"{s}\" is not a month; write YYYY-MM, such as 2026-10");
        let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        Self::new(year, month).ok_or_else(bad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{format_instant, parse_instant};

    #[test]
    fn parses_and_moves() {
        let m: Month = "2026-10".parse().unwrap();
        assert_eq!(m.to_string(), "2026-10");
        assert_eq!(m.prev().to_string(), "2026-09");
        assert_eq!(m.next().next().next().to_string(), "2027-01");
        assert_eq!(
            "2026-01".parse::<Month>().unwrap().prev().to_string(),
            "2025-12"
        );
        assert_eq!(m.quarter_start().to_string(), "2026-10");
        assert!("2026-12".parse::<Month>().unwrap().ends_quarter());
        assert!(!m.ends_quarter());
        assert_eq!(m.quarter_label(), "Q4 2026");
        assert_eq!(m.last_day().to_string(), "2026-10-31");
        for bad in ["2026-13", "2026-1", "26-10", "2026/10", "october"] {
            let e = bad.parse::<Month>().unwrap_err();
            assert!(e.contains("write YYYY-MM"), "{e}");
        }
    }

    #[test]
    fn bounds_are_local_midnights() {
        let m: Month = "2026-10".parse().unwrap();
        let (s, e) = m.bounds(chrono_tz::Europe::Berlin);
        // Berlin leaves summer time on 2026-10-25: +02:00 then +01:00.
        assert_eq!(format_instant(s), "2026-09-30T22:00:00Z");
        assert_eq!(format_instant(e), "2026-10-31T23:00:00Z");
        let t = parse_instant("2026-11-01T05:00:00Z").unwrap();
        assert_eq!(Month::last_full(t, chrono_tz::Europe::Berlin), Some(m));
        // 03:00Z on Nov 1st is still October in Los Angeles.
        let t = parse_instant("2026-11-01T03:00:00Z").unwrap();
        assert_eq!(
            Month::last_full(t, chrono_tz::America::Los_Angeles),
            Some(m.prev())
        );
    }
}
