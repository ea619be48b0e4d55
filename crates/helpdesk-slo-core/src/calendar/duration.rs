//! Human-readable business durations: `45m`, `4h`, `1h30m`, `2d`, `1d4h`.
//!
//! Units are `d` (one business day of the calendar the duration is measured
//! on, see `Calendar::day_length`), `h`, `m` and `s`, each at most once, in
//! that order. A duration stays symbolic until a calendar resolves it, because
//! `2d` is 18 hours on a 9-hour calendar and 48 hours on a 24x7 one.
//!
//! ```
//! use helpdesk_slo_core::calendar::BusinessDuration;
//! let d: BusinessDuration = "1d4h".parse().unwrap();
//! assert_eq!(d.seconds_with_day(9 * 3600), 13 * 3600);
//! assert!("4 hours".parse::<BusinessDuration>().unwrap_err().contains("unknown unit \"hours\""));
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

/// A duration as written: whole business days plus clock seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct BusinessDuration {
    pub days: u32,
    pub seconds: u64,
}

/// Upper bound that keeps every resolved duration far inside `i64` and the
/// supported years: a hundred years of seconds.
const MAX_SECONDS: u64 = 100 * 366 * 86_400;

impl BusinessDuration {
    pub const fn from_seconds(seconds: u64) -> Self {
        Self { days: 0, seconds }
    }

    /// Seconds, with one `d` worth `day_length` seconds.
    pub fn seconds_with_day(&self, day_length: i64) -> i64 {
        i64::from(self.days) * day_length + self.seconds as i64
    }

    /// Whether the duration uses the `d` unit.
    pub fn has_days(&self) -> bool {
        self.days > 0
    }
}

impl FromStr for BusinessDuration {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Self::parse_where_a_day_is(text, "one business day of the calendar")
    }
}

impl BusinessDuration {
    /// Parses `text`; an error says what `d` means where it is written
    /// (a business day for a target, 24 hours for a poll interval).
    pub fn parse_where_a_day_is(text: &str, day: &str) -> Result<Self, String> {
        let invalid = |why: &str| {
            format!(
                "\"{text}\" is not a duration ({why}); write a number and a unit, such as 45m, 4h, 1h30m or 2d (d = {day}), units d, h, m, s in that order"
            )
        };
        let s = text.trim();
        if s.is_empty() {
            return Err(invalid("it is empty"));
        }
        let units = [('d', 0usize), ('h', 1), ('m', 2), ('s', 3)];
        let mut seen = -1i32;
        let mut out = Self::default();
        if s.starts_with('-') {
            return Err(invalid("a duration cannot be negative"));
        }
        let mut rest = s;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(invalid("a unit needs a number before it"));
            }
            let value: u64 = rest[..digits]
                .parse()
                .map_err(|_| invalid("the number is too large"))?;
            let after = rest[digits..].trim_start();
            let word_len = after
                .chars()
                .take_while(|c| c.is_alphabetic())
                .map(char::len_utf8)
                .sum::<usize>();
            let word = &after[..word_len];
            let mut chars = word.chars();
            let (Some(unit), None) = (chars.next(), chars.next()) else {
                return Err(if word.is_empty() {
                    invalid("the last number has no unit")
                } else {
                    invalid(&format!("unknown unit \"{word}\""))
                });
            };
            let Some(&(_, rank)) = units.iter().find(|(u, _)| *u == unit) else {
                return Err(invalid(&format!("unknown unit \"{word}\"")));
            };
            if rank as i32 <= seen {
                return Err(invalid("each unit at most once, largest first"));
            }
            seen = rank as i32;
            let too_large = || invalid("longer than a hundred years");
            match unit {
                'd' => out.days = u32::try_from(value).map_err(|_| too_large())?,
                'h' => out.seconds += value.checked_mul(3600).ok_or_else(too_large)?,
                'm' => out.seconds += value.checked_mul(60).ok_or_else(too_large)?,
                _ => out.seconds += value,
            }
            if out.seconds > MAX_SECONDS || u64::from(out.days) * 86_400 > MAX_SECONDS {
                return Err(too_large());
            }
            rest = after[word_len..].trim_start();
        }
        Ok(out)
    }
}

impl fmt::Display for BusinessDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.days > 0 {
            write!(f, "{}d", self.days)?;
            if self.seconds == 0 {
                return Ok(());
            }
        }
        f.write_str(&format_seconds(self.seconds as i64))
    }
}

impl<'de> Deserialize<'de> for BusinessDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::de::parse_str(d, "a duration such as 45m, 4h or 2d", str::parse)
    }
}

/// Seconds as `9h30m`, `45m`, `1h0m5s`, `0s`: clock units only, no days.
pub fn format_seconds(total: i64) -> String {
    let sign = if total < 0 { "-" } else { "" };
    let t = total.unsigned_abs();
    let (h, m, s) = (t / 3600, t / 60 % 60, t % 60);
    let mut out = String::from(sign);
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 || (h > 0 && s > 0) {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || t == 0 {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> BusinessDuration {
        s.parse().unwrap()
    }

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(p("45m"), BusinessDuration::from_seconds(45 * 60));
        assert_eq!(p("4h"), BusinessDuration::from_seconds(4 * 3600));
        assert_eq!(p("1h30m"), BusinessDuration::from_seconds(5400));
        assert_eq!(p("1h 30m"), BusinessDuration::from_seconds(5400));
        assert_eq!(p("90s"), BusinessDuration::from_seconds(90));
        assert_eq!(
            p("2d"),
            BusinessDuration {
                days: 2,
                seconds: 0
            }
        );
        assert_eq!(
            p("1d4h"),
            BusinessDuration {
                days: 1,
                seconds: 4 * 3600
            }
        );
        assert_eq!(p("0m"), BusinessDuration::from_seconds(0));
    }

    #[test]
    fn d_is_the_calendars_business_day() {
        assert_eq!(p("2d").seconds_with_day(9 * 3600), 18 * 3600);
        assert_eq!(p("2d").seconds_with_day(86_400), 48 * 3600);
        assert_eq!(p("1d4h").seconds_with_day(8 * 3600), 12 * 3600);
    }

    #[test]
    fn rejects_with_a_reason_and_the_valid_forms() {
        for (bad, why) in [
            ("", "empty"),
            ("45", "no unit"),
            ("4x", "unknown unit \"x\""),
            ("4 hours", "unknown unit \"hours\""),
            ("h", "needs a number"),
            ("30m1h", "largest first"),
            ("1h1h", "largest first"),
            ("-5m", "cannot be negative"),
            ("99999999999h", "hundred years"),
        ] {
            let e = bad.parse::<BusinessDuration>().unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
            assert!(e.contains("45m, 4h, 1h30m or 2d"), "{e}");
        }
    }

    #[test]
    fn displays_round_trip() {
        for s in ["45m", "4h", "1h30m", "2d", "1d4h", "90s", "0s", "1h0m5s"] {
            assert_eq!(p(s).to_string(), s.replace("90s", "1m30s"));
        }
        assert_eq!(format_seconds(34_200), "9h30m");
        assert_eq!(format_seconds(-60), "-1m");
    }
}
