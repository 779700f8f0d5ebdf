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
line=$(printf '| %s | 1M-label LFIB replaced back to back under load (net_ring, 1 worker) | %s | %s | %s | %s | **%s us** | %s of %s | %s / %s of %s / %s | %s us / %s us | %s, %s s |' \
  "$date" "$(field "$swap" replacements)" "$(field "$swap" snapshots)" "$(field "$swap" sent)" \
  "$(field "$swap" lost)" "$(field "$swap" longest-swap-loop-us)" \
  "$(field "$swap" long-swap-loops)" "$(field "$swap" snapshots)" \
  "$(field "$base" long-loops)" "$(field "$swap" long-loops)" "$(field "$base" loops)" "$(field "$swap" loops)" \
  "$(field "$base" longest-loop-us)" "$(field "$swap" longest-loop-us)" "$cpu" "$SECS")
echo "$line"
if [ -n "${BENCH_JSON:-}" ]; then
  perf/json-record.py "$BENCH_JSON" benchmark=table-swap \
    "workload=1M-label LFIB replaced back to back under load (net_ring, 1 worker)" \
    "baseline=bound (50 us)" "baseline_value=50" \
    "value=$(field "$swap" longest-swap-loop-us)" unit=us \
    "ratio=$(awk -v a="$(field "$swap" longest-swap-loop-us)" 'BEGIN { printf "%.3f", a / 50 }')" \
    better=lower "replacements=$(field "$swap" replacements)" "snapshots=$(field "$swap" snapshots)" \
    "packets=$(field "$swap" sent)" "lost=$(field "$swap" lost)" "seconds=$SECS" \
    "long_swap_loops=$(field "$swap" long-swap-loops)" \
    "long_loops_noswap=$(field "$base" long-loops)" "long_loops_swap=$(field "$swap" long-loops)" \
    "longest_loop_noswap_us=$(field "$base" longest-loop-us)" "longest_loop_swap_us=$(field "$swap" longest-loop-us)"
fi
SECTION="## Table replacement: the stall of each replacement, freed memory kept"
if [ "${BENCH_NO_RECORD:-0}" != 1 ]; then
  if ! grep -qF "$SECTION" perf/RESULTS.md; then
    cat >> perf/RESULTS.md <<MD

$SECTION

Command: \`perf/bench-table-swap.sh 10\`. A worker (lcore 1) label-switches between two
net_ring ports while a control thread (on the injector's core 0, as srgate's control plane
runs off the worker cores) builds complete 1M-label snapshots and publishes them RCU-style
back to back, yielding the core to the injector after each publication (as traffic from a
NIC would not pause while the control plane runs). As in srgate, freed memory stays in the
process (\`dpdk_sys::mem::keep_freed_memory\`) and the LFIB's arrays are recycled
(\`HugeArray\`). The stall a replacement causes is the worker's longest poll loop that
started on a newly taken snapshot (TSC); the bound is 50 us, and the next column counts
the loops on a new snapshot that broke it. The worker also counts every loop over 50 us,
without replacements and with them: on this shared VM those are the hypervisor's and the
kernel's preemptions and timer ticks, which replacements do not add to.

| date | workload | replacements | snapshots taken | packets | lost | longest loop on a new snapshot | loops on a new snapshot > 50 us | loops > 50 us (no swaps / swapping of all loops) | longest loop (no swaps / swapping) | machine |
|---|---|---|---|---|---|---|---|---|---|---|
MD
  fi
  perf/record.sh "$SECTION" "$line"
fi
