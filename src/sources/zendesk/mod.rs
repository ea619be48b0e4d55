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
//! Zendesk) is the real ceiling. The account's custom statuses
//! (`/api/v2/custom_statuses`) are read by a poll of the `ticket_events`
//! stream of their own, before its first page and when a page names one the
//! account did not list. Time-based pages end at a timestamp that the next
//! page starts at again, so records sharing it repeat; events carry stable
//! ids (`<audit id>.<child event id>`) and the store ignores repeats. A page
//! whose events all share the second it was asked from holds that whole
//! second (Zendesk's rule), so the stream goes on from the next second.
//!
//! Mapping ([`events`] for the ticket events, `docs/zendesk.md` for users):
//! a ticket's header gives its state now (status, priority, group,
//! organization, tags, custom fields; status `deleted` marks it deleted);
//! its `Create` update's children give its values at creation, `Change`
//! children the later ones, each with the changed field as a key of its
//! own; `Comment` children become comments with their author's id, resolved
//! to agent / requester / other / unknown at assembly (users with role
//! `agent` or `admin` are agents). Group ids are used as group names
//! (`group: "360001"` in a tier metric).
//!
//! Secrets: the API token comes from an environment variable or a file; it
//! is sent in the `Authorization` header only and never logged or put in an
//! error (errors name the URL path and the status).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use self::events::ZTicketEvent;
use super::{
    OrganizationRecord, Page, PollFuture, Record, RequestStats, Source, SourceError, TicketHeader,
    UserRecord,
};
use crate::policy::spec::{SecretSpec, SourceSpec, Status, VoiceComments};
use crate::time::parse_instant;

pub mod config;
pub mod events;

use self::config::ZendeskConfig;

/// Zendesk in the registry of helpdesk kinds ([`super::KINDS`]).
pub const KIND: super::Kind = super::Kind {
    name: "zendesk",
    check: check_spec,
    build: build_source,
    ticket_url: agent_ticket_url,
};

fn check_spec(spec: &SourceSpec) -> Result<(), super::SettingError> {
    ZendeskConfig::from_spec(spec).map(|_| ())
}

fn build_source(spec: &SourceSpec) -> Result<Box<dyn Source>, String> {
    Ok(Box::new(Zendesk::new(spec)?))
}

/// `https://acme.zendesk.com/agent/tickets/7` (the `url` key alone is read:
/// this runs for every ticket a JSON API answer lists).
fn agent_ticket_url(spec: &SourceSpec, id: &str) -> Option<String> {
    let base = spec.settings.get("url")?.as_str()?.trim_end_matches('/');
    Some(format!("{base}/agent/tickets/{id}"))
}

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
    /// The config's custom statuses that count as another status than
    /// their category.
    custom_status_overrides: Arc<BTreeMap<String, Status>>,
    voice_comments: VoiceComments,
    /// The account's custom statuses, read when first needed and again when
    /// an unknown one shows up.
    custom_statuses: Arc<Mutex<CustomStatuses>>,
}

/// The account's custom statuses as last read.
#[derive(Debug, Default)]
struct CustomStatuses {
    /// Custom status id → its `status_category`.
    categories: HashMap<String, Status>,
    /// When last read (`None`: never).
    read_at: Option<Instant>,
    /// A page named a custom status the list lacks: read it again.
    again: bool,
}

/// The least time between two reads of the custom statuses an unknown id
/// asks for (each read is one request of the account's budget).
const CUSTOM_STATUSES_REREAD: Duration = Duration::from_secs(300);

/// `GET /api/v2/custom_statuses`.
#[derive(Deserialize)]
struct CustomStatusList<'a> {
    #[serde(borrow)]
    custom_statuses: Vec<ZCustomStatus<'a>>,
}

#[derive(Deserialize)]
struct ZCustomStatus<'a> {
    #[serde(borrow)]
    id: ZValue<'a>,
    #[serde(default, borrow)]
    status_category: Option<Str<'a>>,
}

const STREAMS: [&str; 4] = ["users", "organizations", "tickets", "ticket_events"];

impl Zendesk {
    /// The adapter for a configured source; reads the token now.
    pub fn new(spec: &SourceSpec) -> Result<Self, String> {
        let config = ZendeskConfig::from_spec(spec).map_err(|e| e.to_string())?;
        let token = read_secret(&config.auth.token)?;
        if token.is_empty() {
            return Err("the API token is empty".to_string());
        }
        let auth = Auth::new(config.auth.email.clone(), token);
        let client = http_client()?;
        Ok(Self {
            client,
            base: config.url.trim_end_matches('/').to_string(),
            auth,
            start_time: config.start_time.0,
            per_page: 1000,
            stats: Arc::default(),
            custom_status_overrides: Arc::new(config.custom_statuses),
            voice_comments: config.voice_comments,
            custom_statuses: Arc::default(),
        })
    }

    /// Whether the custom statuses are to be read now: never read yet, or
    /// asked for again.
    fn custom_statuses_due(&self) -> bool {
        let cs = lock(&self.custom_statuses);
        cs.read_at.is_none() || cs.again
    }

    /// Asks for the custom statuses to be read again, unless they were read
    /// less than [`CUSTOM_STATUSES_REREAD`] ago; true when asked.
    fn reread_custom_statuses(&self) -> bool {
        let mut cs = lock(&self.custom_statuses);
        let due = cs
            .read_at
            .is_none_or(|at| at.elapsed() >= CUSTOM_STATUSES_REREAD);
        cs.again |= due;
        due
    }

    /// Reads the account's custom statuses (one request). An account that
    /// cannot list them (custom statuses off: 404; a role without access:
    /// 403) has none.
    async fn read_custom_statuses(&self) -> Result<(), SourceError> {
        let path = "/api/v2/custom_statuses.json";
        let categories = match self.fetch(path, &[]).await {
            Ok(body) => {
                let list: CustomStatusList = self.parse("custom_statuses", path, &body)?;
                list.custom_statuses
                    .iter()
                    .filter_map(|c| {
                        let status = c.status_category.as_deref().and_then(events::status_of)?;
                        Some((c.id.id_text()?, status))
                    })
                    .collect()
            }
            Err(SourceError::Fatal(msg))
                if msg.contains("HTTP 404") || msg.contains("HTTP 403") =>
            {
                HashMap::new()
            }
            Err(e) => return Err(e),
        };
        let mut cs = lock(&self.custom_statuses);
        cs.categories = categories;
        cs.read_at = Some(Instant::now());
        cs.again = false;
        Ok(())
    }

    /// The status the config counts a custom status as.
    fn custom_status_override(&self, id: &str) -> Option<Status> {
        self.custom_status_overrides.get(id).copied()
    }

    /// A custom status' category, as the account lists it.
    fn custom_status_category(&self, id: &str) -> Option<Status> {
        lock(&self.custom_statuses).categories.get(id).copied()
    }

    /// Counts what mapping a page noticed, and logs each new kind once.
    fn note(&self, stream: &str, noticed: &events::Noticed) {
        for (kind, n) in &noticed.ignored {
            if self.stats.ignored(kind, *n) {
                tracing::info!(stream, event_type = %kind, "ignoring Zendesk child events of this kind (they change nothing an SLA reads); counted in helpdesk_slo_source_ignored_events_total");
            }
        }
        for id in &noticed.unknown_custom_statuses {
            if self.stats.unmapped("custom_status_id", id) {
                tracing::warn!(stream, custom_status_id = %id, "a status change names a custom status the account does not list; the change is skipped (map it under the source's custom_statuses)");
            }
        }
        for value in &noticed.unknown_statuses {
            if self.stats.unmapped("status", value) {
                tracing::warn!(stream, status = %value, "a status change names no Zendesk status; the change is skipped");
            }
        }
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
                .and_then(retry_after_seconds)
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
                let overrides = |id: &str| self.custom_status_override(id);
                let categories = |id: &str| self.custom_status_category(id);
                for t in page.items {
                    records.push(Record::Ticket(t.header(stream, &overrides, &categories)?));
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
                // Custom statuses are read as a poll of their own (every
                // request waits its turn under the source's budget): before
                // the first page, and when a page named one the account did
                // not list (then that page is asked for again after).
                if self.custom_statuses_due() {
                    self.read_custom_statuses().await?;
                    return Ok(Page {
                        stream: stream.to_string(),
                        records: Vec::new(),
                        cursor: start(cursor)?,
                        caught_up: false,
                    });
                }
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
                let mut records = Vec::with_capacity(page.items.len() * 4);
                let noticed = self.map_events(&page.items, &mut records);
                if !noticed.unknown_custom_statuses.is_empty() && self.reread_custom_statuses() {
                    // A custom status made since the list was read: read it
                    // again on the next poll, then this page again.
                    return Ok(Page {
                        stream: stream.to_string(),
                        records: Vec::new(),
                        cursor: start(cursor)?,
                        caught_up: false,
                    });
                }
                self.note(stream, &noticed);
                records.extend(noticed.notes());
                let start_time = start(cursor)?.parse::<i64>().unwrap_or(0);
                let mut end_time = page.end_time;
                if !page.end_of_stream && end_time.is_some_and(|e| e <= start_time) {
                    // More events share this second than a page holds.
                    // Zendesk puts every event of a page's last second on
                    // the page ("the system may exceed the 1000-item limit
                    // if items share the same timestamp"), so the second is
                    // whole here and the next page starts after it; asking
                    // from the same second again would return this page
                    // forever.
                    self.stats.same_second_page();
                    tracing::info!(
                        stream,
                        start_time,
                        events = page.items.len(),
                        "a page of ticket events all in one second; continuing from the next second"
                    );
                    end_time = Some(start_time + 1);
                }
                Ok(time_page(
                    stream,
                    records,
                    end_time,
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

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Zendesk {
    /// The records of a page of ticket events, and what mapping noticed.
    fn map_events(&self, items: &[ZTicketEvent], records: &mut Vec<Record>) -> events::Noticed {
        let overrides = |id: &str| self.custom_status_override(id);
        let categories = |id: &str| self.custom_status_category(id);
        let mapping = events::Mapping {
            custom_status_override: &overrides,
            custom_status_category: &categories,
            voice_comments: self.voice_comments,
        };
        let mut noticed = events::Noticed::default();
        for e in items {
            e.records(&mapping, records, &mut noticed);
        }
        noticed
    }
}

/// Seconds from a `Retry-After` value. Zendesk has been seen to send two
/// joined by a comma (`50, 53`): the first counts.
fn retry_after_seconds(value: &str) -> Option<u64> {
    value.split(',').next()?.trim().parse().ok()
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
    fn header(
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

    #[test]
    fn retry_after_takes_the_first_of_joined_values() {
        assert_eq!(retry_after_seconds("49"), Some(49));
        assert_eq!(retry_after_seconds("50, 53"), Some(50));
        assert_eq!(retry_after_seconds("soon"), None);
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
