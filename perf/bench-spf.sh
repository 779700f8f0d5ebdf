#!/usr/bin/env bash
# Benchmark: the control plane's path computation (ctrl-plane/src/path) and MPLS table
# compilation (ctrl-plane/src/compile/mpls.rs) on a seeded random topology
# (ctrl-plane/examples/spf_bench.rs): SPF with ECMP from random sources against a
# textbook Dijkstra (adjacency lists, binary heap, distances only) on the same graph,
# sources and core in the same run; reverse multi-source SPF toward anycast groups;
# SLA-constrained A* queries; one node's MPLS tables. Prints the figures and appends one
# row to the "Path computation" table of perf/RESULTS.md.
#
# usage: perf/bench-spf.sh [NODES] [LINKS] [SOURCES] [QUERIES]   (defaults: 10000 50000 200 200)
# env:   BENCH_CORE (default 1; pinned with taskset when available), BENCH_SEED (default 4),
#        BENCH_NO_RECORD=1 (print only), BENCH_JSON=FILE (append a JSON record, see
#        perf/json-record.py)
# Needs: a Rust toolchain (and what the workspace builds with: scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
NODES=${1:-10000}
LINKS=${2:-50000}
SOURCES=${3:-200}
QUERIES=${4:-200}
CORE=${BENCH_CORE:-1}
SEED=${BENCH_SEED:-4}

cargo build --release -p ctrl-plane --example spf_bench
BIN=target/release/examples/spf_bench
PIN=()
if command -v taskset >/dev/null && taskset -c "$CORE" true 2>/dev/null; then
  PIN=(taskset -c "$CORE")
fi
OUT=$("${PIN[@]}" "$BIN" --nodes "$NODES" --links "$LINKS" --sources "$SOURCES" \
  --queries "$QUERIES" --seed "$SEED")
echo "$OUT"

get() { printf '%s\n' "$OUT" | head -n 1 | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2; exit }'; }

cpu=$(awk -F: '/model name/ {gsub(/^ +/, "", $2); print $2; exit}' /proc/cpuinfo)
date=$(date -u +%Y-%m-%d)
pinned=${PIN[*]:+core $CORE}
machine="$cpu, ${pinned:-not pinned}, seed $SEED"
row=$(printf '| %s | %s nodes, %s links (%s edges), %s sources, %s SLA queries | %.3f | %.3f / %.3f | **%.3f** | %.3f / %.3f | %.3f / %.3f (%s labels; %s feasible, %s over budget) | %.1f (%s LFIB entries) | %s |' \
  "$date" "$(get nodes)" "$(get links)" "$(get edges)" "$(get sources)" "$(get queries)" \
  "$(get baseline_median_ms)" "$(get spf_median_ms)" "$(get spf_p99_ms)" "$(get speed_ratio)" \
  "$(get anycast_median_ms)" "$(get anycast_p99_ms)" \
  "$(get astar_median_ms)" "$(get astar_p99_ms)" "$(get astar_labels_median)" \
  "$(get astar_feasible)" "$(get astar_over_budget)" \
  "$(get compile_median_ms)" "$(get compile_lfib_entries)" "$machine")
echo "$row"
if [ -n "${BENCH_JSON:-}" ]; then
  perf/json-record.py "$BENCH_JSON" benchmark=spf \
    "workload=SPF with ECMP, $(get nodes) nodes, $(get links) links, $(get sources) sources" \
    "baseline=textbook Dijkstra (distances only), median ms" \
    "baseline_value=$(get baseline_median_ms)" "value=$(get spf_median_ms)" unit=ms \
    "ratio=$(get speed_ratio)" better=higher "spf_p99_ms=$(get spf_p99_ms)" \
    "anycast_median_ms=$(get anycast_median_ms)" "astar_median_ms=$(get astar_median_ms)" \
    "compile_median_ms=$(get compile_median_ms)" "seed=$SEED"
fi
[ "${BENCH_NO_RECORD:-0}" = 1 ] && exit 0

HEADING="## Path computation: SPF, anycast, SLA A*"
if ! grep -qxF "$HEADING" perf/RESULTS.md; then
  cat >> perf/RESULTS.md <<'MD'

## Path computation: SPF, anycast, SLA A*

Command: `perf/bench-spf.sh` (release build of `ctrl-plane/examples/spf_bench.rs`). A seeded
random topology: a random tree plus random links, each link two directed edges (IGP metric
1-100, delay 10-5010 us, jitter 0-500 us, loss on a quarter of the links, 0.1-100 Gb/s).
SPF is `path::spf` (Dijkstra, distances and ECMP first-hop sets for every node) from random
sources; the baseline is a textbook Dijkstra in the same binary (adjacency lists, binary
heap, distances only) from the same sources, runs interleaved, distances checked equal;
the ratio is the median of per-source baseline time / SPF time (above 1: SPF is faster).
Anycast: reverse multi-source SPF toward a random 4-member group (every node's distance
and next hops). SLA A*: `SlaSearch::best` between random pairs, SLA = 1.3x the least delay,
2/3 of the least-delay path's jitter, 2 % loss, 1 Gb/s edges; labels = labels created
(median). Compile: one node's MPLS tables (`compile_mpls`: SPF plus one LFIB entry per
prefix SID, 16 anycast groups). Times in ms, median / p99.

| date | workload | baseline Dijkstra ms | SPF+ECMP ms (median / p99) | ratio | anycast to-set ms | SLA A* ms (median / p99) | MPLS compile ms | machine |
|---|---|---|---|---|---|---|---|---|
MD
fi
perf/record.sh "$HEADING" "$row"
