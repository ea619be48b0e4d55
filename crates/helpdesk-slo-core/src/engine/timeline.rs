//! The normalized ticket timeline every helpdesk adapter produces, and its
//! JSON form.
//!
//! ```json
//! {"id":"4711","created_at":"2026-11-20T16:00:00Z",
//!  "organization":{"id":"900","tags":["plan_premier"],"fields":{}},
//!  "tags":[], "fields":{},
//!  "events":[
//!    {"at":"2026-11-20T16:00:00Z","type":"priority","value":"urgent"},
//!    {"at":"2026-11-20T16:05:00Z","type":"comment","author":"agent","public":true},
//!    {"at":"2026-11-20T17:00:00Z","type":"status","value":"pending"},
//!    {"at":"2026-11-21T09:00:00Z","type":"comment","author":"requester","public":true},
//!    {"at":"2026-11-21T09:00:00Z","type":"status","value":"open"},
//!    {"at":"2026-11-21T10:00:00Z","type":"group","value":"l2-experts"},
//!    {"at":"2026-11-22T12:00:00Z","type":"status","value":"solved"}]}
//! ```
//!
//! The ticket-level `organization`, `tags`, `fields`, `priority`, `group` and
//! `status` are the ticket's state at creation; events change it from their
//! instant on. Event types: `priority` (the helpdesk's priority value),
//! `severity` (the severity the support team assigned; wins over the priority
//! mapping from then on, `null` removes it), `status` (new, open, pending,
//! hold, solved, closed), `comment` (`author`: agent, requester or other;
//! `public`: false for an internal note), `group`, `organization` (the plan is
//! matched again), `tags` (the whole tag set from then on), `field` (`name`
//! and `value`: another ticket field, such as a custom field by its id or
//! the ticket's `type`; the ticket's `fields` from then on; a change of the
//! policy's `severity_field` is a change of the assigned severity). Events
//! may carry an `id`; instants are RFC 3339.
//!
//! An optional `current` object is what the helpdesk's ticket record says
//! now (`updated_at`, `status`, `priority`, `group`, `organization_id`): a
//! ticket the helpdesk has solved or closed whose events never solved it is
//! solved at `updated_at`, and any other disagreement is a data-quality
//! finding ([`super::crosscheck`]).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::policy::spec::Status;
use crate::time::{format_instant, parse_instant};

/// A ticket and everything that happened to it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Ticket {
    #[serde(deserialize_with = "super::event_json::id_text")]
    pub id: String,
    #[serde(with = "instant")]
    pub created_at: i64,
    /// The helpdesk the ticket came from (`zendesk`), for links and labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// A link to the ticket in the helpdesk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default)]
    pub organization: Option<Organization>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub fields: BTreeMap<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(default, deserialize_with = "super::event_json::events")]
    pub events: Vec<Event>,
    /// What the helpdesk's ticket record says now, if known: checked
    /// against where the events lead ([`super::crosscheck`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<Current>,
}

/// A ticket's state as the helpdesk's ticket record has it now.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Current {
    /// When the helpdesk last changed the ticket.
    #[serde(with = "instant")]
    pub updated_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
}

/// The customer organization a ticket belongs to.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Organization {
    #[serde(deserialize_with = "super::event_json::id_text")]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub fields: BTreeMap<String, serde_json::Value>,
}

/// One thing that happened to a ticket. (Read from JSON by
/// `event_json`, in one pass.)
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(with = "instant")]
    pub at: i64,
    #[serde(flatten)]
    pub change: Change,
}

/// Who wrote a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    Agent,
    Requester,
    /// Anyone else (a CC'd user, an automation): counts for no clock.
    Other,
    /// Someone the helpdesk's user list does not have (a deleted user, an
    /// API user): counts for no clock, and is reported as a data-quality
    /// finding.
    Unknown,
}

/// What an event changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    Priority {
        value: Option<String>,
    },
    Severity {
        value: Option<String>,
    },
    Group {
        value: Option<String>,
    },
    Organization {
        value: Option<Organization>,
    },
    Tags {
        value: Vec<String>,
    },
    /// Another ticket field changed (a custom field by its id, or a system
    /// field the engine has no event of its own for, such as `type`); `null`
    /// clears it. A change of the policy's `severity_field` is a change of
    /// the assigned severity.
    Field {
        name: String,
        value: serde_json::Value,
    },
    Comment {
        author: Author,
        /// `false` for an internal note; `true` when not given.
        public: bool,
    },
    Status {
        value: Status,
    },
}

impl Change {
    /// Same-instant events apply in this order: attribute changes, then
    /// comments, then status changes.
    #[inline]
    pub fn phase(&self) -> u8 {
        match self {
            Change::Comment { .. } => 1,
            Change::Status { .. } => 2,
            _ => 0,
        }
    }

    /// Same-instant events of one phase apply kind by kind in this order
    /// (and the phases in theirs: the rank grows with the phase).
    #[inline]
    pub(crate) fn rank(&self) -> u8 {
        match self {
            Change::Organization { .. } => 0,
            Change::Tags { .. } => 1,
            Change::Priority { .. } => 2,
            Change::Severity { .. } => 3,
            Change::Group { .. } => 4,
            Change::Field { .. } => 5,
            Change::Comment { .. } => 6,
            Change::Status { .. } => 7,
        }
    }
}

/// Orders two event ids as helpdesks number them: in `.`-separated
/// segments, digits by their number (`7.9` before `7.10`, where text order
/// would put `7.10` first), anything else as text; a prefix first.
fn cmp_ids(a: &str, b: &str) -> Ordering {
    let number = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    let mut x = a.split('.');
    let mut y = b.split('.');
    loop {
        let order = match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) if number(p) && number(q) => {
                let (p, q) = (p.trim_start_matches('0'), q.trim_start_matches('0'));
                p.len().cmp(&q.len()).then_with(|| p.cmp(q))
            }
            (Some(p), Some(q)) => p.cmp(q),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
}

/// The canonical order of events, instants clamped to `created`: by
/// instant, phase and kind, then in the helpdesk's order: by event id
/// ([`cmp_ids`]), events without an id first. Events this leaves equal
/// (no ids, or the same id) keep the order they are listed in: sorts with
/// it must be stable.
#[inline]
pub(crate) fn event_order(a: &Event, b: &Event, created: i64) -> Ordering {
    // The rank orders phases as `phase` does, so (instant, rank) is
    // (instant, phase, rank).
    let key = |e: &Event| (e.at.max(created), e.change.rank());
    key(a).cmp(&key(b)).then_with(|| id_order(a, b))
}

/// The helpdesk's order of two events of one instant and kind.
#[inline]
fn id_order(a: &Event, b: &Event) -> Ordering {
    match (&a.id, &b.id) {
        (Some(x), Some(y)) => cmp_ids(x, y),
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// An event in the canonical order, with its instant (clamped to the
/// creation) and its rank worked out once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Placed<'e> {
    pub at: i64,
    /// [`Change::rank`]: attribute changes below 6, comments 6, status
    /// changes 7.
    pub rank: u8,
    pub event: &'e Event,
}

/// The rank of comments: attribute changes rank below, status changes
/// above.
pub(crate) const COMMENT_RANK: u8 = 6;
/// The rank of status changes.
pub(crate) const STATUS_RANK: u8 = 7;

/// The events in canonical order without duplicates (same instant, same
/// content; the event id does not matter: the first in the order stays).
/// Events before `created` count as at `created`. Borrows: a ticket's
/// events are never copied.
pub fn canonical(events: &[Event], created: i64) -> Vec<&Event> {
    canonical_placed(events, created)
        .into_iter()
        .map(|p| p.event)
        .collect()
}

/// [`canonical`], each event with its instant and rank.
pub(crate) fn canonical_placed(events: &[Event], created: i64) -> Vec<Placed<'_>> {
    let mut out: Vec<Placed> = events
        .iter()
        .map(|e| Placed {
            at: e.at.max(created),
            rank: e.change.rank(),
            event: e,
        })
        .collect();
    // Most timelines are listed in order: checked in one pass, the ids
    // only compared between neighbours of equal keys. Duplicates share
    // their instant and rank, so a timeline in which no two neighbours do
    // (once in order) has none.
    let key = |p: &Placed| (p.at, p.rank);
    let mut in_order = true;
    let mut shared_keys = false;
    for w in out.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        if key(a) > key(b) {
            in_order = false;
            break;
        }
        if key(a) == key(b) {
            shared_keys = true;
            if id_order(a.event, b.event) == Ordering::Greater {
                in_order = false;
                break;
            }
        }
    }
    if !in_order {
        out.sort_by(|a, b| key(a).cmp(&key(b)).then_with(|| id_order(a.event, b.event)));
        shared_keys = out.windows(2).any(|w| key(&w[0]) == key(&w[1]));
    }
    if !shared_keys {
        return out;
    }
    // Duplicates need not be neighbours (a reply listed twice with other
    // ids, a requester comment between): compare with everything kept at
    // the same instant (events of another rank are of another kind).
    let mut kept = 0;
    let mut instant_from = 0;
    let mut kept_at = i64::MIN;
    for i in 0..out.len() {
        let e = out[i];
        if kept > 0 && kept_at != e.at {
            instant_from = kept;
        }
        if instant_from == kept
            || !out[instant_from..kept]
                .iter()
                .any(|k| k.rank == e.rank && k.event.change == e.event.change)
        {
            out[kept] = e;
            kept += 1;
            kept_at = e.at;
        }
    }
    out.truncate(kept);
    out
}

/// Serde for instants as RFC 3339 text.
pub mod instant {
    use super::*;

    pub fn serialize<S: Serializer>(t: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_instant(*t))
    }

    /// Parses the text where the deserializer holds it: serde's `Cow<str>`
    /// (what this read before) copies it into a `String` first, and
    /// instants are most of a timeline's values. Accepts what a `String`
    /// accepts, with the same errors at the same place: a text that is not
    /// an instant is refused once the text is read, as before (inside the
    /// deserializer, `serde_json` would place the error a character
    /// earlier when the instant ends its object).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        struct InstantVisitor;
        impl serde::de::Visitor<'_> for InstantVisitor {
            type Value = Result<i64, String>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(parse_instant(v))
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
                match std::str::from_utf8(v) {
                    Ok(text) => self.visit_str(text),
                    Err(_) => Err(E::invalid_value(serde::de::Unexpected::Bytes(v), &self)),
                }
            }
        }
        d.deserialize_string(InstantVisitor)?
            .map_err(serde::de::Error::custom)
    }
}

/// Whether a field value matches any of `values` (as text, case-insensitive;
/// an array matches when any element does).
pub fn field_matches(value: &serde_json::Value, values: &[String]) -> bool {
    match value {
        serde_json::Value::String(s) => values.iter().any(|v| v.eq_ignore_ascii_case(s)),
        serde_json::Value::Number(n) => values.iter().any(|v| *v == n.to_string()),
        serde_json::Value::Bool(b) => values
            .iter()
            .any(|v| v.eq_ignore_ascii_case(if *b { "true" } else { "false" })),
        serde_json::Value::Array(items) => items.iter().any(|i| field_matches(i, values)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `event_order` keys on the rank alone: it must order the phases as
    /// `phase` does, and the ranks of comments and status changes are the
    /// walk's.
    #[test]
    fn ranks_order_the_phases() {
        let changes = [
            Change::Organization { value: None },
            Change::Tags { value: Vec::new() },
            Change::Priority { value: None },
            Change::Severity { value: None },
            Change::Group { value: None },
            Change::Field {
                name: "type".into(),
                value: serde_json::Value::Null,
            },
            Change::Comment {
                author: Author::Agent,
                public: true,
            },
            Change::Status {
                value: Status::Open,
            },
        ];
        for a in &changes {
            // The walk finds a step's phases by these ranks.
            assert_eq!(a.phase() == 1, a.rank() == COMMENT_RANK, "{a:?}");
            assert_eq!(a.phase() == 2, a.rank() == STATUS_RANK, "{a:?}");
            for b in &changes {
                if a.phase() < b.phase() {
                    assert!(a.rank() < b.rank(), "{a:?} {b:?}");
                }
            }
        }
    }
}
