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
//! | `ticket_metric_events` (only with `ticket_metric_events: true`) | Ticket Metric Events: list ticket metric events (`/api/v2/incremental/ticket_metric_events.json`) | time based |
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
//! Zendesk's own SLA record (its ticket metric events), when read, is
//! stored beside each ticket's timeline without changing it ([`sla`]).
//!
//! Secrets: the API token comes from an environment variable or a file; it
//! is sent in the `Authorization` header only and never logged or put in an
//! error (errors name the URL path and the status).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::{PollFuture, RequestStats, Source};
use crate::policy::spec::{SourceSpec, Status, VoiceComments};

pub mod config;
mod custom_statuses;
pub mod events;
mod http;
pub mod reconcile;
mod records;
pub mod sla;
mod streams;
mod wire;

use self::config::ZendeskConfig;
use self::custom_statuses::CustomStatuses;
pub(crate) use self::http::Auth;
use self::streams::{METRIC_EVENTS, STREAMS, STREAMS_WITH_METRIC_EVENTS};
use self::wire::{Str, ZValue};
use crate::sources::http::{http_client, read_secret};

/// Zendesk in the registry of helpdesk kinds ([`super::KINDS`]).
pub const KIND: super::Kind = super::Kind {
    name: "zendesk",
    check: check_spec,
    build: build_source,
    ticket_url: agent_ticket_url,
    reconcile: Some(&reconcile::RECONCILER),
    sla_record: Some(&sla::RECORD),
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
    /// Whether the `ticket_metric_events` stream is read.
    metric_events: bool,
}

impl Zendesk {
    /// The adapter for a configured source; reads the token now.
    pub fn new(spec: &SourceSpec) -> Result<Self, String> {
        let config = ZendeskConfig::from_spec(spec).map_err(|e| e.to_string())?;
        let token = read_secret(&config.auth.token, "API token")?;
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
            metric_events: config.ticket_metric_events,
        })
    }
}

impl Source for Zendesk {
    fn kind(&self) -> &'static str {
        "zendesk"
    }

    fn streams(&self) -> &[&'static str] {
        if self.metric_events {
            &STREAMS_WITH_METRIC_EVENTS
        } else {
            &STREAMS
        }
    }

    /// Users and organizations first; then tickets and their events (and
    /// metric events, when read) at the same time: the store takes a
    /// ticket's events before its header, and reading both at once keeps
    /// both cores busy in a backfill (the tickets stream alone leaves the
    /// parsing idle while the store writes).
    fn stream_groups(&self) -> Vec<Vec<&'static str>> {
        let mut tickets = vec!["tickets", "ticket_events"];
        if self.metric_events {
            tickets.push(METRIC_EVENTS);
        }
        vec![vec!["users", "organizations"], tickets]
    }

    fn poll<'a>(&'a self, stream: &'a str, cursor: Option<&'a str>) -> PollFuture<'a> {
        Box::pin(self.poll_stream(stream, cursor))
    }

    fn request_stats(&self) -> Option<Arc<RequestStats>> {
        Some(self.stats.clone())
    }
}
