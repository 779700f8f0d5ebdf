#!/usr/bin/env bash
# Benchmark: pktgen's own transmit rate against dpdk-testpmd --forward-mode=txonly, on the
# same virtual device (net_null, which frees what it is given), the same single core, in
# the same run, with 64-byte frames (60 bytes in the mbuf + 4 of FCS). Prints both rates
# and their ratio and appends the result to perf/RESULTS.md.
#
# usage: perf/bench-pktgen.sh [SECONDS_PER_RUN] [ROUNDS]
# Per burst pktgen takes mbufs from the pool in bulk; per packet it resets the mbuf, copies a 60-byte IPv4/UDP template, writes the flow's
# UDP source port and the 18-byte signature (stream, sequence number, TX TSC), over 64
# flows; testpmd txonly allocates in bulk and writes a fixed IPv4/UDP header.
# Needs: scripts/install-deps.sh; builds pktgen in release mode if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-8}
ROUNDS=${2:-3}
CORE=${BENCH_CORE:-1}           # the transmitting core for both
MAIN=${BENCH_MAIN_CORE:-0}      # testpmd's main (non-forwarding) lcore
OUT=perf/out
mkdir -p "$OUT"
BIN=target/release/pktgen
cargo build --release -p pktgen --bin pktgen 2>/dev/null

DEV="net_null0"
EAL_COMMON=(--no-huge -m 1024 --no-pci --no-shconf --no-telemetry)

calc() { awk "BEGIN { printf \"%.6f\", $* }"; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) {print 0} else if (NR%2) {print a[(NR+1)/2]} else {print (a[NR/2]+a[NR/2+1])/2}}'; }

run_testpmd() {
  # Tx-pps lines of the port, skipping the first (warm-up) periods.
  (timeout --signal=INT $((SECS + 2)) dpdk-testpmd -l "$MAIN,$CORE" "${EAL_COMMON[@]}" \
      --file-prefix=bench-tp --vdev "$DEV" -- \
      --forward-mode=txonly --txpkts=60 --auto-start --stats-period=1 --nb-cores=1 \
      --total-num-mbufs=8192 --burst=32 2>/dev/null || true) \
    | awk '/Tx-pps:/ {print $2}' | tail -n +3 | median
}

run_pktgen() {
  sed -e "s/^duration_s = .*/duration_s = $SECS/" -e "s/^cores = .*/cores = [$CORE]/" \
    pktgen/profiles/null-tx-64.toml > "$OUT/pktgen-bench.toml"
  PKTGEN_LOG=warn "$BIN" run --profile "$OUT/pktgen-bench.toml" --json "$OUT/pktgen-bench.json" 2>/dev/null \
    | awk '/^\[/ {for (i=1;i<=NF;i++) if ($i=="tx") {print $(i+1)*1e6; break}}' | tail -n +3 | median
}

declare -a TP PG
for r in $(seq 1 "$ROUNDS"); do
  tp=$(run_testpmd); pg=$(run_pktgen)
  TP+=("$tp"); PG+=("$pg")
  printf 'round %d: testpmd txonly %.2f Mpps, pktgen %.2f Mpps, ratio %.3f\n' "$r" \
    "$(calc "$tp/1000000")" "$(calc "$pg/1000000")" "$(calc "$pg/$tp")"
done
tp=$(printf '%s\n' "${TP[@]}" | median)
pg=$(printf '%s\n' "${PG[@]}" | median)
ratio=$(calc "$pg/$tp")
cpu=$(awk -F: '/model name/ {gsub(/^ +/,"",$2); print $2; exit}' /proc/cpuinfo)
dpdk=$(pkg-config --modversion libdpdk)
date=$(date -u +%Y-%m-%d)
line=$(printf '| %s | pktgen TX, 64 B IPv4/UDP, 64 flows, signature per packet, 1 core | %.2f | %.2f | **%.3f** | %s, DPDK %s, %s s x %s rounds |' \
  "$date" "$(calc "$tp/1000000")" "$(calc "$pg/1000000")" "$ratio" "$cpu" "$dpdk" "$SECS" "$ROUNDS")
echo "$line"
if [ -n "${BENCH_JSON:-}" ]; then
  tsc=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tsc_hz"])' "$OUT/pktgen-bench.json" 2>/dev/null || echo 0)
  perf/json-record.py "$BENCH_JSON" benchmark=pktgen-tx \
    "workload=pktgen TX, 64 B IPv4/UDP, 64 flows, signature per packet, 1 core" \
    "baseline=dpdk-testpmd txonly" "baseline_value=$(calc "$tp/1000000")" \
    "value=$(calc "$pg/1000000")" unit=Mpps "ratio=$ratio" better=higher \
    "seconds=$SECS" "rounds=$ROUNDS" "core=$CORE" "tsc_hz=$tsc" \
    "rounds_testpmd_pps:=[$(IFS=,; echo "${TP[*]}")]" "rounds_pktgen_pps:=[$(IFS=,; echo "${PG[*]}")]"
fi
if [ "${BENCH_NO_RECORD:-0}" != 1 ]; then
  if ! grep -q '^## pktgen transmit vs dpdk-testpmd txonly' perf/RESULTS.md; then
    cat >> perf/RESULTS.md <<'MD'

## pktgen transmit vs dpdk-testpmd txonly

Command: `perf/bench-pktgen.sh 8 3` (release build). Device: `net_null0` (TX frees the
mbufs); one transmitting core (lcore 1) for both; 64-byte frames (60 bytes in the mbuf);
median of per-second TX rates after a 2 s warm-up, median over rounds. pktgen paces
nothing (no rate set), takes each burst from the mempool without DPDK's reset pass and
resets, fills and stamps each mbuf in one pass (`PktMempool::alloc_bulk_with`): its flow's
prebuilt 60-byte frame (UDP port and signature head written at start), the sequence number
and TX TSC of the 18-byte signature; testpmd txonly writes a fixed header.

| date | workload | testpmd txonly Mpps | pktgen Mpps | ratio | machine |
|---|---|---|---|---|---|
MD
  fi
  perf/record.sh "## pktgen transmit vs dpdk-testpmd txonly" "$line"
fi
