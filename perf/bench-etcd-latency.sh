#!/usr/bin/env bash
# Benchmark: from an etcd write to the table being live in a worker
# (ctrl-plane/examples/etcd_to_live.rs). The example starts its own etcd on loopback and a
# Controller for node a (VRF 100) whose publish closure builds the SRoU and overlay tables
# into a Pipeline the way srgate does and publishes it RCU-style; a worker thread loads
# the snapshot in a loop (its quiescent point) and notes when each revision goes live.
# Single changes (one new /32 route per put, with the default settle delay and with
# settle 0): p50 / p99 / max from put start to the worker seeing the put's revision.
# Bulk: BULK /24 routes in transactions of 128 from 4 clients; time from the first put to
# the worker seeing the last one, publications meanwhile, the last compile and build; the
# live table is then checked by probe frames through the worker's pipeline. Prints the
# figures and appends three rows to the "etcd write to live table" table of
# perf/RESULTS.md.
#
# usage: perf/bench-etcd-latency.sh [SINGLE] [BULK]     (defaults: 200 100000)
# env:   BENCH_WORKER (yield, spin or sleep-us:N; default yield), BENCH_CLIENTS (default 4),
#        BENCH_TXN_OPS (default 128: etcd's default --max-txn-ops), BENCH_ETCD (default
#        /usr/bin/etcd), BENCH_NO_RECORD=1 (print only), BENCH_JSON=FILE (append JSON
#        records, see perf/json-record.py)
# Needs: etcd-server (scripts/install-deps.sh) and what the workspace builds with.
set -euo pipefail
cd "$(dirname "$0")/.."
SINGLE=${1:-200}
BULK=${2:-100000}
WORKER=${BENCH_WORKER:-yield}
CLIENTS=${BENCH_CLIENTS:-4}
TXN_OPS=${BENCH_TXN_OPS:-128}
ETCD=${BENCH_ETCD:-/usr/bin/etcd}

cargo build --release -p ctrl-plane --example etcd_to_live
BIN=target/release/examples/etcd_to_live
OUT=$("$BIN" --single "$SINGLE" --bulk "$BULK" --worker "$WORKER" --clients "$CLIENTS" \
  --txn-ops "$TXN_OPS" --etcd "$ETCD")
echo "$OUT"

get() { printf '%s\n' "$OUT" | head -n 1 | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2; exit }'; }
msf() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }
int() { awk -v x="$1" 'BEGIN { printf "%.0f", x }'; }

cpu=$(awk -F: '/model name/ {gsub(/^ +/, "", $2); print $2; exit}' /proc/cpuinfo)
date=$(date -u +%Y-%m-%d)
machine="$cpu, $(nproc) cores shared, etcd $(get etcd) (fsync on, temp dir), worker $(get worker)"

single_row() { # prefix label
  local p=$1 label=$2
  printf '| %s | %s | %s ms | %s / %s / %s ms | %s ms | %s | %s / %s ms | %s |' \
    "$date" "$label" "$(msf "$(get "${p}_settle_us")")" \
    "$(msf "$(get "${p}_p50_us")")" "$(msf "$(get "${p}_p99_us")")" "$(msf "$(get "${p}_max_us")")" \
    "$(msf "$(get "${p}_put_ack_p50_us")")" "$(get "${p}_publications")" \
    "$(msf "$(get "${p}_compile_p50_us")")" "$(msf "$(get "${p}_build_p50_us")")" "$machine"
}
rows=()
rows+=("$(single_row single "single change: 1 new /32 per put, $(get single_n) puts")")
rows+=("$(single_row single_settle0 "single change: 1 new /32 per put, $(get single_settle0_n) puts")")
rows+=("$(printf '| %s | bulk: %s /24s, txns of %s from %s clients; %s routes live, probes %s routed, %s no-route | %s ms | **%s ms** | all acked at %s ms (+%s ms) | %s | last %s / %s ms (off-line %s / %s ms) | %s |' \
  "$date" "$(get bulk_routes)" "$(get bulk_txn_ops)" "$(get bulk_clients)" "$(get bulk_routes_live)" \
  "$(get bulk_probes_routed)" "$(get bulk_probes_no_route)" "$(msf "$(get bulk_settle_us)")" \
  "$(int "$(get bulk_live_ms)")" "$(int "$(get bulk_write_ms)")" \
  "$(int "$(get bulk_after_last_ack_ms)")" "$(get bulk_publications)" \
  "$(int "$(get bulk_last_compile_ms)")" "$(int "$(get bulk_last_build_ms)")" \
  "$(int "$(get bulk_offline_compile_ms)")" "$(int "$(get bulk_offline_build_ms)")" "$machine")")
printf '%s\n' "${rows[@]}"
if [ -n "${BENCH_JSON:-}" ]; then
  ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'; }
  for p in single single_settle0; do
    perf/json-record.py "$BENCH_JSON" benchmark=etcd-latency \
      "workload=single change to live in the worker, settle $(msf "$(get "${p}_settle_us")") ms, p50" \
      "baseline=etcd put round trip, p50 ms" "baseline_value=$(msf "$(get "${p}_put_ack_p50_us")")" \
      "value=$(msf "$(get "${p}_p50_us")")" unit=ms \
      "ratio=$(ratio "$(get "${p}_p50_us")" "$(get "${p}_put_ack_p50_us")")" better=lower \
      "p99_ms=$(msf "$(get "${p}_p99_us")")" "max_ms=$(msf "$(get "${p}_max_us")")" \
      "puts=$(get "${p}_n")"
  done
  perf/json-record.py "$BENCH_JSON" benchmark=etcd-latency \
    "workload=bulk: $(get bulk_routes) /24s to live in the worker" \
    "baseline=etcd acked every write, ms" "baseline_value=$(int "$(get bulk_write_ms)")" \
    "value=$(int "$(get bulk_live_ms)")" unit=ms \
    "ratio=$(ratio "$(get bulk_live_ms)" "$(get bulk_write_ms)")" better=lower \
    "publications=$(get bulk_publications)" "routes_live=$(get bulk_routes_live)"
fi
[ "${BENCH_NO_RECORD:-0}" = 1 ] && exit 0

HEADING="## etcd write to live table"
if ! grep -qxF "$HEADING" perf/RESULTS.md; then
  cat >> perf/RESULTS.md <<'MD'

## etcd write to live table

Command: `perf/bench-etcd-latency.sh 200 100000` (release build of
`ctrl-plane/examples/etcd_to_live.rs`). One etcd member on loopback (Debian's etcd, data in
a temporary directory on disk, fsync on) pre-populated with nodes b and c and link state
a->b->c; a `Controller` for node a (VRF 100, registering itself) whose publish closure
builds the SRoU and overlay tables into a `Pipeline` as srgate does and publishes it
through `rcu::Publisher`; a worker thread calls `Reader::load` in a loop (its quiescent
point, yielding the CPU between loads) and notes when it first sees each revision. Routes
are `/route/5/rt1/c:100/<prefix>` = `100/c/` (egress c through b). Single change: the time
from the start of one put of a new /32 to the worker seeing a table of that revision or
later, p50 / p99 / max; "etcd alone" is the put's own round trip (p50); compile / build
are p50s of the controller's compile and of the closure's table build. Bulk: distinct /24s
written as fast as possible; the time from the first put to the worker seeing the last
transaction's revision (and when etcd had acked every write), the publications meanwhile,
the compile and build of the last publication (and the same off-line on the final view,
best of 5). After the bulk, probe frames to random bulk prefixes and to unrouted addresses
go through the worker's live pipeline: all must be encapsulated, or all dropped
`overlay-no-route`. The settle delay is `SyncOptions::settle`, the watch batching
(default 2 ms; `max_batch_delay` 50 ms).

| date | workload | settle | to live in the worker | etcd alone | publications | compile / build | machine |
|---|---|---|---|---|---|---|---|
MD
fi
for row in "${rows[@]}"; do
  perf/record.sh "$HEADING" "$row"
done
