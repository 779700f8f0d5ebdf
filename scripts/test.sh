#!/usr/bin/env bash
# One command for a fresh Debian 12 machine: install what is needed, build once, and run
# every test: formatting, lints, unit tests, and the integration tests that push
# scapy-built packets through srgate on real DPDK virtual devices and read them back with
# tshark.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh

export CARGO_TERM_COLOR=never
step() { echo; echo "== $* =="; }

step "rustfmt"
cargo fmt --all -- --check

step "clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "fuzz target compiles"
cargo check --manifest-path fwd-core/fuzz/Cargo.toml

step "tests (unit + integration with EAL, net_pcap, net_tap, scapy, tshark)"
# Each integration test is its own srgate process (EAL once per process); two at a time on
# a 2-core machine. (No doc tests: the crate docs hold TOML examples, not Rust.)
log=$(mktemp)
cargo test --workspace --lib --bins --tests -- --test-threads=2 2>&1 | tee "$log"
passed=$(awk '/^test result:/ {for (i=1;i<=NF;i++) if ($i ~ /^passed;?$/) s+=$(i-1)} END {print s+0}' "$log")
failed=$(awk '/^test result:/ {for (i=1;i<=NF;i++) if ($i ~ /^failed;?$/) s+=$(i-1)} END {print s+0}' "$log")
rm -f "$log"
echo
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
