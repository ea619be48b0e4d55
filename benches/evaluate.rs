//! `helpdesk-slo evaluate` end to end from a file, on one core: 200,000
//! synthetic ticket timelines (about 15 events each, the Celigo example's
//! plans) as JSON lines, read, parsed, evaluated, grouped per plan,
//! severity and metric, with credits, the Markdown written to a sink.
//!
//! The file is written once, outside the measurement, to
//! `target/bench-evaluate-tickets.jsonl`; the same file times the whole
//! command (see BENCHMARKS.md). The once-through test run (`cargo test
//! --benches`) uses 2,000 tickets of its own file instead.
//!
//! `evaluate_parts/*` splits the same work over the first 20,000 tickets
//! of the file, held in memory: reading the lines alone, parsing them
//! alone (with the reader `evaluate` uses, and with `serde_json` alone for
//! comparison), the engine alone on parsed tickets, and the engine with the
//! grouping and credits (`Evaluation::add`), so the cost of each step is
//! known.
//!
//! The allocator is mimalloc, as in the binary.
//!
//! Run: `cargo bench --bench evaluate`.

#[path = "common/rng.rs"]
mod rng;
#[path = "common/tickets.rs"]
mod tickets;

use std::hint::black_box;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use helpdesk_slo::engine::{evaluate as evaluate_ticket, ticket_from_json, Ticket};
use helpdesk_slo::evaluate::groups::Dimension;
use helpdesk_slo::evaluate::input::{for_each_ticket, InputError};
use helpdesk_slo::evaluate::output::Format;
use helpdesk_slo::evaluate::{Evaluation, Options};
use helpdesk_slo::policy::Config;
use rng::SplitMix64;
use tickets::synthetic_ticket;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Tickets measured by `cargo bench`.
const TICKETS: u64 = 200_000;

/// How many tickets this run uses, and the file they are in: the test run
/// (no `--bench` argument) only checks that the bench works.
fn size() -> (u64, &'static str) {
    if std::env::args().any(|a| a == "--bench") {
        (TICKETS, "target/bench-evaluate-tickets.jsonl")
    } else {
        (2_000, "target/bench-evaluate-tickets-test.jsonl")
    }
}

fn config() -> Config {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml");
    match helpdesk_slo::config_files::load(&path) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

/// Writes the tickets as JSON lines, once.
fn input(tickets: u64, file: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    if path.exists() {
        return path;
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("the input's folder");
    }
    let mut rng = SplitMix64(11);
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).expect("input file"));
    for i in 0..tickets {
        let t = synthetic_ticket(&mut rng, i);
        serde_json::to_writer(&mut out, &t).expect("ticket");
        writeln!(out).expect("newline");
    }
    out.flush().expect("flush");
    path
}

/// Now, 2027-01-01T00:00:00Z.
const NOW: i64 = 1_798_761_600;

fn options() -> Options {
    Options {
        now: NOW,
        from: None,
        to: None,
        group_by: vec![Dimension::Plan, Dimension::Severity, Dimension::Metric],
        clocks: false,
        credits: true,
        format: Format::Md,
    }
}

fn run_once(cfg: &Config, path: &Path) -> u64 {
    let mut evaluation =
        Evaluation::new(cfg, None, options(), &[], std::io::sink()).expect("evaluation");
    let file = std::fs::File::open(path).expect("input");
    let read =
        for_each_ticket::<InputError>("bench", BufReader::with_capacity(1 << 16, file), |t| {
            evaluation.add(t).expect("sink");
            Ok(())
        })
        .expect("input");
    evaluation.finish().expect("sink");
    read
}

fn evaluate(c: &mut Criterion) {
    let cfg = config();
    let (tickets, file) = size();
    let path = input(tickets, file);
    let mut group = c.benchmark_group("evaluate");
    group.throughput(Throughput::Elements(tickets));
    group.sample_size(10);
    group.bench_function("file_200k_tickets_md_credits", |b| {
        b.iter(|| run_once(&cfg, &path))
    });
    group.finish();
}

/// Tickets of the file the parts are measured on.
const PART_TICKETS: usize = 20_000;

/// Each step of the same work, alone, over the first tickets of the file.
fn parts(c: &mut Criterion) {
    let cfg = config();
    let (tickets, file) = size();
    let path = input(tickets, file);
    let mut text = Vec::new();
    let mut reader = BufReader::new(std::fs::File::open(&path).expect("input"));
    let mut lines = 0;
    while lines < PART_TICKETS && reader.read_until(b'\n', &mut text).expect("read") > 0 {
        lines += 1;
    }
    let text = String::from_utf8(text).expect("UTF-8");
    let parsed: Vec<Ticket> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("ticket"))
        .collect();
    let mut group = c.benchmark_group("evaluate_parts");
    group.throughput(Throughput::Elements(parsed.len() as u64));
    group.sample_size(20);
    group.bench_function("read_lines", |b| {
        b.iter(|| {
            let mut line = String::new();
            let mut r = text.as_bytes();
            let mut n = 0usize;
            while r.read_line(&mut line).expect("read") > 0 {
                n += line.len();
                line.clear();
            }
            black_box(n)
        })
    });
    group.bench_function("parse", |b| {
        b.iter(|| {
            for l in text.lines() {
                black_box(ticket_from_json(l).expect("ticket"));
            }
        })
    });
    group.bench_function("parse_serde_json", |b| {
        b.iter(|| {
            for l in text.lines() {
                black_box(serde_json::from_str::<Ticket>(l).expect("ticket"));
            }
        })
    });
    group.bench_function("engine", |b| {
        b.iter(|| {
            for t in &parsed {
                black_box(evaluate_ticket(&cfg.policy, t, NOW));
            }
        })
    });
    group.bench_function("engine_groups_credits", |b| {
        b.iter(|| {
            let mut evaluation =
                Evaluation::new(&cfg, None, options(), &[], std::io::sink()).expect("evaluation");
            for t in &parsed {
                evaluation.add(t).expect("sink");
            }
            evaluation.finish().expect("sink")
        })
    });
    group.finish();
}

criterion_group!(benches, evaluate, parts);
criterion_main!(benches);
