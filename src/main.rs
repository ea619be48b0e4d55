//! The `helpdesk-slo` binary: installs the allocator and hands the process
//! arguments to [`helpdesk_slo::cli`].

use std::process::ExitCode;

/// mimalloc instead of the system allocator: a backfill allocates and frees
/// millions of small records, strings and timelines across threads, where
/// glibc's malloc took about a fifth of the CPU time (BENCHMARKS.md).
/// `benches/backfill.rs` declares the same, to measure what runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    helpdesk_slo::cli::main()
}
