//! From stored records to the engine's ticket timeline.
//!
//! The header's current organization, tags and fields are the ticket's
//! state until an event says otherwise; adapters emit the ticket's creation
//! values as events at `created_at`, which then win. An organization is
//! resolved by id to the latest stored record of it (an unknown id becomes an
//! organization with no tags, so the plan falls to the default). A comment's
//! author is the ticket's requester when the ids match, else an agent or
//! another end user by the stored users, else what the adapter read.

use std::collections::HashMap;
use std::hash::BuildHasher;

use super::{ChangeRecord, EventRecord, OrganizationRecord, TicketHeader};
use crate::engine::timeline::Author;
use crate::engine::{Change, Event, Organization, Ticket};

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
    let events = events
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
        fields: header.fields.clone(),
        priority: None,
        group: None,
        status: None,
        events,
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
            fields: Default::default(),
            deleted: false,
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
        assert_eq!(t.source.as_deref(), Some("zendesk"));
    }
}
