//! The pages are serialized straight from the dataset; these check the
//! documented shapes and that pages serialized up front and on request
//! are the same bytes.
use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::endpoint;
use super::export::incremental_page;
use super::index::{json_string_contents, PageIndex};
use super::json::{audit_json, organization_json, ticket_json, user_json, TicketJson};
use crate::simulator::generator::{generate, Audit, GeneratorOptions};

/// "Incremental Ticket Export" / "Show Ticket": a ticket's keys.
const TICKET_KEYS: [&str; 39] = [
    "url",
    "id",
    "external_id",
    "via",
    "created_at",
    "updated_at",
    "generated_timestamp",
    "type",
    "subject",
    "raw_subject",
    "description",
    "priority",
    "status",
    "recipient",
    "requester_id",
    "submitter_id",
    "assignee_id",
    "organization_id",
    "group_id",
    "collaborator_ids",
    "follower_ids",
    "email_cc_ids",
    "forum_topic_id",
    "problem_id",
    "has_incidents",
    "is_public",
    "due_at",
    "tags",
    "custom_fields",
    "satisfaction_rating",
    "sharing_agreement_ids",
    "custom_status_id",
    "fields",
    "followup_ids",
    "ticket_form_id",
    "brand_id",
    "allow_channelback",
    "allow_attachments",
    "from_messaging_channel",
];

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

use std::collections::BTreeSet;

#[test]
fn records_have_the_documented_keys() {
    let config = crate::config_files::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml"),
    )
    .unwrap();
    let d = generate(
        &config,
        &GeneratorOptions {
            custom_status_rate: 0.3,
            merge_rate: 0.05,
            ..GeneratorOptions::default()
        },
    );
    let base = "http://127.0.0.1:1";
    let expected: BTreeSet<String> = TICKET_KEYS.iter().map(|k| k.to_string()).collect();
    for t in &d.tickets {
        let v = ticket_json(t, base);
        assert_eq!(keys(&v), expected, "ticket {}", t.id);
        let direct: Value =
            serde_json::from_str(&serde_json::to_string(&TicketJson::new(t, base)).unwrap())
                .unwrap();
        assert_eq!(direct, v);
        assert!(v["via"]["channel"].is_string());
        assert!(v["custom_status_id"].is_u64());
        for a in &t.audits {
            let j = audit_json(a, true);
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
                "child_events",
            ] {
                assert!(j.get(k).is_some(), "{k} in {j}");
            }
            assert!(j["via"].is_string());
            for c in j["child_events"].as_array().unwrap() {
                assert!(
                    c.get("field_name").is_none() && c.get("value").is_none(),
                    "{c}"
                );
                match c["event_type"].as_str().unwrap() {
                    "Create" | "Change" => {
                        assert!(c["via"].is_string());
                        let own: Vec<String> = keys(c)
                            .into_iter()
                            .filter(|k| {
                                ![
                                    "id",
                                    "via",
                                    "via_reference_id",
                                    "event_type",
                                    "previous_value",
                                    "added_tags",
                                    "removed_tags",
                                ]
                                .contains(&k.as_str())
                            })
                            .collect();
                        assert_eq!(own.len(), 1, "{c}");
                        assert_eq!(
                            c.get("previous_value").is_some(),
                            c["event_type"] == "Change"
                        );
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
                        assert_eq!(c["audit_id"], j["id"]);
                        assert!(c["via"]["channel"].is_string());
                    }
                    "Notification" | "Cc" | "SatisfactionRating" => {}
                    other => panic!("{other}"),
                }
            }
            let plain = audit_json(a, false);
            assert!(plain["child_events"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["event_type"] != "Comment"));
        }
    }
    for o in &d.organizations {
        let v = organization_json(o, base);
        for k in [
            "url",
            "id",
            "name",
            "shared_tickets",
            "shared_comments",
            "external_id",
            "created_at",
            "updated_at",
            "domain_names",
            "details",
            "notes",
            "group_id",
            "tags",
            "organization_fields",
            "deleted_at",
        ] {
            assert!(v.get(k).is_some(), "{k}");
        }
    }
    for u in &d.users {
        let v = user_json(u, base);
        for k in [
            "url",
            "id",
            "name",
            "email",
            "role",
            "role_type",
            "active",
            "suspended",
        ] {
            assert!(v.get(k).is_some(), "{k}");
        }
    }
    // Whole pages: the envelope.
    let index = PageIndex::new(&d, false);
    let q: BTreeMap<String, String> = [
        ("start_time".to_string(), "0".to_string()),
        ("per_page".to_string(), "50".to_string()),
        ("include".to_string(), "comment_events".to_string()),
    ]
    .into_iter()
    .collect();
    let (bytes, _) = incremental_page(
        endpoint::TICKET_EVENTS,
        &d,
        &index,
        base,
        &q,
        false,
        i64::MAX,
    )
    .map_err(|_| "a page")
    .unwrap();
    let page: Value = serde_json::from_slice(&bytes).unwrap();
    let n = page["count"].as_u64().unwrap() as usize;
    assert!(n >= 50);
    let first: Vec<&Audit> = d.audits_in_order().into_iter().take(n).collect();
    let expected: Vec<Value> = first.iter().map(|a| audit_json(a, true)).collect();
    assert_eq!(page["ticket_events"], json!(expected));
    let (bytes, _) = incremental_page(endpoint::TICKETS, &d, &index, base, &q, false, i64::MAX)
        .map_err(|_| "a page")
        .unwrap();
    let page: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(page["tickets"].as_array().map(Vec::len), Some(50));
}

/// Pages served from the JSON serialized up front are byte for byte
/// the pages serialized on request: every endpoint, walked page by page
/// from the start with its own cursors, with and without comments and
/// injected duplicates, for a plain base URL and one that needs
/// escaping.
#[test]
fn serialized_up_front_serves_the_same_bytes() {
    let config = crate::config_files::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml"),
    )
    .unwrap();
    let d = generate(&config, &GeneratorOptions::default());
    let (eager, lazy) = (PageIndex::new(&d, true), PageIndex::new(&d, false));
    let page = |index: &PageIndex, ep: &str, base: &str, q: &BTreeMap<String, String>, dup| {
        incremental_page(ep, &d, index, base, q, dup, i64::MAX)
            .map_err(|_| "a page")
            .unwrap()
    };
    let mut pages = 0;
    for base in ["http://127.0.0.1:8089", "http://h\"q\\x\u{1}\u{e9}"] {
        for ep in [
            endpoint::TICKETS,
            endpoint::USERS,
            endpoint::ORGANIZATIONS,
            endpoint::TICKET_EVENTS,
        ] {
            for (include, per_page, dup) in [
                (true, "97", false),
                (true, "250", true),
                (false, "300", false),
                (false, "1000", true),
            ] {
                let mut q: BTreeMap<String, String> = [
                    ("start_time".to_string(), "0".to_string()),
                    ("per_page".to_string(), per_page.to_string()),
                ]
                .into_iter()
                .collect();
                if include {
                    q.insert("include".into(), "comment_events".into());
                }
                loop {
                    let (a, dup_a) = page(&eager, ep, base, &q, dup);
                    let (b, dup_b) = page(&lazy, ep, base, &q, dup);
                    assert_eq!(dup_a, dup_b);
                    assert!(a == b, "{ep} {q:?}");
                    pages += 1;
                    let v: Value = serde_json::from_slice(&a).unwrap();
                    if v["end_of_stream"] == json!(true) {
                        break;
                    }
                    match (&v["after_cursor"], &v["end_time"]) {
                        (Value::String(c), _) => {
                            q.remove("start_time");
                            q.insert("cursor".into(), c.clone());
                        }
                        (_, t) => {
                            // A second with more than a page of
                            // items ends where it began: step past it.
                            let t = t.as_i64().unwrap();
                            let start: i64 = q["start_time"].parse().unwrap();
                            let next = if t == start { t + 1 } else { t };
                            q.insert("start_time".into(), next.to_string());
                        }
                    }
                }
            }
        }
    }
    assert!(pages > 100, "{pages}");
    // Each item, against serializing it with the base.
    let base = "http://h\"q\\x";
    let j = eager.json.as_deref().unwrap();
    let escaped = json_string_contents(base);
    for (i, &at) in eager.tickets.at.iter().enumerate() {
        let mut out = Vec::new();
        assert!(j.tickets.write(i, &escaped, &mut out));
        let expected = serde_json::to_string(&TicketJson::new(&d.tickets[at], base)).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }
    assert!(!j
        .tickets
        .write(eager.tickets.at.len(), &escaped, &mut Vec::new()));
}
