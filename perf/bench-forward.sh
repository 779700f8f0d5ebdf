#!/usr/bin/env bash
# Benchmark: srgate's forwarding loop against dpdk-testpmd --forward-mode=macswap, on the
# same virtual device (net_pcap replaying 64-byte frames forever, TX dropped by the PMD),
# the same single forwarding core, in the same run. Prints both rates and their ratio and
# appends the result to perf/RESULTS.md.
#
# usage: perf/bench-forward.sh [SECONDS_PER_RUN] [ROUNDS] [WORKLOAD]
# WORKLOAD: xconnect (default; IPv4/UDP, cross-connect with TTL decrement)
#           mpls-swap-1m (MPLS over IPv4/UDP, 1M-entry LFIB, random labels, swap)
# Needs: scripts/install-deps.sh, a release build (cargo build --release).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-8}
ROUNDS=${2:-3}
WORKLOAD=${3:-xconnect}
CORE=${BENCH_CORE:-1}           # forwarding core for both
MAIN=${BENCH_MAIN_CORE:-0}      # testpmd's main (non-forwarding) lcore
OUT=perf/out
mkdir -p "$OUT"
BIN=target/release/srgate
cargo build --release --bin srgate 2>/dev/null

PCAP=$OUT/$WORKLOAD-64.pcap
case "$WORKLOAD" in
  xconnect)
    TABLES=""
    DESC="forward (xconnect, TTL dec, MAC rewrite), 64 B IPv4/UDP"
    GEN='frames = [Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
          / IP(src="10.0.0.1", dst="10.1.%d.%d" % (i // 250, i % 250 + 1), ttl=64)
          / UDP(sport=1000 + i, dport=2000) / Raw(b"x" * 18) for i in range(1024)]'
    ;;
  mpls-swap-1m)
    # 1M LFIB entries (labels 16..1000015) swapped to 1000016 - 16 + label... kept within
    # 20 bits by mapping onto 16.. of a second block of the same size is impossible (2M
    # labels > 2^20), so the block maps onto itself shifted by 48000 (a neighbour SRGB).
    TABLES='[[adjacency]]
name = "loop"
port = "p0"
dst_mac = "02:00:00:00:00:01"
[tables.mpls]
[[tables.mpls.swap_block]]
first = 16
count = 1000000
out_first = 48000
adjacencies = ["loop"]'
    DESC="MPLS swap, 1M-entry LFIB, random labels, 64 B"
    GEN='import random
random.seed(7)
frames = [Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
          / MPLS(label=random.randrange(16, 1000016), ttl=64, s=1)
          / IP(src="10.0.0.1", dst="10.1.%d.%d" % (i // 250, i % 250 + 1), ttl=64)
          / UDP(sport=1000 + i, dport=2000) / Raw(b"x" * 14) for i in range(4096)]'
    ;;
  *) echo "unknown workload $WORKLOAD" >&2; exit 2;;
esac
/usr/bin/python3 - "$PCAP" "$GEN" <<'PY' 2>/dev/null
import sys
from scapy.all import Ether, IP, UDP, Raw, wrpcap
from scapy.contrib.mpls import MPLS
exec(sys.argv[2])
assert all(len(f) == 60 for f in frames), [len(f) for f in frames[:3]]   # 64 B on the wire with the FCS
wrpcap(sys.argv[1], frames)
PY

DEV="net_pcap0,rx_pcap=$PCAP,infinite_rx=1"
EAL_COMMON=(--no-huge -m 1024 --no-pci --no-shconf --no-telemetry)

calc() { awk "BEGIN { printf \"%.6f\", $* }"; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) {print 0} else if (NR%2) {print a[(NR+1)/2]} else {print (a[NR/2]+a[NR/2+1])/2}}'; }

run_testpmd() {
  # Rx-pps lines of the forwarding port, skipping the first (warm-up) period.
  (timeout --signal=INT $((SECS + 2)) dpdk-testpmd -l "$MAIN,$CORE" "${EAL_COMMON[@]}" \
      --file-prefix=bench-tp --vdev "$DEV" -- \
      --forward-mode=macswap --auto-start --stats-period=1 --nb-cores=1 \
      --total-num-mbufs=8192 --burst=32 2>/dev/null || true) \
    | awk '/Tx-pps:/ {print $2}' | tail -n +3 | median
}

run_srgate() {
  cat > "$OUT/srgate-bench.toml" <<TOML
[eal]
args = ["--no-huge", "-m", "1024", "--no-pci", "--no-shconf", "--no-telemetry", "--log-level=lib.eal:warning"]
file_prefix = "bench-sg"
[dataplane]
cores = [$CORE]
stats_interval_ms = 1000
[mempool]
mbufs = 8191
cache = 256
data_room = 2176
[[port]]
name = "p0"
device = "$DEV"
[[xconnect]]
from = "p0"
to = "p0"
dst_mac = "02:00:00:00:00:01"
$TABLES
TOML
  SRGATE_LOG=warn "$BIN" run --config "$OUT/srgate-bench.toml" --duration "$SECS" 2>/dev/null \
    | awk '/^\[/ {for (i=1;i<=NF;i++) if ($i=="tx") {print $(i+1)*1e6; break}}' | tail -n +3 | median
}

declare -a TP SG
for r in $(seq 1 "$ROUNDS"); do
  tp=$(run_testpmd); sg=$(run_srgate)
  TP+=("$tp"); SG+=("$sg")
  printf 'round %d: testpmd macswap %.2f Mpps, srgate %.2f Mpps, ratio %.3f\n' "$r" \
    "$(calc "$tp/1000000")" "$(calc "$sg/1000000")" "$(calc "$sg/$tp")"
done
tp=$(printf '%s\n' "${TP[@]}" | median)
sg=$(printf '%s\n' "${SG[@]}" | median)
ratio=$(calc "$sg/$tp")
cpu=$(awk -F: '/model name/ {gsub(/^ +/,"",$2); print $2; exit}' /proc/cpuinfo)
dpdk=$(pkg-config --modversion libdpdk)
date=$(date -u +%Y-%m-%d)
line=$(printf '| %s | %s, 1 core | %.2f | %.2f | **%.3f** | %s, DPDK %s, %s s x %s rounds |' \
  "$date" "$DESC" "$(calc "$tp/1000000")" "$(calc "$sg/1000000")" "$ratio" "$cpu" "$dpdk" "$SECS" "$ROUNDS")
echo "$line"
if [ "${BENCH_NO_RECORD:-0}" != 1 ]; then
  perf/record.sh "## Forwarding loop vs dpdk-testpmd macswap" "$line"
fi
