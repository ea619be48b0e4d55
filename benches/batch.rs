//! Throughput of `calendar batch`, end to end in process.
//!
//! # What is measured, and why
//!
//! `helpdesk-slo calendar batch` is how other tools push many deadlines
//! through the engine: JSON lines in, JSON lines out. This bench runs the
//! same code the subcommand runs, `helpdesk_slo::cli::batch::run_batch`, over
//! an in-memory input of `LINES` lines with the output written to a `Vec`
//! (reused between iterations), so it measures JSON parsing, instant parsing
//! and formatting, the calendar calls and the output buffering, but no
//! process start, config loading or pipe I/O. The target (see BENCHMARKS.md)
//! is at least 1 million lines per second on one core; criterion reports
//! elements (lines) per second.
//!
//! The config is `examples/celigo.yaml`, the one the real-binary measurement
//! in BENCHMARKS.md uses. Its year tables are warmed by one untimed pass
//! before measuring.
//!
//! The input is exactly the first `LINES` lines that
//! `python3 benches/gen_batch_input.py` writes (same seed, same splitmix64
//! draws in the same order), so the in-process figure and the binary figure
//! are over the same kind of lines. Per line:
//!
//! 1. calendar: `essential` (Mon-Fri 08:00-17:00 Pacific, US federal
//!    holidays) 60%, `preferred` (Sun 16:00 - Fri 17:00 Pacific) 25%,
//!    `premier` (24x7) 15%;
//! 2. op: `deadline` or `between`, 50% each;
//! 3. start: uniform over the UTC year 2026, to the second;
//! 4. `deadline`: `seconds` log-uniform-ish from 1 minute to 90 hours (10
//!    business days of 9h); `between`: `end = start + w`, `w` log-uniform-ish
//!    from 1 minute to 14 days. "Log-uniform-ish": a doubling bucket
//!    `[60 * 2^e, 60 * 2^(e+1))` is drawn uniformly among those starting at
//!    or below the maximum, then a value uniformly inside it (clipped to the
//!    maximum).
//!
//! Run: `cargo bench --bench batch`.

#[path = "common/rng.rs"]
mod rng;

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use helpdesk_slo::cli::batch::run_batch;
use helpdesk_slo::policy::Config;
use helpdesk_slo::time::write_instant;
use rng::SplitMix64;

/// Lines per criterion iteration.
const LINES: usize = 100_000;
/// The generator script's default seed.
const SEED: u64 = 2026;

const CONFIG: &str = include_str!("../examples/celigo.yaml");

/// 2026-01-01T00:00:00Z, and the seconds in 2026.
const Y2026: u64 = 1_767_225_600;
const YEAR_SECONDS: u64 = 365 * 86_400;

/// The first `lines` lines of `gen_batch_input.py --seed seed`.
fn generate(lines: usize, seed: u64) -> Vec<u8> {
    let mut rng = SplitMix64(seed);
    let mut out = Vec::with_capacity(lines * 100);
    for _ in 0..lines {
        let calendar = match rng.next() % 20 {
            0..=11 => "essential",
            12..=16 => "preferred",
            _ => "premier",
        };
        let deadline = rng.next() % 2 == 0;
        let start = Y2026 + rng.next() % YEAR_SECONDS;
        out.extend_from_slice(b"{\"calendar\":\"");
        out.extend_from_slice(calendar.as_bytes());
        out.extend_from_slice(if deadline {
            b"\",\"op\":\"deadline\",\"start\":\""
        } else {
            b"\",\"op\":\"between\",\"start\":\""
        });
        write_instant(&mut out, start as i64);
        if deadline {
            let seconds = rng.log_uniform(60, 90 * 3600);
            out.extend_from_slice(format!("\",\"seconds\":{seconds}}}\n").as_bytes());
        } else {
            let end = start as i64 + rng.log_uniform(60, 14 * 86_400);
            out.extend_from_slice(b"\",\"end\":\"");
            write_instant(&mut out, end);
            out.extend_from_slice(b"\"}\n");
        }
    }
    out
}

fn batch(c: &mut Criterion) {
    let config = Config::from_yaml(CONFIG, Path::new("examples/celigo.yaml"))
        .expect("examples/celigo.yaml loads");
    let input = generate(LINES, SEED);
    let mut output: Vec<u8> = Vec::with_capacity(LINES * 40);

    // Untimed pass: builds the year tables and checks every line is answered.
    let stats = run_batch(&config, &input[..], &mut output).expect("in-memory I/O");
    assert_eq!(stats.lines, LINES as u64);
    assert_eq!(stats.errors, 0, "generated lines must all be valid");

    let mut group = c.benchmark_group("batch");
    group
        .throughput(Throughput::Elements(LINES as u64))
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8));
    group.bench_function("run_batch/celigo_mixed_100k", |b| {
        b.iter(|| {
            output.clear();
            let stats =
                run_batch(&config, black_box(&input[..]), &mut output).expect("in-memory I/O");
            black_box(stats)
        })
    });
    group.finish();
}

criterion_group!(benches, batch);
criterion_main!(benches);
