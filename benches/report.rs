//! How long a monthly report takes, and how much memory, on a store you
//! built: the whole report (markdown and CSV files) of one month, in
//! process, several times.
//!
//! A bench binary (`harness = false`), not criterion: one report of a large
//! store takes seconds, and what matters is its wall time and peak memory
//! on that store. Build a store first (BENCHMARKS.md, "Reports at scale",
//! has the commands for the 1,000,000-ticket one), then:
//!
//! ```sh
//! REPORT_STORE=store.sqlite REPORT_MONTH=2026-11 cargo bench --bench report
//! ```
//!
//! `REPORT_CONFIG` (default `examples/celigo.yaml`), `REPORT_SOURCE`
//! (default `zendesk`), `REPORT_RUNS` (default 3). It prints, per run, the
//! wall time, the markdown's size and longest line and the CSV files'
//! sizes, then the process's peak resident memory (`VmHWM`). Without
//! `REPORT_STORE` (as under `cargo test --benches`) it says how to run it
//! and exits. For the figure of the whole command, with process start and
//! file writes, use `/usr/bin/time -v helpdesk-slo report …` (BENCHMARKS.md).

use std::path::Path;
use std::time::Instant;

use helpdesk_slo::config_files;
use helpdesk_slo::report::{month_files, Month, ReportOptions};
use helpdesk_slo::store::SqliteStore;

/// The binary's allocator (`src/main.rs`), so the bench measures what runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A line of `/proc/self/status` (Linux), such as `VmHWM`.
fn status(key: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .map(|l| l[key.len() + 1..].trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string())
}

fn main() {
    let Some(store_path) = std::env::var_os("REPORT_STORE") else {
        println!(
            "report bench: set REPORT_STORE to a store file (and REPORT_MONTH, e.g. 2026-11); see BENCHMARKS.md"
        );
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config_path = std::env::var_os("REPORT_CONFIG")
        .map_or_else(|| root.join("examples/celigo.yaml"), Into::into);
    let config = config_files::load(&config_path).expect("the config loads");
    let month: Month = std::env::var("REPORT_MONTH")
        .unwrap_or_else(|_| "2026-11".to_string())
        .parse()
        .expect("REPORT_MONTH is YYYY-MM");
    let runs: usize = std::env::var("REPORT_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let options = ReportOptions {
        sources: vec![std::env::var("REPORT_SOURCE").unwrap_or_else(|_| "zendesk".into())],
        ..ReportOptions::default()
    };
    let store = SqliteStore::open(&store_path).expect("the store opens");
    for run in 1..=runs {
        let started = Instant::now();
        let files = month_files(&store, &config, month, &options).expect("the report is made");
        let wall = started.elapsed();
        let longest = files
            .markdown
            .lines()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0);
        let csv: Vec<String> = files
            .csv
            .iter()
            .map(|(name, text)| format!("{name} {} bytes", text.len()))
            .collect();
        println!(
            "run {run}: {:.2} s; {} {} bytes, longest line {longest}; {}",
            wall.as_secs_f64(),
            files.name,
            files.markdown.len(),
            csv.join(", ")
        );
    }
    println!("peak resident memory (VmHWM): {}", status("VmHWM"));
}
