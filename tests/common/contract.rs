//! What the helpdesk contract tests share: driving a source through every
//! stream into a store as the daemon does, and comparing timelines whose
//! same-instant events may come in any order.

use serde_json::Value;

use helpdesk_slo::sources::{Source, SourceError};
use helpdesk_slo::store::{SqliteStore, Store};

/// Polls each of `streams` of `source` (stored as `name`) until caught up,
/// waiting out 429s as the daemon does, at most `max_pages` polls a stream.
/// Returns what went wrong and how many 429s were waited out.
pub async fn backfill(
    source: &dyn Source,
    store: &mut SqliteStore,
    name: &str,
    streams: &[&str],
    max_pages: usize,
) -> (Vec<String>, u64) {
    let mut problems = Vec::new();
    let mut waited = 0;
    'streams: for stream in streams {
        let mut n = 0;
        loop {
            n += 1;
            if n > max_pages {
                problems.push(format!("{stream}: not caught up after {max_pages} polls"));
                break 'streams;
            }
            let cursor = store.cursor(name, stream).unwrap();
            match source.poll(stream, cursor.as_deref()).await {
                Ok(page) => {
                    store.apply_page(name, &page).unwrap();
                    if page.caught_up {
                        break;
                    }
                }
                Err(SourceError::RateLimited(s)) => {
                    waited += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(20 * s)).await;
                }
                Err(e) => {
                    problems.push(format!("{stream}: poll from {cursor:?} failed: {e}"));
                    break 'streams;
                }
            }
        }
    }
    (problems, waited)
}

/// A ticket's JSON with its events sorted by id.
pub fn normalized(mut ticket: Value) -> Value {
    if let Some(events) = ticket.get_mut("events").and_then(Value::as_array_mut) {
        events.sort_by_key(|e| e["id"].as_str().unwrap_or_default().to_string());
    }
    ticket
}
