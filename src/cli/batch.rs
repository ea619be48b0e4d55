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

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{self, BufRead, Write};

use serde::Deserialize;

use crate::calendar::Calendar;
use crate::policy::Config;
use crate::time::{parse_instant, write_instant};

#[derive(Deserialize)]
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
    let calendars: HashMap<&str, &Calendar> = config
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

fn answer(
    calendars: &HashMap<&str, &Calendar>,
    config: &Config,
    text: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let req: Request = serde_json::from_slice(text).map_err(|e| {
        format!(
            "not a valid request ({e}); expected {{\"calendar\":\"NAME\",\"op\":\"deadline\",\"start\":\"…Z\",\"seconds\":N}} or {{\"calendar\":\"NAME\",\"op\":\"between\",\"start\":\"…Z\",\"end\":\"…Z\"}}"
        )
    })?;
    let cal = match calendars.get(req.calendar.as_ref()) {
        Some(c) => *c,
        None => return Err(config.calendar(&req.calendar).err().unwrap_or_default()),
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
            out.extend_from_slice(secs.to_string().as_bytes());
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
