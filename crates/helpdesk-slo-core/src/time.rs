//! Instants as text: RFC 3339 in, RFC 3339 UTC out, at second precision.
//!
//! The canonical form `YYYY-MM-DDTHH:MM:SSZ` is parsed and written without
//! chrono's general machinery, because batch tools push millions of them
//! through the calendar; any other RFC 3339 form (an offset such as `+02:00`)
//! goes through chrono.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;

/// First supported instant: 1970-01-01T00:00:00Z.
pub const MIN_INSTANT: i64 = 0;
/// Last supported instant: 2101-01-01T00:00:00Z, the end of the year 2100.
pub const MAX_INSTANT: i64 = days_from_civil(2101, 1, 1) * 86_400;

/// Parses an RFC 3339 instant with second precision into Unix seconds.
pub fn parse_instant(text: &str) -> Result<i64, String> {
    let t = match parse_canonical(text.as_bytes()) {
        Some(t) => t,
        None => {
            let dt = DateTime::parse_from_rfc3339(text).map_err(|_| {
                format!(
                    "\"{text}\" is not an RFC 3339 instant; write e.g. 2026-11-20T16:30:00Z or 2026-11-20T08:30:00-08:00"
                )
            })?;
            // chrono reads a leap second (`23:59:60`) as 59 s plus a whole
            // second of nanoseconds; Unix time has no such second, so it is
            // 23:59:59 (as POSIX clocks count it), not a fraction.
            if dt.timestamp_subsec_nanos() % 1_000_000_000 != 0 {
                return Err(format!(
                    "\"{text}\" has fractional seconds; instants are whole seconds, e.g. 2026-11-20T16:30:00Z"
                ));
            }
            dt.timestamp()
        }
    };
    if !(MIN_INSTANT..=MAX_INSTANT).contains(&t) {
        return Err(format!(
            "\"{text}\" is outside the supported range 1970-01-01T00:00:00Z to 2101-01-01T00:00:00Z"
        ));
    }
    Ok(t)
}

fn digits<const N: usize>(b: &[u8]) -> Option<i64> {
    let mut v = 0i64;
    for &c in b.get(..N)? {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(v)
}

/// `YYYY-MM-DDTHH:MM:SSZ` exactly, with a valid date and time; else None.
fn parse_canonical(b: &[u8]) -> Option<i64> {
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let (y, mo, d) = (
        digits::<4>(b)?,
        digits::<2>(&b[5..])?,
        digits::<2>(&b[8..])?,
    );
    let (h, mi, s) = (
        digits::<2>(&b[11..])?,
        digits::<2>(&b[14..])?,
        digits::<2>(&b[17..])?,
    );
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a civil date (H. Hinnant's algorithm).
pub const fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count from 1970-01-01 (H. Hinnant's algorithm).
const fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// Writes `t` as `YYYY-MM-DDTHH:MM:SSZ` into `out` (for `0 <= t` and years
/// below 10000).
pub fn write_instant(out: &mut Vec<u8>, t: i64) {
    let (y, m, d) = civil_from_days(t.div_euclid(86_400));
    let s = t.rem_euclid(86_400);
    let mut buf = *b"0000-00-00T00:00:00Z";
    let mut put = |at: usize, v: i64, n: usize| {
        let mut v = v;
        for i in (0..n).rev() {
            buf[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, y, 4);
    put(5, m, 2);
    put(8, d, 2);
    put(11, s / 3600, 2);
    put(14, s / 60 % 60, 2);
    put(17, s % 60, 2);
    out.extend_from_slice(&buf);
}

/// `t` as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_instant(t: i64) -> String {
    let mut out = Vec::with_capacity(20);
    write_instant(&mut out, t);
    String::from_utf8(out).unwrap_or_default()
}

/// `t` in a zone, for people: `2026-11-23 08:30:00 PST (Mon)`.
pub fn format_local(t: i64, tz: Tz) -> String {
    match Utc.timestamp_opt(t, 0).single() {
        Some(utc) => utc
            .with_timezone(&tz)
            .format("%Y-%m-%d %H:%M:%S %Z (%a)")
            .to_string(),
        None => format!("{t}"),
    }
}

/// `t` as RFC 3339 with the zone's offset: `2026-11-23T08:30:00-08:00`.
pub fn format_offset(t: i64, tz: Tz) -> String {
    match Utc.timestamp_opt(t, 0).single() {
        Some(utc) => utc
            .with_timezone(&tz)
            .to_rfc3339_opts(SecondsFormat::Secs, true),
        None => format!("{t}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_and_offset_forms_agree_with_chrono() {
        for s in [
            "1970-01-01T00:00:00Z",
            "2024-02-29T23:59:59Z",
            "2026-11-20T16:30:00Z",
            "2100-12-31T23:59:59Z",
        ] {
            let want = DateTime::parse_from_rfc3339(s).unwrap().timestamp();
            assert_eq!(parse_instant(s).unwrap(), want, "{s}");
            assert_eq!(format_instant(want), s);
        }
        assert_eq!(
            parse_instant("2026-11-20T08:30:00-08:00").unwrap(),
            parse_instant("2026-11-20T16:30:00Z").unwrap()
        );
    }

    #[test]
    fn bad_instants_are_errors_not_panics() {
        assert!(parse_instant("2026-02-30T00:00:00Z")
            .unwrap_err()
            .contains("RFC 3339"));
        assert!(parse_instant("1969-12-31T23:59:59Z")
            .unwrap_err()
            .contains("supported range"));
        assert!(parse_instant("2101-01-01T00:00:01Z")
            .unwrap_err()
            .contains("supported range"));
        assert!(parse_instant("2026-11-20T16:30:00.5Z")
            .unwrap_err()
            .contains("fractional"));
        assert!(parse_instant("tomorrow").is_err());
    }

    #[test]
    fn a_leap_second_is_the_second_before_it() {
        assert_eq!(
            parse_instant("2016-12-31T23:59:60Z"),
            parse_instant("2016-12-31T23:59:59Z")
        );
        assert_eq!(
            parse_instant("2016-12-31T15:59:60-08:00"),
            parse_instant("2016-12-31T23:59:59Z")
        );
        assert!(parse_instant("2016-12-31T23:59:60.5Z")
            .unwrap_err()
            .contains("fractional"));
    }

    #[test]
    fn every_day_round_trips() {
        let mut t = 0;
        while t < MAX_INSTANT {
            assert_eq!(parse_instant(&format_instant(t)).unwrap(), t);
            t += 86_400 * 7 + 3_661;
        }
    }
}
