#!/usr/bin/env bash
# One command for a fresh Debian 12 machine: install what is needed, build release, and run
# srgate's main job on its embedded default (virtual devices, generated traffic, no etcd,
# no NIC, no hugepages). Extra arguments go to `srgate demo` (e.g. --duration 10).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cargo build --release --bin srgate
exec ./target/release/srgate demo "$@"
