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

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST, RETRY_AFTER};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

use serde::ser::SerializeMap;

use super::generator::{
    Audit, ChildEvent, ChildKind, Dataset, Field, Id, Organization, Role, Ticket, TicketStatus,
    User, Via, BRAND_ID,
};
use super::zendesk_admin::{Admin, AdminState};
use super::{base64_decode, base64_encode, Rng};
use crate::policy::Config;
use crate::time::format_instant;

/// The token the emulator accepts unless told otherwise.
pub const DEMO_TOKEN: &str = "helpdesk-slo-simulator-demo-token";
/// The environment variable `helpdesk-slo simulate` reads the token from.
pub const TOKEN_ENV: &str = "HELPDESK_SLO_SIM_TOKEN";
/// Zendesk's page size limit for incremental exports.
pub const MAX_PER_PAGE: usize = 1000;
/// Zendesk leaves the most recent minute out of the incremental exports.
pub const RECENT_EXCLUSION_SECONDS: i64 = 60;
/// [`Inner::clock`] when it follows the wall clock.
const WALL_CLOCK: i64 = i64::MIN;

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

#[derive(Debug, Default)]
struct Counters {
    seq: u64,
    stats: FaultStats,
    by_endpoint: BTreeMap<&'static str, u64>,
    account: Window,
    incremental: Window,
}

#[derive(Debug, Default)]
struct Window {
    started: Option<Instant>,
    used: u32,
}

impl Window {
    /// Counts a request unless `limit` is reached; returns (allowed, used
    /// after, seconds left in the window).
    fn take(&mut self, now: Instant, limit: Option<u32>) -> (bool, u32, u64) {
        let started = match self.started {
            Some(s) if now.duration_since(s) < Duration::from_secs(60) => s,
            _ => {
                self.started = Some(now);
                self.used = 0;
                now
            }
        };
        let left = 60u64
            .saturating_sub(now.duration_since(started).as_secs())
            .max(1);
        if limit.is_some_and(|l| self.used >= l) {
            return (false, self.used, left);
        }
        self.used += 1;
        (true, self.used, left)
    }
}

#[derive(Debug)]
struct Inner {
    /// Change it only through [`SimState::modify`], which drops `index`.
    data: Mutex<Dataset>,
    /// The incremental exports' items in page order, built on the first
    /// incremental request after a change (locked after `data`).
    index: Mutex<Option<Arc<PageIndex>>>,
    options: ServerOptions,
    admin: AdminState,
    counters: Mutex<Counters>,
    /// Unix seconds, or [`WALL_CLOCK`].
    clock: AtomicI64,
}

/// The emulator's state, shared by the server and its users (cheap to
/// clone).
#[derive(Debug, Clone)]
pub struct SimState(Arc<Inner>);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl SimState {
    /// Builds the page order and serializes every item of the incremental
    /// exports once, here (see [`PageIndex`]): serving a page then only
    /// copies bytes. That JSON is held in memory, about 3 KB per ticket with
    /// its audits (290 MB for 100,000 tickets, built in about 1.5 s).
    pub fn new(config: &Config, dataset: Dataset, options: ServerOptions) -> Self {
        let index = Arc::new(PageIndex::new(&dataset, true));
        Self(Arc::new(Inner {
            data: Mutex::new(dataset),
            index: Mutex::new(Some(index)),
            admin: AdminState::new(Admin::from_config(config)),
            clock: AtomicI64::new(options.now.unwrap_or(WALL_CLOCK)),
            options,
            counters: Mutex::new(Counters::default()),
        }))
    }

    /// The emulator's "now" (Unix seconds): the pinned time, or the wall
    /// clock.
    pub fn now(&self) -> i64 {
        match self.0.clock.load(Ordering::Relaxed) {
            WALL_CLOCK => crate::clock::now_unix(),
            t => t,
        }
    }

    /// Pins the emulator's clock (`None`: the wall clock from now on).
    /// Items changed less than [`ServerOptions::exclude_recent_seconds`]
    /// before it are left out of the incremental exports.
    pub fn set_now(&self, now: Option<i64>) {
        self.0
            .clock
            .store(now.unwrap_or(WALL_CLOCK), Ordering::Relaxed);
    }

    /// The newest instant the incremental exports serve.
    fn cutoff(&self) -> i64 {
        self.now()
            .saturating_sub(self.0.options.exclude_recent_seconds.max(0))
    }

    pub fn token(&self) -> &str {
        &self.0.options.token
    }

    pub fn options(&self) -> &ServerOptions {
        &self.0.options
    }

    /// The SLA policies, schedules and holidays served (see
    /// [`super::zendesk_admin`]); tests may replace them.
    pub fn admin(&self) -> &AdminState {
        &self.0.admin
    }

    /// Reads the dataset.
    pub fn read<R>(&self, f: impl FnOnce(&Dataset) -> R) -> R {
        f(&lock(&self.0.data))
    }

    /// Changes the dataset while it is served. The page order is rebuilt
    /// at the next request; the JSON serialized in [`Self::new`] is dropped
    /// with it, and pages are serialized on request from then on (a
    /// dataset that changes every few seconds, as in `demo`, would
    /// otherwise be serialized whole after every change).
    pub fn modify<R>(&self, f: impl FnOnce(&mut Dataset) -> R) -> R {
        let mut data = lock(&self.0.data);
        let r = f(&mut data);
        // Still under the data lock: no request pairs new data with the old
        // order.
        *lock(&self.0.index) = None;
        r
    }

    /// The page order of `data` (the locked dataset), built if missing.
    fn page_index(&self, data: &Dataset) -> Arc<PageIndex> {
        lock(&self.0.index)
            .get_or_insert_with(|| Arc::new(PageIndex::new(data, false)))
            .clone()
    }

    /// Fault and request counts so far.
    pub fn stats(&self) -> FaultStats {
        lock(&self.0.counters).stats.clone()
    }

    /// Requests to one endpoint (see [`endpoint`]), answered or not.
    pub fn requests(&self, endpoint: &str) -> u64 {
        lock(&self.0.counters)
            .by_endpoint
            .get(endpoint)
            .copied()
            .unwrap_or(0)
    }

    /// Requests per endpoint.
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        lock(&self.0.counters)
            .by_endpoint
            .iter()
            .map(|(k, v)| ((*k).to_string(), *v))
            .collect()
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

type Resp = Response<Full<Bytes>>;

fn json_response(status: StatusCode, body: &Value) -> Resp {
    bytes_response(status, Bytes::from(body.to_string()))
}

fn bytes_response(status: StatusCode, body: Bytes) -> Resp {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

fn error(status: StatusCode, error: &str, description: &str) -> Resp {
    json_response(
        status,
        &json!({ "error": error, "description": description }),
    )
}

fn classify(method: &Method, path: &str) -> &'static str {
    if method != Method::GET {
        return endpoint::OTHER;
    }
    match path {
        "/api/v2/incremental/tickets/cursor.json" => endpoint::TICKETS,
        "/api/v2/incremental/ticket_events.json" => endpoint::TICKET_EVENTS,
        "/api/v2/incremental/organizations.json" => endpoint::ORGANIZATIONS,
        "/api/v2/incremental/users/cursor.json" => endpoint::USERS,
        "/api/v2/business_hours/schedules" | "/api/v2/business_hours/schedules.json" => {
            endpoint::SCHEDULES
        }
        "/api/v2/slas/policies" | "/api/v2/slas/policies.json" => endpoint::SLA_POLICIES,
        "/api/v2/custom_statuses" | "/api/v2/custom_statuses.json" => endpoint::CUSTOM_STATUSES,
        p if ticket_id_of(p).is_some() => endpoint::TICKET,
        p => super::zendesk_admin::classify(p).unwrap_or(endpoint::OTHER),
    }
}

fn ticket_id_of(path: &str) -> Option<Id> {
    path.strip_prefix("/api/v2/tickets/")?
        .strip_suffix(".json")?
        .parse()
        .ok()
}

fn authorized(req: &Request<Incoming>, token: &str) -> bool {
    let Some(value) = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    if let Some(bearer) = value.strip_prefix("Bearer ") {
        return bearer.trim() == token;
    }
    let Some(basic) = value.strip_prefix("Basic ") else {
        return false;
    };
    let Some(decoded) = base64_decode(basic.trim()).and_then(|b| String::from_utf8(b).ok()) else {
        return false;
    };
    decoded
        .split_once("/token:")
        .is_some_and(|(email, t)| !email.is_empty() && t == token)
}

fn query(q: Option<&str>) -> BTreeMap<String, String> {
    form_urlencoded::parse(q.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// What one request decided about faults.
struct Decision {
    duplicate: bool,
    malformed: bool,
}

async fn handle(state: &SimState, req: Request<Incoming>) -> Resp {
    let inner = &state.0;
    let ep = classify(req.method(), req.uri().path());
    let now = Instant::now();
    let incremental = matches!(
        ep,
        endpoint::TICKETS | endpoint::TICKET_EVENTS | endpoint::ORGANIZATIONS | endpoint::USERS
    );
    let ok = authorized(&req, &inner.options.token);
    let faults = &inner.options.faults;
    // Everything that needs the counters, decided at once.
    let (seq, limit_header, remaining, budget_refusal) = {
        let mut c = lock(&inner.counters);
        *c.by_endpoint.entry(ep).or_default() += 1;
        let (_, used, _) = c.account.take(now, None);
        let mut limit = inner.options.account_limit_per_minute;
        let mut remaining = limit.saturating_sub(used);
        let mut refusal = None;
        if !ok {
            c.stats.unauthorized += 1;
        } else {
            c.stats.requests += 1;
            c.seq += 1;
            if incremental {
                if let Some(budget) = inner.options.incremental_per_minute {
                    let (allowed, used, left) = c.incremental.take(now, Some(budget));
                    limit = budget;
                    remaining = budget.saturating_sub(used);
                    if !allowed {
                        c.stats.budget_exceeded += 1;
                        refusal = Some(left);
                    }
                }
            }
        }
        (c.seq, limit, remaining, refusal)
    };
    let mut response = respond(state, req, ep, ok, seq, budget_refusal, faults).await;
    let h = response.headers_mut();
    h.insert("X-Rate-Limit", HeaderValue::from(limit_header));
    h.insert("X-Rate-Limit-Remaining", HeaderValue::from(remaining));
    response
}

async fn respond(
    state: &SimState,
    req: Request<Incoming>,
    ep: &'static str,
    ok: bool,
    seq: u64,
    budget_refusal: Option<u64>,
    faults: &Faults,
) -> Resp {
    let inner = &state.0;
    if !ok {
        return json_response(
            StatusCode::UNAUTHORIZED,
            &json!({ "error": "Couldn't authenticate you" }),
        );
    }
    let mut rng = Rng::derive(faults.seed, seq);
    let server_error = rng.chance(faults.server_error_rate);
    let error_503 = rng.chance(0.5);
    let decision = Decision {
        duplicate: rng.chance(faults.duplicate_rate),
        malformed: rng.chance(faults.malformed_rate),
    };
    if let Some(delay) = faults.delay {
        lock(&inner.counters).stats.delayed += 1;
        tokio::time::sleep(delay).await;
    }
    let retry_after = faults.retry_after.max(1);
    if let Some(left) = budget_refusal {
        let mut r = error(
            StatusCode::TOO_MANY_REQUESTS,
            "APIRateLimitExceeded",
            "Number of allowed incremental export API requests per minute exceeded",
        );
        r.headers_mut().insert(RETRY_AFTER, HeaderValue::from(left));
        return r;
    }
    if faults
        .rate_limit_every
        .is_some_and(|n| n > 0 && seq % n == 0)
    {
        lock(&inner.counters).stats.rate_limited += 1;
        let mut r = error(
            StatusCode::TOO_MANY_REQUESTS,
            "APIRateLimitExceeded",
            "Number of allowed API requests per minute exceeded",
        );
        r.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(retry_after));
        return r;
    }
    if server_error {
        lock(&inner.counters).stats.server_errors += 1;
        return if error_503 {
            let mut r = error(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "Zendesk is temporarily unavailable",
            );
            r.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(retry_after));
            r
        } else {
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "Internal server error",
            )
        };
    }
    let host = req
        .headers()
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_string();
    let base = format!("http://{host}");
    let q = query(req.uri().query());
    let path = req.uri().path().to_string();
    let result = {
        let data = lock(&inner.data);
        match ep {
            endpoint::TICKETS
            | endpoint::USERS
            | endpoint::TICKET_EVENTS
            | endpoint::ORGANIZATIONS => {
                let index = state.page_index(&data);
                let cutoff = state.cutoff();
                incremental_page(ep, &data, &index, &base, &q, decision.duplicate, cutoff)
            }
            endpoint::CUSTOM_STATUSES => Ok((
                custom_statuses_json(&data, &base).to_string().into_bytes(),
                false,
            )),
            _ => match ep {
                endpoint::TICKET => match ticket_id_of(&path).and_then(|id| data.ticket(id)) {
                    Some(t) if t.status != TicketStatus::Deleted => {
                        Ok((json!({ "ticket": ticket_json(t, &base) }), false))
                    }
                    _ => Err(Box::new(error(
                        StatusCode::NOT_FOUND,
                        "RecordNotFound",
                        "Not found",
                    ))),
                },
                ep if super::zendesk_admin::serves(ep) => inner
                    .admin
                    .respond(ep, &path, &q, &base)
                    .map(|v| (v, false))
                    .map_err(|e| Box::new(error(e.status, e.error, &e.description))),
                _ => Err(Box::new(error(
                    StatusCode::NOT_FOUND,
                    "InvalidEndpoint",
                    "Not found",
                ))),
            }
            .map(|(v, dup)| (v.to_string().into_bytes(), dup)),
        }
    };
    let (mut bytes, duplicated) = match result {
        Ok(b) => b,
        Err(r) => return *r,
    };
    {
        let mut c = lock(&inner.counters);
        if duplicated {
            c.stats.duplicates += 1;
        }
        if decision.malformed {
            c.stats.malformed += 1;
            bytes.truncate(bytes.len() / 2);
        }
    }
    bytes_response(StatusCode::OK, Bytes::from(bytes))
}

/// An incremental page's JSON body, and whether a duplicate was injected.
type PageResult = Result<(Vec<u8>, bool), Box<Resp>>;

fn bad_request(description: &str) -> Box<Resp> {
    Box::new(error(
        StatusCode::BAD_REQUEST,
        "InvalidPaginationParameter",
        description,
    ))
}

fn per_page(q: &BTreeMap<String, String>) -> Result<usize, Box<Resp>> {
    match q.get("per_page") {
        None => Ok(MAX_PER_PAGE),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n.min(MAX_PER_PAGE)),
            _ => Err(bad_request("per_page must be a positive integer")),
        },
    }
}

fn start_time(q: &BTreeMap<String, String>) -> Result<i64, Box<Resp>> {
    match q.get("start_time") {
        None => Err(bad_request("start_time is required")),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|t| *t >= 0)
            .ok_or_else(|| bad_request("start_time must be a Unix time in seconds")),
    }
}

/// The order of an incremental export: `(updated_at or timestamp, id)`.
type Key = (i64, Id);

fn encode_cursor(key: Key) -> String {
    base64_encode(format!("{}:{}", key.0, key.1).as_bytes())
}

fn decode_cursor(c: &str) -> Option<Key> {
    let text = String::from_utf8(base64_decode(c)?).ok()?;
    let (t, id) = text.split_once(':')?;
    Some((t.parse().ok()?, id.parse().ok()?))
}

/// Every incremental export's items sorted by key, as positions in the
/// dataset: a page is a binary search and a slice. Built once per version
/// of the dataset (a backfill of 100,000 tickets reads about 900 pages).
/// The index [`SimState::new`] builds also holds every item's JSON, so a
/// page is a copy of bytes; one rebuilt after [`SimState::modify`]
/// serializes only the requested page's items, on request.
#[derive(Debug)]
struct PageIndex {
    /// Indexes into `Dataset::tickets`.
    tickets: Sorted<usize>,
    users: Sorted<usize>,
    organizations: Sorted<usize>,
    /// `(ticket index, audit index)`.
    audits: Sorted<(usize, usize)>,
    /// The items' JSON in the same order, when serialized up front (see
    /// [`Serialized`]); audits in their `include=comment_events` form,
    /// which is what the adapter asks for (the other form is serialized on
    /// request).
    json: Option<Box<AllSerialized>>,
}

#[derive(Debug)]
struct AllSerialized {
    tickets: Serialized,
    users: Serialized,
    organizations: Serialized,
    audits: Serialized,
}

/// Items' JSON, serialized once, back to back: item `i` is
/// `bytes[ends[i - 1]..ends[i]]` (from 0 for the first). Tickets, users and
/// organizations end with their `url`, which starts with the base URL of the
/// request (its `Host`): they are serialized with an empty base, and the
/// base (as a JSON string's contents) goes in at `bases[i]`. Escaping a JSON
/// string escapes each character on its own, so the bytes are those of the
/// whole item serialized with that base.
#[derive(Debug, Default)]
struct Serialized {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    /// Empty for items without a `url` (audits).
    bases: Vec<usize>,
}

impl Serialized {
    /// Serializes `items` in order; `url_path(item)` is the path its `url`
    /// ends with (`None`: it has no url).
    fn new<I, T: Serialize>(items: I, url_path: impl Fn(&T) -> Option<String>) -> Self
    where
        I: ExactSizeIterator<Item = T>,
    {
        let mut out = Serialized {
            bytes: Vec::new(),
            ends: Vec::with_capacity(items.len()),
            bases: Vec::new(),
        };
        for item in items {
            write_json(&mut out.bytes, &item);
            if let Some(path) = url_path(&item) {
                // `…,"url":"` + base + path + `"}`: the url is the last
                // field (fields are in alphabetical order).
                out.bases.push(out.bytes.len() - path.len() - 2);
            }
            out.ends.push(out.bytes.len());
        }
        out
    }

    /// Appends item `i`, with `base` (JSON-escaped, no quotes) in its url;
    /// false if there is no such item.
    fn write(&self, i: usize, base: &[u8], out: &mut Vec<u8>) -> bool {
        let Some(&end) = self.ends.get(i) else {
            return false;
        };
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        match self.bases.get(i) {
            Some(&at) => {
                out.extend_from_slice(&self.bytes[start..at]);
                out.extend_from_slice(base);
                out.extend_from_slice(&self.bytes[at..end]);
            }
            None => out.extend_from_slice(&self.bytes[start..end]),
        }
        true
    }
}

/// Serializes one value into `out` (these plain structs cannot fail; a
/// failure would leave `null`).
fn write_json<T: Serialize>(out: &mut Vec<u8>, value: &T) {
    let mark = out.len();
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.truncate(mark);
        out.extend_from_slice(b"null");
    }
}

/// The contents of `s` as a JSON string, without the quotes.
fn json_string_contents(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() + 2);
    write_json(&mut out, &s);
    if out.len() >= 2 {
        out.remove(0);
        out.pop();
    }
    out
}

/// Keys in ascending order, and where the item of each is.
#[derive(Debug)]
struct Sorted<T> {
    keys: Vec<Key>,
    at: Vec<T>,
}

impl PageIndex {
    /// The page order of `d`; with `serialize`, every item's JSON too.
    fn new(d: &Dataset, serialize: bool) -> Self {
        fn sorted<T>(mut v: Vec<(Key, T)>) -> Sorted<T> {
            v.sort_by_key(|(k, _)| *k);
            let (keys, at) = v.into_iter().unzip();
            Sorted { keys, at }
        }
        let mut index = Self {
            tickets: sorted(
                d.tickets
                    .iter()
                    .enumerate()
                    .map(|(i, t)| ((t.updated_at, t.id), i))
                    .collect(),
            ),
            users: sorted(
                d.users
                    .iter()
                    .enumerate()
                    .map(|(i, u)| ((u.updated_at, u.id), i))
                    .collect(),
            ),
            organizations: sorted(
                d.organizations
                    .iter()
                    .enumerate()
                    .map(|(i, o)| ((o.updated_at, o.id), i))
                    .collect(),
            ),
            audits: sorted(
                d.tickets
                    .iter()
                    .enumerate()
                    .flat_map(|(ti, t)| {
                        t.audits
                            .iter()
                            .enumerate()
                            .map(move |(ai, a)| ((a.timestamp, a.id), (ti, ai)))
                    })
                    .collect(),
            ),
            json: None,
        };
        if serialize {
            let i = &index;
            index.json = Some(Box::new(AllSerialized {
                tickets: Serialized::new(
                    i.tickets
                        .at
                        .iter()
                        .map(|&at| TicketJson::new(&d.tickets[at], "")),
                    |t| Some(format!("/api/v2/tickets/{}.json", t.id)),
                ),
                users: Serialized::new(
                    i.users.at.iter().map(|&at| UserJson::new(&d.users[at], "")),
                    |u| Some(format!("/api/v2/users/{}.json", u.id)),
                ),
                organizations: Serialized::new(
                    i.organizations
                        .at
                        .iter()
                        .map(|&at| OrganizationJson::new(&d.organizations[at], "")),
                    |o| Some(format!("/api/v2/organizations/{}.json", o.id)),
                ),
                audits: Serialized::new(
                    i.audits
                        .at
                        .iter()
                        .map(|&(ti, ai)| AuditJson::new(&d.tickets[ti].audits[ai], true)),
                    |_| None,
                ),
            }));
        }
        index
    }
}

/// Writes `{"k1": v1, …}` with the entries in the given order (the order
/// serde_json's sorted maps gave, so bodies are as before).
fn write_object(entries: &[(&str, &dyn erased::Entry)], capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(capacity + 512);
    out.push(b'{');
    for (i, (k, v)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Keys are fixed ASCII names.
        out.push(b'"');
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b"\":");
        v.write(&mut out);
    }
    out.push(b'}');
    out
}

/// Object-safe "serialize into this buffer".
mod erased {
    pub trait Entry {
        fn write(&self, out: &mut Vec<u8>);
    }
    impl<T: serde::Serialize> Entry for T {
        fn write(&self, out: &mut Vec<u8>) {
            super::write_json(out, self);
        }
    }

    /// JSON written already.
    pub struct Raw<'a>(pub &'a [u8]);

    impl Entry for Raw<'_> {
        fn write(&self, out: &mut Vec<u8>) {
            out.extend_from_slice(self.0);
        }
    }
}

/// Appends the JSON of the item at position `i` of a stream's order; false
/// if there is none.
type WriteItem<'a> = dyn Fn(usize, &mut Vec<u8>) -> bool + 'a;

/// The JSON array of the items at `positions` (as serde_json writes a
/// `Vec`), and how many there are.
fn write_items(positions: impl Iterator<Item = usize>, item: &WriteItem) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(64 * 1024);
    out.push(b'[');
    let mut n = 0;
    for i in positions {
        let mark = out.len();
        if n > 0 {
            out.push(b',');
        }
        if item(i, &mut out) {
            n += 1;
        } else {
            out.truncate(mark);
        }
    }
    out.push(b']');
    (out, n)
}

/// A cursor-based page over `keys` (sorted); `item(i, out)` writes the JSON
/// form of the item at `keys[i]`.
fn cursor_page(
    keys: &[Key],
    item: &WriteItem,
    key: &str,
    url: &str,
    q: &BTreeMap<String, String>,
    duplicate: bool,
    cutoff: i64,
) -> PageResult {
    let per_page = per_page(q)?;
    // Nothing changed after the cutoff (the most recent minute).
    let keys = &keys[..keys.partition_point(|k| k.0 <= cutoff)];
    let (after, is_next) = match (q.get("cursor"), q.get("start_time")) {
        (Some(c), _) => (
            decode_cursor(c).ok_or_else(|| bad_request("cursor is invalid"))?,
            true,
        ),
        (None, Some(_)) => ((start_time(q)?, 0), false),
        (None, None) => return Err(bad_request("start_time or cursor is required")),
    };
    let from = keys.partition_point(|k| *k <= after);
    let to = (from + per_page).min(keys.len());
    let last = if to > from { keys[to - 1] } else { after };
    let duplicated = duplicate && is_next && from > 0 && keys[from - 1] == after;
    let first = if duplicated { from - 1 } else { from };
    let end_of_stream = to == keys.len();
    let (page, _) = write_items(first..to, item);
    let cursor = encode_cursor(last);
    let mut after_url = format!("{url}?cursor={cursor}");
    if q.contains_key("per_page") {
        after_url.push_str(&format!("&per_page={per_page}"));
    }
    let null: Option<()> = None;
    Ok((
        write_object(
            &[
                ("after_cursor", &cursor),
                ("after_url", &after_url),
                ("before_cursor", &null),
                ("before_url", &null),
                ("end_of_stream", &end_of_stream),
                (key, &erased::Raw(&page)),
            ],
            page.len(),
        ),
        duplicated,
    ))
}

/// A time-based page over `keys` (sorted by `(timestamp, id)`).
///
/// As Zendesk documents: items at or after `start_time`, none changed after
/// `cutoff` (the most recent minute); a page holds every item of its last
/// second, so it may exceed `per_page`; `end_time` is the last item's
/// timestamp and the next page starts there, so the items of that second
/// come again. When more than a page of items share one second S, the page
/// from S holds all of them and ends at S again with `end_of_stream` false:
/// a client that only follows `end_time` asks for the same page forever.
#[allow(clippy::too_many_arguments)]
fn time_page(
    keys: &[Key],
    item: &WriteItem,
    key: &str,
    url: &str,
    extra: &str,
    q: &BTreeMap<String, String>,
    duplicate: bool,
    cutoff: i64,
) -> PageResult {
    let per_page = per_page(q)?;
    let start = start_time(q)?;
    let keys = &keys[..keys.partition_point(|k| k.0 <= cutoff)];
    let from = keys.partition_point(|k| k.0 < start);
    let mut to = (from + per_page).min(keys.len());
    while to > from && to < keys.len() && keys[to].0 == keys[to - 1].0 {
        to += 1;
    }
    let end_of_stream = to == keys.len();
    let end_time = if to > from { keys[to - 1].0 } else { start };
    let duplicated = duplicate && from > 0;
    let first = if duplicated { from - 1 } else { from };
    let (page, count) = write_items(first..to, item);
    let mut next = format!("{url}?start_time={end_time}{extra}");
    if q.contains_key("per_page") {
        next.push_str(&format!("&per_page={per_page}"));
    }
    // `organizations` and `ticket_events` sort after `next_page`.
    Ok((
        write_object(
            &[
                ("count", &count),
                ("end_of_stream", &end_of_stream),
                ("end_time", &end_time),
                ("next_page", &next),
                (key, &erased::Raw(&page)),
            ],
            page.len(),
        ),
        duplicated,
    ))
}

/// The page of an incremental export (`ep` is one of the four).
fn incremental_page(
    ep: &str,
    d: &Dataset,
    index: &PageIndex,
    base: &str,
    q: &BTreeMap<String, String>,
    dup: bool,
    cutoff: i64,
) -> PageResult {
    // Items come from the JSON serialized up front when there is some,
    // else they are serialized now, straight from the dataset.
    let json = index.json.as_deref();
    let base_json = json_string_contents(base);
    match ep {
        endpoint::TICKETS => {
            let url = format!("{base}/api/v2/incremental/tickets/cursor.json");
            let item = |i: usize, out: &mut Vec<u8>| match json {
                Some(j) => j.tickets.write(i, &base_json, out),
                None => index
                    .tickets
                    .at
                    .get(i)
                    .and_then(|&at| d.tickets.get(at))
                    .map(|t| write_json(out, &TicketJson::new(t, base)))
                    .is_some(),
            };
            cursor_page(&index.tickets.keys, &item, "tickets", &url, q, dup, cutoff)
        }
        endpoint::USERS => {
            let url = format!("{base}/api/v2/incremental/users/cursor.json");
            let item = |i: usize, out: &mut Vec<u8>| match json {
                Some(j) => j.users.write(i, &base_json, out),
                None => index
                    .users
                    .at
                    .get(i)
                    .and_then(|&at| d.users.get(at))
                    .map(|u| write_json(out, &UserJson::new(u, base)))
                    .is_some(),
            };
            cursor_page(&index.users.keys, &item, "users", &url, q, dup, cutoff)
        }
        endpoint::ORGANIZATIONS => {
            let url = format!("{base}/api/v2/incremental/organizations.json");
            let item = |i: usize, out: &mut Vec<u8>| match json {
                Some(j) => j.organizations.write(i, &base_json, out),
                None => index
                    .organizations
                    .at
                    .get(i)
                    .and_then(|&at| d.organizations.get(at))
                    .map(|o| write_json(out, &OrganizationJson::new(o, base)))
                    .is_some(),
            };
            time_page(
                &index.organizations.keys,
                &item,
                "organizations",
                &url,
                "",
                q,
                dup,
                cutoff,
            )
        }
        _ => {
            let comments = q
                .get("include")
                .is_some_and(|i| i.split(',').any(|x| x == "comment_events"));
            let url = format!("{base}/api/v2/incremental/ticket_events.json");
            let extra = if comments {
                "&include=comment_events"
            } else {
                ""
            };
            let item = |i: usize, out: &mut Vec<u8>| match json.filter(|_| comments) {
                Some(j) => j.audits.write(i, &[], out),
                None => index
                    .audits
                    .at
                    .get(i)
                    .and_then(|&(ti, ai)| d.tickets.get(ti)?.audits.get(ai))
                    .map(|a| write_json(out, &AuditJson::new(a, comments)))
                    .is_some(),
            };
            time_page(
                &index.audits.keys,
                &item,
                "ticket_events",
                &url,
                extra,
                q,
                dup,
                cutoff,
            )
        }
    }
}

// The JSON forms, serialized straight from the dataset in the shapes of
// Zendesk's reference pages (see the module docs). Fields are in
// alphabetical order, except that a record with a `url` ends with it
// (see [`Serialized`]).

#[derive(Serialize)]
struct CustomFieldJson<'a> {
    id: Id,
    value: &'a Value,
}

/// `{}`.
#[derive(Serialize)]
struct Empty {}

/// A ticket's or comment's `via` object: `{channel, source: {from, to,
/// rel}}` (a voicemail's source names the caller and the line).
struct ViaObject(Via);

impl Serialize for ViaObject {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Phone {
            formatted_phone: &'static str,
            name: &'static str,
            phone: &'static str,
        }
        #[derive(Serialize)]
        struct Line {
            brand_id: Id,
            formatted_phone: &'static str,
            name: &'static str,
            phone: &'static str,
        }
        #[derive(Serialize)]
        struct Voice {
            from: Phone,
            rel: &'static str,
            to: Line,
        }
        #[derive(Serialize)]
        struct Plain {
            from: Empty,
            rel: Option<()>,
            to: Empty,
        }
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("channel", self.0.channel())?;
        if self.0 == Via::Voicemail {
            m.serialize_entry(
                "source",
                &Voice {
                    from: Phone {
                        formatted_phone: "+1 (555) 010-0142",
                        name: "Caller +1 (555) 010-0142",
                        phone: "+15550100142",
                    },
                    rel: "voicemail",
                    to: Line {
                        brand_id: BRAND_ID,
                        formatted_phone: "+1 (555) 010-0100",
                        name: "Support line",
                        phone: "+15550100100",
                    },
                },
            )?;
        } else {
            m.serialize_entry(
                "source",
                &Plain {
                    from: Empty {},
                    rel: None,
                    to: Empty {},
                },
            )?;
        }
        m.end()
    }
}

/// `satisfaction_rating`: the rating, `{"score":"offered"}` on solved and
/// closed tickets not rated, else null.
#[derive(Serialize)]
#[serde(untagged)]
enum RatingJson<'a> {
    Rated {
        comment: &'a str,
        id: Id,
        score: &'a str,
    },
    Offered {
        score: &'static str,
    },
}

#[derive(Serialize)]
struct TicketJson<'a> {
    allow_attachments: bool,
    allow_channelback: bool,
    assignee_id: Option<Id>,
    brand_id: Id,
    collaborator_ids: &'static [Id],
    created_at: String,
    custom_fields: Vec<CustomFieldJson<'a>>,
    custom_status_id: Id,
    description: &'a str,
    due_at: Option<()>,
    email_cc_ids: &'static [Id],
    external_id: Option<()>,
    fields: Vec<CustomFieldJson<'a>>,
    follower_ids: &'static [Id],
    followup_ids: &'static [Id],
    forum_topic_id: Option<()>,
    from_messaging_channel: bool,
    generated_timestamp: i64,
    group_id: Option<Id>,
    has_incidents: bool,
    id: Id,
    is_public: bool,
    organization_id: Option<Id>,
    priority: &'a Option<String>,
    problem_id: Option<()>,
    raw_subject: &'a str,
    recipient: Option<&'static str>,
    requester_id: Id,
    satisfaction_rating: Option<RatingJson<'a>>,
    sharing_agreement_ids: &'static [Id],
    status: &'static str,
    subject: &'a str,
    submitter_id: Id,
    tags: &'a [String],
    ticket_form_id: Id,
    #[serde(rename = "type")]
    ticket_type: &'a Option<String>,
    updated_at: String,
    via: ViaObject,
    url: String,
}

impl<'a> TicketJson<'a> {
    fn new(t: &'a Ticket, base: &str) -> Self {
        let fields = || {
            t.custom_fields
                .iter()
                .map(|(id, value)| CustomFieldJson { id: *id, value })
                .collect()
        };
        let satisfaction_rating = match (&t.satisfaction_rating, t.status) {
            (Some((id, score, comment)), _) => Some(RatingJson::Rated {
                comment,
                id: *id,
                score,
            }),
            (None, TicketStatus::Solved | TicketStatus::Closed) => {
                Some(RatingJson::Offered { score: "offered" })
            }
            _ => None,
        };
        Self {
            allow_attachments: true,
            allow_channelback: false,
            assignee_id: t.assignee_id,
            brand_id: t.brand_id,
            collaborator_ids: &[],
            created_at: format_instant(t.created_at),
            custom_fields: fields(),
            custom_status_id: t.custom_status_id,
            description: &t.description,
            due_at: None,
            email_cc_ids: &[],
            external_id: None,
            fields: fields(),
            follower_ids: &[],
            followup_ids: &[],
            forum_topic_id: None,
            from_messaging_channel: false,
            generated_timestamp: t.updated_at,
            group_id: t.group_id,
            has_incidents: false,
            id: t.id,
            is_public: true,
            organization_id: t.organization_id,
            priority: &t.priority,
            problem_id: None,
            raw_subject: &t.subject,
            recipient: (t.via == Via::Mail).then_some("support@example.zendesk.com"),
            requester_id: t.requester_id,
            satisfaction_rating,
            sharing_agreement_ids: &[],
            status: t.status.as_str(),
            subject: &t.subject,
            submitter_id: t.submitter_id,
            tags: &t.tags,
            ticket_form_id: t.ticket_form_id,
            ticket_type: &t.ticket_type,
            updated_at: format_instant(t.updated_at),
            via: ViaObject(t.via),
            url: format!("{base}/api/v2/tickets/{}.json", t.id),
        }
    }
}

/// One child event of a ticket event, in its documented shape.
struct ChildJson<'a> {
    event: &'a ChildEvent,
    audit: &'a Audit,
}

/// Minimal HTML escaping for a comment's `html_body`.
fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The tags in `a` that are not in `b` (both JSON arrays of strings).
fn tags_minus<'v>(a: &'v Value, b: &Value) -> Vec<&'v Value> {
    let b = b.as_array().map(Vec::as_slice).unwrap_or(&[]);
    a.as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .filter(|t| !b.contains(t))
        .collect()
}

impl Serialize for ChildJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (e, a) = (self.event, self.audit);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("id", &e.id)?;
        match &e.kind {
            ChildKind::Create { field, value } | ChildKind::Change { field, value, .. } => {
                let previous = match &e.kind {
                    ChildKind::Change { previous_value, .. } => Some(previous_value),
                    _ => None,
                };
                m.serialize_entry("via", a.via.label())?;
                m.serialize_entry("via_reference_id", &None::<()>)?;
                match field {
                    Field::Custom(fid) => {
                        let mut one = serde_json::Map::new();
                        one.insert(fid.to_string(), (*value).clone());
                        m.serialize_entry("custom_ticket_fields", &one)?;
                    }
                    Field::Tags => {
                        m.serialize_entry("tags", value)?;
                        let none = Value::Null;
                        let prev = previous.unwrap_or(&none);
                        m.serialize_entry("added_tags", &tags_minus(value, prev))?;
                        m.serialize_entry("removed_tags", &tags_minus(prev, value))?;
                    }
                    f => m.serialize_entry(f.name(), value)?,
                }
                match previous {
                    Some(p) => {
                        m.serialize_entry("event_type", "Change")?;
                        m.serialize_entry("previous_value", p)?;
                    }
                    None => m.serialize_entry("event_type", "Create")?,
                }
            }
            ChildKind::Comment {
                author_id,
                public,
                body,
                voice,
            } => {
                m.serialize_entry("via", &ViaObject(a.via))?;
                m.serialize_entry("via_reference_id", &None::<()>)?;
                m.serialize_entry("type", if *voice { "VoiceComment" } else { "Comment" })?;
                m.serialize_entry("author_id", author_id)?;
                m.serialize_entry("body", body)?;
                m.serialize_entry(
                    "html_body",
                    &format!(
                        "<div class=\"zd-comment\" dir=\"auto\">{}<br></div>",
                        html_escape(body)
                    ),
                )?;
                m.serialize_entry("plain_body", body)?;
                m.serialize_entry("public", public)?;
                m.serialize_entry("attachments", &[] as &[Id])?;
                if *voice {
                    #[derive(Serialize)]
                    struct VoiceData<'a> {
                        answered_by_id: Option<()>,
                        call_duration: u32,
                        from: &'static str,
                        location: &'static str,
                        recording_url: String,
                        started_at: String,
                        to: &'static str,
                        transcription_text: &'a str,
                    }
                    m.serialize_entry(
                        "data",
                        &VoiceData {
                            answered_by_id: None,
                            call_duration: 42,
                            from: "+15550100142",
                            location: "Portland, Oregon, United States",
                            recording_url: format!(
                                "https://example.zendesk.com/api/v2/channels/voice/calls/{}/twilio/recording",
                                a.id
                            ),
                            started_at: format_instant(a.timestamp - 42),
                            to: "+15550100100",
                            transcription_text: body,
                        },
                    )?;
                    m.serialize_entry("formatted_from", "+1 (555) 010-0142")?;
                    m.serialize_entry("formatted_to", "+1 (555) 010-0100")?;
                    m.serialize_entry("transcription_visible", &true)?;
                }
                m.serialize_entry("audit_id", &a.id)?;
                m.serialize_entry("created_at", &format_instant(a.timestamp))?;
                m.serialize_entry("event_type", "Comment")?;
            }
            ChildKind::Notification {
                trigger_id,
                title,
                subject,
                body,
                recipients,
            } => {
                #[derive(Serialize)]
                struct Rule<'a> {
                    deleted: bool,
                    id: Id,
                    revision_id: u32,
                    title: &'a str,
                }
                #[derive(Serialize)]
                struct Source<'a> {
                    from: Rule<'a>,
                    rel: &'static str,
                }
                #[derive(Serialize)]
                struct RuleVia<'a> {
                    channel: &'static str,
                    source: Source<'a>,
                }
                m.serialize_entry(
                    "via",
                    &RuleVia {
                        channel: "rule",
                        source: Source {
                            from: Rule {
                                deleted: false,
                                id: *trigger_id,
                                revision_id: 3,
                                title,
                            },
                            rel: "trigger",
                        },
                    },
                )?;
                m.serialize_entry("via_reference_id", &None::<()>)?;
                m.serialize_entry("subject", subject)?;
                m.serialize_entry("body", body)?;
                m.serialize_entry("recipients", recipients)?;
                m.serialize_entry("event_type", "Notification")?;
            }
            ChildKind::Cc { recipients } => {
                m.serialize_entry("via", a.via.label())?;
                m.serialize_entry("via_reference_id", &None::<()>)?;
                m.serialize_entry("recipients", recipients)?;
                m.serialize_entry("event_type", "Cc")?;
            }
            ChildKind::SatisfactionRating {
                score,
                assignee_id,
                body,
            } => {
                m.serialize_entry("via", a.via.label())?;
                m.serialize_entry("via_reference_id", &None::<()>)?;
                m.serialize_entry("score", score)?;
                m.serialize_entry("assignee_id", assignee_id)?;
                m.serialize_entry("body", body)?;
                m.serialize_entry("event_type", "SatisfactionRating")?;
            }
        }
        m.end()
    }
}

/// Where an update came from (`system` of a ticket event): the agent's
/// browser or app, or the API client; `{}` for Zendesk's own updates.
#[derive(Serialize)]
struct SystemJson {
    client: &'static str,
    ip_address: &'static str,
    latitude: f64,
    location: &'static str,
    longitude: f64,
}

fn system_of(via: Via) -> Option<SystemJson> {
    let (client, ip) = match via {
        Via::Rule | Via::ClosedTicket | Via::Voicemail | Via::Mail => return None,
        Via::WebService => ("helpdesk-bulk/1.0", "52.40.158.85"),
        Via::Mobile => ("Zendesk/3.52 (iPhone; iOS 18.1)", "203.0.113.24"),
        Via::WebForm | Via::Merge => (
            "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0",
            "198.51.100.7",
        ),
    };
    Some(SystemJson {
        client,
        ip_address: ip,
        latitude: 45.5234,
        location: "Portland, OR, United States",
        longitude: -122.6762,
    })
}

#[derive(Serialize)]
struct AuditJson<'a> {
    child_events: Vec<ChildJson<'a>>,
    created_at: String,
    event_type: &'static str,
    id: Id,
    merged_ticket_ids: &'a [Id],
    metadata: Empty,
    #[serde(serialize_with = "serialize_system")]
    system: Option<SystemJson>,
    ticket_id: Id,
    timestamp: i64,
    updater_id: i64,
    via: &'static str,
}

impl<'a> AuditJson<'a> {
    fn new(a: &'a Audit, comments: bool) -> Self {
        let child_events = a
            .events
            .iter()
            .filter(|e| comments || !matches!(e.kind, ChildKind::Comment { .. }))
            .map(|event| ChildJson { event, audit: a })
            .collect();
        Self {
            child_events,
            created_at: format_instant(a.timestamp),
            event_type: "Audit",
            id: a.id,
            merged_ticket_ids: &a.merged_ticket_ids,
            metadata: Empty {},
            system: system_of(a.via),
            ticket_id: a.ticket_id,
            timestamp: a.timestamp,
            updater_id: a.updater_id,
            via: a.via.label(),
        }
    }
}

// `system` is `{}` rather than null for Zendesk's own updates.
fn serialize_system<S: serde::Serializer>(v: &Option<SystemJson>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(x) => x.serialize(s),
        None => Empty {}.serialize(s),
    }
}

#[derive(Serialize)]
struct OrganizationJson<'a> {
    created_at: String,
    deleted_at: Option<()>,
    details: &'static str,
    domain_names: Vec<String>,
    external_id: Option<()>,
    group_id: Option<Id>,
    id: Id,
    name: &'a str,
    notes: &'static str,
    organization_fields: &'a BTreeMap<String, Value>,
    shared_comments: bool,
    shared_tickets: bool,
    tags: &'a [String],
    updated_at: String,
    url: String,
}

impl<'a> OrganizationJson<'a> {
    fn new(o: &'a Organization, base: &str) -> Self {
        let domain: String = o
            .name
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase();
        Self {
            created_at: format_instant(o.created_at),
            deleted_at: None,
            details: "",
            domain_names: vec![format!("{domain}.example.com")],
            external_id: None,
            group_id: None,
            id: o.id,
            name: &o.name,
            notes: "",
            organization_fields: &o.fields,
            shared_comments: false,
            shared_tickets: false,
            tags: &o.tags,
            updated_at: format_instant(o.updated_at),
            url: format!("{base}/api/v2/organizations/{}.json", o.id),
        }
    }
}

#[derive(Serialize)]
struct UserJson<'a> {
    active: bool,
    alias: &'static str,
    created_at: String,
    custom_role_id: Option<()>,
    default_group_id: Option<Id>,
    details: &'static str,
    email: String,
    external_id: Option<()>,
    iana_time_zone: &'static str,
    id: Id,
    locale: &'static str,
    locale_id: u32,
    moderator: bool,
    name: &'a str,
    notes: &'static str,
    only_private_comments: bool,
    organization_id: Option<Id>,
    phone: Option<()>,
    photo: Option<()>,
    restricted_agent: bool,
    role: &'static str,
    role_type: Option<u8>,
    shared: bool,
    shared_agent: bool,
    suspended: bool,
    tags: &'static [String],
    ticket_restriction: Option<&'static str>,
    time_zone: &'static str,
    updated_at: String,
    user_fields: Empty,
    verified: bool,
    url: String,
}

impl<'a> UserJson<'a> {
    fn new(u: &'a User, base: &str) -> Self {
        let agent = u.role.is_agent();
        Self {
            active: true,
            alias: "",
            created_at: format_instant(u.created_at),
            custom_role_id: None,
            default_group_id: agent.then_some(super::generator::GROUP_BASE),
            details: "",
            email: format!("user{}@example.com", u.id),
            external_id: None,
            iana_time_zone: "America/Los_Angeles",
            id: u.id,
            locale: "en-US",
            locale_id: 1,
            moderator: agent,
            name: &u.name,
            notes: "",
            only_private_comments: false,
            organization_id: u.organization_id,
            phone: None,
            photo: None,
            restricted_agent: !agent,
            role: u.role.as_str(),
            role_type: match u.role {
                Role::EndUser => None,
                Role::Agent => Some(0),
                Role::Admin => Some(4),
            },
            shared: false,
            shared_agent: false,
            suspended: false,
            tags: &[],
            ticket_restriction: (!agent).then_some("requested"),
            time_zone: "Pacific Time (US & Canada)",
            updated_at: format_instant(u.updated_at),
            user_fields: Empty {},
            verified: true,
            url: format!("{base}/api/v2/users/{}.json", u.id),
        }
    }
}

/// `GET /api/v2/custom_statuses`.
pub fn custom_statuses_json(d: &Dataset, base: &str) -> Value {
    let list: Vec<Value> = d
        .custom_statuses
        .iter()
        .map(|c| {
            json!({
                "url": format!("{base}/api/v2/custom_statuses/{}.json", c.id),
                "id": c.id,
                "status_category": c.category,
                "agent_label": c.agent_label,
                "raw_agent_label": c.agent_label,
                "end_user_label": c.end_user_label,
                "raw_end_user_label": c.end_user_label,
                "description": c.description,
                "raw_description": c.description,
                "end_user_description": c.description,
                "raw_end_user_description": c.description,
                "active": c.active,
                "default": c.default,
                "created_at": format_instant(c.created_at),
                "updated_at": format_instant(c.updated_at),
            })
        })
        .collect();
    json!({ "custom_statuses": list })
}

fn to_value(v: impl Serialize) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

pub fn ticket_json(t: &Ticket, base: &str) -> Value {
    to_value(TicketJson::new(t, base))
}

pub fn audit_json(a: &Audit, comments: bool) -> Value {
    to_value(AuditJson::new(a, comments))
}

pub fn organization_json(o: &Organization, base: &str) -> Value {
    to_value(OrganizationJson::new(o, base))
}

pub fn user_json(u: &User, base: &str) -> Value {
    to_value(UserJson::new(u, base))
}

#[cfg(test)]
mod serialization_tests {
    //! The pages are serialized straight from the dataset; these check the
    //! documented shapes and that pages serialized up front and on request
    //! are the same bytes.
    use super::*;
    use crate::simulator::generator::{generate, GeneratorOptions};

    /// "Incremental Ticket Export" / "Show Ticket": a ticket's keys.
    const TICKET_KEYS: [&str; 39] = [
        "url",
        "id",
        "external_id",
        "via",
        "created_at",
        "updated_at",
        "generated_timestamp",
        "type",
        "subject",
        "raw_subject",
        "description",
        "priority",
        "status",
        "recipient",
        "requester_id",
        "submitter_id",
        "assignee_id",
        "organization_id",
        "group_id",
        "collaborator_ids",
        "follower_ids",
        "email_cc_ids",
        "forum_topic_id",
        "problem_id",
        "has_incidents",
        "is_public",
        "due_at",
        "tags",
        "custom_fields",
        "satisfaction_rating",
        "sharing_agreement_ids",
        "custom_status_id",
        "fields",
        "followup_ids",
        "ticket_form_id",
        "brand_id",
        "allow_channelback",
        "allow_attachments",
        "from_messaging_channel",
    ];

    fn keys(v: &Value) -> BTreeSet<String> {
        v.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    }

    use std::collections::BTreeSet;

    #[test]
    fn records_have_the_documented_keys() {
        let config = crate::config_files::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml"),
        )
        .unwrap();
        let d = generate(
            &config,
            &GeneratorOptions {
                custom_status_rate: 0.3,
                merge_rate: 0.05,
                ..GeneratorOptions::default()
            },
        );
        let base = "http://127.0.0.1:1";
        let expected: BTreeSet<String> = TICKET_KEYS.iter().map(|k| k.to_string()).collect();
        for t in &d.tickets {
            let v = ticket_json(t, base);
            assert_eq!(keys(&v), expected, "ticket {}", t.id);
            let direct: Value =
                serde_json::from_str(&serde_json::to_string(&TicketJson::new(t, base)).unwrap())
                    .unwrap();
            assert_eq!(direct, v);
            assert!(v["via"]["channel"].is_string());
            assert!(v["custom_status_id"].is_u64());
            for a in &t.audits {
                let j = audit_json(a, true);
                for k in [
                    "id",
                    "ticket_id",
                    "timestamp",
                    "created_at",
                    "updater_id",
                    "via",
                    "system",
                    "metadata",
                    "event_type",
                    "merged_ticket_ids",
                    "child_events",
                ] {
                    assert!(j.get(k).is_some(), "{k} in {j}");
                }
                assert!(j["via"].is_string());
                for c in j["child_events"].as_array().unwrap() {
                    assert!(
                        c.get("field_name").is_none() && c.get("value").is_none(),
                        "{c}"
                    );
                    match c["event_type"].as_str().unwrap() {
                        "Create" | "Change" => {
                            assert!(c["via"].is_string());
                            let own: Vec<String> = keys(c)
                                .into_iter()
                                .filter(|k| {
                                    ![
                                        "id",
                                        "via",
                                        "via_reference_id",
                                        "event_type",
                                        "previous_value",
                                        "added_tags",
                                        "removed_tags",
                                    ]
                                    .contains(&k.as_str())
                                })
                                .collect();
                            assert_eq!(own.len(), 1, "{c}");
                            assert_eq!(
                                c.get("previous_value").is_some(),
                                c["event_type"] == "Change"
                            );
                        }
                        "Comment" => {
                            for k in [
                                "via",
                                "via_reference_id",
                                "type",
                                "author_id",
                                "body",
                                "html_body",
                                "plain_body",
                                "public",
                                "attachments",
                                "audit_id",
                                "created_at",
                            ] {
                                assert!(c.get(k).is_some(), "{k} in {c}");
                            }
                            assert_eq!(c["audit_id"], j["id"]);
                            assert!(c["via"]["channel"].is_string());
                        }
                        "Notification" | "Cc" | "SatisfactionRating" => {}
                        other => panic!("{other}"),
                    }
                }
                let plain = audit_json(a, false);
                assert!(plain["child_events"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|c| c["event_type"] != "Comment"));
            }
        }
        for o in &d.organizations {
            let v = organization_json(o, base);
            for k in [
                "url",
                "id",
                "name",
                "shared_tickets",
                "shared_comments",
                "external_id",
                "created_at",
                "updated_at",
                "domain_names",
                "details",
                "notes",
                "group_id",
                "tags",
                "organization_fields",
                "deleted_at",
            ] {
                assert!(v.get(k).is_some(), "{k}");
            }
        }
        for u in &d.users {
            let v = user_json(u, base);
            for k in [
                "url",
                "id",
                "name",
                "email",
                "role",
                "role_type",
                "active",
                "suspended",
            ] {
                assert!(v.get(k).is_some(), "{k}");
            }
        }
        // Whole pages: the envelope.
        let index = PageIndex::new(&d, false);
        let q: BTreeMap<String, String> = [
            ("start_time".to_string(), "0".to_string()),
            ("per_page".to_string(), "50".to_string()),
            ("include".to_string(), "comment_events".to_string()),
        ]
        .into_iter()
        .collect();
        let (bytes, _) = incremental_page(
            endpoint::TICKET_EVENTS,
            &d,
            &index,
            base,
            &q,
            false,
            i64::MAX,
        )
        .map_err(|_| "a page")
        .unwrap();
        let page: Value = serde_json::from_slice(&bytes).unwrap();
        let n = page["count"].as_u64().unwrap() as usize;
        assert!(n >= 50);
        let first: Vec<&Audit> = d.audits_in_order().into_iter().take(n).collect();
        let expected: Vec<Value> = first.iter().map(|a| audit_json(a, true)).collect();
        assert_eq!(page["ticket_events"], json!(expected));
        let (bytes, _) = incremental_page(endpoint::TICKETS, &d, &index, base, &q, false, i64::MAX)
            .map_err(|_| "a page")
            .unwrap();
        let page: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(page["tickets"].as_array().map(Vec::len), Some(50));
    }

    /// Pages served from the JSON serialized up front are byte for byte
    /// the pages serialized on request: every endpoint, walked page by page
    /// from the start with its own cursors, with and without comments and
    /// injected duplicates, for a plain base URL and one that needs
    /// escaping.
    #[test]
    fn serialized_up_front_serves_the_same_bytes() {
        let config = crate::config_files::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml"),
        )
        .unwrap();
        let d = generate(&config, &GeneratorOptions::default());
        let (eager, lazy) = (PageIndex::new(&d, true), PageIndex::new(&d, false));
        let page = |index: &PageIndex, ep: &str, base: &str, q: &BTreeMap<String, String>, dup| {
            incremental_page(ep, &d, index, base, q, dup, i64::MAX)
                .map_err(|_| "a page")
                .unwrap()
        };
        let mut pages = 0;
        for base in ["http://127.0.0.1:8089", "http://h\"q\\x\u{1}\u{e9}"] {
            for ep in [
                endpoint::TICKETS,
                endpoint::USERS,
                endpoint::ORGANIZATIONS,
                endpoint::TICKET_EVENTS,
            ] {
                for (include, per_page, dup) in [
                    (true, "97", false),
                    (true, "250", true),
                    (false, "300", false),
                    (false, "1000", true),
                ] {
                    let mut q: BTreeMap<String, String> = [
                        ("start_time".to_string(), "0".to_string()),
                        ("per_page".to_string(), per_page.to_string()),
                    ]
                    .into_iter()
                    .collect();
                    if include {
                        q.insert("include".into(), "comment_events".into());
                    }
                    loop {
                        let (a, dup_a) = page(&eager, ep, base, &q, dup);
                        let (b, dup_b) = page(&lazy, ep, base, &q, dup);
                        assert_eq!(dup_a, dup_b);
                        assert!(a == b, "{ep} {q:?}");
                        pages += 1;
                        let v: Value = serde_json::from_slice(&a).unwrap();
                        if v["end_of_stream"] == json!(true) {
                            break;
                        }
                        match (&v["after_cursor"], &v["end_time"]) {
                            (Value::String(c), _) => {
                                q.remove("start_time");
                                q.insert("cursor".into(), c.clone());
                            }
                            (_, t) => {
                                // A second with more than a page of
                                // items ends where it began: step past it.
                                let t = t.as_i64().unwrap();
                                let start: i64 = q["start_time"].parse().unwrap();
                                let next = if t == start { t + 1 } else { t };
                                q.insert("start_time".into(), next.to_string());
                            }
                        }
                    }
                }
            }
        }
        assert!(pages > 100, "{pages}");
        // Each item, against serializing it with the base.
        let base = "http://h\"q\\x";
        let j = eager.json.as_deref().unwrap();
        let escaped = json_string_contents(base);
        for (i, &at) in eager.tickets.at.iter().enumerate() {
            let mut out = Vec::new();
            assert!(j.tickets.write(i, &escaped, &mut out));
            let expected = serde_json::to_string(&TicketJson::new(&d.tickets[at], base)).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), expected);
        }
        assert!(!j
            .tickets
            .write(eager.tickets.at.len(), &escaped, &mut Vec::new()));
    }
}
