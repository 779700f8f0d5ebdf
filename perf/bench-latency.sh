#!/usr/bin/env bash
# Benchmark: latency end to end through srgate on net_memif, against the same path through
# dpdk-testpmd --forward-mode=macswap (the baseline), at the same offered rates, in the
# same run. pktgen (memif client, one core: TX and RX) sends 64 flows of IPv4/UDP (or
# MPLS) to the device under test (memif server on the other core), which sends every
# packet back on the same port; pktgen matches each by the signature in its payload and
# measures RX TSC - TX TSC into an hdrhistogram (p50, p99, p99.9, max).
#
# First the most the loop carries through each (pktgen unlimited, SECONDS each; with one
# core for pktgen's TX and RX, pktgen is usually what limits it), then, for each
# percentage of the loop's maximum through srgate, the baseline and srgate at that same
# fixed rate. Prints the figures and appends one row per rate to the "Latency through
# srgate on net_memif" table of perf/RESULTS.md.
#
# usage: perf/bench-latency.sh [SECONDS_PER_RUN] [WORKLOAD] [PERCENTS]
#        (defaults: 4 xconnect "10 50 90")
# WORKLOAD: xconnect   (IPv4/UDP, 64 B; srgate cross-connects the port to itself: full
#                       parse, IPv4 checksum check, TTL decrement, MAC rewrite)
#           mpls-swap  (MPLS label 16 over IPv4/UDP, 68 B; srgate swaps it for 2000 from a
#                       1024-label block and sends it back through an adjacency)
# env:   BENCH_PG_CORE (pktgen's core, default 0), BENCH_DUT_CORE (srgate's / testpmd's
#        forwarding core, default 1), BENCH_BASELINE=none (skip testpmd),
#        BENCH_NO_RECORD=1 (print only), BENCH_JSON=FILE (append JSON records, see
#        perf/json-record.py)
# Both sides busy-poll: on a 2-core machine nothing else should run meanwhile.
# Needs: scripts/install-deps.sh; builds srgate and pktgen in release mode.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-4}
WORKLOAD=${2:-xconnect}
PCTS=${3:-"10 50 90"}
PG_CORE=${BENCH_PG_CORE:-0}
DUT_CORE=${BENCH_DUT_CORE:-1}
BASELINE=${BENCH_BASELINE:-testpmd}
OUT=perf/out/latency
mkdir -p "$OUT"
SOCK=$PWD/$OUT/memif.sock
cargo build --release --bin srgate 2>/dev/null
cargo build --release -p pktgen --bin pktgen 2>/dev/null
SRGATE=target/release/srgate
PKTGEN=target/release/pktgen
EAL='"--no-huge", "-m", "512", "--no-pci", "--no-shconf", "--no-telemetry", "--iova-mode=va", "--log-level=lib.eal:warning"'

case "$WORKLOAD" in
  xconnect)
    SIZE=64
    TRAFFIC='protocol = "ipv4"'
    TABLES=""
    DESC="xconnect (TTL dec, MAC rewrite), 64 B IPv4/UDP"
    ;;
  mpls-swap)
    SIZE=68
    TRAFFIC='protocol = "mpls"
[traffic.mpls]
labels = [16]'
    TABLES='[[adjacency]]
name = "back"
port = "gen"
dst_mac = "02:00:00:00:00:99"
[tables.mpls]
[[tables.mpls.swap_block]]
first = 16
count = 1024
out_first = 2000
adjacencies = ["back"]'
    DESC="MPLS swap (1024-label block), 68 B MPLS/IPv4/UDP"
    ;;
  *) echo "unknown workload $WORKLOAD (xconnect, mpls-swap)" >&2; exit 2;;
esac

DUT_PID=""
stop_dut() {
  if [ -n "$DUT_PID" ]; then
    kill -INT "$DUT_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$DUT_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$DUT_PID" 2>/dev/null || true
    wait "$DUT_PID" 2>/dev/null || true
    DUT_PID=""
  fi
  rm -f "$SOCK"
}
trap stop_dut EXIT

start_srgate() {
  rm -f "$SOCK"
  cat > "$OUT/srgate.toml" <<TOML
[eal]
args = [$EAL]
file_prefix = "bench-lat-sg"
[dataplane]
cores = [$DUT_CORE]
stats_interval_ms = 0
[mempool]
mbufs = 8191
cache = 256
[[port]]
name = "gen"
device = "net_memif0,role=server,socket=$SOCK"
[[xconnect]]
from = "gen"
to = "gen"
dst_mac = "02:00:00:00:00:99"
$TABLES
TOML
  SRGATE_LOG=warn "$SRGATE" run --config "$OUT/srgate.toml" --stats-json "$OUT/srgate-stats.json" \
    > "$OUT/srgate.log" 2>&1 &
  DUT_PID=$!
}

start_testpmd() {
  rm -f "$SOCK"
  # The main lcore (which only prints the stats every few seconds) shares pktgen's core.
  dpdk-testpmd -l "$PG_CORE,$DUT_CORE" --no-huge -m 1024 --no-pci --no-shconf --no-telemetry \
    --file-prefix=bench-lat-tp --vdev "net_memif0,role=server,socket=$SOCK" -- \
    --forward-mode=macswap --port-topology=loop --auto-start --nb-cores=1 \
    --total-num-mbufs=8192 --burst=32 --stats-period=5 > "$OUT/testpmd.log" 2>&1 &
  DUT_PID=$!
}

# run_pktgen RATE_PPS|max JSON_OUT
run_pktgen() {
  local rate=""
  [ "$1" != max ] && rate="rate_pps = $1"
  cat > "$OUT/pktgen.toml" <<TOML
[eal]
args = [$EAL]
file_prefix = "bench-lat-pg"
[run]
cores = [$PG_CORE]
stats_interval_ms = 1000
drain_ms = 300
link_wait_ms = 15000
[mempool]
mbufs = 8191
cache = 256
[[port]]
name = "dut"
device = "net_memif0,role=client,socket=$SOCK"
[traffic]
tx_port = "dut"
rx_port = "dut"
flows = 64
size = $SIZE
duration_s = $SECS
$rate
$TRAFFIC
TOML
  PKTGEN_LOG=warn "$PKTGEN" run --profile "$OUT/pktgen.toml" --json "$2" > "$OUT/pktgen.log" 2>&1
}

# One measurement: DUT (srgate|testpmd) at RATE (pps or max) into $OUT/DUT-RATE.json.
measure() {
  local dut=$1 rate=$2 json="$OUT/$1-$2.json"
  rm -f "$json"
  if [ "$dut" = srgate ]; then start_srgate; else start_testpmd; fi
  if ! run_pktgen "$rate" "$json"; then
    echo "pktgen failed against $dut at $rate (see $OUT/pktgen.log)" >&2
    tail -5 "$OUT/pktgen.log" >&2
    stop_dut
    exit 1
  fi
  stop_dut
}

# Fields of a pktgen result: rx pps, p50/p99/p99.9/max in us, lost, sent.
fields() {
  /usr/bin/python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
l = r["latency_ns"]
print("%.0f %.2f %.2f %.2f %.2f %d %d %d" % (
    r["rx"]["pps"], l["p50"] / 1e3, l["p99"] / 1e3, l["p999"] / 1e3, l["max"] / 1e3,
    r["totals"]["lost"], r["totals"]["sent"], r["tsc_hz"]))
PY
}

calc() { awk "BEGIN { printf \"%.6f\", $* }"; }

measure srgate max
read -r sg_max _ < <(fields "$OUT/srgate-max.json")
tp_max=0
if [ "$BASELINE" != none ]; then
  measure testpmd max
  read -r tp_max _ < <(fields "$OUT/testpmd-max.json")
fi
printf 'max through the loop: srgate %.3f Mpps, testpmd macswap %.3f Mpps\n' \
  "$(calc "$sg_max/1e6")" "$(calc "$tp_max/1e6")"

cpu=$(awk -F: '/model name/ {gsub(/^ +/,"",$2); print $2; exit}' /proc/cpuinfo)
dpdk=$(pkg-config --modversion libdpdk)
date=$(date -u +%Y-%m-%d)
rows=()
for pct in $PCTS; do
  rate=$(awk -v m="$sg_max" -v p="$pct" 'BEGIN { printf "%.0f", m * p / 100 }')
  tp=(- - - - - 0 0 0)
  if [ "$BASELINE" != none ]; then
    measure testpmd "$rate"
    read -r -a tp < <(fields "$OUT/testpmd-$rate.json")
  fi
  measure srgate "$rate"
  read -r -a sg < <(fields "$OUT/srgate-$rate.json")
  ratio=n/a
  if [ "$BASELINE" != none ]; then
    ratio=$(awk -v a="${sg[2]}" -v b="${tp[2]}" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
  fi
  printf '%s%% (%.3f Mpps): testpmd p50/p99/p99.9/max %s/%s/%s/%s us lost %s | srgate %s/%s/%s/%s us lost %s | p99 ratio %s\n' \
    "$pct" "$(calc "$rate/1e6")" "${tp[1]}" "${tp[2]}" "${tp[3]}" "${tp[4]}" "${tp[5]}" \
    "${sg[1]}" "${sg[2]}" "${sg[3]}" "${sg[4]}" "${sg[5]}" "$ratio"
  rows+=("$(printf '| %s | %s, 64 flows, %s%% of the loop maximum (%.3f of %.3f Mpps; with testpmd %.3f) | %s / %s / %s / %s | %s / %s / %s / %s | **%s** | %s (%s) of %s | %s, DPDK %s, %s s per rate |' \
    "$date" "$DESC" "$pct" "$(calc "$rate/1e6")" "$(calc "$sg_max/1e6")" "$(calc "$tp_max/1e6")" \
    "${tp[1]}" "${tp[2]}" "${tp[3]}" "${tp[4]}" "${sg[1]}" "${sg[2]}" "${sg[3]}" "${sg[4]}" \
    "$ratio" "${sg[5]}" "${tp[5]}" "${sg[6]}" "$cpu" "$dpdk" "$SECS")")
  if [ -n "${BENCH_JSON:-}" ]; then
    perf/json-record.py "$BENCH_JSON" benchmark=latency \
      "workload=$DESC, 64 flows, ${pct}% of the loop maximum" \
      "baseline=dpdk-testpmd macswap (memif)" "baseline_value=${tp[2]}" "value=${sg[2]}" \
      unit=us-p99 "ratio=$ratio" better=lower "percent=$pct" "rate_pps=$rate" \
      "srgate_max_pps=$sg_max" "testpmd_max_pps=$tp_max" \
      "srgate_us:={\"p50\": ${sg[1]}, \"p99\": ${sg[2]}, \"p999\": ${sg[3]}, \"max\": ${sg[4]}, \"lost\": ${sg[5]}, \"sent\": ${sg[6]}}" \
      "testpmd_us:={\"p50\": \"${tp[1]}\", \"p99\": \"${tp[2]}\", \"p999\": \"${tp[3]}\", \"max\": \"${tp[4]}\", \"lost\": ${tp[5]}, \"sent\": ${tp[6]}}" \
      "tsc_hz=${sg[7]}" "seconds=$SECS"
  fi
done
printf '%s\n' "${rows[@]}"
[ "${BENCH_NO_RECORD:-0}" = 1 ] && exit 0

HEADING="## Latency through srgate on net_memif"
if ! grep -qxF "$HEADING" perf/RESULTS.md; then
  cat >> perf/RESULTS.md <<'MD'

## Latency through srgate on net_memif

Command: `perf/bench-latency.sh 4 WORKLOAD` (release builds). pktgen (memif client, one
core for TX and RX, 64 flows, every packet signed with its TX TSC) sends to the device
under test (memif server, busy-polling on the other core), which sends every packet back
on the same port; latency = RX TSC (per RX burst) - TX TSC (per TX burst), hdrhistogram,
in microseconds: p50 / p99 / p99.9 / max. First the loop's maximum through each device
(pktgen unlimited; with one core for pktgen's TX and RX, pktgen is what limits it), then
for each percentage of the maximum through srgate the baseline (`dpdk-testpmd
--forward-mode=macswap --port-topology=loop` on the same memif port) and srgate at that
same fixed rate. The ratio is srgate's p99 / testpmd's p99 (above 1: srgate adds
latency). "lost" is srgate's (testpmd's) lost packets of those sent. The processes share
a 2-core machine: the maxima (and sometimes p99) include the machine's own stalls of a
few milliseconds (vCPU preemption, other processes).

| date | workload | testpmd macswap us (p50 / p99 / p99.9 / max) | srgate us (p50 / p99 / p99.9 / max) | p99 ratio | lost | machine |
|---|---|---|---|---|---|---|
MD
fi
for row in "${rows[@]}"; do
  perf/record.sh "$HEADING" "$row"
done
