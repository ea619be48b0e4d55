//! A Freshdesk HTTP API emulator: an [`Account`] (tickets with their
//! stats, conversations, the daily ticket activities export, agents,
//! companies, ticket fields) served in Freshdesk's documented wire format,
//! with its rate limits and injectable faults. Written from Freshdesk's
//! documentation (`docs/freshdesk.md` lists each source), never from the
//! adapter; `tests/testdata/freshdesk/` holds hand-written pages that both
//! are tested against.
//!
//! * `GET /api/v2/tickets?updated_since=&order_by=&order_type=&per_page=&page=&include=stats`:
//!   a bare JSON array. Without `updated_since` only tickets updated in the
//!   last 30 days; `order_by` `created_at` (default) or `updated_at`,
//!   `order_type` `desc` (default) or `asc` (ties by id); `per_page` up to
//!   100 (default 30; more is `400`); at most 300 pages (`page` beyond is
//!   `400`). `stats` only with `include=stats`, which costs one more
//!   credit. Outbound-email tickets are listed like any other.
//! * `GET /api/v2/tickets/{id}/conversations?per_page=&page=`: a bare array,
//!   oldest first; `404` for an unknown ticket.
//! * `GET /api/v2/ticket_fields`, `/api/v2/agents`, `/api/v2/companies`,
//!   `/api/v2/sla_policies`, `/api/v2/business_hours` (all but the first
//!   paged like tickets).
//! * `GET /api/v2/export/ticket_activities?created_at=YYYY-MM-DD`:
//!   `{"export": {"url": …}}` pointing at the **files address** (a second
//!   listener), for a day that has ended; `404` for today, the future, or a
//!   day older than the retention (30 days, as Freshdesk keeps them, unless
//!   [`ServerOptions::export_retention_days`] says otherwise). The file is
//!   `{"metadata": {...}, "activities_data": [...]}` with `performed_at`
//!   written day first; the files address refuses requests that carry an
//!   `Authorization` header (`400`, as a presigned storage URL does).
//!
//! Each ticket's `fr_due_by`, `due_by`, `nr_due_by` and escalation flags
//! are the account's own SLA record, worked out from the policies and
//! business hours it serves ([`sla`]; the synthetic account does so when
//! it is made).
//!
//! Paging is by the `Link` header's `rel="next"`, absent on the last page,
//! written `<URL>; rel="next"` or, every other page when
//! [`ServerOptions::alternate_link_spelling`] is set, `< URL>;rel="next"`.
//! Every request needs HTTP Basic with the API key as user (any password;
//! Freshdesk's examples use `X`), else `401`. Every answer carries
//! `X-RateLimit-Total`, `X-RateLimit-Remaining` and
//! `X-RateLimit-Used-CurrentRequest`; when the minute's credits are spent
//! the answer is `429` with `Retry-After` (seconds to the next minute).

mod routes;
pub mod sla;
pub mod synthetic;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

/// The API key the emulator accepts unless told otherwise.
pub const DEMO_API_KEY: &str = "helpdesk-slo-freshdesk-demo-key";
/// Freshdesk's page size limit.
pub const MAX_PER_PAGE: usize = 100;
/// Freshdesk's page size when `per_page` is not given.
pub const DEFAULT_PER_PAGE: usize = 30;
/// The most pages Freshdesk serves of one listing.
pub const MAX_PAGES: usize = 300;
/// How long export files are kept, in days.
pub const EXPORT_RETENTION_DAYS: i64 = 30;

/// The data of one Freshdesk account, as Freshdesk writes it.
#[derive(Debug, Clone, Default)]
pub struct Account {
    /// Tickets with their `stats` object (removed unless asked for).
    pub tickets: Vec<Value>,
    /// Ticket id → its conversations, oldest first.
    pub conversations: BTreeMap<u64, Vec<Value>>,
    /// Day (`YYYY-MM-DD`, UTC) → that day's activity records.
    pub activities: BTreeMap<String, Vec<Value>>,
    pub agents: Vec<Value>,
    pub companies: Vec<Value>,
    pub ticket_fields: Vec<Value>,
    /// `GET /api/v2/sla_policies` and `GET /api/v2/business_hours`.
    pub sla_policies: Vec<Value>,
    pub business_hours: Vec<Value>,
    /// Days (`YYYY-MM-DD`) the export has no file for although they are
    /// within its retention (a file not written yet, or lost): asked for,
    /// they answer 404 `file_not_found` until taken out of this set.
    pub export_missing_days: std::collections::BTreeSet<String>,
    /// The statuses whose SLA timer is off (Freshdesk's default: Pending,
    /// 3): the tickets' due times ([`sla`]) move on while in them.
    pub sla_timer_off: std::collections::BTreeSet<u64>,
}

/// Injected faults; all off by default. Decisions depend only on `seed`
/// and the request's sequence number.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    pub seed: u64,
    /// Every Nth authenticated request gets `429` with `Retry-After`.
    pub rate_limit_every: Option<u64>,
    /// `Retry-After` seconds of injected 429s and 503s (0 counts as 1).
    pub retry_after: u64,
    /// Share of requests answered 500 or 503.
    pub server_error_rate: f64,
    /// Share of 200 answers whose body is cut in half.
    pub malformed_rate: f64,
}

/// How the server behaves.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub api_key: String,
    /// Credits a minute (`X-RateLimit-Total`); spent, requests get 429.
    pub credits_per_minute: u64,
    pub faults: Faults,
    /// Write every other `Link` header as `< URL>;rel="next"`.
    pub alternate_link_spelling: bool,
    /// "Now" (Unix seconds) for the 30-day default and the export's days;
    /// `None`: the wall clock.
    pub now: Option<i64>,
    /// How many days back the export serves files: Freshdesk's
    /// [`EXPORT_RETENTION_DAYS`] by default; the demo keeps its whole
    /// synthetic history.
    pub export_retention_days: i64,
    /// Whether the account has the ticket activities export; without it
    /// (every account that did not have it enabled when Freshdesk retired
    /// it in October 2023) every export request answers 404.
    pub export_enabled: bool,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            api_key: DEMO_API_KEY.to_string(),
            credits_per_minute: 1_000_000,
            faults: Faults::default(),
            alternate_link_spelling: true,
            now: None,
            export_retention_days: EXPORT_RETENTION_DAYS,
            export_enabled: true,
        }
    }
}

/// What the emulator was asked, for tests and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Answers by endpoint name (`tickets`, `conversations`, `export`,
    /// `export_file`, `ticket_fields`, `agents`, `companies`, `other`).
    pub by_endpoint: BTreeMap<&'static str, u64>,
    /// Answers by HTTP status.
    pub by_status: BTreeMap<u16, u64>,
    /// Requests to the files address that carried credentials.
    pub credentials_sent_to_files: u64,
}

pub(crate) struct Inner {
    pub(crate) account: Mutex<Account>,
    pub(crate) options: ServerOptions,
    pub(crate) counts: Mutex<Counts>,
    /// (minute, credits used in it), and the request sequence number.
    pub(crate) window: Mutex<(i64, u64, u64)>,
    /// The files address, once both listeners are bound.
    pub(crate) files_base: Mutex<String>,
    /// Ticket indexes sorted by a key and id, until the account changes.
    pub(crate) orders: Mutex<BTreeMap<&'static str, Arc<Vec<usize>>>>,
    /// The account's ticket ids, until it changes.
    pub(crate) ids: Mutex<Option<Arc<std::collections::HashSet<u64>>>>,
}

/// The emulator's shared state.
#[derive(Clone)]
pub struct FdState(pub(crate) Arc<Inner>);

impl FdState {
    pub fn new(account: Account, options: ServerOptions) -> Self {
        FdState(Arc::new(Inner {
            account: Mutex::new(account),
            options,
            counts: Mutex::default(),
            window: Mutex::new((0, 0, 0)),
            files_base: Mutex::new(String::new()),
            orders: Mutex::default(),
            ids: Mutex::default(),
        }))
    }

    /// What was asked so far.
    pub fn counts(&self) -> Counts {
        self.0.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Changes the account (a test adding a ticket between polls).
    pub fn with_account<R>(&self, f: impl FnOnce(&mut Account) -> R) -> Option<R> {
        if let Ok(mut o) = self.0.orders.lock() {
            o.clear();
        }
        if let Ok(mut i) = self.0.ids.lock() {
            *i = None;
        }
        self.0.account.lock().ok().map(|mut a| f(&mut a))
    }

    /// Whether the account has ticket `id`.
    pub(crate) fn has_ticket(&self, account: &Account, id: u64) -> bool {
        let cached = self.0.ids.lock().ok().and_then(|i| i.clone());
        let ids = cached.unwrap_or_else(|| {
            let ids: Arc<std::collections::HashSet<u64>> = Arc::new(
                account
                    .tickets
                    .iter()
                    .filter_map(|t| t["id"].as_u64())
                    .collect(),
            );
            if let Ok(mut i) = self.0.ids.lock() {
                *i = Some(ids.clone());
            }
            ids
        });
        ids.contains(&id)
    }

    /// The account's tickets (indexes) in ascending `key` order, ties by id.
    pub(crate) fn order(&self, account: &Account, key: &'static str) -> Arc<Vec<usize>> {
        if let Some(o) = self.0.orders.lock().ok().and_then(|o| o.get(key).cloned()) {
            return o;
        }
        let sort_key = |t: &Value| match &t[key] {
            Value::String(s) => s.clone(),
            v => format!("{:020}", v.as_u64().unwrap_or(0)),
        };
        let mut keyed: Vec<(String, u64, usize)> = account
            .tickets
            .iter()
            .enumerate()
            .map(|(i, t)| (sort_key(t), t["id"].as_u64().unwrap_or(0), i))
            .collect();
        keyed.sort_unstable();
        let order = Arc::new(keyed.into_iter().map(|k| k.2).collect::<Vec<_>>());
        if let Ok(mut o) = self.0.orders.lock() {
            o.insert(key, order.clone());
        }
        order
    }

    pub(crate) fn now(&self) -> i64 {
        self.0.options.now.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64)
        })
    }
}

/// A running emulator: the API address and the files address.
pub struct Server {
    api: SocketAddr,
    files: SocketAddr,
    state: FdState,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Server {
    /// `http://ADDR` of the API (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.api)
    }

    /// `http://ADDR` of the export files.
    pub fn files_url(&self) -> String {
        format!("http://{}", self.files)
    }

    pub fn state(&self) -> &FdState {
        &self.state
    }

    /// Stops accepting, closes open connections and waits for the server.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// Binds two free ports on 127.0.0.1 (the API and the files address) and
/// serves `state`.
pub async fn start(state: FdState) -> std::io::Result<Server> {
    let api = TcpListener::bind(("127.0.0.1", 0)).await?;
    serve(api, state).await
}

/// Serves the API on `api` and the export files on a free port beside it.
pub async fn serve(api: TcpListener, state: FdState) -> std::io::Result<Server> {
    let files = TcpListener::bind((api.local_addr()?.ip(), 0)).await?;
    let (api_addr, files_addr) = (api.local_addr()?, files.local_addr()?);
    if let Ok(mut b) = state.0.files_base.lock() {
        *b = format!("http://{files_addr}");
    }
    let (tx, mut rx) = oneshot::channel::<()>();
    let served = state.clone();
    let task = tokio::spawn(async move {
        let mut conns = JoinSet::new();
        loop {
            let (stream, is_files) = tokio::select! {
                _ = &mut rx => break,
                a = api.accept() => (a, false),
                f = files.accept() => (f, true),
            };
            match stream {
                Ok((stream, _)) => {
                    let st = served.clone();
                    conns.spawn(async move {
                        let svc = service_fn(move |req| {
                            let st = st.clone();
                            async move {
                                Ok::<_, Infallible>(if is_files {
                                    routes::files(&st, req)
                                } else {
                                    routes::api(&st, req)
                                })
                            }
                        });
                        if let Err(e) = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), svc)
                            .await
                        {
                            tracing::debug!("freshdesk simulator connection: {e}");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!("freshdesk simulator accept: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            while conns.try_join_next().is_some() {}
        }
        conns.abort_all();
        while conns.join_next().await.is_some() {}
    });
    Ok(Server {
        api: api_addr,
        files: files_addr,
        state,
        stop: Some(tx),
        task,
    })
}

#[cfg(test)]
mod tests;
