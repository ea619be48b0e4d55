//! Zendesk users, organizations and tickets as read from a page, and the
//! records they become.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::{events, Str, ZValue};
use crate::policy::spec::Status;
use crate::sources::{OrganizationRecord, SourceError, TicketHeader, UserRecord};
use crate::time::parse_instant;

#[derive(Deserialize)]
pub(super) struct ZUser<'a> {
    #[serde(borrow)]
    id: ZValue<'a>,
    #[serde(default, borrow)]
    role: Option<Str<'a>>,
}

impl ZUser<'_> {
    pub(super) fn record(&self) -> UserRecord {
        UserRecord {
            id: self.id.id_text().unwrap_or_default(),
            agent: matches!(self.role.as_deref(), Some("agent" | "admin")),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct ZOrganization<'a> {
    #[serde(borrow)]
    id: ZValue<'a>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    organization_fields: BTreeMap<String, Value>,
}

impl ZOrganization<'_> {
    pub(super) fn record(self) -> OrganizationRecord {
        OrganizationRecord {
            id: self.id.id_text().unwrap_or_default(),
            name: self.name,
            tags: self.tags,
            fields: self.organization_fields,
        }
    }
}

#[derive(Deserialize)]
struct ZCustomField<'a> {
    #[serde(borrow)]
    id: ZValue<'a>,
    #[serde(default)]
    value: Value,
}

#[derive(Deserialize)]
pub(super) struct ZTicket<'a> {
    #[serde(borrow)]
    id: ZValue<'a>,
    #[serde(default, borrow)]
    url: Option<Str<'a>>,
    #[serde(borrow)]
    created_at: Str<'a>,
    #[serde(borrow)]
    updated_at: Str<'a>,
    #[serde(default, borrow)]
    status: Option<Str<'a>>,
    #[serde(default, borrow)]
    custom_status_id: ZValue<'a>,
    #[serde(default, borrow)]
    priority: Option<Str<'a>>,
    #[serde(default, borrow)]
    group_id: ZValue<'a>,
    #[serde(default, borrow)]
    requester_id: ZValue<'a>,
    #[serde(default, borrow)]
    organization_id: ZValue<'a>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default, borrow)]
    custom_fields: Vec<ZCustomField<'a>>,
}

impl ZTicket<'_> {
    /// The ticket's header. Its status is the config's choice for its
    /// custom status, else its system status, else its custom status'
    /// category.
    pub(super) fn header(
        self,
        stream: &str,
        custom_status_override: &dyn Fn(&str) -> Option<Status>,
        custom_status_category: &dyn Fn(&str) -> Option<Status>,
    ) -> Result<TicketHeader, SourceError> {
        let malformed = |what: String| SourceError::Malformed {
            stream: stream.to_string(),
            message: what,
        };
        let id = self
            .id
            .id_text()
            .ok_or_else(|| malformed("a ticket without an id".into()))?;
        let created_at = parse_instant(&self.created_at)
            .map_err(|e| malformed(format!("ticket {id}: created_at: {e}")))?;
        let updated_at = parse_instant(&self.updated_at)
            .map_err(|e| malformed(format!("ticket {id}: updated_at: {e}")))?;
        Ok(TicketHeader {
            url: self.url.as_deref().map(agent_link),
            created_at,
            updated_at,
            organization_id: self.organization_id.id_text(),
            requester_id: self.requester_id.id_text(),
            tags: self.tags,
            fields: self
                .custom_fields
                .into_iter()
                .filter_map(|f| Some((f.id.id_text()?, f.value)))
                .collect(),
            deleted: self.status.as_deref() == Some("deleted"),
            status: {
                let custom = self.custom_status_id.id_text();
                custom
                    .as_deref()
                    .and_then(custom_status_override)
                    .or_else(|| self.status.as_deref().and_then(events::status_of))
                    .or_else(|| custom.as_deref().and_then(custom_status_category))
            },
            priority: self
                .priority
                .as_deref()
                .filter(|p| !p.is_empty())
                .map(str::to_string),
            group: self.group_id.id_text(),
            id,
        })
    }
}

/// `https://x.zendesk.com/api/v2/tickets/7.json` → `https://x.zendesk.com/agent/tickets/7`.
fn agent_link(api_url: &str) -> String {
    const API: &str = "/api/v2/tickets/";
    // The first occurrence, as `split_once` finds it, but looked for only
    // at the slashes (a substring searcher costs more to set up than a URL
    // takes to scan).
    let at = api_url
        .match_indices('/')
        .map(|(i, _)| i)
        .find(|&i| api_url[i..].starts_with(API));
    match at {
        Some(i) => {
            let (host, rest) = (&api_url[..i], &api_url[i + API.len()..]);
            let id = rest.trim_end_matches(".json");
            let mut link = String::with_capacity(host.len() + 15 + id.len());
            link.push_str(host);
            link.push_str("/agent/tickets/");
            link.push_str(id);
            link
        }
        None => api_url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_custom(_: &str) -> Option<Status> {
        None
    }

    #[test]
    fn ticket_headers_link_to_the_agent_ui_and_carry_their_state_now() {
        let text = serde_json::json!({
            "id": 7, "url": "https://acme.zendesk.com/api/v2/tickets/7.json",
            "created_at": "2026-11-20T16:00:00Z", "updated_at": "2026-11-21T16:00:00Z",
            "status": "pending", "custom_status_id": 4044396, "priority": "high",
            "group_id": 360001, "requester_id": 10, "organization_id": null,
            "tags": ["x"], "custom_fields": [{"id": 360, "value": "sev1"}],
            "via": {"channel": "web", "source": {"from": {}, "to": {}, "rel": null}}
        })
        .to_string();
        let t: ZTicket = serde_json::from_str(&text).unwrap();
        let h = t.header("tickets", &no_custom, &no_custom).unwrap();
        assert_eq!(
            h.url.as_deref(),
            Some("https://acme.zendesk.com/agent/tickets/7")
        );
        assert!(!h.deleted);
        assert_eq!(h.status, Some(Status::Pending));
        assert_eq!(h.priority.as_deref(), Some("high"));
        assert_eq!(h.group.as_deref(), Some("360001"));
        assert_eq!(h.organization_id, None);
        assert_eq!(h.requester_id.as_deref(), Some("10"));
        assert_eq!(h.fields.get("360"), Some(&serde_json::json!("sev1")));
        // A custom status the config counts as hold wins over the category.
        let t: ZTicket = serde_json::from_str(&text).unwrap();
        let hold = |id: &str| (id == "4044396").then_some(Status::Hold);
        assert_eq!(
            t.header("tickets", &hold, &no_custom).unwrap().status,
            Some(Status::Hold)
        );
    }

    #[test]
    fn deleted_tickets_are_marked() {
        let text = r#"{"id":8,"created_at":"2026-11-20T16:00:00Z","updated_at":"2026-11-21T16:00:00Z","status":"deleted"}"#;
        let t: ZTicket = serde_json::from_str(text).unwrap();
        let h = t.header("tickets", &no_custom, &no_custom).unwrap();
        assert!(h.deleted);
        assert_eq!(h.status, None);
    }

    #[test]
    fn a_bad_timestamp_is_malformed_naming_the_ticket() {
        let text = serde_json::json!({
            "id": 8, "created_at": "yesterday", "updated_at": "2026-11-21T16:00:00Z"
        })
        .to_string();
        let t: ZTicket = serde_json::from_str(&text).unwrap();
        let e = t
            .header("tickets", &no_custom, &no_custom)
            .unwrap_err()
            .to_string();
        assert!(e.contains("ticket 8: created_at"), "{e}");
    }
}
