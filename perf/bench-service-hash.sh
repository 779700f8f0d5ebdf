#!/usr/bin/env bash
# Benchmark: the service FIBs' exact-match index (fwd-core/src/service/hash.rs, ExactMap)
# against DPDK's rte_hash (rte_hash_lookup_bulk_data): bulk lookups in bursts of 32 of the
# same 1M service IDs in the same 1M-entry tables, on the same core, in the same process
# (fwd-core/examples/service_hash_bench.rs). Two key sets: random distinct 32-bit IDs and
# the sequential IDs 1..=N that [tables.service_range] configures. Prints the figures and
# appends one row per key set to the "Service hash" table of perf/RESULTS.md.
#
# usage: perf/bench-service-hash.sh [SERVICES] [LOOKUPS] [ROUNDS]   (defaults: 1000000 1000000 9)
# env:   BENCH_CORE (default 1), BENCH_NO_RECORD=1 (print only)
# Needs: scripts/install-deps.sh (DPDK, clang); builds the example in release.
set -euo pipefail
cd "$(dirname "$0")/.."
SERVICES=${1:-1000000}
LOOKUPS=${2:-1000000}
ROUNDS=${3:-9}
CORE=${BENCH_CORE:-1}

cargo build --release -p fwd-core --example service_hash_bench
BIN=target/release/examples/service_hash_bench

cpu=$(awk -F: '/model name/ {gsub(/^ +/, "", $2); print $2; exit}' /proc/cpuinfo)
dpdk=$(pkg-config --modversion libdpdk)
date=$(date -u +%Y-%m-%d)
machine="$cpu, DPDK $dpdk, core $CORE, $ROUNDS rounds"

rows=()
for ids in random sequential; do
  OUT=$("$BIN" --services "$SERVICES" --lookups "$LOOKUPS" --rounds "$ROUNDS" --core "$CORE" \
    --ids "$ids" 2>/dev/null)
  echo "$OUT"
  get() { printf '%s\n' "$OUT" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2; exit }'; }
  rows+=("$(printf '| %s | %s services (%s IDs), %s lookups, all hits, bursts of 32 | %.2f | %.2f | **%.3f** | %.2f (%.3f) | %.2f | ExactMap %.0f MiB, max probe %s; rte_hash %s entries, %.0f MiB | %s |' \
    "$date" "$(get services)" "$ids" "$(get lookups)" "$(get rte_bulk_data_mlps)" \
    "$(get map_bulk_mlps)" "$(get ratio_bulk)" "$(get map_single_mlps)" "$(get ratio_single)" \
    "$(get rte_bulk_positions_mlps)" "$(get map_mem_mib)" "$(get map_max_probe)" \
    "$(get rte_entries)" "$(get rte_mem_mib)" "$machine")")
done
printf '%s\n' "${rows[@]}"
[ "${BENCH_NO_RECORD:-0}" = 1 ] && exit 0

HEADING="## Service hash (ExactMap) vs rte_hash"
if ! grep -qxF "$HEADING" perf/RESULTS.md; then
  cat >> perf/RESULTS.md <<'MD'

## Service hash (ExactMap) vs rte_hash

Command: `perf/bench-service-hash.sh` (release build of
`fwd-core/examples/service_hash_bench.rs`). The service FIBs' index, `ExactMap<u32>`
(`fwd-core/src/service/hash.rs`: linear probing at load <= 1/2, inline 4-byte keys and
4-byte values, Fibonacci hashing, `get_many` hashing and prefetching a burst before
probing it), against DPDK's `rte_hash` (cuckoo hashing, buckets of 8 signatures, separate
key store, CRC32-C; 4-byte keys, 8-byte data, sized for 2x the keys like the map) through
`rte_hash_lookup_bulk_data`, the same 1M service IDs mapped to the same values, the same
1M lookup keys (drawn at random from the table) in bursts of 32, on one EAL-pinned core,
in the same process, rounds alternating which goes first; every key is checked to get the
same value from both. Lookups per second are medians over rounds; the ratio (ExactMap /
rte_hash bulk) is the median of per-round ratios (above 1: ExactMap is faster). "single"
is `ExactMap::get` one key at a time (what the per-packet path calls), "positions" is
`rte_hash_lookup_bulk` (key indices without the data). EAL runs with `--no-huge`, so
rte_hash's table is on 4 KiB pages, while ExactMap asks for transparent huge pages
(`madvise`, as srgate does for every large table).

| date | workload | rte_hash bulk Mlookups/s | ExactMap bulk Mlookups/s | ratio | ExactMap single Mlookups/s (ratio) | rte_hash positions Mlookups/s | tables | machine |
|---|---|---|---|---|---|---|---|---|
MD
fi
for row in "${rows[@]}"; do
  perf/record.sh "$HEADING" "$row"
done
