//! The Zendesk HTTP API emulator: a hyper 1 server over a [`Dataset`].
//!
//! Endpoints (the reference page each follows is listed in
//! [`crate::simulator`]; every shape below is what that page documents or
//! what real recorded responses show, never what a consumer expects):
//!
//! * `GET /api/v2/incremental/tickets/cursor.json?start_time=UNIX` or
//!   `?cursor=C` ("Incremental Ticket Export, Cursor Based"): tickets with
//!   `updated_at >= start_time`, ordered by `(updated_at, id)`, `per_page`
//!   up to 1000 (default 1000). The cursor is opaque (URL-safe base64 of
//!   `updated_at:id` of the last ticket returned); `after_cursor` is always
//!   set, also on the page with `end_of_stream: true`, so a client resumes
//!   from it when new data arrive. `before_cursor`/`before_url` are null.
//!   Each ticket has the keys of "Tickets › JSON format" (`url`, `id`,
//!   `external_id`, `via {channel, source}`, `created_at`, `updated_at`,
//!   `generated_timestamp`, `type`, `subject`, `raw_subject`,
//!   `description`, `priority`, `status`, `recipient`, `requester_id`,
//!   `submitter_id`, `assignee_id`, `organization_id`, `group_id`,
//!   `collaborator_ids`, `follower_ids`, `email_cc_ids`, `forum_topic_id`,
//!   `problem_id`, `has_incidents`, `is_public`, `due_at`, `tags`,
//!   `custom_fields [{id, value}]`, `satisfaction_rating`,
//!   `sharing_agreement_ids`, `custom_status_id`, `fields`, `followup_ids`,
//!   `ticket_form_id`, `brand_id`, `allow_channelback`, `allow_attachments`,
//!   `from_messaging_channel`); deleted tickets stay in the stream with
//!   status `deleted`.
//! * `GET /api/v2/incremental/ticket_events.json?start_time=UNIX
//!   [&include=comment_events][&per_page=N]` ("Incremental Ticket Event
//!   Export"; the reference's example response shows ticket *metric*
//!   events by mistake, so the item shape follows real recordings): one
//!   item per ticket update, ordered by `(timestamp, id)`: `id`,
//!   `ticket_id`, `timestamp`, `created_at`, `updater_id` (-1: Zendesk
//!   itself), `via` (a label: "Web form", "Mail", "Web service", "Rule",
//!   "Closed ticket", "Voicemail", "Mobile", "Merge"), `system` (`{}` or
//!   `{client, ip_address, location, latitude, longitude}`), `metadata`
//!   (`{}`), `event_type: "Audit"`, `merged_ticket_ids` and
//!   `child_events`. Create/Change children carry the field as a key of its
//!   own (`{"id","via","via_reference_id","status":"solved",
//!   "previous_value":"open","event_type":"Change"}`; custom fields as
//!   `"custom_ticket_fields":{"<id>":value}`; `tags` with `added_tags` and
//!   `removed_tags`); a status change is a `status` child and a
//!   `custom_status_id` child. Comment children (only with
//!   `include=comment_events`, "Sideloading" on the reference page) have
//!   `via {channel, source}`, `via_reference_id`, `type` (`Comment` or
//!   `VoiceComment`), `author_id`, `body`, `html_body`, `plain_body`,
//!   `public`, `attachments`, `audit_id`, `created_at`,
//!   `event_type: "Comment"`. Other children a consumer must ignore:
//!   `Notification` (a trigger's email), `Cc`, `SatisfactionRating`.
//! * `GET /api/v2/incremental/organizations.json?start_time=UNIX`
//!   ("Incremental Organization Export"): time based, like ticket events.
//! * `GET /api/v2/incremental/users/cursor.json?start_time=UNIX|cursor=C`
//!   ("Incremental User Export, Cursor Based"): cursor based, like tickets.
//! * `GET /api/v2/custom_statuses[.json]` ("Custom Ticket Statuses › List
//!   Custom Ticket Statuses"): one default status per category and a few
//!   custom ones ([`super::generator::standard_custom_statuses`]).
//! * `GET /api/v2/tickets/{id}.json` ("Show Ticket"); deleted tickets 404.
//! * `GET /api/v2/business_hours/schedules[/{id}[/holidays]]` ("List
//!   Schedules", "Show Schedule", "List Holidays for a Schedule") and
//!   `GET /api/v2/slas/policies[/{id}]` ("List SLA Policies", "Show SLA
//!   Policy"): the account settings of [`super::zendesk_admin`], seeded from
//!   the config (one schedule per calendar with its holidays, one policy per
//!   plan) and replaceable by tests through [`SimState::admin`].
//!
//! * `GET /api/v2/incremental/ticket_metric_events[.json]?start_time=UNIX`
//!   ("Ticket Metric Events › List Ticket Metric Events"): time based,
//!   like the ticket events; `{count, end_of_stream, end_time, next_page,
//!   ticket_metric_events}`; each event `{id, ticket_id, metric,
//!   instance_id, type, time}` plus `sla` on `apply_sla`, `status` on
//!   `update_status` and `deleted: true` on a retracted breach. The events
//!   are computed from the account's SLA policies and each ticket's audits
//!   ([`metric_events`]), not from the SLA engine.
//!
//! Time-based paging ("Incremental Exports › Time-based incremental
//! exports"): items at or after `start_time`; `end_time` is the last item's
//! timestamp and `next_page` starts there, so the items of that second come
//! again; a page holds every item of its last second and may exceed
//! `per_page` ("the system may exceed the 1000-item default return limit if
//! items share the same timestamp"). When more than a page of items share
//! one second S, the page from S holds all of them and ends at S with
//! `end_of_stream: false` ([`Dataset::same_second_burst`] makes one).
//!
//! The most recent minute ("start_time … must be at least one minute in the
//! past. Data isn't provided for the most recent minute", and the Oct 2024
//! announcement "Announcing a new limit for the Incremental Export API"):
//! all four exports leave out items changed after `now - 60 s`, and
//! `end_time`/`after_cursor` stop before them. "Now" is the wall clock,
//! or the time [`ServerOptions::now`] / [`SimState::set_now`] pin.
//!
//! Every request needs `Authorization: Basic base64(EMAIL/token:TOKEN)` or
//! `Bearer TOKEN`; otherwise 401 `{"error":"Couldn't authenticate you"}`.
//! Every response carries `X-Rate-Limit` and `X-Rate-Limit-Remaining`
//! (a per-minute window; the account limit is reported, not enforced).
//! Incremental endpoints can be given a per-minute budget (Zendesk: 10),
//! answered with 429 and `Retry-After` when spent. [`Faults`] injects
//! errors deterministically from a seed and the request's sequence number.
//!
//! [`Dataset`]: super::generator::Dataset
//! [`Dataset::same_second_burst`]: super::generator::Dataset::same_second_burst

mod agent_page;
mod export;
mod index;
mod json;
pub mod metric_events;
mod respond;
mod routing;
mod state;

#[cfg(test)]
mod serialization_tests;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

pub use json::{audit_json, custom_statuses_json, organization_json, ticket_json, user_json};
pub use metric_events::{MetricEvent, Rules as MetricRules};
pub use state::SimState;

use routing::handle;

/// The token the emulator accepts unless told otherwise.
pub const DEMO_TOKEN: &str = "helpdesk-slo-simulator-demo-token";
/// The environment variable `helpdesk-slo simulate` reads the token from.
pub const TOKEN_ENV: &str = "HELPDESK_SLO_SIM_TOKEN";
/// Zendesk's page size limit for incremental exports.
pub const MAX_PER_PAGE: usize = 1000;
/// Zendesk leaves the most recent minute out of the incremental exports.
pub const RECENT_EXCLUSION_SECONDS: i64 = 60;

pub use super::endpoint;

/// Injected faults; all off by default. Decisions depend only on `seed` and
/// the request's sequence number (authenticated requests, counted from 1).
#[derive(Debug, Clone, Default)]
pub struct Faults {
    pub seed: u64,
    /// Every Nth request gets 429 with `Retry-After`.
    pub rate_limit_every: Option<u64>,
    /// `Retry-After` seconds for injected 429s and 503s (0 counts as 1).
    pub retry_after: u64,
    /// Share of requests answered 500 or 503.
    pub server_error_rate: f64,
    /// A delay before every response.
    pub delay: Option<Duration>,
    /// Share of 200 responses whose body is cut in half.
    pub malformed_rate: f64,
    /// Share of incremental pages after the first that repeat the record
    /// just before the page (a duplicate across the page boundary).
    pub duplicate_rate: f64,
}

/// How often each fault happened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultStats {
    /// Authenticated requests.
    pub requests: u64,
    pub unauthorized: u64,
    /// Injected 429s (`rate_limit_every`).
    pub rate_limited: u64,
    /// 429s because the per-minute budget was spent.
    pub budget_exceeded: u64,
    pub server_errors: u64,
    pub delayed: u64,
    pub malformed: u64,
    pub duplicates: u64,
}

/// How the server behaves.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub token: String,
    /// Reported in `X-Rate-Limit` (Zendesk's account limit; not enforced).
    pub account_limit_per_minute: u32,
    /// Per-minute budget of incremental export requests (Zendesk: 10);
    /// `None`: unlimited.
    pub incremental_per_minute: Option<u32>,
    pub faults: Faults,
    /// The emulator's clock, Unix seconds: `None` is the wall clock (the
    /// demo and `simulate`, whose data end at the real "now"); tests whose
    /// data are dated elsewhere pin it here or with [`SimState::set_now`].
    pub now: Option<i64>,
    /// The incremental exports leave out items changed in this many
    /// seconds before the request (Zendesk: the most recent minute, 60).
    pub exclude_recent_seconds: i64,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            token: DEMO_TOKEN.to_string(),
            account_limit_per_minute: 700,
            incremental_per_minute: None,
            faults: Faults::default(),
            now: None,
            exclude_recent_seconds: RECENT_EXCLUSION_SECONDS,
        }
    }
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    state: SimState,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Server {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn state(&self) -> &SimState {
        &self.state
    }

    /// Stops accepting, closes open connections and waits for the server.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }

    /// Waits until the server stops (it stops only through [`Self::shutdown`]
    /// or when the runtime ends).
    pub async fn wait(mut self) {
        let _ = (&mut self.task).await;
    }
}

/// Binds 127.0.0.1 on a free port and serves `state`.
pub async fn start(state: SimState) -> std::io::Result<Server> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    serve(listener, state).await
}

/// Serves `state` on `listener` in a background task.
pub async fn serve(listener: TcpListener, state: SimState) -> std::io::Result<Server> {
    let addr = listener.local_addr()?;
    let (tx, mut rx) = oneshot::channel::<()>();
    let served = state.clone();
    let task = tokio::spawn(async move {
        let mut conns = JoinSet::new();
        loop {
            tokio::select! {
                _ = &mut rx => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let st = served.clone();
                        conns.spawn(async move {
                            let svc = service_fn(move |req| {
                                let st = st.clone();
                                async move { Ok::<_, Infallible>(handle(&st, req).await) }
                            });
                            if let Err(e) = http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), svc)
                                .await
                            {
                                tracing::debug!("simulator connection: {e}");
                            }
                        });
                    }
                    Err(e) => {
                        tracing::warn!("simulator accept: {e}");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                },
            }
            while conns.try_join_next().is_some() {}
        }
        conns.abort_all();
        while conns.join_next().await.is_some() {}
    });
    Ok(Server {
        addr,
        state,
        stop: Some(tx),
        task,
    })
}
