//! From stored records to the engine's ticket timeline.
//!
//! The header's current organization, tags and fields are the ticket's
//! state until an event says otherwise; adapters emit the ticket's creation
//! values as events at `created_at`, which then win. A field that has events
//! starts unset: its history is in them (else a value set later would count
//! from creation). An organization is resolved by id to the latest stored
//! record of it (an unknown id becomes an organization with no tags, so the
//! plan falls to the default). A comment's author is the ticket's requester
//! when the ids match, else an agent or another end user by the stored
//! users; an author id the stored users lack keeps the adapter's reading
//! when it had one (agent or requester), else is `unknown` (a deleted user,
//! an API user: reported, counted for no clock); a comment without an
//! author id keeps what the adapter read. The header's status, priority, group and
//! organization become the timeline's `current` record, for the
//! cross-check ([`crate::engine::crosscheck`]), when the header has a
//! status (headers stored before they carried the ticket's state have
//! none, and are not checked).
//!
//! A helpdesk's own SLA record, stored as `field` changes under a name
//! with the prefix of a kind's [`SlaRecord`] (Zendesk's metric events,
//! `zendesk_sla.<metric>`), is no part of the timeline: the engine never
//! sees it. Each such name becomes a field of the ticket holding the list
//! of its events in the order they are stored (by instant, then id), each
//! as its kind's [`SlaRecord::value`] makes it from the stored event (which
//! may leave out what the event's id and instant say).

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use super::{ChangeRecord, EventRecord, OrganizationRecord, SlaRecord, TicketHeader, KINDS};
use crate::engine::timeline::Author;
use crate::engine::{Change, Current, Event, Organization, Ticket};

/// The kind of SLA record a field change of this name is part of, if any.
fn sla_record(name: &str) -> Option<&'static SlaRecord> {
    KINDS
        .iter()
        .filter_map(|k| k.sla_record)
        .find(|r| name.starts_with(r.prefix))
}

/// Whether a field change of this name is a helpdesk's own SLA record.
pub fn is_record(name: &str) -> bool {
    sla_record(name).is_some()
}

/// Whether a change is part of a helpdesk's own SLA record, not of the
/// ticket's timeline: a store does not count it as a change of the ticket
/// (see [`crate::store::Applied::recorded`]).
pub fn is_record_change(change: &ChangeRecord) -> bool {
    matches!(change, ChangeRecord::Field { name, .. } if is_record(name))
}

fn organization<S: BuildHasher>(
    id: &str,
    orgs: &HashMap<String, OrganizationRecord, S>,
) -> Organization {
    match orgs.get(id) {
        Some(o) => Organization {
            id: o.id.clone(),
            name: o.name.clone(),
            tags: o.tags.clone(),
            fields: o.fields.clone(),
        },
        None => Organization {
            id: id.to_string(),
            name: None,
            tags: Vec::new(),
            fields: Default::default(),
        },
    }
}

/// `users`: user id → whether an agent.
fn author(
    guess: Author,
    id: Option<&str>,
    header: &TicketHeader,
    users: &HashMap<String, bool, impl BuildHasher>,
) -> Author {
    match id {
        Some(id) if header.requester_id.as_deref() == Some(id) => Author::Requester,
        Some(id) => match users.get(id) {
            Some(true) => Author::Agent,
            Some(false) => Author::Other,
            // The adapter's own reading if it had one; else nobody knows.
            None if guess == Author::Other => Author::Unknown,
            None => guess,
        },
        None => guess,
    }
}

/// The timeline of one ticket, taking its events (sorted as the store keeps
/// them). `users`: user id → whether an agent.
pub fn ticket<S: BuildHasher>(
    header: &TicketHeader,
    events: Vec<EventRecord>,
    orgs: &HashMap<String, OrganizationRecord, S>,
    users: &HashMap<String, bool, impl BuildHasher>,
    source: &str,
) -> Ticket {
    let mut fields = header.fields.clone();
    let mut records: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    let mut timeline = Vec::with_capacity(events.len());
    for e in events {
        let kind = match &e.change {
            ChangeRecord::Field { name, .. } => sla_record(name),
            _ => None,
        };
        match (e.change, kind) {
            (ChangeRecord::Field { name, value }, Some(kind)) => {
                let value = (kind.value)(&e.id, e.at, value);
                records.entry(name).or_default().push(value);
            }
            (change, _) => {
                if let ChangeRecord::Field { name, .. } = &change {
                    fields.remove(name);
                }
                timeline.push(EventRecord { change, ..e });
            }
        }
    }
    for (name, values) in records {
        fields.insert(name, serde_json::Value::Array(values));
    }
    let events = timeline
        .into_iter()
        .map(|e| Event {
            id: Some(e.id),
            at: e.at,
            change: match e.change {
                ChangeRecord::Priority { value } => Change::Priority { value },
                ChangeRecord::Severity { value } => Change::Severity { value },
                ChangeRecord::Group { value } => Change::Group { value },
                ChangeRecord::Organization { id } => Change::Organization {
                    value: id.as_deref().map(|id| organization(id, orgs)),
                },
                ChangeRecord::Tags { value } => Change::Tags { value },
                ChangeRecord::Comment {
                    author: guess,
                    author_id,
                    public,
                } => Change::Comment {
                    author: author(guess, author_id.as_deref(), header, users),
                    public,
                },
                ChangeRecord::Status { value } => Change::Status { value },
                ChangeRecord::Field { name, value } => Change::Field { name, value },
            },
        })
        .collect();
    Ticket {
        id: header.id.clone(),
        created_at: header.created_at,
        source: Some(source.to_string()),
        url: header.url.clone(),
        organization: header
            .organization_id
            .as_deref()
            .map(|id| organization(id, orgs)),
        tags: header.tags.clone(),
        fields,
        priority: None,
        group: None,
        status: None,
        events,
        // A header without a status does not carry the ticket's state (one
        // stored before headers did): nothing to check against.
        current: header.status.map(|status| Current {
            updated_at: header.updated_at,
            status: Some(status),
            priority: header.priority.clone(),
            group: header.group.clone(),
            organization_id: header.organization_id.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::spec::Status;

    #[test]
    fn organizations_resolve_by_id_and_events_keep_their_ids() {
        let mut orgs = HashMap::new();
        orgs.insert(
            "900".to_string(),
            OrganizationRecord {
                id: "900".into(),
                name: Some("Acme".into()),
                tags: vec!["plan_premier".into()],
                fields: Default::default(),
            },
        );
        let header = TicketHeader {
            id: "1".into(),
            created_at: 100,
            updated_at: 200,
            url: None,
            organization_id: Some("901".into()),
            requester_id: Some("10".into()),
            tags: vec![],
            fields: [("360".to_string(), serde_json::json!("sev3"))]
                .into_iter()
                .collect(),
            deleted: false,
            status: Some(Status::Solved),
            priority: None,
            group: None,
        };
        let events = vec![
            EventRecord {
                ticket_id: "1".into(),
                id: "e1".into(),
                at: 100,
                change: ChangeRecord::Organization {
                    id: Some("900".into()),
                },
            },
            EventRecord {
                ticket_id: "1".into(),
                id: "e2".into(),
                at: 150,
                change: ChangeRecord::Comment {
                    author: Author::Other,
                    author_id: Some("20".into()),
                    public: true,
                },
            },
            EventRecord {
                ticket_id: "1".into(),
                id: "e2b".into(),
                at: 155,
                change: ChangeRecord::Comment {
                    author: Author::Agent,
                    author_id: Some("10".into()),
                    public: true,
                },
            },
            EventRecord {
                ticket_id: "1".into(),
                id: "e2c".into(),
                at: 156,
                change: ChangeRecord::Comment {
                    author: Author::Other,
                    author_id: Some("404".into()),
                    public: true,
                },
            },
            EventRecord {
                ticket_id: "1".into(),
                id: "e2d".into(),
                at: 157,
                change: ChangeRecord::Field {
                    name: "360".into(),
                    value: serde_json::json!("sev1"),
                },
            },
            EventRecord {
                ticket_id: "1".into(),
                id: "e3".into(),
                at: 160,
                change: ChangeRecord::Status {
                    value: Status::Solved,
                },
            },
        ];
        let users: HashMap<String, bool> = [("20".to_string(), true)].into_iter().collect();
        let t = ticket(&header, events, &orgs, &users, "zendesk");
        // The header's org is unknown: an organization with no tags.
        assert_eq!(t.organization.as_ref().map(|o| o.tags.len()), Some(0));
        match &t.events[0].change {
            Change::Organization { value: Some(o) } => {
                assert_eq!(o.tags, vec!["plan_premier".to_string()])
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(t.events[1].id.as_deref(), Some("e2"));
        // The stored user says agent; the requester's id says requester.
        assert!(matches!(
            t.events[1].change,
            Change::Comment {
                author: Author::Agent,
                ..
            }
        ));
        assert!(matches!(
            t.events[2].change,
            Change::Comment {
                author: Author::Requester,
                ..
            }
        ));
        // An author the stored users lack is unknown, not "other".
        assert!(matches!(
            t.events[3].change,
            Change::Comment {
                author: Author::Unknown,
                ..
            }
        ));
        // The field's history is in its events: it starts unset.
        assert!(!t.fields.contains_key("360"));
        assert_eq!(t.current.as_ref().map(|c| c.updated_at), Some(200));
        assert_eq!(
            t.current.as_ref().and_then(|c| c.status),
            Some(Status::Solved)
        );
        assert_eq!(t.source.as_deref(), Some("zendesk"));
    }
}
