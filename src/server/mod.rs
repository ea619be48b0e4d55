//! The daemon's HTTP server (hyper): metrics, health, reload, the effective
//! config and the JSON API.
//!
//! Endpoints (`HEAD` answers like `GET`, without the body):
//! * `GET /metrics`: the last rendered exposition; OpenMetrics when the
//!   `Accept` header asks for `application/openmetrics-text`, Prometheus
//!   text 0.0.4 otherwise. A scrape copies bytes; nothing is computed.
//! * `GET /-/healthy`: 200 while the process serves.
//! * `GET /-/ready`: 200 once the store is loaded and the first figures are
//!   rendered and while every source's poll loop runs; 503 with the reason
//!   otherwise.
//! * `POST /-/reload` (or `PUT`): reloads the config file like SIGHUP; 200
//!   with what changed, or 400 with why the new config was rejected (the old
//!   one keeps running). A lifecycle endpoint: only with
//!   `--web.enable-lifecycle` ([`ServeOptions::enable_lifecycle`]), 403
//!   otherwise, as Prometheus does.
//! * `GET /config`: the config file in force (tokens are never in it; they
//!   come from the environment or files it names).
//! * `GET /api/v1/clocks?state=at_risk|breached|active|paused&plan=&severity=&metric=&within=4h`:
//!   open clocks as JSON, soonest due first, each with a link to the ticket.
//! * `GET /api/v1/reports`, `/api/v1/reports/latest`,
//!   `/api/v1/reports/NAME.md`: the written monthly reports, and
//!   `/api/v1/reports/NAME.csv`: the CSV files beside them (regular files
//!   of the folder only: symbolic links in it are not followed).
//! * `GET /`: a page linking all of these.
//!
//! Limits ([`Limits`]), so that no client can starve the others: a request's
//! headers must arrive within the header-read timeout (idle keep-alive
//! connections are closed after it too), a TLS handshake within its own
//! timeout; at most `max_connections` connections are served at once (the
//! next wait in the kernel's queue until one closes); request bodies above
//! `max_body_bytes` are refused with 413 before they are read. Blocking work
//! (bcrypt, reading reports) runs off the async executor.
//!
//! With `--web.config.file` (see [`WebConfig`]) every endpoint is served
//! over TLS and/or requires basic auth, as Prometheus' own endpoints are.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ACCEPT, ALLOW, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

mod external_url;
mod web_config;

pub use external_url::ExternalUrl;
pub use web_config::WebConfig;

use crate::calendar::BusinessDuration;
use crate::engine::ClockState;
use crate::exposition::live::SeriesKey;
use crate::state::DaemonState;

type Resp = Response<Full<Bytes>>;

const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
const OPENMETRICS_TEXT: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What the server holds its clients to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How long a client has to send a request's headers; an idle
    /// keep-alive connection is closed after this long too.
    pub header_read_timeout: Duration,
    /// How long a client has to complete a TLS handshake.
    pub tls_handshake_timeout: Duration,
    /// Connections served at once; the next wait until one closes.
    pub max_connections: usize,
    /// The largest request body read (only `/-/reload` takes one, and
    /// ignores it).
    pub max_body_bytes: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            tls_handshake_timeout: Duration::from_secs(10),
            // Prometheus' --web.max-connections default.
            max_connections: 512,
            max_body_bytes: 64 * 1024,
        }
    }
}

/// How the server runs: TLS and users, what it allows, where users reach
/// it, and its limits.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// TLS and basic auth (`--web.config.file`).
    pub web: Option<WebConfig>,
    /// Allow the lifecycle endpoints (`POST /-/reload`), as Prometheus'
    /// `--web.enable-lifecycle`; without it they answer 403.
    pub enable_lifecycle: bool,
    /// Where users reach the server (`--web.external-url`): links in its
    /// answers start with it instead of a bare path.
    pub external_url: Option<ExternalUrl>,
    pub limits: Limits,
}

/// Serves `state` on `listener` until `shutdown` turns true, with TLS and
/// basic auth when `web` says so, and the default [`ServeOptions`]
/// otherwise.
pub async fn serve(
    listener: TcpListener,
    state: Arc<DaemonState>,
    web: Option<WebConfig>,
    shutdown: watch::Receiver<bool>,
) {
    let options = ServeOptions {
        web,
        ..ServeOptions::default()
    };
    serve_with(listener, state, options, shutdown).await
}

/// Serves `state` on `listener` as `options` say until `shutdown` turns
/// true.
pub async fn serve_with(
    listener: TcpListener,
    state: Arc<DaemonState>,
    options: ServeOptions,
    mut shutdown: watch::Receiver<bool>,
) {
    let limits = options.limits;
    let options = Arc::new(options);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut conns = JoinSet::new();
    loop {
        // A free slot first: at the limit, new connections wait in the
        // kernel's queue (as Prometheus' limit listener does) and idle or
        // slow ones free their slot within the header-read timeout.
        let slot = tokio::select! {
            _ = shutdown.changed() => {
                if *shutdown.borrow() { break; }
                continue;
            }
            slot = slots.clone().acquire_owned() => match slot {
                Ok(s) => s,
                Err(_) => break,
            },
        };
        tokio::select! {
            _ = shutdown.changed() => {
                if *shutdown.borrow() { break; }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let (st, opts) = (state.clone(), options.clone());
                    conns.spawn(async move {
                        let _slot = slot;
                        match opts.web.as_ref().and_then(|w| w.tls.clone()) {
                            Some(tls) => {
                                let handshake = tokio::time::timeout(
                                    opts.limits.tls_handshake_timeout,
                                    tls.accept(stream),
                                );
                                match handshake.await {
                                    Ok(Ok(s)) => serve_connection(s, st, opts).await,
                                    Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
                                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                                }
                            }
                            None => serve_connection(stream, st, opts).await,
                        }
                    });
                }
                Err(e) => {
                    // Out of descriptors, say: wait a moment rather than spin.
                    tracing::warn!("http accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
        while conns.try_join_next().is_some() {}
    }
    conns.abort_all();
    while conns.join_next().await.is_some() {}
}

async fn serve_connection<S>(io: S, state: Arc<DaemonState>, options: Arc<ServeOptions>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let header_read_timeout = options.limits.header_read_timeout;
    let svc = service_fn(move |req: Request<Incoming>| {
        let (st, opts) = (state.clone(), options.clone());
        async move {
            if let Some(web) = opts.web.as_ref() {
                let header = req
                    .headers()
                    .get(hyper::header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok());
                if !web.authorize(header).await {
                    let mut r = error(
                        StatusCode::UNAUTHORIZED,
                        "authentication required (basic auth, see the web config file)".into(),
                    );
                    r.headers_mut().insert(
                        hyper::header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Basic realm=\"helpdesk-slo\""),
                    );
                    return Ok::<_, Infallible>(r);
                }
            }
            Ok::<_, Infallible>(handle(&st, &opts, req).await)
        }
    });
    if let Err(e) = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .serve_connection(TokioIo::new(io), svc)
        .await
    {
        tracing::debug!("http connection: {e}");
    }
}

/// Binds `addr` (port 0 picks a free one); returns the listener and the
/// address it is bound to.
pub async fn bind(addr: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    Ok((listener, bound))
}

fn respond(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn json<T: Serialize>(status: StatusCode, value: &T) -> Resp {
    match serde_json::to_vec_pretty(value) {
        Ok(body) => respond(status, "application/json", body),
        Err(e) => respond(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain; charset=utf-8",
            format!("encoding the answer failed: {e}\n"),
        ),
    }
}

fn error(status: StatusCode, message: String) -> Resp {
    json(status, &serde_json::json!({ "error": message }))
}

/// The endpoints and the methods each answers (besides `HEAD` wherever
/// `GET` is).
fn allowed_methods(path: &str) -> Option<&'static str> {
    match path {
        "/-/reload" => Some("POST, PUT"),
        "/metrics" | "/-/healthy" | "/-/ready" | "/config" | "/" | "/api/v1/clocks"
        | "/api/v1/reports" => Some("GET, HEAD"),
        p if p.starts_with("/api/v1/reports/") => Some("GET, HEAD"),
        _ => None,
    }
}

async fn handle(state: &Arc<DaemonState>, options: &ServeOptions, req: Request<Incoming>) -> Resp {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let Some(allow) = allowed_methods(&path) else {
        return error(
            StatusCode::NOT_FOUND,
            format!("no such endpoint: {path}; see / for the list"),
        );
    };
    // HEAD is GET without the body: hyper sends the headers only.
    let method = match req.method() {
        &Method::HEAD => Method::GET,
        m => m.clone(),
    };
    match (&method, path.as_str()) {
        (&Method::GET, "/metrics") => metrics(state, &req),
        (&Method::GET, "/-/healthy") => respond(StatusCode::OK, "text/plain", "OK\n"),
        (&Method::GET, "/-/ready") => match state.not_ready() {
            None => respond(
                StatusCode::OK,
                "text/plain; charset=utf-8",
                state.ready_text(),
            ),
            Some(why) => respond(
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain; charset=utf-8",
                why + "\n",
            ),
        },
        (&Method::POST | &Method::PUT, "/-/reload") => reload(state, options, req).await,
        (&Method::GET, "/config") => respond(
            StatusCode::OK,
            "text/yaml; charset=utf-8",
            format!(
                "# {} (config {})\n{}",
                state.config_path().display(),
                state.config().hash,
                state.config_text()
            ),
        ),
        (&Method::GET, "/api/v1/clocks") => clocks(state, &query),
        (&Method::GET, "/api/v1/reports") => {
            let st = state.clone();
            let base = options.external_url.clone();
            off_executor(move || reports_index(&st, base.as_ref())).await
        }
        (&Method::GET, p) if p.starts_with("/api/v1/reports/") => {
            let (st, name) = (state.clone(), p["/api/v1/reports/".len()..].to_string());
            off_executor(move || report(&st, &name)).await
        }
        (&Method::GET, "/") => {
            // Behind a proxy that serves the daemon under a path, the links
            // go through it.
            let page = match &options.external_url {
                Some(u) => LANDING.replace("href=\"/", &format!("href=\"{u}/")),
                None => LANDING.to_string(),
            };
            respond(StatusCode::OK, "text/html; charset=utf-8", page)
        }
        _ => {
            let mut r = error(
                StatusCode::METHOD_NOT_ALLOWED,
                format!(
                    "{} is not allowed on {path}; allowed: {allow}",
                    req.method()
                ),
            );
            r.headers_mut()
                .insert(ALLOW, HeaderValue::from_static(allow));
            r
        }
    }
}

/// Runs blocking work (file reads) on the blocking pool.
async fn off_executor(work: impl FnOnce() -> Resp + Send + 'static) -> Resp {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the request failed: {e}"),
        )
    })
}

/// `POST /-/reload`: only with `--web.enable-lifecycle`; a body (ignored)
/// is read only up to the limit and must arrive whole, or nothing is
/// reloaded.
async fn reload(state: &DaemonState, options: &ServeOptions, req: Request<Incoming>) -> Resp {
    if !options.enable_lifecycle {
        return error(
            StatusCode::FORBIDDEN,
            "lifecycle APIs are not enabled: start the daemon with --web.enable-lifecycle \
             to reload over HTTP, or send it SIGHUP"
                .into(),
        );
    }
    let limit = options.limits.max_body_bytes;
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the request body is larger than {limit} bytes; /-/reload takes none; \
                 nothing was reloaded"
            ),
        )
    };
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return too_large();
    }
    let body = Limited::new(
        req.into_body(),
        usize::try_from(limit).unwrap_or(usize::MAX),
    );
    if let Err(e) = body.collect().await {
        if e.downcast_ref::<http_body_util::LengthLimitError>()
            .is_some()
        {
            return too_large();
        }
        return error(
            StatusCode::BAD_REQUEST,
            format!("the request body could not be read ({e}); nothing was reloaded"),
        );
    }
    match state.reload().await {
        Ok(msg) => respond(StatusCode::OK, "text/plain; charset=utf-8", msg + "\n"),
        Err(msg) => respond(
            StatusCode::BAD_REQUEST,
            "text/plain; charset=utf-8",
            format!("config rejected; the previous config keeps running: {msg}\n"),
        ),
    }
}

const LANDING: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>helpdesk-slo</title></head>\
<body><h1>helpdesk-slo</h1><ul>\
<li><a href=\"/metrics\">/metrics</a>: Prometheus metrics (OpenMetrics on request)</li>\
<li><a href=\"/api/v1/clocks?state=at_risk\">/api/v1/clocks?state=at_risk</a>: clocks breaching within 4h of business time</li>\
<li><a href=\"/api/v1/clocks?state=breached\">/api/v1/clocks?state=breached</a>: open clocks past their due</li>\
<li><a href=\"/api/v1/reports\">/api/v1/reports</a>: monthly reports</li>\
<li><a href=\"/config\">/config</a>: the config in force</li>\
<li><a href=\"/-/healthy\">/-/healthy</a>, <a href=\"/-/ready\">/-/ready</a>; POST /-/reload reloads the config (with --web.enable-lifecycle)</li>\
</ul></body></html>\n";

fn metrics(state: &DaemonState, req: &Request<Incoming>) -> Resp {
    let rendered = state.rendered();
    let wants_openmetrics = req
        .headers()
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/openmetrics-text"));
    if wants_openmetrics {
        respond(
            StatusCode::OK,
            OPENMETRICS_TEXT,
            rendered.openmetrics.clone(),
        )
    } else {
        respond(StatusCode::OK, PROMETHEUS_TEXT, rendered.prometheus.clone())
    }
}

/// One open clock in the JSON API.
#[derive(Debug, Serialize)]
struct ClockItem {
    source: String,
    ticket_id: String,
    url: Option<String>,
    plan: String,
    severity: String,
    metric: String,
    state: &'static str,
    start: String,
    due_at: Option<String>,
    /// Business seconds left (negative: past due by that much business
    /// time); absent for paused clocks.
    business_seconds_remaining: Option<i64>,
}

fn query_pairs(query: &str) -> Vec<(String, String)> {
    url_decode_pairs(query)
}

/// `a=b&c=d` with `%XX` and `+` decoded (an invalid `%` sequence is kept
/// as written).
fn url_decode_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// Decodes base64 in either alphabet (standard, as HTTP basic auth uses,
/// or URL-safe), padded or not.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::alphabet::{STANDARD, URL_SAFE};
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    use base64::Engine;
    let lenient =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    GeneralPurpose::new(&STANDARD, lenient)
        .decode(text)
        .or_else(|_| GeneralPurpose::new(&URL_SAFE, lenient).decode(text))
        .ok()
}

fn clocks(state: &DaemonState, query: &str) -> Resp {
    let config = state.config();
    let policy = &config.policy;
    let mut want_state = "at_risk".to_string();
    let (mut plan, mut severity, mut metric) = (None, None, None);
    let mut within = 4 * 3600;
    for (k, v) in query_pairs(query) {
        match k.as_str() {
            "state" => want_state = v,
            "plan" => match policy.plan_id(&v) {
                Some(p) => plan = Some(p),
                None => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        format!(
                            "unknown plan \"{v}\"; the config defines: {}",
                            policy
                                .plans
                                .iter()
                                .map(|p| p.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                }
            },
            "severity" | "priority" => match policy.severities.iter().position(|s| *s == v) {
                Some(s) => severity = Some(s),
                None => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        format!(
                            "unknown severity \"{v}\"; the config defines: {}",
                            policy.severities.join(", ")
                        ),
                    )
                }
            },
            "metric" => match policy.metric_id(&v) {
                Some(m) => metric = Some(m),
                None => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        format!(
                            "unknown metric \"{v}\"; the config defines: {}",
                            policy
                                .metrics
                                .iter()
                                .map(|m| m.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                }
            },
            "within" => match v.parse::<BusinessDuration>() {
                Ok(d) => within = d.seconds_with_day(86_400),
                Err(e) => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        format!("within: {e} (e.g. 15m, 1h, 4h)"),
                    )
                }
            },
            other => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "unknown parameter \"{other}\"; use state, plan, severity, metric, within"
                    ),
                )
            }
        }
    }
    if !["at_risk", "breached", "active", "paused"].contains(&want_state.as_str()) {
        return error(
            StatusCode::BAD_REQUEST,
            format!("unknown state \"{want_state}\"; use at_risk, breached, active or paused"),
        );
    }
    let now = crate::clock::now_unix();
    let live = match state.live.lock() {
        Ok(l) => l,
        Err(_) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the clock index is unavailable".into(),
            )
        }
    };
    let mut items = Vec::new();
    for (source, open) in live.open_clocks() {
        let (id, clock) = (&*open.id, &open.clock);
        let Some(SeriesKey {
            plan: p,
            severity: s,
            metric: m,
        }) = clock.key()
        else {
            continue;
        };
        if plan.is_some_and(|x| x != p)
            || severity.is_some_and(|x| x != s)
            || metric.is_some_and(|x| x != m)
        {
            continue;
        }
        let key = SeriesKey {
            plan: p,
            severity: s,
            metric: m,
        };
        let remaining = clock
            .due_at
            .map(|due| crate::exposition::figures::business_seconds_left(policy, key, due, now));
        let current = match clock.state {
            ClockState::Paused => "paused",
            ClockState::Active
                if remaining.is_some_and(|r| r >= 0) && clock.due_at >= Some(now) =>
            {
                "active"
            }
            _ => "breached",
        };
        let keep = match want_state.as_str() {
            "at_risk" => current == "active" && remaining.is_some_and(|r| r <= within),
            other => current == other,
        };
        if !keep {
            continue;
        }
        let (Some(plan_name), Some(sev_name), Some(metric_def)) = (
            policy.plans.get(p).map(|x| x.name.clone()),
            policy.severities.get(s).cloned(),
            policy.metrics.get(m),
        ) else {
            continue;
        };
        items.push(ClockItem {
            source: source.to_string(),
            ticket_id: id.to_string(),
            url: config
                .sources
                .get(source)
                .and_then(|spec| crate::sources::ticket_url(spec, id)),
            plan: plan_name,
            severity: sev_name,
            metric: metric_def.name.clone(),
            state: current,
            start: crate::time::format_instant(clock.start),
            due_at: clock.due_at.map(crate::time::format_instant),
            business_seconds_remaining: remaining,
        });
    }
    drop(live);
    items.sort_by(|a, b| {
        (a.due_at.is_none(), &a.due_at, &a.source, &a.ticket_id).cmp(&(
            b.due_at.is_none(),
            &b.due_at,
            &b.source,
            &b.ticket_id,
        ))
    });
    json(
        StatusCode::OK,
        &serde_json::json!({
            "now": crate::time::format_instant(now),
            "state": want_state,
            "count": items.len(),
            "clocks": items,
        }),
    )
}

/// The reports in the folder: regular files only (`DirEntry::file_type`
/// does not follow links), so a symbolic link placed in the folder never
/// serves a file from elsewhere.
fn report_files(state: &DaemonState) -> Vec<String> {
    let Some(dir) = state.reports_dir() else {
        return Vec::new();
    };
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.ends_with(".md") || n.ends_with(".csv"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn reports_index(state: &DaemonState, external_url: Option<&ExternalUrl>) -> Resp {
    let names = report_files(state);
    let prefix = external_url.map_or("", |u| u.as_str());
    json(
        StatusCode::OK,
        &serde_json::json!({
            "reports": names.iter().map(|n| serde_json::json!({
                "name": n,
                "url": format!("{prefix}/api/v1/reports/{n}"),
            })).collect::<Vec<_>>(),
        }),
    )
}

fn report(state: &DaemonState, name: &str) -> Resp {
    let names = report_files(state);
    // Only names the folder lists are served: no path ever comes from the
    // request.
    let latest = state
        .reports_dir()
        .and_then(crate::report::latest)
        .and_then(|p| p.file_name()?.to_str().map(str::to_string));
    let chosen = if name == "latest" {
        latest.as_ref().filter(|l| names.contains(l))
    } else {
        names.iter().find(|n| *n == name)
    };
    let (Some(dir), Some(file)) = (state.reports_dir(), chosen) else {
        return error(
            StatusCode::NOT_FOUND,
            format!("no report named {name}; see /api/v1/reports"),
        );
    };
    match read_regular_file(&dir.join(file)) {
        Ok(body) if file.ends_with(".csv") => {
            respond(StatusCode::OK, "text/csv; charset=utf-8", body)
        }
        Ok(body) => respond(StatusCode::OK, "text/markdown; charset=utf-8", body),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reading report {file}: {e}"),
        ),
    }
}

/// Reads `path` if it is a regular file and not a symbolic link (checked
/// again as it is opened, where the system can: a link swapped in after
/// the listing is refused too).
fn read_regular_file(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut open = std::fs::OpenOptions::new();
    open.read(true);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        open.custom_flags(libc::O_NOFOLLOW);
    }
    if std::fs::symlink_metadata(path)?.file_type().is_symlink() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "a symbolic link, which is not followed",
        ));
    }
    let mut file = open.open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let mut body = Vec::new();
    file.read_to_end(&mut body)?;
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_decode() {
        assert_eq!(
            url_decode_pairs("state=at_risk&plan=premier%20plus&x=a+b&bad=%zz"),
            vec![
                ("state".to_string(), "at_risk".to_string()),
                ("plan".to_string(), "premier plus".to_string()),
                ("x".to_string(), "a b".to_string()),
                ("bad".to_string(), "%zz".to_string()),
            ]
        );
    }
}
