//! Throughput of the business-time core: `Calendar::deadline` and
//! `Calendar::business_seconds`.
//!
//! # What is measured, and why
//!
//! Every SLA clock the daemon keeps is one of these two calls, so their cost
//! per call bounds how many tickets a core can re-evaluate. The target (see
//! BENCHMARKS.md) is at least 10 million `deadline` and 10 million
//! `business_seconds` calls per second on one core for the reference
//! calendar.
//!
//! * Reference calendar `business-hours`: Mon-Fri 08:00-17:00
//!   America/Los_Angeles, closed on US federal holidays (`us-federal`), built
//!   from YAML exactly as a user's config is. For comparison, `preferred`
//!   (Celigo's "Sun 16:00 - Fri 17:00" Pacific, also closed on US federal
//!   holidays) and `24x7` (America/Los_Angeles, always open).
//! * Inputs are generated up front by a seeded splitmix64 PRNG, so every run
//!   measures the same 4096 inputs per calendar (`BATCH`); one criterion
//!   iteration answers all of them and criterion reports elements/s
//!   (`Throughput::Elements`). Distributions:
//!   - start instants: uniform over the UTC year 2026, to the second;
//!   - `deadline` targets: log-uniform-ish from 1 minute to 10 business days
//!     of the calendar (`10 * day_length`: 90h on `business-hours`, 240h on
//!     the others). A bucket `e` is drawn uniformly from the doublings
//!     `60 * 2^e` that start below the maximum, then a value uniformly inside
//!     `[60 * 2^e, min(60 * 2^(e+1), max + 1))`; integer-only, so exact
//!     everywhere;
//!   - `business_seconds` spans `[a, a + w)`: the same scheme for the
//!     wall-clock width `w`, from 1 minute to 14 calendar days (about 10
//!     business days on `business-hours`).
//! * Year tables are built lazily on first use; the `warm/*` benches build
//!   them before measuring (every input is answered once beforehand) so they
//!   measure only the steady state. Spans and deadlines that run into 2027
//!   use the 2027 table, which is warmed too.
//! * `cold/*` measures the one-time cost per calendar and UTC year:
//!   `Calendar::new` plus the first query of a year, which builds that year's
//!   table. The rules are cloned in the untimed setup, and the calendar is
//!   dropped outside the timing.
//! * `year_boundary/*`: `business_seconds` over spans that always cross
//!   2027-01-01T00:00:00Z (start in the last 14 days of 2026, end in the first
//!   14 days of 2027), so each call reads two year tables; and `deadline` from
//!   starts in the last 14 days of 2026 with the usual targets (the longer
//!   ones continue into the 2027 table).
//!
//! Criterion runs every benchmark on one thread, so all figures are per core.
//!
//! Run: `cargo bench --bench calendar` (add a filter such as `warm/` to run a
//! subset).

#[path = "common/rng.rs"]
mod rng;

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use helpdesk_slo::calendar::Calendar;
use helpdesk_slo::policy::Config;
use rng::SplitMix64;

/// Inputs answered per criterion iteration.
const BATCH: usize = 4096;
/// Fixed seed: every run measures the same inputs.
const SEED: u64 = 0x5EED_2026_CA1E_0001;

/// 2026-01-01T00:00:00Z and 2027-01-01T00:00:00Z.
const Y2026: i64 = 1_767_225_600;
const Y2027: i64 = 1_798_761_600;
const DAY: i64 = 86_400;

const CONFIG: &str = r#"
calendars:
  business-hours:
    timezone: America/Los_Angeles
    hours:
      mon-fri: ["08:00-17:00"]
    holidays: [us-federal]
  preferred:
    timezone: America/Los_Angeles
    hours: { sun: ["16:00-24:00"], mon-thu: ["00:00-24:00"], fri: ["00:00-17:00"] }
    holidays: [us-federal]
  24x7:
    timezone: America/Los_Angeles
    hours: 24x7
"#;

/// The calendars compared, reference first.
const CALENDARS: [&str; 3] = ["business-hours", "preferred", "24x7"];

fn load_calendars() -> Vec<Arc<Calendar>> {
    let config = Config::from_yaml(CONFIG, Path::new("bench.yaml")).expect("bench config loads");
    CALENDARS
        .iter()
        .map(|name| config.calendar(name).expect("calendar defined").clone())
        .collect()
}

/// `(start, business seconds)` pairs for `deadline`, starts in `[from, to)`.
fn deadline_inputs(rng: &mut SplitMix64, cal: &Calendar, from: i64, to: i64) -> Vec<(i64, i64)> {
    let max = 10 * cal.day_length();
    (0..BATCH)
        .map(|_| (rng.range(from, to), rng.log_uniform(60, max)))
        .collect()
}

/// `(a, b)` spans for `business_seconds`: starts over 2026, widths 1 min to 14 days.
fn span_inputs(rng: &mut SplitMix64) -> Vec<(i64, i64)> {
    (0..BATCH)
        .map(|_| {
            let a = rng.range(Y2026, Y2027);
            (a, a + rng.log_uniform(60, 14 * DAY))
        })
        .collect()
}

/// Spans that always cross 2027-01-01T00:00:00Z.
fn year_boundary_spans(rng: &mut SplitMix64) -> Vec<(i64, i64)> {
    (0..BATCH)
        .map(|_| {
            (
                rng.range(Y2027 - 14 * DAY, Y2027),
                rng.range(Y2027, Y2027 + 14 * DAY),
            )
        })
        .collect()
}

fn run_deadlines(cal: &Calendar, inputs: &[(i64, i64)]) -> i64 {
    inputs.iter().fold(0, |acc, &(a, n)| {
        acc ^ cal.deadline(a, n).expect("deadline in range")
    })
}

fn run_spans(cal: &Calendar, inputs: &[(i64, i64)]) -> i64 {
    inputs.iter().fold(0, |acc, &(a, b)| {
        acc.wrapping_add(cal.business_seconds(a, b).expect("span in range"))
    })
}

/// Steady state: year tables built, `BATCH` calls per iteration.
fn warm(c: &mut Criterion) {
    let calendars = load_calendars();
    let mut group = c.benchmark_group("warm");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, cal) in CALENDARS.iter().zip(&calendars) {
        let mut rng = SplitMix64(SEED);
        let deadlines = deadline_inputs(&mut rng, cal, Y2026, Y2027);
        let spans = span_inputs(&mut rng);
        // Build the 2026 and 2027 tables before anything is timed.
        black_box(run_deadlines(cal, &deadlines));
        black_box(run_spans(cal, &spans));
        group.bench_function(format!("deadline/{name}"), |b| {
            b.iter(|| run_deadlines(cal, black_box(&deadlines)))
        });
        group.bench_function(format!("business_seconds/{name}"), |b| {
            b.iter(|| run_spans(cal, black_box(&spans)))
        });
    }
    group.finish();
}

/// Queries that read two year tables.
fn year_boundary(c: &mut Criterion) {
    let calendars = load_calendars();
    let mut group = c.benchmark_group("year_boundary");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, cal) in CALENDARS.iter().zip(&calendars) {
        let mut rng = SplitMix64(SEED ^ 0xB0DA);
        let spans = year_boundary_spans(&mut rng);
        let deadlines = deadline_inputs(&mut rng, cal, Y2027 - 14 * DAY, Y2027);
        black_box(run_spans(cal, &spans));
        black_box(run_deadlines(cal, &deadlines));
        group.bench_function(format!("business_seconds/{name}"), |b| {
            b.iter(|| run_spans(cal, black_box(&spans)))
        });
        group.bench_function(format!("deadline/{name}"), |b| {
            b.iter(|| run_deadlines(cal, black_box(&deadlines)))
        });
    }
    group.finish();
}

/// One-time cost: `Calendar::new` plus the first query of 2026, which builds
/// the 2026 year table.
fn cold(c: &mut Criterion) {
    let calendars = load_calendars();
    let mut group = c.benchmark_group("cold");
    group.throughput(Throughput::Elements(1));
    for (name, cal) in CALENDARS.iter().zip(&calendars) {
        let rules = cal.rules().clone();
        let day_length = Some(cal.day_length());
        let start = Y2026 + 45 * DAY + 12 * 3600;
        group.bench_function(format!("new_and_first_query/{name}"), |b| {
            b.iter_batched(
                || rules.clone(),
                |rules| {
                    let fresh = Calendar::new(*name, rules, day_length).expect("valid calendar");
                    let due = fresh.deadline(black_box(start), 3600).expect("in range");
                    (fresh, due)
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = warm, year_boundary, cold
}
criterion_main!(benches);
