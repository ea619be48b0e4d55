//! Every parser of outside input, fed broken and arbitrary bytes: the
//! answer is a value or an error, never a panic, and it comes quickly.
//!
//! Inputs are either arbitrary bytes or a valid document damaged by a few
//! edits (bytes flipped, ranges cut or repeated, bytes inserted), which
//! reaches much deeper into a parser than noise does. Covered: the config
//! (YAML, checked as `check` does), an included iCalendar file, the ticket
//! timeline JSON (then evaluated under the config), `evaluate`'s JSON lines,
//! `calendar batch` lines, the web config, and Zendesk's export pages as
//! the real adapter reads them over HTTP.

use std::convert::Infallible;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use proptest::prelude::*;
use tokio::net::TcpListener;

use helpdesk_slo::config_files;
use helpdesk_slo::engine::{evaluate, Ticket};
use helpdesk_slo::policy::spec::SourceSpec;
use helpdesk_slo::policy::{Config, MemoryFiles};
use helpdesk_slo::server::WebConfig;
use helpdesk_slo::sources::zendesk::Zendesk;
use helpdesk_slo::sources::Source;

mod common;

/// How long one parse may take at most: far above any real one, far below
/// a hang (a pathological YAML took 43 s).
const BOUND: Duration = Duration::from_secs(5);

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap()
}

/// One edit of a document.
#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Cut(usize, usize),
    Insert(usize, u8),
    Repeat(usize, usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Flip(at, b)),
        (any::<usize>(), 1usize..64).prop_map(|(at, n)| Edit::Cut(at, n)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Insert(at, b)),
        (any::<usize>(), 1usize..256).prop_map(|(at, n)| Edit::Repeat(at, n)),
    ];
    prop::collection::vec(edit, 1..6)
}

/// `doc` with `edits` applied (positions taken modulo its length).
fn damaged(doc: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut d = doc.to_vec();
    for e in edits {
        let len = d.len().max(1);
        match *e {
            Edit::Flip(at, b) => {
                if let Some(x) = d.get_mut(at % len) {
                    *x ^= b | 1;
                }
            }
            Edit::Cut(at, n) => {
                let at = at % len;
                let end = (at + n).min(d.len());
                if at < end {
                    d.drain(at..end);
                }
            }
            Edit::Insert(at, b) => d.insert((at % len).min(d.len()), b),
            Edit::Repeat(at, n) => {
                let at = at % len;
                let end = (at + n).min(d.len());
                let piece = d.get(at..end).map(<[u8]>::to_vec).unwrap_or_default();
                d.splice(at..at, piece);
            }
        }
    }
    d
}

/// Noise or a damaged copy of `doc`.
fn input_like(doc: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..2048),
        4 => edits().prop_map(move |e| damaged(doc, &e)),
    ]
}

fn bounded<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let out = f();
    assert!(
        started.elapsed() < BOUND,
        "{what} took {:?}",
        started.elapsed()
    );
    out
}

fn celigo() -> &'static [u8] {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DOC.get_or_init(|| read("examples/celigo.yaml")).as_bytes()
}

fn config() -> &'static Config {
    static CONFIG: std::sync::OnceLock<Config> = std::sync::OnceLock::new();
    CONFIG.get_or_init(|| config_files::load(&repo("examples/celigo.yaml")).unwrap())
}

const HOLIDAY_CONFIG: &str = "calendars:
  uk:
    timezone: Europe/London
    hours: { mon-fri: [\"09:00-17:00\"] }
    holidays:
      - file: holidays.ics
severities:
  - { name: high, priorities: [high] }
metrics:
  first_response: { kind: first_response }
plans:
  standard:
    default: true
    calendar: uk
    objective: 95%
    targets:
      high: { first_response: 4h }
";

/// The undamaged documents load: the damaged ones reach the parsers.
#[test]
fn the_undamaged_documents_load() {
    let files = MemoryFiles::new().with("holidays.ics", String::from_utf8_lossy(ics()));
    let c = Config::from_yaml_with(HOLIDAY_CONFIG, Path::new("fuzz.yaml"), &files).unwrap();
    // The file's bank holidays are in (eight a year).
    assert!(c.calendars["uk"].rules().holidays.len() >= 8);
    serde_json::from_slice::<Ticket>(ticket()).unwrap();
    config_files::from_yaml(&String::from_utf8_lossy(celigo()), Path::new("fuzz.yaml")).unwrap();
}

fn ics() -> &'static [u8] {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DOC.get_or_init(|| read("examples/holidays/uk-england-wales-2026-2027.ics"))
        .as_bytes()
}

fn ticket() -> &'static [u8] {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DOC.get_or_init(|| read("tests/testdata/tickets/celigo-preferred-urgent.json"))
        .as_bytes()
}

const BATCH: &[u8] = b"{\"calendar\":\"preferred\",\"op\":\"deadline\",\"start\":\"2026-11-20T16:30:00Z\",\"seconds\":3600}
{\"calendar\":\"premier\",\"op\":\"between\",\"start\":\"2026-11-20T16:30:00Z\",\"end\":\"2026-11-24T16:30:00Z\"}
";

const WEB_CONFIG: &[u8] = b"basic_auth_users:
  prometheus: $2y$10$S/1C6nRs3Fo1KJ6vHwJ4buykO9HOSRBtmOFpkNUhj3BnjBvQ1FNhW
";

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn a_damaged_config_is_an_error_or_a_config(bytes in input_like(celigo())) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = bounded("the config", || config_files::from_yaml(&text, Path::new("fuzz.yaml")));
    }

    #[test]
    fn a_damaged_holiday_file_is_an_error_or_a_calendar(bytes in input_like(ics())) {
        let files = MemoryFiles::new().with("holidays.ics", String::from_utf8_lossy(&bytes));
        let _ = bounded("the iCalendar file", || {
            Config::from_yaml_with(HOLIDAY_CONFIG, Path::new("fuzz.yaml"), &files)
        });
    }

    #[test]
    fn a_damaged_ticket_is_an_error_or_is_evaluated(bytes in input_like(ticket())) {
        let text = String::from_utf8_lossy(&bytes);
        bounded("the ticket", || {
            if let Ok(t) = serde_json::from_str::<Ticket>(&text) {
                // Whatever parses, the engine takes.
                let _ = evaluate(&config().policy, &t, 1_795_000_000);
            }
        });
    }

    #[test]
    fn damaged_ticket_lines_are_an_error_or_tickets(bytes in input_like(ticket())) {
        let mut lines = bytes.clone();
        lines.retain(|&b| b != b'\n');
        lines.push(b'\n');
        lines.extend_from_slice(&bytes);
        let _ = bounded("the JSON lines", || {
            helpdesk_slo::evaluate::input::for_each_ticket::<helpdesk_slo::evaluate::input::InputError>(
                "fuzz.jsonl",
                Cursor::new(lines),
                |t| {
                    let _ = evaluate(&config().policy, t, 1_795_000_000);
                    Ok(())
                },
            )
        });
    }

    #[test]
    fn damaged_batch_lines_get_an_answer_each(bytes in input_like(BATCH)) {
        let mut out = Vec::new();
        let stats = bounded("the batch", || {
            helpdesk_slo::cli::batch::run_batch(config(), Cursor::new(&bytes), &mut out)
        })
        .unwrap();
        // One line out per line in, errors included.
        prop_assert_eq!(stats.lines as usize, out.iter().filter(|&&b| b == b'\n').count());
    }

    #[test]
    fn a_damaged_web_config_is_an_error_or_a_web_config(bytes in input_like(WEB_CONFIG)) {
        let dir = common::scratch("fuzz-web");
        let path = dir.path().join("web.yaml");
        std::fs::write(&path, &bytes).unwrap();
        let _ = bounded("the web config", || WebConfig::load(&path));
    }
}

/// Answers every request with the body currently set.
async fn serve_body(body: Arc<Mutex<Bytes>>) -> String {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let body = body.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |_req: Request<Incoming>| {
                    let b = body.lock().unwrap().clone();
                    async move {
                        let mut r = Response::new(Full::new(b));
                        r.headers_mut()
                            .insert("content-type", "application/json".parse().unwrap());
                        Ok::<_, Infallible>(r)
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    format!("http://{addr}")
}

/// Zendesk's export pages, damaged, as the real adapter reads them: each
/// poll is a page or an error (counted as a parse error), never a panic.
#[test]
fn damaged_zendesk_pages_are_a_page_or_an_error() {
    let pages: Vec<(&str, &str)> = vec![
        (
            "tickets",
            "tests/contract/zendesk/basic_lifecycle/tickets_1.json",
        ),
        (
            "ticket_events",
            "tests/contract/zendesk/basic_lifecycle/ticket_events.json",
        ),
        ("users", "tests/contract/zendesk/_account/users.json"),
        (
            "organizations",
            "tests/contract/zendesk/_account/organizations.json",
        ),
    ];
    let rt = tokio::runtime::Runtime::new().unwrap();
    let body = Arc::new(Mutex::new(Bytes::new()));
    let base = rt.block_on(serve_body(body.clone()));
    std::env::set_var("FUZZ_ZENDESK_TOKEN", "fuzz-token");
    let spec: SourceSpec = serde_yaml_ng::from_str(&format!(
        "kind: zendesk\nurl: {base}\nauth:\n  email: ops@acme.example\n  token:\n    env: FUZZ_ZENDESK_TOKEN\nstart_time: \"2026-09-01T00:00:00Z\"\n"
    ))
    .unwrap();
    let source = Zendesk::new(&spec).unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 48,
        ..ProptestConfig::default()
    });
    for (stream, file) in pages {
        let doc: &'static [u8] = Box::leak(std::fs::read(repo(file)).unwrap().into_boxed_slice());
        runner
            .run(&input_like(doc), |bytes| {
                *body.lock().unwrap() = Bytes::from(bytes);
                let started = Instant::now();
                let _ = rt.block_on(source.poll(stream, None));
                prop_assert!(
                    started.elapsed() < BOUND,
                    "{stream}: {:?}",
                    started.elapsed()
                );
                Ok(())
            })
            .unwrap();
    }
}
