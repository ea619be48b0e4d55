//! The incremental exports' pages: cursor-based and time-based paging over
//! the [`PageIndex`], in the envelopes Zendesk documents.

use std::collections::BTreeMap;

use hyper::StatusCode;

use super::index::{json_string_contents, write_json, Key, PageIndex};
use super::json::{AuditJson, OrganizationJson, TicketJson, UserJson};
use super::respond::{error, Resp};
use super::{endpoint, MAX_PER_PAGE};
use crate::simulator::generator::Dataset;
use crate::simulator::{base64_decode, base64_encode};

/// An incremental page's JSON body, and whether a duplicate was injected.
type PageResult = Result<(Vec<u8>, bool), Box<Resp>>;

fn bad_request(description: &str) -> Box<Resp> {
    Box::new(error(
        StatusCode::BAD_REQUEST,
        "InvalidPaginationParameter",
        description,
    ))
}

fn per_page(q: &BTreeMap<String, String>) -> Result<usize, Box<Resp>> {
    match q.get("per_page") {
        None => Ok(MAX_PER_PAGE),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n.min(MAX_PER_PAGE)),
            _ => Err(bad_request("per_page must be a positive integer")),
        },
    }
}

fn start_time(q: &BTreeMap<String, String>) -> Result<i64, Box<Resp>> {
    match q.get("start_time") {
        None => Err(bad_request("start_time is required")),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|t| *t >= 0)
            .ok_or_else(|| bad_request("start_time must be a Unix time in seconds")),
    }
}

fn encode_cursor(key: Key) -> String {
    base64_encode(format!("{}:{}", key.0, key.1).as_bytes())
}

fn decode_cursor(c: &str) -> Option<Key> {
    let text = String::from_utf8(base64_decode(c)?).ok()?;
    let (t, id) = text.split_once(':')?;
    Some((t.parse().ok()?, id.parse().ok()?))
}

/// Writes `{"k1": v1, …}` with the entries in the given order (the order
/// serde_json's sorted maps gave, so bodies are as before).
fn write_object(entries: &[(&str, &dyn erased::Entry)], capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(capacity + 512);
    out.push(b'{');
    for (i, (k, v)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Keys are fixed ASCII names.
        out.push(b'"');
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b"\":");
        v.write(&mut out);
    }
    out.push(b'}');
    out
}

/// Object-safe "serialize into this buffer".
mod erased {
    pub trait Entry {
        fn write(&self, out: &mut Vec<u8>);
    }
    impl<T: serde::Serialize> Entry for T {
        fn write(&self, out: &mut Vec<u8>) {
            super::write_json(out, self);
        }
    }

    /// JSON written already.
    pub struct Raw<'a>(pub &'a [u8]);

    impl Entry for Raw<'_> {
        fn write(&self, out: &mut Vec<u8>) {
            out.extend_from_slice(self.0);
        }
    }
}

/// Appends the JSON of the item at position `i` of a stream's order; false
/// if there is none.
type WriteItem<'a> = dyn Fn(usize, &mut Vec<u8>) -> bool + 'a;

/// The JSON array of the items at `positions` (as serde_json writes a
/// `Vec`), and how many there are.
fn write_items(positions: impl Iterator<Item = usize>, item: &WriteItem) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(64 * 1024);
    out.push(b'[');
    let mut n = 0;
    for i in positions {
        let mark = out.len();
        if n > 0 {
            out.push(b',');
        }
        if item(i, &mut out) {
            n += 1;
        } else {
            out.truncate(mark);
        }
    }
    out.push(b']');
    (out, n)
}

/// A cursor-based page over `keys` (sorted); `item(i, out)` writes the JSON
/// form of the item at `keys[i]`.
fn cursor_page(
    keys: &[Key],
    item: &WriteItem,
    key: &str,
    url: &str,
    q: &BTreeMap<String, String>,
    duplicate: bool,
    cutoff: i64,
) -> PageResult {
    let per_page = per_page(q)?;
    // Nothing changed after the cutoff (the most recent minute).
    let keys = &keys[..keys.partition_point(|k| k.0 <= cutoff)];
    let (after, is_next) = match (q.get("cursor"), q.get("start_time")) {
        (Some(c), _) => (
            decode_cursor(c).ok_or_else(|| bad_request("cursor is invalid"))?,
            true,
        ),
        (None, Some(_)) => ((start_time(q)?, 0), false),
        (None, None) => return Err(bad_request("start_time or cursor is required")),
    };
    let from = keys.partition_point(|k| *k <= after);
    let to = (from + per_page).min(keys.len());
    let last = if to > from { keys[to - 1] } else { after };
    let duplicated = duplicate && is_next && from > 0 && keys[from - 1] == after;
    let first = if duplicated { from - 1 } else { from };
    let end_of_stream = to == keys.len();
    let (page, _) = write_items(first..to, item);
    let cursor = encode_cursor(last);
    let mut after_url = format!("{url}?cursor={cursor}");
    if q.contains_key("per_page") {
        after_url.push_str(&format!("&per_page={per_page}"));
    }
    let null: Option<()> = None;
    Ok((
        write_object(
            &[
                ("after_cursor", &cursor),
                ("after_url", &after_url),
                ("before_cursor", &null),
                ("before_url", &null),
                ("end_of_stream", &end_of_stream),
                (key, &erased::Raw(&page)),
            ],
            page.len(),
        ),
        duplicated,
    ))
}

/// A time-based page over `keys` (sorted by `(timestamp, id)`; `time`
/// reads a key's timestamp).
///
/// As Zendesk documents: items at or after `start_time`, none changed after
/// `cutoff` (the most recent minute); a page holds every item of its last
/// second, so it may exceed `per_page`; `end_time` is the last item's
/// timestamp and the next page starts there, so the items of that second
/// come again. When more than a page of items share one second S, the page
/// from S holds all of them and ends at S again with `end_of_stream` false:
/// a client that only follows `end_time` asks for the same page forever.
#[allow(clippy::too_many_arguments)]
fn time_page<K>(
    (keys, time): (&[K], fn(&K) -> i64),
    item: &WriteItem,
    key: &str,
    url: &str,
    extra: &str,
    q: &BTreeMap<String, String>,
    duplicate: bool,
    cutoff: i64,
) -> PageResult {
    let per_page = per_page(q)?;
    let start = start_time(q)?;
    let keys = &keys[..keys.partition_point(|k| time(k) <= cutoff)];
    let from = keys.partition_point(|k| time(k) < start);
    let mut to = (from + per_page).min(keys.len());
    while to > from && to < keys.len() && time(&keys[to]) == time(&keys[to - 1]) {
        to += 1;
    }
    let end_of_stream = to == keys.len();
    let end_time = if to > from {
        time(&keys[to - 1])
    } else {
        start
    };
    let duplicated = duplicate && from > 0;
    let first = if duplicated { from - 1 } else { from };
    let (page, count) = write_items(first..to, item);
    let mut next = format!("{url}?start_time={end_time}{extra}");
    if q.contains_key("per_page") {
        next.push_str(&format!("&per_page={per_page}"));
    }
    // `organizations` and `ticket_events` sort after `next_page`.
    Ok((
        write_object(
            &[
                ("count", &count),
                ("end_of_stream", &end_of_stream),
                ("end_time", &end_time),
                ("next_page", &next),
                (key, &erased::Raw(&page)),
            ],
            page.len(),
        ),
        duplicated,
    ))
}

/// A page of the ticket metric event export ("List Ticket Metric Events":
/// time based, like the ticket events), over every ticket's events in
/// `(time, id)` order, as served at `cutoff`.
pub(super) fn metric_events_page(
    events: &[super::metric_events::MetricEvent],
    base: &str,
    q: &BTreeMap<String, String>,
    dup: bool,
    cutoff: i64,
) -> PageResult {
    // The events are in `(time, id)` order already: no list of keys to
    // build for each page (a backfill asks for thousands of pages).
    let url = format!("{base}/api/v2/incremental/ticket_metric_events.json");
    let item = |i: usize, out: &mut Vec<u8>| match events.get(i) {
        Some(e) => {
            write_json(out, &e.json(cutoff));
            true
        }
        None => false,
    };
    time_page(
        (events, |e| e.time),
        &item,
        "ticket_metric_events",
        &url,
        "",
        q,
        dup,
        cutoff,
    )
}

/// The page of an incremental export (`ep` is one of the four).
pub(super) fn incremental_page(
    ep: &str,
    d: &Dataset,
    index: &PageIndex,
    base: &str,
    q: &BTreeMap<String, String>,
    dup: bool,
    cutoff: i64,
) -> PageResult {
    // Items come from the JSON serialized up front when there is some,
    // else they are serialized now, straight from the dataset.
    let json = index.json.as_deref();
    let base_json = json_string_contents(base);
    match ep {
        endpoint::TICKETS => {
            let url = format!("{base}/api/v2/incremental/tickets/cursor.json");
            let item = |i: usize, out: &mut Vec<u8>| match json {
                Some(j) => j.tickets.write(i, &base_json, out),
                None => index
                    .tickets
                    .at
                    .get(i)
                    .and_then(|&at| d.tickets.get(at))
                    .map(|t| write_json(out, &TicketJson::new(t, base)))
                    .is_some(),
            };
            cursor_page(&index.tickets.keys, &item, "tickets", &url, q, dup, cutoff)
        }
        endpoint::USERS => {
            let url = format!("{base}/api/v2/incremental/users/cursor.json");
            let item = |i: usize, out: &mut Vec<u8>| match json {
                Some(j) => j.users.write(i, &base_json, out),
                None => index
                    .users
                    .at
                    .get(i)
                    .and_then(|&at| d.users.get(at))
                    .map(|u| write_json(out, &UserJson::new(u, base)))
                    .is_some(),
            };
            cursor_page(&index.users.keys, &item, "users", &url, q, dup, cutoff)
        }
        endpoint::ORGANIZATIONS => {
            let url = format!("{base}/api/v2/incremental/organizations.json");
            let item = |i: usize, out: &mut Vec<u8>| match json {
                Some(j) => j.organizations.write(i, &base_json, out),
                None => index
                    .organizations
                    .at
                    .get(i)
                    .and_then(|&at| d.organizations.get(at))
                    .map(|o| write_json(out, &OrganizationJson::new(o, base)))
                    .is_some(),
            };
            time_page(
                (&index.organizations.keys, |k| k.0),
                &item,
                "organizations",
                &url,
                "",
                q,
                dup,
                cutoff,
            )
        }
        _ => {
            let comments = q
                .get("include")
                .is_some_and(|i| i.split(',').any(|x| x == "comment_events"));
            let url = format!("{base}/api/v2/incremental/ticket_events.json");
            let extra = if comments {
                "&include=comment_events"
            } else {
                ""
            };
            let item = |i: usize, out: &mut Vec<u8>| match json.filter(|_| comments) {
                Some(j) => j.audits.write(i, &[], out),
                None => index
                    .audits
                    .at
                    .get(i)
                    .and_then(|&(ti, ai)| d.tickets.get(ti)?.audits.get(ai))
                    .map(|a| write_json(out, &AuditJson::new(a, comments)))
                    .is_some(),
            };
            time_page(
                (&index.audits.keys, |k| k.0),
                &item,
                "ticket_events",
                &url,
                extra,
                q,
                dup,
                cutoff,
            )
        }
    }
}
