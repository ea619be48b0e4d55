//! Contract tests against hand-written fixtures of Zendesk's documented wire
//! format (`tests/contract/zendesk/`, see its README for each scenario, the
//! quirk it pins and the documented source).
//!
//! * `fixtures_map_onto_the_expected_timelines` (test A): each scenario's
//!   response bodies are served over HTTP exactly as its `manifest.json`
//!   says (404 for anything else, 401 without an `Authorization` header);
//!   the real adapter polls every stream until caught up, each page is
//!   applied to a `SqliteStore`, and every ticket read back must equal the
//!   scenario's `expected.json` (the engine's ticket JSON form, reasoned out
//!   by hand from the adapter's documented mapping).
//!   Where a scenario has them, its clocks (`clocks.json`) and its
//!   reconciliation with Zendesk's own record (`reconcile.json`) are
//!   checked too.
//! * `the_emulator_writes_only_documented_shapes` (test B): the shape of the
//!   fixtures (per endpoint, the set of `(object path, key, JSON type)`)
//!   must contain every shape the project's Zendesk emulator writes, so the
//!   emulator cannot drift from the documented format again.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::Value;
use tokio::net::TcpListener;

use helpdesk_slo::config_files;
use helpdesk_slo::policy::spec::SourceSpec;
use helpdesk_slo::reconcile;
use helpdesk_slo::simulator::generator::{generate, GeneratorOptions};
use helpdesk_slo::simulator::zendesk::{start, ServerOptions, SimState, DEMO_TOKEN};
use helpdesk_slo::sources::zendesk::Zendesk;
use helpdesk_slo::sources::Source;
use helpdesk_slo::store::{SqliteStore, Store};

/// The source name the pages are stored under.
const SOURCE: &str = "zendesk";
/// More pages than this for one stream is a loop (a same-second page read
/// again and again).
const MAX_PAGES: usize = 20;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/contract/zendesk")
}

/// `manifest.json`: which body answers which request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    /// The source's configured `start_time` (RFC 3339).
    start_time: String,
    requests: Vec<Entry>,
}

/// One request the scenario answers: the path, the query parameters that
/// select the page (all must match; others, such as `per_page`, are not
/// looked at) and the body file, relative to the scenario's folder.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    path: String,
    #[serde(default)]
    query: BTreeMap<String, String>,
    body: String,
}

impl Entry {
    fn describe(&self) -> String {
        let q: Vec<String> = self.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{}?{}", self.path, q.join("&"))
    }
}

fn scenarios() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("manifest.json").is_file())
        .collect();
    out.sort();
    assert!(
        !out.is_empty(),
        "no scenarios under {}",
        fixtures().display()
    );
    out
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn manifest(dir: &Path) -> Manifest {
    serde_json::from_value(read_json(&dir.join("manifest.json")))
        .unwrap_or_else(|e| panic!("{}/manifest.json: {e}", dir.display()))
}

fn name(dir: &Path) -> String {
    dir.file_name().unwrap().to_string_lossy().into_owned()
}

// ---------------------------------------------------------------------------
// The fixture server.

/// A request's query as name → value, decoded the way any URL parser does.
fn parse_query(q: Option<&str>) -> BTreeMap<String, String> {
    let url = reqwest::Url::parse(&format!("http://fixture/?{}", q.unwrap_or("")))
        .expect("a query string parses as part of a URL");
    url.query_pairs().into_owned().collect()
}

/// What the fixture server was asked, in order.
#[derive(Debug, Clone)]
struct Served {
    request: String,
    /// The manifest entry that answered it (`None`: 404 or 401).
    entry: Option<usize>,
    status: u16,
}

struct Fixtures {
    entries: Vec<(Entry, Bytes)>,
    log: Mutex<Vec<Served>>,
}

impl Fixtures {
    fn respond(&self, req: &Request<Incoming>) -> Response<Full<Bytes>> {
        let path = req.uri().path().to_string();
        let query = parse_query(req.uri().query());
        let request = match req.uri().query() {
            Some(q) => format!("{path}?{}", q),
            None => path.clone(),
        };
        let authorized = req
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| !v.trim().is_empty());
        let (status, entry, body) = if !authorized {
            (
                StatusCode::UNAUTHORIZED,
                None,
                Bytes::from_static(br#"{"error":"Couldn't authenticate you"}"#),
            )
        } else {
            match self.entries.iter().position(|(e, _)| {
                e.path == path && e.query.iter().all(|(k, v)| query.get(k) == Some(v))
            }) {
                Some(i) => (StatusCode::OK, Some(i), self.entries[i].1.clone()),
                None => (
                    StatusCode::NOT_FOUND,
                    None,
                    Bytes::from_static(br#"{"error":"InvalidEndpoint","description":"Not found"}"#),
                ),
            }
        };
        self.log.lock().unwrap().push(Served {
            request,
            entry,
            status: status.as_u16(),
        });
        let mut r = Response::new(Full::new(body));
        *r.status_mut() = status;
        r.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/json; charset=utf-8"),
        );
        r
    }
}

/// Serves `fixtures` on 127.0.0.1; returns the base URL and the task.
async fn serve(fixtures: Arc<Fixtures>) -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let fx = fixtures.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<Incoming>| {
                    let fx = fx.clone();
                    async move { Ok::<_, Infallible>(fx.respond(&req)) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (format!("http://{addr}"), task)
}

// ---------------------------------------------------------------------------
// Comparing timelines.

/// Events in `(at, id)` order: the store's order within a ticket is not
/// part of the contract (the engine orders them itself).
fn normalized(mut ticket: Value) -> Value {
    if let Some(events) = ticket.get_mut("events").and_then(Value::as_array_mut) {
        events.sort_by_key(|e| {
            (
                e["at"].as_str().unwrap_or_default().to_string(),
                e["id"].as_str().unwrap_or_default().to_string(),
            )
        });
    }
    ticket
}

/// Where `actual` differs from `expected`, one line per difference; events
/// are matched by id.
fn diff(path: &str, expected: &Value, actual: &Value, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            let keys: BTreeSet<&String> = e.keys().chain(a.keys()).collect();
            for k in keys {
                let p = format!("{path}.{k}");
                match (e.get(k), a.get(k)) {
                    (Some(ev), Some(av)) if k == "events" => diff_events(&p, ev, av, out),
                    (Some(ev), Some(av)) => diff(&p, ev, av, out),
                    (Some(ev), None) => out.push(format!("{p}: expected {ev}, missing")),
                    (None, Some(av)) => out.push(format!("{p}: not expected, got {av}")),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                diff(&format!("{path}[{i}]"), ev, av, out);
            }
        }
        _ if expected == actual => {}
        _ => out.push(format!("{path}: expected {expected}, got {actual}")),
    }
}

fn diff_events(path: &str, expected: &Value, actual: &Value, out: &mut Vec<String>) {
    let by_id = |v: &Value| -> BTreeMap<String, Value> {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|e| (e["id"].as_str().unwrap_or("(no id)").to_string(), e.clone()))
            .collect()
    };
    let (e, a) = (by_id(expected), by_id(actual));
    for (id, ev) in &e {
        match a.get(id) {
            Some(av) => diff(&format!("{path}[{id}]"), ev, av, out),
            None => out.push(format!("{path}: missing event {ev}")),
        }
    }
    for (id, av) in &a {
        if !e.contains_key(id) {
            out.push(format!("{path}: unexpected event {av}"));
        }
    }
    if out.is_empty() && expected != actual {
        out.push(format!(
            "{path}: same events in another order:\n  expected {expected}\n  got      {actual}"
        ));
    }
}

// ---------------------------------------------------------------------------
// Test A.

/// Runs one scenario; the problems found (none: it passes).
async fn run_scenario(dir: &Path, token_env: &str) -> Vec<String> {
    let m = manifest(dir);
    let entries: Vec<(Entry, Bytes)> = m
        .requests
        .iter()
        .map(|e| {
            let path = dir.join(&e.body);
            let body = std::fs::read(&path)
                .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
            // Bodies must be JSON: a typo in a fixture is not an adapter bug.
            serde_json::from_slice::<Value>(&body)
                .unwrap_or_else(|err| panic!("{} is not JSON: {err}", path.display()));
            (e.clone(), Bytes::from(body))
        })
        .collect();
    let fx = Arc::new(Fixtures {
        entries,
        log: Mutex::new(Vec::new()),
    });
    let (base, server) = serve(fx.clone()).await;
    let yaml = format!(
        "kind: zendesk\nurl: {base}\nauth:\n  email: ops@acme.example\n  token:\n    env: {token_env}\nstart_time: \"{}\"\n",
        m.start_time
    );
    // A scenario may configure the source further (custom statuses, …).
    let extra = std::fs::read_to_string(dir.join("source.yaml")).unwrap_or_default();
    let yaml = format!("{yaml}{extra}");
    let spec: SourceSpec = serde_yaml_ng::from_str(&yaml)
        .unwrap_or_else(|e| panic!("{}: source config: {e}", dir.display()));
    let source = Zendesk::new(&spec).unwrap();
    let mut store = SqliteStore::in_memory().unwrap();
    let mut problems = Vec::new();
    // The source's own streams, in the order a backfill reads them
    // (`ticket_metric_events` only where the scenario's source reads it).
    'streams: for &stream in source.streams() {
        for n in 0.. {
            if n == MAX_PAGES {
                problems.push(format!(
                    "{stream}: not caught up after {MAX_PAGES} pages (a loop?)"
                ));
                break 'streams;
            }
            let cursor = store.cursor(SOURCE, stream).unwrap();
            let page = match source.poll(stream, cursor.as_deref()).await {
                Ok(p) => p,
                Err(e) => {
                    problems.push(format!("{stream}: poll from {cursor:?} failed: {e}"));
                    break 'streams;
                }
            };
            store.apply_page(SOURCE, &page).unwrap();
            if page.caught_up {
                break;
            }
        }
    }
    server.abort();
    let log = fx.log.lock().unwrap().clone();
    for s in log.iter().filter(|s| s.status != 200) {
        problems.push(format!(
            "the adapter asked for {} and got {} (not in the manifest)",
            s.request, s.status
        ));
    }
    for (i, e) in m.requests.iter().enumerate() {
        if !log.iter().any(|s| s.entry == Some(i)) {
            problems.push(format!("the adapter never asked for {}", e.describe()));
        }
    }
    let expected = read_json(&dir.join("expected.json"));
    let expected = expected
        .as_object()
        .expect("expected.json: ticket id → ticket");
    let mut want: Vec<String> = expected.keys().cloned().collect();
    want.sort();
    let have = store.ticket_ids(SOURCE).unwrap();
    if have != want {
        problems.push(format!("stored tickets {have:?}, expected {want:?}"));
    }
    for (id, want) in expected {
        match store.ticket(SOURCE, id).unwrap() {
            None => problems.push(format!("ticket {id}: not in the store")),
            Some(t) => {
                let got = normalized(serde_json::to_value(&t).unwrap());
                let want = normalized(want.clone());
                let mut out = Vec::new();
                diff(&format!("ticket {id}"), &want, &got, &mut out);
                problems.extend(out);
            }
        }
    }
    problems.extend(check_clocks(dir, &store));
    problems.extend(check_reconcile(dir, &store, &spec));
    if !problems.is_empty() {
        let requests: Vec<String> = log
            .iter()
            .map(|s| format!("    {} {}", s.status, s.request))
            .collect();
        problems.push(format!("requests made:\n{}", requests.join("\n")));
    }
    problems
}

/// A scenario's `clocks.json`: the clocks its stored timelines give under
/// `policy.yaml` at `now`, worked out by hand. Each expected clock lists the
/// keys it pins; the engine's view must have the same value for each.
fn check_clocks(dir: &Path, store: &SqliteStore) -> Vec<String> {
    let path = dir.join("clocks.json");
    if !path.exists() {
        return Vec::new();
    }
    let spec = read_json(&path);
    let config = config_files::load(&fixtures().join("policy.yaml"))
        .unwrap_or_else(|e| panic!("policy.yaml: {e}"));
    let now = spec["now"]
        .as_str()
        .and_then(|t| helpdesk_slo::time::parse_instant(t).ok())
        .unwrap_or_else(|| panic!("{}: now must be an RFC 3339 instant", path.display()));
    let mut problems = Vec::new();
    let tickets = spec["tickets"]
        .as_object()
        .unwrap_or_else(|| panic!("{}: tickets: id → clocks", path.display()));
    for (id, want) in tickets {
        let Some(ticket) = store.ticket(SOURCE, id).unwrap() else {
            problems.push(format!("clocks of ticket {id}: not in the store"));
            continue;
        };
        let clocks = helpdesk_slo::engine::evaluate(&config.policy, &ticket, now);
        let got: Vec<Value> = clocks
            .iter()
            .map(|c| serde_json::to_value(c.view(&config.policy)).unwrap())
            .collect();
        let want = want.as_array().cloned().unwrap_or_default();
        if got.len() != want.len() {
            problems.push(format!(
                "ticket {id}: {} clocks, expected {}: {}",
                got.len(),
                want.len(),
                serde_json::to_string(&got).unwrap()
            ));
            continue;
        }
        for (w, g) in want.iter().zip(&got) {
            for (key, value) in w.as_object().into_iter().flatten() {
                if g.get(key) != Some(value) {
                    problems.push(format!(
                        "ticket {id} clock {}#{}: {key} is {}, expected {value}",
                        w["metric"], w["instance"], g[key]
                    ));
                }
            }
        }
    }
    problems
}

/// A scenario's `reconcile.json`: our clocks under `policy.yaml` at `now`
/// compared with Zendesk's own record of the stored tickets, under the
/// source's `reconcile:` mapping (worked out by hand: `why` says how).
fn check_reconcile(dir: &Path, store: &SqliteStore, spec: &SourceSpec) -> Vec<String> {
    let path = dir.join("reconcile.json");
    if !path.exists() {
        return Vec::new();
    }
    let want = read_json(&path);
    let config = config_files::load(&fixtures().join("policy.yaml"))
        .unwrap_or_else(|e| panic!("policy.yaml: {e}"));
    let now = want["now"]
        .as_str()
        .and_then(|t| helpdesk_slo::time::parse_instant(t).ok())
        .unwrap_or_else(|| panic!("{}: now must be an RFC 3339 instant", path.display()));
    let reconciler = helpdesk_slo::sources::kind("zendesk")
        .and_then(|k| k.reconcile)
        .expect("zendesk has a reconciler");
    let theirs = (reconciler.theirs)(spec, &config.policy).unwrap();
    let mut problems = Vec::new();
    let tickets = want["tickets"]
        .as_object()
        .unwrap_or_else(|| panic!("{}: tickets: id → comparisons", path.display()));
    for (id, want) in tickets {
        let Some(ticket) = store.ticket(SOURCE, id).unwrap() else {
            problems.push(format!("reconcile of ticket {id}: not in the store"));
            continue;
        };
        let got = reconcile::ticket(
            &config.policy,
            &ticket,
            now,
            theirs(&ticket, now),
            reconcile::DEFAULT_TOLERANCE_SECONDS,
        );
        let got = serde_json::to_value(&got).unwrap();
        if &got != want {
            problems.push(format!("ticket {id}: reconciled as {got}, expected {want}"));
        }
    }
    problems
}

#[tokio::test]
async fn fixtures_map_onto_the_expected_timelines() {
    // A name no other test sets, so tests running at once cannot interfere.
    let token_env = format!("HELPDESK_SLO_CONTRACT_ZENDESK_TOKEN_{}", std::process::id());
    std::env::set_var(&token_env, "contract-fixture-token");
    let mut failed = Vec::new();
    for dir in scenarios() {
        let problems = run_scenario(&dir, &token_env).await;
        if problems.is_empty() {
            eprintln!("contract scenario {}: ok", name(&dir));
        } else {
            eprintln!("contract scenario {}: FAILED", name(&dir));
            failed.push(format!("{}:\n  {}", name(&dir), problems.join("\n  ")));
        }
    }
    assert!(
        failed.is_empty(),
        "{} scenario(s) disagree with expected.json:\n\n{}",
        failed.len(),
        failed.join("\n\n")
    );
}

// ---------------------------------------------------------------------------
// Test B: shapes.

/// The endpoints, by the path that serves them.
const ENDPOINTS: [(&str, &str); 6] = [
    ("/api/v2/incremental/users/cursor.json", "users"),
    ("/api/v2/incremental/organizations.json", "organizations"),
    ("/api/v2/incremental/tickets/cursor.json", "tickets"),
    ("/api/v2/incremental/ticket_events.json", "ticket_events"),
    (
        "/api/v2/incremental/ticket_metric_events.json",
        "ticket_metric_events",
    ),
    ("/api/v2/custom_statuses.json", "custom_statuses"),
];

/// `(object path, key, JSON type)`. Array items are key `[]`.
type Triple = (String, String, String);
/// Endpoint → its triples.
type Shape = BTreeMap<String, BTreeSet<Triple>>;

/// Objects whose keys are the account's own (field ids, field keys): their
/// keys are read as `*`.
const OPEN_MAPS: [&str; 4] = [
    "custom_ticket_fields",
    "organization_fields",
    "user_fields",
    "custom",
];

/// The keys of a Create/Change child besides the changed field.
const CHILD_COMMON: [&str; 7] = [
    "id",
    "via",
    "via_reference_id",
    "event_type",
    "previous_value",
    "added_tags",
    "removed_tags",
];

fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A child event's place in the shape: its `event_type`, and for
/// Create/Change the changed field's key (`Change:status`).
fn child_label(child: &Value) -> String {
    let kind = child["event_type"].as_str().unwrap_or("?");
    if !matches!(kind, "Create" | "Change") {
        return kind.to_string();
    }
    let fields: Vec<&str> = child
        .as_object()
        .into_iter()
        .flat_map(|o| o.keys())
        .map(String::as_str)
        .filter(|k| !CHILD_COMMON.contains(k))
        .collect();
    format!("{kind}:{}", fields.join("+"))
}

fn walk(v: &Value, path: &str, out: &mut BTreeSet<Triple>) {
    match v {
        Value::Object(map) => {
            for (k, val) in map {
                let key = k.clone();
                out.insert((path.to_string(), key.clone(), type_of(val).to_string()));
                let sub = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match val {
                    Value::Object(inner) if OPEN_MAPS.contains(&k.as_str()) => {
                        for item in inner.values() {
                            out.insert((sub.clone(), "*".to_string(), type_of(item).to_string()));
                            walk(item, &format!("{sub}.*"), out);
                        }
                    }
                    Value::Object(_) => walk(val, &sub, out),
                    Value::Array(items) => {
                        for item in items {
                            let item_path = if k == "child_events" {
                                format!("{sub}[{}]", child_label(item))
                            } else {
                                format!("{sub}[]")
                            };
                            out.insert((sub.clone(), "[]".to_string(), type_of(item).to_string()));
                            walk(item, &item_path, out);
                        }
                    }
                    _ => {}
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                walk(item, &format!("{path}[]"), out);
            }
        }
        _ => {}
    }
}

fn show((path, key, ty): &Triple) -> String {
    match (path.is_empty(), key.as_str()) {
        (true, _) => format!("{key}: {ty}"),
        (false, "[]") => format!("{path}[]: {ty}"),
        _ => format!("{path}.{key}: {ty}"),
    }
}

/// `shape_widenings.json`: types Zendesk documents for a key besides the
/// ones the fixtures happen to show.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Widening {
    endpoint: String,
    path: String,
    key: String,
    types: Vec<String>,
    #[allow(dead_code)]
    source: String,
}

/// The fixtures' shape: every body of every scenario, by endpoint, plus the
/// documented widenings.
fn fixture_shape() -> Shape {
    let mut shape = Shape::new();
    for dir in scenarios() {
        for e in manifest(&dir).requests {
            let endpoint = ENDPOINTS
                .iter()
                .find(|(p, _)| *p == e.path)
                .unwrap_or_else(|| panic!("{}: unknown endpoint {}", name(&dir), e.path))
                .1;
            walk(
                &read_json(&dir.join(&e.body)),
                "",
                shape.entry(endpoint.to_string()).or_default(),
            );
        }
    }
    let widenings: Vec<Widening> =
        serde_json::from_value(read_json(&fixtures().join("shape_widenings.json"))).unwrap();
    for w in widenings {
        let set = shape.entry(w.endpoint).or_default();
        for t in w.types {
            set.insert((w.path.clone(), w.key.clone(), t));
        }
    }
    // A Change's `previous_value` is the field's bare previous value (REC:
    // `"status":"solved","previous_value":"open"`; a custom field's is not
    // wrapped): any type the field's value has, or null.
    let events = shape.entry("ticket_events".to_string()).or_default();
    let prefix = "ticket_events[].child_events[Change:";
    let mut previous = Vec::new();
    for (path, key, ty) in events.iter() {
        let Some(rest) = path.strip_prefix(prefix) else {
            continue;
        };
        match rest.strip_suffix(']') {
            // The child itself: the type of its field's key.
            Some(field) if key == field && field != "custom_ticket_fields" => {
                previous.push((path.clone(), ty.clone()));
            }
            Some(_) => {}
            // A custom field's value, inside `custom_ticket_fields`.
            None if rest == "custom_ticket_fields].custom_ticket_fields" && key == "*" => {
                previous.push((format!("{prefix}custom_ticket_fields]"), ty.clone()));
            }
            None => {}
        }
    }
    let changes: BTreeSet<String> = events
        .iter()
        .filter(|(p, _, _)| {
            p.starts_with("ticket_events[].child_events[Change:") && p.ends_with(']')
        })
        .map(|(p, _, _)| p.clone())
        .collect();
    for path in changes {
        previous.push((path, "null".to_string()));
    }
    for (path, ty) in previous {
        events.insert((path, "previous_value".to_string(), ty));
    }
    shape
}

#[test]
fn the_fixtures_use_the_documented_child_form() {
    // The fixtures themselves: each Create/Change child changes exactly one
    // field, and nothing uses the Ticket Audits API's `field_name`/`value`.
    let shape = fixture_shape();
    for (path, key, _) in &shape["ticket_events"] {
        assert_ne!(key, "field_name", "{path}");
        if let Some(label) = path
            .strip_prefix("ticket_events[].child_events[")
            .and_then(|l| l.strip_suffix(']'))
        {
            if let Some((_, field)) = label.split_once(':') {
                assert!(
                    !field.is_empty() && !field.contains('+'),
                    "a Create/Change child must change exactly one field: {label}"
                );
            }
        }
    }
}

async fn get_json(client: &reqwest::Client, url: &str) -> Result<Value, u16> {
    let r = client
        .get(url)
        .bearer_auth(DEMO_TOKEN)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    if status != 200 {
        return Err(status);
    }
    Ok(r.json().await.unwrap())
}

/// Every page of a cursor-based export.
async fn cursor_pages(client: &reqwest::Client, base: &str, path: &str) -> Vec<Value> {
    let mut pages = Vec::new();
    let mut url = format!("{base}{path}?start_time=0");
    for _ in 0..500 {
        let page = get_json(client, &url)
            .await
            .unwrap_or_else(|s| panic!("{url}: HTTP {s}"));
        let done = page["end_of_stream"].as_bool().unwrap_or(true);
        let cursor = page["after_cursor"].as_str().map(str::to_string);
        pages.push(page);
        match cursor {
            Some(c) if !done => url = format!("{base}{path}?cursor={c}"),
            _ => return pages,
        }
    }
    panic!("{path}: no end_of_stream after 500 pages");
}

/// Every page of a time-based export (`extra`: more query parameters).
async fn time_pages(client: &reqwest::Client, base: &str, path: &str, extra: &str) -> Vec<Value> {
    let mut pages = Vec::new();
    let mut start = 0i64;
    for _ in 0..500 {
        let url = format!("{base}{path}?start_time={start}{extra}");
        let page = get_json(client, &url)
            .await
            .unwrap_or_else(|s| panic!("{url}: HTTP {s}"));
        let done = page["end_of_stream"].as_bool().unwrap_or(true);
        let end = page["end_time"].as_i64().unwrap_or(start);
        pages.push(page);
        if done {
            return pages;
        }
        start = if end <= start { start + 1 } else { end };
    }
    panic!("{path}: no end_of_stream after 500 pages");
}

/// Every key anywhere under `v` named `key`, as paths.
fn find_key(v: &Value, key: &str, path: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, val) in map {
                let p = format!("{path}.{k}");
                if k == key {
                    out.push(p.clone());
                }
                find_key(val, key, &p, out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                find_key(item, key, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn the_emulator_writes_only_documented_shapes() {
    let fixtures = fixture_shape();
    let config =
        config_files::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml"))
            .unwrap();
    let data = generate(
        &config,
        &GeneratorOptions {
            seed: 11,
            organizations: 8,
            days: 4,
            tickets_per_day: 30,
            ..GeneratorOptions::default()
        },
    );
    let server = start(SimState::new(&config, data, ServerOptions::default()))
        .await
        .unwrap();
    let base = server.base_url();
    let client = reqwest::Client::new();
    let mut pages: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    pages.insert(
        "users",
        cursor_pages(&client, &base, "/api/v2/incremental/users/cursor.json").await,
    );
    pages.insert(
        "organizations",
        time_pages(&client, &base, "/api/v2/incremental/organizations.json", "").await,
    );
    pages.insert(
        "tickets",
        cursor_pages(&client, &base, "/api/v2/incremental/tickets/cursor.json").await,
    );
    pages.insert(
        "ticket_events",
        time_pages(
            &client,
            &base,
            "/api/v2/incremental/ticket_events.json",
            "&include=comment_events",
        )
        .await,
    );
    pages.insert(
        "ticket_metric_events",
        time_pages(
            &client,
            &base,
            "/api/v2/incremental/ticket_metric_events.json",
            "",
        )
        .await,
    );
    let mut notes = Vec::new();
    match get_json(&client, &format!("{base}/api/v2/custom_statuses.json")).await {
        Ok(page) => {
            pages.insert("custom_statuses", vec![page]);
        }
        // The adapter reads a 404 as an account without custom statuses.
        Err(status) => notes.push(format!(
            "custom_statuses: the emulator answers HTTP {status}; its shape is not checked"
        )),
    }
    server.shutdown().await;

    let mut violations = Vec::new();
    let mut unused = Vec::new();
    for (endpoint, bodies) in &pages {
        let mut shape = BTreeSet::new();
        for body in bodies {
            walk(body, "", &mut shape);
        }
        let documented = fixtures.get(*endpoint).cloned().unwrap_or_default();
        for t in shape.difference(&documented) {
            violations.push(format!("{endpoint}: {}", show(t)));
        }
        for t in documented.difference(&shape) {
            unused.push(format!("{endpoint}: {}", show(t)));
        }
        if *endpoint == "ticket_events" {
            let mut found = Vec::new();
            for body in bodies {
                find_key(body, "field_name", "", &mut found);
            }
            if let Some(first) = found.first() {
                violations.push(format!(
                    "ticket_events: {} child events carry `field_name` (the Ticket Audits API's form, not the ticket event export's), e.g. {first}",
                    found.len()
                ));
            }
        }
    }
    eprintln!(
        "emulator shape check: {} shape(s) the fixtures do not document; {} documented shape(s) the emulator never writes (not an error)",
        violations.len(),
        unused.len()
    );
    for n in &notes {
        eprintln!("note: {n}");
    }
    assert!(
        violations.is_empty(),
        "the emulator writes {} shape(s) the documented fixtures do not have (path.key: type):\n  {}\n{}",
        violations.len(),
        violations.join("\n  "),
        notes.join("\n")
    );
}
