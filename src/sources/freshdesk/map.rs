//! Freshdesk's wire shapes and the records they become: tickets (with
//! `stats`), conversations, activity export records, agents and
//! companies. Pure: no I/O. The rules are `docs/freshdesk.md`'s table.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::config::{History, OutboundEmail};
use super::gaps::{day_of, Gaps};
use crate::engine::timeline::Author;
use crate::policy::spec::Status;
use crate::sources::{
    ChangeRecord, EventRecord, NoteKey, NoteRecord, OrganizationRecord, Record, TicketHeader,
    UserRecord,
};
use crate::time::parse_instant;

/// What the mapping needs from the config and the account.
pub(super) struct Mapping<'a> {
    pub base: &'a str,
    pub custom_statuses: &'a BTreeMap<String, Status>,
    pub history: History,
    pub outbound_email: OutboundEmail,
    /// Tickets created before this instant have no exported history.
    pub history_from: i64,
    /// Days whose export could not be had: a ticket alive on one of them
    /// has no exported history either.
    pub gaps: &'a Gaps,
}

impl Mapping<'_> {
    /// A numeric status: 2-5 by Freshdesk's definition, 6 and up by the
    /// config, else open (its time runs).
    pub(super) fn status(&self, code: u64) -> Status {
        match code {
            2 => Status::Open,
            3 => Status::Pending,
            4 => Status::Solved,
            5 => Status::Closed,
            n => self
                .custom_statuses
                .get(&n.to_string())
                .copied()
                .unwrap_or(Status::Open),
        }
    }
}

/// Freshdesk's priority names, lowercased.
pub(super) fn priority_name(p: u64) -> Option<&'static str> {
    match p {
        1 => Some("low"),
        2 => Some("medium"),
        3 => Some("high"),
        4 => Some("urgent"),
        _ => None,
    }
}

/// An id as text (numbers as Freshdesk writes them).
fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct Stats {
    #[serde(default)]
    pub first_responded_at: Option<String>,
    #[serde(default)]
    pub agent_responded_at: Option<String>,
    #[serde(default)]
    pub requester_responded_at: Option<String>,
    #[serde(default)]
    pub resolved_at: Option<String>,
    #[serde(default)]
    pub closed_at: Option<String>,
    #[serde(default)]
    pub reopened_at: Option<String>,
    #[serde(default)]
    pub pending_since: Option<String>,
    #[serde(default)]
    pub status_updated_at: Option<String>,
}

/// A ticket of the list, with `include=stats`.
#[derive(Debug, Deserialize)]
pub(super) struct FdTicket {
    pub id: u64,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default)]
    pub status: Option<u64>,
    #[serde(default)]
    pub priority: Option<u64>,
    #[serde(default)]
    pub source: Option<u64>,
    #[serde(default)]
    pub group_id: Value,
    #[serde(default)]
    pub company_id: Value,
    #[serde(default)]
    pub requester_id: Value,
    #[serde(default, rename = "type")]
    pub kind: Value,
    /// `null` on some tickets, `[]` on others.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub custom_fields: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    pub fr_due_by: Value,
    #[serde(default)]
    pub due_by: Value,
    #[serde(default)]
    pub nr_due_by: Value,
    #[serde(default)]
    pub fr_escalated: Value,
    #[serde(default)]
    pub is_escalated: Value,
    #[serde(default)]
    pub nr_escalated: Value,
    #[serde(default)]
    pub stats: Option<Stats>,
}

impl FdTicket {
    /// Nothing has happened to it since it was created (no update, no
    /// response in its stats): it can have no conversation yet, so none is
    /// asked for.
    pub(super) fn untouched(&self) -> bool {
        self.created_at == self.updated_at
            && self.stats.as_ref().is_some_and(|s| {
                s.first_responded_at.is_none()
                    && s.agent_responded_at.is_none()
                    && s.requester_responded_at.is_none()
            })
    }
}

/// Outbound email (`source` 10): created by an agent, already closed.
pub(super) const OUTBOUND_EMAIL: u64 = 10;

/// What a ticket of the list becomes.
pub(super) enum TicketRecords {
    /// Left out (an outbound email under `outbound_email: ignore`).
    Skipped,
    /// Its records, and its requester (whose conversations are requester
    /// messages).
    Mapped(Vec<Record>, Option<String>),
}

impl FdTicket {
    /// The ticket's header and its events from the list: its state at
    /// creation, and the status changes its `stats` name (for tickets
    /// without exported history, all there is: flagged approximated). With
    /// `withdraw`, a ticket whose history is exported withdraws the note
    /// that it was approximated (it may have been, before a missing day's
    /// file came).
    pub(super) fn records(self, m: &Mapping, withdraw: bool) -> Result<TicketRecords, String> {
        if self.source == Some(OUTBOUND_EMAIL) && m.outbound_email == OutboundEmail::Ignore {
            return Ok(TicketRecords::Skipped);
        }
        let id = self.id.to_string();
        let created_at =
            parse_instant(&self.created_at).map_err(|e| format!("ticket {id}: created_at: {e}"))?;
        let updated_at =
            parse_instant(&self.updated_at).map_err(|e| format!("ticket {id}: updated_at: {e}"))?;
        // Its history is in the export files of the days from its creation
        // to its last update: approximated when one of them is missing.
        let approximated = m.history == History::Stats
            || created_at < m.history_from
            || m.gaps.overlaps(day_of(created_at), day_of(updated_at));
        let mut fields: BTreeMap<String, Value> = self.custom_fields.unwrap_or_default();
        if !self.kind.is_null() {
            fields.insert("type".into(), self.kind);
        }
        for (k, v) in [
            ("fr_due_by", self.fr_due_by),
            ("due_by", self.due_by),
            ("nr_due_by", self.nr_due_by),
            ("fr_escalated", self.fr_escalated),
            ("is_escalated", self.is_escalated),
            ("nr_escalated", self.nr_escalated),
        ] {
            fields.insert(format!("freshdesk_{k}"), v);
        }
        if approximated {
            fields.insert("freshdesk_history".into(), Value::from("approximated"));
        }
        let priority = self.priority.and_then(priority_name).map(str::to_string);
        let group = id_text(&self.group_id);
        let status = self.status.map(|s| m.status(s));
        let requester = id_text(&self.requester_id);
        let mut records = Vec::with_capacity(8);
        let event = |key: &str, at: i64, change: ChangeRecord| {
            Record::Event(EventRecord {
                ticket_id: id.clone(),
                id: key.to_string(),
                at,
                change,
            })
        };
        let prefix = format!("t.{id}.c");
        records.push(event(
            &format!("{prefix}.status"),
            created_at,
            ChangeRecord::Status {
                value: Status::Open,
            },
        ));
        if let Some(p) = &priority {
            records.push(event(
                &format!("{prefix}.priority"),
                created_at,
                ChangeRecord::Priority {
                    value: Some(p.clone()),
                },
            ));
        }
        if let Some(g) = &group {
            records.push(event(
                &format!("{prefix}.group"),
                created_at,
                ChangeRecord::Group {
                    value: Some(g.clone()),
                },
            ));
        }
        // The stats are the latest instant of each kind of status change:
        // true facts for every ticket. Where the export gives the history
        // they repeat its records (same instant, same status) and carry
        // today's changes until tomorrow's export file exists; where it
        // cannot, they are all there is (approximated, flagged).
        if let Some(stats) = &self.stats {
            let now_status = status.unwrap_or(Status::Open);
            for (name, value, value_status) in [
                ("reopened_at", &stats.reopened_at, Status::Open),
                ("pending_since", &stats.pending_since, Status::Pending),
                ("resolved_at", &stats.resolved_at, Status::Solved),
                ("closed_at", &stats.closed_at, Status::Closed),
                ("status_updated_at", &stats.status_updated_at, now_status),
            ] {
                let Some(text) = value else { continue };
                let at =
                    parse_instant(text).map_err(|e| format!("ticket {id}: stats.{name}: {e}"))?;
                records.push(event(
                    &format!("s.{id}.{name}"),
                    at,
                    ChangeRecord::Status {
                        value: value_status,
                    },
                ));
            }
        }
        if approximated {
            records.push(Record::Note(NoteRecord {
                kind: crate::sources::APPROXIMATED_HISTORY.into(),
                name: id.clone(),
                first_at: created_at,
                last_at: updated_at,
            }));
        } else if withdraw {
            records.push(Record::Withdraw(NoteKey {
                kind: crate::sources::APPROXIMATED_HISTORY.into(),
                name: id.clone(),
            }));
        }
        records.insert(
            0,
            Record::Ticket(TicketHeader {
                url: Some(format!("{}/a/tickets/{id}", m.base)),
                id: id.clone(),
                created_at,
                updated_at,
                organization_id: id_text(&self.company_id),
                requester_id: requester.clone(),
                tags: self.tags.unwrap_or_default(),
                fields,
                deleted: false,
                status,
                priority,
                group,
            }),
        );
        Ok(TicketRecords::Mapped(records, requester))
    }
}

/// A conversation of a ticket.
#[derive(Debug, Deserialize)]
pub(super) struct FdConversation {
    pub id: u64,
    #[serde(default)]
    pub incoming: bool,
    #[serde(default)]
    pub private: bool,
    #[serde(default)]
    pub source: Option<u64>,
    #[serde(default)]
    pub user_id: Value,
    pub created_at: String,
}

/// Survey feedback arrives as an incoming conversation; it owes no reply.
pub(super) const SURVEY_FEEDBACK: u64 = 6;

impl FdConversation {
    /// The comment it is (`None`: survey feedback).
    pub(super) fn record(
        &self,
        ticket: &str,
        requester: Option<&str>,
    ) -> Result<Option<Record>, String> {
        if self.source == Some(SURVEY_FEEDBACK) {
            return Ok(None);
        }
        let at = parse_instant(&self.created_at)
            .map_err(|e| format!("ticket {ticket}: conversation {}: created_at: {e}", self.id))?;
        let user = id_text(&self.user_id);
        let (author, author_id) = if !self.incoming {
            (Author::Agent, user)
        } else if user.is_some() && user.as_deref() == requester {
            (Author::Requester, user)
        } else {
            // Another contact (a CC): counts for nothing, and is not an
            // unknown user.
            (Author::Other, None)
        };
        Ok(Some(Record::Event(EventRecord {
            ticket_id: ticket.to_string(),
            id: format!("c.{}", self.id),
            at,
            change: ChangeRecord::Comment {
                author,
                author_id,
                public: !self.private,
            },
        })))
    }
}

/// `"02-11-2026 09:33:38 +0000"` (day first) as Unix seconds.
pub(super) fn day_first_instant(text: &str) -> Result<i64, String> {
    chrono::DateTime::parse_from_str(text.trim(), "%d-%m-%Y %H:%M:%S %z")
        .map(|t| t.timestamp())
        .map_err(|e| {
            format!("{text:?} is not a day-first time such as \"02-11-2026 09:33:38 +0000\": {e}")
        })
}

/// What the records of an export file gave: events, keys read past (by
/// name) and status names the account does not list.
#[derive(Default)]
pub(super) struct Collected {
    pub records: Vec<Record>,
    pub ignored: BTreeMap<String, u64>,
    pub unknown_status: Vec<String>,
}

/// One record of an activities export file.
#[derive(Debug, Deserialize)]
pub(super) struct FdActivity {
    pub performed_at: String,
    pub ticket_id: Value,
    #[serde(default)]
    pub activity: BTreeMap<String, Value>,
}

impl FdActivity {
    /// Its events; `index` is its place in the file of `day` (`20261102`),
    /// which makes stable ids. `status_code` maps a status name to its
    /// number; an unknown name is returned for the data-quality note.
    pub(super) fn records(
        &self,
        day: &str,
        index: usize,
        m: &Mapping,
        status_code: &dyn Fn(&str) -> Option<u64>,
        out: &mut Collected,
    ) -> Result<(), String> {
        let Some(ticket) = id_text(&self.ticket_id) else {
            return Err(format!("activity {index} of {day}: no ticket_id"));
        };
        let at = day_first_instant(&self.performed_at).map_err(|e| {
            format!("activity {index} of {day} (ticket {ticket}): performed_at: {e}")
        })?;
        for (key, value) in &self.activity {
            let change = match key.as_str() {
                "status" => match value.as_str().and_then(status_code) {
                    Some(code) => ChangeRecord::Status {
                        value: m.status(code),
                    },
                    None => {
                        out.unknown_status
                            .push(value.as_str().unwrap_or("").to_string());
                        continue;
                    }
                },
                "priority" => ChangeRecord::Priority {
                    value: value.as_u64().and_then(priority_name).map(str::to_string),
                },
                "group_id" => ChangeRecord::Group {
                    value: id_text(value),
                },
                "company_id" => ChangeRecord::Organization { id: id_text(value) },
                other => {
                    *out.ignored.entry(other.to_string()).or_default() += 1;
                    continue;
                }
            };
            let kind = match &change {
                ChangeRecord::Status { .. } => "status",
                ChangeRecord::Priority { .. } => "priority",
                ChangeRecord::Group { .. } => "group",
                _ => "organization",
            };
            out.records.push(Record::Event(EventRecord {
                ticket_id: ticket.clone(),
                id: format!("x.{day}.{index}.{kind}"),
                at,
                change,
            }));
        }
        Ok(())
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct FdAgent {
    pub id: Value,
}

impl FdAgent {
    pub(super) fn record(&self) -> Option<Record> {
        Some(Record::User(UserRecord {
            id: id_text(&self.id)?,
            agent: true,
        }))
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct FdCompany {
    pub id: Value,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub custom_fields: Option<BTreeMap<String, Value>>,
}

impl FdCompany {
    pub(super) fn record(self) -> Option<Record> {
        Some(Record::Organization(OrganizationRecord {
            id: id_text(&self.id)?,
            name: self.name,
            tags: Vec::new(),
            fields: self.custom_fields.unwrap_or_default(),
        }))
    }
}

/// The `status` field's choices of `GET /api/v2/ticket_fields`: status
/// name → number (`{"6": ["Waiting on Customer", "Awaiting your Reply"]}`).
pub(super) fn status_names(fields: &[Value]) -> BTreeMap<String, u64> {
    let mut out: BTreeMap<String, u64> =
        [("Open", 2), ("Pending", 3), ("Resolved", 4), ("Closed", 5)]
            .into_iter()
            .map(|(n, c)| (n.to_string(), c))
            .collect();
    for f in fields.iter().filter(|f| f["name"] == "status") {
        if let Some(choices) = f["choices"].as_object() {
            for (code, names) in choices {
                let Ok(code) = code.parse::<u64>() else {
                    continue;
                };
                let name = match names {
                    Value::Array(a) => a.first().and_then(Value::as_str),
                    Value::String(s) => Some(s.as_str()),
                    _ => None,
                };
                if let Some(name) = name {
                    out.insert(name.to_string(), code);
                }
            }
        }
    }
    out
}

/// The URL of `rel="next"` in a `Link` header, read leniently: spaces
/// around and inside `<…>` and around `;`, several links in one header,
/// `rel=next` with or without quotes.
pub(crate) fn next_link(header: &str) -> Option<String> {
    for part in header.split(',') {
        let Some((target, params)) = part.split_once(';') else {
            continue;
        };
        let target = target.trim();
        let url = target.strip_prefix('<')?.strip_suffix('>')?.trim();
        let is_next = params.split(';').any(|p| {
            p.trim()
                .strip_prefix("rel")
                .map(|r| {
                    r.trim_start()
                        .trim_start_matches('=')
                        .trim()
                        .trim_matches('"')
                })
                .is_some_and(|r| r.split_whitespace().any(|x| x == "next"))
        });
        if is_next && !url.is_empty() {
            return Some(url.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping<'a>(custom: &'a BTreeMap<String, Status>, history: History) -> Mapping<'a> {
        static NO_GAPS: Gaps = Gaps::EMPTY;
        Mapping {
            gaps: &NO_GAPS,
            base: "https://acme.freshdesk.com",
            custom_statuses: custom,
            history,
            outbound_email: OutboundEmail::Ignore,
            history_from: parse_instant("2026-11-02T00:00:00Z").unwrap(),
        }
    }

    #[test]
    fn link_headers_are_read_in_every_spelling() {
        let url = "https://acme.freshdesk.com/api/v2/tickets?page=2";
        for h in [
            format!("<{url}>; rel=\"next\""),
            format!("< {url}>;rel=\"next\""),
            format!("<{url}>;rel=next"),
            format!("<https://x/prev>; rel=\"prev\", <{url}>; rel=\"next\""),
        ] {
            assert_eq!(next_link(&h).as_deref(), Some(url), "{h}");
        }
        assert_eq!(next_link("<https://x/prev>; rel=\"prev\""), None);
        assert_eq!(next_link("garbage"), None);
    }

    #[test]
    fn performed_at_is_day_first() {
        let t = day_first_instant("02-11-2026 09:33:38 +0000").unwrap();
        assert_eq!(crate::time::format_instant(t), "2026-11-02T09:33:38Z");
        // Read month first it would be 11 February: it is not.
        let t = day_first_instant("11-02-2026 00:00:00 +0100").unwrap();
        assert_eq!(crate::time::format_instant(t), "2026-02-10T23:00:00Z");
        let e = day_first_instant("2026-11-02T09:33:38Z").unwrap_err();
        assert!(e.contains("day-first"), "{e}");
    }

    #[test]
    fn statuses_map_by_number_and_custom_ones_by_config() {
        let custom: BTreeMap<String, Status> = [("6".to_string(), Status::Pending)].into();
        let m = mapping(&custom, History::ActivitiesExport);
        assert_eq!(m.status(3), Status::Pending);
        assert_eq!(m.status(4), Status::Solved);
        assert_eq!(m.status(6), Status::Pending);
        assert_eq!(
            m.status(21),
            Status::Open,
            "unconfigured custom statuses run"
        );
        let names = status_names(&[
            serde_json::json!({"name": "status", "choices": {"6": ["Waiting on Customer", "Awaiting your Reply"], "21": ["On Hold - Legal", "x"]}}),
        ]);
        assert_eq!(names["Waiting on Customer"], 6);
        assert_eq!(names["On Hold - Legal"], 21);
        assert_eq!(names["Resolved"], 4);
    }

    #[test]
    fn stats_give_status_changes_and_approximate_history_only_where_none_is_exported() {
        let text = serde_json::json!({"id": 9, "created_at": "2026-10-30T09:00:00Z", "updated_at": "2026-11-02T12:00:00Z",
            "status": 4, "priority": 1, "source": 3, "tags": null, "custom_fields": null,
            "stats": {"resolved_at": "2026-11-02T12:00:00Z", "reopened_at": "2026-10-31T09:00:00Z", "closed_at": null,
                      "pending_since": null, "status_updated_at": "2026-11-02T12:00:00Z"}});
        let custom = BTreeMap::new();
        let t: FdTicket = serde_json::from_value(text.clone()).unwrap();
        let TicketRecords::Mapped(records, _) = t
            .records(&mapping(&custom, History::ActivitiesExport), false)
            .unwrap()
        else {
            panic!("skipped")
        };
        let Record::Ticket(h) = &records[0] else {
            panic!()
        };
        assert_eq!(h.fields["freshdesk_history"], "approximated");
        assert!(h.tags.is_empty(), "null tags are none");
        assert!(records
            .iter()
            .any(|r| matches!(r, Record::Event(e) if e.id == "s.9.resolved_at")));
        assert!(records.iter().any(
            |r| matches!(r, Record::Note(n) if n.kind == "approximated_history" && n.name == "9")
        ));
        // Created after the export starts: the same stats events (today's
        // changes, before the export has them), and no flag.
        let mut newer = text;
        newer["created_at"] = "2026-11-02T09:00:00Z".into();
        let t: FdTicket = serde_json::from_value(newer).unwrap();
        let TicketRecords::Mapped(records, _) = t
            .records(&mapping(&custom, History::ActivitiesExport), false)
            .unwrap()
        else {
            panic!("skipped")
        };
        assert!(records
            .iter()
            .any(|r| matches!(r, Record::Event(e) if e.id == "s.9.resolved_at")));
        assert!(!records.iter().any(|r| matches!(r, Record::Note(_))));
        let Record::Ticket(h) = &records[0] else {
            panic!()
        };
        assert!(!h.fields.contains_key("freshdesk_history"));
    }

    #[test]
    fn a_ticket_untouched_since_creation_needs_no_conversations() {
        let new: FdTicket = serde_json::from_value(serde_json::json!({"id": 4, "created_at": "2026-11-02T09:00:00Z",
            "updated_at": "2026-11-02T09:00:00Z", "status": 2,
            "stats": {"first_responded_at": null, "agent_responded_at": null, "requester_responded_at": null}})).unwrap();
        assert!(new.untouched());
        let noted: FdTicket = serde_json::from_value(serde_json::json!({"id": 4, "created_at": "2026-11-02T09:00:00Z",
            "updated_at": "2026-11-02T09:05:00Z", "status": 2,
            "stats": {"first_responded_at": null, "agent_responded_at": null, "requester_responded_at": null}})).unwrap();
        assert!(!noted.untouched(), "updated since: a note may exist");
        let no_stats: FdTicket = serde_json::from_value(
            serde_json::json!({"id": 4, "created_at": "2026-11-02T09:00:00Z",
            "updated_at": "2026-11-02T09:00:00Z"}),
        )
        .unwrap();
        assert!(!no_stats.untouched(), "without stats nothing is known");
    }

    #[test]
    fn a_ticket_alive_on_a_day_without_export_is_approximated() {
        let day = |d: &str| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
        let text = serde_json::json!({"id": 7, "created_at": "2026-11-02T09:00:00Z", "updated_at": "2026-11-04T10:00:00Z",
            "status": 2, "stats": {"status_updated_at": "2026-11-04T10:00:00Z"}});
        let custom = BTreeMap::new();
        let flagged = |missing: &str, withdraw: bool| {
            let mut gaps = Gaps::default();
            gaps.insert(day(missing));
            let m = Mapping {
                gaps: &gaps,
                ..mapping(&custom, History::ActivitiesExport)
            };
            let t: FdTicket = serde_json::from_value(text.clone()).unwrap();
            let TicketRecords::Mapped(records, _) = t.records(&m, withdraw).unwrap() else {
                panic!("skipped")
            };
            let Record::Ticket(h) = &records[0] else {
                panic!()
            };
            let note = records
                .iter()
                .any(|r| matches!(r, Record::Note(n) if n.kind == "approximated_history" && n.name == "7"));
            let withdrawn = records
                .iter()
                .any(|r| matches!(r, Record::Withdraw(n) if n.kind == "approximated_history" && n.name == "7"));
            (h.fields.contains_key("freshdesk_history"), note, withdrawn)
        };
        // Its first, middle and last day: flagged and noted.
        for d in ["2026-11-02", "2026-11-03", "2026-11-04"] {
            assert_eq!(flagged(d, true), (true, true, false), "{d}");
        }
        // A day before it was created or after its last change: exact, and
        // the note withdrawn only when asked.
        assert_eq!(flagged("2026-11-01", false), (false, false, false));
        assert_eq!(flagged("2026-11-05", true), (false, false, true));
    }

    #[test]
    fn with_history_stats_every_ticket_is_approximated() {
        let t: FdTicket = serde_json::from_value(serde_json::json!({"id": 5, "created_at": "2026-11-20T09:00:00Z",
            "updated_at": "2026-11-21T09:00:00Z", "status": 3, "priority": 4,
            "stats": {"pending_since": "2026-11-21T09:00:00Z", "status_updated_at": "2026-11-21T09:00:00Z"}})).unwrap();
        let custom = BTreeMap::new();
        let TicketRecords::Mapped(records, _) =
            t.records(&mapping(&custom, History::Stats), false).unwrap()
        else {
            panic!("skipped")
        };
        let Record::Ticket(h) = &records[0] else {
            panic!()
        };
        assert_eq!(h.fields["freshdesk_history"], "approximated");
        assert_eq!(h.status, Some(Status::Pending));
        assert!(records.iter().any(|r| matches!(r, Record::Event(EventRecord { id, change: ChangeRecord::Status { value: Status::Pending }, .. }) if id == "s.5.pending_since")));
    }

    #[test]
    fn outbound_email_is_left_out_by_default() {
        let t: FdTicket = serde_json::from_value(
            serde_json::json!({"id": 3, "created_at": "2026-11-02T09:00:00Z",
            "updated_at": "2026-11-02T09:00:00Z", "status": 5, "source": 10}),
        )
        .unwrap();
        let custom = BTreeMap::new();
        assert!(matches!(
            t.records(&mapping(&custom, History::Stats), false).unwrap(),
            TicketRecords::Skipped
        ));
    }

    #[test]
    fn conversations_tell_replies_notes_customers_and_feedback_apart() {
        let c = |incoming: bool, private: bool, source: u64, user: u64| FdConversation {
            id: 1,
            incoming,
            private,
            source: Some(source),
            user_id: user.into(),
            created_at: "2026-11-02T09:00:00Z".into(),
        };
        let author = |r: Option<Record>| match r {
            Some(Record::Event(EventRecord {
                change: ChangeRecord::Comment { author, public, .. },
                ..
            })) => Some((author, public)),
            _ => None,
        };
        assert_eq!(
            author(c(false, false, 0, 90).record("1", Some("30")).unwrap()),
            Some((Author::Agent, true))
        );
        assert_eq!(
            author(c(false, true, 2, 90).record("1", Some("30")).unwrap()),
            Some((Author::Agent, false))
        );
        assert_eq!(
            author(c(true, false, 0, 30).record("1", Some("30")).unwrap()),
            Some((Author::Requester, true))
        );
        assert_eq!(
            author(c(true, false, 0, 31).record("1", Some("30")).unwrap()),
            Some((Author::Other, true))
        );
        assert_eq!(
            author(c(true, false, 6, 30).record("1", Some("30")).unwrap()),
            None,
            "survey feedback"
        );
    }
}
