//! Contract tests against hand-written pages of Freshdesk's documented wire
//! format (`tests/testdata/freshdesk/`, see its README).
//!
//! * `fixtures_map_onto_the_expected_timelines`: each scenario's bodies are
//!   served over HTTP exactly as its `manifest.json` says (the export files
//!   from a second address that refuses credentials; 404 for anything
//!   else, 401 without credentials on the API); the real adapter polls every
//!   stream until caught up into a `SqliteStore`, and every ticket read back
//!   must equal `expected.json`, and its clocks `clocks.json` (both worked
//!   out by hand).
//! * `the_emulator_serves_the_fixture_account_alike`: the emulator loaded
//!   with the scenario's account gives the real adapter the same timelines,
//!   also when it answers every third request with 429 (a rate-limited
//!   backfill) and spells `Link` both ways.

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
use helpdesk_slo::simulator::freshdesk::{
    start, Account, Faults, FdState, ServerOptions, DEMO_API_KEY,
};
use helpdesk_slo::sources::freshdesk::Freshdesk;
use helpdesk_slo::store::{SqliteStore, Store};

mod common;

const SOURCE: &str = "freshdesk";
const STREAMS: [&str; 4] = ["agents", "companies", "tickets", "activities"];
const MAX_PAGES: usize = 40;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata/freshdesk")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    start_time: String,
    /// The tickets flagged `approximated_history`, exactly.
    #[serde(default)]
    approximated: Vec<String>,
    /// The days noted `missing_activities_export`, exactly.
    #[serde(default)]
    missing_days: Vec<String>,
    requests: Vec<Entry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    /// `files` for the export's file host; the API otherwise.
    #[serde(default)]
    host: Option<String>,
    path: String,
    #[serde(default)]
    query: BTreeMap<String, String>,
    body: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    /// The answer's status (200 unless given).
    #[serde(default)]
    status: Option<u16>,
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn scenarios() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("manifest.json").is_file())
        .collect();
    out.sort();
    assert!(!out.is_empty());
    out
}

#[derive(Debug, Clone)]
struct Served {
    request: String,
    entry: Option<usize>,
    status: u16,
}

struct Fixtures {
    dir: PathBuf,
    entries: Vec<Entry>,
    bases: Mutex<(String, String)>,
    log: Mutex<Vec<Served>>,
}

impl Fixtures {
    fn fill(&self, text: &str) -> String {
        let (base, files) = self.bases.lock().unwrap().clone();
        text.replace("{base}", &base).replace("{files}", &files)
    }

    fn respond(&self, req: &Request<Incoming>, files_host: bool) -> Response<Full<Bytes>> {
        let path = req.uri().path().to_string();
        let url =
            reqwest::Url::parse(&format!("http://x/?{}", req.uri().query().unwrap_or(""))).unwrap();
        let query: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
        let request = format!(
            "{}{}?{}",
            if files_host { "files:" } else { "" },
            path,
            req.uri().query().unwrap_or("")
        );
        let auth = req.headers().contains_key(hyper::header::AUTHORIZATION);
        let mut headers = BTreeMap::new();
        let (status, entry, body) = if files_host && auth {
            (
                StatusCode::BAD_REQUEST,
                None,
                "credentials sent to the file host".to_string(),
            )
        } else if !files_host && !auth {
            (
                StatusCode::UNAUTHORIZED,
                None,
                r#"{"code":"invalid_credentials"}"#.to_string(),
            )
        } else {
            match self.entries.iter().position(|e| {
                (e.host.as_deref() == Some("files")) == files_host
                    && e.path == path
                    && e.query.iter().all(|(k, v)| query.get(k) == Some(v))
            }) {
                Some(i) => {
                    let e = &self.entries[i];
                    let text = std::fs::read_to_string(self.dir.join(&e.body)).unwrap();
                    headers = e
                        .headers
                        .iter()
                        .map(|(k, v)| (k.clone(), self.fill(v)))
                        .collect();
                    let status = e
                        .status
                        .map_or(StatusCode::OK, |s| StatusCode::from_u16(s).unwrap());
                    (status, Some(i), self.fill(&text))
                }
                None => (
                    StatusCode::NOT_FOUND,
                    None,
                    r#"{"code":"not_found"}"#.to_string(),
                ),
            }
        };
        self.log.lock().unwrap().push(Served {
            request,
            entry,
            status: status.as_u16(),
        });
        let mut r = Response::new(Full::new(Bytes::from(body)));
        *r.status_mut() = status;
        for (k, v) in headers {
            r.headers_mut().insert(
                hyper::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                hyper::header::HeaderValue::from_str(&v).unwrap(),
            );
        }
        r
    }
}

async fn listen(fx: Arc<Fixtures>, files_host: bool) -> String {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let fx = fx.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<Incoming>| {
                    let fx = fx.clone();
                    async move { Ok::<_, Infallible>(fx.respond(&req, files_host)) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    format!("http://{addr}")
}

fn source(dir: &Path, base: &str, start_time: &str, key_env: &str) -> Freshdesk {
    let extra = std::fs::read_to_string(dir.join("source.yaml")).unwrap_or_default();
    let yaml = format!("kind: freshdesk\nurl: {base}\napi_key: {{ env: {key_env} }}\nstart_time: \"{start_time}\"\n{extra}");
    let spec: SourceSpec = serde_yaml_ng::from_str(&yaml).unwrap();
    Freshdesk::new(&spec).unwrap()
}

/// Polls every stream until caught up, waiting out 429s as the daemon does.
async fn backfill(source: &Freshdesk, store: &mut SqliteStore) -> (Vec<String>, u64) {
    common::contract::backfill(source, store, SOURCE, &STREAMS, MAX_PAGES).await
}

/// The stored timelines against `expected.json` and `clocks.json`.
fn compare(dir: &Path, store: &SqliteStore, base: &str) -> Vec<String> {
    compare_some(dir, store, base, None)
}

/// As [`compare`]; with `only`, those tickets of `expected.json` (others
/// may be stored too).
fn compare_some(dir: &Path, store: &SqliteStore, base: &str, only: Option<&[&str]>) -> Vec<String> {
    let mut problems = Vec::new();
    let text = std::fs::read_to_string(dir.join("expected.json"))
        .unwrap()
        .replace("{base}", base);
    let mut expected: BTreeMap<String, Value> = serde_json::from_str(&text).unwrap();
    match only {
        Some(ids) => expected.retain(|id, _| ids.contains(&id.as_str())),
        None => {
            let want: Vec<String> = expected.keys().cloned().collect();
            let have = store.ticket_ids(SOURCE).unwrap();
            if have != want {
                problems.push(format!("stored tickets {have:?}, expected {want:?}"));
            }
        }
    }
    for (id, want) in &expected {
        problems.extend(common::contract::timeline_problems(store, SOURCE, id, want));
    }
    let clocks = dir.join("clocks.json");
    if clocks.exists() {
        let spec = read_json(&clocks);
        let config = config_files::load(&fixtures().join("policy.yaml")).unwrap();
        let now = helpdesk_slo::time::parse_instant(spec["now"].as_str().unwrap()).unwrap();
        for (id, want) in spec["tickets"].as_object().unwrap() {
            if only.is_some_and(|ids| !ids.contains(&id.as_str())) {
                continue;
            }
            problems.extend(common::contract::clock_problems(
                store,
                SOURCE,
                &config.policy,
                id,
                want,
                now,
            ));
        }
    }
    problems
}

#[tokio::test]
async fn fixtures_map_onto_the_expected_timelines() {
    let key_env = format!("HELPDESK_SLO_CONTRACT_FRESHDESK_KEY_{}", std::process::id());
    std::env::set_var(&key_env, "contract-fixture-key");
    let mut failed = Vec::new();
    for dir in scenarios() {
        let m: Manifest = serde_json::from_value(read_json(&dir.join("manifest.json"))).unwrap();
        let fx = Arc::new(Fixtures {
            dir: dir.clone(),
            entries: m.requests.clone(),
            bases: Mutex::new((String::new(), String::new())),
            log: Mutex::new(Vec::new()),
        });
        let base = listen(fx.clone(), false).await;
        let files = listen(fx.clone(), true).await;
        *fx.bases.lock().unwrap() = (base.clone(), files);
        let source = source(&dir, &base, &m.start_time, &key_env);
        let mut store = SqliteStore::in_memory().unwrap();
        let (mut problems, _) = backfill(&source, &mut store).await;
        let log = fx.log.lock().unwrap().clone();
        let declared = |s: &Served| s.entry.is_some_and(|i| m.requests[i].status.is_some());
        for s in log.iter().filter(|s| s.status != 200 && !declared(s)) {
            problems.push(format!(
                "the adapter asked for {} and got {}",
                s.request, s.status
            ));
        }
        for (i, e) in m.requests.iter().enumerate() {
            if !log.iter().any(|s| s.entry == Some(i)) {
                problems.push(format!(
                    "the adapter never asked for {} {:?}",
                    e.path, e.query
                ));
            }
        }
        problems.extend(compare(&dir, &store, &base));
        // Tickets created before the export's first day, or alive on a day
        // whose export could not be had, are flagged; those days noted.
        let notes = store.notes(SOURCE, 0, i64::MAX).unwrap();
        let named = |kind: &str| -> Vec<String> {
            notes
                .iter()
                .filter(|n| n.kind == kind)
                .map(|n| n.name.clone())
                .collect()
        };
        if named("approximated_history") != m.approximated {
            problems.push(format!(
                "approximated_history notes {:?}, expected {:?}",
                named("approximated_history"),
                m.approximated
            ));
        }
        if named("missing_activities_export") != m.missing_days {
            problems.push(format!(
                "missing_activities_export notes {:?}, expected {:?}",
                named("missing_activities_export"),
                m.missing_days
            ));
        }
        if !problems.is_empty() {
            let requests: Vec<String> = log
                .iter()
                .map(|s| format!("    {} {}", s.status, s.request))
                .collect();
            failed.push(format!(
                "{}:\n  {}\n  requests:\n{}",
                dir.display(),
                problems.join("\n  "),
                requests.join("\n")
            ));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}

/// The lifecycle scenario's account as the emulator holds it.
fn fixture_account(dir: &Path) -> Account {
    let j = |p: &str| read_json(&dir.join(p));
    let list = |p: &str| j(p).as_array().unwrap().clone();
    let mut a = Account {
        agents: list("../_account/agents.json"),
        companies: list("../_account/companies.json"),
        ticket_fields: list("../_account/ticket_fields.json"),
        ..Account::default()
    };
    for page in ["tickets_1.json", "tickets_2.json", "tickets_3.json"] {
        for t in list(page) {
            a.tickets.retain(|x| x["id"] != t["id"]);
            a.tickets.push(t);
        }
    }
    for (id, pages) in [
        (
            201,
            vec!["conversations_201_1.json", "conversations_201_2.json"],
        ),
        (202, vec!["conversations_202.json"]),
        (204, vec!["conversations_204.json"]),
    ] {
        a.conversations
            .insert(id, pages.iter().flat_map(|p| list(p)).collect());
    }
    for day in ["2026-11-02", "2026-11-03"] {
        a.activities.insert(
            day.into(),
            j(&format!("activities_{day}.json"))["activities_data"]
                .as_array()
                .unwrap()
                .clone(),
        );
    }
    a
}

#[tokio::test]
async fn the_emulator_serves_the_fixture_account_alike() {
    let key_env = format!("HELPDESK_SLO_CONTRACT_FRESHDESK_EMU_{}", std::process::id());
    std::env::set_var(&key_env, DEMO_API_KEY);
    let dir = fixtures().join("lifecycle");
    let m: Manifest = serde_json::from_value(read_json(&dir.join("manifest.json"))).unwrap();
    let now = helpdesk_slo::time::parse_instant("2026-11-10T00:00:00Z").unwrap();
    for faults in [
        Faults::default(),
        Faults {
            rate_limit_every: Some(3),
            retry_after: 1,
            ..Faults::default()
        },
    ] {
        let limited = faults.rate_limit_every.is_some();
        let options = ServerOptions {
            now: Some(now),
            faults,
            ..ServerOptions::default()
        };
        let server = start(FdState::new(fixture_account(&dir), options))
            .await
            .unwrap();
        let source = source(&dir, &server.base_url(), &m.start_time, &key_env);
        let mut store = SqliteStore::in_memory().unwrap();
        let (mut problems, waited) = backfill(&source, &mut store).await;
        problems.extend(compare(&dir, &store, &server.base_url()));
        let counts = server.state().counts();
        assert_eq!(
            counts.credentials_sent_to_files, 0,
            "the API key never goes to the file host"
        );
        if limited {
            assert!(waited > 0, "the backfill was rate limited");
            assert!(counts.by_status.get(&429).copied().unwrap_or(0) > 0);
        }
        assert!(
            problems.is_empty(),
            "rate limited: {limited}\n{}",
            problems.join("\n")
        );
        server.shutdown().await;
    }
}

#[tokio::test]
async fn an_export_day_past_the_retention_is_noted_and_passed() {
    let key_env = format!("HELPDESK_SLO_CONTRACT_FRESHDESK_OLD_{}", std::process::id());
    std::env::set_var(&key_env, DEMO_API_KEY);
    let dir = fixtures().join("lifecycle");
    let m: Manifest = serde_json::from_value(read_json(&dir.join("manifest.json"))).unwrap();
    // Freshdesk keeps export files 30 days: on 10 December those of early
    // November are gone.
    let now = helpdesk_slo::time::parse_instant("2026-12-10T00:00:00Z").unwrap();
    let options = ServerOptions {
        now: Some(now),
        ..ServerOptions::default()
    };
    let server = start(FdState::new(fixture_account(&dir), options))
        .await
        .unwrap();
    let source = source(&dir, &server.base_url(), &m.start_time, &key_env);
    let mut store = SqliteStore::in_memory().unwrap();
    let (problems, _) = backfill(&source, &mut store).await;
    assert!(problems.is_empty(), "{problems:?}");
    let missing: Vec<String> = store
        .notes(SOURCE, 0, i64::MAX)
        .unwrap()
        .into_iter()
        .filter(|n| n.kind == "missing_activities_export")
        .map(|n| n.name)
        .collect();
    assert_eq!(
        missing,
        vec!["2026-11-02".to_string(), "2026-11-03".to_string()]
    );
    // Every ticket alive on those days is flagged (204 was anyway).
    assert_eq!(noted(&store, "approximated_history"), ["201", "202", "204"]);
    server.shutdown().await;
}

/// `(object path, key, JSON type)`; array items are `[]`, the keys of
/// open maps (`custom_fields`, `choices`, `activity`'s custom field labels
/// aside) `*`.
type Shape = BTreeSet<(String, String, String)>;

const OPEN_MAPS: [&str; 2] = ["custom_fields", "choices"];

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

fn shape_of(path: &str, v: &Value, out: &mut Shape) {
    match v {
        Value::Object(o) => {
            let open = OPEN_MAPS.iter().any(|m| path.ends_with(m));
            for (k, x) in o {
                let key = if open { "*" } else { k.as_str() };
                out.insert((path.to_string(), key.to_string(), type_of(x).to_string()));
                shape_of(&format!("{path}.{key}"), x, out);
            }
        }
        Value::Array(a) => {
            for x in a {
                out.insert((path.to_string(), "[]".into(), type_of(x).to_string()));
                shape_of(&format!("{path}[]"), x, out);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn the_emulator_writes_only_documented_shapes() {
    let dir = fixtures();
    let mut documented: BTreeMap<&str, Shape> = BTreeMap::new();
    let files: [(&str, &[&str]); 6] = [
        (
            "tickets",
            &[
                "lifecycle/tickets_1.json",
                "lifecycle/tickets_2.json",
                "lifecycle/tickets_3.json",
            ],
        ),
        (
            "conversations",
            &[
                "lifecycle/conversations_201_1.json",
                "lifecycle/conversations_201_2.json",
                "lifecycle/conversations_202.json",
                "lifecycle/conversations_204.json",
            ],
        ),
        (
            "export_file",
            &[
                "lifecycle/activities_2026-11-02.json",
                "lifecycle/activities_2026-11-03.json",
            ],
        ),
        ("agents", &["_account/agents.json"]),
        ("companies", &["_account/companies.json"]),
        ("ticket_fields", &["_account/ticket_fields.json"]),
    ];
    for (ep, paths) in files {
        let shape = documented.entry(ep).or_default();
        for p in paths {
            shape_of("", &read_json(&dir.join(p)), shape);
        }
    }
    // Types documented for a key beyond the ones the pages happen to show.
    for w in read_json(&dir.join("shape_widenings.json"))
        .as_array()
        .unwrap()
    {
        let ep = match w["endpoint"].as_str().unwrap() {
            "tickets" => "tickets",
            other => panic!("shape_widenings.json: unknown endpoint {other}"),
        };
        let s = |k: &str| w[k].as_str().unwrap().to_string();
        documented
            .entry(ep)
            .or_default()
            .insert((s("path"), s("key"), s("type")));
    }
    let now = helpdesk_slo::time::parse_instant("2026-11-30T00:00:00Z").unwrap();
    let account = helpdesk_slo::simulator::freshdesk::synthetic::account(
        &helpdesk_slo::simulator::freshdesk::synthetic::Options {
            seed: 11,
            tickets: 300,
            start: now - 20 * 86_400,
            span: 19 * 86_400,
            now,
            late_reply_rate: None,
            sla: None,
        },
    );
    let mut written: BTreeMap<&str, Shape> = BTreeMap::new();
    shape_of(
        "",
        &Value::Array(account.tickets.clone()),
        written.entry("tickets").or_default(),
    );
    for list in account.conversations.values() {
        shape_of(
            "",
            &Value::Array(list.clone()),
            written.entry("conversations").or_default(),
        );
    }
    shape_of(
        "",
        &Value::Array(account.agents.clone()),
        written.entry("agents").or_default(),
    );
    shape_of(
        "",
        &Value::Array(account.companies.clone()),
        written.entry("companies").or_default(),
    );
    shape_of(
        "",
        &Value::Array(account.ticket_fields.clone()),
        written.entry("ticket_fields").or_default(),
    );
    // The export file as served.
    let options = ServerOptions {
        now: Some(now),
        ..ServerOptions::default()
    };
    let day = account.activities.keys().nth(3).cloned().unwrap();
    let server = start(FdState::new(account, options)).await.unwrap();
    let file: Value = reqwest::get(format!(
        "{}/exports/ticket_activities_{day}.json",
        server.files_url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    shape_of("", &file, written.entry("export_file").or_default());
    server.shutdown().await;
    let mut undocumented = Vec::new();
    for (ep, shape) in &written {
        let doc = &documented[ep];
        for t in shape.difference(doc) {
            undocumented.push(format!("{ep}: {t:?}"));
        }
    }
    assert!(
        undocumented.is_empty(),
        "the emulator writes shapes no fixture documents:\n{}",
        undocumented.join("\n")
    );
}

#[tokio::test]
async fn the_report_names_tickets_whose_history_is_approximated() {
    let key_env = format!(
        "HELPDESK_SLO_CONTRACT_FRESHDESK_REPORT_{}",
        std::process::id()
    );
    std::env::set_var(&key_env, DEMO_API_KEY);
    let dir = fixtures().join("lifecycle");
    let m: Manifest = serde_json::from_value(read_json(&dir.join("manifest.json"))).unwrap();
    let now = helpdesk_slo::time::parse_instant("2026-11-10T00:00:00Z").unwrap();
    let options = ServerOptions {
        now: Some(now),
        ..ServerOptions::default()
    };
    let server = start(FdState::new(fixture_account(&dir), options))
        .await
        .unwrap();
    let source = source(&dir, &server.base_url(), &m.start_time, &key_env);
    let mut store = SqliteStore::in_memory().unwrap();
    let (problems, _) = backfill(&source, &mut store).await;
    assert!(problems.is_empty(), "{problems:?}");
    server.shutdown().await;
    let config = config_files::load(&fixtures().join("policy.yaml")).unwrap();
    let options = helpdesk_slo::report::ReportOptions {
        sources: vec![SOURCE.into()],
        ..Default::default()
    };
    let text =
        helpdesk_slo::report::month_report(&store, &config, "2026-11".parse().unwrap(), &options)
            .unwrap();
    assert!(
        text.contains("- 1 ticket whose status history is approximated from the helpdesk's last-value stats (it kept no history for them; their clocks can differ from what happened): `204` (freshdesk)."),
        "{text}"
    );
    assert!(
        !text.contains("`201` (freshdesk)"),
        "201's history was exported"
    );
}

/// The notes of `kind`, by name.
fn noted(store: &SqliteStore, kind: &str) -> Vec<String> {
    store
        .notes(SOURCE, 0, i64::MAX)
        .unwrap()
        .into_iter()
        .filter(|n| n.kind == kind)
        .map(|n| n.name)
        .collect()
}

/// An account without the ticket activities export (every export request
/// answers 404): every ticket alive on a day the export was asked for is
/// flagged, its history taken from its stats alone, and so are its clocks;
/// the report says so.
#[tokio::test]
async fn without_the_export_every_ticket_is_approximated_from_its_stats() {
    let key_env = format!(
        "HELPDESK_SLO_CONTRACT_FRESHDESK_NOEX_{}",
        std::process::id()
    );
    std::env::set_var(&key_env, DEMO_API_KEY);
    let dir = fixtures().join("lifecycle");
    let m: Manifest = serde_json::from_value(read_json(&dir.join("manifest.json"))).unwrap();
    let options = ServerOptions {
        now: Some(helpdesk_slo::time::parse_instant("2026-11-10T00:00:00Z").unwrap()),
        export_enabled: false,
        ..ServerOptions::default()
    };
    let server = start(FdState::new(fixture_account(&dir), options))
        .await
        .unwrap();
    let source = source(&dir, &server.base_url(), &m.start_time, &key_env);
    let mut store = SqliteStore::in_memory().unwrap();
    let (problems, _) = backfill(&source, &mut store).await;
    assert!(problems.is_empty(), "{problems:?}");
    let counts = server.state().counts();
    server.shutdown().await;
    assert_eq!(
        noted(&store, "missing_activities_export"),
        ["2026-11-02", "2026-11-03"]
    );
    assert_eq!(noted(&store, "approximated_history"), ["201", "202", "204"]);
    assert_eq!(
        counts.by_endpoint.get("export_file").copied().unwrap_or(0),
        0,
        "no file was ever offered"
    );
    let config = config_files::load(&fixtures().join("policy.yaml")).unwrap();
    let now = helpdesk_slo::time::parse_instant("2026-11-04T00:00:00Z").unwrap();
    let t = store.ticket(SOURCE, "201").unwrap().unwrap();
    assert_eq!(t.fields["freshdesk_history"], "approximated");
    let ids: Vec<&str> = t.events.iter().filter_map(|e| e.id.as_deref()).collect();
    assert!(
        !ids.iter().any(|id| id.starts_with("x.")),
        "no exported event: {ids:?}"
    );
    // By hand, from 201's stats alone: urgent (sev1) from creation (the
    // list's current priority; the export's high-then-urgent is lost), so
    // first response is due 10:00 and met by the 09:30 reply; no pending
    // (Waiting on Customer 09:30-11:00 is lost), so resolution #1 runs
    // 09:00-13:00 (resolved_at) unpaused, due 17:00; reopened_at 13:30
    // starts #2, closed 15:00. The exact clocks (lifecycle/clocks.json) are
    // sev2 due 13:00, and 2h30 run with 1h30 paused, due 18:30.
    let got: Vec<Value> = helpdesk_slo::engine::evaluate(&config.policy, &t, now)
        .iter()
        .map(|c| serde_json::to_value(c.view(&config.policy)).unwrap())
        .map(|c| {
            serde_json::json!([
                c["metric"],
                c["instance"],
                c["severity"],
                c["state"],
                c["due_at"],
                c["fulfilled_at"],
                c["elapsed_seconds"],
                c["paused_seconds"]
            ])
        })
        .collect();
    assert_eq!(
        got,
        [
            serde_json::json!([
                "first_response",
                1,
                "sev1",
                "met",
                "2026-11-02T10:00:00Z",
                "2026-11-02T09:30:00Z",
                1800,
                0
            ]),
            serde_json::json!([
                "resolution",
                1,
                "sev1",
                "met",
                "2026-11-02T17:00:00Z",
                "2026-11-02T13:00:00Z",
                14400,
                0
            ]),
            serde_json::json!([
                "resolution",
                2,
                "sev1",
                "met",
                "2026-11-02T21:30:00Z",
                "2026-11-02T15:00:00Z",
                5400,
                0
            ]),
        ]
    );
    let options = helpdesk_slo::report::ReportOptions {
        sources: vec![SOURCE.into()],
        ..Default::default()
    };
    let text =
        helpdesk_slo::report::month_report(&store, &config, "2026-11".parse().unwrap(), &options)
            .unwrap();
    assert!(
        text.contains(
            "- 3 tickets whose status history is approximated from the helpdesk's last-value stats"
        ),
        "{text}"
    );
    assert!(
        text.contains("- Days whose ticket history the helpdesk no longer had (their status and priority changes are missing):"),
        "{text}"
    );
}

/// A day whose export file is missing flags the tickets alive on it (the
/// `export_gone` scenario, from the emulator); when the file comes after
/// all (asked for again once a later day has been read), they are read
/// again, exact, and the flag and the day's note go away.
#[tokio::test]
async fn a_missing_day_flags_its_tickets_until_its_file_comes() {
    let key_env = format!(
        "HELPDESK_SLO_CONTRACT_FRESHDESK_GONE_{}",
        std::process::id()
    );
    std::env::set_var(&key_env, DEMO_API_KEY);
    let dir = fixtures().join("lifecycle");
    let gone = fixtures().join("export_gone");
    let m: Manifest = serde_json::from_value(read_json(&dir.join("manifest.json"))).unwrap();
    let mut account = fixture_account(&dir);
    account.export_missing_days.insert("2026-11-03".into());
    let options = ServerOptions {
        now: Some(helpdesk_slo::time::parse_instant("2026-11-10T00:00:00Z").unwrap()),
        ..ServerOptions::default()
    };
    let server = start(FdState::new(account, options)).await.unwrap();
    let base = server.base_url();
    let source = source(&dir, &base, &m.start_time, &key_env);
    let mut store = SqliteStore::in_memory().unwrap();
    let (mut problems, _) = backfill(&source, &mut store).await;
    problems.extend(compare(&gone, &store, &base));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(noted(&store, "approximated_history"), ["202", "204"]);
    assert_eq!(noted(&store, "missing_activities_export"), ["2026-11-03"]);

    // 3 November's file is written after all, and a ticket comes on the 4th.
    let new_ticket: Value = serde_json::from_str(
        r#"{"cc_emails": [], "fwd_emails": [], "reply_cc_emails": [], "ticket_cc_emails": [], "fr_escalated": false, "spam": false,
            "group_id": 5001, "priority": 1, "requester_id": 3003, "responder_id": null, "source": 2, "company_id": 7001, "status": 2,
            "subject": "Question", "id": 205, "type": null, "due_by": "2026-11-06T10:00:00Z", "fr_due_by": "2026-11-04T18:00:00Z",
            "is_escalated": false, "custom_fields": {"cf_product": null, "cf_region": null}, "created_at": "2026-11-04T10:00:00Z",
            "updated_at": "2026-11-04T10:00:00Z", "tags": [], "nr_due_by": null, "nr_escalated": false,
            "stats": {"agent_responded_at": null, "requester_responded_at": null, "first_responded_at": null, "status_updated_at": "2026-11-04T10:00:00Z",
                      "reopened_at": null, "resolved_at": null, "closed_at": null, "pending_since": null}}"#,
    )
    .unwrap();
    let record: Value = serde_json::from_str(
        r#"{"performed_at": "04-11-2026 10:00:00 +0000", "ticket_id": 205, "performer_type": "contact", "performer_id": 3003,
            "activity": {"new_ticket": true, "status": "Open", "priority": 1, "source": 2}}"#,
    )
    .unwrap();
    server.state().with_account(|a| {
        a.export_missing_days.clear();
        a.tickets.push(new_ticket);
        a.activities.insert("2026-11-04".into(), vec![record]);
    });
    let before = server
        .state()
        .counts()
        .by_endpoint
        .get("export")
        .copied()
        .unwrap_or(0);
    let (problems, _) = backfill(&source, &mut store).await;
    assert!(problems.is_empty(), "{problems:?}");
    let asked = server
        .state()
        .counts()
        .by_endpoint
        .get("export")
        .copied()
        .unwrap_or(0)
        - before;
    assert_eq!(asked, 2, "the 4th, then the 3rd again");
    server.shutdown().await;
    let problems = compare_some(&dir, &store, &base, Some(&["201", "202", "204"]));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(noted(&store, "approximated_history"), ["204"]);
    assert!(noted(&store, "missing_activities_export").is_empty());
}
