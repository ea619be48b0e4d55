//! The daemon's HTTP server (hyper): metrics, health, reload, the effective
//! config and the JSON API.
//!
//! Endpoints:
//! * `GET /metrics`: the last rendered exposition; OpenMetrics when the
//!   `Accept` header asks for `application/openmetrics-text`, Prometheus
//!   text 0.0.4 otherwise. A scrape copies bytes; nothing is computed.
//! * `GET /-/healthy`: 200 while the process serves.
//! * `GET /-/ready`: 200 once the store is loaded and the first figures are
//!   rendered, 503 before.
//! * `POST /-/reload` (or `PUT`): reloads the config file like SIGHUP; 200
//!   with what changed, or 400 with why the new config was rejected (the old
//!   one keeps running).
//! * `GET /config`: the config file in force (tokens are never in it; they
//!   come from the environment or files it names).
//! * `GET /api/v1/clocks?state=at_risk|breached|active|paused&plan=&severity=&metric=&within=4h`:
//!   open clocks as JSON, soonest due first, each with a link to the ticket.
//! * `GET /api/v1/reports`, `/api/v1/reports/latest`,
//!   `/api/v1/reports/NAME.md`: the written monthly reports;
//!   `/api/v1/reports/NAME.csv`: the CSV files beside them.
//! * `GET /`: a page linking all of these.
//!
//! With `--web.config.file` (see [`WebConfig`]) every endpoint is served
//! over TLS and/or requires basic auth, as Prometheus' own endpoints are.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

mod web_config;

pub use web_config::WebConfig;

use crate::calendar::BusinessDuration;
use crate::engine::ClockState;
use crate::exposition::live::SeriesKey;
use crate::state::DaemonState;

type Resp = Response<Full<Bytes>>;

const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
const OPENMETRICS_TEXT: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Serves `state` on `listener` until `shutdown` turns true, with TLS and
/// basic auth when `web` says so.
pub async fn serve(
    listener: TcpListener,
    state: Arc<DaemonState>,
    web: Option<WebConfig>,
    mut shutdown: watch::Receiver<bool>,
) {
    let web = web.map(Arc::new);
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => {
                if *shutdown.borrow() { break; }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let (st, web) = (state.clone(), web.clone());
                    conns.spawn(async move {
                        match web.as_ref().and_then(|w| w.tls.clone()) {
                            Some(tls) => match tls.accept(stream).await {
                                Ok(s) => serve_connection(s, st, web).await,
                                Err(e) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
                            },
                            None => serve_connection(stream, st, web).await,
                        }
                    });
                }
                Err(e) => {
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

async fn serve_connection<S>(io: S, state: Arc<DaemonState>, web: Option<Arc<WebConfig>>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let svc = service_fn(move |req: Request<Incoming>| {
        let (st, web) = (state.clone(), web.clone());
        async move {
            let allowed = web.as_ref().is_none_or(|w| {
                w.authorized(
                    req.headers()
                        .get(hyper::header::AUTHORIZATION)
                        .and_then(|v| v.to_str().ok()),
                )
            });
            if !allowed {
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
            Ok::<_, Infallible>(handle(&st, req).await)
        }
    });
    if let Err(e) = http1::Builder::new()
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

async fn handle(state: &DaemonState, req: Request<Incoming>) -> Resp {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    match (req.method(), path.as_str()) {
        (&Method::GET, "/metrics") => metrics(state, &req),
        (&Method::GET, "/-/healthy") => respond(StatusCode::OK, "text/plain", "OK\n"),
        (&Method::GET, "/-/ready") => {
            if state.is_ready() {
                respond(StatusCode::OK, "text/plain", "ready\n")
            } else {
                respond(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "text/plain",
                    "loading the store\n",
                )
            }
        }
        (&Method::POST | &Method::PUT, "/-/reload") => {
            // The body is ignored; drain it so the connection stays usable.
            let _ = req.into_body().collect().await;
            match state.reload().await {
                Ok(msg) => respond(StatusCode::OK, "text/plain; charset=utf-8", msg + "\n"),
                Err(msg) => respond(
                    StatusCode::BAD_REQUEST,
                    "text/plain; charset=utf-8",
                    format!("config rejected; the previous config keeps running: {msg}\n"),
                ),
            }
        }
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
        (&Method::GET, "/api/v1/reports") => reports_index(state),
        (&Method::GET, p) if p.starts_with("/api/v1/reports/") => {
            report(state, &p["/api/v1/reports/".len()..])
        }
        (&Method::GET, "/") => respond(StatusCode::OK, "text/html; charset=utf-8", LANDING),
        (_, "/metrics" | "/-/healthy" | "/-/ready" | "/-/reload" | "/config" | "/") => error(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{} is not allowed on {path}", req.method()),
        ),
        _ => error(
            StatusCode::NOT_FOUND,
            format!("no such endpoint: {path}; see / for the list"),
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
<li><a href=\"/-/healthy\">/-/healthy</a>, <a href=\"/-/ready\">/-/ready</a>; POST /-/reload reloads the config</li>\
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

fn report_files(state: &DaemonState) -> Vec<String> {
    let Some(dir) = state.reports_dir() else {
        return Vec::new();
    };
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.ends_with(".md") || n.ends_with(".csv"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn reports_index(state: &DaemonState) -> Resp {
    let names = report_files(state);
    json(
        StatusCode::OK,
        &serde_json::json!({
            "reports": names.iter().map(|n| serde_json::json!({
                "name": n,
                "url": format!("/api/v1/reports/{n}"),
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
    match std::fs::read(dir.join(file)) {
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
