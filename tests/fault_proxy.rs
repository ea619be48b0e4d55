//! A fault-injecting proxy between the daemon and the Zendesk emulator:
//! rate limits with odd `Retry-After` values, server errors, truncated and
//! malformed JSON, a maintenance page with the wrong content type. The store
//! the daemon builds through it must equal the one it builds without it, and
//! the daemon must have noticed (retries counted).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use helpdesk_slo::config_files;
use helpdesk_slo::daemon::{run, Options, Summary};
use helpdesk_slo::simulator::generator::{generate, GeneratorOptions};
use helpdesk_slo::simulator::zendesk::{start, ServerOptions, SimState, DEMO_TOKEN};
use helpdesk_slo::store::{decode_clocks, SqliteStore, Store};

mod common;
use common::scratch;

/// What the proxy does to a request, in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Fault {
    Pass,
    RateLimitedGarbageRetryAfter,
    RateLimitedListRetryAfter,
    RateLimitedZeroRetryAfter,
    Unavailable,
    ServerError,
    TruncatedJson,
    MalformedJson,
    MaintenancePage,
}

/// Every other request passes untouched; the others get each fault in
/// turn. A request is never faulted twice in a row (the daemon's retry of
/// it passes), so the backfill always progresses. A garbage `Retry-After`
/// costs the minute Zendesk's limits are counted in; the others a second
/// or two.
const PLAN: [Fault; 18] = [
    Fault::Pass,
    Fault::RateLimitedGarbageRetryAfter,
    Fault::Pass,
    Fault::TruncatedJson,
    Fault::Pass,
    Fault::Unavailable,
    Fault::Pass,
    Fault::MalformedJson,
    Fault::Pass,
    Fault::MaintenancePage,
    Fault::Pass,
    Fault::RateLimitedListRetryAfter,
    Fault::Pass,
    Fault::TruncatedJson,
    Fault::Pass,
    Fault::ServerError,
    Fault::Pass,
    Fault::RateLimitedZeroRetryAfter,
];

struct Proxy {
    upstream: String,
    client: reqwest::Client,
    n: Mutex<usize>,
    seen: Mutex<BTreeMap<Fault, u64>>,
}

fn respond(
    status: StatusCode,
    headers: &[(&'static str, &str)],
    body: Bytes,
) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    for (k, v) in headers {
        r.headers_mut().insert(*k, v.parse().unwrap());
    }
    r
}

impl Proxy {
    async fn handle(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let fault = {
            let mut n = self.n.lock().unwrap();
            *n += 1;
            match PLAN[*n % PLAN.len()] {
                // Once: it costs a minute.
                Fault::RateLimitedGarbageRetryAfter if *n > PLAN.len() => Fault::Pass,
                f => f,
            }
        };
        *self.seen.lock().unwrap().entry(fault).or_default() += 1;
        let json = [("content-type", "application/json; charset=utf-8")];
        match fault {
            Fault::RateLimitedGarbageRetryAfter => {
                return respond(
                    StatusCode::TOO_MANY_REQUESTS,
                    &[("retry-after", "soon-ish")],
                    Bytes::from_static(b"{\"error\":\"APIRateLimitExceeded\"}"),
                )
            }
            Fault::RateLimitedListRetryAfter => {
                return respond(
                    StatusCode::TOO_MANY_REQUESTS,
                    &[("retry-after", "1, 2")],
                    Bytes::from_static(b"{\"error\":\"APIRateLimitExceeded\"}"),
                )
            }
            Fault::RateLimitedZeroRetryAfter => {
                return respond(
                    StatusCode::TOO_MANY_REQUESTS,
                    &[("retry-after", "0")],
                    Bytes::from_static(b"{\"error\":\"APIRateLimitExceeded\"}"),
                )
            }
            Fault::Unavailable => {
                return respond(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &[("retry-after", "1")],
                    Bytes::from_static(b"{\"error\":\"ServiceUnavailable\"}"),
                )
            }
            Fault::ServerError => {
                return respond(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &json,
                    Bytes::from_static(b"{\"error\":\"InternalError\"}"),
                )
            }
            Fault::MaintenancePage => {
                return respond(
                    StatusCode::OK,
                    &[("content-type", "text/html; charset=utf-8")],
                    Bytes::from_static(b"<html><body>Down for maintenance</body></html>"),
                )
            }
            _ => {}
        }
        let url = format!(
            "{}{}",
            self.upstream,
            req.uri().path_and_query().map_or("/", |p| p.as_str())
        );
        let mut forward = self.client.get(&url);
        if let Some(auth) = req.headers().get("authorization") {
            forward = forward.header("authorization", auth.clone());
        }
        let answer = forward.send().await.unwrap();
        let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
        let body = answer.bytes().await.unwrap();
        let body = match fault {
            Fault::TruncatedJson => body.slice(..body.len() / 2),
            Fault::MalformedJson => {
                let mut b = body.to_vec();
                if let Some(i) = b.iter().position(|&c| c == b':') {
                    b[i] = b'=';
                }
                Bytes::from(b)
            }
            _ => body,
        };
        respond(status, &json, body)
    }
}

async fn serve(proxy: Arc<Proxy>) -> String {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let proxy = proxy.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req| {
                    let proxy = proxy.clone();
                    async move { Ok::<_, Infallible>(proxy.handle(req).await) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    format!("http://{addr}")
}

fn write_config(dir: &Path, url: &str) -> std::path::PathBuf {
    let example =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml"))
            .unwrap();
    let token_file = dir.join("token");
    std::fs::write(&token_file, format!("{DEMO_TOKEN}\n")).unwrap();
    let text = format!(
        "{example}\nsources:\n  zendesk:\n    kind: zendesk\n    url: {url}\n    auth: {{ email: demo@example.com, token: {{ file: {} }} }}\n    start_time: 2026-10-01T00:00:00Z\n    poll_interval: 1s\n",
        token_file.display()
    );
    let path = dir.join("config.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

async fn backfill(dir: &Path, url: &str) -> Summary {
    let config = write_config(dir, url);
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let opts = Options {
        config,
        store: Some(dir.join("store.sqlite").display().to_string()),
        once: true,
        ..Options::default()
    };
    tokio::time::timeout(Duration::from_secs(240), run(opts, rx))
        .await
        .expect("the backfill finishes despite the faults")
        .unwrap()
}

/// Every stored ticket (without its link, which names the address polled)
/// and its clocks' identities.
fn stored(dir: &Path) -> Vec<String> {
    let store = SqliteStore::open(dir.join("store.sqlite")).unwrap();
    assert!(store.stale_ticket_ids("zendesk").unwrap().is_empty());
    let mut out = Vec::new();
    for id in store.ticket_ids("zendesk").unwrap() {
        let t = store.ticket("zendesk", &id).unwrap().unwrap();
        let (_, clocks) = store.clocks("zendesk", &id).unwrap().unwrap();
        let clocks: Vec<String> = decode_clocks(&clocks)
            .unwrap()
            .iter()
            .map(|c| format!("{:?}", (c.metric, c.instance, c.start, c.fulfilled_at)))
            .collect();
        let t = helpdesk_slo::engine::Ticket { url: None, ..t };
        out.push(format!(
            "{}\n{}",
            serde_json::to_string(&t).unwrap(),
            clocks.join(",")
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_through_a_faulty_network_stores_what_a_clean_one_does() {
    let cfg =
        config_files::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml"))
            .unwrap();
    let gen = GeneratorOptions {
        seed: 17,
        organizations: 20,
        days: 30,
        tickets_per_day: 60,
        ..GeneratorOptions::default()
    };
    let data = generate(&cfg, &gen);
    let options = ServerOptions {
        now: Some(gen.end() + 3600),
        ..ServerOptions::default()
    };
    let server = start(SimState::new(&cfg, data, options)).await.unwrap();
    let proxy = Arc::new(Proxy {
        upstream: server.base_url(),
        client: reqwest::Client::new(),
        n: Mutex::new(0),
        seen: Mutex::new(BTreeMap::new()),
    });
    let through = serve(proxy.clone()).await;

    let clean_dir = scratch("proxy-clean");
    let clean = backfill(clean_dir.path(), &server.base_url()).await;
    let faulty_dir = scratch("proxy-faulty");
    let faulty = backfill(faulty_dir.path(), &through).await;

    let seen = proxy.seen.lock().unwrap().clone();
    for fault in PLAN {
        assert!(
            seen.get(&fault).copied().unwrap_or(0) > 0,
            "{fault:?} never injected: {seen:?}"
        );
    }
    assert_eq!(clean.sources["zendesk"].retries, 0);
    assert!(
        faulty.sources["zendesk"].retries >= seen.len() as u64 - 1,
        "{faulty:?} after {seen:?}"
    );
    let (a, b) = (stored(clean_dir.path()), stored(faulty_dir.path()));
    assert!(a.len() > 300, "{}", a.len());
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
    server.shutdown().await;
}
