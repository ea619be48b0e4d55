#!/usr/bin/env bash
# Runs every test of helpdesk-slo, after installing what the tests need.
#
# Today the tests need only a Rust toolchain (cargo); as the project grows this
# script installs the rest itself (promtool, a Prometheus server) so that no
# test ever skips for want of a tool.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "error: cargo not found; install Rust first (https://rustup.rs), then rerun $0" >&2
  exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Examples in the documentation; unit tests beside the code, integration
# tests in tests/, and each criterion benchmark run once as a test (so
# benchmarks cannot rot).
cargo test --locked --doc 2>&1 | tee -a "$log"
cargo test --locked --all-targets 2>&1 | tee -a "$log"

# One closing line for the whole run, summed over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i) ~ /^passed;?$/) p += $(i-1); if ($(i) ~ /^failed;?$/) f += $(i-1) } }
     END { printf "tests: %d passed, %d failed\n", p, f; if (p == 0) exit 1 }' "$log"
