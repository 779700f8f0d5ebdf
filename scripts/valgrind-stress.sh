#!/usr/bin/env bash
# The RCU stress test (1000 table replacements under traffic through real DPDK ports,
# fwd-core/tests/rcu_stress.rs) under valgrind's memcheck: no invalid read or write, no
# use of uninitialised memory, no leak but the known ones (scripts/valgrind.supp: the
# EAL argument vector srgate hands to DPDK for the life of the process, and glibc's dlopen
# bookkeeping for DPDK's driver plugins). Scaled to 20000 packets (a replacement every 20)
# because the worker runs ~50x slower under valgrind. Run outside CI (minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)"; exit 1; }
cargo test -p fwd-core --test rcu_stress --no-run 2>&1 | tail -1
bin=$(ls -t target/debug/deps/rcu_stress-* | grep -v '\.d$' | head -1)
SRGATE_STRESS_PACKETS=${SRGATE_STRESS_PACKETS:-20000} SRGATE_STRESS_DEADLINE_S=${SRGATE_STRESS_DEADLINE_S:-3000} \
  valgrind --error-exitcode=99 --fair-sched=yes --leak-check=full \
    --errors-for-leak-kinds=definite --suppressions=scripts/valgrind.supp \
    "$bin" --nocapture
