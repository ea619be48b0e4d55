//! The YAML form of a calendar (an entry under `calendars:` in the config).
//!
//! ```yaml
//! us-pacific-business:
//!   timezone: America/Los_Angeles          # any IANA zone
//!   hours:                                 # local wall-clock windows
//!     mon-fri: ["08:00-17:00"]             # day keys: mon..sun, ranges, lists, daily
//!     sat: ["10:00-12:00", "13:00-14:00"]  # several windows a day
//!   holidays:                              # whole local days closed
//!     - us-federal                         # a built-in set
//!     - 2026-12-24                         # a date
//!     - file: holidays.ics                 # all-day events of an iCalendar file
//!   closures:                              # partial-day closures
//!     - { date: 2026-12-31, hours: "12:00-17:00" }
//!   day_length: 9h                         # what `1d` means; optional
//! always: { timezone: UTC, hours: 24x7 }
//! ```
//!
//! Every value is checked while it is read, so a mistake is reported with the
//! line, column and key it sits at (unknown keys are errors too). Files named
//! here are read by the policy loader, which resolves a spec into
//! [`super::Rules`].

use std::fmt;
use std::path::PathBuf;

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::de::parse_str;

use super::duration::BusinessDuration;
use super::holidays::NAMED_SETS;
use super::week::{parse_days, parse_window, DayWindow, WeeklyHours, WrittenWindow};

/// One calendar as written in the config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarSpec {
    pub timezone: Zone,
    pub hours: HoursSpec,
    #[serde(default)]
    pub holidays: Vec<HolidaySpec>,
    #[serde(default)]
    pub closures: Vec<ClosureSpec>,
    /// What one `d` is on this calendar; clock units only (`9h`, `7h30m`).
    #[serde(default)]
    pub day_length: Option<DayLength>,
}

/// An IANA time zone, checked when read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone(pub Tz);

/// Common abbreviations people write for a zone, with the IANA name to use.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("PST", "America/Los_Angeles"),
    ("PDT", "America/Los_Angeles"),
    ("PT", "America/Los_Angeles"),
    ("PACIFIC", "America/Los_Angeles"),
    ("MST", "America/Denver"),
    ("MT", "America/Denver"),
    ("CST", "America/Chicago"),
    ("CT", "America/Chicago"),
    ("EST", "America/New_York"),
    ("EDT", "America/New_York"),
    ("ET", "America/New_York"),
    ("EASTERN", "America/New_York"),
    ("BST", "Europe/London"),
    ("CET", "Europe/Berlin"),
    ("IST", "Asia/Kolkata"),
    ("AEST", "Australia/Sydney"),
    ("AEDT", "Australia/Sydney"),
    ("CAT", "Africa/Maputo"),
];

fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '_' | ' ' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Parses an IANA zone name; the error suggests the likely intended name.
pub fn parse_zone(name: &str) -> Result<Tz, String> {
    if let Ok(tz) = name.parse::<Tz>() {
        return Ok(tz);
    }
    let suggestion = ABBREVIATIONS
        .iter()
        .find(|(abbr, _)| abbr.eq_ignore_ascii_case(name.trim()))
        .map(|(_, iana)| (*iana).to_string())
        .or_else(|| {
            let want = squash(name);
            chrono_tz::TZ_VARIANTS
                .iter()
                .find(|tz| squash(tz.name()) == want)
                .map(|tz| tz.name().to_string())
        });
    let hint = suggestion.map_or_else(String::new, |s| format!("did you mean {s}? "));
    Err(format!(
        "unknown time zone \"{name}\": {hint}use an IANA name such as America/Los_Angeles, Europe/London or UTC"
    ))
}

impl<'de> Deserialize<'de> for Zone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parse_str(
            d,
            "an IANA time zone name such as America/Los_Angeles",
            |s| parse_zone(s).map(Zone),
        )
    }
}

/// Weekly hours: `24x7`, or a map from day keys to windows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoursSpec(pub WeeklyHours);

impl<'de> Deserialize<'de> for HoursSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(HoursVisitor).map(HoursSpec)
    }
}

struct HoursVisitor;

impl<'de> Visitor<'de> for HoursVisitor {
    type Value = WeeklyHours;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("24x7, or a map of day keys to windows such as {mon-fri: [\"08:00-17:00\"]}")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<WeeklyHours, E> {
        match v.trim().to_ascii_lowercase().as_str() {
            "24x7" | "24/7" => Ok(WeeklyHours::always()),
            _ => Err(E::custom(format!(
                "hours \"{v}\" is not valid: write 24x7, or a map of day keys to windows such as {{mon-fri: [\"08:00-17:00\"]}}"
            ))),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WeeklyHours, A::Error> {
        let mut hours = WeeklyHours::default();
        let mut any = false;
        while let Some(key) = map.next_key::<String>()? {
            let days = parse_days(&key).map_err(de::Error::custom)?;
            let windows: WindowList = map.next_value()?;
            for day in days {
                for w in &windows.0 {
                    hours.add_written(day, *w).map_err(de::Error::custom)?;
                    any = true;
                }
            }
        }
        if !any {
            return Err(de::Error::custom(
                "hours has no windows; give at least one, such as mon-fri: [\"08:00-17:00\"], or write 24x7",
            ));
        }
        Ok(hours)
    }
}

/// One window (`"08:00-17:00"`) or a list of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowList(pub Vec<WrittenWindow>);

impl<'de> Deserialize<'de> for WindowList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Vec<WrittenWindow>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a window \"HH:MM-HH:MM\" or a list of them")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                parse_window(v).map(|w| vec![w]).map_err(E::custom)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(text) = seq.next_element::<String>()? {
                    out.push(parse_window(&text).map_err(de::Error::custom)?);
                }
                Ok(out)
            }
        }
        d.deserialize_any(V).map(WindowList)
    }
}

/// An entry of `holidays:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HolidaySpec {
    /// A built-in set such as `us-federal`.
    Named(String),
    Date(NaiveDate),
    /// An iCalendar file, relative to the config file's folder.
    File(PathBuf),
}

/// Parses `YYYY-MM-DD`, saying what is wrong otherwise.
pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        format!("\"{text}\" is not a date; write YYYY-MM-DD with a real day, such as 2026-12-24")
    })
}

impl<'de> Deserialize<'de> for HolidaySpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = HolidaySpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a built-in set (us-federal), a date (2026-12-24) or {file: holidays.ics}",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<HolidaySpec, E> {
                if v.trim().starts_with(|c: char| c.is_ascii_digit()) {
                    return parse_date(v).map(HolidaySpec::Date).map_err(E::custom);
                }
                if NAMED_SETS.contains(&v.trim()) {
                    return Ok(HolidaySpec::Named(v.trim().to_string()));
                }
                Err(E::custom(format!(
                    "unknown holiday set \"{v}\"; built-in sets are {}; or write a date (2026-12-24) or {{file: holidays.ics}}",
                    NAMED_SETS.join(", ")
                )))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HolidaySpec, A::Error> {
                let mut file = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key != "file" || file.is_some() {
                        return Err(de::Error::custom(format!(
                            "unexpected key `{key}` in a holiday entry; the only key is `file` (an iCalendar file), as in {{file: holidays.ics}}"
                        )));
                    }
                    file = Some(map.next_value::<PathBuf>()?);
                }
                file.map(HolidaySpec::File).ok_or_else(|| {
                    de::Error::custom(
                        "a holiday entry map needs `file`, as in {file: holidays.ics}",
                    )
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// A partial-day closure: the given windows of one local date are closed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClosureSpec {
    pub date: DateSpec,
    pub hours: WindowList,
    /// Why (shown in reports); optional.
    #[serde(default)]
    pub reason: Option<String>,
}

/// A `YYYY-MM-DD` date, checked when read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateSpec(pub NaiveDate);

impl<'de> Deserialize<'de> for DateSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parse_str(d, "a date YYYY-MM-DD", |s| parse_date(s).map(DateSpec))
    }
}

impl ClosureSpec {
    /// The closed windows of the date (a window past midnight is cut at
    /// 24:00: a closure belongs to one date).
    pub fn windows(&self) -> Vec<DayWindow> {
        self.hours.0.iter().map(|w| w.pieces().0).collect()
    }
}

/// `day_length`: clock units only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayLength(pub i64);

impl<'de> Deserialize<'de> for DayLength {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parse_str(d, "a clock duration such as 9h", |text| {
            let parsed: BusinessDuration = text.parse()?;
            if parsed.has_days() || parsed.seconds == 0 || parsed.seconds > 86_400 {
                return Err(format!(
                    "day_length \"{text}\" must be a clock duration from 1s to 24h, such as 9h or 7h30m (it defines what 1d means)"
                ));
            }
            Ok(DayLength(parsed.seconds as i64))
        })
    }
}
