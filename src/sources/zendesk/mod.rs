//! The Zendesk adapter.
//!
//! Streams, read in this order on a backfill (each with its own cursor):
//!
//! | stream | endpoint (Zendesk API reference) | pagination |
//! | --- | --- | --- |
//! | `users` | Incremental Exports: incremental user export, cursor based (`/api/v2/incremental/users/cursor.json`) | `after_cursor`, `end_of_stream` |
//! | `organizations` | Incremental Exports: incremental organization export (`/api/v2/incremental/organizations.json`) | time based: `start_time` = previous `end_time` |
//! | `tickets` | Incremental Exports: incremental ticket export, cursor based (`/api/v2/incremental/tickets/cursor.json`) | `after_cursor`, `end_of_stream` |
//! | `ticket_events` | Incremental Exports: incremental ticket event export with `include=comment_events` (`/api/v2/incremental/ticket_events.json`) | time based |
//!
//! A poll makes exactly one request: no per-ticket requests, so a poll
//! costs one request per page of up to 1,000 changed records, and the
//! helpdesk's rate limit (10 incremental-export requests a minute on
//! Zendesk) is the real ceiling. Time-based pages end at a timestamp that the
//! next page starts at again, so records sharing it repeat; events carry
//! stable ids (`<audit id>.<child event id>`) and the store ignores repeats.
//!
//! Mapping: ticket status `deleted` marks the header deleted; the `Create`
//! audit's child events give the ticket's initial status, priority, group,
//! organization and tags at its creation; `Change` events the later ones;
//! `Comment` events become comments with their author's id, resolved to
//! agent / requester / other at assembly (users with role `agent` or `admin`
//! are agents). Group ids are used as group names (`group: "360001"` in a
//! tier metric). Custom fields become ticket fields keyed by field id.
//!
//! Secrets: the API token comes from an environment variable or a file; it
//! is sent in the `Authorization` header only and never logged or put in an
//! error (errors name the URL path and the status).

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::{
    ChangeRecord, EventRecord, OrganizationRecord, Page, PollFuture, Record, RequestStats, Source,
    SourceError, TicketHeader, UserRecord,
};
use crate::engine::timeline::Author;
use crate::policy::spec::{SecretSpec, SourceSpec, Status};
use crate::time::parse_instant;

pub mod import;

/// How the adapter authenticates.
#[derive(Clone)]
pub(crate) enum Auth {
    /// `email/token:TOKEN`, basic.
    Token { email: String, token: String },
    /// OAuth access token.
    Bearer(String),
}

impl Auth {
    /// API-token auth with an agent's email, else an OAuth bearer token.
    pub(crate) fn new(email: Option<String>, token: String) -> Self {
        match email {
            Some(email) => Auth::Token { email, token },
            None => Auth::Bearer(token),
        }
    }

    /// Adds the `Authorization` header to a request.
    pub(crate) fn apply(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Auth::Token { email, token } => req.basic_auth(format!("{email}/token"), Some(token)),
            Auth::Bearer(token) => req.bearer_auth(token),
        }
    }
}

/// The HTTP client every Zendesk request goes through.
pub(crate) fn http_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("helpdesk-slo/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        match self {
            Auth::Token { email, .. } => {
                write!(f, "Token {{ email: {email:?}, token: <redacted> }}")
            }
            Auth::Bearer(_) => f.write_str("Bearer(<redacted>)"),
        }
    }
}

/// Reads a secret from where the config says.
pub fn read_secret(spec: &SecretSpec) -> Result<String, String> {
    match (&spec.env, &spec.file) {
        (Some(name), None) => std::env::var(name)
            .map(|v| v.trim().to_string())
            .map_err(|_| format!("environment variable {name} (named in the config for the API token) is not set")),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map(|v| v.trim().to_string())
            .map_err(|e| format!("cannot read the API token file {}: {e}", path.display())),
        _ => Err("auth.token needs exactly one of `env: VARIABLE` or `file: PATH`; the token itself never goes in the config".to_string()),
    }
}

/// A Zendesk account.
#[derive(Debug, Clone)]
pub struct Zendesk {
    client: reqwest::Client,
    base: String,
    auth: Auth,
    start_time: i64,
    per_page: u32,
    stats: Arc<RequestStats>,
}

const STREAMS: [&str; 4] = ["users", "organizations", "tickets", "ticket_events"];

impl Zendesk {
    /// The adapter for a configured source; reads the token now.
    pub fn new(spec: &SourceSpec) -> Result<Self, String> {
        let token = read_secret(&spec.auth.token)?;
        if token.is_empty() {
            return Err("the API token is empty".to_string());
        }
        let auth = Auth::new(spec.auth.email.clone(), token);
        let client = http_client()?;
        Ok(Self {
            client,
            base: spec.url.trim_end_matches('/').to_string(),
            auth,
            start_time: spec.start_time.0,
            per_page: 1000,
            stats: Arc::default(),
        })
    }

    /// GETs a page and parses it straight into `T` (no `Value` tree in
    /// between): a body that is not JSON is malformed at `path`, JSON of
    /// the wrong shape is malformed in `stream`.
    async fn get<T: for<'de> Deserialize<'de>>(
        &self,
        stream: &str,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, SourceError> {
        let url = format!("{}{}", self.base, path);
        let req = self.auth.apply(self.client.get(&url).query(query));
        let resp = req.send().await.map_err(|e| {
            self.stats.response(None, None);
            SourceError::Transient(format!("GET {path}: {}", without_url(&e)))
        })?;
        let status = resp.status();
        // Zendesk sends `X-Rate-Limit-Remaining` (and `ratelimit-remaining`
        // on newer endpoints).
        let remaining = ["x-rate-limit-remaining", "ratelimit-remaining"]
            .iter()
            .find_map(|h| resp.headers().get(*h))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<i64>().ok());
        self.stats.response(Some(status.as_u16()), remaining);
        if status.as_u16() == 429 {
            let wait = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(60);
            return Err(SourceError::RateLimited(wait));
        }
        if status.is_server_error() {
            return Err(SourceError::Transient(format!("GET {path}: HTTP {status}")));
        }
        if status.as_u16() == 401 || status.as_u16() == 403 {
            return Err(SourceError::Fatal(format!(
                "GET {path}: HTTP {status}: check the source's auth (email and API token, or OAuth token)"
            )));
        }
        if !status.is_success() {
            return Err(SourceError::Fatal(format!("GET {path}: HTTP {status}")));
        }
        let bytes = resp.bytes().await.map_err(|e| {
            SourceError::Transient(format!("GET {path}: reading the body: {}", without_url(&e)))
        })?;
        serde_json::from_slice(&bytes).map_err(|e| {
            if e.is_data() {
                return SourceError::Malformed {
                    stream: stream.to_string(),
                    message: e.to_string(),
                };
            }
            self.stats.parse_error();
            SourceError::Malformed {
                stream: path.to_string(),
                message: e.to_string(),
            }
        })
    }

    async fn poll_stream(&self, stream: &str, cursor: Option<&str>) -> Result<Page, SourceError> {
        let per_page = ("per_page", self.per_page.to_string());
        // Users and organizations are reference data: a backfill reads all
        // of them, however old; tickets and their events from start_time.
        let first = if matches!(stream, "users" | "organizations") {
            0
        } else {
            self.start_time
        };
        let start = |c: Option<&str>| -> Result<String, SourceError> {
            match c {
                None => Ok(first.to_string()),
                Some(c) if c.parse::<i64>().is_ok() => Ok(c.to_string()),
                Some(c) => Err(SourceError::Fatal(format!(
                    "stored cursor for {stream} is not a time: {c}"
                ))),
            }
        };
        let cursor_query = |c: Option<&str>| match c {
            None => ("start_time", first.to_string()),
            Some(c) => ("cursor", c.to_string()),
        };
        match stream {
            "users" => {
                let page: CursorPage<ZUser> = self
                    .get(
                        stream,
                        "/api/v2/incremental/users/cursor.json",
                        &[cursor_query(cursor), per_page],
                    )
                    .await?;
                let records = page
                    .items
                    .iter()
                    .map(|u| Record::User(u.record()))
                    .collect();
                Ok(cursor_page(
                    stream,
                    records,
                    page.after_cursor,
                    page.end_of_stream,
                    cursor,
                ))
            }
            "tickets" => {
                let page: CursorPage<ZTicket> = self
                    .get(
                        stream,
                        "/api/v2/incremental/tickets/cursor.json",
                        &[cursor_query(cursor), per_page],
                    )
                    .await?;
                let mut records = Vec::with_capacity(page.items.len());
                for t in &page.items {
                    records.push(Record::Ticket(t.header(stream)?));
                }
                Ok(cursor_page(
                    stream,
                    records,
                    page.after_cursor,
                    page.end_of_stream,
                    cursor,
                ))
            }
            "organizations" => {
                let page: TimePage<ZOrganization> = self
                    .get(
                        stream,
                        "/api/v2/incremental/organizations.json",
                        &[("start_time", start(cursor)?), per_page],
                    )
                    .await?;
                let records = page
                    .items
                    .iter()
                    .map(|o| Record::Organization(o.record()))
                    .collect();
                Ok(time_page(
                    stream,
                    records,
                    page.end_time,
                    page.end_of_stream,
                    cursor,
                ))
            }
            "ticket_events" => {
                let page: TimePage<ZTicketEvent> = self
                    .get(
                        stream,
                        "/api/v2/incremental/ticket_events.json",
                        &[
                            ("start_time", start(cursor)?),
                            ("include", "comment_events".to_string()),
                            per_page,
                        ],
                    )
                    .await?;
                let mut records = Vec::with_capacity(page.items.len() * 2);
                for e in &page.items {
                    e.records(&mut records);
                }
                Ok(time_page(
                    stream,
                    records,
                    page.end_time,
                    page.end_of_stream,
                    cursor,
                ))
            }
            other => Err(SourceError::Fatal(format!(
                "the zendesk adapter has no stream {other}; its streams are {}",
                STREAMS.join(", ")
            ))),
        }
    }
}

/// reqwest's error text without the URL (which is ours, but keeps the
/// messages short and free of query strings).
pub(crate) fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "");
    }
    if e.is_timeout() {
        text = format!("timed out ({text})");
    }
    text
}

fn cursor_page(
    stream: &str,
    records: Vec<Record>,
    after: Option<String>,
    end: bool,
    old: Option<&str>,
) -> Page {
    Page {
        stream: stream.to_string(),
        records,
        // No after_cursor: stay where we are.
        cursor: after
            .or_else(|| old.map(str::to_string))
            .unwrap_or_default(),
        caught_up: end,
    }
}

fn time_page(
    stream: &str,
    records: Vec<Record>,
    end_time: Option<i64>,
    end: bool,
    old: Option<&str>,
) -> Page {
    Page {
        stream: stream.to_string(),
        records,
        cursor: end_time
            .map(|t| t.to_string())
            .or_else(|| old.map(str::to_string))
            .unwrap_or_default(),
        caught_up: end,
    }
}

impl Source for Zendesk {
    fn kind(&self) -> &'static str {
        "zendesk"
    }

    fn streams(&self) -> &[&'static str] {
        &STREAMS
    }

    fn poll<'a>(&'a self, stream: &'a str, cursor: Option<&'a str>) -> PollFuture<'a> {
        Box::pin(self.poll_stream(stream, cursor))
    }

    fn request_stats(&self) -> Option<Arc<RequestStats>> {
        Some(self.stats.clone())
    }
}

#[derive(Deserialize)]
struct CursorPage<T> {
    #[serde(alias = "tickets", alias = "users")]
    items: Vec<T>,
    #[serde(default)]
    after_cursor: Option<String>,
    #[serde(default)]
    end_of_stream: bool,
}

#[derive(Deserialize)]
struct TimePage<T> {
    #[serde(alias = "organizations", alias = "ticket_events")]
    items: Vec<T>,
    #[serde(default)]
    end_time: Option<i64>,
    #[serde(default)]
    end_of_stream: bool,
}

fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

#[derive(Deserialize)]
struct ZUser {
    id: Value,
    #[serde(default)]
    role: Option<String>,
}

impl ZUser {
    fn record(&self) -> UserRecord {
        UserRecord {
            id: id_text(&self.id).unwrap_or_default(),
            agent: matches!(self.role.as_deref(), Some("agent" | "admin")),
        }
    }
}

#[derive(Deserialize)]
struct ZOrganization {
    id: Value,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    organization_fields: serde_json::Map<String, Value>,
}

impl ZOrganization {
    fn record(&self) -> OrganizationRecord {
        OrganizationRecord {
            id: id_text(&self.id).unwrap_or_default(),
            name: self.name.clone(),
            tags: self.tags.clone(),
            fields: self.organization_fields.clone().into_iter().collect(),
        }
    }
}

#[derive(Deserialize)]
struct ZCustomField {
    id: Value,
    #[serde(default)]
    value: Value,
}

#[derive(Deserialize)]
struct ZTicket {
    id: Value,
    #[serde(default)]
    url: Option<String>,
    created_at: String,
    updated_at: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    requester_id: Value,
    #[serde(default)]
    organization_id: Value,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    custom_fields: Vec<ZCustomField>,
}

impl ZTicket {
    fn header(&self, stream: &str) -> Result<TicketHeader, SourceError> {
        let malformed = |what: String| SourceError::Malformed {
            stream: stream.to_string(),
            message: what,
        };
        let id = id_text(&self.id).ok_or_else(|| malformed("a ticket without an id".into()))?;
        let created_at = parse_instant(&self.created_at)
            .map_err(|e| malformed(format!("ticket {id}: created_at: {e}")))?;
        let updated_at = parse_instant(&self.updated_at)
            .map_err(|e| malformed(format!("ticket {id}: updated_at: {e}")))?;
        Ok(TicketHeader {
            url: self.url.as_deref().map(agent_link),
            created_at,
            updated_at,
            organization_id: id_text(&self.organization_id),
            requester_id: id_text(&self.requester_id),
            tags: self.tags.clone(),
            fields: self
                .custom_fields
                .iter()
                .filter_map(|f| Some((id_text(&f.id)?, f.value.clone())))
                .collect(),
            deleted: self.status.as_deref() == Some("deleted"),
            id,
        })
    }
}

/// `https://x.zendesk.com/api/v2/tickets/7.json` → `https://x.zendesk.com/agent/tickets/7`.
fn agent_link(api_url: &str) -> String {
    match api_url.split_once("/api/v2/tickets/") {
        Some((host, rest)) => format!("{host}/agent/tickets/{}", rest.trim_end_matches(".json")),
        None => api_url.to_string(),
    }
}

#[derive(Deserialize)]
struct ZChild {
    id: Value,
    event_type: String,
    #[serde(default)]
    field_name: Option<String>,
    #[serde(default)]
    value: Value,
    #[serde(default)]
    author_id: Value,
    #[serde(default)]
    public: Option<bool>,
}

#[derive(Deserialize)]
struct ZTicketEvent {
    id: Value,
    ticket_id: Value,
    timestamp: i64,
    #[serde(default)]
    child_events: Vec<ZChild>,
}

fn status_of(v: &Value) -> Option<Status> {
    match v.as_str()? {
        "new" => Some(Status::New),
        "open" => Some(Status::Open),
        "pending" => Some(Status::Pending),
        "hold" => Some(Status::Hold),
        "solved" => Some(Status::Solved),
        "closed" => Some(Status::Closed),
        _ => None,
    }
}

fn tags_of(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        Value::String(s) => s.split_whitespace().map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

impl ZTicketEvent {
    fn records(&self, out: &mut Vec<Record>) {
        let (Some(audit), Some(ticket_id)) = (id_text(&self.id), id_text(&self.ticket_id)) else {
            return;
        };
        for child in &self.child_events {
            let change = match (child.event_type.as_str(), child.field_name.as_deref()) {
                ("Create" | "Change", Some("status")) => {
                    status_of(&child.value).map(|value| ChangeRecord::Status { value })
                }
                ("Create" | "Change", Some("priority")) => Some(ChangeRecord::Priority {
                    value: child
                        .value
                        .as_str()
                        .filter(|s| !s.is_empty())
                        .map(str::to_string),
                }),
                ("Create" | "Change", Some("group_id")) => Some(ChangeRecord::Group {
                    value: id_text(&child.value),
                }),
                ("Create" | "Change", Some("organization_id")) => {
                    Some(ChangeRecord::Organization {
                        id: id_text(&child.value),
                    })
                }
                ("Create" | "Change", Some("tags")) => Some(ChangeRecord::Tags {
                    value: tags_of(&child.value),
                }),
                ("Comment", _) => Some(ChangeRecord::Comment {
                    author: Author::Other,
                    author_id: id_text(&child.author_id),
                    public: child.public.unwrap_or(true),
                }),
                _ => None,
            };
            if let Some(change) = change {
                out.push(Record::Event(EventRecord {
                    ticket_id: ticket_id.clone(),
                    id: format!("{audit}.{}", id_text(&child.id).unwrap_or_default()),
                    at: self.timestamp,
                    change,
                }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audits_become_events_with_stable_ids() {
        let e: ZTicketEvent = serde_json::from_value(serde_json::json!({
            "id": 55, "ticket_id": 7, "timestamp": 1_790_000_000,
            "child_events": [
                {"id": 1, "event_type": "Create", "field_name": "status", "value": "new"},
                {"id": 2, "event_type": "Create", "field_name": "priority", "value": "urgent"},
                {"id": 3, "event_type": "Create", "field_name": "tags", "value": ["a", "b"]},
                {"id": 4, "event_type": "Comment", "author_id": 20, "public": false, "body": "note"},
                {"id": 5, "event_type": "Notification", "value": "x"}
            ]
        }))
        .unwrap();
        let mut out = Vec::new();
        e.records(&mut out);
        assert_eq!(out.len(), 4);
        match &out[3] {
            Record::Event(ev) => {
                assert_eq!(ev.id, "55.4");
                assert_eq!(ev.ticket_id, "7");
                assert_eq!(
                    ev.change,
                    ChangeRecord::Comment {
                        author: Author::Other,
                        author_id: Some("20".into()),
                        public: false
                    }
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ticket_headers_link_to_the_agent_ui_and_mark_deletions() {
        let t: ZTicket = serde_json::from_value(serde_json::json!({
            "id": 7, "url": "https://acme.zendesk.com/api/v2/tickets/7.json",
            "created_at": "2026-11-20T16:00:00Z", "updated_at": "2026-11-21T16:00:00Z",
            "status": "deleted", "requester_id": 10, "organization_id": null,
            "tags": ["x"], "custom_fields": [{"id": 360, "value": "sev1"}]
        }))
        .unwrap();
        let h = t.header("tickets").unwrap();
        assert_eq!(
            h.url.as_deref(),
            Some("https://acme.zendesk.com/agent/tickets/7")
        );
        assert!(h.deleted);
        assert_eq!(h.organization_id, None);
        assert_eq!(h.requester_id.as_deref(), Some("10"));
        assert_eq!(h.fields.get("360"), Some(&serde_json::json!("sev1")));
    }

    #[test]
    fn a_bad_timestamp_is_malformed_naming_the_ticket() {
        let t: ZTicket = serde_json::from_value(serde_json::json!({
            "id": 8, "created_at": "yesterday", "updated_at": "2026-11-21T16:00:00Z"
        }))
        .unwrap();
        let e = t.header("tickets").unwrap_err().to_string();
        assert!(e.contains("ticket 8: created_at"), "{e}");
    }

    #[test]
    fn secrets_never_print() {
        let a = Auth::Token {
            email: "ops@acme.test".into(),
            token: "s3cr3t".into(),
        };
        assert!(!format!("{a:?}").contains("s3cr3t"));
        assert!(!format!("{:?}", Auth::Bearer("s3cr3t".into())).contains("s3cr3t"));
    }
}
