//! The incremental exports' items in page order, and their JSON serialized
//! once, up front.

use serde::Serialize;

use super::json::{AuditJson, OrganizationJson, TicketJson, UserJson};
use crate::simulator::generator::{Dataset, Id};

/// The order of an incremental export: `(updated_at or timestamp, id)`.
pub(super) type Key = (i64, Id);

/// Every incremental export's items sorted by key, as positions in the
/// dataset: a page is a binary search and a slice. Built once per version
/// of the dataset (a backfill of 100,000 tickets reads about 900 pages).
/// The index [`SimState::new`] builds also holds every item's JSON, so a
/// page is a copy of bytes; one rebuilt after [`SimState::modify`]
/// serializes only the requested page's items, on request.
#[derive(Debug)]
pub(super) struct PageIndex {
    /// Indexes into `Dataset::tickets`.
    pub(super) tickets: Sorted<usize>,
    pub(super) users: Sorted<usize>,
    pub(super) organizations: Sorted<usize>,
    /// `(ticket index, audit index)`.
    pub(super) audits: Sorted<(usize, usize)>,
    /// The items' JSON in the same order, when serialized up front (see
    /// [`Serialized`]); audits in their `include=comment_events` form,
    /// which is what the adapter asks for (the other form is serialized on
    /// request).
    pub(super) json: Option<Box<AllSerialized>>,
}

#[derive(Debug)]
pub(super) struct AllSerialized {
    pub(super) tickets: Serialized,
    pub(super) users: Serialized,
    pub(super) organizations: Serialized,
    pub(super) audits: Serialized,
}

/// Items' JSON, serialized once, back to back: item `i` is
/// `bytes[ends[i - 1]..ends[i]]` (from 0 for the first). Tickets, users and
/// organizations end with their `url`, which starts with the base URL of the
/// request (its `Host`): they are serialized with an empty base, and the
/// base (as a JSON string's contents) goes in at `bases[i]`. Escaping a JSON
/// string escapes each character on its own, so the bytes are those of the
/// whole item serialized with that base.
#[derive(Debug, Default)]
pub(super) struct Serialized {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    /// Empty for items without a `url` (audits).
    bases: Vec<usize>,
}

impl Serialized {
    /// Serializes `items` in order; `url_path(item)` is the path its `url`
    /// ends with (`None`: it has no url).
    fn new<I, T: Serialize>(items: I, url_path: impl Fn(&T) -> Option<String>) -> Self
    where
        I: ExactSizeIterator<Item = T>,
    {
        let mut out = Serialized {
            bytes: Vec::new(),
            ends: Vec::with_capacity(items.len()),
            bases: Vec::new(),
        };
        for item in items {
            write_json(&mut out.bytes, &item);
            if let Some(path) = url_path(&item) {
                // `…,"url":"` + base + path + `"}`: the url is the last
                // field (fields are in alphabetical order).
                out.bases.push(out.bytes.len() - path.len() - 2);
            }
            out.ends.push(out.bytes.len());
        }
        out
    }

    /// Appends item `i`, with `base` (JSON-escaped, no quotes) in its url;
    /// false if there is no such item.
    pub(super) fn write(&self, i: usize, base: &[u8], out: &mut Vec<u8>) -> bool {
        let Some(&end) = self.ends.get(i) else {
            return false;
        };
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        match self.bases.get(i) {
            Some(&at) => {
                out.extend_from_slice(&self.bytes[start..at]);
                out.extend_from_slice(base);
                out.extend_from_slice(&self.bytes[at..end]);
            }
            None => out.extend_from_slice(&self.bytes[start..end]),
        }
        true
    }
}

/// Serializes one value into `out` (these plain structs cannot fail; a
/// failure would leave `null`).
pub(super) fn write_json<T: Serialize>(out: &mut Vec<u8>, value: &T) {
    let mark = out.len();
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.truncate(mark);
        out.extend_from_slice(b"null");
    }
}

/// The contents of `s` as a JSON string, without the quotes.
pub(super) fn json_string_contents(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() + 2);
    write_json(&mut out, &s);
    if out.len() >= 2 {
        out.remove(0);
        out.pop();
    }
    out
}

/// Keys in ascending order, and where the item of each is.
#[derive(Debug)]
pub(super) struct Sorted<T> {
    pub(super) keys: Vec<Key>,
    pub(super) at: Vec<T>,
}

impl PageIndex {
    /// The page order of `d`; with `serialize`, every item's JSON too.
    pub(super) fn new(d: &Dataset, serialize: bool) -> Self {
        fn sorted<T>(mut v: Vec<(Key, T)>) -> Sorted<T> {
            v.sort_by_key(|(k, _)| *k);
            let (keys, at) = v.into_iter().unzip();
            Sorted { keys, at }
        }
        let mut index = Self {
            tickets: sorted(
                d.tickets
                    .iter()
                    .enumerate()
                    .map(|(i, t)| ((t.updated_at, t.id), i))
                    .collect(),
            ),
            users: sorted(
                d.users
                    .iter()
                    .enumerate()
                    .map(|(i, u)| ((u.updated_at, u.id), i))
                    .collect(),
            ),
            organizations: sorted(
                d.organizations
                    .iter()
                    .enumerate()
                    .map(|(i, o)| ((o.updated_at, o.id), i))
                    .collect(),
            ),
            audits: sorted(
                d.tickets
                    .iter()
                    .enumerate()
                    .flat_map(|(ti, t)| {
                        t.audits
                            .iter()
                            .enumerate()
                            .map(move |(ai, a)| ((a.timestamp, a.id), (ti, ai)))
                    })
                    .collect(),
            ),
            json: None,
        };
        if serialize {
            let i = &index;
            index.json = Some(Box::new(AllSerialized {
                tickets: Serialized::new(
                    i.tickets
                        .at
                        .iter()
                        .map(|&at| TicketJson::new(&d.tickets[at], "")),
                    |t| Some(format!("/api/v2/tickets/{}.json", t.id)),
                ),
                users: Serialized::new(
                    i.users.at.iter().map(|&at| UserJson::new(&d.users[at], "")),
                    |u| Some(format!("/api/v2/users/{}.json", u.id)),
                ),
                organizations: Serialized::new(
                    i.organizations
                        .at
                        .iter()
                        .map(|&at| OrganizationJson::new(&d.organizations[at], "")),
                    |o| Some(format!("/api/v2/organizations/{}.json", o.id)),
                ),
                audits: Serialized::new(
                    i.audits
                        .at
                        .iter()
                        .map(|&(ti, ai)| AuditJson::new(&d.tickets[ti].audits[ai], true)),
                    |_| None,
                ),
            }));
        }
        index
    }
}
