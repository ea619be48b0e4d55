//! Zendesk's own SLA record end to end: the real adapter reads the
//! emulator's ticket metric events over HTTP (time-based pages, the
//! incremental budget of 10 requests a minute answered with 429 and
//! `Retry-After`) into a store, and every ticket read back carries exactly
//! the events the emulator computed from its SLA policies (in the compact
//! form the store keeps of them), by metric, in order; the timeline the
//! engine walks is the same as without them.

use std::collections::BTreeMap;
use std::path::Path;

use helpdesk_slo::config_files;
use helpdesk_slo::policy::spec::SourceSpec;
use helpdesk_slo::simulator::generator::{generate, GeneratorOptions};
use helpdesk_slo::simulator::zendesk::{start, ServerOptions, SimState, DEMO_TOKEN};
use helpdesk_slo::sources::zendesk::{sla, Zendesk};
use helpdesk_slo::sources::{Source, SourceError};
use helpdesk_slo::store::{SqliteStore, Store};
use serde_json::Value;

const SOURCE: &str = "zendesk";

fn spec(base: &str, token_env: &str, metric_events: bool) -> SourceSpec {
    let yaml = format!(
        "kind: zendesk\nurl: {base}\nauth:\n  email: ops@acme.example\n  token:\n    env: {token_env}\nstart_time: \"2020-01-01T00:00:00Z\"\nticket_metric_events: {metric_events}\n"
    );
    serde_yaml_ng::from_str(&yaml).unwrap()
}

/// Polls every stream of `source` until caught up, storing each page;
/// returns how many pages each stream took. A 429 is waited out (the
/// emulator's budget answers `Retry-After`), as the daemon does.
async fn backfill(source: &Zendesk, store: &mut SqliteStore) -> BTreeMap<String, usize> {
    let mut pages = BTreeMap::new();
    for &stream in source.streams() {
        for n in 0.. {
            assert!(n < 200, "{stream}: not caught up after 200 pages");
            let cursor = store.cursor(SOURCE, stream).unwrap();
            let page = match source.poll(stream, cursor.as_deref()).await {
                Ok(p) => p,
                Err(SourceError::RateLimited(wait)) => {
                    panic!("{stream}: rate limited ({wait} s) with the budget off")
                }
                Err(e) => panic!("{stream}: {e}"),
            };
            store.apply_page(SOURCE, &page).unwrap();
            *pages.entry(stream.to_string()).or_default() += 1;
            if page.caught_up {
                break;
            }
        }
    }
    pages
}

#[tokio::test]
async fn the_adapter_stores_the_emulators_metric_events_per_ticket() {
    let config =
        config_files::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml"))
            .unwrap();
    let options = GeneratorOptions {
        seed: 23,
        organizations: 10,
        days: 5,
        tickets_per_day: 30,
        ..GeneratorOptions::default()
    };
    let now = options.end() + 3600;
    let data = generate(&config, &options);
    let state = SimState::new(
        &config,
        data,
        ServerOptions {
            now: Some(now),
            ..ServerOptions::default()
        },
    );
    let server = start(state).await.unwrap();
    let token_env = format!("HELPDESK_SLO_METRIC_EVENTS_TOKEN_{}", std::process::id());
    std::env::set_var(&token_env, DEMO_TOKEN);

    let with = Zendesk::new(&spec(&server.base_url(), &token_env, true)).unwrap();
    let mut store = SqliteStore::in_memory().unwrap();
    let pages = backfill(&with, &mut store).await;
    let without = Zendesk::new(&spec(&server.base_url(), &token_env, false)).unwrap();
    assert!(!without.streams().contains(&"ticket_metric_events"));
    let mut plain = SqliteStore::in_memory().unwrap();
    backfill(&without, &mut plain).await;

    // A restart resumes from the stored cursor: the last second again,
    // nothing new to store, the cursor where it was.
    let again = Zendesk::new(&spec(&server.base_url(), &token_env, true)).unwrap();
    let cursor = store.cursor(SOURCE, "ticket_metric_events").unwrap();
    let page = again
        .poll("ticket_metric_events", cursor.as_deref())
        .await
        .unwrap();
    assert!(page.caught_up);
    assert!(!page.records.is_empty(), "the last second is read again");
    assert_eq!(Some(page.cursor.clone()), cursor);
    assert_eq!(
        store.apply_page(SOURCE, &page).unwrap(),
        Vec::<String>::new()
    );

    // What the emulator serves at its cutoff, by ticket and metric.
    let cutoff = now - 60;
    let mut want: BTreeMap<String, BTreeMap<String, Vec<Value>>> = BTreeMap::new();
    let events = server.state().metric_events();
    for e in events.iter().filter(|e| e.time <= cutoff) {
        want.entry(e.ticket_id.to_string())
            .or_default()
            .entry(format!("zendesk_sla.{}", e.metric))
            .or_default()
            .push(sla::compact(&e.json(cutoff)));
    }
    let served: usize = want.values().flat_map(|m| m.values()).map(Vec::len).sum();
    // Not a vacuous comparison: several pages, and every kind of event.
    assert!(
        pages["ticket_metric_events"] >= 2,
        "{served} events on {pages:?}"
    );
    for kind in [
        "measure",
        "activate",
        "pause",
        "fulfill",
        "apply_sla",
        "breach",
        "update_status",
    ] {
        assert!(
            events.iter().any(|e| e.kind == kind && e.time <= cutoff),
            "the emulator served no {kind} event"
        );
    }

    let ids = store.ticket_ids(SOURCE).unwrap();
    assert!(!ids.is_empty());
    let mut compared = 0;
    for id in &ids {
        let ticket = store.ticket(SOURCE, id).unwrap().unwrap();
        let plain_ticket = plain.ticket(SOURCE, id).unwrap().unwrap();
        let got: BTreeMap<String, Vec<Value>> = ticket
            .fields
            .iter()
            .filter(|(k, _)| k.starts_with("zendesk_sla."))
            .map(|(k, v)| (k.clone(), v.as_array().cloned().unwrap_or_default()))
            .collect();
        let expected = want.remove(id).unwrap_or_default();
        assert_eq!(got, expected, "ticket {id}: its metric events");
        compared += got.values().map(Vec::len).sum::<usize>();
        // The timeline the engine walks is the one without them.
        assert_eq!(ticket.events, plain_ticket.events, "ticket {id}: timeline");
        let other_fields = |t: &helpdesk_slo::engine::Ticket| -> BTreeMap<String, Value> {
            t.fields
                .iter()
                .filter(|(k, _)| !k.starts_with("zendesk_sla."))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        assert_eq!(other_fields(&ticket), other_fields(&plain_ticket));
    }
    // Events of tickets the store has no header of (deleted ones have
    // none) would be left over here.
    assert!(
        want.is_empty(),
        "metric events of tickets not stored: {:?}",
        want.keys().collect::<Vec<_>>()
    );
    assert_eq!(compared, served);
    server.shutdown().await;
}

#[tokio::test]
async fn the_metric_event_stream_keeps_to_the_incremental_budget() {
    let config =
        config_files::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml"))
            .unwrap();
    let options = GeneratorOptions {
        seed: 5,
        organizations: 4,
        days: 2,
        tickets_per_day: 10,
        ..GeneratorOptions::default()
    };
    let now = options.end() + 3600;
    let state = SimState::new(
        &config,
        generate(&config, &options),
        ServerOptions {
            now: Some(now),
            incremental_per_minute: Some(2),
            ..ServerOptions::default()
        },
    );
    let server = start(state).await.unwrap();
    let token_env = format!("HELPDESK_SLO_METRIC_BUDGET_TOKEN_{}", std::process::id());
    std::env::set_var(&token_env, DEMO_TOKEN);
    let source = Zendesk::new(&spec(&server.base_url(), &token_env, true)).unwrap();
    // Two incremental requests a minute: the third is refused with 429
    // and Retry-After, whichever stream makes it.
    for _ in 0..2 {
        source.poll("ticket_metric_events", None).await.unwrap();
    }
    match source.poll("ticket_metric_events", None).await {
        Err(SourceError::RateLimited(wait)) => assert!((1..=60).contains(&wait), "{wait}"),
        other => panic!("expected a 429, got {other:?}"),
    }
    server.shutdown().await;
}
