#!/usr/bin/env bash
# The multi-node demo of the etcd control plane (issue 4 K), for an operator to watch.
#
# Starts its own etcd on free loopback ports (temporary data dir), then four srgate
# processes joined by net_memif links, the topology of tests/multinode.rs:
#
#               10        10
#     pktgen -> a ------- b ------- c -> pktgen
#                \                 /
#              20 `------ d ------' 20
#
# and shows, with etcdctl and the nodes' logs:
#   1. registration: /node, /systemlabel (dense labels 0..3), /srgb, /sid, /stats/linkstate;
#   2. path computation: every node compiles its LFIB by SPF over what it sees in etcd and
#      publishes it (a's publication lines);
#   3. failover: pktgen sends MPLS [16003 (c's prefix SID at a), 999 (c pops it)] at
#      2000 pps for 15 s; after 4 s node b is killed with SIGKILL (no goodbye); its lease
#      expires, etcd deletes its keys, a recompiles and the traffic moves to a -> d -> c.
#      pktgen's summary gives the packets lost and the outage they imply.
# Everything it starts is stopped on exit (also on Ctrl-C or failure) and its temporary
# directory removed (--keep keeps it, with every log and config).
#
# Usage: ./scripts/multinode-demo.sh [--keep]
# Needs Debian 12 with root or sudo (install-deps), two or more cores; no NIC, no hugepages.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

KEEP=0
for arg in "$@"; do
  case "$arg" in
    --keep) KEEP=1 ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "multinode-demo: unknown argument $arg (try --help)" >&2; exit 2 ;;
  esac
done

TTL_S=2            # registration lease TTL of every node
RATE_PPS=2000      # pktgen's offered rate
DURATION_S=15      # seconds of traffic
KILL_AFTER_S=4     # b dies this long after traffic starts
COUNT=$((RATE_PPS * DURATION_S))

if [ -t 1 ]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD='' PLAIN=''; fi
say()  { printf '\n%s== %s%s\n' "$BOLD" "$*" "$PLAIN"; }
info() { printf '   %s\n' "$*"; }
die()  { printf '\nmultinode-demo: ERROR: %s\n' "$*" >&2; exit 1; }

# --- install and build --------------------------------------------------------------
say "Installing dependencies (scripts/install-deps.sh)"
./scripts/install-deps.sh
for tool in etcd etcdctl python3; do
  command -v "$tool" >/dev/null || die "$tool not found after install-deps"
done
say "Building srgate and pktgen (debug)"
cargo build -p srgate -p pktgen
SRGATE=$ROOT/target/debug/srgate
PKTGEN=$ROOT/target/debug/pktgen
[ -x "$SRGATE" ] && [ -x "$PKTGEN" ] || die "build did not produce $SRGATE and $PKTGEN"

# --- bookkeeping and cleanup ----------------------------------------------------------
WORK=$(mktemp -d /tmp/srgate-mn-demo.XXXXXX)
TAG="mndemo$$"            # DPDK file prefixes of our own (never clash with a test run)
declare -A PID=()         # name -> pid of every process we started

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

stop_pid() {  # stop_pid NAME SIGNAL TIMEOUT_S: signal it, wait, then SIGKILL
  local name=$1 sig=$2 limit=$3 pid=${PID[$1]:-} i
  alive "$pid" || return 0
  kill "-$sig" "$pid" 2>/dev/null || true
  for ((i = 0; i < limit * 10; i++)); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    info "$name (pid $pid) did not stop on SIG$sig; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 130 ] && [ -d "$WORK" ]; then   # a failure: show why
    for f in "$WORK"/*/srgate.log "$WORK"/pktgen.log "$WORK"/etcd.log; do
      [ -s "$f" ] || continue
      printf '\n--- last lines of %s ---\n' "$f" >&2
      tail -n 15 "$f" | sed 's/\x1b\[[0-9;]*m//g' >&2
    done
  fi
  # SIGTERM: background jobs of a script ignore SIGINT unless they catch it themselves.
  for name in pktgen watch a b c d; do stop_pid "$name" TERM 10; done
  stop_pid etcd TERM 10
  rm -rf /var/run/dpdk/"$TAG"-* 2>/dev/null || true
  if [ "$KEEP" -eq 1 ]; then
    echo "multinode-demo: logs and configs kept in $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "multinode-demo: interrupted" >&2; exit 130' INT TERM

# t0-relative seconds, from bash's microsecond clock.
now_us() { local t=${EPOCHREALTIME/./}; echo "$((10#$t))"; }
since() { local d=$(( $(now_us) - $1 )); printf '+%d.%02d s' $((d / 1000000)) $(((d % 1000000) / 10000)); }

wait_for() {  # wait_for LIMIT_S WHAT COMMAND...: poll every 0.1 s until COMMAND succeeds
  local limit=$1 what=$2 t0; shift 2
  t0=$(now_us)
  until "$@"; do
    [ $(( $(now_us) - t0 )) -lt $((limit * 1000000)) ] || die "timed out after ${limit} s waiting for $what"
    sleep 0.1
  done
}

# --- etcd -----------------------------------------------------------------------------
read -r CPORT PPORT < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
EP=127.0.0.1:$CPORT
export ETCDCTL_API=3
ctl() { etcdctl --endpoints="http://$EP" --command-timeout=3s "$@"; }

say "Starting etcd on $EP (data dir $WORK/etcd)"
etcd --name demo --data-dir "$WORK/etcd" \
  --listen-client-urls "http://$EP" --advertise-client-urls "http://$EP" \
  --listen-peer-urls "http://127.0.0.1:$PPORT" \
  --initial-advertise-peer-urls "http://127.0.0.1:$PPORT" \
  --initial-cluster "demo=http://127.0.0.1:$PPORT" \
  --heartbeat-interval 50 --election-timeout 500 --log-level warn \
  >/dev/null 2>"$WORK/etcd.log" &
PID[etcd]=$!
etcd_up() { alive "${PID[etcd]}" || die "etcd exited"; ctl endpoint health >/dev/null 2>&1; }
wait_for 20 "etcd to answer" etcd_up
info "$(ctl endpoint health 2>&1)"

# --- the four nodes -------------------------------------------------------------------
EAL='args = ["--no-huge", "-m", "256", "--no-pci", "--no-shconf", "--no-telemetry", "--iova-mode=va", "--log-level=lib.eal:warning", "--log-level=pmd.net.memif:error"]'
# memif device names must differ within a process: the socket's number names the device.
SOCK_AB=$WORK/1.sock SOCK_AD=$WORK/2.sock SOCK_BC=$WORK/3.sock
SOCK_DC=$WORK/4.sock SOCK_GA=$WORK/5.sock SOCK_GC=$WORK/6.sock

memif() {  # memif PORT-NAME ROLE SOCKET
  local n; n=$(basename "$3" .sock)
  printf '[[port]]\nname = "%s"\ndevice = "net_memif%s,role=%s,socket=%s"\n\n' "$1" "$n" "$2" "$3"
}
adjacency() {  # adjacency NAME PORT
  printf '[[adjacency]]\nname = "%s"\nport = "%s"\ndst_mac = "02:00:00:00:00:01"\n\n' "$1" "$2"
}
links() {  # links NEIGHBOUR METRIC ...
  while [ $# -gt 0 ]; do
    printf '[[control.link]]\nneighbor = "%s"\nmetric = %s\n' "$1" "$2"
    shift 2
  done
}
node_config() {  # node_config NAME SRGB-BASE PREFIX-SID BODY CONTROL-LINKS EXTRA-MPLS
  local name=$1
  mkdir -p "$WORK/$name"
  cat >"$WORK/$name/srgate.toml" <<EOF
[eal]
$EAL
file_prefix = "$TAG-$name"

[dataplane]
cores = [0]
idle_empty_polls = 64
idle_sleep_us = 200
stats_interval_ms = 0

[mempool]
mbufs = 4095
cache = 128

$4
[tables.mpls]
srgb = { base = $2, size = 1000 }
$6

[control]
name = "$name"
endpoints = ["$EP"]
lease_ttl_s = $TTL_S
request_timeout_ms = 1000
locators = ["$name/1/10.0.0.1:8811/10.0.0.1:8811/p0/10000/10000"]
prefix_sid = $3
$5
EOF
}

node_config a 16000 1 \
  "$(memif gen server "$SOCK_GA"; memif to-b server "$SOCK_AB"; memif to-d server "$SOCK_AD"
     adjacency b to-b; adjacency d to-d)" \
  "$(links b 10 d 20)" ""
node_config b 17000 2 \
  "$(memif to-a client "$SOCK_AB"; memif to-c server "$SOCK_BC"; adjacency a to-a; adjacency c to-c)" \
  "$(links a 10 c 10)" ""
node_config d 19000 4 \
  "$(memif to-a client "$SOCK_AD"; memif to-c server "$SOCK_DC"; adjacency a to-a; adjacency c to-c)" \
  "$(links a 20 c 20)" ""
node_config c 18000 3 \
  "$(memif to-b client "$SOCK_BC"; memif to-d client "$SOCK_DC"; memif gen server "$SOCK_GC"
     adjacency b to-b; adjacency d to-d; adjacency sink gen)" \
  "$(links b 10 d 20)" \
  "$(printf '[[tables.mpls.lfib]]\nlabel = 999\naction = "pop"\npaths = [{ adjacency = "sink" }]\n')"

plain() { sed 's/\x1b\[[0-9;]*m//g'; }   # tracing colours its log lines even in files
log_has() { grep -q -- "$2" "$WORK/$1/srgate.log" 2>/dev/null; }
node_running() { alive "${PID[$1]}" || die "node $1 exited"; log_has "$1" "data plane running"; }

start_node() {
  "$SRGATE" run --config "$WORK/$1/srgate.toml" --stats-json "$WORK/$1/stats.json" \
    >/dev/null 2>"$WORK/$1/srgate.log" &
  PID[$1]=$!
  wait_for 60 "node $1's data plane" node_running "$1"
  info "node $1 running (pid ${PID[$1]}, config $WORK/$1/srgate.toml)"
}

say "Starting the four nodes (memif servers before their clients: a, b, d, c)"
for n in a b d c; do start_node "$n"; done

# --- registration ---------------------------------------------------------------------
registered() {
  local labels nlinks
  labels=$(ctl get --prefix /systemlabel/ --keys-only) || return 1
  nlinks=$(ctl get --prefix /stats/linkstate/ --keys-only | grep -c . || true)
  for x in 0 1 2 3; do grep -qx "/systemlabel/$x" <<<"$labels" || return 1; done
  [ "$nlinks" -eq 8 ]
}
say "Waiting for registration: four labels, eight link-state keys"
t_reg=$(now_us)
wait_for 30 "the four nodes to register and report their links" registered
info "converged in $(since "$t_reg") after the last node started"
all_published() { for n in a b c d; do log_has "$n" "control plane published new tables" || return 1; done; }
wait_for 15 "every node to publish compiled tables" all_published
sleep 0.5   # let the last recompilations settle
for n in a b c d; do
  info "$n: $(grep -- "registered in etcd" "$WORK/$n/srgate.log" | plain | sed 's/^[^ ]* *//')"
done

show() {  # show TITLE ETCDCTL-ARGS...: print the command and its output, indented
  local title=$1; shift
  printf '\n   --- %s\n   $ etcdctl %s\n' "$title" "$*"
  ctl "$@" | { grep -v '^$' || true; } | sed 's/^/     /'
}
say "What etcd holds now (every node's keys hang on its own lease)"
show "registrations: SiteID,SystemLabel,Lat,Long" get --prefix /node/
show "system labels (dense, allocated under /lock/systemlabel)" get --prefix /systemlabel/
show "SRGBs: base,size" get --prefix /srgb/
show "prefix SIDs: index" get --prefix /sid/
show "link state (keys only): <src locator>-><dst locator>" get --prefix /stats/linkstate/ --keys-only
printf '\n   --- one link-state value: JitterUs,DelayUs,LossPpm,LoadPct,Metric\n'
ab_key=$(ctl get --prefix /stats/linkstate/a/ --keys-only | grep -- '->b/' | head -n 1)
info "  $ab_key = $(ctl get "$ab_key" --print-value-only)"

say "Path computation: node a's publications so far (grep published a/srgate.log)"
grep -- "published" "$WORK/a/srgate.log" | plain | sed 's/^/   /'
info "(SPF at a: c's prefix SID, index 3, is label 16003 in a's SRGB; a swaps it for 17003,"
info " b's label for index 3, towards b: a-b-c costs 20, a-d-c 40. c pops 18003 and 999.)"

# --- traffic and failover -------------------------------------------------------------
cat >"$WORK/pktgen.toml" <<EOF
[eal]
$EAL
file_prefix = "$TAG-pg"

[run]
cores = [1]
stats_interval_ms = 1000
drain_ms = 1500
idle_loops = 64
idle_sleep_us = 100

[mempool]
mbufs = 8191
cache = 128

$(memif tx client "$SOCK_GA")
$(memif rx client "$SOCK_GC")
[traffic]
tx_port = "tx"
rx_port = "rx"
protocol = "mpls"
flows = 4
size = 96
rate_pps = $RATE_PPS
count = $COUNT

[traffic.mpls]
labels = [16003, 999]
EOF

# A raw etcdctl watch of the whole key space, to show the deletions as etcd sends them
# (etcdctl itself, not the ctl function: $! must be etcdctl's own pid).
etcdctl --endpoints="http://$EP" watch --prefix / >"$WORK/watch.log" 2>&1 &
PID[watch]=$!

say "Traffic: pktgen sends MPLS [16003, 999] at $RATE_PPS pps, $COUNT packets (~${DURATION_S} s)"
"$PKTGEN" run --profile "$WORK/pktgen.toml" --json "$WORK/pktgen.json" >"$WORK/pktgen.log" 2>&1 &
PID[pktgen]=$!
LIVE='^\[ *[0-9.]+s\] tx'
pg_sending() { alive "${PID[pktgen]}" || die "pktgen exited early"; grep -Eq "$LIVE" "$WORK/pktgen.log"; }
wait_for 30 "pktgen's first live line (1 s into the traffic)" pg_sending
sleep $((KILL_AFTER_S - 1))
info "pktgen: $(grep -E "$LIVE" "$WORK/pktgen.log" | tail -n 1)"

keys_now() { ctl get --prefix / --keys-only | grep -v -e '^$' -e '^/lock/' | sort; }
published_now() { grep -c -- "control plane published new tables" "$WORK/a/srgate.log" || true; }
B_LEASE=$(grep -- "registered in etcd" "$WORK/b/srgate.log" | plain | sed -n 's/.*lease=\([0-9a-f]*\).*/\1/p' | tail -n 1)
[ -n "$B_LEASE" ] || die "no lease id in b's log"
show "every key of b hangs on b's lease" lease timetolive "$B_LEASE" --keys
before=$(keys_now)
pub_before=$(published_now)

say "Failover: kill -9 node b (pid ${PID[b]}), ${KILL_AFTER_S} s into the traffic"
kill -KILL "${PID[b]}"
wait "${PID[b]}" 2>/dev/null || true
t_kill=$(now_us)
info "$(since "$t_kill")  b killed: no lease revocation, its keys stay until the ${TTL_S} s lease expires"

b_gone_at=""
a_moved_at=""
prev=$before
prev_pub=$pub_before
until [ -n "$b_gone_at" ] && [ -n "$a_moved_at" ] && [ $(( $(now_us) - b_gone_at )) -gt 1000000 ]; do
  [ $(( $(now_us) - t_kill )) -lt $(( (TTL_S + 8) * 1000000 )) ] \
    || die "b's keys did not disappear or a did not recompile within $((TTL_S + 8)) s"
  cur=$(keys_now) || { sleep 0.1; continue; }
  stamp=$(since "$t_kill")
  while IFS= read -r k; do
    [ -n "$k" ] && info "$stamp  etcd: deleted $k"
  done < <(comm -23 <(echo "$prev") <(echo "$cur"))
  while IFS= read -r k; do
    [ -n "$k" ] && info "$stamp  etcd: new     $k"
  done < <(comm -13 <(echo "$prev") <(echo "$cur"))
  if [ -z "$b_gone_at" ] && ! grep -qx /node/fabric/b <<<"$cur"; then
    b_gone_at=$(now_us)
    info "$stamp  => b's lease expired: /node/fabric/b is gone"
  fi
  pub=$(published_now)
  if [ "$pub" -gt "$prev_pub" ]; then
    grep -- "control plane published new tables" "$WORK/a/srgate.log" | tail -n $((pub - prev_pub)) |
      plain | sed 's/^[^ ]* *//' | while IFS= read -r l; do info "$stamp  a: $l"; done
    [ -n "$b_gone_at" ] && a_moved_at=$(now_us)
  fi
  prev=$cur
  prev_pub=$pub
  sleep 0.1
done

stop_pid watch TERM 5
printf '\n   --- the deletions as etcd sent them\n   $ etcdctl watch --prefix /   (DELETE events)\n'
grep -A1 '^DELETE$' "$WORK/watch.log" | grep -v -e '^DELETE$' -e '^--$' | sed 's/^/     DELETE /'
show "registrations after the failover" get --prefix /node/ --keys-only
show "system labels after the failover" get --prefix /systemlabel/

# --- results --------------------------------------------------------------------------
say "Waiting for pktgen to finish"
pg_done() { ! alive "${PID[pktgen]}"; }
wait_for $((DURATION_S + 30)) "pktgen to finish" pg_done
set +e; wait "${PID[pktgen]}"; pg_rc=$?; set -e
[ "$pg_rc" -eq 0 ] || die "pktgen exited with status $pg_rc"
sed -n '/^== pktgen result/,$p' "$WORK/pktgen.log" | sed 's/^/   /'
info "pktgen's live line, one per second (loss appears when b dies, stops growing once a moved to d):"
grep -E "$LIVE" "$WORK/pktgen.log" | sed 's/^/     /' || true

say "Stopping nodes a, c and d (SIGTERM: they revoke their leases and write their counters)"
for n in a c d; do stop_pid "$n" TERM 30; done

python3 - "$WORK" "$RATE_PPS" "$TTL_S" <<'EOF'
import json, sys
work, rate, ttl = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
pg = json.load(open(f"{work}/pktgen.json"))
sent, received = pg["tx"]["packets"], pg["rx"]["packets"]
lost = sent - received
def node(n):
    try:
        return json.load(open(f"{work}/{n}/stats.json"))
    except (OSError, ValueError):
        return {}
a, c, d = node("a"), node("c"), node("d")
tx = lambda s: s.get("total", {}).get("tx_packets", "?")
print()
print(f"   pktgen:   sent {sent}  received {received}  lost {lost}")
print(f"   outage:   {lost} packets / {rate} pps = {lost / rate:.2f} s   (lease TTL {ttl} s)")
print(f"   node d forwarded {tx(d)} packets (the traffic after the failover),"
      f" node c {tx(c)} (everything pktgen received)")
ctl = a.get("control", {})
print(f"   node a's control plane: label {ctl.get('label')}, {ctl.get('registrations')} registration(s),"
      f" {ctl.get('publications')} table publications, {ctl.get('rejected')} rejected etcd values")
EOF

say "Done (everything this demo started is being stopped; etcd's data dir is removed)"
