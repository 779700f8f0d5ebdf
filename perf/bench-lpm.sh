#!/usr/bin/env bash
# Benchmark: srgate's overlay LPM (fwd-core/src/overlay/lpm.rs) against DPDK's rte_fib
# (IPv4, DIR24_8) and rte_fib6 (IPv6, TRIE): bulk lookups in bursts of 32 of the same
# random keys in the same random routes, on the same core, in the same process
# (fwd-core/examples/lpm_bench.rs). Prints the figures and appends one row per address
# family to the "Overlay LPM" table of perf/RESULTS.md.
#
# usage: perf/bench-lpm.sh [ROUTES] [KEYS] [ROUNDS]     (defaults: 1000000 1000000 9)
# env:   BENCH_CORE (default 1), BENCH_V6_ROUTES (default 100000; 0 skips IPv6),
#        BENCH_NO_RECORD=1 (print only), BENCH_JSON=FILE (append JSON records, see
#        perf/json-record.py)
# Needs: scripts/install-deps.sh (DPDK, clang); builds the example in release.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUTES=${1:-1000000}
KEYS=${2:-1000000}
ROUNDS=${3:-9}
CORE=${BENCH_CORE:-1}
V6_ROUTES=${BENCH_V6_ROUTES:-100000}

cargo build --release -p fwd-core --example lpm_bench
BIN=target/release/examples/lpm_bench
OUT=$("$BIN" --routes "$ROUTES" --keys "$KEYS" --rounds "$ROUNDS" --core "$CORE" \
  --v6-routes "$V6_ROUTES" 2>/dev/null)
echo "$OUT"

get() { printf '%s\n' "$OUT" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2; exit }'; }

cpu=$(awk -F: '/model name/ {gsub(/^ +/, "", $2); print $2; exit}' /proc/cpuinfo)
dpdk=$(pkg-config --modversion libdpdk)
date=$(date -u +%Y-%m-%d)
machine="$cpu, DPDK $dpdk, core $CORE, $ROUNDS rounds"

rows=()
rows+=("$(printf '| %s | IPv4, %s routes, %s keys, bursts of 32 | rte_fib DIR24_8 | %.2f | %.2f | **%.3f** | %s-bit root, %.0f MiB (rte_fib %.0f MiB) | %s |' \
  "$date" "$(get v4_routes)" "$(get v4_keys)" "$(get v4_rte_fib_mlps)" "$(get v4_lpm_bulk_mlps)" \
  "$(get ratio_v4)" "$(get v4_lpm_root_bits)" "$(get v4_lpm_mem_mib)" "$(get v4_rte_fib_mem_mib)" \
  "$machine")")
if [ "$V6_ROUTES" != 0 ]; then
  rows+=("$(printf '| %s | IPv6, %s routes, %s keys, bursts of 32 | rte_fib6 TRIE | %.2f | %.2f | **%.3f** | %s-bit root, %.0f MiB | %s |' \
    "$date" "$(get v6_routes)" "$(get v6_keys)" "$(get v6_rte_fib6_mlps)" "$(get v6_lpm_bulk_mlps)" \
    "$(get ratio_v6)" "$(get v6_lpm_root_bits)" "$(get v6_lpm_mem_mib)" "$machine")")
fi
printf '%s\n' "${rows[@]}"
if [ -n "${BENCH_JSON:-}" ]; then
  perf/json-record.py "$BENCH_JSON" benchmark=lpm \
    "workload=IPv4, $(get v4_routes) routes, $(get v4_keys) keys, bursts of 32" \
    "baseline=rte_fib DIR24_8" "baseline_value=$(get v4_rte_fib_mlps)" \
    "value=$(get v4_lpm_bulk_mlps)" unit=Mlookups/s "ratio=$(get ratio_v4)" better=higher \
    "rounds=$ROUNDS" "core=$CORE" "lpm_mem_mib=$(get v4_lpm_mem_mib)" \
    "rte_fib_mem_mib=$(get v4_rte_fib_mem_mib)"
  if [ "$V6_ROUTES" != 0 ]; then
    perf/json-record.py "$BENCH_JSON" benchmark=lpm \
      "workload=IPv6, $(get v6_routes) routes, $(get v6_keys) keys, bursts of 32" \
      "baseline=rte_fib6 TRIE" "baseline_value=$(get v6_rte_fib6_mlps)" \
      "value=$(get v6_lpm_bulk_mlps)" unit=Mlookups/s "ratio=$(get ratio_v6)" better=higher \
      "rounds=$ROUNDS" "core=$CORE" "lpm_mem_mib=$(get v6_lpm_mem_mib)"
  fi
fi
[ "${BENCH_NO_RECORD:-0}" = 1 ] && exit 0

# Append the rows at the end of this benchmark's table (creating the section the first
# time), wherever other sections of RESULTS.md are.
HEADING="## Overlay LPM vs rte_fib"
if ! grep -qxF "$HEADING" perf/RESULTS.md; then
  cat >> perf/RESULTS.md <<'MD'

## Overlay LPM vs rte_fib

Command: `perf/bench-lpm.sh` (release build of `fwd-core/examples/lpm_bench.rs`). Both
tables hold the same random routes (BGP-like length mix plus /25-/32 overlay hosts; IPv6
in 2000::/3, /28-/64) and look up the same keys (3/4 inside routes, 1/4 uniformly random)
in bursts of 32, on one EAL-pinned core, in the same process, rounds alternating which
goes first; every key is checked to get the same next hop from both. srgate's LPM is the
pure-Rust multibit trie of `overlay/lpm.rs` (`lookup_bulk_raw`, root stride picked by the
builder); rte_fib uses 4-byte next hops and its default lookup function. Lookups per
second are medians over rounds, the ratio (srgate / rte_fib) the median of per-round
ratios. EAL runs with `--no-huge` (4 KiB pages on both sides).

| date | workload | baseline | baseline Mlookups/s | srgate LPM Mlookups/s | ratio | srgate table | machine |
|---|---|---|---|---|---|---|---|
MD
fi
tmp=$(mktemp)
printf '%s\n' "${rows[@]}" > "$tmp.rows"
awk -v heading="$HEADING" -v rowsfile="$tmp.rows" '
  { lines[NR] = $0 }
  $0 == heading { inside = 1; next }
  inside && /^## / { inside = 0 }
  inside && /^\|/ { last = NR }
  END {
    for (i = 1; i <= NR; i++) {
      print lines[i]
      if (i == last) while ((getline row < rowsfile) > 0) print row
    }
  }' perf/RESULTS.md > "$tmp"
cat "$tmp" > perf/RESULTS.md
rm -f "$tmp" "$tmp.rows"
