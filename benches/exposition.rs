//! The exposition at scale: 1,000,000 tickets in the live index
//! (`BENCH_TICKETS` for another count), 100,000 of them with an open clock,
//! 10 plans × 4 severities × 4 metrics. The memory the index holds is
//! printed as it is built.
//!
//! Measured:
//! * `refresh_after_1000_changes` (criterion): what the daemon does after a
//!   poll that changed 1,000 tickets, past the store: evaluate the 1,000
//!   timelines, replace them in the live index (taking out what it counted
//!   for them, as their stored rows hand it back), compute every figure at
//!   `now` and render both exposition formats.
//! * `compute_and_render` (criterion): the periodic refresh alone.
//! * Scrape latency (a bench run prints it): 2,000 `GET /metrics` through
//!   the real HTTP server over loopback, one connection, p50/p99/max.
//!
//! Run: `cargo bench --bench exposition`. The figures go in BENCHMARKS.md.

#[path = "common/rng.rs"]
mod rng;

use std::collections::{HashMap, HashSet};
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};
use helpdesk_slo::daemon::DaemonState;
use helpdesk_slo::engine::timeline::Author;
use helpdesk_slo::engine::{evaluate, Change, Clock, ClockState, Event, Organization, Ticket};
use helpdesk_slo::exposition::{compute, render, Counted, Health, Live};
use helpdesk_slo::policy::Config;
use rng::SplitMix64;

/// Tickets in the live index: 1,000,000, or `BENCH_TICKETS` (to see what
/// memory does as history grows with the open clocks fixed).
fn tickets() -> usize {
    std::env::var("BENCH_TICKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}
const OPEN: usize = 100_000;
const NOW: i64 = 1_795_000_000; // 2026-11-18T...Z, a Wednesday

const SEVERITIES: [&str; 4] = ["urgent", "high", "normal", "low"];

/// 10 plans on two calendars, every severity × metric with a target.
fn config() -> Config {
    let mut y = String::from(
        "calendars:\n  business: { timezone: America/New_York, hours: { mon-fri: [\"09:00-17:00\"] }, holidays: [us-federal] }\n  always: { timezone: UTC, hours: 24x7 }\nseverities:\n",
    );
    for s in SEVERITIES {
        y.push_str(&format!("  - {{ name: {s}, priorities: [{s}] }}\n"));
    }
    y.push_str("metrics:\n  first_response: { kind: first_response }\n  next_reply: { kind: next_reply }\n  periodic_update: { kind: periodic_update, pause_on: [pending] }\n  resolution: { kind: resolution, pause_on: [pending, hold] }\nplans:\n");
    for p in 0..10 {
        let cal = if p % 2 == 0 { "business" } else { "always" };
        y.push_str(&format!(
            "  plan{p}:\n    match: {{ organization_tags: [plan{p}] }}\n    precedence: {p}\n    calendar: {cal}\n    objective: 95%\n    targets:\n"
        ));
        for (i, s) in SEVERITIES.iter().enumerate() {
            let h = 1 << i;
            y.push_str(&format!(
                "      {s}: {{ first_response: {h}h, next_reply: {}h, periodic_update: {}h, resolution: {}h }}\n",
                h * 2,
                h * 4,
                h * 16
            ));
        }
    }
    Config::from_yaml(&y, Path::new("bench.yaml")).expect("the bench config is valid")
}

/// A stored ticket's clocks, made directly: closed tickets have two decided
/// clocks, open ones one active clock due within the next 8 hours.
fn clocks_of(rng: &mut SplitMix64, i: usize) -> (i64, Vec<Clock>) {
    let plan = i % 10;
    let severity = (i / 10) % 4;
    let created = NOW - rng.below(120 * 86_400) as i64 - 3_600;
    let mk = |metric, state, due: Option<i64>, fulfilled: Option<i64>, elapsed| Clock {
        metric,
        instance: 1,
        plan: Some(plan),
        severity: Some(severity),
        start: created,
        due_at: due,
        state,
        reason: None,
        fulfilled_at: fulfilled,
        breached_at: None,
        elapsed_seconds: elapsed,
        paused_seconds: 0,
        remaining_seconds: None,
    };
    if i < OPEN {
        let due = NOW + rng.below(8 * 3_600) as i64 + 1;
        return (
            created,
            vec![mk(0, ClockState::Active, Some(due), None, 600)],
        );
    }
    let state = |r: u64| {
        if r % 20 == 0 {
            ClockState::Breached
        } else {
            ClockState::Met
        }
    };
    let fr = rng.log_uniform(60, 86_400);
    let res = rng.log_uniform(3_600, 30 * 86_400);
    (
        created,
        vec![
            mk(
                0,
                state(rng.next()),
                Some(created + 3_600),
                Some(created + fr),
                fr,
            ),
            mk(
                3,
                state(rng.next()),
                Some(created + 86_400),
                Some(created + res),
                res,
            ),
        ],
    )
}

/// What the live index counted for a ticket: creation, organization,
/// clocks.
type Kept = (i64, Option<String>, Vec<Clock>);

/// Ids of the closed tickets that change in `refresh_after_1000_changes`.
fn changing(k: usize) -> usize {
    OPEN + k * 97
}

/// The live index of [`tickets`] tickets, and the clocks it counted for
/// the tickets that change later (what their stored rows would hand back).
fn build_live(config: &Config) -> (Live, HashMap<String, Kept>) {
    let mut rng = SplitMix64(42);
    let mut live = Live::new();
    let changes: HashSet<usize> = (0..1_000).map(changing).collect();
    let mut kept = HashMap::new();
    for i in 0..tickets() {
        let (created, clocks) = clocks_of(&mut rng, i);
        let org = format!("org{}", i % 5_000);
        let counted = Counted {
            created_at: created,
            organization: Some(&org),
            clocks: &clocks,
        };
        live.add(&config.policy, "zendesk", &i.to_string(), "h", counted);
        if changes.contains(&i) {
            kept.insert(i.to_string(), (created, Some(org), clocks));
        }
    }
    (live, kept)
}

/// A timeline of ~15 events for ticket `id` on plan `id % 10`.
fn timeline(rng: &mut SplitMix64, id: usize) -> Ticket {
    let created = NOW - rng.below(5 * 86_400) as i64;
    let mut events = Vec::new();
    let mut t = created;
    for k in 0..7 {
        t += rng.range(600, 4 * 3_600);
        let author = if k % 2 == 0 {
            Author::Agent
        } else {
            Author::Requester
        };
        events.push(Event {
            id: Some(format!("{id}-{k}")),
            at: t.min(NOW),
            change: Change::Comment {
                author,
                public: true,
            },
        });
    }
    Ticket {
        id: id.to_string(),
        created_at: created,
        source: None,
        url: None,
        organization: Some(Organization {
            id: format!("org{}", id % 5_000),
            name: None,
            tags: vec![format!("plan{}", id % 10)],
            fields: Default::default(),
        }),
        tags: Vec::new(),
        fields: Default::default(),
        priority: Some(SEVERITIES[(id / 10) % 4].to_string()),
        group: None,
        status: None,
        events,
        current: None,
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

struct Fixture {
    config: Arc<Config>,
    live: Live,
    changed: Vec<Ticket>,
    /// Per changed ticket: what the live index counted for it.
    counted: HashMap<String, Kept>,
}

fn fixture() -> Fixture {
    let config = Arc::new(config());
    let before = rss_kib();
    let t0 = Instant::now();
    let (live, counted) = build_live(&config);
    eprintln!(
        "live index: {} tickets ({OPEN} open) built in {:.1} s; resident memory grew by {} MiB",
        tickets(),
        t0.elapsed().as_secs_f64(),
        (rss_kib().saturating_sub(before)) / 1024
    );
    let mut rng = SplitMix64(7);
    // 1,000 of the closed tickets change (ids past the open ones).
    let changed = (0..1_000)
        .map(|k| timeline(&mut rng, changing(k)))
        .collect();
    Fixture {
        config,
        live,
        changed,
        counted,
    }
}

fn benches(c: &mut Criterion) {
    let mut f = fixture();
    let policy = &f.config.policy;
    let mut g = c.benchmark_group("exposition");
    g.sample_size(20).measurement_time(Duration::from_secs(10));
    g.bench_function("refresh_after_1000_changes", |b| {
        b.iter(|| {
            for t in &f.changed {
                let clocks = evaluate(policy, t, NOW);
                if let Some((created, org, old)) = f.counted.get(&t.id) {
                    let old = Counted {
                        created_at: *created,
                        organization: org.as_deref(),
                        clocks: old,
                    };
                    f.live.remove(policy, "zendesk", &t.id, "h", old);
                }
                let org = t.organization.as_ref().map(|o| o.id.clone());
                let new = Counted {
                    created_at: t.created_at,
                    organization: org.as_deref(),
                    clocks: &clocks,
                };
                f.live.add(policy, "zendesk", &t.id, "h", new);
                f.counted.insert(t.id.clone(), (t.created_at, org, clocks));
            }
            let figures = compute(policy, &mut f.live, NOW);
            black_box(render(policy, figures, Health::default()))
        })
    });
    g.bench_function("compute_and_render", |b| {
        b.iter(|| {
            let figures = compute(policy, &mut f.live, NOW);
            black_box(render(policy, figures, Health::default()))
        })
    });
    g.finish();

    if std::env::args().any(|a| a == "--bench") {
        scrape_latency(f);
    }
}

/// Scrapes the real server 2,000 times and prints percentiles.
fn scrape_latency(f: Fixture) {
    let state = Arc::new(DaemonState::detached(f.config.clone()));
    if let Ok(mut live) = state.live().lock() {
        *live = f.live;
    }
    state.refresh(NOW);
    let bytes = state.rendered().prometheus.len();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async move {
        let (listener, addr) = helpdesk_slo::server::bind("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("bind");
        let (_stop, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(helpdesk_slo::server::serve(listener, state.clone(), None, rx));
        let client = reqwest::Client::new();
        let url = format!("http://{addr}/metrics");
        let mut lat = Vec::with_capacity(2_000);
        for i in 0..2_200 {
            let t = Instant::now();
            let body = client
                .get(&url)
                .send()
                .await
                .expect("scrape")
                .bytes()
                .await
                .expect("body");
            let d = t.elapsed();
            assert_eq!(body.len(), bytes);
            if i >= 200 {
                lat.push(d);
            }
        }
        lat.sort();
        let p = |q: f64| lat[((lat.len() as f64 * q).ceil() as usize).min(lat.len()) - 1];
        eprintln!(
            "scrape of {bytes} bytes ({} series lines): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms over {} scrapes",
            state.rendered().prometheus.lines().filter(|l| !l.starts_with('#')).count(),
            p(0.50).as_secs_f64() * 1e3,
            p(0.99).as_secs_f64() * 1e3,
            lat[lat.len() - 1].as_secs_f64() * 1e3,
            lat.len()
        );
    });
}

criterion_group!(group, benches);

fn main() {
    group();
    Criterion::default().configure_from_args().final_summary();
}
