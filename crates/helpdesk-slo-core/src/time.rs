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
    let t = match parse_common(text.as_bytes()) {
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

/// `YYYY-MM-DDTHH:MM:SSZ` exactly, a valid date and time in the supported
/// range: what [`parse_instant`] gives for it; else None (for anything
/// else [`parse_instant`] decides).
#[inline]
pub fn parse_canonical_in_range(b: &[u8]) -> Option<i64> {
    if b.len() != 20 || b[19] != b'Z' {
        return None;
    }
    date_time(b).filter(|t| (MIN_INSTANT..=MAX_INSTANT).contains(t))
}

/// The date of the last instant [`parse_canonical_memo`] read in full:
/// its first ten bytes (`YYYY-MM-DD`) and its midnight in Unix seconds.
/// The events of a ticket mostly share dates, so the next instant of the
/// same date only reads its time of day.
#[derive(Debug, Clone, Copy)]
pub struct DayMemo {
    /// The first eight bytes of the date, ...
    head: u64,
    /// ... its last two ([`NO_DAY`] before any: no two bytes read as
    /// that), ...
    day: u32,
    /// ... and its midnight.
    midnight: i64,
}

/// [`DayMemo::day`] before any date is read.
const NO_DAY: u32 = u32::MAX;

impl Default for DayMemo {
    fn default() -> DayMemo {
        DayMemo {
            head: 0,
            day: NO_DAY,
            midnight: 0,
        }
    }
}

/// [`parse_canonical_in_range`], reading only the time of day when the
/// date is the memo's. The usual case is inlined where instants are read,
/// the rest (`parse_canonical_new_day`) is not.
#[inline(always)]
pub fn parse_canonical_memo(b: &[u8], memo: &mut DayMemo) -> Option<i64> {
    let b: &[u8; 20] = b.try_into().ok()?;
    let mut head = [0u8; 8];
    head.copy_from_slice(&b[..8]);
    let head = u64::from_le_bytes(head);
    let day = u32::from(u16::from_le_bytes([b[8], b[9]]));
    if memo.head == head && memo.day == day && b[10] == b'T' && b[19] == b'Z' {
        let t = memo.midnight + time_of_day(&b[11..19])?;
        return (MIN_INSTANT..=MAX_INSTANT).contains(&t).then_some(t);
    }
    parse_canonical_new_day(b, head, day, memo)
}

/// [`parse_canonical_memo`] for an instant of another date than the
/// memo's (or not canonical): read in full, and its date (`head` and `day`
/// as the caller read them) remembered.
#[inline(never)]
fn parse_canonical_new_day(b: &[u8; 20], head: u64, day: u32, memo: &mut DayMemo) -> Option<i64> {
    let t = parse_canonical_in_range(b)?;
    memo.head = head;
    memo.day = day;
    memo.midnight = t - t.rem_euclid(86_400);
    Some(t)
}

/// The forms most instants come in, without chrono: `YYYY-MM-DDTHH:MM:SS`,
/// then fractional seconds that are all zeros (any other fraction is
/// refused by chrono's path, with its message), then `Z` or an offset
/// `+HH:MM` / `-HH:MM` below 24 hours; else None, for chrono to decide.
fn parse_common(b: &[u8]) -> Option<i64> {
    let t = date_time(b)?;
    let mut rest = b.get(19..)?;
    if let [b'.', tail @ ..] = rest {
        let n = tail.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 || tail[..n].iter().any(|&c| c != b'0') {
            return None;
        }
        rest = &tail[n..];
    }
    match *rest {
        [b'Z'] => Some(t),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let d = |c: u8| i64::from(c.wrapping_sub(b'0'));
            if [h1, h2, m1, m2].iter().any(|&c| !c.is_ascii_digit()) {
                return None;
            }
            let (oh, om) = (d(h1) * 10 + d(h2), d(m1) * 10 + d(m2));
            if oh > 23 || om > 59 {
                return None;
            }
            let offset = oh * 3600 + om * 60;
            Some(if sign == b'+' { t - offset } else { t + offset })
        }
        _ => None,
    }
}

/// `YYYY-MM-DDTHH:MM:SS` (the first 19 bytes), a valid date and time (no
/// leap second), as Unix seconds; else None.
#[inline]
fn date_time(b: &[u8]) -> Option<i64> {
    let b: &[u8; 19] = b.get(..19)?.try_into().ok()?;
    if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' {
        return None;
    }
    // The date's digits: those of "YYYY-MM-" eight bytes at a time (the
    // separator's place masked out), the day's two alone.
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[..8]);
    let digit = |c: u8| c.wrapping_sub(b'0') < 10;
    if above_nine(
        u64::from_le_bytes(w) ^ 0x3030_3030_3030_3030,
        0x0080_8000_8080_8080,
    ) != 0
        || !digit(b[8])
        || !digit(b[9])
    {
        return None;
    }
    let seconds = time_of_day(&b[11..19])?;
    let d = |i: usize| i64::from(b[i].wrapping_sub(b'0'));
    let y = d(0) * 1000 + d(1) * 100 + d(2) * 10 + d(3);
    let (mo, day) = (d(5) * 10 + d(6), d(8) * 10 + d(9));
    if !(1..=12).contains(&mo) || day < 1 {
        return None;
    }
    let days = match YEARS.get((y - YEARS_FROM) as usize) {
        // A year of the table: its first day and whether it is a leap year.
        Some(&(first, leap)) => {
            let (before, len) = MONTHS[usize::from(leap)][(mo - 1) as usize];
            if day > len {
                return None;
            }
            first + before + day - 1
        }
        None => {
            if day > days_in_month(y, mo) {
                return None;
            }
            days_from_civil(y, mo, day)
        }
    };
    Some(days * 86_400 + seconds)
}

/// The bytes of `x` (digits with '0' taken away by xor) at the places of
/// `digits` (their high bits) that are not below 10: zero when every one
/// is a digit.
#[inline]
fn above_nine(x: u64, digits: u64) -> u64 {
    (((x & 0x7f7f_7f7f_7f7f_7f7f) + 0x7676_7676_7676_7676) | x) & 0x8080_8080_8080_8080 & digits
}

/// `HH:MM:SS` (eight bytes) as seconds of the day, a valid time (no leap
/// second); else None. Read as one word: the separators and digits
/// checked at once, then each pair of digits is ten times its first plus
/// its second, in the first byte of the pair.
#[inline(always)]
fn time_of_day(b: &[u8]) -> Option<i64> {
    let mut w = [0u8; 8];
    w.copy_from_slice(b.get(..8)?);
    let w = u64::from_le_bytes(w);
    // ':' at bytes 2 and 5.
    if w & 0x0000_ff00_00ff_0000 != 0x0000_3a00_003a_0000 {
        return None;
    }
    let x = w ^ 0x3030_3030_3030_3030;
    // Digits at bytes 0, 1, 3, 4, 6 and 7.
    if above_nine(x, 0x8080_0080_8000_8080) != 0 {
        return None;
    }
    let d = x & 0xffff_00ff_ff00_ffff;
    let pairs = d * 10 + (d >> 8);
    let (h, mi, s) = (pairs & 0xff, (pairs >> 24) & 0xff, (pairs >> 48) & 0xff);
    if h > 23 || mi > 59 || s > 59 {
        return None;
    }
    Some((h * 3600 + mi * 60 + s) as i64)
}

/// The first year of [`YEARS`].
const YEARS_FROM: i64 = 1970;

/// Per year from 1970 to 2101: its first day (days from 1970-01-01) and
/// whether it is a leap year.
static YEARS: [(i64, bool); 132] = {
    let mut out = [(0, false); 132];
    let mut i = 0;
    while i < out.len() {
        let y = YEARS_FROM + i as i64;
        out[i] = (
            days_from_civil(y, 1, 1),
            (y % 4 == 0 && y % 100 != 0) || y % 400 == 0,
        );
        i += 1;
    }
    out
};

/// Per month of a common and of a leap year: the days before it in its
/// year, and its length.
static MONTHS: [[(i64, i64); 12]; 2] = {
    let mut out = [[(0, 0); 12]; 2];
    let mut leap = 0;
    while leap < 2 {
        let mut before = 0;
        let mut m = 0;
        while m < 12 {
            let len = match m {
                1 if leap == 1 => 29,
                1 => 28,
                3 | 5 | 8 | 10 => 30,
                _ => 31,
            };
            out[leap][m] = (before, len);
            before += len;
            m += 1;
        }
        leap += 1;
    }
    out
};

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

    /// What parse_instant did before its common forms were read without
    /// chrono: the canonical form by hand, everything else by chrono.
    fn chrono_reads(text: &str) -> Option<i64> {
        let dt = DateTime::parse_from_rfc3339(text).ok()?;
        (dt.timestamp_subsec_nanos() % 1_000_000_000 == 0)
            .then(|| dt.timestamp())
            .filter(|t| (MIN_INSTANT..=MAX_INSTANT).contains(t))
    }

    proptest::proptest! {
        /// The forms read without chrono give chrono's instant, and what
        /// chrono refuses stays refused (the canonical form, fractions,
        /// offsets, invalid dates and times, near misses).
        #[test]
        fn common_forms_read_as_chrono_reads_them(
            (y, mo, d, h, mi, s) in (1960i64..2110, 0u32..14, 0u32..33, 0u32..25, 0u32..61, 0u32..62),
            fraction in proptest::sample::select(vec!["", ".0", ".000", ".000000000", ".0000000000", ".5", ".", ".01"]),
            zone in proptest::sample::select(vec!["Z", "z", "+00:00", "-08:00", "+05:30", "+14:00", "-23:59", "+24:00", "+01:60", "+0100", "", "ZZ", "+1:00"]),
            sep in proptest::sample::select(vec!["T", "T", "T", "t", " "]),
        ) {
            let text = format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}{fraction}{zone}");
            proptest::prop_assert_eq!(parse_instant(&text).ok(), chrono_reads(&text), "{}", text);
            let canonical = parse_canonical_in_range(text.as_bytes());
            if canonical.is_some() {
                proptest::prop_assert_eq!(canonical, chrono_reads(&text), "{}", text);
            }
        }
    }

    proptest::proptest! {
        /// Instants read in a row with a memo of the last date read as
        /// each alone does: same dates, other dates, near misses of the
        /// time of day and of the separators, the ends of the range.
        #[test]
        fn instants_read_with_the_days_memo_as_alone(
            texts in proptest::collection::vec(
                (
                    proptest::sample::select(vec!["2026-05-03", "2026-05-04", "2101-01-01", "1970-01-01", "2026-02-30", "2026-05-0x"]),
                    proptest::sample::select(vec!["T", "T", "T", "t", " "]),
                    0u32..25, 0u32..61, 0u32..62,
                    proptest::sample::select(vec![":", ":", ":", "-"]),
                    proptest::sample::select(vec!["Z", "Z", "Z", "z", "+0", "ZZ"]),
                    proptest::option::of((0usize..20, proptest::sample::select(vec![b'/', b'a', b'0', 0x80]))),
                ),
                1..12,
            ),
        ) {
            let mut memo = DayMemo::default();
            for (date, sep, h, mi, sec, colon, zone, damage) in texts {
                let mut b = format!("{date}{sep}{h:02}{colon}{mi:02}:{sec:02}{zone}").into_bytes();
                if let Some((i, c)) = damage {
                    if i < b.len() {
                        b[i] = c;
                    }
                }
                proptest::prop_assert_eq!(
                    parse_canonical_memo(&b, &mut memo),
                    parse_canonical_in_range(&b),
                    "{:?}", String::from_utf8_lossy(&b)
                );
            }
        }
    }

    /// A memo that has read no date yet matches none, not even bytes that
    /// look like the zeros it starts from.
    #[test]
    fn a_fresh_memo_reads_no_date_as_its_own() {
        for text in [
            &b"\0\0\0\0\0\0\0\0\0\0T12:00:00Z"[..],
            b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xffT12:00:00Z",
        ] {
            assert_eq!(parse_canonical_memo(text, &mut DayMemo::default()), None);
        }
    }

    /// Every second-of-day and every day from 1969 to 2102 in the canonical
    /// form reads as chrono reads it, and so do near misses of each digit.
    #[test]
    fn the_canonical_form_reads_as_chrono_reads_it_every_day() {
        let mut t = -86_400 * 400;
        while t < MAX_INSTANT + 86_400 * 400 {
            let dt = chrono::DateTime::from_timestamp(t, 0).unwrap();
            let text = dt.format("%Y-%m-%dT%H:%M:%SZ").to_string();
            assert_eq!(parse_instant(&text).ok(), chrono_reads(&text), "{text}");
            t += 86_400 + 3_599;
        }
        let good = *b"2024-02-29T23:59:59Z";
        for i in 0..20 {
            for c in [b'/', b':', b'0', b'9', b'a', b' ', 0x80, 0xb9, b'3', b'6'] {
                let mut b = good;
                b[i] = c;
                if let Ok(text) = std::str::from_utf8(&b) {
                    assert_eq!(parse_instant(text).ok(), chrono_reads(text), "{text}");
                }
            }
        }
    }

    /// Times of day at and around each bound (hours 23 and 24, minutes
    /// and seconds 59 and 60, digits 0, 9 and beyond), alone and with the
    /// memo of their date, read as chrono reads them.
    #[test]
    fn times_of_day_at_their_bounds_read_as_chrono_reads_them() {
        let values = [
            0, 1, 9, 10, 19, 20, 23, 24, 25, 29, 30, 39, 59, 60, 61, 69, 70, 99,
        ];
        let mut memo = DayMemo::default();
        for h in values {
            for mi in values {
                for s in values {
                    let text = format!("2026-05-03T{h:02}:{mi:02}:{s:02}Z");
                    let want = chrono_reads(&text);
                    assert_eq!(parse_instant(&text).ok(), want, "{text}");
                    // The canonical reader leaves a leap second to chrono.
                    let canonical = parse_canonical_in_range(text.as_bytes());
                    assert!(canonical.is_none() || canonical == want, "{text}");
                    assert_eq!(
                        parse_canonical_memo(text.as_bytes(), &mut memo),
                        canonical,
                        "{text}"
                    );
                }
            }
        }
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
