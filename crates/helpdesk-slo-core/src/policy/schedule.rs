//! When scheduled work runs: a standard 5-field cron expression read in a
//! time zone (`reports: { schedule: "0 6 1 * *", timezone: Europe/Berlin }`
//! is 06:00 Berlin time on the 1st of every month).
//!
//! The expression is the one users know from crontab: `minute hour
//! day-of-month month day-of-week`, with `*`, lists (`1,15`), ranges
//! (`1-5`), steps (`*/15`) and names (`jan`, `mon`); day-of-week runs 0-7
//! with 0 and 7 both Sunday. The shorthands `@yearly`, `@monthly`, `@weekly`,
//! `@daily` and `@hourly` are accepted too. Seconds and years (the 6- and
//! 7-field forms some libraries use) are not: a schedule fires on a whole
//! minute.
//!
//! Guarantees: a schedule that parses has at least one future run;
//! [`Schedule::next_run`] is pure (no clock reads) and answers in local
//! wall-clock time, so "06:00" stays 06:00 across daylight-saving changes (a
//! local time skipped by a DST jump does not run that day; a repeated one
//! runs once). Restricting both day-of-month and day-of-week is refused:
//! crontab runs when *either* matches, the underlying library when *both*
//! do, and a report schedule should not depend on which reading applies.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The validated `reports:` section of a config.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportSettings {
    /// When the daemon writes the last full month's report; `None`: only on
    /// demand.
    pub schedule: Option<Schedule>,
    /// The zone in which "the month" and the schedule are read (default
    /// UTC).
    pub timezone: Tz,
    /// Where reports are written, resolved against the config file's folder.
    pub out: Option<std::path::PathBuf>,
    /// Organizations (id or name) that get a report of their own beside the
    /// whole one.
    pub customers: Vec<String>,
}

/// A parsed cron expression and the zone its times are read in.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The expression as written.
    expression: String,
    cron: cron::Schedule,
    tz: Tz,
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.expression == other.expression && self.tz == other.tz
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\" {}", self.expression, self.tz.name())
    }
}

const SHORTHANDS: &[&str] = &[
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@hourly",
];

/// Standard day-of-week numbers (0-7, Sunday 0 and 7) as the names the
/// library reads (it numbers Sunday 1).
fn day_name(n: u32) -> Option<&'static str> {
    ["sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .get(n as usize)
        .copied()
}

/// Rewrites a day-of-week field from crontab numbering to names.
fn translate_days(field: &str) -> Result<String, String> {
    let bad = |part: &str| {
        format!(
            "day-of-week \"{part}\" is not valid; use 0-7 (0 and 7 are Sunday), names such as mon or mon-fri, or *"
        )
    };
    let mut out = Vec::new();
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (part, None),
        };
        let num = |s: &str| -> Result<Option<u32>, String> {
            if s.chars().all(|c| c.is_ascii_digit()) && !s.is_empty() {
                let n: u32 = s.parse().map_err(|_| bad(part))?;
                if n > 7 {
                    return Err(bad(part));
                }
                Ok(Some(n))
            } else {
                Ok(None)
            }
        };
        let name = |s: &str| -> Result<String, String> {
            match num(s)? {
                Some(n) => day_name(n).map(str::to_string).ok_or_else(|| bad(part)),
                None => Ok(s.to_string()),
            }
        };
        let translated = match range.split_once('-') {
            // `5-7` ends on Sunday: the library's week starts on Sunday, so
            // split it into `fri-sat,sun`.
            Some((a, b)) if num(b)? == Some(7) && num(a)?.is_some_and(|a| a > 0) => {
                if step.is_some() {
                    return Err(bad(part));
                }
                let a = name(a)?;
                out.push(format!("{a}-sat"));
                "sun".to_string()
            }
            Some((a, b)) => format!("{}-{}", name(a)?, name(b)?),
            None => name(range)?,
        };
        out.push(match step {
            Some(s) => format!("{translated}/{s}"),
            None => translated,
        });
    }
    Ok(out.join(","))
}

impl Schedule {
    /// Parses a 5-field cron expression (or a shorthand such as `@monthly`)
    /// read in `tz`.
    pub fn parse(expression: &str, tz: Tz) -> Result<Self, String> {
        let text = expression.trim();
        let library_form = if SHORTHANDS.contains(&text.to_ascii_lowercase().as_str()) {
            text.to_ascii_lowercase()
        } else {
            let fields: Vec<&str> = text.split_whitespace().collect();
            if text.starts_with('@') {
                return Err(format!(
                    "schedule \"{expression}\" is not a shorthand this build knows; write one of {}, or the 5 fields of crontab such as \"0 6 1 * *\" (06:00 on the 1st)",
                    SHORTHANDS.join(", ")
                ));
            }
            if fields.len() != 5 {
                return Err(format!(
                    "schedule \"{expression}\" has {} fields; write the 5 fields of crontab: minute hour day-of-month month day-of-week, such as \"0 6 1 * *\" (06:00 on the 1st), or @monthly",
                    fields.len()
                ));
            }
            let restricted = |f: &str| f != "*" && f != "?";
            if restricted(fields[2]) && restricted(fields[4]) {
                return Err(format!(
                    "schedule \"{expression}\" restricts both day-of-month and day-of-week; give one and write * for the other"
                ));
            }
            let days = translate_days(fields[4])?;
            format!(
                "0 {} {} {} {} {}",
                fields[0], fields[1], fields[2], fields[3], days
            )
        };
        let cron = cron::Schedule::from_str(&library_form).map_err(|e| {
            format!(
                "schedule \"{expression}\" is not a cron expression ({e}); write minute hour day-of-month month day-of-week, such as \"0 6 1 * *\""
            )
        })?;
        let schedule = Self {
            expression: text.to_string(),
            cron,
            tz,
        };
        // "0 0 31 2 *" parses but never runs.
        if schedule.next_run(0).is_none() {
            return Err(format!("schedule \"{expression}\" never runs"));
        }
        Ok(schedule)
    }

    /// The first run strictly after `after_unix` (Unix seconds), or `None`
    /// if there is none before the end of 2100.
    pub fn next_run(&self, after_unix: i64) -> Option<i64> {
        let after: DateTime<Tz> = Utc
            .timestamp_opt(after_unix, 0)
            .single()?
            .with_timezone(&self.tz);
        let next = self.cron.after(&after).next()?.timestamp();
        (next <= crate::calendar::MAX_INSTANT).then_some(next)
    }

    /// The expression as written.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The zone its times are read in.
    pub fn timezone(&self) -> Tz {
        self.tz
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{format_instant, parse_instant};

    fn next(expr: &str, tz: &str, after: &str) -> String {
        let s = Schedule::parse(expr, tz.parse().unwrap()).unwrap();
        format_instant(s.next_run(parse_instant(after).unwrap()).unwrap())
    }

    #[test]
    fn monthly_in_berlin_follows_daylight_saving() {
        // 06:00 Berlin is 04:00Z in summer time, 05:00Z in winter time.
        assert_eq!(
            next("0 6 1 * *", "Europe/Berlin", "2026-09-15T00:00:00Z"),
            "2026-10-01T04:00:00Z"
        );
        assert_eq!(
            next("0 6 1 * *", "Europe/Berlin", "2026-10-01T04:00:00Z"),
            "2026-11-01T05:00:00Z"
        );
        assert_eq!(
            next("@monthly", "UTC", "2026-10-01T00:00:00Z"),
            "2026-11-01T00:00:00Z"
        );
    }

    #[test]
    fn day_of_week_uses_crontab_numbering() {
        // 2026-11-22 is a Sunday.
        assert_eq!(
            next("30 7 * * 1", "UTC", "2026-11-22T00:00:00Z"),
            "2026-11-23T07:30:00Z"
        );
        assert_eq!(
            next("0 9 * * 0", "UTC", "2026-11-21T00:00:00Z"),
            "2026-11-22T09:00:00Z"
        );
        assert_eq!(
            next("0 9 * * 7", "UTC", "2026-11-21T00:00:00Z"),
            "2026-11-22T09:00:00Z"
        );
        assert_eq!(
            next("0 9 * * 6-7", "UTC", "2026-11-22T10:00:00Z"),
            "2026-11-28T09:00:00Z"
        );
        assert_eq!(
            next("0 9 * * 1-5", "UTC", "2026-11-21T00:00:00Z"),
            "2026-11-23T09:00:00Z"
        );
    }

    #[test]
    fn the_reports_section_loads_with_its_zone_and_folder() {
        let cfg = crate::policy::Config::from_yaml(
            "calendars: { biz: { timezone: UTC, hours: 24x7 } }\nreports:\n  schedule: \"0 6 1 * *\"\n  timezone: Europe/Berlin\n  out: reports\n  customers: [Acme, \"900\"]\n",
            std::path::Path::new("conf/helpdesk.yaml"),
        )
        .unwrap();
        let r = cfg.reports.unwrap();
        assert_eq!(r.timezone, chrono_tz::Europe::Berlin);
        assert_eq!(r.out, Some(std::path::PathBuf::from("conf/reports")));
        assert_eq!(r.customers, vec!["Acme".to_string(), "900".to_string()]);
        let s = r.schedule.unwrap();
        assert_eq!(s.timezone(), chrono_tz::Europe::Berlin);
        assert_eq!(
            s.next_run(parse_instant("2026-10-31T00:00:00Z").unwrap()),
            Some(parse_instant("2026-11-01T05:00:00Z").unwrap())
        );
        let none = crate::policy::Config::from_yaml(
            "calendars: { biz: { timezone: UTC, hours: 24x7 } }\n",
            std::path::Path::new("x.yaml"),
        )
        .unwrap();
        assert!(none.reports.is_none());
    }

    #[test]
    fn bad_expressions_say_what_is_valid() {
        let utc = chrono_tz::UTC;
        let e = Schedule::parse("0 0 6 1 * *", utc).unwrap_err();
        assert!(e.contains("has 6 fields"), "{e}");
        let e = Schedule::parse("0 6 1 * mon", utc).unwrap_err();
        assert!(e.contains("both day-of-month and day-of-week"), "{e}");
        let e = Schedule::parse("0 25 1 * *", utc).unwrap_err();
        assert!(e.contains("is not a cron expression"), "{e}");
        let e = Schedule::parse("0 6 * * 8", utc).unwrap_err();
        assert!(e.contains("day-of-week \"8\""), "{e}");
        let e = Schedule::parse("0 0 31 2 *", utc).unwrap_err();
        assert!(e.contains("never runs"), "{e}");
    }
}
