#!/usr/bin/env bash
# Benchmark: replacing a 1M-entry LFIB while a worker forwards at full load (zero loss,
# longest worker loop). Runs fwd-core's table_swap_bench example twice in one go: without
# replacements (the machine's own stalls: preemption on shared cores) and with back-to-back
# replacements, and appends both to perf/RESULTS.md.
#
# usage: perf/bench-table-swap.sh [SECONDS]
# env:   BENCH_NO_RECORD=1 (print only), BENCH_JSON=FILE (append a JSON record, see
#        perf/json-record.py)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
cargo build --release -p fwd-core --example table_swap_bench 2>/dev/null
BIN=target/release/examples/table_swap_bench
base=$("$BIN" "$SECS" noswap 2>/dev/null | grep '^table-swap')
swap=$("$BIN" "$SECS" swap 2>/dev/null | grep '^table-swap')
echo "$base"
echo "$swap"
field() { echo "$1" | tr ' ' '\n' | awk -v k="$2" '$0==k {getline; print; exit}'; }
date=$(date -u +%Y-%m-%d)
cpu=$(awk -F: '/model name/ {gsub(/^ +/,"",$2); print $2; exit}' /proc/cpuinfo)
line=$(printf '| %s | 1M-label LFIB replaced back to back under load (net_ring, 1 worker) | %s | %s | %s | %s us | %s us | %s, %s s |' \
  "$date" "$(field "$swap" replacements)" "$(field "$swap" sent)" "$(field "$swap" lost)" \
  "$(field "$base" longest-loop-us)" "$(field "$swap" longest-loop-us)" "$cpu" "$SECS")
echo "$line"
if [ -n "${BENCH_JSON:-}" ]; then
  nos=$(field "$base" longest-loop-us)
  sw=$(field "$swap" longest-loop-us)
  perf/json-record.py "$BENCH_JSON" benchmark=table-swap \
    "workload=1M-label LFIB replaced back to back under load (net_ring, 1 worker)" \
    "baseline=same run without replacements (longest worker loop)" "baseline_value=$nos" \
    "value=$sw" unit=us "ratio=$(awk -v a="$sw" -v b="$nos" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')" \
    better=lower "replacements=$(field "$swap" replacements)" "packets=$(field "$swap" sent)" \
    "lost=$(field "$swap" lost)" "seconds=$SECS"
fi
if [ "${BENCH_NO_RECORD:-0}" != 1 ]; then
  if ! grep -q '^## Table replacement' perf/RESULTS.md; then
    cat >> perf/RESULTS.md <<'MD'

## Table replacement under load

Command: `perf/bench-table-swap.sh 10`. A worker label-switches between two net_ring ports
while a control thread builds complete 1M-label snapshots and publishes them RCU-style back
to back. "longest loop" is the worker's longest poll loop (TSC): first without
replacements (the machine's own stalls: the 2 cores are shared with the injector, the
table builder and everything else), then with them.

| date | workload | replacements | packets | lost | longest loop, no swaps | longest loop, swapping | machine |
|---|---|---|---|---|---|---|---|
MD
  fi
  perf/record.sh "## Table replacement under load" "$line"
fi
