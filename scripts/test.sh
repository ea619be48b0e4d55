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

# Unit tests beside the code, integration tests in tests/, and each criterion
# benchmark run once as a test (so benchmarks cannot rot).
cargo test --locked --all-targets
# Examples in the documentation.
cargo test --locked --doc
