#!/usr/bin/env bash
# Runs every test of helpdesk-slo, after installing what the tests need.
#
# Besides a Rust toolchain (cargo) the tests need Prometheus' tools and
# PostgreSQL; this script installs them itself, so that no test ever skips
# for want of a tool.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "error: cargo not found; install Rust first (https://rustup.rs), then rerun $0" >&2
  exit 1
fi

# The alert and dashboard tests run the real tools: promtool and prometheus
# (Debian's prometheus), amtool (prometheus-alertmanager), systemd-analyze
# (systemd). Install whichever is missing; the tests fail without them.
need=()
command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v amtool >/dev/null 2>&1 || need+=(prometheus-alertmanager)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]} (Debian packages) for the alert and dashboard tests"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
fi

# The PostgreSQL store's tests need a PostgreSQL server: a throwaway
# cluster in a temporary folder on a free loopback port (Debian's
# postgresql installed if missing), stopped when this script exits. The
# tests read its URL from HELPDESK_SLO_TEST_POSTGRES and fail without it.
. scripts/postgres-for-tests.sh

log=$(mktemp)
trap 'rm -f "$log"; pg_test_cluster_stop' EXIT

# Examples in the documentation; unit tests beside the code, integration
# tests in tests/, and each criterion benchmark run once as a test (so
# benchmarks cannot rot).
cargo test --locked --workspace --doc 2>&1 | tee -a "$log"
cargo test --locked --workspace --all-targets 2>&1 | tee -a "$log"

# One closing line for the whole run, summed over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i) ~ /^passed;?$/) p += $(i-1); if ($(i) ~ /^failed;?$/) f += $(i-1) } }
     END { printf "tests: %d passed, %d failed\n", p, f; if (p == 0) exit 1 }' "$log"
