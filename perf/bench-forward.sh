#!/usr/bin/env bash
# Benchmark: srgate's forwarding loop against dpdk-testpmd --forward-mode=macswap, on the
# same virtual device (net_pcap replaying a pcap forever, TX dropped by the PMD), the same
# single forwarding core, the same mbuf pool, in the same run. Prints both rates and their
# ratio and appends the result to perf/RESULTS.md.
#
# usage: perf/bench-forward.sh [SECONDS_PER_RUN] [ROUNDS] [WORKLOAD]
# WORKLOAD: xconnect (default; IPv4/UDP, cross-connect with TTL decrement)
#           mpls-swap-1m (MPLS over IPv4/UDP, 1M-entry LFIB, random labels, swap)
#           mpls-swap-1m-all (the same LFIB, a 1,000,000-frame pcap carrying each of its
#             1M labels once in random order: every lookup a different entry, so the
#             LFIB's working set is the whole table, not 4096 entries)
#           srou-transit (SRoU transit with first-hop NAT ALG, 117-byte frames carrying a
#             46-byte inner IPv4/UDP packet, i.e. a 64-byte frame's packet encapsulated)
#           service-cg-1m (END.CG, 1M-service Global FIB, 1M live flows, H.Encaps)
#           service-cl-1m (END.CL, 1M-service Local FIB, 1M live flows, decapsulation
#             and destination rewrite)
# The 1M-flow workloads replay 1,000,000 distinct flows: net_pcap's infinite_rx keeps
# every frame of the pcap in an mbuf of the port's pool, so both testpmd and srgate get a
# pool of 1M + 16K mbufs of 256 bytes (data room, headroom included) there.
# Generated pcaps are kept in perf/out/ under a name that changes with their generator.
# Needs: scripts/install-deps.sh, a release build (cargo build --release).
# env: BENCH_CORE, BENCH_MAIN_CORE (cores), BENCH_HUGE=1 (hugepages, see below),
#      BENCH_NO_RECORD=1 (print only).
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

# Pool and memory (both sides); the 1M-flow workloads override them.
MBUFS=8191
DATA_ROOM=2176
MEM=1024
LEN=60                          # every frame's length (without the FCS)
STARTUP=0                       # extra seconds testpmd needs to load the pcap
case "$WORKLOAD" in
  xconnect)
    TABLES=""
    DESC="forward (xconnect, TTL dec, MAC rewrite), 64 B IPv4/UDP"
    GEN='frames = [Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
          / IP(src="10.0.0.1", dst="10.1.%d.%d" % (i // 250, i % 250 + 1), ttl=64)
          / UDP(sport=1000 + i, dport=2000) / Raw(b"x" * 18) for i in range(1024)]'
    ;;
  mpls-swap-1m|mpls-swap-1m-all)
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
    if [ "$WORKLOAD" = mpls-swap-1m ]; then
      DESC="MPLS swap, 1M-entry LFIB, random labels, 64 B"
      GEN='import random
random.seed(7)
frames = [Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
          / MPLS(label=random.randrange(16, 1000016), ttl=64, s=1)
          / IP(src="10.0.0.1", dst="10.1.%d.%d" % (i // 250, i % 250 + 1), ttl=64)
          / UDP(sport=1000 + i, dport=2000) / Raw(b"x" * 14) for i in range(4096)]'
    else
      # As the service workloads: the pcap's frames live in the pool (1M + 16K mbufs of
      # 256 bytes on both sides). Built with struct (scapy takes minutes for a million
      # frames); the 4096-frame workload's layout, with a real IPv4 checksum.
      MBUFS=1016383
      DATA_ROOM=256
      MEM=2048
      STARTUP=2
      DESC="MPLS swap, 1M-entry LFIB, all 1M labels in random order (1M-frame pcap), 64 B"
      GEN='import random, struct
random.seed(17)
def csum(h):
    s = sum(struct.unpack("!10H", h))
    s = (s & 0xffff) + (s >> 16)
    s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff
eth = bytes.fromhex("020000000002" "020000000001" "8847")
labels = list(range(16, 1000016))
random.shuffle(labels)
frames = []
for i, label in enumerate(labels):
    ip = struct.pack("!BBHHHBBHII", 0x45, 0, 42, 0, 0, 64, 17, 0, 0x0a000001, 0x0a010000 | (i & 0xffff))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    udp = struct.pack("!HHHH", 1000 + i % 60000, 2000, 22, 0)
    frames.append(eth + struct.pack("!I", (label << 12) | 0x100 | 64) + ip + udp + b"x" * 14)'
    fi
    ;;
  srou-transit)
    # Node T of config/srou-transit.toml reduced to one locator and one next hop. Every
    # frame is to T's locator with the draft's two-segment list (SRoU Length 29: 3-byte
    # flow ID, IPv4 source, 2 x 6-byte segments), Segments Left = Last Entry = 1: T is the
    # first SRoU hop, so it does the NAT ALG (outer source into the SRoU Source), then
    # Segments Left 0, outer destination := Segment List[0], outer source := its locator,
    # TTL - 1, IPv4 checksum updated, MACs. Outer UDP checksum 0 (what srgate's ingress
    # sends over IPv4). Random outer sources, ports and flow IDs, random inner flows.
    LEN=117
    TABLES='[tables.srou]
[[tables.srou.locator]]
address = "10.99.2.1:8811"
decap = false
[[tables.srou.next_hop]]
address = "10.99.3.1"
port = "p0"
dst_mac = "02:00:00:00:00:01"'
    DESC="SRoU transit (first hop: NAT ALG, SL - 1, outer IP/UDP rewrite), 117 B frames (46 B inner IPv4/UDP, 2 segments)"
    GEN='import random, socket, struct
random.seed(11)
def srou(fid, src, sport, segs, sl):
    sr = struct.pack("!BBBB", 1, 4 + 6 * len(segs), len(segs) - 1, sl) + b"".join(
        socket.inet_aton(a) + struct.pack("!H", p) for a, p in segs)
    body = fid + socket.inet_aton(src) + struct.pack("!H", sport) + sr
    return struct.pack("!BBBB", 0, 4 + len(body), len(fid), 1) + body
def a4():
    return "%d.%d.%d.%d" % (random.randrange(1, 224), random.randrange(256), random.randrange(256), random.randrange(1, 255))
frames = []
for i in range(4096):
    inner = IP(src=a4(), dst=a4(), ttl=64) / UDP(sport=random.randrange(1024, 65536), dport=random.randrange(1, 65536)) / Raw(b"x" * 18)
    hdr = srou(random.randbytes(3), "10.99.1.1", 8811, [("10.99.3.1", 8811), ("10.99.2.1", 8811)], 1)
    frames.append(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
        / IP(src=a4(), dst="10.99.2.1", ttl=64)
        / UDP(sport=random.randrange(1024, 65536), dport=8811, chksum=0)
        / Raw(hdr) / inner)'
    ;;
  service-cg-1m|service-cl-1m)
    # 1,000,000 services (IDs 1..=1000000, [tables.service_range]) and 1,000,000 flows:
    # the pcap holds one frame per flow (distinct client source address, random source
    # port, a random service each), so every flow stays live in the per-worker affinity
    # table (2M slots: load 0.48) and every frame hashes into the 1M-entry FIB at random.
    MBUFS=1016383
    DATA_ROOM=256
    MEM=2048
    STARTUP=2
    FLOWS=1000000
    if [ "$WORKLOAD" = service-cg-1m ]; then
      # PE1 of config/service-pe1.toml: END.CG; three remote PEs (two tie at metric 10,
      # the flows split between them by hash; one backup at 20); H.Encaps into an outer
      # IPv6 header towards the chosen PE's END.CL SID (no SRH: no policy).
      LEN=62
      TABLES='[[adjacency]]
name = "core"
port = "p0"
dst_mac = "02:00:00:00:00:01"
[tables.service]
source = "fc00:0:1::1"
flow_capacity = 2097152
[[tables.service.sid]]
prefix = "fc00:0:1:c6::/96"
behavior = "end.cg"
[[tables.service.pe]]
id = 2
sid = "fc00:0:2:c1::/96"
adjacency = "core"
[[tables.service.pe]]
id = 3
sid = "fc00:0:3:c1::/96"
adjacency = "core"
[[tables.service.pe]]
id = 4
sid = "fc00:0:4:c1::/96"
adjacency = "core"
[[tables.service_range.global]]
first = 1
count = 1000000
pes = [{ pe = 2, metric = 10 }, { pe = 3, metric = 10 }, { pe = 4, metric = 20 }]'
      DESC="END.CG, 1M services, 1M live flows, H.Encaps (62 B IPv6/UDP in, 102 B out)"
    else
      # PE4 of config/service-pe4.toml: END.CL; what PE1 steers to it arrives encapsulated
      # (outer IPv6 to END.CL::service, Next Header 41); the outer header is removed and
      # the client packet delivered to one of three local instances (two tie at 20, one
      # backup at 26), its destination rewritten to the instance (UDP checksum updated).
      LEN=102
      TABLES='[[adjacency]]
name = "inst-41"
port = "p0"
dst_mac = "02:00:00:00:00:41"
[[adjacency]]
name = "inst-42"
port = "p0"
dst_mac = "02:00:00:00:00:42"
[[adjacency]]
name = "inst-43"
port = "p0"
dst_mac = "02:00:00:00:00:43"
[tables.service]
flow_capacity = 2097152
[[tables.service.sid]]
prefix = "fc00:0:4:c1::/96"
behavior = "end.cl"
[[tables.service.instance]]
id = 41
adjacency = "inst-41"
address = "2001:db8:4::41"
[[tables.service.instance]]
id = 42
adjacency = "inst-42"
address = "2001:db8:4::42"
[[tables.service.instance]]
id = 43
adjacency = "inst-43"
address = "2001:db8:4::43"
[[tables.service_range.local]]
first = 1
count = 1000000
instances = [{ instance = 41, metric = 20 }, { instance = 42, metric = 20 }, { instance = 43, metric = 26 }]'
      DESC="END.CL, 1M services, 1M live flows, decap + dst rewrite (102 B IPv6-in-IPv6/UDP in, 62 B out)"
    fi
    # Built with struct (scapy takes minutes for a million frames); the checksums are
    # real (tests/service.rs checks the same layouts with scapy and tshark).
    GEN='import random, struct
random.seed(13)
N = '"$FLOWS"'
CL = "'"$WORKLOAD"'" == "service-cl-1m"
def fold(s):
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s
def udp6(src, dst, sport, dport):
    s = sum(struct.unpack("!16H", src + dst)) + 8 + 17 + sport + dport + 8
    c = (~fold(s)) & 0xffff
    return struct.pack("!HHHH", sport, dport, 8, c or 0xffff)
def ip6(src, dst, nh, plen, hlim, flow):
    return struct.pack("!IHBB", (6 << 28) | flow, plen, nh, hlim) + src + dst
eth = bytes.fromhex("020000000002" "020000000001" "86dd")
cg = bytes.fromhex("fc000000000100c600000000")
cl = bytes.fromhex("fc000000000400c100000000")
pe1 = bytes.fromhex("fc000000000100000000000000000001")
frames = []
for i in range(N):
    svc = struct.pack("!I", random.randrange(1, 1000001))
    src = bytes.fromhex("20010db8000c0000") + struct.pack("!II", random.getrandbits(32), i)
    client = ip6(src, cg + svc, 17, 8, 64, 0) + udp6(src, cg + svc, random.randrange(1024, 65536), 443)
    if CL:
        client = client[:7] + b"\x3f" + client[8:]
        frames.append(eth + ip6(pe1, cl + svc, 41, len(client), 63, random.getrandbits(20)) + client)
    else:
        frames.append(eth + client)'
    ;;
  *) echo "unknown workload $WORKLOAD" >&2; exit 2;;
esac
GEN_ID=$(printf '%s' "$GEN" | md5sum | cut -c1-8)
PCAP=$OUT/$WORKLOAD-$LEN-$GEN_ID.pcap
if [ ! -s "$PCAP" ]; then
  /usr/bin/python3 - "$PCAP.tmp" "$GEN" "$LEN" <<'PY' 2>/dev/null
import struct, sys
from scapy.all import Ether, IP, UDP, Raw
from scapy.contrib.mpls import MPLS
exec(sys.argv[2])
frames = [bytes(f) for f in frames]
want = int(sys.argv[3])
assert all(len(f) == want for f in frames), [len(f) for f in frames[:3]]   # + 4 B FCS on the wire
with open(sys.argv[1], "wb") as out:
    out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    out.write(b"".join(struct.pack("<IIII", 0, 0, len(f), len(f)) + f for f in frames))
PY
  mv "$PCAP.tmp" "$PCAP"
fi

DEV="net_pcap0,rx_pcap=$PCAP,infinite_rx=1"
# Both sides' memory (mempool, rings): 4 KiB pages by default (--no-huge: runs anywhere);
# BENCH_HUGE=1 puts it on hugepages instead (mounted hugetlbfs with at least MEM MiB free,
# e.g. `echo 1200 > /proc/sys/vm/nr_hugepages` for the 1M-frame workloads), as a
# deployment would. The recorded row says which.
if [ "${BENCH_HUGE:-0}" = 1 ]; then
  EAL_COMMON=(-m "$MEM" --no-pci --no-shconf --no-telemetry)
  PAGES="hugepages"
else
  EAL_COMMON=(--no-huge -m "$MEM" --no-pci --no-shconf --no-telemetry)
  PAGES=""
fi
EAL_TOML=$(printf '"%s", ' "${EAL_COMMON[@]}")

calc() { awk "BEGIN { printf \"%.6f\", $* }"; }
# Numbers may come in exponent notation (awk prints 1.013e+07): sort -g, print plainly.
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) {m=0} else if (NR%2) {m=a[(NR+1)/2]} else {m=(a[NR/2]+a[NR/2+1])/2}; printf "%.6f\n", m}'; }

run_testpmd() {
  # Rx-pps lines of the forwarding port, skipping the first (warm-up) period.
  (timeout --signal=INT $((SECS + 2 + STARTUP)) dpdk-testpmd -l "$MAIN,$CORE" "${EAL_COMMON[@]}" \
      --file-prefix=bench-tp --vdev "$DEV" -- \
      --forward-mode=macswap --auto-start --stats-period=1 --nb-cores=1 \
      --total-num-mbufs="$((MBUFS + 1))" --mbuf-size="$DATA_ROOM" --burst=32 2>/dev/null || true) \
    | awk '/Tx-pps:/ {print $2}' | tail -n +3 | median
}

run_srgate() {
  cat > "$OUT/srgate-bench-$WORKLOAD.toml" <<TOML
[eal]
args = [$EAL_TOML"--log-level=lib.eal:warning"]
file_prefix = "bench-sg"
[dataplane]
cores = [$CORE]
stats_interval_ms = 1000
[mempool]
mbufs = $MBUFS
cache = 256
data_room = $DATA_ROOM
[[port]]
name = "p0"
device = "$DEV"
[[xconnect]]
from = "p0"
to = "p0"
dst_mac = "02:00:00:00:00:01"
$TABLES
TOML
  # The whole output (final counters: handlers, drops by reason) stays in srgate-*.log.
  SRGATE_LOG=warn "$BIN" run --config "$OUT/srgate-bench-$WORKLOAD.toml" --duration "$SECS" 2>/dev/null \
    | tee "$OUT/srgate-$WORKLOAD.log" \
    | awk '/^\[/ {for (i=1;i<=NF;i++) if ($i=="tx") {print $(i+1)*1e6; break}}' | tail -n +3 | median
}

# The ratio is the median of the per-round ratios (each round runs both back to back, so a
# disturbance of the shared machine hits both sides of one ratio); the rates are medians.
declare -a TP SG RT
for r in $(seq 1 "$ROUNDS"); do
  tp=$(run_testpmd); sg=$(run_srgate)
  rt=$(calc "$sg/$tp")
  TP+=("$tp"); SG+=("$sg"); RT+=("$rt")
  printf 'round %d: testpmd macswap %.2f Mpps, srgate %.2f Mpps, ratio %.3f\n' "$r" \
    "$(calc "$tp/1000000")" "$(calc "$sg/1000000")" "$rt"
done
tp=$(printf '%s\n' "${TP[@]}" | median)
sg=$(printf '%s\n' "${SG[@]}" | median)
ratio=$(printf '%s\n' "${RT[@]}" | median)
cpu=$(awk -F: '/model name/ {gsub(/^ +/,"",$2); print $2; exit}' /proc/cpuinfo)
dpdk=$(pkg-config --modversion libdpdk)
date=$(date -u +%Y-%m-%d)
line=$(printf '| %s | %s, 1 core | %.2f | %.2f | **%.3f** | %s, DPDK %s, %s s x %s rounds%s |' \
  "$date" "$DESC" "$(calc "$tp/1000000")" "$(calc "$sg/1000000")" "$ratio" "$cpu" "$dpdk" "$SECS" "$ROUNDS" \
  "${PAGES:+, $PAGES}")
echo "$line"
if [ "${BENCH_NO_RECORD:-0}" != 1 ]; then
  perf/record.sh "## Forwarding loop vs dpdk-testpmd macswap" "$line"
fi
