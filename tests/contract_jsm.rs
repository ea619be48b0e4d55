//! Contract tests against hand-written pages of Jira Service Management's
//! documented wire format (`tests/testdata/jsm/`, see its README).
//!
//! * `fixtures_map_onto_the_expected_timelines`: each scenario's bodies are
//!   served over HTTP exactly as its `manifest.json` says (a request whose
//!   query is not exactly an entry's is `404`, one without Basic
//!   credentials `401`); the real adapter polls every stream until caught
//!   up into a `SqliteStore`, and every ticket read back must equal
//!   `expected.json`, and its clocks `clocks.json` (both worked out by
//!   hand).
//! * `the_emulator_serves_the_fixture_site_alike`: the emulator loaded with
//!   the scenario's site gives the real adapter the same timelines, also
//!   when it answers every third request with 429.
//! * `the_next_sweep_reads_only_what_changed`: incremental polling after
//!   the backfill, through the emulator.
//! * `the_emulator_answers_as_the_fixtures_do`: the emulator's own answers
//!   (search paging, the capped embedded changelog, changelog and SLA
//!   pages) against the fixture bodies.
//! * `the_month_report_counts_the_fixture_requests`: the month report over
//!   the fixtures at `clocks.json`'s instant counts what was worked out by
//!   hand and lists the one breach with its link.
//! * `simulate_kind_jsm_serves_a_synthetic_site`: the `simulate` command.
//! * `the_emulator_writes_only_documented_shapes`: what it serves of a
//!   synthetic site uses only keys and types the fixtures document.

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
use helpdesk_slo::sources::jsm::Jsm;
use helpdesk_slo::sources::Source;
use helpdesk_slo::store::{SqliteStore, Store};

const SOURCE: &str = "jsm";
const STREAMS: [&str; 3] = ["organizations", "agents", "issues"];
const MAX_PAGES: usize = 40;
const EMAIL: &str = "support-bot@acme.example";

mod common;
mod jsm_fixture_site;
use jsm_fixture_site::fixtures;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    start_time: String,
    requests: Vec<Entry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    path: String,
    #[serde(default)]
    query: BTreeMap<String, String>,
    body: String,
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
    base: Mutex<String>,
    log: Mutex<Vec<Served>>,
}

impl Fixtures {
    fn respond(&self, req: &Request<Incoming>) -> Response<Full<Bytes>> {
        let path = req.uri().path().to_string();
        let url =
            reqwest::Url::parse(&format!("http://x/?{}", req.uri().query().unwrap_or(""))).unwrap();
        let query: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
        let request = format!("{path}?{}", req.uri().query().unwrap_or(""));
        let basic = req
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("Basic "));
        let (status, entry, body) = if !basic {
            (
                StatusCode::UNAUTHORIZED,
                None,
                r#"{"errorMessages":["You are not authenticated."],"errors":{}}"#.to_string(),
            )
        } else {
            match self
                .entries
                .iter()
                .position(|e| e.path == path && e.query == query)
            {
                Some(i) => {
                    let text =
                        std::fs::read_to_string(self.dir.join(&self.entries[i].body)).unwrap();
                    let base = self.base.lock().unwrap().clone();
                    (StatusCode::OK, Some(i), text.replace("{base}", &base))
                }
                None => (
                    StatusCode::NOT_FOUND,
                    None,
                    r#"{"errorMessages":["Not found"],"errors":{}}"#.to_string(),
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
        r
    }
}

async fn listen(fx: Arc<Fixtures>) -> String {
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
                    async move { Ok::<_, Infallible>(fx.respond(&req)) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    format!("http://{addr}")
}

fn source(dir: &Path, base: &str, start_time: &str, token_env: &str) -> Jsm {
    let extra = std::fs::read_to_string(dir.join("source.yaml")).unwrap_or_default();
    let yaml = format!(
        "kind: jira_service_management\nurl: {base}\nauth: {{ email: {EMAIL}, token: {{ env: {token_env} }} }}\nstart_time: \"{start_time}\"\n{extra}"
    );
    let spec: SourceSpec = serde_yaml_ng::from_str(&yaml).unwrap();
    Jsm::new(&spec).unwrap()
}

/// Polls every stream until caught up, waiting out 429s as the daemon does.
async fn backfill(source: &Jsm, store: &mut SqliteStore) -> (Vec<String>, u64) {
    common::contract::backfill(source, store, SOURCE, &STREAMS, MAX_PAGES).await
}

/// The stored timelines against `expected.json` and `clocks.json`.
fn compare(dir: &Path, store: &SqliteStore, base: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let text = std::fs::read_to_string(dir.join("expected.json"))
        .unwrap()
        .replace("{base}", base);
    let expected: BTreeMap<String, Value> = serde_json::from_str(&text).unwrap();
    let want: Vec<String> = expected.keys().cloned().collect();
    let have = store.ticket_ids(SOURCE).unwrap();
    if have != want {
        problems.push(format!("stored tickets {have:?}, expected {want:?}"));
    }
    for (id, want) in &expected {
        problems.extend(common::contract::timeline_problems(store, SOURCE, id, want));
    }
    let spec = read_json(&dir.join("clocks.json"));
    let config = config_files::load(&fixtures().join("policy.yaml")).unwrap();
    let now = helpdesk_slo::time::parse_instant(spec["now"].as_str().unwrap()).unwrap();
    for (id, want) in spec["tickets"].as_object().unwrap() {
        problems.extend(common::contract::clock_problems(
            store,
            SOURCE,
            &config.policy,
            id,
            want,
            now,
        ));
    }
    problems
}

#[tokio::test]
async fn fixtures_map_onto_the_expected_timelines() {
    let token_env = format!("HELPDESK_SLO_CONTRACT_JSM_TOKEN_{}", std::process::id());
    std::env::set_var(&token_env, "contract-fixture-token");
    let mut failed = Vec::new();
    for dir in scenarios() {
        let m: Manifest = serde_json::from_value(read_json(&dir.join("manifest.json"))).unwrap();
        let fx = Arc::new(Fixtures {
            dir: dir.clone(),
            entries: m.requests.clone(),
            base: Mutex::new(String::new()),
            log: Mutex::new(Vec::new()),
        });
        let base = listen(fx.clone()).await;
        *fx.base.lock().unwrap() = base.clone();
        let source = source(&dir, &base, &m.start_time, &token_env);
        let mut store = SqliteStore::in_memory().unwrap();
        let (mut problems, _) = backfill(&source, &mut store).await;
        let log = fx.log.lock().unwrap().clone();
        for s in log.iter().filter(|s| s.status != 200) {
            problems.push(format!(
                "the adapter asked for {} and got {}",
                s.request, s.status
            ));
        }
        for (i, e) in m.requests.iter().enumerate() {
            match log.iter().filter(|s| s.entry == Some(i)).count() {
                0 => problems.push(format!(
                    "the adapter never asked for {} {:?}",
                    e.path, e.query
                )),
                1 => {}
                n => problems.push(format!(
                    "the adapter asked {n} times for {} {:?}",
                    e.path, e.query
                )),
            }
        }
        problems.extend(compare(&dir, &store, &base));
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

mod emulator {
    use super::*;
    use helpdesk_slo::simulator::jsm::{start, Faults, JsmState, ServerOptions, Site};
    use jsm_fixture_site::fixture_site;

    const TOKEN: &str = "emulator-contract-token";

    /// Server choices that make the emulator page as the fixtures do.
    pub fn options(faults: Faults) -> ServerOptions {
        ServerOptions {
            email: EMAIL.into(),
            token: TOKEN.into(),
            user_timezone: "America/Los_Angeles".parse().unwrap(),
            embedded_changelog_cap: 2,
            search_page: 2,
            changelog_page: 3,
            organization_page: 1,
            faults,
            ..ServerOptions::default()
        }
    }

    #[tokio::test]
    async fn the_emulator_serves_the_fixture_site_alike() {
        let token_env = format!("HELPDESK_SLO_CONTRACT_JSM_EMU_{}", std::process::id());
        std::env::set_var(&token_env, TOKEN);
        let dir = fixtures().join("lifecycle");
        let m: Manifest = serde_json::from_value(read_json(&dir.join("manifest.json"))).unwrap();
        for faults in [
            Faults::default(),
            Faults {
                rate_limit_every: Some(3),
                retry_after: 1,
                ..Faults::default()
            },
        ] {
            let limited = faults.rate_limit_every.is_some();
            let server = start(JsmState::new(Site::default(), options(faults)))
                .await
                .unwrap();
            let site = fixture_site(&dir, &server.base_url());
            server.state().with_site(|s| *s = site);
            let source = source(&dir, &server.base_url(), &m.start_time, &token_env);
            let mut store = SqliteStore::in_memory().unwrap();
            let (mut problems, waited) = backfill(&source, &mut store).await;
            problems.extend(compare(&dir, &store, &server.base_url()));
            let counts = server.state().counts();
            if limited {
                assert!(waited > 0, "the backfill was rate limited");
                assert!(counts.by_status.get(&429).copied().unwrap_or(0) > 0);
            }
            assert_eq!(
                counts.by_endpoint.get("changelog").copied().unwrap_or(0),
                if limited {
                    counts.by_endpoint["changelog"]
                } else {
                    2
                },
                "only SUP-1's changelog is paged (two pages of three)"
            );
            assert!(
                problems.is_empty(),
                "rate limited: {limited}\n{}",
                problems.join("\n")
            );
            server.shutdown().await;
        }
    }

    /// The `teams`, `org_change` and `request_types` scenarios from the
    /// emulator: the Team, Organizations and Request Type fields served as
    /// Jira writes them (their values now, their history items, by id or
    /// by name only) give the same timelines, tier clocks and plans.
    #[tokio::test]
    async fn the_emulator_serves_the_team_and_organization_sites_alike() {
        let token_env = format!("HELPDESK_SLO_CONTRACT_JSM_TEAMS_{}", std::process::id());
        std::env::set_var(&token_env, TOKEN);
        for scenario in ["teams", "org_change", "request_types", "desk_agents"] {
            let dir = fixtures().join(scenario);
            let m: Manifest =
                serde_json::from_value(read_json(&dir.join("manifest.json"))).unwrap();
            let server = start(JsmState::new(Site::default(), options(Faults::default())))
                .await
                .unwrap();
            let site = fixture_site(&dir, &server.base_url());
            server.state().with_site(|s| *s = site);
            let source = source(&dir, &server.base_url(), &m.start_time, &token_env);
            let mut store = SqliteStore::in_memory().unwrap();
            let (mut problems, _) = backfill(&source, &mut store).await;
            problems.extend(compare(&dir, &store, &server.base_url()));
            assert!(problems.is_empty(), "{scenario}:\n{}", problems.join("\n"));
            server.shutdown().await;
        }
    }

    /// The desk's agents are the users who may be assigned its requests:
    /// read over the whole user window (ten pages of 100), a developer
    /// with a full Atlassian account who is not among them writes as
    /// `other`. When the API user may not list them (`403`), the adapter
    /// asks once, goes on, and takes any Atlassian account for an agent:
    /// the developer's comment is then the first response.
    #[tokio::test]
    async fn agents_are_the_assignable_users_and_a_403_keeps_the_account_type() {
        let token_env = format!("HELPDESK_SLO_CONTRACT_JSM_AGENTS_{}", std::process::id());
        std::env::set_var(&token_env, TOKEN);
        let dir = fixtures().join("desk_agents");
        let m: Manifest = serde_json::from_value(read_json(&dir.join("manifest.json"))).unwrap();
        for forbidden in [false, true] {
            let server = start(JsmState::new(Site::default(), options(Faults::default())))
                .await
                .unwrap();
            let mut site = fixture_site(&dir, &server.base_url());
            site.users_forbidden = forbidden;
            server.state().with_site(|s| *s = site);
            let source = source(&dir, &server.base_url(), &m.start_time, &token_env);
            let mut store = SqliteStore::in_memory().unwrap();
            let (problems, _) = backfill(&source, &mut store).await;
            assert!(problems.is_empty(), "{}", problems.join("\n"));
            let counts = server.state().counts();
            let asked = counts.by_endpoint.get("assignable_users").copied();
            let ticket = store.ticket(SOURCE, "SUP-8").unwrap().unwrap();
            let config = config_files::load(&fixtures().join("policy.yaml")).unwrap();
            let now = helpdesk_slo::time::parse_instant("2026-11-05T00:00:00Z").unwrap();
            let first = helpdesk_slo::engine::evaluate(&config.policy, &ticket, now)
                .iter()
                .map(|c| serde_json::to_value(c.view(&config.policy)).unwrap())
                .find(|c| c["metric"] == "first_response")
                .and_then(|c| c["fulfilled_at"].as_str().map(str::to_string));
            if forbidden {
                assert_eq!(asked, Some(1), "a 403 is asked once");
                assert_eq!(counts.by_status.get(&403).copied(), Some(1));
                assert_eq!(first.as_deref(), Some("2026-11-04T17:20:00Z"));
            } else {
                assert_eq!(asked, Some(10), "the window of 1,000 users in pages of 100");
                assert!(compare(&dir, &store, &server.base_url()).is_empty());
                assert_eq!(first.as_deref(), Some("2026-11-04T18:00:00Z"));
            }
            server.shutdown().await;
        }
    }

    /// Without `sla_fields`, JSM's SLA records come from the request SLA
    /// endpoint, paged (the emulator serves one record a page here), one
    /// page a poll after each request's comments, and are stored as sent:
    /// the lifecycle site gives the `sla_endpoint` timelines.
    #[tokio::test]
    async fn without_sla_fields_the_sla_endpoint_is_paged_and_stored_as_sent() {
        let token_env = format!("HELPDESK_SLO_CONTRACT_JSM_SLA_{}", std::process::id());
        std::env::set_var(&token_env, TOKEN);
        let site_dir = fixtures().join("lifecycle");
        let dir = fixtures().join("sla_endpoint");
        let m: Manifest = serde_json::from_value(read_json(&dir.join("manifest.json"))).unwrap();
        let server = start(JsmState::new(
            Site::default(),
            ServerOptions {
                sla_page: 1,
                ..options(Faults::default())
            },
        ))
        .await
        .unwrap();
        let site = fixture_site(&site_dir, &server.base_url());
        server.state().with_site(|s| *s = site);
        let source = source(&dir, &server.base_url(), &m.start_time, &token_env);
        let mut store = SqliteStore::in_memory().unwrap();
        let (mut problems, _) = backfill(&source, &mut store).await;
        problems.extend(compare(&dir, &store, &server.base_url()));
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        // Two records a request, one a page: two requests each.
        let counts = server.state().counts();
        assert_eq!(
            counts.by_endpoint.get("sla").copied(),
            Some(6),
            "{counts:?}"
        );
        server.shutdown().await;
    }

    /// A request moved to another project and back gets a new key, and its
    /// changelog says so (`Key` items, names only): the next sweep stores
    /// it under its new key (the `moved` scenario's timeline) and removes
    /// the ticket stored under its former key, so it is counted once.
    #[tokio::test]
    async fn a_request_moved_away_and_back_is_counted_once_under_its_new_key() {
        let token_env = format!("HELPDESK_SLO_CONTRACT_JSM_MOVED_{}", std::process::id());
        std::env::set_var(&token_env, TOKEN);
        let dir = fixtures().join("moved");
        let m: Manifest = serde_json::from_value(read_json(&dir.join("manifest.json"))).unwrap();
        let server = start(JsmState::new(Site::default(), options(Faults::default())))
            .await
            .unwrap();
        let moved = fixture_site(&dir, &server.base_url());
        // Before the moves: SUP-6, answered at 09:15, no history.
        let mut before = moved.clone();
        let issue = &mut before.issues[0];
        issue["key"] = "SUP-6".into();
        issue["fields"]["updated"] = "2026-11-06T09:15:00.000-0800".into();
        for map in [
            &mut before.changelogs,
            &mut before.comments,
            &mut before.slas,
        ] {
            let v = map.remove("SUP-9").unwrap();
            map.insert("SUP-6".into(), v);
        }
        before.changelogs.insert("SUP-6".into(), Vec::new());
        server.state().with_site(|s| *s = before);
        let source = source(&dir, &server.base_url(), &m.start_time, &token_env);
        let mut store = SqliteStore::in_memory().unwrap();
        let (problems, _) = backfill(&source, &mut store).await;
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(store.ticket_ids(SOURCE).unwrap(), ["SUP-6"]);
        // Moved to OPS-3 at 09:30 and back as SUP-9 at 10:00; Jira still
        // answers for the former keys.
        server.state().with_site(|s| {
            *s = moved;
            s.moved.insert("SUP-6".into(), "SUP-9".into());
            s.moved.insert("OPS-3".into(), "SUP-9".into());
        });
        let (mut problems, _) = backfill(&source, &mut store).await;
        problems.extend(compare(&dir, &store, &server.base_url()));
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        assert!(store.ticket(SOURCE, "SUP-6").unwrap().is_none());
        assert_eq!(store.stats().unwrap().deleted_tickets, 1);
        server.shutdown().await;
    }

    /// A request the search listed that is gone when its comments are
    /// asked for (404: deleted) is removed from the store.
    #[tokio::test]
    async fn a_request_deleted_after_it_was_listed_is_removed() {
        let token_env = format!("HELPDESK_SLO_CONTRACT_JSM_GONE_{}", std::process::id());
        std::env::set_var(&token_env, TOKEN);
        let dir = fixtures().join("lifecycle");
        let m: Manifest = serde_json::from_value(read_json(&dir.join("manifest.json"))).unwrap();
        let server = start(JsmState::new(Site::default(), options(Faults::default())))
            .await
            .unwrap();
        let site = fixture_site(&dir, &server.base_url());
        server.state().with_site(|s| *s = site);
        let source = source(&dir, &server.base_url(), &m.start_time, &token_env);
        let mut store = SqliteStore::in_memory().unwrap();
        let (problems, _) = backfill(&source, &mut store).await;
        assert!(problems.is_empty(), "{problems:?}");
        assert!(store.ticket(SOURCE, "SUP-2").unwrap().is_some());
        // SUP-2 changes; the search lists it; then it is deleted.
        server.state().with_site(|s| {
            let issue = s.issues.iter_mut().find(|i| i["key"] == "SUP-2").unwrap();
            issue["fields"]["updated"] = "2026-11-04T02:00:00.000-0800".into();
        });
        let mut listed = false;
        while !listed {
            let cursor = store.cursor(SOURCE, "issues").unwrap();
            let page = source.poll("issues", cursor.as_deref()).await.unwrap();
            listed = page
                .records
                .iter()
                .any(|r| matches!(r, helpdesk_slo::sources::Record::Ticket(h) if h.id == "SUP-2"));
            store.apply_page(SOURCE, &page).unwrap();
        }
        server
            .state()
            .with_site(|s| s.issues.retain(|i| i["key"] != "SUP-2"));
        let (problems, _) = backfill(&source, &mut store).await;
        assert!(problems.is_empty(), "{problems:?}");
        assert!(store.ticket(SOURCE, "SUP-2").unwrap().is_none());
        assert_eq!(store.ticket_ids(SOURCE).unwrap(), ["SUP-1", "SUP-3"]);
        server.shutdown().await;
    }

    /// After the backfill, the next sweep finds only what changed: the
    /// request read at the seam comes again unchanged and costs no comment
    /// request; a request that changed later is read again, its new comment
    /// and resolve stored, and its resolution clock met.
    #[tokio::test]
    async fn the_next_sweep_reads_only_what_changed() {
        let token_env = format!("HELPDESK_SLO_CONTRACT_JSM_NEXT_{}", std::process::id());
        std::env::set_var(&token_env, TOKEN);
        let dir = fixtures().join("lifecycle");
        let m: Manifest = serde_json::from_value(read_json(&dir.join("manifest.json"))).unwrap();
        let server = start(JsmState::new(Site::default(), options(Faults::default())))
            .await
            .unwrap();
        let site = fixture_site(&dir, &server.base_url());
        server.state().with_site(|s| *s = site);
        let source = source(&dir, &server.base_url(), &m.start_time, &token_env);
        let mut store = SqliteStore::in_memory().unwrap();
        let (problems, _) = backfill(&source, &mut store).await;
        assert!(problems.is_empty(), "{problems:?}");
        let comments = |s: &JsmState| s.counts().by_endpoint.get("comments").copied().unwrap_or(0);
        let before = comments(server.state());
        assert_eq!(before, 3);
        // Nothing changed: one search page, SUP-3 again (at the seam), skipped.
        let cursor = store.cursor(SOURCE, "issues").unwrap();
        let page = source.poll("issues", cursor.as_deref()).await.unwrap();
        assert!(
            page.caught_up && page.records.is_empty(),
            "{:?}",
            page.records
        );
        store.apply_page(SOURCE, &page).unwrap();
        assert_eq!(
            comments(server.state()),
            before,
            "no comment request for SUP-3"
        );
        // SUP-2: the agent replies and resolves it at 2026-11-04 10:00 UTC.
        let at = "2026-11-04T02:00:00.000-0800";
        server.state().with_site(|s| {
            let resolved = s.statuses.iter().find(|x| x["id"] == "10004").unwrap().clone();
            let agent = s.comments["SUP-2"][0]["author"].clone();
            let issue = s.issues.iter_mut().find(|i| i["key"] == "SUP-2").unwrap();
            issue["fields"]["updated"] = at.into();
            issue["fields"]["status"] = resolved;
            s.changelogs.get_mut("SUP-2").unwrap().push(serde_json::json!({
                "id": "30103", "author": agent, "created": at,
                "items": [{"field": "status", "fieldtype": "jira", "fieldId": "status", "from": "10003",
                           "fromString": "Pending", "to": "10004", "toString": "Resolved"}]}));
            s.comments.get_mut("SUP-2").unwrap().push(serde_json::json!({
                "id": "40104", "author": agent, "body": {"type": "doc", "version": 1, "content": []},
                "created": at, "updated": at, "jsdPublic": true}));
        });
        let (problems, _) = backfill(&source, &mut store).await;
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            comments(server.state()),
            before + 1,
            "only SUP-2's comments read again"
        );
        let t = store.ticket(SOURCE, "SUP-2").unwrap().unwrap();
        let ids: Vec<String> = t.events.iter().filter_map(|e| e.id.clone()).collect();
        assert!(
            ids.contains(&"h.30103.0".to_string()) && ids.contains(&"m.40104".to_string()),
            "{ids:?}"
        );
        let config = config_files::load(&fixtures().join("policy.yaml")).unwrap();
        let now = helpdesk_slo::time::parse_instant("2026-11-05T00:00:00Z").unwrap();
        let clocks: Vec<Value> = helpdesk_slo::engine::evaluate(&config.policy, &t, now)
            .iter()
            .map(|c| serde_json::to_value(c.view(&config.policy)).unwrap())
            .collect();
        // Resolution: 1h run, on hold from 11-02 19:00 until the resolve.
        assert_eq!(clocks[1]["metric"], "resolution");
        assert_eq!(clocks[1]["state"], "met");
        assert_eq!(clocks[1]["fulfilled_at"], "2026-11-04T10:00:00Z");
        server.shutdown().await;
    }

    async fn get(
        base: &str,
        path_and_query: &str,
        auth: bool,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let client = reqwest::Client::new();
        let mut req = client.get(format!("{base}{path_and_query}"));
        if auth {
            req = req.basic_auth(EMAIL, Some(TOKEN));
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap().replace(base, "{base}");
        (
            status,
            headers,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    #[tokio::test]
    async fn the_emulator_answers_as_the_fixtures_do() {
        let dir = fixtures().join("lifecycle");
        let server = start(JsmState::new(
            fixture_site(&dir, "{base}"),
            options(Faults::default()),
        ))
        .await
        .unwrap();
        let base = server.base_url();
        let j = |p: &str| read_json(&dir.join(p));
        let jql = "project%20%3D%20%22SUP%22%20AND%20updated%20%3E%3D%20%222026%2F11%2F01%2015%3A55%22%20ORDER%20BY%20updated%20ASC";
        let fields = "summary,status,priority,created,updated,reporter,labels,customfield_10002,customfield_10030,customfield_10031";
        let search = format!(
            "/rest/api/3/search/jql?jql={jql}&fields={fields}&expand=changelog&maxResults=50"
        );
        let (status, _, mut page1) = get(&base, &search, true).await;
        assert_eq!(status, 200, "{page1}");
        let token = page1["nextPageToken"]
            .as_str()
            .expect("a first page has a token")
            .to_string();
        let mut want1 = j("search_1.json");
        want1.as_object_mut().unwrap().remove("nextPageToken");
        page1.as_object_mut().unwrap().remove("nextPageToken");
        assert_eq!(page1, want1);
        let (_, _, page2) = get(&base, &format!("{search}&nextPageToken={token}"), true).await;
        assert_eq!(
            page2,
            j("search_2.json"),
            "the last page has no nextPageToken key"
        );
        for (path, file) in [
            (
                "/rest/api/3/issue/SUP-1/changelog?startAt=0&maxResults=100",
                "changelog_SUP-1_1.json",
            ),
            (
                "/rest/api/3/issue/SUP-1/changelog?startAt=3&maxResults=100",
                "changelog_SUP-1_2.json",
            ),
            (
                "/rest/api/3/issue/SUP-1/comment?startAt=0&maxResults=100&orderBy=created",
                "comments_SUP-1.json",
            ),
            (
                "/rest/api/3/issue/SUP-2/comment?startAt=0&maxResults=100&orderBy=created",
                "comments_SUP-2.json",
            ),
            ("/rest/servicedeskapi/request/SUP-1/sla", "sla_SUP-1.json"),
            ("/rest/servicedeskapi/request/SUP-2/sla", "sla_SUP-2.json"),
            ("/rest/servicedeskapi/request/SUP-3/sla", "sla_SUP-3.json"),
            (
                "/rest/servicedeskapi/organization?start=0&limit=50",
                "../_site/organizations_1.json",
            ),
            (
                "/rest/servicedeskapi/organization?start=1&limit=50",
                "../_site/organizations_2.json",
            ),
            ("/rest/api/3/status", "../_site/statuses.json"),
        ] {
            let (status, _, body) = get(&base, path, true).await;
            assert_eq!(status, 200, "{path}: {body}");
            assert_eq!(body, j(file), "{path}");
        }
        // Without fields, ids only.
        let (_, _, ids) = get(&base, &format!("/rest/api/3/search/jql?jql={jql}"), true).await;
        assert_eq!(ids["issues"][0], serde_json::json!({"id": "10102"}));
        // The service desk's comments: `public`, Date objects, no accountType.
        let (_, _, desk) = get(&base, "/rest/servicedeskapi/request/SUP-1/comment", true).await;
        let first = &desk["values"][0];
        assert_eq!(first["public"], false);
        assert_eq!(first["created"]["epochMillis"], 1_793_639_400_000_i64);
        assert!(first["author"].get("accountType").is_none());
        // Errors as Jira writes them.
        let (status, _, bad) = get(
            &base,
            "/rest/api/3/search/jql?jql=project%20%3D%20SUP%20ORDER%20BY%20created%20DESC",
            true,
        )
        .await;
        assert_eq!(status, 400);
        assert!(
            bad["errorMessages"][0].as_str().unwrap().contains("JQL"),
            "{bad}"
        );
        let (status, _, _) = get(&base, "/rest/api/3/issue/SUP-9/changelog", true).await;
        assert_eq!(status, 404);
        let (status, _, _) = get(&base, "/rest/api/3/status", false).await;
        assert_eq!(status, 401);
        server.shutdown().await;
        // A spent budget: 429 with Retry-After, X-RateLimit-Reset and the reason.
        let server = start(JsmState::new(
            fixture_site(&dir, "{base}"),
            ServerOptions {
                requests_per_minute: 1,
                ..options(Faults::default())
            },
        ))
        .await
        .unwrap();
        let base = server.base_url();
        let _ = get(&base, "/rest/api/3/status", true).await;
        let (status, headers, _) = get(&base, "/rest/api/3/status", true).await;
        if status != 200 {
            // (A new minute may have begun between the two requests.)
            assert_eq!(status, 429);
            assert!(
                headers["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse::<u64>()
                    .unwrap()
                    >= 1
            );
            assert!(headers["x-ratelimit-reset"]
                .to_str()
                .unwrap()
                .ends_with('Z'));
            assert_eq!(headers["ratelimit-reason"], "jira-burst-based");
        }
        server.shutdown().await;
    }
}

#[test]
fn simulate_kind_jsm_serves_a_synthetic_site() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_helpdesk-slo"))
        .args([
            "simulate",
            "--kind",
            "jira-service-management",
            "--config",
            "tests/testdata/jsm/policy.yaml",
            "--listen",
            "127.0.0.1:0",
            "--days",
            "2",
            "--tickets-per-day",
            "5",
        ])
        .env("HELPDESK_SLO_SIM_TOKEN", "sim-token-from-env")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _guard = common::Guard(child);
    let lines: Vec<String> = BufReader::new(stdout)
        .lines()
        .take(4)
        .map(Result::unwrap)
        .collect();
    let base = lines[0].rsplit(' ').next().unwrap().to_string();
    assert!(lines[0].starts_with("Jira Service Management simulator at http://"));
    assert!(
        !lines.join("\n").contains("sim-token-from-env"),
        "the token is not printed"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let search = client
            .get(format!("{base}/rest/api/3/search/jql"))
            .query(&[
                (
                    "jql",
                    "project = SUP AND updated >= \"2000/01/01 00:00\" ORDER BY updated ASC",
                ),
                ("fields", "status,updated"),
            ])
            .basic_auth(
                helpdesk_slo::simulator::jsm::DEMO_EMAIL,
                Some("sim-token-from-env"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(search.status(), 200);
        let body: Value = search.json().await.unwrap();
        assert_eq!(body["issues"].as_array().unwrap().len(), 10, "{body}");
        let refused = client
            .get(format!("{base}/rest/api/3/status"))
            .basic_auth(helpdesk_slo::simulator::jsm::DEMO_EMAIL, Some("wrong"))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401);
    });
}

#[tokio::test]
async fn the_month_report_counts_the_fixture_requests() {
    let token_env = format!("HELPDESK_SLO_CONTRACT_JSM_REPORT_{}", std::process::id());
    std::env::set_var(&token_env, "contract-fixture-token");
    let dir = fixtures().join("lifecycle");
    let m: Manifest = serde_json::from_value(read_json(&dir.join("manifest.json"))).unwrap();
    let fx = Arc::new(Fixtures {
        dir: dir.clone(),
        entries: m.requests.clone(),
        base: Mutex::new(String::new()),
        log: Mutex::new(Vec::new()),
    });
    let base = listen(fx.clone()).await;
    *fx.base.lock().unwrap() = base.clone();
    let source = source(&dir, &base, &m.start_time, &token_env);
    let mut store = SqliteStore::in_memory().unwrap();
    let (problems, _) = backfill(&source, &mut store).await;
    assert!(problems.is_empty(), "{problems:?}");
    let config = config_files::load(&fixtures().join("policy.yaml")).unwrap();
    // At the instant clocks.json is worked out for.
    let options = helpdesk_slo::report::ReportOptions {
        sources: vec![SOURCE.into()],
        cutoff: Some(helpdesk_slo::time::parse_instant("2026-11-04T12:00:00Z").unwrap()),
        ..Default::default()
    };
    let text =
        helpdesk_slo::report::month_report(&store, &config, "2026-11".parse().unwrap(), &options)
            .unwrap();
    // By hand: SUP-1's first response and two resolutions met, SUP-2's
    // first response met and resolution paused, SUP-3's first response
    // breached and resolution open: 4 met, 1 breached of 7.
    for line in [
        "7 clock(s) counted over 3 ticket(s); 1 breached.",
        "| `premier` | 80.0% | 95.0% | **below objective** |",
        "| sev1 | resolution | 8h | 2 | 2 | 0 | 0 | 0 | 0 | 100.0% |",
        "| sev2 | first_response | 4h | 1 | 1 | 0 | 0 | 0 | 0 | 100.0% |",
        "| sev3 | first_response | 8h | 2 | 1 | 1 | 0 | 0 | 0 | 50.0% |",
        "| sev3 | resolution | 48h | 2 | 0 | 0 | 0 | 2 | 0 | n/a |",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    let breached =
        &text[text.find("## Breached clocks").unwrap()..text.find("## SLA credits").unwrap()];
    assert!(
        breached.contains(&format!("{base}/browse/SUP-3")),
        "{breached}"
    );
    assert!(
        !breached.contains("SUP-1") && !breached.contains("SUP-2"),
        "{breached}"
    );
}

/// `(object path, key, JSON type)`; array items are `[]`.
type Shape = BTreeSet<(String, String, String)>;

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
            for (k, x) in o {
                out.insert((path.to_string(), k.clone(), type_of(x).to_string()));
                shape_of(&format!("{path}.{k}"), x, out);
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

/// What the emulator serves of a synthetic site (search with every field
/// the adapter names and the embedded changelog, changelog and comment
/// pages, SLA records, the assignable users) uses only keys and types the
/// hand-written fixtures document.
#[tokio::test]
async fn the_emulator_writes_only_documented_shapes() {
    use helpdesk_slo::simulator::jsm::{start, synthetic, JsmState, ServerOptions};
    let dir = fixtures().join("lifecycle");
    let mut documented: BTreeMap<&str, Shape> = BTreeMap::new();
    for (ep, files) in [
        (
            "search",
            &[
                "search_1.json",
                "search_2.json",
                "../request_types/search_1.json",
            ][..],
        ),
        (
            "changelog",
            &["changelog_SUP-1_1.json", "changelog_SUP-1_2.json"][..],
        ),
        (
            "comments",
            &[
                "comments_SUP-1.json",
                "comments_SUP-2.json",
                "comments_SUP-3.json",
            ][..],
        ),
        (
            "sla",
            &["sla_SUP-1.json", "sla_SUP-2.json", "sla_SUP-3.json"][..],
        ),
        ("statuses", &["../_site/statuses.json"][..]),
        (
            "organizations",
            &[
                "../_site/organizations_1.json",
                "../_site/organizations_2.json",
            ][..],
        ),
        ("assignable_users", &["../_site/assignable.json"][..]),
    ] {
        let shape = documented.entry(ep).or_default();
        for f in files {
            shape_of("", &read_json(&dir.join(f)), shape);
        }
    }
    let now = helpdesk_slo::time::parse_instant("2026-11-30T00:00:00Z").unwrap();
    let site = synthetic::site(&synthetic::Options {
        seed: 11,
        issues: 200,
        start: now - 20 * 86_400,
        span: 19 * 86_400,
        now,
        project: "SUP".into(),
        timezone: chrono_tz::America::Los_Angeles,
        late_reply_rate: None,
    });
    let keys: Vec<String> = site
        .issues
        .iter()
        .map(|i| i["key"].as_str().unwrap().to_string())
        .collect();
    let server = start(JsmState::new(
        site,
        ServerOptions {
            email: EMAIL.into(),
            token: "shape-token".into(),
            user_timezone: chrono_tz::America::Los_Angeles,
            embedded_changelog_cap: 2,
            changelog_page: 3,
            ..ServerOptions::default()
        },
    ))
    .await
    .unwrap();
    let base = server.base_url();
    let client = reqwest::Client::new();
    let get = |path: String| {
        let req = client
            .get(format!("{base}{path}"))
            .basic_auth(EMAIL, Some("shape-token"));
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let mut written: BTreeMap<&str, Shape> = BTreeMap::new();
    let fields = "summary,status,priority,created,updated,reporter,labels,customfield_10002,customfield_10010,customfield_10030,customfield_10031";
    let jql = "project%20%3D%20SUP%20AND%20updated%20%3E%3D%20%222000%2F01%2F01%2000%3A00%22%20ORDER%20BY%20updated%20ASC";
    let page = get(format!(
        "/rest/api/3/search/jql?jql={jql}&fields={fields}&expand=changelog&maxResults=100"
    ))
    .await;
    assert!(page["issues"].as_array().unwrap().len() == 100, "{page}");
    shape_of("", &page, written.entry("search").or_default());
    for key in keys.iter().take(40) {
        for (ep, path) in [
            (
                "changelog",
                format!("/rest/api/3/issue/{key}/changelog?startAt=0&maxResults=100"),
            ),
            (
                "comments",
                format!("/rest/api/3/issue/{key}/comment?startAt=0&maxResults=100&orderBy=created"),
            ),
            ("sla", format!("/rest/servicedeskapi/request/{key}/sla")),
        ] {
            let body = get(path).await;
            shape_of("", &body, written.entry(ep).or_default());
        }
    }
    shape_of(
        "",
        &get("/rest/api/3/status".into()).await,
        written.entry("statuses").or_default(),
    );
    shape_of(
        "",
        &get("/rest/servicedeskapi/organization?start=0&limit=50".into()).await,
        written.entry("organizations").or_default(),
    );
    let agents =
        get("/rest/api/3/user/assignable/search?project=SUP&startAt=0&maxResults=100".into()).await;
    assert_eq!(agents.as_array().map(Vec::len), Some(4), "{agents}");
    shape_of("", &agents, written.entry("assignable_users").or_default());
    server.shutdown().await;
    let mut undocumented = Vec::new();
    for (ep, shape) in &written {
        for t in shape.difference(&documented[ep]) {
            undocumented.push(format!("{ep}: {t:?}"));
        }
    }
    assert!(
        undocumented.is_empty(),
        "the emulator writes shapes no fixture documents:\n{}",
        undocumented.join("\n")
    );
}
