//! Where evaluated tickets come from: JSON lines of ticket timelines (a
//! file or stdin), read a line at a time, with errors that name the input
//! and line.

use std::io::BufRead;

use crate::engine::fast_json::{empty_ticket, read_fast_into, read_fast_line};
use crate::engine::Ticket;

/// A line that is not a ticket timeline.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{input}: cannot read line {line}: {source}")]
    Read {
        input: String,
        line: u64,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{input}: line {line}, column {column}: not a ticket timeline: {message} \
         (one ticket per line, in the form docs/timeline.md shows: id, created_at, events)"
    )]
    Ticket {
        input: String,
        line: u64,
        column: usize,
        message: String,
    },
}

/// Reads ticket timelines from JSON lines, handing each to `f`; blank lines
/// are skipped. Stops at the first line that is not a ticket, or when `f`
/// fails. The ticket handed over is read into the same memory line after
/// line (see [`read_fast_into`]).
pub fn for_each_ticket<E: From<InputError>>(
    input: &str,
    reader: impl BufRead,
    mut f: impl FnMut(&Ticket) -> Result<(), E>,
) -> Result<u64, E> {
    let mut reader = reader;
    let mut line = String::new();
    let mut ticket = empty_ticket();
    let mut n = 0u64;
    let mut read = 0u64;
    // Whether a line the fast reader did not take is a ticket, read into
    // `ticket`: false for a blank line.
    let ticket_of = |n: u64, text: &str, ticket: &mut Ticket| -> Result<bool, InputError> {
        if text.trim().is_empty() {
            return Ok(false);
        }
        *ticket = serde_json::from_str(text).map_err(|e| InputError::Ticket {
            input: input.to_string(),
            line: n,
            column: e.column(),
            message: e.to_string(),
        })?;
        Ok(true)
    };
    loop {
        n += 1;
        // A whole line in the reader's buffer is read where it is, without
        // a copy, by the fast reader, which checks the UTF-8 of what it
        // reads and finds the line's end as it goes; a line it does not
        // take is checked whole. Anything else (a line across the buffer's
        // end, text that is not UTF-8, an error) as before, by `read_line`.
        if let Ok(buffer) = reader.fill_buf() {
            if let Some(used) = read_fast_line(buffer, &mut ticket) {
                reader.consume(used);
                read += 1;
                f(&ticket)?;
                continue;
            }
            if let Some(end) = memchr::memchr(b'\n', buffer) {
                if let Ok(text) = std::str::from_utf8(&buffer[..=end]) {
                    let is_ticket = ticket_of(n, text, &mut ticket)?;
                    reader.consume(end + 1);
                    if is_ticket {
                        read += 1;
                        f(&ticket)?;
                    }
                    continue;
                }
            }
        }
        line.clear();
        let got = reader
            .read_line(&mut line)
            .map_err(|source| InputError::Read {
                input: input.to_string(),
                line: n,
                source,
            })?;
        if got == 0 {
            return Ok(read);
        }
        if read_fast_into(line.as_bytes(), &mut ticket) || ticket_of(n, &line, &mut ticket)? {
            read += 1;
            f(&ticket)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_tickets_and_a_bad_one_is_named_by_its_line() {
        let text = "{\"id\": 1, \"created_at\": \"2026-11-02T09:00:00Z\"}\n\n\
                    {\"id\": \"2\", \"created_at\": \"2026-11-02T10:00:00Z\", \"events\": []}\n\
                    {\"id\": 3}\n";
        let mut ids = Vec::new();
        let e = for_each_ticket::<InputError>("tickets.jsonl", text.as_bytes(), |t| {
            ids.push(t.id.clone());
            Ok(())
        })
        .unwrap_err();
        assert_eq!(ids, ["1", "2"]);
        let msg = e.to_string();
        assert!(msg.starts_with("tickets.jsonl: line 4, column"), "{msg}");
        assert!(msg.contains("created_at"), "{msg}");
    }

    /// A ticket written over several lines is not one line's ticket:
    /// refused with the error of its first line, whatever the buffer
    /// (the fast reader, which finds a line's end as it reads, does not
    /// read on past a line break).
    #[test]
    fn a_ticket_over_several_lines_is_refused_at_its_first() {
        let text = "{\"id\": \"1\", \"created_at\": \"2026-11-02T09:00:00Z\", \"events\": []}\n\
                    {\"id\": \"2\",\n \"created_at\": \"2026-11-02T10:00:00Z\", \"events\": []}\n";
        for capacity in [1, 7, 64, 100, 1000, 1 << 16] {
            let mut ids = Vec::new();
            let e = for_each_ticket::<InputError>(
                "t.jsonl",
                std::io::BufReader::with_capacity(capacity, text.as_bytes()),
                |t| {
                    ids.push(t.id.clone());
                    Ok(())
                },
            )
            .unwrap_err()
            .to_string();
            assert_eq!(ids, ["1"], "{capacity}");
            assert!(e.starts_with("t.jsonl: line 2, column"), "{capacity}: {e}");
            assert!(e.contains("EOF while parsing"), "{capacity}: {e}");
        }
    }

    /// Lines read in the buffer and lines across its end (or not UTF-8)
    /// give the same tickets and the same errors, whatever the buffer's
    /// size.
    #[test]
    fn lines_read_the_same_whatever_the_buffer() {
        let mut text = Vec::new();
        for i in 0..40 {
            text.extend_from_slice(
                format!(
                    "{{\"id\": {i}, \"created_at\": \"2026-11-02T09:00:00Z\", \"events\": []}}\n"
                )
                .as_bytes(),
            );
            if i % 7 == 0 {
                text.extend_from_slice(b"  \n");
            }
        }
        let run = |bytes: &[u8], capacity: usize| {
            let mut ids = Vec::new();
            let r = for_each_ticket::<InputError>(
                "t.jsonl",
                std::io::BufReader::with_capacity(capacity, bytes),
                |t| {
                    ids.push(t.id.clone());
                    Ok(())
                },
            )
            .map_err(|e| e.to_string());
            (ids, r)
        };
        let whole = run(&text, 1 << 16);
        assert_eq!(whole.0.len(), 40);
        assert_eq!(whole.1, Ok(40));
        for capacity in [1, 7, 64, 100, 1000] {
            assert_eq!(run(&text, capacity), whole, "{capacity}");
        }
        let mut bad = text.clone();
        bad[300] = 0xff;
        bad.extend_from_slice(b"{\"id\": 1}\n");
        let want = run(&bad, 1 << 16);
        assert!(
            want.1.as_ref().is_err_and(|e| e.contains("UTF-8")),
            "{want:?}"
        );
        for capacity in [1, 7, 64, 100, 1000] {
            assert_eq!(run(&bad, capacity), want, "{capacity}");
        }
        let mut late = text.clone();
        late.extend_from_slice(b"{\"id\": 1}\n");
        let want = run(&late, 1 << 16);
        assert!(
            want.1.as_ref().is_err_and(|e| e.contains("line 47")),
            "{want:?}"
        );
        for capacity in [1, 7, 64, 100, 1000] {
            assert_eq!(run(&late, capacity), want, "{capacity}");
        }
    }
}
