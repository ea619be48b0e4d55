//! The Zendesk emulator over HTTP: the documented shapes of records and
//! child events, custom statuses, paging, overlap, same-second bursts, the
//! last-minute exclusion, updates during a backfill, auth, rate limits,
//! faults and the generator's determinism.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use helpdesk_slo::config_files;
use helpdesk_slo::policy::Config;
use helpdesk_slo::simulator::generator::{
    generate, Dataset, Edit, GeneratorOptions, NewComment, TicketStatus, Update, STATUS_ESCALATED,
    STATUS_WAITING_ON_THIRD_PARTY,
};
use helpdesk_slo::simulator::zendesk::{
    endpoint, start, Faults, Server, ServerOptions, SimState, DEMO_TOKEN,
};
use serde_json::Value;

fn config() -> Config {
    config_files::load(Path::new("examples/celigo.yaml")).unwrap()
}

fn small() -> GeneratorOptions {
    GeneratorOptions {
        seed: 7,
        organizations: 12,
        days: 6,
        tickets_per_day: 25,
        ..GeneratorOptions::default()
    }
}

/// The emulator's clock is pinned an hour after the data end unless the
/// options pin it.
async fn server_with(options: ServerOptions, gen: &GeneratorOptions) -> Server {
    let cfg = config();
    let data = generate(&cfg, gen);
    let options = ServerOptions {
        now: options.now.or(Some(gen.end() + 3600)),
        ..options
    };
    start(SimState::new(&cfg, data, options)).await.unwrap()
}

async fn server() -> Server {
    server_with(ServerOptions::default(), &small()).await
}

async fn get(url: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(url)
        .bearer_auth(DEMO_TOKEN)
        .send()
        .await
        .unwrap()
}

async fn get_json(url: &str) -> Value {
    let r = get(url).await;
    assert_eq!(r.status(), 200, "{url}");
    r.json().await.unwrap()
}

/// Pages a cursor-based export to its end; returns every page.
async fn cursor_pages(first: &str) -> Vec<Value> {
    let mut pages = Vec::new();
    let mut url = first.to_string();
    for _ in 0..10_000 {
        let page = get_json(&url).await;
        let done = page["end_of_stream"].as_bool().unwrap();
        url = page["after_url"].as_str().unwrap().to_string();
        pages.push(page);
        if done {
            return pages;
        }
    }
    panic!("no end_of_stream");
}

fn ids(items: &Value) -> Vec<u64> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn ticket_cursor_returns_every_ticket_once_in_updated_order() {
    let s = server().await;
    let expected: BTreeSet<u64> = s.state().read(|d| d.tickets.iter().map(|t| t.id).collect());
    assert!(expected.len() > 100);
    let pages = cursor_pages(&format!(
        "{}/api/v2/incremental/tickets/cursor.json?start_time=0&per_page=17",
        s.base_url()
    ))
    .await;
    assert!(pages.len() > 5);
    let mut seen = Vec::new();
    let mut keys = Vec::new();
    for (i, p) in pages.iter().enumerate() {
        assert_eq!(p["end_of_stream"], i + 1 == pages.len());
        assert!(p["after_cursor"].is_string());
        for t in p["tickets"].as_array().unwrap() {
            let id = t["id"].as_u64().unwrap();
            seen.push(id);
            keys.push((t["updated_at"].as_str().unwrap().to_string(), id));
            assert_eq!(
                t["url"].as_str().unwrap(),
                format!("{}/api/v2/tickets/{id}.json", s.base_url())
            );
            assert!(t["generated_timestamp"].is_i64());
        }
    }
    assert_eq!(seen.len(), expected.len(), "each ticket exactly once");
    assert_eq!(seen.iter().copied().collect::<BTreeSet<_>>(), expected);
    assert!(
        keys.windows(2).all(|w| w[0] < w[1]),
        "ordered by updated_at, id"
    );
    assert_eq!(s.state().requests(endpoint::TICKETS), pages.len() as u64);

    // The default page size takes everything at once; start_time filters.
    let all = get_json(&format!(
        "{}/api/v2/incremental/tickets/cursor.json?start_time=0",
        s.base_url()
    ))
    .await;
    assert_eq!(all["tickets"].as_array().unwrap().len(), expected.len());
    assert_eq!(all["end_of_stream"], true);
    let late = get_json(&format!(
        "{}/api/v2/incremental/tickets/cursor.json?start_time=9999999999",
        s.base_url()
    ))
    .await;
    assert!(late["tickets"].as_array().unwrap().is_empty());
    assert_eq!(late["end_of_stream"], true);
    s.shutdown().await;
}

#[tokio::test]
async fn users_cursor_pages_every_user_once() {
    let s = server().await;
    let n = s.state().read(|d| d.users.len());
    let pages = cursor_pages(&format!(
        "{}/api/v2/incremental/users/cursor.json?start_time=0&per_page=9",
        s.base_url()
    ))
    .await;
    let all: Vec<u64> = pages.iter().flat_map(|p| ids(&p["users"])).collect();
    assert_eq!(all.len(), n);
    assert_eq!(all.iter().collect::<BTreeSet<_>>().len(), n);
    let roles: BTreeSet<String> = pages
        .iter()
        .flat_map(|p| p["users"].as_array().unwrap().clone())
        .map(|u| u["role"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        roles,
        ["admin", "agent", "end-user"].map(String::from).into()
    );
    s.shutdown().await;
}

#[tokio::test]
async fn ticket_event_pages_overlap_on_the_boundary_and_cover_everything() {
    let s = server().await;
    let expected: BTreeSet<u64> = s.state().read(|d| {
        d.tickets
            .iter()
            .flat_map(|t| &t.audits)
            .map(|a| a.id)
            .collect()
    });
    let mut url = format!(
        "{}/api/v2/incremental/ticket_events.json?start_time=0&include=comment_events&per_page=40",
        s.base_url()
    );
    let mut pages: Vec<Value> = Vec::new();
    loop {
        let p = get_json(&url).await;
        url = p["next_page"].as_str().unwrap().to_string();
        let done = p["end_of_stream"].as_bool().unwrap();
        pages.push(p);
        if done {
            break;
        }
        assert!(pages.len() < 10_000);
    }
    assert!(pages.len() > 5);
    let mut seen = BTreeSet::new();
    let mut comments = 0;
    for w in pages.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let end_time = a["end_time"].as_i64().unwrap();
        let events = a["ticket_events"].as_array().unwrap();
        assert_eq!(events.last().unwrap()["timestamp"], end_time);
        // Every item at the boundary timestamp is repeated on the next page.
        let at_boundary: BTreeSet<u64> = events
            .iter()
            .filter(|e| e["timestamp"] == end_time)
            .map(|e| e["id"].as_u64().unwrap())
            .collect();
        let next: BTreeSet<u64> = ids(&b["ticket_events"]).into_iter().collect();
        assert!(!at_boundary.is_empty());
        assert!(at_boundary.is_subset(&next), "boundary items repeat");
        assert!(next.iter().all(|_| true));
        assert!(b["ticket_events"][0]["timestamp"].as_i64().unwrap() >= end_time);
    }
    for p in &pages {
        assert_eq!(
            p["count"].as_u64().unwrap() as usize,
            p["ticket_events"].as_array().unwrap().len()
        );
        for e in p["ticket_events"].as_array().unwrap() {
            seen.insert(e["id"].as_u64().unwrap());
            assert_eq!(e["event_type"], "Audit");
            for c in e["child_events"].as_array().unwrap() {
                if c["event_type"] == "Comment" {
                    comments += 1;
                    assert!(c["author_id"].is_u64() && c["public"].is_boolean());
                    assert_eq!(c["audit_id"], e["id"]);
                }
            }
        }
    }
    assert_eq!(seen, expected, "pages together cover all events");
    assert!(comments > 0);

    // The Create audit carries the initial fields; comments need the include.
    let plain = get_json(&format!(
        "{}/api/v2/incremental/ticket_events.json?start_time=0",
        s.base_url()
    ))
    .await;
    let first = &plain["ticket_events"][0];
    let fields: BTreeSet<&str> = first["child_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c["event_type"], "Create");
            assert!(c.get("field_name").is_none() && c.get("previous_value").is_none());
            field_key(c).unwrap()
        })
        .collect();
    assert_eq!(
        fields,
        [
            "subject",
            "requester_id",
            "status",
            "priority",
            "type",
            "group_id",
            "organization_id",
            "tags",
            "custom_status_id",
            "ticket_form_id",
            "brand_id"
        ]
        .into()
    );
    s.shutdown().await;
}

#[tokio::test]
async fn a_ticket_updated_during_the_backfill_shows_up_again() {
    let s = server().await;
    let base = s.base_url();
    let first = get_json(&format!(
        "{base}/api/v2/incremental/tickets/cursor.json?start_time=0&per_page=10"
    ))
    .await;
    let changed = first["tickets"][0]["id"].as_u64().unwrap();
    let latest = s
        .state()
        .read(|d| d.tickets.iter().map(|t| t.updated_at).max().unwrap());
    s.state()
        .modify(|d: &mut Dataset| {
            d.update_ticket(Update {
                ticket_id: changed,
                at: latest + 100,
                updater_id: 1,
                edits: vec![Edit::Priority(Some("urgent".into()))],
                comment: Some(NewComment {
                    author_id: 1,
                    public: true,
                    body: "again".into(),
                }),
            })
        })
        .unwrap();
    let rest = cursor_pages(first["after_url"].as_str().unwrap()).await;
    let later: Vec<&Value> = rest
        .iter()
        .flat_map(|p| p["tickets"].as_array().unwrap())
        .filter(|t| t["id"] == changed)
        .collect();
    assert_eq!(later.len(), 1, "the changed ticket comes again, once");
    assert_eq!(later[0]["priority"], "urgent");
    let last_page = rest.last().unwrap();
    assert_eq!(
        last_page["tickets"].as_array().unwrap().last().unwrap()["id"],
        changed
    );

    // Resuming from the final cursor: nothing new, then the next change.
    let resume = last_page["after_url"].as_str().unwrap().to_string();
    let empty = get_json(&resume).await;
    assert!(empty["tickets"].as_array().unwrap().is_empty());
    assert_eq!(empty["end_of_stream"], true);
    s.state()
        .modify(|d| d.delete_ticket(3, latest + 200))
        .unwrap();
    let again = get_json(&resume).await;
    assert_eq!(ids(&again["tickets"]), vec![3]);
    assert_eq!(again["tickets"][0]["status"], "deleted");
    let events = get_json(&format!(
        "{base}/api/v2/incremental/ticket_events.json?start_time={}&include=comment_events",
        latest + 100
    ))
    .await;
    assert_eq!(events["ticket_events"][0]["ticket_id"], changed);
    assert_eq!(
        get(&format!("{base}/api/v2/tickets/3.json")).await.status(),
        404
    );
    assert_eq!(
        get_json(&format!("{base}/api/v2/tickets/{changed}.json")).await["ticket"]["id"],
        changed
    );
    s.shutdown().await;
}

/// The links of reports and the JSON API (`{url}/agent/tickets/{id}`) lead
/// to a page a person can read, without an API token.
#[tokio::test]
async fn ticket_links_answer_with_the_tickets_page() {
    let s = server().await;
    let c = reqwest::Client::new();
    let tickets = get_json(&format!(
        "{}/api/v2/incremental/tickets/cursor.json?start_time=0",
        s.base_url()
    ))
    .await;
    let first = &tickets["tickets"][0];
    let id = first["id"].as_u64().unwrap();
    let page = c
        .get(format!("{}/agent/tickets/{id}", s.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let html = page.text().await.unwrap();
    assert!(html.contains(first["subject"].as_str().unwrap()), "{html}");
    assert!(html.contains(&format!("#{id}")), "{html}");
    let missing = c
        .get(format!("{}/agent/tickets/999999999", s.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn requests_need_the_token() {
    let s = server().await;
    let url = format!(
        "{}/api/v2/incremental/tickets/cursor.json?start_time=0",
        s.base_url()
    );
    let c = reqwest::Client::new();
    let none = c.get(&url).send().await.unwrap();
    assert_eq!(none.status(), 401);
    assert!(none.headers().contains_key("x-rate-limit"));
    let body: Value = none.json().await.unwrap();
    assert_eq!(body["error"], "Couldn't authenticate you");
    let wrong = c.get(&url).bearer_auth("nope").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let basic = c
        .get(&url)
        .basic_auth("agent@example.com/token", Some(DEMO_TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 200);
    let h = basic.headers();
    assert_eq!(h["x-rate-limit"], "700");
    assert!(
        h["x-rate-limit-remaining"]
            .to_str()
            .unwrap()
            .parse::<u32>()
            .unwrap()
            < 700
    );
    let password = c
        .get(&url)
        .basic_auth("agent@example.com", Some(DEMO_TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(password.status(), 401);
    assert_eq!(s.state().stats().unauthorized, 3);
    let missing: Value = get(&format!("{}/api/v2/nothing.json", s.base_url()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(missing["error"], "InvalidEndpoint");
    let bad = get(&format!(
        "{}/api/v2/incremental/tickets/cursor.json?cursor=%25%25",
        s.base_url()
    ))
    .await;
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert!(body["error"].is_string() && body["description"].is_string());
    s.shutdown().await;
}

#[tokio::test]
async fn an_incremental_budget_answers_429_with_retry_after() {
    let s = server_with(
        ServerOptions {
            incremental_per_minute: Some(3),
            ..ServerOptions::default()
        },
        &small(),
    )
    .await;
    let url = format!(
        "{}/api/v2/incremental/organizations.json?start_time=0",
        s.base_url()
    );
    for left in [2, 1, 0] {
        let r = get(&url).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-rate-limit"], "3");
        assert_eq!(
            r.headers()["x-rate-limit-remaining"],
            left.to_string().as_str()
        );
    }
    let r = get(&url).await;
    assert_eq!(r.status(), 429);
    let after: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&after));
    // Other endpoints are not in the incremental budget.
    let schedules = get_json(&format!("{}/api/v2/business_hours/schedules", s.base_url())).await;
    assert_eq!(schedules["schedules"].as_array().unwrap().len(), 5);
    let policies = get_json(&format!("{}/api/v2/slas/policies", s.base_url())).await;
    let p = policies["sla_policies"].as_array().unwrap();
    assert_eq!(p.len(), 4);
    assert!(p
        .iter()
        .all(|x| !x["policy_metrics"].as_array().unwrap().is_empty()));
    assert_eq!(s.state().stats().budget_exceeded, 1);
    s.shutdown().await;
}

/// Status and whether the body parsed, for each of a fixed series of requests.
async fn fault_run(
    seed: u64,
) -> (
    Vec<(u16, bool, bool)>,
    helpdesk_slo::simulator::zendesk::FaultStats,
) {
    let s = server_with(
        ServerOptions {
            faults: Faults {
                seed,
                rate_limit_every: Some(7),
                retry_after: 2,
                server_error_rate: 0.15,
                malformed_rate: 0.15,
                duplicate_rate: 0.5,
                delay: None,
            },
            ..ServerOptions::default()
        },
        &small(),
    )
    .await;
    let mut out = Vec::new();
    let mut after = None::<String>;
    for i in 0..60 {
        let url = match (&after, i % 2) {
            (Some(u), 0) => u.clone(),
            _ => format!(
                "{}/api/v2/incremental/tickets/cursor.json?start_time=0&per_page=5",
                s.base_url()
            ),
        };
        let r = get(&url).await;
        let status = r.status().as_u16();
        let retry = r.headers().contains_key("retry-after");
        if status == 429 {
            assert_eq!(r.headers()["retry-after"], "2");
        }
        let parsed = r.json::<Value>().await.ok();
        if let Some(p) = &parsed {
            if let Some(u) = p["after_url"].as_str() {
                after = Some(u.to_string());
            }
        }
        out.push((status, parsed.is_some(), retry));
    }
    let stats = s.state().stats();
    s.shutdown().await;
    (out, stats)
}

#[tokio::test]
async fn faults_are_deterministic_for_a_seed_and_counted() {
    let (a, sa) = fault_run(42).await;
    let (b, sb) = fault_run(42).await;
    assert_eq!(a, b);
    assert_eq!(sa, sb);
    assert_eq!(sa.requests, 60);
    assert_eq!(sa.rate_limited, 8); // every 7th of 60
    assert!(
        sa.server_errors > 0 && sa.malformed > 0 && sa.duplicates > 0,
        "{sa:?}"
    );
    let count = |f: &dyn Fn(&(u16, bool, bool)) -> bool| a.iter().filter(|x| f(x)).count() as u64;
    assert_eq!(count(&|x| x.0 == 429), sa.rate_limited);
    assert_eq!(count(&|x| x.0 >= 500), sa.server_errors);
    assert_eq!(count(&|x| x.0 == 200 && !x.1), sa.malformed);
    assert_eq!(count(&|x| x.0 == 503 && !x.2), 0, "503 has Retry-After");
    let (c, _) = fault_run(43).await;
    assert_ne!(a, c, "another seed, other faults");
}

#[tokio::test]
async fn duplicates_repeat_the_record_before_the_page() {
    let s = server_with(
        ServerOptions {
            faults: Faults {
                duplicate_rate: 1.0,
                delay: Some(std::time::Duration::from_millis(5)),
                ..Faults::default()
            },
            ..ServerOptions::default()
        },
        &small(),
    )
    .await;
    let first = get_json(&format!(
        "{}/api/v2/incremental/tickets/cursor.json?start_time=0&per_page=4",
        s.base_url()
    ))
    .await;
    let second = get_json(first["after_url"].as_str().unwrap()).await;
    assert_eq!(second["tickets"][0]["id"], first["tickets"][3]["id"]);
    assert_eq!(second["tickets"].as_array().unwrap().len(), 5);
    assert_eq!(s.state().stats().duplicates, 1);
    assert_eq!(s.state().stats().delayed, 2);
    s.shutdown().await;
}

#[test]
fn the_generator_is_deterministic_and_produces_the_documented_mix() {
    let cfg = config();
    let opts = GeneratorOptions {
        seed: 11,
        organizations: 40,
        days: 28,
        tickets_per_day: 60,
        ..GeneratorOptions::default()
    };
    let a = generate(&cfg, &opts);
    assert_eq!(a, generate(&cfg, &opts));
    assert_ne!(
        a,
        generate(
            &cfg,
            &GeneratorOptions {
                seed: 12,
                ..opts.clone()
            }
        )
    );

    let s = a.summary();
    let n = s.tickets as f64;
    assert_eq!(s.tickets, 28 * 60);
    let share = |x: usize| x as f64 / n;
    // Organizations: every organization-tag plan, and some on no plan.
    let plans: BTreeSet<&str> = s.organizations_by_plan.keys().map(String::as_str).collect();
    assert_eq!(
        plans,
        ["(none)", "essential", "preferred", "premier"].into()
    );
    for o in &a.organizations {
        match o.plan.as_deref() {
            Some(p) => assert!(o.tags.contains(&format!("csp_{p}"))),
            None => assert!(!o.tags.iter().any(|t| t.starts_with("csp_"))),
        }
    }
    // Priorities: mostly Zendesk names; the configured p1..p4 sometimes.
    let p = |k: &str| share(s.by_priority.get(k).copied().unwrap_or(0));
    let zendesk = p("urgent") + p("high") + p("normal") + p("low");
    let custom = p("p1") + p("p2") + p("p3") + p("p4");
    assert!(
        zendesk > 0.75 && custom > 0.03 && custom < 0.25,
        "{:?}",
        s.by_priority
    );
    assert!(p("(none)") > 0.01 && p("(none)") < 0.1);
    assert!(p("normal") > p("urgent"), "{:?}", s.by_priority);
    // Seasonality: quiet weekends and nights in the plan's zone.
    let weekend = share(a.stats.weekend_created);
    let daytime = share(a.stats.daytime_created);
    assert!(weekend < 0.15, "weekend share {weekend}");
    assert!(daytime > 0.6, "daytime share {daytime}");
    // Lifecycle.
    let status = |k: &str| share(s.by_status.get(k).copied().unwrap_or(0));
    assert!(
        status("solved") + status("closed") > 0.4,
        "{:?}",
        s.by_status
    );
    assert!(status("open") + status("pending") + status("new") > 0.05);
    assert!(status("deleted") > 0.0 && status("deleted") < 0.05);
    assert!(s.public_agent_replies as f64 > n);
    assert!(share(s.internal_notes) > 0.05);
    assert!(share(s.requester_comments) > 1.0);
    assert!(share(s.pending_periods) > 0.2);
    assert!(share(s.group_changes) > 0.03);
    assert!(share(s.priority_changes) > 0.01);
    assert!(s.holds > 0);
    assert!(share(s.reopened_tickets) > 0.02 && share(s.reopened_tickets) < 0.15);
    // Around the SLA history: kinds a consumer must ignore or map.
    assert!(s.notifications as f64 > 0.9 * s.public_agent_replies as f64);
    assert!(s.deleted_user_comments > 0 && share(s.deleted_user_comments) < 0.05);
    assert!(s.satisfaction_ratings > 0 && s.voice_comments > 0);
    assert_eq!(s.non_default_custom_statuses, 0, "off by default");
    assert_eq!(s.merged_tickets, 0, "off by default");
    let late = a.stats.late_replies as f64 / a.stats.replies_with_target as f64;
    assert!((0.06..0.2).contains(&late), "late share {late}");
    // Nothing after `now`; event ids unique.
    let end = opts.end();
    let mut ids = BTreeMap::new();
    for t in &a.tickets {
        assert!(t.updated_at <= end);
        assert_eq!(t.audits[0].timestamp, t.created_at);
        for au in &t.audits {
            assert!(ids.insert(au.id, ()).is_none());
            for e in &au.events {
                assert!(ids.insert(e.id, ()).is_none());
            }
        }
    }
}

#[test]
fn the_simulate_command_serves_until_killed() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let help = Command::new(env!("CARGO_BIN_EXE_helpdesk-slo"))
        .args(["simulate", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.contains("Example:") && text.contains("HELPDESK_SLO_SIM_TOKEN"),
        "{text}"
    );

    let mut child = Command::new(env!("CARGO_BIN_EXE_helpdesk-slo"))
        .args([
            "simulate",
            "--config",
            "examples/celigo.yaml",
            "--listen",
            "127.0.0.1:0",
            "--days",
            "3",
            "--tickets-per-day",
            "10",
            "--organizations",
            "5",
        ])
        .env("HELPDESK_SLO_SIM_TOKEN", "from-env")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let base = first.rsplit(' ').next().unwrap().to_string();
    let token_line = lines.next().unwrap().unwrap();
    assert!(token_line.contains("HELPDESK_SLO_SIM_TOKEN"));
    assert!(
        !token_line.contains("from-env"),
        "the token itself is not printed"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = rt.block_on(async {
        reqwest::Client::new()
            .get(format!(
                "{base}/api/v2/incremental/tickets/cursor.json?start_time=0"
            ))
            .bearer_auth("from-env")
            .send()
            .await
            .unwrap()
            .status()
    });
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 200);
}

/// The one key of a Create/Change child that names its field.
fn field_key(c: &Value) -> Option<&str> {
    const OTHER: [&str; 7] = [
        "id",
        "via",
        "via_reference_id",
        "event_type",
        "previous_value",
        "added_tags",
        "removed_tags",
    ];
    let keys: Vec<&str> = c
        .as_object()?
        .keys()
        .map(String::as_str)
        .filter(|k| !OTHER.contains(k))
        .collect();
    (keys.len() == 1).then(|| keys[0])
}

/// Every ticket event from `start` (with comments), paged by end_time.
async fn all_events(base: &str, start: i64) -> Vec<Value> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let mut start = start;
    loop {
        let p = get_json(&format!(
            "{base}/api/v2/incremental/ticket_events.json?start_time={start}&include=comment_events"
        ))
        .await;
        for e in p["ticket_events"].as_array().unwrap() {
            if seen.insert(e["id"].as_u64().unwrap()) {
                out.push(e.clone());
            }
        }
        if p["end_of_stream"] == true {
            return out;
        }
        let end = p["end_time"].as_i64().unwrap();
        start = if end == start { end + 1 } else { end };
    }
}

#[tokio::test]
async fn child_events_carry_their_field_as_a_key_and_comments_every_documented_field() {
    let s = server_with(
        ServerOptions::default(),
        &GeneratorOptions {
            custom_status_rate: 0.3,
            merge_rate: 0.1,
            ..small()
        },
    )
    .await;
    let users: BTreeSet<u64> = s.state().read(|d| d.users.iter().map(|u| u.id).collect());
    let events = all_events(&s.base_url(), 0).await;
    let mut kinds = BTreeMap::<String, usize>::new();
    let mut deleted_authors = 0;
    let mut merges = 0;
    for e in &events {
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
        ] {
            assert!(e.get(k).is_some(), "{k} in {e}");
        }
        let via = e["via"].as_str().expect("via is a label");
        if e["updater_id"] == -1 {
            assert!(["Closed ticket", "Rule"].contains(&via), "{via}");
        }
        if !e["merged_ticket_ids"].as_array().unwrap().is_empty() {
            merges += 1;
            assert_eq!(via, "Merge");
        }
        let children = e["child_events"].as_array().unwrap();
        let has = |key: &str| children.iter().any(|c| c.get(key).is_some());
        // A status change comes with its custom status.
        if has("status") && children.iter().any(|c| c["event_type"] == "Change") {
            assert!(has("custom_status_id"), "{e}");
        }
        for c in children {
            let kind = c["event_type"].as_str().unwrap().to_string();
            match kind.as_str() {
                "Create" | "Change" => {
                    let key = field_key(c).unwrap_or_else(|| panic!("one field in {c}"));
                    assert!(c["via"].is_string() && c["via_reference_id"].is_null());
                    assert_eq!(c.get("previous_value").is_some(), kind == "Change");
                    if key == "tags" {
                        assert!(c["added_tags"].is_array() && c["removed_tags"].is_array());
                    }
                    if key == "custom_ticket_fields" {
                        assert_eq!(c[key].as_object().unwrap().len(), 1);
                    }
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
                    assert!(c["via"]["channel"].is_string());
                    assert!(["Comment", "VoiceComment"].contains(&c["type"].as_str().unwrap()));
                    if c["type"] == "VoiceComment" {
                        assert_eq!(c["via"]["channel"], "voice");
                        *kinds.entry("VoiceComment".into()).or_default() += 1;
                    }
                    if !users.contains(&c["author_id"].as_u64().unwrap()) {
                        deleted_authors += 1;
                    }
                }
                "Notification" => {
                    assert_eq!(c["via"]["source"]["rel"], "trigger");
                    assert!(c["recipients"].is_array() && c["subject"].is_string());
                }
                _ => {}
            }
            *kinds.entry(kind).or_default() += 1;
        }
    }
    for k in [
        "Create",
        "Change",
        "Comment",
        "VoiceComment",
        "Notification",
        "Cc",
        "SatisfactionRating",
    ] {
        assert!(kinds.contains_key(k), "{k}: {kinds:?}");
    }
    assert!(deleted_authors > 0, "comments by deleted users");
    assert!(merges > 0, "merges");
    // Without the include, no comments.
    let plain = get_json(&format!(
        "{}/api/v2/incremental/ticket_events.json?start_time=0",
        s.base_url()
    ))
    .await;
    assert!(plain["ticket_events"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["child_events"].as_array().unwrap())
        .all(|c| c["event_type"] != "Comment"));
    s.shutdown().await;
}

#[tokio::test]
async fn custom_statuses_are_served_and_tickets_refer_to_them() {
    let s = server_with(
        ServerOptions::default(),
        &GeneratorOptions {
            custom_status_rate: 0.5,
            ..small()
        },
    )
    .await;
    let base = s.base_url();
    let list = get_json(&format!("{base}/api/v2/custom_statuses.json")).await;
    assert_eq!(
        list,
        get_json(&format!("{base}/api/v2/custom_statuses")).await
    );
    let statuses = list["custom_statuses"].as_array().unwrap();
    let mut category = BTreeMap::new();
    for c in statuses {
        for k in [
            "url",
            "id",
            "status_category",
            "agent_label",
            "raw_agent_label",
            "end_user_label",
            "raw_end_user_label",
            "description",
            "raw_description",
            "end_user_description",
            "raw_end_user_description",
            "active",
            "default",
            "created_at",
            "updated_at",
        ] {
            assert!(c.get(k).is_some(), "{k}");
        }
        category.insert(
            c["id"].as_u64().unwrap(),
            c["status_category"].as_str().unwrap().to_string(),
        );
    }
    for cat in ["new", "open", "pending", "hold", "solved"] {
        let defaults = statuses
            .iter()
            .filter(|c| c["status_category"] == cat && c["default"] == true)
            .count();
        assert_eq!(defaults, 1, "{cat}");
    }
    assert!(statuses.iter().any(|c| c["default"] == false));
    // Every ticket's custom status is one of them, in its status's category.
    let tickets = get_json(&format!(
        "{base}/api/v2/incremental/tickets/cursor.json?start_time=0"
    ))
    .await;
    for t in tickets["tickets"].as_array().unwrap() {
        let cat = &category[&t["custom_status_id"].as_u64().unwrap()];
        match t["status"].as_str().unwrap() {
            "closed" | "deleted" => assert_eq!(cat, "solved"),
            s => assert_eq!(cat, s),
        }
    }
    // Some updates go to the non-default ones.
    let events = all_events(&base, 0).await;
    let to_custom = events
        .iter()
        .flat_map(|e| e["child_events"].as_array().unwrap())
        .filter(|c| {
            c["custom_status_id"]
                .as_u64()
                .is_some_and(|id| [STATUS_ESCALATED, STATUS_WAITING_ON_THIRD_PARTY].contains(&id))
        })
        .count();
    assert!(to_custom > 0);

    // A test can serve an update with only a custom_status_id child.
    let (id, at) = s.state().read(|d| {
        let t = d
            .tickets
            .iter()
            .find(|t| t.status == TicketStatus::Open)
            .unwrap();
        (
            t.id,
            d.tickets.iter().map(|t| t.updated_at).max().unwrap() + 10,
        )
    });
    s.state()
        .modify(|d| {
            d.update_ticket(Update {
                ticket_id: id,
                at,
                updater_id: 370_000_001,
                edits: vec![Edit::CustomStatusOnly(STATUS_WAITING_ON_THIRD_PARTY)],
                comment: None,
            })
        })
        .unwrap();
    let page = get_json(&format!(
        "{base}/api/v2/incremental/ticket_events.json?start_time={at}"
    ))
    .await;
    let children = page["ticket_events"][0]["child_events"].as_array().unwrap();
    assert_eq!(children.len(), 1, "{children:?}");
    assert_eq!(
        children[0]["custom_status_id"],
        STATUS_WAITING_ON_THIRD_PARTY
    );
    assert_eq!(children[0]["event_type"], "Change");
    let t = get_json(&format!("{base}/api/v2/tickets/{id}.json")).await;
    assert_eq!(t["ticket"]["status"], "hold");
    s.shutdown().await;
}

#[tokio::test]
async fn a_second_with_more_items_than_a_page_comes_whole_and_ends_where_it_began() {
    let s = server().await;
    let base = s.base_url();
    // 45 updates in one second, in the middle of the data.
    let at = s.state().read(|d| d.tickets[40].created_at + 1);
    let made = s.state().modify(|d| d.same_second_burst(at, 45));
    assert_eq!(made, 45);
    let url = |start: i64| {
        format!("{base}/api/v2/incremental/ticket_events.json?start_time={start}&per_page=20")
    };
    let page = get_json(&url(at)).await;
    let items = page["ticket_events"].as_array().unwrap();
    assert!(items.len() >= 45, "{}", items.len());
    assert_eq!(page["count"].as_u64().unwrap() as usize, items.len());
    assert!(items.iter().all(|e| e["timestamp"] == at));
    assert!(items.iter().any(|e| e["via"] == "Web service"));
    assert_eq!(page["end_time"], at);
    assert_eq!(page["end_of_stream"], false);
    assert!(page["next_page"]
        .as_str()
        .unwrap()
        .contains(&format!("start_time={at}")));
    // A page that reaches into the second takes all of it too.
    let before = get_json(&url(at - 1)).await;
    let n = before["ticket_events"].as_array().unwrap().len();
    assert!(n > 20);
    assert_eq!(before["end_time"], at);
    // Any page ends with every item of its last second.
    let mut start = 0;
    loop {
        let p = get_json(&url(start)).await;
        let end = p["end_time"].as_i64().unwrap();
        if p["end_of_stream"] == true {
            break;
        }
        let next = get_json(&url(end)).await;
        let last: BTreeSet<u64> = p["ticket_events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["timestamp"] == end)
            .map(|e| e["id"].as_u64().unwrap())
            .collect();
        let again: BTreeSet<u64> = next["ticket_events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["timestamp"] == end)
            .map(|e| e["id"].as_u64().unwrap())
            .collect();
        assert_eq!(last, again, "the second {end} is whole on both pages");
        start = if end == start { end + 1 } else { end };
    }
    s.shutdown().await;
}

#[tokio::test]
async fn the_most_recent_minute_is_left_out() {
    let s = server().await;
    let base = s.base_url();
    let (t, total) = s.state().read(|d| {
        let all = d.audits_in_order();
        (all[all.len() / 2].timestamp, all.len())
    });
    s.state().set_now(Some(t + 30));
    assert_eq!(s.state().now(), t + 30);
    let page = get_json(&format!(
        "{base}/api/v2/incremental/ticket_events.json?start_time=0"
    ))
    .await;
    let items = page["ticket_events"].as_array().unwrap();
    assert!(!items.is_empty() && items.len() < total);
    assert!(items
        .iter()
        .all(|e| e["timestamp"].as_i64().unwrap() <= t - 30));
    assert_eq!(page["end_of_stream"], true);
    let end = page["end_time"].as_i64().unwrap();
    assert!(end <= t - 30);
    let tickets = get_json(&format!(
        "{base}/api/v2/incremental/tickets/cursor.json?start_time=0"
    ))
    .await;
    assert!(tickets["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["generated_timestamp"].as_i64().unwrap() <= t - 30));
    // A minute later the rest of that minute is there, from end_time on.
    s.state().set_now(Some(t + 90));
    let later = get_json(&format!(
        "{base}/api/v2/incremental/ticket_events.json?start_time={end}"
    ))
    .await;
    let ts: Vec<i64> = later["ticket_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["timestamp"].as_i64().unwrap())
        .collect();
    assert!(ts.iter().any(|&x| x > t - 30 && x <= t + 30), "{ts:?}");
    assert!(ts.iter().all(|&x| x <= t + 30));
    s.shutdown().await;
}

#[test]
fn the_severity_field_changes_over_time_and_ends_at_the_header_value() {
    let text = std::fs::read_to_string("examples/celigo.yaml").unwrap();
    let text = format!("severity_field: \"360012345\"\n{text}");
    let cfg = Config::from_yaml(&text, Path::new("examples/celigo.yaml")).unwrap();
    let d = generate(
        &cfg,
        &GeneratorOptions {
            severity_change_rate: 0.3,
            ..small()
        },
    );
    use helpdesk_slo::simulator::generator::{ChildKind, Field};
    let mut changed = 0;
    for t in &d.tickets {
        let mut current: Option<Value> = None;
        for a in &t.audits {
            for e in &a.events {
                let v = match &e.kind {
                    ChildKind::Create {
                        field: Field::Custom(360_012_345),
                        value,
                    } => value,
                    ChildKind::Change {
                        field: Field::Custom(360_012_345),
                        value,
                        previous_value,
                    } => {
                        // Each change starts from the value before it.
                        assert_eq!(&current.clone().unwrap_or(Value::Null), previous_value);
                        changed += 1;
                        value
                    }
                    _ => continue,
                };
                current = Some(v.clone());
            }
        }
        let header = t
            .custom_fields
            .iter()
            .find(|(f, _)| *f == 360_012_345)
            .map(|(_, v)| v.clone());
        assert_eq!(
            current.filter(|v| !v.is_null()),
            header.filter(|v| !v.is_null()),
            "ticket {}",
            t.id
        );
    }
    assert!(changed > 5, "{changed}");
}
