//! A Jira Service Management (Cloud) emulator: a [`Site`] (issues with
//! their history, comments and SLA records, statuses, organizations)
//! served in Atlassian's documented wire format, with rate limits and
//! injectable faults. Written from Atlassian's references
//! (`docs/jira-service-management.md` lists each source), never from the
//! adapter; `tests/testdata/jsm/` holds hand-written pages that both are
//! tested against.
//!
//! * `GET /rest/api/3/search/jql?jql=&fields=&expand=&maxResults=&nextPageToken=`:
//!   `{"issues": [...], "nextPageToken": …}`, the token **absent** on the
//!   last page. Without `fields`, each issue is `{"id"}` only; `fields` is
//!   a comma list (`*all` for every field). `expand=changelog` embeds the
//!   newest histories, newest first, at most
//!   [`ServerOptions::embedded_changelog_cap`], with `total`. The JQL this
//!   emulator understands is `project = KEY AND updated >= "yyyy/MM/dd
//!   HH:mm" ORDER BY updated ASC` (quotes optional around the key, `-` or
//!   `/` in the date), the date read in [`ServerOptions::user_timezone`];
//!   anything else is `400` with `errorMessages`. A token (opaque to
//!   clients) names the last issue delivered, so a page starts after it
//!   even when issues changed meanwhile; a token from another query is
//!   `400`.
//! * `GET /rest/api/3/issue/{key}/changelog?startAt=&maxResults=`: oldest
//!   first, `{self, nextPage?, maxResults, startAt, total, isLast, values}`.
//! * `GET /rest/api/3/issue/{key}/comment?startAt=&maxResults=&orderBy=`:
//!   `{startAt, maxResults, total, comments}` (each with `jsdPublic` and
//!   the author's `accountType`).
//! * `GET /rest/servicedeskapi/request/{key}/comment?start=&limit=`: the
//!   same comments in the service desk's shape (`public`, a Date object
//!   `created`, an author without `accountType`).
//! * `GET /rest/servicedeskapi/request/{key}/sla?start=&limit=`: the
//!   request's SLA records.
//! * `GET /rest/api/3/user/assignable/search?project=&startAt=&maxResults=`:
//!   a bare array of the users of [`Site::users`] in the range `startAt`
//!   .. `startAt + maxResults` (50 by default, at most 1,000; never past
//!   the site's 1,000th user) who are in [`Site::assignable`]: fewer than
//!   `maxResults`, or none, on a page that is not the last. Without
//!   `project` (or `issueKey`) it is `400`; with
//!   [`Site::users_forbidden`], `403`.
//! * `GET /rest/api/3/status`: a bare array; `GET
//!   /rest/servicedeskapi/organization?start=&limit=`: a service desk page
//!   (`size`, `start`, `limit`, `isLastPage`, `_links`, `values`).
//!
//! Every request needs Basic `email:api_token`, else `401`. Past
//! [`ServerOptions::requests_per_minute`] the answer is `429` with
//! `Retry-After` (seconds), `X-RateLimit-Reset` (`yyyy-MM-ddTHH:mmZ`) and
//! `RateLimit-Reason: jira-burst-based`.

mod routes;
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

/// The email and API token the emulator accepts unless told otherwise.
pub const DEMO_EMAIL: &str = "helpdesk-slo@example.com";
pub const DEMO_TOKEN: &str = "helpdesk-slo-jsm-demo-token";

/// The data of one site, as Jira writes it.
#[derive(Debug, Clone, Default)]
pub struct Site {
    /// Issues with every field: `{id, self, key, fields}` (no `changelog`).
    pub issues: Vec<Value>,
    /// Issue key → its histories, oldest first.
    pub changelogs: BTreeMap<String, Vec<Value>>,
    /// Issue key → its comments (platform shape), oldest first.
    pub comments: BTreeMap<String, Vec<Value>>,
    /// Issue key → its SLA records (`{id, name, completedCycles,
    /// ongoingCycle?, _links}`).
    pub slas: BTreeMap<String, Vec<Value>>,
    /// `GET /rest/api/3/status`.
    pub statuses: Vec<Value>,
    /// `GET /rest/servicedeskapi/organization` values.
    pub organizations: Vec<Value>,
    /// A moved issue's former key → its key now: Jira keeps answering
    /// requests for the former key with the issue.
    pub moved: BTreeMap<String, String>,
    /// Every account of the site (platform `User` objects), in the order
    /// the user search pages them.
    pub users: Vec<Value>,
    /// The account ids of `users` who may be assigned the project's
    /// issues: the desk's agents.
    pub assignable: std::collections::BTreeSet<String>,
    /// The API user may not search users: the assignable users' search
    /// answers `403`.
    pub users_forbidden: bool,
}

/// Injected faults; all off by default. Decisions depend only on `seed`
/// and the request's sequence number.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    pub seed: u64,
    /// Every Nth authenticated request gets `429`.
    pub rate_limit_every: Option<u64>,
    /// `Retry-After` seconds of injected 429s and 503s (0 counts as 1).
    pub retry_after: u64,
    /// Share of requests answered 503.
    pub server_error_rate: f64,
}

/// How the server behaves.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub email: String,
    pub token: String,
    /// The API user's zone: JQL dates are read in it.
    pub user_timezone: chrono_tz::Tz,
    /// Requests a minute before `429`s.
    pub requests_per_minute: u64,
    /// Histories `expand=changelog` embeds at most.
    pub embedded_changelog_cap: usize,
    /// The most issues a search page holds, whatever `maxResults` asks.
    pub search_page: usize,
    /// The most histories a changelog page holds.
    pub changelog_page: usize,
    /// The most organizations a page holds.
    pub organization_page: usize,
    /// The most SLA records a page of the request SLA endpoint holds.
    pub sla_page: usize,
    pub faults: Faults,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            email: DEMO_EMAIL.to_string(),
            token: DEMO_TOKEN.to_string(),
            user_timezone: chrono_tz::UTC,
            requests_per_minute: 1_000_000,
            embedded_changelog_cap: 100,
            search_page: 100,
            changelog_page: 100,
            organization_page: 50,
            sla_page: 50,
            faults: Faults::default(),
        }
    }
}

/// What the emulator was asked, for tests and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Answers by endpoint name (`search`, `changelog`, `comments`,
    /// `request_comments`, `sla`, `statuses`, `organizations`,
    /// `assignable_users`, `other`).
    pub by_endpoint: BTreeMap<&'static str, u64>,
    /// Answers by HTTP status.
    pub by_status: BTreeMap<u16, u64>,
}

pub(crate) struct Inner {
    pub(crate) site: Mutex<Site>,
    pub(crate) options: ServerOptions,
    pub(crate) counts: Mutex<Counts>,
    /// (minute, requests in it, request sequence number).
    pub(crate) window: Mutex<(i64, u64, u64)>,
    /// The site's issues by key and by `updated`, until the site changes.
    pub(crate) index: Mutex<Option<Arc<Index>>>,
}

/// Lookups of the site's issues, built once per change of the site.
#[derive(Debug, Default)]
pub(crate) struct Index {
    /// Issue key and id → the issue's key.
    pub(crate) keys: std::collections::HashMap<String, String>,
    /// (`updated` in Unix ms, numeric id, position in `issues`), ascending.
    pub(crate) by_updated: Vec<(i64, u64, usize)>,
}

/// The emulator's shared state.
#[derive(Clone)]
pub struct JsmState(pub(crate) Arc<Inner>);

impl JsmState {
    pub fn new(site: Site, options: ServerOptions) -> Self {
        JsmState(Arc::new(Inner {
            site: Mutex::new(site),
            options,
            counts: Mutex::default(),
            window: Mutex::new((0, 0, 0)),
            index: Mutex::default(),
        }))
    }

    /// The index of `site` (the site under the caller's lock).
    pub(crate) fn index(&self, site: &Site) -> Arc<Index> {
        if let Some(i) = self.0.index.lock().ok().and_then(|i| i.clone()) {
            return i;
        }
        let mut index = Index::default();
        for (n, issue) in site.issues.iter().enumerate() {
            let Some(key) = issue["key"].as_str() else {
                continue;
            };
            index.keys.insert(key.to_string(), key.to_string());
            if let Some(id) = issue["id"].as_str() {
                index.keys.insert(id.to_string(), key.to_string());
            }
            if let Some(updated) = issue["fields"]["updated"].as_str().and_then(routes::millis) {
                let id = issue["id"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                index.by_updated.push((updated, id, n));
            }
        }
        for (old, new) in &site.moved {
            index.keys.entry(old.clone()).or_insert_with(|| new.clone());
        }
        index.by_updated.sort_unstable();
        let index = Arc::new(index);
        if let Ok(mut i) = self.0.index.lock() {
            *i = Some(index.clone());
        }
        index
    }

    pub fn counts(&self) -> Counts {
        self.0.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Changes the site (a test updating an issue between polls).
    pub fn with_site<R>(&self, f: impl FnOnce(&mut Site) -> R) -> Option<R> {
        let out = self.0.site.lock().ok().map(|mut s| f(&mut s));
        if let Ok(mut i) = self.0.index.lock() {
            *i = None;
        }
        out
    }
}

/// A running emulator.
pub struct Server {
    addr: SocketAddr,
    state: JsmState,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Server {
    /// `http://ADDR` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn state(&self) -> &JsmState {
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

/// Binds a free port on 127.0.0.1 and serves `state`.
pub async fn start(state: JsmState) -> std::io::Result<Server> {
    serve(TcpListener::bind(("127.0.0.1", 0)).await?, state).await
}

/// Serves `state` on `listener`.
pub async fn serve(listener: TcpListener, state: JsmState) -> std::io::Result<Server> {
    let addr = listener.local_addr()?;
    let (tx, mut rx) = oneshot::channel::<()>();
    let served = state.clone();
    let task = tokio::spawn(async move {
        let mut conns = JoinSet::new();
        loop {
            let accepted = tokio::select! {
                _ = &mut rx => break,
                a = listener.accept() => a,
            };
            match accepted {
                Ok((stream, _)) => {
                    let st = served.clone();
                    conns.spawn(async move {
                        let svc = service_fn(move |req| {
                            let st = st.clone();
                            async move { Ok::<_, Infallible>(routes::api(&st, req)) }
                        });
                        if let Err(e) = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), svc)
                            .await
                        {
                            tracing::debug!("jsm simulator connection: {e}");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!("jsm simulator accept: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
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
