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

/// How a stored ticket's timeline differs from the expected one (`want`,
/// the timeline JSON), key by key; empty when they agree (events compared
/// in id order).
pub fn timeline_problems(store: &dyn Store, source: &str, id: &str, want: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    match store.ticket(source, id).unwrap() {
        None => problems.push(format!("ticket {id}: not in the store")),
        Some(t) => {
            let got = normalized(serde_json::to_value(&t).unwrap());
            let want = normalized(want.clone());
            if got != want {
                let (g, w) = (got.as_object().unwrap(), want.as_object().unwrap());
                let keys: std::collections::BTreeSet<&String> = g.keys().chain(w.keys()).collect();
                for k in keys {
                    if g.get(k) != w.get(k) {
                        problems.push(format!(
                            "ticket {id}.{k}:\n  expected {}\n  got      {}",
                            w.get(k).map_or("-".into(), Value::to_string),
                            g.get(k).map_or("-".into(), Value::to_string)
                        ));
                    }
                }
            }
        }
    }
    problems
}

/// How the clocks the engine gives a stored ticket at `now` differ from
/// the expected ones (`want`: a list of clock views, each with only the
/// keys to check), in order; empty when they agree or the ticket is not
/// stored.
pub fn clock_problems(
    store: &dyn Store,
    source: &str,
    policy: &helpdesk_slo::policy::Policy,
    id: &str,
    want: &Value,
    now: i64,
) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(ticket) = store.ticket(source, id).unwrap() else {
        return problems;
    };
    let got: Vec<Value> = helpdesk_slo::engine::evaluate(policy, &ticket, now)
        .iter()
        .map(|c| serde_json::to_value(c.view(policy)).unwrap())
        .collect();
    let want = want.as_array().unwrap();
    if got.len() != want.len() {
        problems.push(format!(
            "ticket {id}: {} clocks, expected {}: {}",
            got.len(),
            want.len(),
            Value::from(got.clone())
        ));
        return problems;
    }
    for (w, g) in want.iter().zip(&got) {
        for (key, value) in w.as_object().unwrap() {
            if g.get(key) != Some(value) {
                problems.push(format!(
                    "ticket {id} clock {}#{}: {key} is {}, expected {value}",
                    w["metric"], w["instance"], g[key]
                ));
            }
        }
    }
    problems
}
