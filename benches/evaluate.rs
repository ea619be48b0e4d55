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
//! Run: `cargo bench --bench evaluate`.

#[path = "common/rng.rs"]
mod rng;
#[path = "common/tickets.rs"]
mod tickets;

use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use helpdesk_slo::evaluate::groups::Dimension;
use helpdesk_slo::evaluate::input::{for_each_ticket, InputError};
use helpdesk_slo::evaluate::output::Format;
use helpdesk_slo::evaluate::{Evaluation, Options};
use helpdesk_slo::policy::Config;
use rng::SplitMix64;
use tickets::synthetic_ticket;

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

fn run_once(cfg: &Config, path: &Path) -> u64 {
    let opts = Options {
        now: 1_798_761_600, // 2027-01-01T00:00:00Z
        from: None,
        to: None,
        group_by: vec![Dimension::Plan, Dimension::Severity, Dimension::Metric],
        clocks: false,
        credits: true,
        format: Format::Md,
    };
    let mut evaluation =
        Evaluation::new(cfg, None, opts, &[], std::io::sink()).expect("evaluation");
    let file = std::fs::File::open(path).expect("input");
    let read =
        for_each_ticket::<InputError>("bench", BufReader::with_capacity(1 << 16, file), |t| {
            evaluation.add(&t).expect("sink");
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

criterion_group!(benches, evaluate);
criterion_main!(benches);
