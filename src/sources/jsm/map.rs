//! Jira Service Management's wire shapes and the records they become:
//! search pages of issues (with their embedded changelog), changelog pages,
//! comment pages, statuses and organizations. Pure: no I/O. The rules are
//! `docs/jira-service-management.md`'s table.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Deserialize;
use serde_json::Value;

use crate::engine::timeline::Author;
use crate::policy::spec::Status;
use crate::sources::{
    ChangeRecord, EventRecord, OrganizationRecord, Record, TicketHeader, UserRecord,
};

/// An id as text (for the adapter's other parts).
pub(super) fn id_of(v: &Value) -> Option<String> {
    id_text(v)
}

/// An id as text: Jira writes ids as strings, a few as numbers.
fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// A platform timestamp (`2026-11-02T09:00:00.000-0800`: an offset without
/// a colon; with one, or `Z`, is read too) as Unix seconds, milliseconds
/// dropped.
pub(crate) fn jira_instant(text: &str) -> Result<i64, String> {
    let t = text.trim();
    chrono::DateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(t))
        .map(|d| d.timestamp())
        .map_err(|_| {
            format!("{text:?} is not a Jira timestamp such as 2026-11-02T09:00:00.000-0800")
        })
}

/// What the mapping needs from the config and the site.
pub(super) struct Mapping<'a> {
    pub base: &'a str,
    /// Status id → the status it counts as, from the config.
    pub statuses: &'a BTreeMap<String, Status>,
    /// Status id → its category key, from `GET /rest/api/3/status`.
    pub categories: &'a HashMap<String, String>,
    pub organization_field: Option<&'a str>,
    /// Organization name → id (from the organizations stream).
    pub organization_ids: &'a HashMap<String, String>,
    /// The team (or group) field's id: its history items are `group`
    /// events.
    pub group_field: Option<&'a str>,
    /// The Request Type field's id: the request type's name is the
    /// ticket's field [`REQUEST_TYPE`], its history items field changes.
    pub request_type_field: Option<&'a str>,
    pub sla_fields: &'a [String],
}

impl Mapping<'_> {
    /// A status id: the config's status, else its category's (`None`: a
    /// status the site does not list, or a category with no meaning).
    pub(super) fn status(&self, id: &str, category: Option<&str>) -> Option<Status> {
        if let Some(s) = self.statuses.get(id) {
            return Some(*s);
        }
        match category.or_else(|| self.categories.get(id).map(String::as_str))? {
            "new" => Some(Status::New),
            "indeterminate" => Some(Status::Open),
            "done" => Some(Status::Solved),
            _ => None,
        }
    }

    /// The fields a search names: what the mapping reads, no more.
    pub(super) fn search_fields(&self) -> String {
        let mut fields: Vec<&str> = vec![
            "summary", "status", "priority", "created", "updated", "reporter", "labels",
        ];
        fields.extend(self.organization_field);
        fields.extend(self.group_field);
        fields.extend(self.request_type_field);
        fields.extend(self.sla_fields.iter().map(String::as_str));
        fields.join(",")
    }
}

/// The ticket field that holds the request type's name.
pub(super) const REQUEST_TYPE: &str = "request_type";

/// The Request Type field's value (`{_links, requestType: {id, name, …},
/// currentStatus}`) by its request type's name (`None`: unset).
fn request_type_name(v: &Value) -> Option<String> {
    v.get("requestType")
        .and_then(|t| t.get("name"))
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
}

/// A history string that names a request type, as the ticket field's
/// value (`null`: none).
fn request_type_text(text: Option<&str>) -> Value {
    text.filter(|t| !t.is_empty())
        .map_or(Value::Null, Value::from)
}

/// `GET /rest/api/3/search/jql`: the last page has no `nextPageToken`.
#[derive(Debug, Deserialize)]
pub(super) struct SearchPage {
    #[serde(default)]
    pub issues: Vec<Issue>,
    #[serde(default, rename = "nextPageToken")]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Issue {
    pub key: String,
    #[serde(default)]
    pub fields: serde_json::Map<String, Value>,
    #[serde(default)]
    pub changelog: Option<Embedded>,
}

/// `expand=changelog`: the newest histories, newest first, and how many
/// there are.
#[derive(Debug, Deserialize)]
pub(super) struct Embedded {
    #[serde(default)]
    pub total: Option<u64>,
    #[serde(default)]
    pub histories: Vec<History>,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct History {
    pub id: Value,
    pub created: String,
    #[serde(default)]
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct Item {
    #[serde(default)]
    pub field: Option<String>,
    #[serde(default, rename = "fieldId")]
    pub field_id: Option<String>,
    #[serde(default)]
    pub from: Value,
    #[serde(default, rename = "fromString")]
    pub from_string: Option<String>,
    #[serde(default)]
    pub to: Value,
    #[serde(default, rename = "toString")]
    pub to_string: Option<String>,
}

impl Item {
    /// A change of the issue's key (a move to another project): Jira
    /// writes it as the field `Key`, names only.
    fn is_key_change(&self) -> bool {
        self.field.as_deref() == Some("Key") || self.field_id.as_deref() == Some("issuekey")
    }

    /// `fieldId`, else `field` (older histories have no `fieldId`).
    fn which(&self) -> &str {
        self.field_id
            .as_deref()
            .or(self.field.as_deref())
            .unwrap_or("")
    }
}

/// `GET /rest/api/3/issue/{key}/changelog`: oldest first.
#[derive(Debug, Deserialize)]
pub(super) struct ChangelogPage {
    #[serde(default, rename = "startAt")]
    pub start_at: u64,
    #[serde(default)]
    pub total: Option<u64>,
    #[serde(default, rename = "isLast")]
    pub is_last: Option<bool>,
    #[serde(default)]
    pub values: Vec<History>,
}

impl ChangelogPage {
    /// Where the next page starts, or `None` on the last page.
    pub(super) fn next(&self) -> Option<u64> {
        let next = self.start_at + self.values.len() as u64;
        let last = match (self.is_last, self.total) {
            (Some(l), _) => l,
            (None, Some(t)) => next >= t,
            (None, None) => true,
        };
        (!last && !self.values.is_empty()).then_some(next)
    }
}

/// `GET /rest/api/3/issue/{key}/comment`.
#[derive(Debug, Deserialize)]
pub(super) struct CommentPage {
    #[serde(default, rename = "startAt")]
    pub start_at: u64,
    #[serde(default)]
    pub total: Option<u64>,
    #[serde(default)]
    pub comments: Vec<Comment>,
}

impl CommentPage {
    pub(super) fn next(&self) -> Option<u64> {
        let next = self.start_at + self.comments.len() as u64;
        (!self.comments.is_empty() && self.total.is_some_and(|t| next < t)).then_some(next)
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct Comment {
    pub id: Value,
    #[serde(default)]
    pub author: Option<Account>,
    pub created: String,
    /// `false` for an internal comment; absent counts as public.
    #[serde(default, rename = "jsdPublic")]
    pub jsd_public: Option<bool>,
}

/// A platform user (`GET /rest/api/3/user/assignable/search` is a bare
/// array of them; a comment's author is one).
#[derive(Debug, Deserialize)]
pub(super) struct Account {
    #[serde(default, rename = "accountId")]
    pub account_id: Option<String>,
    #[serde(default, rename = "accountType")]
    pub account_type: Option<String>,
}

/// One of `GET /rest/api/3/status`.
#[derive(Debug, Deserialize)]
pub(super) struct StatusDetails {
    pub id: Value,
    #[serde(default, rename = "statusCategory")]
    pub category: Option<Category>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Category {
    #[serde(default)]
    pub key: Option<String>,
}

/// Status id → category key.
pub(super) fn categories(list: &[StatusDetails]) -> HashMap<String, String> {
    list.iter()
        .filter_map(|s| Some((id_text(&s.id)?, s.category.as_ref()?.key.clone()?)))
        .collect()
}

/// `GET /rest/servicedeskapi/request/{key}/sla`: a service desk page of
/// SLA records, kept as sent.
#[derive(Debug, Deserialize)]
pub(super) struct SlaPage {
    #[serde(default)]
    pub start: Option<u64>,
    #[serde(default, rename = "isLastPage")]
    pub is_last_page: Option<bool>,
    #[serde(default)]
    pub values: Vec<Value>,
}

impl SlaPage {
    /// Where the next page starts (`asked`: the `start` asked for), or
    /// `None` on the last page.
    pub(super) fn next(&self, asked: u64) -> Option<u64> {
        let last = self.is_last_page.unwrap_or(true) || self.values.is_empty();
        (!last).then(|| self.start.unwrap_or(asked) + self.values.len() as u64)
    }
}

/// A header with JSM's SLA records from the request SLA endpoint as its
/// fields `jsm_sla.<SLA id>`, each exactly as sent.
pub(super) fn with_slas(mut header: TicketHeader, slas: Vec<Value>) -> TicketHeader {
    for sla in slas {
        if let Some(id) = id_text(&sla["id"]) {
            header
                .fields
                .insert(format!("{}{id}", super::sla::FIELD_PREFIX), sla);
        }
    }
    header
}

/// `GET /rest/servicedeskapi/organization`.
#[derive(Debug, Deserialize)]
pub(super) struct OrganizationPage {
    #[serde(default)]
    pub start: u64,
    #[serde(default, rename = "isLastPage")]
    pub is_last_page: Option<bool>,
    #[serde(default)]
    pub values: Vec<Organization>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Organization {
    pub id: Value,
    #[serde(default)]
    pub name: Option<String>,
}

impl Organization {
    pub(super) fn record(self) -> Option<Record> {
        Some(Record::Organization(OrganizationRecord {
            id: id_text(&self.id)?,
            name: self.name,
            tags: Vec::new(),
            fields: BTreeMap::new(),
        }))
    }
}

/// What the history needs to know of its issue, kept in the cursor while
/// the changelog is paged.
#[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize)]
pub(super) struct IssueFacts {
    pub key: String,
    #[serde(with = "crate::engine::timeline::instant")]
    pub created: i64,
    #[serde(default)]
    pub requester: Option<String>,
    /// The status now (for the creation when no history names one).
    #[serde(default)]
    pub status: Option<Status>,
    #[serde(default)]
    pub priority: Option<String>,
    /// A status (priority, labels) item was read: the creation's is known.
    #[serde(default)]
    pub status_seen: bool,
    #[serde(default)]
    pub priority_seen: bool,
    #[serde(default)]
    pub labels_seen: bool,
    /// The team (group) now, by name.
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub group_seen: bool,
    /// A Request Type item was read: the creation's is known.
    #[serde(default)]
    pub request_type_seen: bool,
    /// An organization item was read: the creation's is known.
    #[serde(default)]
    pub organization_seen: bool,
}

/// The organization a history item's side names: the first id in `id`
/// (`"2"`, also a list such as `"[2, 5]"`), else the organization of that
/// name. `Ok(None)`: none (both empty); `Err(name)`: a name no organization
/// read has.
fn organization_of(
    id: &Value,
    name: Option<&str>,
    ids: &HashMap<String, String>,
) -> Result<Option<String>, String> {
    let text = match id {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    };
    if let Some(first) = text.as_deref().and_then(|t| {
        t.split(|c: char| !c.is_ascii_digit())
            .find(|part| !part.is_empty())
    }) {
        return Ok(Some(first.to_string()));
    }
    let name = name.map(str::trim).unwrap_or("");
    if name.is_empty() {
        return Ok(None);
    }
    // A list of names: the first one.
    let first = name
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .next()
        .unwrap_or("")
        .trim();
    ids.get(first)
        .or_else(|| ids.get(name))
        .cloned()
        .map(Some)
        .ok_or_else(|| name.to_string())
}

/// A team or group field's value by the name its history writes: the Team
/// field's `{id, name, …}` by `name`, a select list's `{id, value}` by
/// `value`, a plain string as it is (`None`: unset).
fn group_name(v: &Value) -> Option<String> {
    let name = match v {
        Value::String(s) => Some(s.as_str()),
        Value::Object(o) => o
            .get("name")
            .or_else(|| o.get("value"))
            .and_then(Value::as_str),
        _ => None,
    };
    name.filter(|n| !n.is_empty()).map(str::to_string)
}

/// A history string that names a group (`None`: empty or null, no group).
fn group_text(text: Option<&str>) -> Option<String> {
    text.filter(|t| !t.is_empty()).map(str::to_string)
}

/// What a history said besides its events: status ids and organization
/// names the site's lists do not have, and the keys the issue had before a
/// move (with the move's instant).
#[derive(Debug, Default)]
pub(super) struct Unmapped {
    pub statuses: Vec<String>,
    pub organizations: Vec<String>,
    pub former_keys: Vec<(String, i64)>,
}

/// Labels as a changelog writes them: one string, space-separated.
fn labels(text: Option<&str>) -> Vec<String> {
    text.unwrap_or("")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

fn event(key: &str, id: String, at: i64, change: ChangeRecord) -> Record {
    Record::Event(EventRecord {
        ticket_id: key.to_string(),
        id,
        at,
        change,
    })
}

impl IssueFacts {
    /// The events of `histories` (oldest first); the creation's status,
    /// priority, group and organization from the first items that name
    /// them. `unknown` gets the status ids and organization names no
    /// mapping knows.
    pub(super) fn history(
        &mut self,
        histories: &[History],
        m: &Mapping,
        unknown: &mut Unmapped,
    ) -> Result<Vec<Record>, String> {
        let mut out = Vec::new();
        for h in histories {
            let hid = id_text(&h.id).unwrap_or_default();
            let at = jira_instant(&h.created)
                .map_err(|e| format!("{}: history {hid}: created: {e}", self.key))?;
            for (i, item) in h.items.iter().enumerate() {
                let id = format!("h.{hid}.{i}");
                if item.is_key_change() {
                    if let Some(old) = item.from_string.as_deref().filter(|k| !k.is_empty()) {
                        unknown.former_keys.push((old.to_string(), at));
                    }
                    continue;
                }
                match item.which() {
                    "status" => {
                        if !self.status_seen {
                            self.status_seen = true;
                            if let Some(from) = id_text(&item.from) {
                                match m.status(&from, None) {
                                    Some(s) => out.push(self.creation_status(s)),
                                    None => unknown.statuses.push(from),
                                }
                            }
                        }
                        let Some(to) = id_text(&item.to) else {
                            continue;
                        };
                        match m.status(&to, None) {
                            Some(value) => {
                                out.push(event(&self.key, id, at, ChangeRecord::Status { value }))
                            }
                            None => unknown.statuses.push(to),
                        }
                    }
                    "labels" => {
                        if !self.labels_seen {
                            self.labels_seen = true;
                            out.push(event(
                                &self.key,
                                "c.tags".into(),
                                self.created,
                                ChangeRecord::Tags {
                                    value: labels(item.from_string.as_deref()),
                                },
                            ));
                        }
                        out.push(event(
                            &self.key,
                            id,
                            at,
                            ChangeRecord::Tags {
                                value: labels(item.to_string.as_deref()),
                            },
                        ));
                    }
                    which if m.organization_field == Some(which) => {
                        if !self.organization_seen {
                            self.organization_seen = true;
                            match organization_of(
                                &item.from,
                                item.from_string.as_deref(),
                                m.organization_ids,
                            ) {
                                Ok(id) => out.push(event(
                                    &self.key,
                                    "c.organization".into(),
                                    self.created,
                                    ChangeRecord::Organization { id },
                                )),
                                Err(name) => unknown.organizations.push(name),
                            }
                        }
                        match organization_of(
                            &item.to,
                            item.to_string.as_deref(),
                            m.organization_ids,
                        ) {
                            Ok(org) => out.push(event(
                                &self.key,
                                id,
                                at,
                                ChangeRecord::Organization { id: org },
                            )),
                            Err(name) => unknown.organizations.push(name),
                        }
                    }
                    which if m.group_field == Some(which) => {
                        // The Team field's items carry names only (`from`
                        // and `to` are null): groups are named.
                        if !self.group_seen {
                            self.group_seen = true;
                            out.push(self.creation_group(group_text(item.from_string.as_deref())));
                        }
                        out.push(event(
                            &self.key,
                            id,
                            at,
                            ChangeRecord::Group {
                                value: group_text(item.to_string.as_deref()),
                            },
                        ));
                    }
                    which if m.request_type_field == Some(which) => {
                        // Read by name, as the ticket field holds it: the
                        // first item's `fromString` is the creation's.
                        if !self.request_type_seen {
                            self.request_type_seen = true;
                            out.push(event(
                                &self.key,
                                format!("c.{REQUEST_TYPE}"),
                                self.created,
                                ChangeRecord::Field {
                                    name: REQUEST_TYPE.into(),
                                    value: request_type_text(item.from_string.as_deref()),
                                },
                            ));
                        }
                        out.push(event(
                            &self.key,
                            id,
                            at,
                            ChangeRecord::Field {
                                name: REQUEST_TYPE.into(),
                                value: request_type_text(item.to_string.as_deref()),
                            },
                        ));
                    }
                    "priority" => {
                        if !self.priority_seen {
                            self.priority_seen = true;
                            out.push(self.creation_priority(item.from_string.clone()));
                        }
                        out.push(event(
                            &self.key,
                            id,
                            at,
                            ChangeRecord::Priority {
                                value: item.to_string.clone().filter(|s| !s.is_empty()),
                            },
                        ));
                    }
                    _ => {}
                }
            }
        }
        Ok(out)
    }

    fn creation_status(&self, value: Status) -> Record {
        event(
            &self.key,
            "c.status".into(),
            self.created,
            ChangeRecord::Status { value },
        )
    }

    fn creation_priority(&self, value: Option<String>) -> Record {
        event(
            &self.key,
            "c.priority".into(),
            self.created,
            ChangeRecord::Priority {
                value: value.filter(|s| !s.is_empty()),
            },
        )
    }

    fn creation_group(&self, value: Option<String>) -> Record {
        event(
            &self.key,
            "c.group".into(),
            self.created,
            ChangeRecord::Group { value },
        )
    }

    /// Once the whole history is read: the creation's status, priority and
    /// group from the issue now, where no history item named them.
    pub(super) fn finish(&self) -> Vec<Record> {
        let mut out = Vec::new();
        if !self.group_seen && self.group.is_some() {
            out.push(self.creation_group(self.group.clone()));
        }
        if !self.status_seen {
            if let Some(s) = self.status {
                out.push(self.creation_status(s));
            }
        }
        if !self.priority_seen && self.priority.is_some() {
            out.push(self.creation_priority(self.priority.clone()));
        }
        out
    }

    /// A page of comments: each a comment event, each author with an
    /// account type a user. `agents`: the desk's agents (the accounts
    /// that may be assigned its requests), when read: an agent is in it,
    /// any other account is not; without it, an `atlassian` account is
    /// taken for an agent.
    pub(super) fn comments(
        &self,
        comments: &[Comment],
        agents: Option<&HashSet<String>>,
    ) -> Result<Vec<Record>, String> {
        let mut out = Vec::with_capacity(comments.len() * 2);
        let mut users: BTreeMap<String, bool> = BTreeMap::new();
        for c in comments {
            let cid = id_text(&c.id).unwrap_or_default();
            let at = jira_instant(&c.created)
                .map_err(|e| format!("{}: comment {cid}: created: {e}", self.key))?;
            let id = c.author.as_ref().and_then(|a| a.account_id.clone());
            let kind = c.author.as_ref().and_then(|a| a.account_type.as_deref());
            let agent = match (agents, &id) {
                (Some(agents), Some(id)) => agents.contains(id),
                _ => kind == Some("atlassian"),
            };
            let author = if id.is_some() && id == self.requester {
                Author::Requester
            } else if agent {
                Author::Agent
            } else {
                Author::Other
            };
            if let (Some(id), Some(_)) = (&id, kind) {
                users.insert(id.clone(), agent);
            }
            out.push(event(
                &self.key,
                format!("m.{cid}"),
                at,
                ChangeRecord::Comment {
                    author,
                    author_id: id,
                    public: c.jsd_public.unwrap_or(true),
                },
            ));
        }
        out.extend(
            users
                .into_iter()
                .map(|(id, agent)| Record::User(UserRecord { id, agent })),
        );
        Ok(out)
    }
}

/// What an issue of a search page becomes.
pub(super) struct Mapped {
    pub header: Record,
    pub facts: IssueFacts,
    pub updated: i64,
    /// Every history, when the search embedded them all (else the
    /// changelog endpoint is owed).
    pub complete_history: Option<Vec<History>>,
}

impl Issue {
    /// The ticket header and what its history needs.
    pub(super) fn map(self, m: &Mapping) -> Result<Mapped, String> {
        let key = self.key;
        let f = &self.fields;
        let time = |name: &str| -> Result<i64, String> {
            let text = f.get(name).and_then(Value::as_str).ok_or_else(|| {
                format!("{key}: fields.{name} is missing (is it named in fields?)")
            })?;
            jira_instant(text).map_err(|e| format!("{key}: fields.{name}: {e}"))
        };
        let created = time("created")?;
        let updated = time("updated")?;
        let status = f.get("status").and_then(|s| {
            let id = id_text(&s["id"])?;
            m.status(&id, s["statusCategory"]["key"].as_str())
        });
        let priority = f
            .get("priority")
            .and_then(|p| p["name"].as_str())
            .map(str::to_string);
        let tags: Vec<String> = f
            .get("labels")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|l| l.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let requester = f
            .get("reporter")
            .and_then(|r| r["accountId"].as_str())
            .map(str::to_string);
        let organization_id = m
            .organization_field
            .and_then(|name| f.get(name))
            .and_then(|v| v.as_array())
            .and_then(|a| a.first())
            .and_then(|o| id_text(&o["id"]));
        let group = m
            .group_field
            .and_then(|name| f.get(name))
            .and_then(group_name);
        let mut fields = BTreeMap::new();
        if let Some(name) = m
            .request_type_field
            .and_then(|name| f.get(name))
            .and_then(request_type_name)
        {
            fields.insert(REQUEST_TYPE.to_string(), Value::from(name));
        }
        for name in m.sla_fields {
            if let Some(v) = f.get(name) {
                fields.insert(format!("{}{name}", super::sla::FIELD_PREFIX), v.clone());
            }
        }
        let complete_history = self.changelog.and_then(|c| {
            let n = c.histories.len() as u64;
            (c.total.unwrap_or(n) <= n).then(|| {
                let mut h = c.histories;
                // Embedded newest first: oldest first, as the endpoint.
                h.sort_by_key(|h| {
                    (
                        jira_instant(&h.created).unwrap_or(i64::MIN),
                        id_text(&h.id).and_then(|i| i.parse::<u64>().ok()),
                    )
                });
                h
            })
        });
        let header = Record::Ticket(TicketHeader {
            id: key.clone(),
            created_at: created,
            updated_at: updated,
            url: Some(format!("{}/browse/{key}", m.base)),
            organization_id,
            requester_id: requester.clone(),
            tags,
            fields,
            deleted: false,
            status,
            priority: priority.clone(),
            group: group.clone(),
        });
        Ok(Mapped {
            header,
            facts: IssueFacts {
                key,
                created,
                requester,
                status,
                priority,
                status_seen: false,
                priority_seen: false,
                labels_seen: false,
                group,
                group_seen: false,
                request_type_seen: false,
                organization_seen: false,
            },
            updated,
            complete_history,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jira_timestamps_have_offsets_without_a_colon() {
        let t = jira_instant("2026-11-02T09:00:00.000-0800").unwrap();
        assert_eq!(crate::time::format_instant(t), "2026-11-02T17:00:00Z");
        let t = jira_instant("2026-11-03T08:00:00.517-0800").unwrap();
        assert_eq!(crate::time::format_instant(t), "2026-11-03T16:00:00Z");
        assert_eq!(
            jira_instant("2026-11-02T17:00:00+00:00").unwrap(),
            jira_instant("2026-11-02T17:00:00.000+0000").unwrap()
        );
        let e = jira_instant("02/Nov/26 9:00 AM").unwrap_err();
        assert!(e.contains("not a Jira timestamp"), "{e}");
    }

    #[test]
    fn statuses_map_by_config_then_category() {
        let config: BTreeMap<String, Status> = [("10002".to_string(), Status::Pending)].into();
        let cats: HashMap<String, String> = [
            ("10002".to_string(), "indeterminate".to_string()),
            ("10004".to_string(), "done".to_string()),
            ("1".to_string(), "new".to_string()),
        ]
        .into();
        let m = Mapping {
            base: "https://x",
            statuses: &config,
            categories: &cats,
            organization_field: None,
            organization_ids: &HashMap::new(),
            group_field: None,
            request_type_field: None,
            sla_fields: &[],
        };
        assert_eq!(m.status("10002", None), Some(Status::Pending));
        assert_eq!(m.status("10004", None), Some(Status::Solved));
        assert_eq!(m.status("1", None), Some(Status::New));
        assert_eq!(m.status("3", Some("indeterminate")), Some(Status::Open));
        assert_eq!(
            m.status("77", None),
            None,
            "a status the site does not list"
        );
    }

    #[test]
    fn team_changes_are_group_events_named_as_the_history_names_them() {
        let config = BTreeMap::new();
        let cats = HashMap::new();
        let m = Mapping {
            base: "https://x",
            statuses: &config,
            categories: &cats,
            organization_field: None,
            organization_ids: &HashMap::new(),
            group_field: Some("customfield_10001"),
            request_type_field: None,
            sla_fields: &[],
        };
        // The Team field's value by name, a select list's by value.
        assert_eq!(
            group_name(&serde_json::json!({"id": "36885b3c", "name": "Tier 2", "title": "Tier 2"})),
            Some("Tier 2".into())
        );
        assert_eq!(
            group_name(&serde_json::json!({"id": "10020", "value": "L2"})),
            Some("L2".into())
        );
        assert_eq!(group_name(&Value::Null), None);
        let facts = |group: Option<&str>| IssueFacts {
            key: "SUP-9".into(),
            created: 0,
            requester: None,
            status: None,
            priority: None,
            status_seen: false,
            priority_seen: false,
            labels_seen: false,
            group: group.map(str::to_string),
            group_seen: false,
            request_type_seen: false,
            organization_seen: false,
        };
        let item: Item = serde_json::from_value(serde_json::json!({"field": "Team", "fieldtype": "custom",
            "fieldId": "customfield_10001", "from": null, "fromString": "", "to": null, "toString": "Tier 1"}))
        .unwrap();
        let history = History {
            id: Value::from("7"),
            created: "2026-11-02T09:00:00.000-0800".into(),
            items: vec![item],
        };
        let mut f = facts(Some("Tier 1"));
        let records = f.history(&[history], &m, &mut Unmapped::default()).unwrap();
        let groups: Vec<(String, Option<String>)> = records
            .iter()
            .chain(&f.finish())
            .filter_map(|r| match r {
                Record::Event(EventRecord {
                    id,
                    change: ChangeRecord::Group { value },
                    ..
                }) => Some((id.clone(), value.clone())),
                _ => None,
            })
            .collect();
        // No team at creation (fromString ""), Tier 1 from 09:00.
        assert_eq!(
            groups,
            [
                ("c.group".into(), None),
                ("h.7.0".into(), Some("Tier 1".into()))
            ]
        );
        // No history of the field: the team now, from creation.
        let f = facts(Some("Tier 2"));
        assert!(
            matches!(&f.finish()[..], [Record::Event(EventRecord { id, change: ChangeRecord::Group { value: Some(v) }, .. })] if id == "c.group" && v == "Tier 2")
        );
    }

    #[test]
    fn an_organization_item_names_its_organization_by_id_else_by_name() {
        let ids: HashMap<String, String> = [
            ("Acme Customer".to_string(), "1".to_string()),
            ("Globex".to_string(), "2".to_string()),
        ]
        .into();
        let of = |id: Value, name: Option<&str>| organization_of(&id, name, &ids);
        assert_eq!(of(Value::from("2"), Some("Globex")), Ok(Some("2".into())));
        assert_eq!(of(Value::from("[5, 7]"), None), Ok(Some("5".into())));
        assert_eq!(of(Value::from(3), None), Ok(Some("3".into())));
        assert_eq!(of(Value::Null, Some("Globex")), Ok(Some("2".into())));
        assert_eq!(
            of(Value::Null, Some("[Globex, Acme Customer]")),
            Ok(Some("2".into()))
        );
        assert_eq!(of(Value::Null, Some("")), Ok(None));
        assert_eq!(of(Value::Null, None), Ok(None));
        assert_eq!(of(Value::Null, Some("Initech")), Err("Initech".into()));
    }

    #[test]
    fn sla_pages_end_by_is_last_page_and_records_are_kept_as_sent() {
        let page = |start: Option<u64>, last: Option<bool>, n: usize| SlaPage {
            start,
            is_last_page: last,
            values: (0..n)
                .map(|i| serde_json::json!({"id": i.to_string()}))
                .collect(),
        };
        assert_eq!(page(Some(0), Some(false), 1).next(0), Some(1));
        assert_eq!(page(None, Some(false), 2).next(4), Some(6));
        assert_eq!(page(Some(1), Some(true), 1).next(1), None);
        assert_eq!(
            page(Some(0), None, 1).next(0),
            None,
            "no isLastPage: the last"
        );
        assert_eq!(
            page(Some(0), Some(false), 0).next(0),
            None,
            "no progress: stop"
        );
        let header = TicketHeader {
            id: "SUP-1".into(),
            created_at: 0,
            updated_at: 0,
            url: None,
            organization_id: None,
            requester_id: None,
            tags: Vec::new(),
            fields: BTreeMap::new(),
            deleted: false,
            status: None,
            priority: None,
            group: None,
        };
        let sla = serde_json::json!({"id": "2", "name": "Time to resolution", "completedCycles": [], "friendly": "kept"});
        let h = with_slas(
            header,
            vec![sla.clone(), serde_json::json!({"name": "no id"})],
        );
        assert_eq!(h.fields.len(), 1);
        assert_eq!(h.fields["jsm_sla.2"], sla);
    }

    #[test]
    fn the_request_type_is_a_ticket_field_by_name_and_its_history_field_changes() {
        let config = BTreeMap::new();
        let cats = HashMap::new();
        let m = Mapping {
            base: "https://x",
            statuses: &config,
            categories: &cats,
            organization_field: None,
            organization_ids: &HashMap::new(),
            group_field: None,
            request_type_field: Some("customfield_10010"),
            sla_fields: &[],
        };
        assert!(m.search_fields().ends_with(",customfield_10010"));
        let issue: Issue = serde_json::from_value(serde_json::json!({"key": "SUP-7", "fields": {
            "created": "2026-11-04T09:00:00.000-0800", "updated": "2026-11-04T11:00:00.000-0800",
            "customfield_10010": {"_links": {}, "requestType": {"id": "12", "name": "Report a system problem"},
                "currentStatus": {"status": "Resolved"}}}}))
        .unwrap();
        let mapped = issue.map(&m).unwrap();
        let Record::Ticket(header) = &mapped.header else {
            panic!("a header");
        };
        assert_eq!(
            header.fields.get(REQUEST_TYPE),
            Some(&Value::from("Report a system problem"))
        );
        // Unset: no field.
        let bare: Issue = serde_json::from_value(serde_json::json!({"key": "SUP-3", "fields": {
            "created": "2026-11-04T09:00:00.000-0800", "updated": "2026-11-04T09:00:00.000-0800",
            "customfield_10010": null}}))
        .unwrap();
        let Record::Ticket(h) = bare.map(&m).unwrap().header else {
            panic!("a header");
        };
        assert!(h.fields.is_empty());
        // Two changes: the creation's type from the first item's
        // fromString (none: null), then each toString.
        let item = |from: &str, to: &str| -> Item {
            serde_json::from_value(serde_json::json!({"field": "Customer Request Type", "fieldtype": "custom",
                "fieldId": "customfield_10010", "from": null, "fromString": from, "to": null, "toString": to}))
            .unwrap()
        };
        let histories = [
            History {
                id: Value::from("1"),
                created: "2026-11-04T09:10:00.000-0800".into(),
                items: vec![item("", "Get IT help")],
            },
            History {
                id: Value::from("2"),
                created: "2026-11-04T09:30:00.000-0800".into(),
                items: vec![item("Get IT help", "Report a system problem")],
            },
        ];
        let mut facts = mapped.facts;
        let values: Vec<(String, Value)> = facts
            .history(&histories, &m, &mut Unmapped::default())
            .unwrap()
            .into_iter()
            .filter_map(|r| match r {
                Record::Event(EventRecord {
                    id,
                    change: ChangeRecord::Field { name, value },
                    ..
                }) if name == REQUEST_TYPE => Some((id, value)),
                _ => None,
            })
            .collect();
        assert_eq!(
            values,
            [
                ("c.request_type".into(), Value::Null),
                ("h.1.0".into(), Value::from("Get IT help")),
                ("h.2.0".into(), Value::from("Report a system problem")),
            ]
        );
    }

    #[test]
    fn comment_authors_are_agents_by_the_desks_list_when_it_was_read() {
        let facts = IssueFacts {
            key: "SUP-8".into(),
            created: 0,
            requester: Some("c1".into()),
            status: None,
            priority: None,
            status_seen: false,
            priority_seen: false,
            labels_seen: false,
            group: None,
            group_seen: false,
            request_type_seen: false,
            organization_seen: false,
        };
        let comment = |id: &str, kind: &str| -> Comment {
            serde_json::from_value(
                serde_json::json!({"id": id, "created": "2026-11-04T09:20:00.000-0800",
                "author": {"accountId": id, "accountType": kind}, "jsdPublic": true}),
            )
            .unwrap()
        };
        let comments = [
            comment("a1", "atlassian"),
            comment("dev", "atlassian"),
            comment("c1", "customer"),
            comment("bot", "app"),
        ];
        let read = |agents: Option<&HashSet<String>>| -> Vec<(String, String)> {
            facts
                .comments(&comments, agents)
                .unwrap()
                .into_iter()
                .filter_map(|r| match r {
                    Record::Event(EventRecord {
                        id,
                        change: ChangeRecord::Comment { author, .. },
                        ..
                    }) => Some((id, format!("{author:?}"))),
                    Record::User(u) => Some((u.id, format!("agent={}", u.agent))),
                    _ => None,
                })
                .collect()
        };
        let agents: HashSet<String> = ["a1".to_string()].into();
        let by_list = read(Some(&agents));
        assert!(
            by_list.contains(&("m.dev".into(), "Other".into())),
            "{by_list:?}"
        );
        assert!(by_list.contains(&("dev".into(), "agent=false".into())));
        assert!(by_list.contains(&("m.a1".into(), "Agent".into())));
        assert!(by_list.contains(&("a1".into(), "agent=true".into())));
        assert!(by_list.contains(&("m.c1".into(), "Requester".into())));
        // Not read (or forbidden): any Atlassian account is an agent.
        let by_type = read(None);
        assert!(
            by_type.contains(&("m.dev".into(), "Agent".into())),
            "{by_type:?}"
        );
        assert!(by_type.contains(&("dev".into(), "agent=true".into())));
        assert!(by_type.contains(&("m.bot".into(), "Other".into())));
    }

    #[test]
    fn changelog_pages_end_by_is_last_or_total() {
        let page = |start: u64, n: usize, total: Option<u64>, last: Option<bool>| ChangelogPage {
            start_at: start,
            total,
            is_last: last,
            values: (0..n)
                .map(|i| History {
                    id: Value::from(i.to_string()),
                    created: "2026-11-02T09:00:00.000-0800".into(),
                    items: Vec::new(),
                })
                .collect(),
        };
        assert_eq!(page(0, 3, Some(6), Some(false)).next(), Some(3));
        assert_eq!(page(3, 3, Some(6), Some(true)).next(), None);
        assert_eq!(page(0, 3, Some(6), None).next(), Some(3));
        assert_eq!(
            page(0, 0, Some(6), Some(false)).next(),
            None,
            "no progress: stop"
        );
    }
}
