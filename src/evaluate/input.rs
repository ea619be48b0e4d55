//! Where evaluated tickets come from: JSON lines of ticket timelines (a
//! file or stdin), read a line at a time, with errors that name the input
//! and line.

use std::io::BufRead;

use crate::engine::{ticket_from_json, Ticket};

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
/// fails.
pub fn for_each_ticket<E: From<InputError>>(
    input: &str,
    reader: impl BufRead,
    mut f: impl FnMut(Ticket) -> Result<(), E>,
) -> Result<u64, E> {
    let mut reader = reader;
    let mut line = String::new();
    let mut n = 0u64;
    let mut read = 0u64;
    loop {
        line.clear();
        n += 1;
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
        if line.trim().is_empty() {
            continue;
        }
        let ticket: Ticket = ticket_from_json(&line).map_err(|e| InputError::Ticket {
            input: input.to_string(),
            line: n,
            column: e.column(),
            message: e.to_string(),
        })?;
        read += 1;
        f(ticket)?;
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
            ids.push(t.id);
            Ok(())
        })
        .unwrap_err();
        assert_eq!(ids, ["1", "2"]);
        let msg = e.to_string();
        assert!(msg.starts_with("tickets.jsonl: line 4, column"), "{msg}");
        assert!(msg.contains("created_at"), "{msg}");
    }
}
