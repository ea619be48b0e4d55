//! Zendesk's ticket events (the incremental ticket event export) onto the
//! normalized timeline.
//!
//! Each item of `ticket_events` is one update of a ticket (`event_type`
//! `"Audit"`) with its `child_events`. The shapes, as Zendesk documents and
//! sends them (sources in `docs/zendesk.md`):
//!
//! * `Create` and `Change` children carry **the changed field as a key of
//!   its own**, with `previous_value` on a change: `{"id":…,
//!   "event_type":"Change", "via":"Web form", "status":"solved",
//!   "previous_value":"open"}`. Read: `status`, `custom_status_id`,
//!   `priority`, `group_id`, `organization_id`, `tags` (the whole set after
//!   the change; `added_tags`/`removed_tags` beside it), `type`, and
//!   `custom_ticket_fields` (`{"<field id>": value}`). Any value may be
//!   `null` (a priority removed). Other keys (`subject`, `assignee_id`,
//!   `requester_id`, `brand_id`, `ticket_form_id`, …) change nothing an SLA
//!   reads.
//! * `Comment` children (with `include=comment_events`): `author_id`,
//!   `public`, `type` (`"Comment"` or `"VoiceComment"`), `via` as an object,
//!   bodies and attachments (not read).
//! * Every other kind (`Notification`, `Cc`, `SatisfactionRating`,
//!   `TicketSharingEvent`, `OrganizationActivity`, …) is counted by kind and
//!   ignored, never fatal.
//!
//! The Ticket Audits API (`/api/v2/tickets/{id}/audits`) writes changes as
//! `field_name` + `value`; that is another endpoint's format and is not read
//! here.
//!
//! Event ids are `<audit id>.<child id>`, with `.<key>` after the first
//! record of a child that gives several (a child with two custom fields), so
//! a page read twice stores nothing twice.

use std::collections::BTreeMap;

use serde::de::Deserializer;
use serde::Deserialize;
use serde_json::Value;

use super::{Str, ZValue};
use crate::engine::timeline::Author;
use crate::policy::spec::{Status, VoiceComments};
use crate::sources::{ChangeRecord, EventRecord, NoteRecord, Record};

/// A key of a child event: absent, or present with a value (`null`
/// included, which [`Option`] would not tell from absent).
#[derive(Default)]
pub(super) enum Key<'a> {
    #[default]
    Absent,
    Given(ZValue<'a>),
}

impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ZValue::deserialize(d).map(Key::Given)
    }
}

/// `custom_ticket_fields`: an object of field id to value; any other shape
/// is read as no fields (and counted as an odd child).
#[derive(Default)]
pub(super) struct CustomFields(Option<BTreeMap<String, Value>>);

impl<'de> Deserialize<'de> for CustomFields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(CustomFields(match Value::deserialize(d)? {
            Value::Object(map) => Some(map.into_iter().collect()),
            _ => None,
        }))
    }
}

/// A child event: every kind in one struct, the keys a kind does not have
/// left absent.
#[derive(Deserialize)]
pub(super) struct ZChild<'a> {
    #[serde(borrow)]
    id: ZValue<'a>,
    #[serde(borrow)]
    event_type: Str<'a>,
    #[serde(default, borrow)]
    status: Key<'a>,
    #[serde(default, borrow)]
    custom_status_id: Key<'a>,
    #[serde(default, borrow)]
    priority: Key<'a>,
    #[serde(default, borrow)]
    group_id: Key<'a>,
    #[serde(default, borrow)]
    organization_id: Key<'a>,
    #[serde(default, borrow)]
    tags: Key<'a>,
    /// The ticket's type on a `Create`/`Change`; the comment's kind on a
    /// `Comment` (`Comment`, `VoiceComment`).
    #[serde(default, borrow, rename = "type")]
    kind: Key<'a>,
    #[serde(default)]
    custom_ticket_fields: CustomFields,
    #[serde(default, borrow)]
    author_id: ZValue<'a>,
    #[serde(default)]
    public: Option<bool>,
}

/// One item of `ticket_events`.
#[derive(Deserialize)]
pub(super) struct ZTicketEvent<'a> {
    #[serde(borrow)]
    id: ZValue<'a>,
    #[serde(borrow)]
    ticket_id: ZValue<'a>,
    timestamp: i64,
    #[serde(default, borrow)]
    child_events: Vec<ZChild<'a>>,
}

/// Zendesk's system statuses (a custom status' `status_category` uses the
/// same words).
pub(super) fn status_of(text: &str) -> Option<Status> {
    Some(match text {
        "new" => Status::New,
        "open" => Status::Open,
        "pending" => Status::Pending,
        "hold" => Status::Hold,
        "solved" => Status::Solved,
        "closed" => Status::Closed,
        _ => return None,
    })
}

fn tags_of(v: &ZValue) -> Vec<String> {
    match v {
        ZValue::Strs(items) => items.iter().map(|i| i.to_string()).collect(),
        ZValue::Str(s) => s.split_whitespace().map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

/// What mapping needs besides the page: custom statuses and settings.
pub(super) struct Mapping<'m> {
    /// Custom status id → the status the config counts it as.
    pub custom_status_override: &'m dyn Fn(&str) -> Option<Status>,
    /// Custom status id → its category, as the account lists it.
    pub custom_status_category: &'m dyn Fn(&str) -> Option<Status>,
    pub voice_comments: VoiceComments,
}

/// What mapping noticed and did not turn into records.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Noticed {
    /// Child events of kinds that change nothing an SLA reads, by kind.
    pub ignored: BTreeMap<String, u64>,
    /// Custom status ids that no custom status (nor the config) names.
    pub unknown_custom_statuses: Vec<String>,
    /// Status values that are no Zendesk status.
    pub unknown_statuses: Vec<String>,
    /// Per (note kind, name): the first and last update instants seen.
    pub seen: BTreeMap<(&'static str, String), (i64, i64)>,
}

impl Noticed {
    fn saw(&mut self, kind: &'static str, name: &str, at: i64) {
        let span = self
            .seen
            .entry((kind, name.to_string()))
            .or_insert((at, at));
        span.0 = span.0.min(at);
        span.1 = span.1.max(at);
    }

    /// What was noticed, as records for the store.
    pub(super) fn notes(&self) -> impl Iterator<Item = Record> + '_ {
        self.seen
            .iter()
            .map(|((kind, name), &(first_at, last_at))| {
                Record::Note(NoteRecord {
                    kind: (*kind).to_string(),
                    name: name.clone(),
                    first_at,
                    last_at,
                })
            })
    }
}

impl ZTicketEvent<'_> {
    /// Appends this update's records to `out`.
    pub(super) fn records(&self, map: &Mapping, out: &mut Vec<Record>, noticed: &mut Noticed) {
        let mut audit = String::with_capacity(24);
        if !self.id.write_id(&mut audit) {
            return;
        }
        let Some(ticket_id) = self.ticket_id.id_text() else {
            return;
        };
        audit.push('.');
        // With custom statuses, one update changes `status` and
        // `custom_status_id` in two children. The system status says it
        // (and tells closed from solved, which share a category) unless the
        // config counts the custom status as another status, or the update
        // has no `status` child: then the custom status decides.
        let has_status = self.child_events.iter().any(|c| {
            matches!(c.status, Key::Given(_)) && matches!(&*c.event_type, "Create" | "Change")
        });
        let custom_status = self
            .child_events
            .iter()
            .find_map(|c| match &c.custom_status_id {
                Key::Given(v) if matches!(&*c.event_type, "Create" | "Change") => {
                    let id = v.id_text()?;
                    if let Some(s) = (map.custom_status_override)(&id) {
                        return Some(s);
                    }
                    if has_status {
                        return None;
                    }
                    let found = (map.custom_status_category)(&id);
                    if found.is_none() {
                        noticed.saw("unmapped_custom_status_id", &id, self.timestamp);
                        noticed.unknown_custom_statuses.push(id);
                    }
                    found
                }
                _ => None,
            });
        let mut custom_status_used = false;
        for child in &self.child_events {
            let mut child_id = String::with_capacity(audit.len() + 20);
            child_id.push_str(&audit);
            child.id.write_id(&mut child_id);
            // The first record of the child gets `child_id` itself, moved in
            // once the child is done (most children give one record).
            let first = out.len();
            let mut push = |key: &str, change: ChangeRecord| {
                let id = if out.len() == first {
                    String::new()
                } else {
                    format!("{child_id}.{key}")
                };
                out.push(Record::Event(EventRecord {
                    ticket_id: ticket_id.clone(),
                    id,
                    at: self.timestamp,
                    change,
                }));
            };
            match &*child.event_type {
                "Create" | "Change" => {
                    if matches!(child.custom_status_id, Key::Given(_)) && !custom_status_used {
                        if let Some(value) = custom_status {
                            custom_status_used = true;
                            push("custom_status_id", ChangeRecord::Status { value });
                        }
                    }
                    if let Key::Given(v) = &child.status {
                        if custom_status.is_none() {
                            match v.as_str().and_then(status_of) {
                                Some(value) => push("status", ChangeRecord::Status { value }),
                                // `deleted` and anything new: not a status
                                // an SLA knows.
                                None => {
                                    let value = v.as_str().unwrap_or("(not text)");
                                    noticed.saw("unmapped_status", value, self.timestamp);
                                    noticed.unknown_statuses.push(value.to_string());
                                }
                            }
                        }
                    }
                    if let Key::Given(v) = &child.priority {
                        let value = v.as_str().filter(|s| !s.is_empty()).map(str::to_string);
                        push("priority", ChangeRecord::Priority { value });
                    }
                    if let Key::Given(v) = &child.group_id {
                        push("group_id", ChangeRecord::Group { value: v.id_text() });
                    }
                    if let Key::Given(v) = &child.organization_id {
                        push(
                            "organization_id",
                            ChangeRecord::Organization { id: v.id_text() },
                        );
                    }
                    if let Key::Given(v) = &child.tags {
                        push("tags", ChangeRecord::Tags { value: tags_of(v) });
                    }
                    // A field created empty is as a field with events starts
                    // (unset): no event for it.
                    let create = &*child.event_type == "Create";
                    if let Key::Given(v) = &child.kind {
                        let value = v.as_str().map_or(Value::Null, Value::from);
                        if !(create && value.is_null()) {
                            push(
                                "type",
                                ChangeRecord::Field {
                                    name: "type".to_string(),
                                    value,
                                },
                            );
                        }
                    }
                    if let Some(fields) = &child.custom_ticket_fields.0 {
                        for (name, value) in fields {
                            if create && value.is_null() {
                                continue;
                            }
                            push(
                                name,
                                ChangeRecord::Field {
                                    name: name.clone(),
                                    value: value.clone(),
                                },
                            );
                        }
                    }
                }
                "Comment" | "VoiceComment" => {
                    let voice = &*child.event_type == "VoiceComment"
                        || matches!(&child.kind, Key::Given(k) if k.as_str() == Some("VoiceComment"));
                    if voice && map.voice_comments == VoiceComments::Ignore {
                        *noticed
                            .ignored
                            .entry("VoiceComment".to_string())
                            .or_default() += 1;
                        noticed.saw("ignored_event", "VoiceComment", self.timestamp);
                        continue;
                    }
                    push(
                        "comment",
                        ChangeRecord::Comment {
                            author: Author::Other,
                            author_id: child.author_id.id_text(),
                            public: child.public.unwrap_or(true),
                        },
                    );
                }
                other => {
                    *noticed.ignored.entry(other.to_string()).or_default() += 1;
                    noticed.saw("ignored_event", other, self.timestamp);
                }
            }
            if let Some(Record::Event(e)) = out.get_mut(first) {
                e.id = child_id;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> Option<Status> {
        None
    }

    fn map_with(
        text: &str,
        overrides: &dyn Fn(&str) -> Option<Status>,
        categories: &dyn Fn(&str) -> Option<Status>,
        voice: VoiceComments,
    ) -> (Vec<EventRecord>, Noticed) {
        let e: ZTicketEvent = serde_json::from_str(text).unwrap();
        let mapping = Mapping {
            custom_status_override: overrides,
            custom_status_category: categories,
            voice_comments: voice,
        };
        let mut out = Vec::new();
        let mut noticed = Noticed::default();
        e.records(&mapping, &mut out, &mut noticed);
        let events = out
            .into_iter()
            .map(|r| match r {
                Record::Event(e) => e,
                other => panic!("{other:?}"),
            })
            .collect();
        (events, noticed)
    }

    /// Mapped with custom status categories and no overrides.
    fn map(
        text: &str,
        categories: &dyn Fn(&str) -> Option<Status>,
        voice: VoiceComments,
    ) -> (Vec<EventRecord>, Noticed) {
        map_with(text, &none, categories, voice)
    }

    fn changes(events: &[EventRecord]) -> Vec<ChangeRecord> {
        events.iter().map(|e| e.change.clone()).collect()
    }

    #[test]
    fn each_changed_field_is_a_key_of_its_own() {
        let text = r#"{"id":55,"ticket_id":7,"timestamp":1790000000,"created_at":"2026-09-21T14:13:20Z",
            "updater_id":20,"via":"Web form","system":{},"metadata":{},"event_type":"Audit","merged_ticket_ids":[],
            "child_events":[
              {"id":1,"via":"Web form","via_reference_id":null,"status":"pending","previous_value":"open","event_type":"Change"},
              {"id":2,"via":"Web form","via_reference_id":null,"priority":null,"previous_value":"high","event_type":"Change"},
              {"id":3,"via":"Web form","via_reference_id":null,"group_id":360001,"previous_value":null,"event_type":"Change"},
              {"id":4,"via":"Web form","via_reference_id":null,"organization_id":900,"previous_value":901,"event_type":"Change"},
              {"id":5,"via":"Web form","via_reference_id":null,"tags":["a","b"],"added_tags":["b"],"removed_tags":[],"previous_value":["a"],"event_type":"Change"},
              {"id":6,"via":"Web form","via_reference_id":null,"type":"problem","previous_value":"question","event_type":"Change"},
              {"id":7,"via":"Web form","via_reference_id":null,"custom_ticket_fields":{"360041597112":"sev1","360041597113":2},"previous_value":null,"event_type":"Change"},
              {"id":8,"via":"Web form","via_reference_id":null,"subject":"new subject","previous_value":"old","event_type":"Change"},
              {"id":9,"via":"Web form","via_reference_id":null,"assignee_id":30,"previous_value":null,"event_type":"Change"}
            ]}"#;
        let (events, noticed) = map(text, &|_| None, VoiceComments::Count);
        assert_eq!(
            changes(&events),
            vec![
                ChangeRecord::Status {
                    value: Status::Pending
                },
                ChangeRecord::Priority { value: None },
                ChangeRecord::Group {
                    value: Some("360001".into())
                },
                ChangeRecord::Organization {
                    id: Some("900".into())
                },
                ChangeRecord::Tags {
                    value: vec!["a".into(), "b".into()]
                },
                ChangeRecord::Field {
                    name: "type".into(),
                    value: serde_json::json!("problem")
                },
                ChangeRecord::Field {
                    name: "360041597112".into(),
                    value: serde_json::json!("sev1")
                },
                ChangeRecord::Field {
                    name: "360041597113".into(),
                    value: serde_json::json!(2)
                },
            ]
        );
        let ids: Vec<_> = events.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "55.1",
                "55.2",
                "55.3",
                "55.4",
                "55.5",
                "55.6",
                "55.7",
                "55.7.360041597113"
            ]
        );
        assert!(events
            .iter()
            .all(|e| e.ticket_id == "7" && e.at == 1_790_000_000));
        assert_eq!(noticed, Noticed::default());
    }

    #[test]
    fn a_custom_status_decides_over_the_status_beside_it() {
        let text = r#"{"id":56,"ticket_id":7,"timestamp":1790000000,"event_type":"Audit","child_events":[
              {"id":1,"via":"Web form","status":"open","previous_value":"new","event_type":"Change"},
              {"id":2,"via":"Web form","custom_status_id":1500001,"previous_value":4044356,"event_type":"Change"}]}"#;
        // The account lists it in the open category: the status child says
        // the same.
        let open = |id: &str| (id == "1500001").then_some(Status::Open);
        let (events, _) = map(text, &open, VoiceComments::Count);
        assert_eq!(
            changes(&events),
            vec![ChangeRecord::Status {
                value: Status::Open
            }]
        );
        // The config counts it as hold: that decides.
        let hold = |id: &str| (id == "1500001").then_some(Status::Hold);
        let (events, _) = map_with(text, &hold, &open, VoiceComments::Count);
        assert_eq!(
            changes(&events),
            vec![ChangeRecord::Status {
                value: Status::Hold
            }]
        );
        // Closed shares the solved category: the status child tells them
        // apart.
        let closed = r#"{"id":61,"ticket_id":7,"timestamp":1790000000,"child_events":[
              {"id":1,"status":"closed","previous_value":"solved","event_type":"Change"},
              {"id":2,"custom_status_id":4044436,"previous_value":4044436,"event_type":"Change"}]}"#;
        let solved = |_: &str| Some(Status::Solved);
        let (events, _) = map(closed, &solved, VoiceComments::Count);
        assert_eq!(
            changes(&events),
            vec![ChangeRecord::Status {
                value: Status::Closed
            }]
        );
        // Only the custom status, no `status` child: its category.
        let text = r#"{"id":57,"ticket_id":7,"timestamp":1790000000,"child_events":[
              {"id":2,"via":"Web form","custom_status_id":1500002,"previous_value":1500001,"event_type":"Change"}]}"#;
        let pending = |id: &str| (id == "1500002").then_some(Status::Pending);
        let (events, _) = map(text, &pending, VoiceComments::Count);
        assert_eq!(
            changes(&events),
            vec![ChangeRecord::Status {
                value: Status::Pending
            }]
        );
        // One nobody knows: noticed, and nothing invented.
        let (events, noticed) = map(text, &|_| None, VoiceComments::Count);
        assert!(events.is_empty());
        assert_eq!(noticed.unknown_custom_statuses, vec!["1500002".to_string()]);
    }

    #[test]
    fn comments_are_read_with_their_author_and_visibility_and_other_kinds_counted() {
        let text = r#"{"id":58,"ticket_id":7,"timestamp":1790000000,"event_type":"Audit","via":"Voicemail","child_events":[
              {"id":1,"via":{"channel":"web","source":{"from":{},"to":{},"rel":null}},"via_reference_id":null,"type":"Comment",
               "author_id":20,"body":"hi","html_body":"<p>hi</p>","plain_body":"hi","public":false,"attachments":[],
               "audit_id":58,"created_at":"2026-09-21T14:13:20Z","event_type":"Comment"},
              {"id":2,"via":{"channel":"voice","source":{"rel":"voicemail","from":{},"to":{}}},"type":"VoiceComment",
               "author_id":21,"public":true,"event_type":"Comment","data":{"recording_url":"x"}},
              {"id":3,"via":{"channel":"rule","source":{"rel":"trigger"}},"subject":"Re","body":"x","recipients":[10],"event_type":"Notification"},
              {"id":4,"event_type":"Cc","recipients":[11]},
              {"id":5,"event_type":"Notification"}]}"#;
        let (events, noticed) = map(text, &|_| None, VoiceComments::Count);
        assert_eq!(
            changes(&events),
            vec![
                ChangeRecord::Comment {
                    author: Author::Other,
                    author_id: Some("20".into()),
                    public: false
                },
                ChangeRecord::Comment {
                    author: Author::Other,
                    author_id: Some("21".into()),
                    public: true
                },
            ]
        );
        assert_eq!(noticed.ignored.get("Notification"), Some(&2));
        assert_eq!(noticed.ignored.get("Cc"), Some(&1));
        // Kept for the report as notes with the update's instant.
        let notes: Vec<_> = noticed.notes().collect();
        assert_eq!(
            notes,
            vec![
                Record::Note(NoteRecord {
                    kind: "ignored_event".into(),
                    name: "Cc".into(),
                    first_at: 1_790_000_000,
                    last_at: 1_790_000_000,
                }),
                Record::Note(NoteRecord {
                    kind: "ignored_event".into(),
                    name: "Notification".into(),
                    first_at: 1_790_000_000,
                    last_at: 1_790_000_000,
                }),
            ]
        );
        // Voice comments left out when the config says so.
        let (events, noticed) = map(text, &|_| None, VoiceComments::Ignore);
        assert_eq!(events.len(), 1);
        assert_eq!(noticed.ignored.get("VoiceComment"), Some(&1));
    }

    #[test]
    fn the_audits_api_format_is_not_read_as_changes() {
        // `field_name` + `value` is the Ticket Audits API's format; in the
        // ticket event export it would be a child with no field key.
        let text = r#"{"id":59,"ticket_id":7,"timestamp":1790000000,"child_events":[
              {"id":1,"event_type":"Change","field_name":"status","value":"solved","previous_value":"open"}]}"#;
        let (events, _) = map(text, &|_| None, VoiceComments::Count);
        assert!(events.is_empty());
    }

    #[test]
    fn an_unknown_status_value_is_noticed_not_mapped() {
        let text = r#"{"id":60,"ticket_id":7,"timestamp":1790000000,"child_events":[
              {"id":1,"event_type":"Change","status":"archived","previous_value":"closed"}]}"#;
        let (events, noticed) = map(text, &|_| None, VoiceComments::Count);
        assert!(events.is_empty());
        assert_eq!(noticed.unknown_statuses, vec!["archived".to_string()]);
    }
}
