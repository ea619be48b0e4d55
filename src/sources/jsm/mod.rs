//! The Jira Service Management (Cloud) adapter.
//!
//! Streams (each with its own cursor; `docs/jira-service-management.md` is
//! the user's page):
//!
//! | stream | requests | cursor |
//! | --- | --- | --- |
//! | `organizations` | `GET /rest/servicedeskapi/organization?start=N&limit=50` | the next `start` (`0` again once caught up) |
//! | `agents` | `GET /rest/api/3/user/assignable/search?project=KEY&startAt=N&maxResults=100` over the site's first 1,000 users, at most once an hour | the next `startAt` (`0` again once caught up) |
//! | `issues` | `GET /rest/api/3/status` once per process, `GET /rest/api/3/search/jql` (JQL on `updated`, paged by `nextPageToken`), then per request delivered its comment pages, its changelog pages when the search did not embed its whole history, and its SLA pages (`GET /rest/servicedeskapi/request/{key}/sla`) when no `sla_fields` are named | [`IssueCursor`]: the sweep's lower bound, its token, the requests read at the seam, and the pages owed |
//!
//! The desk's agents are the users who may be assigned its requests: a
//! comment's author among them is an agent, any other account is not;
//! until the list is read, or when the API user may not read it (`403`),
//! an `atlassian` account is taken for an agent.
//!
//! One poll is one request, so the daemon's `requests_per_minute` paces
//! every request. A request's header is stored with the search page that
//! delivered it; its history and comments follow in later polls, and the
//! stored cursor lists what is still owed, so a crash loses none. JQL dates
//! have minutes and are read in the API user's zone: each sweep starts a
//! margin before the latest `updated` read, and requests read again with
//! the same `updated` are skipped. A request whose history records a move
//! from another key of the project removes the ticket stored under that
//! key; one that answers 404 right after the search listed it is removed.
//!
//! Secrets: the API token comes from an environment variable or a file,
//! goes only to the configured site, and is never logged nor put in an
//! error.

pub mod config;
mod map;
pub mod sla;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use self::config::JsmConfig;
use self::map::{
    ChangelogPage, CommentPage, IssueFacts, Mapping, OrganizationPage, SearchPage, StatusDetails,
};
use super::http::{http_client, read_secret, without_url};
use super::{
    NoteRecord, Page, PollFuture, Record, RequestStats, Source, SourceError, TicketHeader,
    UserRecord,
};
use crate::policy::spec::{SourceSpec, Status};

/// Jira Service Management in the registry of helpdesk kinds
/// ([`super::KINDS`]).
pub const KIND: super::Kind = super::Kind {
    name: "jira_service_management",
    check: |spec| JsmConfig::from_spec(spec).map(|_| ()),
    build: |spec| Ok(Box::new(Jsm::new(spec)?)),
    ticket_url: |spec, id| {
        let base = spec.settings.get("url")?.as_str()?.trim_end_matches('/');
        Some(format!("{base}/browse/{id}"))
    },
    reconcile: Some(&config::RECONCILER),
    sla_record: None,
};

const STREAMS: [&str; 3] = ["organizations", "agents", "issues"];
/// Issues per search page.
const SEARCH_PAGE: &str = "50";
/// Histories and comments per page (the changelog's maximum).
const ITEM_PAGE: &str = "100";
/// Organizations per page (the service desk API's default).
const ORG_PAGE: &str = "50";
/// SLA records per page of the request SLA endpoint (its default).
const SLA_PAGE: &str = "50";
/// Users per page of the assignable users' search.
const AGENT_PAGE: u64 = 100;
/// The assignable users' search looks at the site's first 1,000 users.
const USER_WINDOW: u64 = 1000;
/// How long a complete list of the desk's agents is used before the
/// `agents` stream reads it again (seconds).
const AGENT_REFRESH: i64 = 3600;

/// The desk's agents as this process read them.
#[derive(Debug, Default)]
struct Agents {
    /// The last complete pass (`None`: none yet, or the list is forbidden).
    known: Option<Arc<HashSet<String>>>,
    /// When `known` (or the 403) was read (Unix seconds).
    read_at: i64,
    /// The pass under way: the accounts read so far, and the `startAt` it
    /// asks next.
    gathering: HashSet<String>,
    next: Option<u64>,
    /// The API user may not list them (`403`): comments are classified by
    /// account type; noted once.
    forbidden: bool,
}

/// What a GET got: a body, a 404, or a 401/403.
enum Answer {
    Body(Bytes),
    NotFound,
    Forbidden(reqwest::StatusCode),
}

/// How the adapter authenticates.
enum Auth {
    Basic { email: String, token: String },
    Bearer(String),
}

/// A JSM service project.
pub struct Jsm {
    client: reqwest::Client,
    base: String,
    auth: Auth,
    project: String,
    start_time: i64,
    timezone: chrono_tz::Tz,
    margin: i64,
    statuses: BTreeMap<String, Status>,
    organization_field: Option<String>,
    group_field: Option<String>,
    request_type_field: Option<String>,
    sla_fields: Vec<String>,
    stats: Arc<RequestStats>,
    /// Status id → category key, from `GET /rest/api/3/status`.
    categories: Mutex<Option<HashMap<String, String>>>,
    /// Organization name → id, from the organizations stream (this
    /// process): a history item of the Organizations field that names an
    /// organization without its id is read by it.
    organization_ids: Mutex<Arc<HashMap<String, String>>>,
    /// The desk's agents, from the `agents` stream.
    agents: Mutex<Agents>,
}

impl std::fmt::Debug for Jsm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("Jsm")
            .field("base", &self.base)
            .field("project", &self.project)
            .finish()
    }
}

/// Where the issues stream is: stored as JSON with the records it read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IssueCursor {
    /// The latest `updated` of a finished sweep (Unix seconds): the next
    /// sweep asks from a margin before it.
    pub since: i64,
    /// The next page of the sweep under way.
    #[serde(default)]
    pub token: Option<String>,
    /// The latest `updated` read in the sweep under way.
    #[serde(default)]
    pub latest: i64,
    /// Requests read near the seam: (key, `updated`), skipped when they
    /// come again unchanged.
    #[serde(default)]
    pub seen: Vec<(String, i64)>,
    /// Pages still to read for requests already delivered.
    #[serde(default)]
    pub owed: Vec<Owed>,
}

/// A page owed for a request: its changelog or its comments from `start`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Owed {
    pub what: Want,
    pub start: u64,
    facts: IssueFacts,
    /// For [`Want::Sla`]: the header the search delivered, stored again
    /// with the SLA records once every page is read, and the records of
    /// the pages read so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    header: Option<TicketHeader>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    slas: Vec<serde_json::Value>,
}

impl IssueCursor {
    /// Whether a request read with this `updated` is new (else it was read
    /// already: skipped); remembers it.
    fn remember(&mut self, key: &str, updated: i64) -> bool {
        if self.seen.iter().any(|(k, u)| k == key && *u == updated) {
            return false;
        }
        self.seen.retain(|(k, _)| k != key);
        self.seen.push((key.to_string(), updated));
        self.latest = self.latest.max(updated);
        true
    }

    /// After a search page: its token, or at the sweep's end the next
    /// sweep's start. Requests updated too long before the latest read to
    /// come again (the next search starts a margin, floored to the minute,
    /// before it) are forgotten, so the cursor stays small.
    fn after_page(&mut self, token: Option<String>, margin: i64) {
        match token {
            Some(t) if !t.is_empty() => self.token = Some(t),
            _ => {
                self.token = None;
                self.since = self.since.max(self.latest);
            }
        }
        let keep_from = self.since.max(self.latest) - margin - 60;
        self.seen.retain(|(_, u)| *u >= keep_from);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Want {
    Changelog,
    Comments,
    /// The request SLA endpoint's pages (when no `sla_fields` give them).
    Sla,
}

/// The header that removes the ticket stored as `key`: deleted at `at`
/// (a later instant than any it was stored with).
fn gone(key: &str, created_at: i64, at: i64) -> TicketHeader {
    TicketHeader {
        id: key.to_string(),
        created_at,
        updated_at: at,
        url: None,
        organization_id: None,
        requester_id: None,
        tags: Vec::new(),
        fields: BTreeMap::new(),
        deleted: true,
        status: None,
        priority: None,
        group: None,
    }
}

fn malformed(stream: &str, message: String) -> SourceError {
    SourceError::Malformed {
        stream: stream.to_string(),
        message,
    }
}

impl Jsm {
    /// The adapter for a configured source; reads the token now.
    pub fn new(spec: &SourceSpec) -> Result<Self, String> {
        let config = JsmConfig::from_spec(spec).map_err(|e| e.to_string())?;
        let token = read_secret(&config.auth.token, "API token")?;
        if token.is_empty() {
            return Err("the API token is empty".to_string());
        }
        let auth = match config.auth.email.clone() {
            Some(email) => Auth::Basic { email, token },
            None => Auth::Bearer(token),
        };
        Ok(Jsm {
            client: http_client()?,
            base: config.base_url(),
            auth,
            project: config.project.clone(),
            start_time: config.start_time.0,
            timezone: config.timezone().map_err(|e| e.to_string())?,
            margin: config.margin().map_err(|e| e.to_string())?,
            statuses: config.statuses,
            organization_field: config.organization_field,
            group_field: config.group_field,
            request_type_field: config.request_type_field,
            sla_fields: config.sla_fields,
            stats: Arc::default(),
            categories: Mutex::new(None),
            organization_ids: Mutex::new(Arc::default()),
            agents: Mutex::new(Agents::default()),
        })
    }

    /// GETs `path` on the site with the credentials. `None` for a 404.
    async fn get(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Option<Bytes>, SourceError> {
        match self.answer(path, query).await? {
            Answer::Body(b) => Ok(Some(b)),
            Answer::NotFound => Ok(None),
            Answer::Forbidden(status) => Err(SourceError::Fatal(format!(
                "GET {path}: HTTP {status}: check the source's auth (auth.email and an API token of an agent of the service desk, or an OAuth token) and that the user may browse project {}",
                self.project
            ))),
        }
    }

    /// GETs `path`: its body, or a 404, or a 401/403 (whose status it
    /// gives).
    async fn answer(&self, path: &str, query: &[(&str, String)]) -> Result<Answer, SourceError> {
        let req = self.client.get(format!("{}{path}", self.base)).query(query);
        let req = match &self.auth {
            Auth::Basic { email, token } => req.basic_auth(email, Some(token)),
            Auth::Bearer(token) => req.bearer_auth(token),
        };
        let resp = req.send().await.map_err(|e| {
            self.stats.response(None, None);
            SourceError::Transient(format!("GET {path}: {}", without_url(&e)))
        })?;
        let status = resp.status();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let remaining = header("x-ratelimit-remaining").and_then(|v| v.trim().parse::<i64>().ok());
        self.stats.response(Some(status.as_u16()), remaining);
        if status.as_u16() == 429 {
            let wait = header("retry-after")
                .and_then(|v| v.trim().parse::<f64>().ok())
                .map(|s| s.ceil().max(1.0) as u64)
                .or_else(|| {
                    let reset = header("x-ratelimit-reset")?;
                    let at = chrono::NaiveDateTime::parse_from_str(
                        reset.trim().trim_end_matches('Z'),
                        "%Y-%m-%dT%H:%M",
                    )
                    .ok()?
                    .and_utc()
                    .timestamp();
                    Some((at - chrono::Utc::now().timestamp()).max(1) as u64)
                })
                .unwrap_or(60);
            return Err(SourceError::RateLimited(wait));
        }
        if status.is_server_error() {
            return Err(SourceError::Transient(format!("GET {path}: HTTP {status}")));
        }
        if status.as_u16() == 401 || status.as_u16() == 403 {
            return Ok(Answer::Forbidden(status));
        }
        if status.as_u16() == 404 {
            return Ok(Answer::NotFound);
        }
        let body = resp.bytes().await.map_err(|e| {
            SourceError::Transient(format!("GET {path}: reading the body: {}", without_url(&e)))
        })?;
        if !status.is_success() {
            // Jira's errors are {"errorMessages": [...], "errors": {...}}.
            let said = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| {
                    v["errorMessages"].as_array().map(|a| {
                        a.iter()
                            .filter_map(|m| m.as_str())
                            .collect::<Vec<_>>()
                            .join("; ")
                    })
                })
                .unwrap_or_default();
            return Err(SourceError::Fatal(format!(
                "GET {path}: HTTP {status} {said}"
            )));
        }
        Ok(Answer::Body(body))
    }

    async fn fetch(&self, path: &str, query: &[(&str, String)]) -> Result<Bytes, SourceError> {
        self.get(path, query)
            .await?
            .ok_or_else(|| SourceError::Fatal(format!("GET {path}: HTTP 404 Not Found")))
    }

    fn parse<T: serde::de::DeserializeOwned>(
        &self,
        stream: &str,
        path: &str,
        body: &[u8],
    ) -> Result<T, SourceError> {
        serde_json::from_slice(body).map_err(|e| {
            self.stats.parse_error();
            malformed(stream, format!("GET {path}: {e}"))
        })
    }

    /// The JQL of a sweep from `since`: a margin earlier, floored to the
    /// minute, written in the API user's zone (JQL reads it there).
    fn jql(&self, since: i64) -> String {
        use chrono::TimeZone;
        let from = since - self.margin;
        let local = self
            .timezone
            .timestamp_opt(from - from.rem_euclid(60), 0)
            .single()
            .map_or_else(
                || "1970/01/01 00:00".to_string(),
                |t| t.format("%Y/%m/%d %H:%M").to_string(),
            );
        format!(
            "project = \"{}\" AND updated >= \"{local}\" ORDER BY updated ASC",
            self.project
        )
    }

    async fn organizations(&self, cursor: Option<&str>) -> Result<Page, SourceError> {
        let stream = "organizations";
        let start: u64 = match cursor {
            None => 0,
            Some(c) => c.parse().map_err(|_| {
                SourceError::Fatal(format!(
                    "stored cursor for organizations is not a number: {c:?}"
                ))
            })?,
        };
        let path = "/rest/servicedeskapi/organization";
        let body = self
            .fetch(
                path,
                &[("start", start.to_string()), ("limit", ORG_PAGE.into())],
            )
            .await?;
        let page: OrganizationPage = self.parse(stream, path, &body)?;
        if let Ok(mut ids) = self.organization_ids.lock() {
            let ids = Arc::make_mut(&mut ids);
            for o in &page.values {
                if let (Some(name), Some(id)) = (&o.name, map::id_of(&o.id)) {
                    ids.insert(name.clone(), id);
                }
            }
        }
        let next = page.start.max(start) + page.values.len() as u64;
        let done = page.is_last_page.unwrap_or(true) || page.values.is_empty();
        Ok(Page {
            stream: stream.to_string(),
            records: page.values.into_iter().filter_map(|o| o.record()).collect(),
            cursor: if done { 0 } else { next }.to_string(),
            caught_up: done,
        })
    }

    /// The desk's agents: the users who may be assigned the project's
    /// issues, read in pages over the site's first [`USER_WINDOW`] users
    /// (a page holds only the assignable users of its range: a short or
    /// empty page is not the last), each stored as an agent. A complete
    /// pass is used for an hour; a `403` keeps the classification by
    /// account type (noted once).
    async fn agents(&self, cursor: Option<&str>) -> Result<Page, SourceError> {
        let stream = "agents";
        let asked: u64 = match cursor {
            None => 0,
            Some(c) => c.parse().map_err(|_| {
                SourceError::Fatal(format!("stored cursor for agents is not a number: {c:?}"))
            })?,
        };
        let now = crate::clock::now_unix();
        let idle = |records: Vec<Record>| Page {
            stream: stream.to_string(),
            records,
            cursor: "0".to_string(),
            caught_up: true,
        };
        let start = {
            let Ok(mut a) = self.agents.lock() else {
                return Ok(idle(Vec::new()));
            };
            let fresh = now - a.read_at < AGENT_REFRESH;
            if a.next.is_none() && fresh && (a.known.is_some() || a.forbidden) {
                return Ok(idle(Vec::new()));
            }
            // A pass goes on only from where this process left it (the
            // accounts read before a restart are not in memory).
            if a.next != Some(asked) {
                a.gathering.clear();
                a.next = Some(0);
            }
            a.next.unwrap_or(0)
        };
        let path = "/rest/api/3/user/assignable/search";
        let query = [
            ("project", self.project.clone()),
            ("startAt", start.to_string()),
            ("maxResults", AGENT_PAGE.to_string()),
        ];
        let body = match self.answer(path, &query).await? {
            Answer::Body(b) => b,
            Answer::NotFound | Answer::Forbidden(_) => {
                if let Ok(mut a) = self.agents.lock() {
                    if !a.forbidden {
                        tracing::warn!(project = %self.project, "the API user may not list the users who can be assigned the project's requests; any Atlassian account that comments counts as an agent");
                    }
                    *a = Agents {
                        forbidden: true,
                        read_at: now,
                        ..Agents::default()
                    };
                }
                return Ok(idle(Vec::new()));
            }
        };
        let users: Vec<map::Account> = self.parse(stream, path, &body)?;
        let mut records = Vec::with_capacity(users.len());
        let next = start + AGENT_PAGE;
        let done = next >= USER_WINDOW;
        if let Ok(mut a) = self.agents.lock() {
            for u in users {
                if let Some(id) = u.account_id.filter(|id| !id.is_empty()) {
                    a.gathering.insert(id.clone());
                    records.push(Record::User(UserRecord { id, agent: true }));
                }
            }
            if done {
                let list = std::mem::take(&mut a.gathering);
                *a = Agents {
                    known: Some(Arc::new(list)),
                    read_at: now,
                    ..Agents::default()
                };
            } else {
                a.next = Some(next);
            }
        }
        Ok(Page {
            stream: stream.to_string(),
            records,
            cursor: if done { 0 } else { next }.to_string(),
            caught_up: done,
        })
    }

    fn issue_page(&self, records: Vec<Record>, state: &IssueCursor) -> Result<Page, SourceError> {
        let cursor = serde_json::to_string(state)
            .map_err(|e| SourceError::Fatal(format!("cannot write the issues cursor: {e}")))?;
        Ok(Page {
            stream: "issues".to_string(),
            records,
            cursor,
            caught_up: state.owed.is_empty() && state.token.is_none(),
        })
    }

    /// Notes (and counts) what a history named that the site's lists do
    /// not have: a status id (the change is skipped), an organization name
    /// (the change is skipped); and removes the tickets stored under a key
    /// of this project the issue had before a move (it is stored under its
    /// key now: counted once).
    fn unmapped(&self, unknown: map::Unmapped, facts: &IssueFacts, records: &mut Vec<Record>) {
        let at = facts.created;
        for id in unknown.statuses {
            if self.stats.unmapped("status", &id) {
                tracing::warn!(status = %id, "a history names a status id the site's statuses do not list; the change is skipped");
            }
            records.push(Record::Note(NoteRecord {
                kind: "unmapped_status".into(),
                name: id,
                first_at: at,
                last_at: at,
            }));
        }
        for name in unknown.organizations {
            if self.stats.unmapped("organization", &name) {
                tracing::warn!(organization = %name, "a history names an organization without its id that the organizations read do not have; the change is skipped");
            }
            records.push(Record::Note(NoteRecord {
                kind: "unmapped_organization".into(),
                name,
                first_at: at,
                last_at: at,
            }));
        }
        let ours = format!("{}-", self.project);
        for (old, moved_at) in unknown.former_keys {
            if old != facts.key && old.starts_with(&ours) {
                tracing::info!(request = %facts.key, former = %old, "a request moved and came back under another key; the ticket stored under its former key is removed");
                records.push(Record::Ticket(gone(&old, facts.created, moved_at)));
            }
        }
    }

    async fn issues(&self, cursor: Option<&str>) -> Result<Page, SourceError> {
        let stream = "issues";
        let mut state: IssueCursor = match cursor {
            None => IssueCursor {
                since: self.start_time,
                ..IssueCursor::default()
            },
            Some(c) => serde_json::from_str(c).map_err(|e| {
                SourceError::Fatal(format!(
                    "stored cursor for issues does not parse ({e}): {c}"
                ))
            })?,
        };
        let known = self.categories.lock().ok().and_then(|c| c.clone());
        let Some(categories) = known else {
            let path = "/rest/api/3/status";
            let body = self.fetch(path, &[]).await?;
            let list: Vec<StatusDetails> = self.parse(stream, path, &body)?;
            if let Ok(mut c) = self.categories.lock() {
                *c = Some(map::categories(&list));
            }
            let mut page = self.issue_page(Vec::new(), &state)?;
            page.caught_up = false;
            return Ok(page);
        };
        let organization_ids = self
            .organization_ids
            .lock()
            .map(|o| Arc::clone(&o))
            .unwrap_or_default();
        let mapping = Mapping {
            base: &self.base,
            organization_ids: &organization_ids,
            statuses: &self.statuses,
            categories: &categories,
            organization_field: self.organization_field.as_deref(),
            group_field: self.group_field.as_deref(),
            request_type_field: self.request_type_field.as_deref(),
            sla_fields: &self.sla_fields,
        };
        if let Some(mut owed) = state.owed.first().cloned() {
            let key = owed.facts.key.clone();
            let mut records = Vec::new();
            let mut unknown = map::Unmapped::default();
            let mut vanished = false;
            let next = match owed.what {
                Want::Changelog => {
                    let path = format!("/rest/api/3/issue/{key}/changelog");
                    let query = [
                        ("startAt", owed.start.to_string()),
                        ("maxResults", ITEM_PAGE.into()),
                    ];
                    match self.get(&path, &query).await? {
                        None => {
                            // Deleted since the search listed it (or no longer visible to
                            // the API user): its stored ticket is removed.
                            vanished = true;
                            None
                        }
                        Some(body) => {
                            let page: ChangelogPage = self.parse(stream, &path, &body)?;
                            records = owed
                                .facts
                                .history(&page.values, &mapping, &mut unknown)
                                .map_err(|e| malformed(stream, e))?;
                            let next = page.next();
                            if next.is_none() {
                                records.extend(owed.facts.finish());
                            }
                            next
                        }
                    }
                }
                Want::Sla => {
                    let path = format!("/rest/servicedeskapi/request/{key}/sla");
                    let query = [
                        ("start", owed.start.to_string()),
                        ("limit", SLA_PAGE.into()),
                    ];
                    match self.get(&path, &query).await? {
                        // Deleted since it was listed, or not a request of
                        // the service desk: no SLA.
                        None => None,
                        Some(body) => {
                            let page: map::SlaPage = self.parse(stream, &path, &body)?;
                            let next = page.next(owed.start);
                            owed.slas.extend(page.values);
                            if next.is_none() {
                                if let Some(header) = owed.header.take() {
                                    records.push(Record::Ticket(map::with_slas(
                                        header,
                                        std::mem::take(&mut owed.slas),
                                    )));
                                }
                            }
                            next
                        }
                    }
                }
                Want::Comments => {
                    let path = format!("/rest/api/3/issue/{key}/comment");
                    let query = [
                        ("startAt", owed.start.to_string()),
                        ("maxResults", ITEM_PAGE.into()),
                        ("orderBy", "created".into()),
                    ];
                    match self.get(&path, &query).await? {
                        None => {
                            // Deleted since the search listed it (or no longer visible to
                            // the API user): its stored ticket is removed.
                            vanished = true;
                            None
                        }
                        Some(body) => {
                            let page: CommentPage = self.parse(stream, &path, &body)?;
                            let agents = self.agents.lock().ok().and_then(|a| a.known.clone());
                            records = owed
                                .facts
                                .comments(&page.comments, agents.as_deref())
                                .map_err(|e| malformed(stream, e))?;
                            page.next()
                        }
                    }
                }
            };
            self.unmapped(unknown, &owed.facts, &mut records);
            if vanished {
                tracing::info!(request = %key, "a request the search listed is gone (404); its stored ticket is removed");
                records.push(Record::Ticket(gone(
                    &key,
                    owed.facts.created,
                    crate::clock::now_unix(),
                )));
                state.owed.retain(|o| o.facts.key != key);
                return self.issue_page(records, &state);
            }
            match next {
                Some(start) => {
                    owed.start = start;
                    state.owed[0] = owed;
                }
                None => {
                    state.owed.remove(0);
                }
            }
            return self.issue_page(records, &state);
        }
        // A search page.
        let path = "/rest/api/3/search/jql";
        let mut query = vec![
            ("jql", self.jql(state.since)),
            ("fields", mapping.search_fields()),
            ("expand", "changelog".to_string()),
            ("maxResults", SEARCH_PAGE.to_string()),
        ];
        if let Some(t) = &state.token {
            query.push(("nextPageToken", t.clone()));
        }
        let body = self.fetch(path, &query).await?;
        let page: SearchPage = self.parse(stream, path, &body)?;
        let mut records = Vec::with_capacity(page.issues.len() * 4);
        for issue in page.issues {
            let m = issue.map(&mapping).map_err(|e| malformed(stream, e))?;
            if !state.remember(&m.facts.key, m.updated) {
                continue;
            }
            // Without SLA fields, JSM's SLA records come from the request
            // SLA endpoint, after the comments.
            let sla_owed = match &m.header {
                Record::Ticket(h) if self.sla_fields.is_empty() => Some(h.clone()),
                _ => None,
            };
            records.push(m.header);
            let mut facts = m.facts;
            match m.complete_history {
                Some(histories) => {
                    let mut unknown = map::Unmapped::default();
                    records.extend(
                        facts
                            .history(&histories, &mapping, &mut unknown)
                            .map_err(|e| malformed(stream, e))?,
                    );
                    records.extend(facts.finish());
                    self.unmapped(unknown, &facts, &mut records);
                }
                None => state.owed.push(Owed {
                    what: Want::Changelog,
                    start: 0,
                    facts: facts.clone(),
                    header: None,
                    slas: Vec::new(),
                }),
            }
            if let Some(header) = sla_owed {
                state.owed.push(Owed {
                    what: Want::Comments,
                    start: 0,
                    facts: facts.clone(),
                    header: None,
                    slas: Vec::new(),
                });
                state.owed.push(Owed {
                    what: Want::Sla,
                    start: 0,
                    facts,
                    header: Some(header),
                    slas: Vec::new(),
                });
            } else {
                state.owed.push(Owed {
                    what: Want::Comments,
                    start: 0,
                    facts,
                    header: None,
                    slas: Vec::new(),
                });
            }
        }
        state.after_page(page.next_page_token, self.margin);
        self.issue_page(records, &state)
    }
}

impl Source for Jsm {
    fn kind(&self) -> &'static str {
        KIND.name
    }

    fn streams(&self) -> &[&'static str] {
        &STREAMS
    }

    fn poll<'a>(&'a self, stream: &'a str, cursor: Option<&'a str>) -> PollFuture<'a> {
        Box::pin(async move {
            let cursor = cursor.filter(|c| !c.is_empty());
            match stream {
                "organizations" => self.organizations(cursor).await,
                "agents" => self.agents(cursor).await,
                "issues" => self.issues(cursor).await,
                other => Err(SourceError::Fatal(format!(
                    "the jira_service_management adapter has no stream {other}; its streams are {}",
                    STREAMS.join(", ")
                ))),
            }
        })
    }

    fn request_stats(&self) -> Option<Arc<RequestStats>> {
        Some(self.stats.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sweep_skips_what_it_read_and_forgets_what_cannot_come_again() {
        let mut c = IssueCursor {
            since: 1_000_000,
            ..IssueCursor::default()
        };
        assert!(c.remember("SUP-1", 1_000_100));
        assert!(c.remember("SUP-2", 1_000_400));
        assert!(!c.remember("SUP-1", 1_000_100), "read already");
        c.after_page(Some("tok".into()), 300);
        assert_eq!((c.token.as_deref(), c.since), (Some("tok"), 1_000_000));
        assert!(c.remember("SUP-3", 1_002_000));
        // The sweep ends: the next starts at the latest update read, and
        // SUP-1 and SUP-2 (updated more than the margin and a minute
        // before it) cannot come again.
        c.after_page(None, 300);
        assert_eq!((c.token.as_deref(), c.since), (None, 1_002_000));
        assert_eq!(c.seen, vec![("SUP-3".to_string(), 1_002_000)]);
        // The next sweep delivers SUP-3 again unchanged (skipped), then
        // changed (read).
        assert!(!c.remember("SUP-3", 1_002_000));
        assert!(c.remember("SUP-3", 1_002_500));
        assert_eq!(c.seen.len(), 1);
        // A sweep with nothing new leaves the start where it was.
        c.after_page(None, 300);
        assert_eq!(c.since, 1_002_500);
    }
}
