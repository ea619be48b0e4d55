//! The emulator against the hand-written pages of `tests/testdata/freshdesk/`
//! and Freshdesk's documented rules (paging, caps, auth, credits, export).

use std::path::Path;

use serde_json::Value;

use super::*;

fn fixture(path: &str) -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/testdata/freshdesk")
        .join(path);
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

/// The lifecycle scenario's account: its last version of each ticket.
fn lifecycle() -> Account {
    let mut a = Account {
        agents: fixture("_account/agents.json").as_array().unwrap().clone(),
        companies: fixture("_account/companies.json")
            .as_array()
            .unwrap()
            .clone(),
        ticket_fields: fixture("_account/ticket_fields.json")
            .as_array()
            .unwrap()
            .clone(),
        ..Account::default()
    };
    for page in [
        "lifecycle/tickets_1.json",
        "lifecycle/tickets_2.json",
        "lifecycle/tickets_3.json",
    ] {
        for t in fixture(page).as_array().unwrap() {
            a.tickets.retain(|x| x["id"] != t["id"]);
            a.tickets.push(t.clone());
        }
    }
    a.conversations.insert(
        201,
        [
            fixture("lifecycle/conversations_201_1.json"),
            fixture("lifecycle/conversations_201_2.json"),
        ]
        .iter()
        .flat_map(|p| p.as_array().unwrap().clone())
        .collect(),
    );
    a.activities.insert(
        "2026-11-02".into(),
        fixture("lifecycle/activities_2026-11-02.json")["activities_data"]
            .as_array()
            .unwrap()
            .clone(),
    );
    a
}

async fn get(url: &str, key: Option<&str>) -> reqwest::Response {
    let c = reqwest::Client::new().get(url);
    let c = match key {
        Some(k) => c.basic_auth(k, Some("X")),
        None => c,
    };
    c.send().await.unwrap()
}

fn next_link(r: &reqwest::Response) -> Option<String> {
    let v = r.headers().get("link")?.to_str().ok()?.to_string();
    let start = v.find('<')? + 1;
    let end = v.find('>')?;
    Some(v[start..end].trim().to_string())
}

#[tokio::test]
async fn tickets_are_a_bare_array_paged_by_link_with_stats_only_when_included() {
    let now = crate::time::parse_instant("2026-11-10T00:00:00Z").unwrap();
    let server = start(FdState::new(
        lifecycle(),
        ServerOptions {
            now: Some(now),
            ..ServerOptions::default()
        },
    ))
    .await
    .unwrap();
    let base = server.base_url();
    let url = format!("{base}/api/v2/tickets?updated_since=2026-11-02T00:00:00Z&order_by=updated_at&order_type=asc&per_page=2&include=stats");
    let r = get(&url, Some(DEMO_API_KEY)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-ratelimit-used-currentrequest"], "2");
    assert!(r.headers().contains_key("x-ratelimit-remaining"));
    let next = next_link(&r).expect("a next link on a page that is not the last");
    let page: Value = r.json().await.unwrap();
    let ids: Vec<u64> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![203, 204], "ascending by updated_at");
    assert!(page[0]["stats"].is_object());
    let r = get(&next, Some(DEMO_API_KEY)).await;
    assert!(next_link(&r).is_none(), "no link on the last page");
    let page: Value = r.json().await.unwrap();
    let ids: Vec<u64> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![201, 202]);
    // Without include=stats there are none; the default order is newest created first.
    let r = get(
        &format!("{base}/api/v2/tickets?updated_since=2026-11-02T00:00:00Z"),
        Some(DEMO_API_KEY),
    )
    .await;
    let page: Value = r.json().await.unwrap();
    assert!(page[0].get("stats").is_none());
    assert_eq!(page[0]["id"], 203);
    // per_page over 100 and page over 300 are refused.
    assert_eq!(
        get(
            &format!("{base}/api/v2/tickets?per_page=101"),
            Some(DEMO_API_KEY)
        )
        .await
        .status(),
        400
    );
    assert_eq!(
        get(
            &format!("{base}/api/v2/tickets?page=301"),
            Some(DEMO_API_KEY)
        )
        .await
        .status(),
        400
    );
    // Without updated_since, only the last 30 days: ticket 204 was updated 8 days ago, all are in.
    // Wrong key: 401.
    assert_eq!(get(&url, Some("wrong")).await.status(), 401);
    assert_eq!(get(&url, None).await.status(), 401);
    server.shutdown().await;
}

#[tokio::test]
async fn the_link_header_is_spelled_both_ways() {
    let server = start(FdState::new(lifecycle(), ServerOptions::default()))
        .await
        .unwrap();
    let base = server.base_url();
    let mut spellings = std::collections::BTreeSet::new();
    for _ in 0..4 {
        let r = get(
            &format!("{base}/api/v2/tickets/201/conversations?per_page=2"),
            Some(DEMO_API_KEY),
        )
        .await;
        let link = r.headers()["link"].to_str().unwrap().to_string();
        spellings.insert(link.starts_with("< ") && link.ends_with(";rel=\"next\""));
    }
    assert_eq!(spellings.len(), 2, "both spellings occur");
    assert_eq!(
        get(
            &format!("{base}/api/v2/tickets/999/conversations"),
            Some(DEMO_API_KEY)
        )
        .await
        .status(),
        404
    );
    server.shutdown().await;
}

#[tokio::test]
async fn the_export_answers_a_url_on_another_address_fetched_without_credentials() {
    let now = crate::time::parse_instant("2026-11-10T00:00:00Z").unwrap();
    let server = start(FdState::new(
        lifecycle(),
        ServerOptions {
            now: Some(now),
            ..ServerOptions::default()
        },
    ))
    .await
    .unwrap();
    let base = server.base_url();
    let r = get(
        &format!("{base}/api/v2/export/ticket_activities?created_at=2026-11-02"),
        Some(DEMO_API_KEY),
    )
    .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let url = body["export"]["url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&server.files_url()) && !url.starts_with(&base));
    assert_eq!(
        get(&url, Some(DEMO_API_KEY)).await.status(),
        400,
        "credentials are refused there"
    );
    let file: Value = get(&url, None).await.json().await.unwrap();
    let data = file["activities_data"].as_array().unwrap();
    assert_eq!(data.len(), 12);
    assert_eq!(
        data[0]["performed_at"], "02-11-2026 09:00:00 +0000",
        "day first"
    );
    // Today's file does not exist yet; nor does one past the retention.
    for day in ["2026-11-10", "2026-10-01"] {
        let r = get(
            &format!("{base}/api/v2/export/ticket_activities?created_at={day}"),
            Some(DEMO_API_KEY),
        )
        .await;
        assert_eq!(r.status(), 404, "{day}");
    }
    assert_eq!(server.state().counts().credentials_sent_to_files, 1);
    server.shutdown().await;
}

#[tokio::test]
async fn spent_credits_answer_429_with_retry_after_and_faults_are_injected() {
    let options = ServerOptions {
        credits_per_minute: 3,
        ..ServerOptions::default()
    };
    let server = start(FdState::new(lifecycle(), options)).await.unwrap();
    let url = format!("{}/api/v2/tickets?include=stats", server.base_url());
    assert_eq!(get(&url, Some(DEMO_API_KEY)).await.status(), 200);
    let r = get(&url, Some(DEMO_API_KEY)).await;
    // Two credits left would be needed again; one is: refused (unless the minute turned).
    if r.status() == 429 {
        let wait: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&wait));
        assert_eq!(r.headers()["x-ratelimit-total"], "3");
    }
    server.shutdown().await;
    let faults = Faults {
        rate_limit_every: Some(2),
        retry_after: 7,
        malformed_rate: 1.0,
        ..Faults::default()
    };
    let server = start(FdState::new(
        lifecycle(),
        ServerOptions {
            faults,
            ..ServerOptions::default()
        },
    ))
    .await
    .unwrap();
    let url = format!("{}/api/v2/agents", server.base_url());
    let first = get(&url, Some(DEMO_API_KEY)).await;
    assert_eq!(first.status(), 200);
    let text = first.text().await.unwrap();
    assert!(
        serde_json::from_str::<Value>(&text).is_err(),
        "malformed body"
    );
    let second = get(&url, Some(DEMO_API_KEY)).await;
    assert_eq!(second.status(), 429);
    assert_eq!(second.headers()["retry-after"], "7");
    server.shutdown().await;
}

#[test]
fn the_synthetic_account_has_custom_statuses_and_day_first_activities() {
    let now = crate::time::parse_instant("2026-11-30T00:00:00Z").unwrap();
    let a = synthetic::account(&synthetic::Options {
        seed: 3,
        tickets: 200,
        start: now - 20 * 86_400,
        span: 19 * 86_400,
        now,
        late_reply_rate: None,
        sla: None,
    });
    assert_eq!(a.tickets.len(), 200);
    let choices = a.ticket_fields[0]["choices"].as_object().unwrap();
    assert!(
        choices
            .keys()
            .filter(|k| k.parse::<u64>().unwrap() >= 6)
            .count()
            >= 6
    );
    let first = a.activities.values().next().unwrap()[0]["performed_at"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(&first[2..3], "-");
    assert!(a.tickets.iter().any(|t| t["source"] == 10));
    assert!(a
        .tickets
        .iter()
        .all(|t| t["updated_at"].as_str().unwrap() <= "2026-11-30T00:00:00Z"));
}

#[test]
fn a_prompt_desk_answers_within_forty_minutes_but_for_its_late_share() {
    let now = crate::time::parse_instant("2026-11-30T00:00:00Z").unwrap();
    let first_waits = |late: Option<f64>| -> Vec<i64> {
        let a = synthetic::account(&synthetic::Options {
            seed: 4,
            tickets: 300,
            start: now - 20 * 86_400,
            span: 19 * 86_400,
            now,
            late_reply_rate: late,
            sla: None,
        });
        let at = |v: &serde_json::Value| crate::time::parse_instant(v.as_str()?).ok();
        a.tickets
            .iter()
            .filter_map(|t| Some(at(&t["stats"]["first_responded_at"])? - at(&t["created_at"])?))
            .collect()
    };
    let prompt = first_waits(Some(0.0));
    assert!(prompt.len() > 250, "{}", prompt.len());
    assert!(prompt.iter().all(|&w| (300..=2400).contains(&w)));
    let some_late = first_waits(Some(0.2));
    let late = some_late.iter().filter(|&&w| w >= 3600).count();
    assert!(
        (30..=90).contains(&late),
        "{late} of {} late",
        some_late.len()
    );
    let strained = first_waits(None);
    assert!(strained.iter().filter(|&&w| w > 2400).count() > 150);
}

#[test]
fn a_new_ticket_is_open_listed_and_in_its_days_export() {
    let now = crate::time::parse_instant("2026-11-30T00:00:00Z").unwrap();
    let mut a = synthetic::account(&synthetic::Options {
        seed: 3,
        tickets: 20,
        start: now - 5 * 86_400,
        span: 4 * 86_400,
        now,
        late_reply_rate: None,
        sla: None,
    });
    let at = crate::time::parse_instant("2026-11-29T10:15:00Z").unwrap();
    let id = synthetic::open_ticket(&mut a, at, synthetic::FIRST_COMPANY, 4, "Down");
    assert_eq!(id, 21);
    let t = a.tickets.iter().find(|t| t["id"] == 21).unwrap();
    assert_eq!(t["status"], 2);
    assert_eq!(t["priority"], 4);
    assert_eq!(t["company_id"], synthetic::FIRST_COMPANY);
    assert_eq!(t["created_at"], "2026-11-29T10:15:00Z");
    assert!(t["stats"]["first_responded_at"].is_null());
    let day = &a.activities["2026-11-29"];
    let record = day.iter().find(|r| r["ticket_id"] == 21).unwrap();
    assert_eq!(record["performed_at"], "29-11-2026 10:15:00 +0000");
    assert_eq!(record["activity"]["new_ticket"], true);
    assert_eq!(record["activity"]["status"], "Open");
    // The day's records stay in performed_at order.
    let order: Vec<&str> = day
        .iter()
        .map(|r| r["performed_at"].as_str().unwrap())
        .collect();
    let mut sorted = order.clone();
    sorted.sort_by_key(|p| (p[11..19].to_string(), p.to_string()));
    assert_eq!(order, sorted);
    // An agent's reply: a public conversation, and the stats and
    // updated_at that Freshdesk moves with it.
    let reply_at = at + 1800;
    synthetic::agent_reply(&mut a, 21, reply_at, 9000).unwrap();
    let t = a.tickets.iter().find(|t| t["id"] == 21).unwrap();
    assert_eq!(t["updated_at"], "2026-11-29T10:45:00Z");
    assert_eq!(t["stats"]["first_responded_at"], "2026-11-29T10:45:00Z");
    assert_eq!(t["stats"]["agent_responded_at"], "2026-11-29T10:45:00Z");
    let c = &a.conversations[&21][0];
    assert_eq!(
        (c["incoming"].as_bool(), c["private"].as_bool()),
        (Some(false), Some(false))
    );
    assert_eq!(c["user_id"], 9000);
    assert!(synthetic::agent_reply(&mut a, 999, reply_at, 9000).is_none());
    assert_eq!(synthetic::company_plan(synthetic::FIRST_COMPANY), "premier");
    assert_eq!(
        synthetic::company_plan(synthetic::FIRST_COMPANY + 1),
        "standard"
    );
}
