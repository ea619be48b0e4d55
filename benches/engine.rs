//! Throughput of the SLA engine: synthetic tickets of about 15 events each,
//! mixed plans and severities (the Celigo example: four plans on four
//! calendars, two metrics, 24x7 overrides), evaluated one after another on
//! one core. The tickets are generated once, outside the measurement; the
//! year tables of the calendars are warm (as in a running daemon).
//!
//! Besides the criterion measurement, a bench run (not the once-through test
//! run) prints two figures for BENCHMARKS.md: one million tickets streamed
//! through the engine in chunks (tickets per second, evaluation time only),
//! and the memory one evaluated ticket holds (the ticket and its clocks),
//! counted by a counting allocator.
//!
//! Run: `cargo bench --bench engine`. The figure goes in BENCHMARKS.md.

#[path = "common/rng.rs"]
mod rng;
#[path = "common/tickets.rs"]
mod tickets;

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use helpdesk_slo::config_files;
use helpdesk_slo::engine::{evaluate, Ticket};
use helpdesk_slo::policy::Config;
use rng::SplitMix64;
use tickets::synthetic_ticket;

/// The system allocator, counting the bytes currently allocated.
struct Counting;

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        ALLOCATED.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn config() -> Config {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml");
    match config_files::load(&path) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

/// One million tickets, generated and evaluated in chunks of 10,000; only
/// the evaluation is timed. Then the bytes one evaluated ticket holds.
fn million_and_memory(cfg: &Config, now: i64) {
    let mut rng = SplitMix64(7);
    let mut spent = Duration::ZERO;
    let mut clocks = 0usize;
    for chunk in 0..100u64 {
        let tickets: Vec<Ticket> = (0..10_000)
            .map(|i| synthetic_ticket(&mut rng, chunk * 10_000 + i))
            .collect();
        let started = Instant::now();
        for t in &tickets {
            clocks += black_box(evaluate(&cfg.policy, t, now)).len();
        }
        spent += started.elapsed();
    }
    eprintln!(
        "1,000,000 tickets ({clocks} clocks) in {:.2} s of evaluation: {:.0} tickets/s",
        spent.as_secs_f64(),
        1e6 / spent.as_secs_f64()
    );
    let before = ALLOCATED.load(Ordering::Relaxed);
    let held: Vec<(Ticket, Vec<helpdesk_slo::engine::Clock>)> = (0..100_000u64)
        .map(|i| {
            let t = synthetic_ticket(&mut rng, i);
            let c = evaluate(&cfg.policy, &t, now);
            (t, c)
        })
        .collect();
    let after = ALLOCATED.load(Ordering::Relaxed);
    eprintln!(
        "memory held per evaluated ticket (ticket + clocks): {} bytes",
        (after - before) / held.len()
    );
    drop(held);
}

fn engine(c: &mut Criterion) {
    let cfg = config();
    if std::env::args().any(|a| a == "--bench") {
        million_and_memory(&cfg, 1_798_761_600);
    }
    let mut rng = SplitMix64(42);
    let tickets: Vec<Ticket> = (0..10_000).map(|i| synthetic_ticket(&mut rng, i)).collect();
    let events: usize = tickets.iter().map(|t| t.events.len()).sum();
    eprintln!(
        "{} tickets, {:.1} events per ticket",
        tickets.len(),
        events as f64 / tickets.len() as f64
    );
    let now = 1_798_761_600; // 2027-01-01T00:00:00Z
                             // Warm every year table the tickets touch.
    for t in &tickets {
        black_box(evaluate(&cfg.policy, t, now));
    }
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(tickets.len() as u64));
    group.sample_size(20);
    group.bench_function("evaluate_celigo_10k_tickets", |b| {
        b.iter(|| {
            let mut clocks = 0usize;
            for t in &tickets {
                clocks += evaluate(&cfg.policy, black_box(t), now).len();
            }
            clocks
        })
    });
    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
