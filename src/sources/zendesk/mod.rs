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

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
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

    /// GETs a page's body; [`Self::parse`] reads it.
    async fn fetch(&self, path: &str, query: &[(&str, String)]) -> Result<Bytes, SourceError> {
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
        resp.bytes().await.map_err(|e| {
            SourceError::Transient(format!("GET {path}: reading the body: {}", without_url(&e)))
        })
    }

    /// Parses a page's body straight into `T` (no `Value` tree in between),
    /// borrowing its strings where `T` does: a body that is not JSON is
    /// malformed at `path`, JSON of the wrong shape is malformed in `stream`.
    fn parse<'de, T: Deserialize<'de>>(
        &self,
        stream: &str,
        path: &str,
        body: &'de [u8],
    ) -> Result<T, SourceError> {
        from_body(body).map_err(|e| {
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
                let path = "/api/v2/incremental/users/cursor.json";
                let body = self.fetch(path, &[cursor_query(cursor), per_page]).await?;
                let page: CursorPage<ZUser> = self.parse(stream, path, &body)?;
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
                let path = "/api/v2/incremental/tickets/cursor.json";
                let body = self.fetch(path, &[cursor_query(cursor), per_page]).await?;
                let page: CursorPage<ZTicket> = self.parse(stream, path, &body)?;
                let mut records = Vec::with_capacity(page.items.len());
                for t in page.items {
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
                let path = "/api/v2/incremental/organizations.json";
                let body = self
                    .fetch(path, &[("start_time", start(cursor)?), per_page])
                    .await?;
                let page: TimePage<ZOrganization> = self.parse(stream, path, &body)?;
                let records = page
                    .items
                    .into_iter()
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
                let path = "/api/v2/incremental/ticket_events.json";
                let body = self
                    .fetch(
                        path,
                        &[
                            ("start_time", start(cursor)?),
                            ("include", "comment_events".to_string()),
                            per_page,
                        ],
                    )
                    .await?;
                let page: TimePage<ZTicketEvent> = self.parse(stream, path, &body)?;
                // At most one record per child event.
                let events = page.items.iter().map(|e| e.child_events.len()).sum();
                let mut records = Vec::with_capacity(events);
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

/// `serde_json::from_slice`, with the UTF-8 of the body checked once
/// instead of string by string; a body that is not UTF-8 goes the byte way,
/// which words the error as before.
fn from_body<'de, T: Deserialize<'de>>(body: &'de [u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(body) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(body),
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

    /// Users and organizations first; then tickets and their events at the
    /// same time: the store takes a ticket's events before its header, and
    /// reading both at once keeps both cores busy in a backfill (the
    /// tickets stream alone leaves the parsing idle while the store
    /// writes).
    fn stream_groups(&self) -> Vec<Vec<&'static str>> {
        vec![
            vec!["users", "organizations"],
            vec!["tickets", "ticket_events"],
        ]
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

// The items are read straight from the body into these borrowed forms: a
// string without escapes is a slice of the body, numbers stay numbers until
// a record needs their text, and only what a record keeps is allocated
// (once). Plain structs with optional fields, no untagged or internally
// tagged enums, so serde never buffers an item before reading it.

/// A JSON string, borrowed from the body unless it had escapes.
struct Str<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

impl std::ops::Deref for Str<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// Any JSON value, kept as far as an id, a status, a priority or tags need
/// it: a number, a string, or the strings of an array (its other items are
/// dropped). Objects, `null` and booleans are `Other`.
#[derive(Default)]
enum ZValue<'a> {
    #[default]
    Other,
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(Cow<'a, str>),
    Strs(Vec<Cow<'a, str>>),
}

/// Reads any value as [`ZValue`]; inside an array, only strings are kept.
struct ValueVisitor {
    in_array: bool,
}

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = ZValue<'de>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(ZValue::Other)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(ZValue::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(ZValue::Uint(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(ZValue::Float(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(ZValue::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(ZValue::Str(Cow::Owned(v.to_string())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(ZValue::Str(Cow::Owned(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(ZValue::Other)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(ZValue::Other)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        if self.in_array {
            // An array inside an array is not a string: skip it whole.
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(ZValue::Other);
        }
        let mut strings = Vec::with_capacity(seq.size_hint().unwrap_or(4));
        while let Some(item) = seq.next_element::<ArrayItem>()? {
            if let ZValue::Str(s) = item.0 {
                strings.push(s);
            }
        }
        Ok(ZValue::Strs(strings))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(ZValue::Other)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for ZValue<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor { in_array: false })
    }
}

/// An item of an array value (see [`ZValue::Strs`]).
struct ArrayItem<'a>(ZValue<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for ArrayItem<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor { in_array: true })
            .map(ArrayItem)
    }
}

/// Appends `n` in decimal, as `Display` writes it, without the cost of the
/// formatting machinery (a few ids per record).
fn push_decimal(out: &mut String, n: u64) {
    out.push_str(itoa::Buffer::new().format(n));
}

impl ZValue<'_> {
    fn as_str(&self) -> Option<&str> {
        match self {
            ZValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Appends an id's text (a number, or a non-empty string); false (and
    /// nothing appended) when it is neither.
    fn write_id(&self, out: &mut String) -> bool {
        match self {
            ZValue::Int(n) => {
                if *n < 0 {
                    out.push('-');
                }
                push_decimal(out, n.unsigned_abs());
            }
            ZValue::Uint(n) => push_decimal(out, *n),
            // As serde_json writes a float `Number` (JSON has no NaN or
            // infinity, so there always is one).
            ZValue::Float(f) => match serde_json::Number::from_f64(*f) {
                Some(n) => out.push_str(&n.to_string()),
                None => return false,
            },
            ZValue::Str(s) if !s.is_empty() => out.push_str(s),
            _ => return false,
        }
        true
    }

    /// An id as text: a number, or a non-empty string.
    fn id_text(&self) -> Option<String> {
        let mut out = String::with_capacity(match self {
            ZValue::Str(s) => s.len(),
            _ => 20,
        });
        self.write_id(&mut out).then_some(out)
    }
}

#[derive(Deserialize)]
struct ZUser<'a> {
    #[serde(borrow)]
    id: ZValue<'a>,
    #[serde(default, borrow)]
    role: Option<Str<'a>>,
}

impl ZUser<'_> {
    fn record(&self) -> UserRecord {
        UserRecord {
            id: self.id.id_text().unwrap_or_default(),
            agent: matches!(self.role.as_deref(), Some("agent" | "admin")),
        }
    }
}

#[derive(Deserialize)]
struct ZOrganization<'a> {
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
    fn record(self) -> OrganizationRecord {
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
struct ZTicket<'a> {
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
    requester_id: ZValue<'a>,
    #[serde(default, borrow)]
    organization_id: ZValue<'a>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default, borrow)]
    custom_fields: Vec<ZCustomField<'a>>,
}

impl ZTicket<'_> {
    fn header(self, stream: &str) -> Result<TicketHeader, SourceError> {
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

/// A child event of an audit: every kind in one struct, with the fields a
/// kind does not have left at their defaults.
#[derive(Deserialize)]
struct ZChild<'a> {
    #[serde(borrow)]
    id: ZValue<'a>,
    #[serde(borrow)]
    event_type: Str<'a>,
    #[serde(default, borrow)]
    field_name: Option<Str<'a>>,
    #[serde(default, borrow)]
    value: ZValue<'a>,
    #[serde(default, borrow)]
    author_id: ZValue<'a>,
    #[serde(default)]
    public: Option<bool>,
}

#[derive(Deserialize)]
struct ZTicketEvent<'a> {
    #[serde(borrow)]
    id: ZValue<'a>,
    #[serde(borrow)]
    ticket_id: ZValue<'a>,
    timestamp: i64,
    #[serde(default, borrow)]
    child_events: Vec<ZChild<'a>>,
}

fn status_of(v: &ZValue) -> Option<Status> {
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

fn tags_of(v: &ZValue) -> Vec<String> {
    match v {
        ZValue::Strs(items) => items.iter().map(|i| i.to_string()).collect(),
        ZValue::Str(s) => s.split_whitespace().map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

impl ZTicketEvent<'_> {
    fn records(&self, out: &mut Vec<Record>) {
        let mut audit = String::with_capacity(24);
        if !self.id.write_id(&mut audit) {
            return;
        }
        let Some(ticket_id) = self.ticket_id.id_text() else {
            return;
        };
        // `<audit id>.`, the prefix of every event id of this audit.
        audit.push('.');
        for child in &self.child_events {
            let change = match (&*child.event_type, child.field_name.as_deref()) {
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
                    value: child.value.id_text(),
                }),
                ("Create" | "Change", Some("organization_id")) => {
                    Some(ChangeRecord::Organization {
                        id: child.value.id_text(),
                    })
                }
                ("Create" | "Change", Some("tags")) => Some(ChangeRecord::Tags {
                    value: tags_of(&child.value),
                }),
                ("Comment", _) => Some(ChangeRecord::Comment {
                    author: Author::Other,
                    author_id: child.author_id.id_text(),
                    public: child.public.unwrap_or(true),
                }),
                _ => None,
            };
            if let Some(change) = change {
                // One allocation of the right size per id.
                let mut id = String::with_capacity(audit.len() + 20);
                id.push_str(&audit);
                child.id.write_id(&mut id);
                out.push(Record::Event(EventRecord {
                    ticket_id: ticket_id.clone(),
                    id,
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
        let text = serde_json::json!({
            "id": 55, "ticket_id": 7, "timestamp": 1_790_000_000,
            "child_events": [
                {"id": 1, "event_type": "Create", "field_name": "status", "value": "new"},
                {"id": 2, "event_type": "Create", "field_name": "priority", "value": "urgent"},
                {"id": 3, "event_type": "Create", "field_name": "tags", "value": ["a", "b"]},
                {"id": 4, "event_type": "Comment", "author_id": 20, "public": false, "body": "note"},
                {"id": 5, "event_type": "Notification", "value": "x"}
            ]
        })
        .to_string();
        let e: ZTicketEvent = serde_json::from_str(&text).unwrap();
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
        let text = serde_json::json!({
            "id": 7, "url": "https://acme.zendesk.com/api/v2/tickets/7.json",
            "created_at": "2026-11-20T16:00:00Z", "updated_at": "2026-11-21T16:00:00Z",
            "status": "deleted", "requester_id": 10, "organization_id": null,
            "tags": ["x"], "custom_fields": [{"id": 360, "value": "sev1"}]
        })
        .to_string();
        let t: ZTicket = serde_json::from_str(&text).unwrap();
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
        let text = serde_json::json!({
            "id": 8, "created_at": "yesterday", "updated_at": "2026-11-21T16:00:00Z"
        })
        .to_string();
        let t: ZTicket = serde_json::from_str(&text).unwrap();
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

    /// The adapter's item types before they borrowed from the body (over
    /// `serde_json::Value`s): the reference the new ones are compared with.
    mod old {
        use serde::Deserialize;
        use serde_json::Value;

        use crate::engine::timeline::Author;
        use crate::policy::spec::Status;
        use crate::sources::{
            ChangeRecord, EventRecord, OrganizationRecord, Record, SourceError, TicketHeader,
            UserRecord,
        };
        use crate::time::parse_instant;

        fn agent_link(api_url: &str) -> String {
            match api_url.split_once("/api/v2/tickets/") {
                Some((host, rest)) => {
                    format!("{host}/agent/tickets/{}", rest.trim_end_matches(".json"))
                }
                None => api_url.to_string(),
            }
        }

        fn id_text(v: &Value) -> Option<String> {
            match v {
                Value::Number(n) => Some(n.to_string()),
                Value::String(s) if !s.is_empty() => Some(s.clone()),
                _ => None,
            }
        }

        #[derive(Deserialize)]
        pub struct ZUser {
            id: Value,
            #[serde(default)]
            role: Option<String>,
        }

        impl ZUser {
            pub fn record(&self) -> UserRecord {
                UserRecord {
                    id: id_text(&self.id).unwrap_or_default(),
                    agent: matches!(self.role.as_deref(), Some("agent" | "admin")),
                }
            }
        }

        #[derive(Deserialize)]
        pub struct ZOrganization {
            id: Value,
            #[serde(default)]
            name: Option<String>,
            #[serde(default)]
            tags: Vec<String>,
            #[serde(default)]
            organization_fields: serde_json::Map<String, Value>,
        }

        impl ZOrganization {
            pub fn record(&self) -> OrganizationRecord {
                OrganizationRecord {
                    id: id_text(&self.id).unwrap_or_default(),
                    name: self.name.clone(),
                    tags: self.tags.clone(),
                    fields: self.organization_fields.clone().into_iter().collect(),
                }
            }
        }

        #[derive(Deserialize)]
        pub struct ZCustomField {
            id: Value,
            #[serde(default)]
            value: Value,
        }

        #[derive(Deserialize)]
        pub struct ZTicket {
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
            pub fn header(&self, stream: &str) -> Result<TicketHeader, SourceError> {
                let malformed = |what: String| SourceError::Malformed {
                    stream: stream.to_string(),
                    message: what,
                };
                let id =
                    id_text(&self.id).ok_or_else(|| malformed("a ticket without an id".into()))?;
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

        #[derive(Deserialize)]
        pub struct ZChild {
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
        pub struct ZTicketEvent {
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
            pub fn records(&self, out: &mut Vec<Record>) {
                let (Some(audit), Some(ticket_id)) = (id_text(&self.id), id_text(&self.ticket_id))
                else {
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
    }

    /// Parses `text` (one item) with the new types and the old ones: the
    /// same records, or both fail.
    fn same_records(kind: &str, text: &str) {
        let new = match kind {
            "ticket" => from_body::<ZTicket>(text.as_bytes())
                .map_err(|e| e.to_string())
                .and_then(|t| t.header("tickets").map_err(|e| e.to_string()))
                .map(|h| vec![Record::Ticket(h)]),
            "audit" => from_body::<ZTicketEvent>(text.as_bytes())
                .map_err(|e| e.to_string())
                .map(|e| {
                    let mut out = Vec::new();
                    e.records(&mut out);
                    out
                }),
            "organization" => from_body::<ZOrganization>(text.as_bytes())
                .map_err(|e| e.to_string())
                .map(|o| vec![Record::Organization(o.record())]),
            _ => from_body::<ZUser>(text.as_bytes())
                .map_err(|e| e.to_string())
                .map(|u| vec![Record::User(u.record())]),
        };
        let old = match kind {
            "ticket" => serde_json::from_str::<old::ZTicket>(text)
                .map_err(|e| e.to_string())
                .and_then(|t| t.header("tickets").map_err(|e| e.to_string()))
                .map(|h| vec![Record::Ticket(h)]),
            "audit" => serde_json::from_str::<old::ZTicketEvent>(text)
                .map_err(|e| e.to_string())
                .map(|e| {
                    let mut out = Vec::new();
                    e.records(&mut out);
                    out
                }),
            "organization" => serde_json::from_str::<old::ZOrganization>(text)
                .map_err(|e| e.to_string())
                .map(|o| vec![Record::Organization(o.record())]),
            _ => serde_json::from_str::<old::ZUser>(text)
                .map_err(|e| e.to_string())
                .map(|u| vec![Record::User(u.record())]),
        };
        match (new, old) {
            (Ok(n), Ok(o)) => assert_eq!(n, o, "{text}"),
            (Err(_), Err(_)) => {}
            (n, o) => panic!("{text}: new {n:?}, old {o:?}"),
        }
    }

    #[test]
    fn borrowed_parsing_gives_the_records_the_value_parsing_gave() {
        use crate::simulator::generator::{generate, GeneratorOptions};
        use crate::simulator::zendesk::{audit_json, organization_json, ticket_json, user_json};
        let config = crate::policy::Config::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml"),
        )
        .unwrap();
        let d = generate(&config, &GeneratorOptions::default());
        let base = "https://acme.zendesk.com";
        for t in &d.tickets {
            same_records("ticket", &ticket_json(t, base).to_string());
            for a in &t.audits {
                same_records("audit", &audit_json(a, true).to_string());
                same_records("audit", &audit_json(a, false).to_string());
            }
        }
        for o in &d.organizations {
            same_records("organization", &organization_json(o, base).to_string());
        }
        for u in &d.users {
            same_records("user", &user_json(u, base).to_string());
        }
        // What the emulator never writes: ids as strings, empty, negative,
        // fractional, huge or of another type; escaped strings; tags as
        // text or arrays with other items; missing and unknown fields.
        let ids = [
            "1",
            "-4",
            "0",
            "1.5",
            "2e3",
            "18446744073709551615",
            "18446744073709551616",
            "\"77\"",
            "\"\"",
            "\"a\\\"b\"",
            "null",
            "true",
            "[1]",
            "{\"x\":1}",
        ];
        for id in ids {
            same_records("user", &format!(r#"{{"id":{id},"role":"agent"}}"#));
            same_records("user", &format!(r#"{{"id":{id},"role":"\u0061dmin"}}"#));
            same_records(
                "organization",
                &format!(
                    r#"{{"id":{id},"name":"A\nB","tags":["x"],"organization_fields":{{"k":[1,{{"a":null}}]}}}}"#
                ),
            );
            same_records(
                "ticket",
                &format!(
                    r#"{{"id":{id},"url":"https://a.test/api/v2/tickets/\u0037.json","created_at":"2026-11-20T16:00:00Z","updated_at":"2026-11-20T17:00:00Z","status":"del\u0065ted","requester_id":{id},"organization_id":{id},"tags":["a\"b"],"custom_fields":[{{"id":{id},"value":{{"deep":[1,"x"]}}}},{{"id":3}}],"extra":[{{"y":"z"}}]}}"#
                ),
            );
            for (field, value) in [
                ("status", r#""open""#),
                ("status", r#""p\u0065nding""#),
                ("status", r#""weird""#),
                ("status", "3"),
                ("priority", r#""""#),
                ("priority", r#""urgent""#),
                ("priority", "null"),
                ("group_id", id),
                ("organization_id", id),
                ("tags", r#"["a", 1, null, ["b"], {"c": "d"}, "e\u0066"]"#),
                ("tags", r#"" a  b\tc ""#),
                ("tags", "7"),
                ("tags", "[]"),
                ("unknown", r#""x""#),
            ] {
                for kind in ["Create", "Change", "Notification"] {
                    same_records(
                        "audit",
                        &format!(
                            r#"{{"id":{id},"ticket_id":{id},"timestamp":1790000000,"child_events":[{{"id":{id},"event_type":"{kind}","field_name":"{field}","value":{value},"previous_value":{value}}}]}}"#
                        ),
                    );
                }
            }
            same_records(
                "audit",
                &format!(
                    r#"{{"id":9,"ticket_id":7,"timestamp":1790000000,"child_events":[{{"id":{id},"event_type":"Comment","author_id":{id},"public":false,"body":"a\"b"}},{{"id":2,"event_type":"Comment"}},{{"id":3,"event_type":"Comment","public":null}}]}}"#
                ),
            );
        }
        for url in [
            "https://a.test/api/v2/tickets/7.json",
            "https://a.test/api/v2/tickets/7.json.json",
            "https://ä.test/x/api/v2/tickets/api/v2/tickets/8",
            "https://a.test/api/v2/ticket/7.json",
            "/api/v2/tickets/",
            "api/v2/tickets/9.json",
            "",
            "é/",
        ] {
            same_records(
                "ticket",
                &format!(
                    r#"{{"id":1,"url":{},"created_at":"2026-11-20T16:00:00Z","updated_at":"2026-11-20T17:00:00Z"}}"#,
                    serde_json::to_string(url).unwrap()
                ),
            );
        }
        // Not UTF-8: the same error in both.
        for body in [
            &b"{\"id\":1,\"role\":\"a\xffb\"}"[..],
            b"{\"id\":1,\"x\":\"\xff\"}",
        ] {
            let new = from_body::<ZUser>(body).map(|u| u.record());
            let old = serde_json::from_slice::<old::ZUser>(body).map(|u| u.record());
            assert_eq!(
                new.map_err(|e| e.to_string()),
                old.map_err(|e| e.to_string())
            );
        }
        // Wrong shapes fail in both.
        same_records("audit", r#"{"id":1,"ticket_id":2,"timestamp":"x"}"#);
        same_records("audit", r#"{"ticket_id":2,"timestamp":1}"#);
        same_records(
            "audit",
            r#"{"id":1,"ticket_id":2,"timestamp":1,"child_events":[{"id":1,"event_type":5}]}"#,
        );
        same_records(
            "audit",
            r#"{"id":1,"ticket_id":2,"timestamp":1,"child_events":[{"event_type":"Comment"}]}"#,
        );
        same_records(
            "audit",
            r#"{"id":1,"ticket_id":2,"timestamp":1,"child_events":[{"id":1,"event_type":"Comment","public":"yes"}]}"#,
        );
        same_records(
            "ticket",
            r#"{"id":1,"created_at":5,"updated_at":"2026-11-20T17:00:00Z"}"#,
        );
        same_records("ticket", r#"{"id":1,"updated_at":"2026-11-20T17:00:00Z"}"#);
        same_records("user", r#"{"role":"agent"}"#);
    }
}
