//! The Freshdesk adapter.
//!
//! Streams (each with its own cursor; `docs/freshdesk.md` is the user's
//! page):
//!
//! | stream | requests | cursor |
//! | --- | --- | --- |
//! | `agents` | `GET /api/v2/agents` | the next page (`1` again once caught up) |
//! | `companies` | `GET /api/v2/companies` | as agents |
//! | `tickets` | `GET /api/v2/tickets?updated_since=…&order_by=updated_at&order_type=asc&per_page=100&page=N&include=stats`, then `GET /api/v2/tickets/{id}/conversations` for each ticket delivered | `streams::TicketCursor`: the `updated_since` instant, the ids read at it, the page, and the tickets whose conversations are owed |
//! | `activities` | `GET /api/v2/ticket_fields` once, then per day `GET /api/v2/export/ticket_activities?created_at=D` and the file's URL (another host, no credentials); missing days asked for again; ticket list pages when the missing days changed | `streams::ExportCursor` (JSON): the day, its file's URL once known, the missing days, a day being asked for again, and a pass over the ticket list that flags tickets anew |
//!
//! One poll is one request, so the daemon's `requests_per_minute` paces
//! every request the source makes. The ticket list is walked by moving
//! `updated_since` to the last `updated_at` read after every page (never
//! near Freshdesk's 300-page cap); the tickets of that instant come again
//! and are skipped by id. A ticket's conversations are read after the page
//! that delivered it (it changed), never on every poll, and not at all for
//! a ticket untouched since its creation (no update, no response in its
//! stats); the stored cursor lists the ones still owed, so a crash loses
//! none. The activities export
//! is read up to the last day that has ended and on which a ticket changed
//! (no request for days nothing happened on after the last change seen).
//! A day without a file is noted and asked for again, while within the
//! export's retention, each time a later day has been read; a ticket alive
//! on such a day is flagged approximated (its history comes from its
//! `stats`), and when the set of such days changes the activities stream
//! reads the ticket list again from the first day that changed (list pages
//! only, no conversations) to flag or unflag the tickets already stored.
//!
//! Secrets: the API key comes from an environment variable or a file; it
//! is sent as the Basic user (password `X`) to the account's address only,
//! never to the export's file host, and never logged or put in an error.

pub mod config;
mod gaps;
mod map;
pub(crate) use self::map::next_link;
pub mod reconcile;
mod streams;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use self::config::{FreshdeskConfig, History, OutboundEmail};
use super::http::{http_client, read_secret, without_url};
use super::{PollFuture, RequestStats, Source, SourceError};
use crate::policy::spec::{SourceSpec, Status};

/// Freshdesk in the registry of helpdesk kinds ([`super::KINDS`]).
pub const KIND: super::Kind = super::Kind {
    name: "freshdesk",
    check: |spec| FreshdeskConfig::from_spec(spec).map(|_| ()),
    build: |spec| Ok(Box::new(Freshdesk::new(spec)?)),
    ticket_url: agent_ticket_url,
    reconcile: Some(&reconcile::RECONCILER),
    sla_record: None,
};

/// `https://acme.freshdesk.com/a/tickets/7`.
fn agent_ticket_url(spec: &SourceSpec, id: &str) -> Option<String> {
    let base = match (spec.settings.get("url"), spec.settings.get("domain")) {
        (Some(u), _) => u.as_str()?.trim_end_matches('/').to_string(),
        (None, Some(d)) => format!("https://{}.freshdesk.com", d.as_str()?),
        _ => return None,
    };
    Some(format!("{base}/a/tickets/{id}"))
}

/// A Freshdesk account.
pub struct Freshdesk {
    client: reqwest::Client,
    base: String,
    api_key: String,
    start_time: i64,
    history: History,
    custom_statuses: BTreeMap<String, Status>,
    outbound_email: OutboundEmail,
    stats: Arc<RequestStats>,
    /// The latest `updated_at` the tickets stream has read (0: none yet).
    latest_update: AtomicI64,
    /// Status name → number, from `GET /api/v2/ticket_fields`.
    status_names: Mutex<Option<BTreeMap<String, u64>>>,
    /// The days whose export could not be had, as the activities stream's
    /// cursor last said (`None` until it is polled): the tickets stream
    /// flags the tickets alive on them, and reads those it flagged under
    /// other days again when this changes.
    gaps: Mutex<Option<gaps::Gaps>>,
    /// The days the tickets stream last flagged tickets by (`None` until it
    /// is polled): when they are not the activities stream's, that stream
    /// reads the tickets updated since the first day that differs again.
    tickets_gaps: Mutex<Option<gaps::Gaps>>,
}

impl std::fmt::Debug for Freshdesk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("Freshdesk")
            .field("base", &self.base)
            .finish()
    }
}

impl Freshdesk {
    /// The adapter for a configured source; reads the API key now.
    pub fn new(spec: &SourceSpec) -> Result<Self, String> {
        let config = FreshdeskConfig::from_spec(spec).map_err(|e| e.to_string())?;
        let base = config.base_url().map_err(|e| e.to_string())?;
        let api_key = read_secret(&config.api_key, "API key")?;
        if api_key.is_empty() {
            return Err("the API key is empty".to_string());
        }
        Ok(Freshdesk {
            client: http_client()?,
            base,
            api_key,
            start_time: config.start_time.0,
            history: config.history,
            custom_statuses: config.custom_statuses,
            outbound_email: config.outbound_email,
            stats: Arc::default(),
            latest_update: AtomicI64::new(0),
            status_names: Mutex::new(None),
            gaps: Mutex::new(None),
            tickets_gaps: Mutex::new(None),
        })
    }

    fn mapping<'a>(&'a self, gaps: &'a gaps::Gaps) -> map::Mapping<'a> {
        map::Mapping {
            gaps,
            base: &self.base,
            custom_statuses: &self.custom_statuses,
            history: self.history,
            outbound_email: self.outbound_email,
            // The export is read from start_time's day on.
            history_from: self.start_time - self.start_time.rem_euclid(86_400),
        }
    }

    fn saw_update(&self, at: i64) {
        self.latest_update.fetch_max(at, Ordering::Relaxed);
    }

    /// GETs `url` like [`Self::get`]; a 404 is an error naming the request.
    async fn fetch(
        &self,
        what: &str,
        url: &str,
        query: &[(&str, String)],
        auth: bool,
    ) -> Result<(Bytes, Option<String>), SourceError> {
        self.get(what, url, query, auth)
            .await?
            .ok_or_else(|| SourceError::Fatal(format!("GET {what}: HTTP 404 Not Found")))
    }

    /// GETs `url` (a path on the account, or a full URL elsewhere); with
    /// `auth` the API key goes along. Returns the body and the `Link`
    /// header's next page, or `None` for a 404.
    async fn get(
        &self,
        what: &str,
        url: &str,
        query: &[(&str, String)],
        auth: bool,
    ) -> Result<Option<(Bytes, Option<String>)>, SourceError> {
        let full = if url.starts_with("http://") || url.starts_with("https://") {
            url.to_string()
        } else {
            format!("{}{url}", self.base)
        };
        let mut req = self.client.get(&full).query(query);
        if auth {
            req = req.basic_auth(&self.api_key, Some("X"));
        }
        let resp = req.send().await.map_err(|e| {
            self.stats.response(None, None);
            SourceError::Transient(format!("GET {what}: {}", without_url(&e)))
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
                .and_then(|v| {
                    v.split(',')
                        .next()
                        .and_then(|s| s.trim().parse::<f64>().ok())
                })
                .map_or(60, |s| s.ceil().max(1.0) as u64);
            return Err(SourceError::RateLimited(wait));
        }
        if status.is_server_error() {
            return Err(SourceError::Transient(format!("GET {what}: HTTP {status}")));
        }
        if auth && (status.as_u16() == 401 || status.as_u16() == 403) {
            return Err(SourceError::Fatal(format!(
                "GET {what}: HTTP {status}: check the source's api_key (an agent's API key, sent as the Basic user) and that the agent may read it"
            )));
        }
        if status.as_u16() == 404 {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(SourceError::Fatal(format!("GET {what}: HTTP {status}")));
        }
        let next = header("link").as_deref().and_then(map::next_link);
        let body = resp.bytes().await.map_err(|e| {
            SourceError::Transient(format!("GET {what}: reading the body: {}", without_url(&e)))
        })?;
        Ok(Some((body, next)))
    }

    /// Parses a body; a body that does not parse is malformed, counted,
    /// and retried (never skipped past).
    fn parse<T: serde::de::DeserializeOwned>(
        &self,
        stream: &str,
        what: &str,
        body: &[u8],
    ) -> Result<T, SourceError> {
        serde_json::from_slice(body).map_err(|e| {
            self.stats.parse_error();
            SourceError::Malformed {
                stream: stream.to_string(),
                message: format!("GET {what}: {e}"),
            }
        })
    }
}

impl Source for Freshdesk {
    fn kind(&self) -> &'static str {
        KIND.name
    }

    fn streams(&self) -> &[&'static str] {
        match self.history {
            History::ActivitiesExport => &streams::WITH_EXPORT,
            History::Stats => &streams::WITHOUT_EXPORT,
        }
    }

    /// Agents and companies first; then tickets; then the activities
    /// export, whose last day to read is the last day a ticket changed (so
    /// it waits for the tickets it would otherwise report caught up
    /// without).
    fn stream_groups(&self) -> Vec<Vec<&'static str>> {
        self.streams().split_at(2).1.iter().fold(
            vec![vec!["agents", "companies"]],
            |mut groups, s| {
                groups.push(vec![*s]);
                groups
            },
        )
    }

    fn poll<'a>(&'a self, stream: &'a str, cursor: Option<&'a str>) -> PollFuture<'a> {
        Box::pin(self.poll_stream(stream, cursor))
    }

    fn request_stats(&self) -> Option<Arc<RequestStats>> {
        Some(self.stats.clone())
    }
}
