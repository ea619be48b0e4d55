//! `calendar batch`: JSON lines in, JSON lines out, one for one, in order.
//!
//! ```text
//! {"calendar":"NAME","op":"deadline","start":"2026-11-20T16:30:00Z","seconds":3600}
//!   -> {"deadline":"2026-11-23T16:30:00Z"}
//! {"calendar":"NAME","op":"between","start":"…Z","end":"…Z"}
//!   -> {"seconds":34200}
//! ```
//!
//! A line that cannot be answered gets `{"error":"line N: …"}` saying what is
//! wrong and what is valid; the batch goes on. The loop reuses its buffers and
//! writes through one buffered writer, so it runs at well over a million
//! lines a second (see BENCHMARKS.md).
//!
//! Speed: a line spelled exactly as above (keys in that order, no
//! whitespace, strings without escapes or control characters, `seconds` a
//! plain non-negative integer of at most 18 digits) is read by a direct
//! scanner; every other line goes to serde_json, which accepts any valid
//! JSON spelling and words the errors. Both read such a line to the same
//! request, so answers do not depend on the spelling.

use std::borrow::Cow;
use std::io::{self, BufRead, Write};

use serde::Deserialize;

use crate::calendar::Calendar;
use crate::policy::Config;
use crate::time::{parse_instant, write_instant};

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
#[serde(deny_unknown_fields)]
struct Request<'a> {
    #[serde(borrow)]
    calendar: Cow<'a, str>,
    #[serde(borrow)]
    op: Cow<'a, str>,
    #[serde(borrow)]
    start: Cow<'a, str>,
    #[serde(borrow, default)]
    end: Option<Cow<'a, str>>,
    #[serde(default)]
    seconds: Option<i64>,
}

/// How many lines a batch answered, and how many of them with an error.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchStats {
    pub lines: u64,
    pub errors: u64,
}

/// Answers every line of `input` on `output`; I/O errors end the batch.
pub fn run_batch<R: BufRead, W: Write>(
    config: &Config,
    mut input: R,
    mut output: W,
) -> io::Result<BatchStats> {
    // Sorted by name (a BTreeMap's order), for a binary search by name.
    let calendars: Vec<(&str, &Calendar)> = config
        .calendars
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_ref()))
        .collect();
    let mut stats = BatchStats::default();
    let mut line = Vec::with_capacity(256);
    let mut out = Vec::with_capacity(1 << 16);
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        stats.lines += 1;
        let text = trim_line(&line);
        if !text.is_empty() {
            if let Err(message) = answer(&calendars, config, text, &mut out) {
                stats.errors += 1;
                out.extend_from_slice(b"{\"error\":");
                let full = format!("line {}: {message}", stats.lines);
                serde_json::to_writer(&mut out, &full).map_err(io::Error::other)?;
                out.push(b'}');
            }
        }
        out.push(b'\n');
        if out.len() >= 1 << 15 {
            output.write_all(&out)?;
            out.clear();
        }
    }
    output.write_all(&out)?;
    output.flush()?;
    Ok(stats)
}

fn trim_line(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\n' | b'\r' | b' ' | b'\t') {
        end -= 1;
    }
    &line[..end]
}

/// A line as a request: the canonical spelling directly, anything else
/// through serde_json.
fn parse_request(text: &[u8]) -> Result<Request<'_>, serde_json::Error> {
    // Valid UTF-8 is checked once for the line rather than string by string.
    match std::str::from_utf8(text) {
        Ok(s) => match parse_canonical(s) {
            Some(req) => Ok(req),
            None => serde_json::from_str(s),
        },
        Err(_) => serde_json::from_slice(text),
    }
}

/// `{"calendar":S,"op":S,"start":S,"end":S}` or
/// `{"calendar":S,"op":S,"start":S,"seconds":N}` exactly, where each `S` is a
/// JSON string without backslashes or control characters and `N` is `0` or
/// `[1-9][0-9]*` of at most 18 digits; `None` for anything else.
fn parse_canonical(text: &str) -> Option<Request<'_>> {
    let rest = text.strip_prefix("{\"calendar\":")?;
    let (calendar, rest) = plain_string(rest)?;
    let rest = rest.strip_prefix(",\"op\":")?;
    let (op, rest) = plain_string(rest)?;
    let rest = rest.strip_prefix(",\"start\":")?;
    let (start, rest) = plain_string(rest)?;
    let (end, seconds, rest) = if let Some(rest) = rest.strip_prefix(",\"end\":") {
        let (end, rest) = plain_string(rest)?;
        (Some(Cow::Borrowed(end)), None, rest)
    } else {
        let rest = rest.strip_prefix(",\"seconds\":")?;
        let (seconds, rest) = plain_integer(rest)?;
        (None, Some(seconds), rest)
    };
    (rest == "}").then_some(Request {
        calendar: Cow::Borrowed(calendar),
        op: Cow::Borrowed(op),
        start: Cow::Borrowed(start),
        end,
        seconds,
    })
}

/// A leading `"…"` with no backslash or control character inside: its
/// contents, and what follows it.
fn plain_string(text: &str) -> Option<(&str, &str)> {
    let body = text.strip_prefix('"')?;
    let len = body
        .bytes()
        .position(|b| b == b'"' || b == b'\\' || b < 0x20)?;
    // An ASCII byte, so a char boundary.
    (body.as_bytes()[len] == b'"').then(|| (&body[..len], &body[len + 1..]))
}

/// A leading JSON integer `0` or `[1-9][0-9]*` of at most 18 digits (so it
/// fits an i64), and what follows it.
fn plain_integer(text: &str) -> Option<(i64, &str)> {
    let digits = text.as_bytes();
    let len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    if len == 0 || len > 18 || (len > 1 && digits[0] == b'0') {
        return None;
    }
    let value = digits[..len]
        .iter()
        .fold(0i64, |v, &d| v * 10 + i64::from(d - b'0'));
    // Digits are ASCII, so a char boundary.
    Some((value, &text[len..]))
}

/// Appends the decimal digits of `v`.
fn push_integer(out: &mut Vec<u8>, v: i64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    let mut n = v.unsigned_abs();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[at..]);
}

fn answer(
    calendars: &[(&str, &Calendar)],
    config: &Config,
    text: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let req: Request = parse_request(text).map_err(|e| {
        format!(
            "not a valid request ({e}); expected {{\"calendar\":\"NAME\",\"op\":\"deadline\",\"start\":\"…Z\",\"seconds\":N}} or {{\"calendar\":\"NAME\",\"op\":\"between\",\"start\":\"…Z\",\"end\":\"…Z\"}}"
        )
    })?;
    let cal = match calendars.binary_search_by(|(name, _)| (*name).cmp(req.calendar.as_ref())) {
        Ok(i) => calendars[i].1,
        Err(_) => return Err(config.calendar(&req.calendar).err().unwrap_or_default()),
    };
    let start = parse_instant(&req.start).map_err(|e| format!("start: {e}"))?;
    match req.op.as_ref() {
        "deadline" => {
            let seconds = req
                .seconds
                .ok_or("op deadline needs \"seconds\": the business seconds to add (0 or more)")?;
            if req.end.is_some() {
                return Err("op deadline takes \"seconds\", not \"end\"".into());
            }
            let due = cal.deadline(start, seconds).map_err(|e| e.to_string())?;
            out.extend_from_slice(b"{\"deadline\":\"");
            write_instant(out, due);
            out.extend_from_slice(b"\"}");
        }
        "between" => {
            let end = req
                .end
                .as_deref()
                .ok_or("op between needs \"end\": the exclusive end instant")?;
            if req.seconds.is_some() {
                return Err("op between takes \"end\", not \"seconds\"".into());
            }
            let end = parse_instant(end).map_err(|e| format!("end: {e}"))?;
            if end < start {
                return Err("end is before start; the range is [start, end)".into());
            }
            let secs = cal
                .business_seconds(start, end)
                .map_err(|e| e.to_string())?;
            out.extend_from_slice(b"{\"seconds\":");
            push_integer(out, secs);
            out.push(b'}');
        }
        other => {
            return Err(format!(
                "unknown op \"{other}\"; ops are \"deadline\" and \"between\""
            ))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANONICAL: [&str; 4] = [
        r#"{"calendar":"business-hours","op":"deadline","start":"2026-03-04T17:12:09Z","seconds":3600}"#,
        r#"{"calendar":"business-hours","op":"between","start":"2026-03-04T17:12:09Z","end":"2026-03-05T00:00:00Z"}"#,
        "{\"calendar\":\"caf\u{e9} \u{1f600}\",\"op\":\"x\",\"start\":\"\",\"seconds\":0}",
        r#"{"calendar":"a","op":"deadline","start":"s","seconds":999999999999999999}"#,
    ];

    /// The scanner reads a line only when serde_json reads it to the same
    /// request, and the serde path answers everything else as before:
    /// checked on the canonical lines and on every one-byte insertion,
    /// replacement and deletion of them with bytes that matter to JSON.
    #[test]
    fn scanner_agrees_with_serde_wherever_it_answers() {
        let bytes: &[u8] = &[
            b' ', b'\t', b'"', b'\\', b'/', b'0', b'1', b'9', b'-', b'+', b'.', b'e', b'{', b'}',
            b',', b':', b'a', b'n', 0x00, 0x1f, 0x7f, 0xc3, 0xa9, 0xff,
        ];
        let (mut checked, mut scanned) = (0, 0);
        for line in CANONICAL {
            let line = line.as_bytes();
            assert_eq!(
                std::str::from_utf8(line).ok().and_then(parse_canonical),
                Some(serde_json::from_slice::<Request>(line).unwrap()),
                "{}",
                String::from_utf8_lossy(line)
            );
            let mut variants = vec![line.to_vec()];
            for i in 0..=line.len() {
                for &b in bytes {
                    let mut v = line.to_vec();
                    v.insert(i, b);
                    variants.push(v);
                    if i < line.len() {
                        let mut v = line.to_vec();
                        v[i] = b;
                        variants.push(v);
                    }
                }
                if i < line.len() {
                    let mut v = line.to_vec();
                    v.remove(i);
                    variants.push(v);
                }
            }
            for v in &variants {
                checked += 1;
                let slow = serde_json::from_slice::<Request>(v);
                if let Some(fast) = std::str::from_utf8(v).ok().and_then(parse_canonical) {
                    scanned += 1;
                    assert_eq!(
                        slow.as_ref().ok(),
                        Some(&fast),
                        "{}: {slow:?}",
                        String::from_utf8_lossy(v)
                    );
                }
                assert_eq!(
                    parse_request(v).map_err(|e| e.to_string()),
                    slow.map_err(|e| e.to_string()),
                    "{}",
                    String::from_utf8_lossy(v)
                );
            }
        }
        assert!(checked > 10_000 && scanned > 1_000, "{checked} {scanned}");
    }

    #[test]
    fn integers_are_written_as_to_string_writes_them() {
        for v in [0, 7, 10, 34_200, -1, -10, i64::MAX, i64::MIN, 1 << 40] {
            let mut out = Vec::new();
            push_integer(&mut out, v);
            assert_eq!(out, v.to_string().into_bytes());
        }
    }
}
