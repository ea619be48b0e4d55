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
use helpdesk_slo::policy::Config;
use helpdesk_slo::simulator::generator::{generate, GeneratorOptions};
use helpdesk_slo::simulator::zendesk::{start, Server, ServerOptions, SimState, DEMO_TOKEN};
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

/// The emulator serving the account generated from `config` as it is an
/// hour after the generated span ends (`server` says what else), the
/// variable its token is in (for [`spec`]), and that instant.
async fn emulator(
    config: &Config,
    options: &GeneratorOptions,
    server: ServerOptions,
) -> (Server, String, i64) {
    let now = options.end() + 3600;
    let state = SimState::new(
        config,
        generate(config, options),
        ServerOptions {
            now: Some(now),
            ..server
        },
    );
    let server = start(state).await.unwrap();
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let token_env = format!(
        "HELPDESK_SLO_METRIC_EVENTS_TOKEN_{}_{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    );
    std::env::set_var(&token_env, DEMO_TOKEN);
    (server, token_env, now)
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
    let (server, token_env, now) = emulator(&config, &options, ServerOptions::default()).await;

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
    let server_options = ServerOptions {
        incremental_per_minute: Some(2),
        ..ServerOptions::default()
    };
    let (server, token_env, _) = emulator(&config, &options, server_options).await;
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

/// A store written by a build that kept each metric event as Zendesk sent
/// it, polled on by this build (which keeps the compact form), reads the
/// same as a store this build filled alone: every ticket gives the same
/// instances to compare and the same lines for people, a breach retracted
/// after the upgrade included (its first copy stored whole by the old
/// build, its deleted copy compact by this one).
#[tokio::test]
async fn a_store_with_events_kept_as_sent_reads_as_one_with_the_compact_form() {
    use helpdesk_slo::sources::zendesk::reconcile::reconcile_mapping;
    use helpdesk_slo::sources::{ChangeRecord, EventRecord, Page, Record};
    let config = config_files::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata/reconcile/matching.yaml"),
    )
    .unwrap();
    let options = GeneratorOptions {
        seed: 7,
        organizations: 10,
        days: 10,
        tickets_per_day: 40,
        ..GeneratorOptions::default()
    };
    let (server, token_env, now) = emulator(&config, &options, ServerOptions::default()).await;
    let source = Zendesk::new(&spec(&server.base_url(), &token_env, true)).unwrap();

    // The old build read the stream up to the first breach that Zendesk
    // retracts later, so it stored that breach's first copy.
    let cutoff = now - 60;
    let events = server.state().metric_events();
    let upgrade = events
        .iter()
        .filter(|e| e.kind == "breach" && e.retracted_at.is_some_and(|r| r <= cutoff))
        .map(|e| e.time)
        .min()
        .expect("the emulator retracts a breach");
    let as_sent: Vec<Record> = events
        .iter()
        .filter(|e| e.time <= upgrade)
        .map(|e| {
            let value = e.json(upgrade);
            let deleted = if value.get("deleted").is_some() {
                ".deleted"
            } else {
                ""
            };
            Record::Event(EventRecord {
                ticket_id: e.ticket_id.to_string(),
                id: format!("metric_event.{}{deleted}", e.id),
                at: e.time,
                change: ChangeRecord::Field {
                    name: format!("zendesk_sla.{}", e.metric),
                    value,
                },
            })
        })
        .collect();
    let mut upgraded = SqliteStore::in_memory().unwrap();
    upgraded
        .apply_page(
            SOURCE,
            &Page {
                stream: "ticket_metric_events".into(),
                records: as_sent,
                cursor: upgrade.to_string(),
                caught_up: false,
            },
        )
        .unwrap();
    backfill(&source, &mut upgraded).await;
    let mut fresh = SqliteStore::in_memory().unwrap();
    backfill(&source, &mut fresh).await;
    server.shutdown().await;

    let mapping = reconcile_mapping(&config.policy, &BTreeMap::new());
    let ids = fresh.ticket_ids(SOURCE).unwrap();
    assert_eq!(upgraded.ticket_ids(SOURCE).unwrap(), ids);
    let (mut mixed, mut retracted) = (0, 0);
    for id in &ids {
        let old = upgraded.ticket(SOURCE, id).unwrap().unwrap();
        let new = fresh.ticket(SOURCE, id).unwrap().unwrap();
        let want = sla::observed(&new.fields, &mapping);
        assert_eq!(sla::observed(&old.fields, &mapping), want, "ticket {id}");
        assert_eq!(
            sla::explain_lines(&old.fields, chrono_tz::UTC),
            sla::explain_lines(&new.fields, chrono_tz::UTC),
            "ticket {id}"
        );
        let forms: Vec<bool> = old
            .fields
            .iter()
            .filter(|(k, _)| k.starts_with("zendesk_sla."))
            .flat_map(|(_, v)| v.as_array().unwrap())
            .map(Value::is_object)
            .collect();
        if forms.contains(&true) && forms.contains(&false) {
            mixed += 1;
        }
        if want.iter().any(|o| o.retracted_breach_at == Some(upgrade)) {
            retracted += 1;
        }
    }
    assert!(mixed > 0, "no ticket holds both forms");
    assert!(
        retracted > 0,
        "the breach retracted after the upgrade was not read"
    );
}
