#!/usr/bin/env bash
# The whole benchmark matrix in one command: every perf/bench-*.sh, one after the other,
# each measuring against its own baseline in the same run (same device, same core). Each
# script appends its rows to perf/RESULTS.md exactly as when run alone; this script also
# writes perf/results.json: the machine (CPU model, cores, TSC Hz, DPDK version, kernel),
# the date, the settings, and per workload the baseline's figure, srgate's (or pktgen's)
# figure and their ratio (with which direction is better), plus what failed.
#
# usage: perf/run-matrix.sh [NAME ...]      (no NAME: everything)
#        perf/run-matrix.sh --json-only     (rebuild the JSON from the last run's logs)
# NAMEs: pktgen-tx, forward (every workload bench-forward.sh offers) or forward:WORKLOAD,
#        latency (xconnect and mpls-swap) or latency:WORKLOAD, table-swap, lpm,
#        service-hash, spf, etcd-latency; a perf/bench-*.sh this script does not know
#        runs with its own defaults (and only its RESULTS.md rows are kept).
# env:   MATRIX_SECS    seconds per timed run (default 6)
#        MATRIX_ROUNDS  rounds where a script takes them (default 3)
#        MATRIX_FULL=1  every script with its own defaults instead (the durations the
#                       RESULTS.md sections quote: longer, steadier; about 3x the time)
#        MATRIX_JSON    where the JSON goes (default perf/results.json)
#        BENCH_NO_RECORD=1  leave perf/RESULTS.md alone (JSON and logs only)
#        BENCH_HUGE=1  the forwarding benchmarks on hugepages (recorded in the JSON settings)
# Logs: perf/out/matrix/NAME.log. With the defaults the matrix takes about 10-15 minutes
# on a 2-core machine (builds excluded). Run it on an otherwise idle machine: every
# benchmark busy-polls one or two cores.
set -uo pipefail
cd "$(dirname "$0")/.."
SECS=${MATRIX_SECS:-6}
ROUNDS=${MATRIX_ROUNDS:-3}
FULL=${MATRIX_FULL:-0}
JSON_OUT=${MATRIX_JSON:-perf/results.json}
LOGS=perf/out/matrix
mkdir -p "$LOGS"
if [ "$FULL" != 1 ] && [ "$SECS" -lt 4 ]; then
  echo "MATRIX_SECS must be 4 or more: the scripts skip the first 2 s of every run" >&2
  exit 2
fi
FAILED=()
STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
T0=$(date +%s)

say() { printf '== [%4ds] %s\n' "$(( $(date +%s) - T0 ))" "$*"; }

# Other busy processes make every ratio below noise: say so up front.
busy=$(ps -eo pcpu=,comm= | awk '$1 > 50 { print $2 }' | sort -u | tr '\n' ' ')
if [ -n "$busy" ]; then
  say "warning: busy processes on this machine: $busy(the figures will be disturbed)"
fi

# run NAME CMD...: runs one benchmark with BENCH_JSON pointing at its own file.
run() {
  local name=$1; shift
  say "$name: $*"
  local t=$(date +%s)
  if BENCH_JSON="$PWD/$LOGS/$name.json" "$@" > "$LOGS/$name.log" 2>&1; then
    say "$name: done in $(( $(date +%s) - t )) s"
    grep -E '^\| [0-9]{4}-' "$LOGS/$name.log" | sed 's/^/     /'
    return 0
  fi
  say "$name: FAILED after $(( $(date +%s) - t )) s (see $LOGS/$name.log)"
  tail -n 5 "$LOGS/$name.log" | sed 's/^/     /'
  FAILED+=("$name")
  return 1
}

# The TSC rate EAL measures, from a one-packet pktgen run on net_null.
tsc_hz() {
  cargo build --release -p pktgen --bin pktgen >/dev/null 2>&1 || return 0
  local prof=$LOGS/tsc.toml
  cat > "$prof" <<'TOML'
[eal]
args = ["--no-huge", "-m", "256", "--no-pci", "--no-shconf", "--no-telemetry", "--log-level=lib.eal:warning"]
file_prefix = "matrix-tsc"
[run]
cores = [0]
stats_interval_ms = 0
[mempool]
mbufs = 2047
cache = 32
[[port]]
name = "null"
device = "net_null0"
[traffic]
protocol = "ipv4"
tx_port = "null"
size = 64
count = 1
TOML
  PKTGEN_LOG=error target/release/pktgen run --profile "$prof" --json "$LOGS/tsc.json" >/dev/null 2>&1 &&
    /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tsc_hz"])' "$LOGS/tsc.json"
}

# bench-forward.sh prints its row (it has no JSON output): the medians and ratio are taken
# from the row it records.
forward_json() {
  local w=$1 log=$LOGS/forward-$1.log
  local row
  row=$(grep -E '^\| [0-9]{4}-' "$log" | tail -n 1)
  [ -n "$row" ] || return 0
  echo "$row" | awk -F'|' '{ gsub(/^ +| +$/, "", $3); gsub(/[ *]/, "", $4); gsub(/[ *]/, "", $5); gsub(/[ *]/, "", $6); print $3 "\t" $4 "\t" $5 "\t" $6 }' |
    while IFS=$'\t' read -r desc tp sg ratio; do
      perf/json-record.py "$LOGS/forward-$w.json" benchmark=forward "workload=$desc" \
        "baseline=dpdk-testpmd macswap" "baseline_value=$tp" "value=$sg" unit=Mpps \
        "ratio=$ratio" better=higher "forward_workload=$w"
    done
}

# bench-service-hash.sh prints the example's key=value lines (no JSON output of its own):
# one block per key set, each starting with services=.
service_hash_json() {
  /usr/bin/python3 - "$LOGS/service-hash.log" <<'PY' | while IFS=$'\t' read -r desc rte map ratio single rsingle; do
import re, sys
blocks, cur = [], None
for line in open(sys.argv[1]):
    for k, v in re.findall(r"(\w+)=(\S+)", line):
        if k == "services":
            cur = {}
            blocks.append(cur)
        if cur is not None:
            cur[k] = v
for b in blocks:
    if "ratio_bulk" in b:
        print("\t".join([
            "%s services (%s IDs), %s lookups, all hits, bursts of 32" % (b["services"], b.get("ids", "?"), b.get("lookups", "?")),
            b.get("rte_bulk_data_mlps", ""), b.get("map_bulk_mlps", ""), b["ratio_bulk"],
            b.get("map_single_mlps", ""), b.get("ratio_single", "")]))
PY
    perf/json-record.py "$LOGS/service-hash.json" benchmark=service-hash "workload=$desc" \
      "baseline=rte_hash bulk (rte_hash_lookup_bulk_data)" "baseline_value=$rte" \
      "value=$map" unit=Mlookups/s "ratio=$ratio" better=higher \
      "single_mlps=$single" "ratio_single=$rsingle"
  done
}

forward_workloads() {
  # The workloads bench-forward.sh offers: the labels of its `case "$WORKLOAD"`.
  awk '/case "\$WORKLOAD" in/ { on = 1; next } on && /^  esac|^esac/ { on = 0 }
       on && /^  [a-z0-9|-]+\)/ { sub(/\).*/, ""); gsub(/ /, ""); n = split($0, a, "|"); for (i = 1; i <= n; i++) print a[i] }' \
    perf/bench-forward.sh
}

# Writes $JSON_OUT from the records in $LOGS (and the run's settings).
assemble() {
  say "writing $JSON_OUT"
  /usr/bin/python3 - "$JSON_OUT" "$LOGS" "$STARTED" "${TSC:-0}" "$SECS" "$ROUNDS" "$FULL" "$TOOK" "${FAILED[@]}" <<'PY'
import glob, json, os, platform, subprocess, sys
out, logs, started, tsc, secs, rounds, full, took = sys.argv[1:9]
failed = sys.argv[9:]
def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()
def dpdk():
    try:
        return subprocess.run(["pkg-config", "--modversion", "libdpdk"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return None
workloads = []
for path in sorted(glob.glob(os.path.join(logs, "*.json"))):
    name = os.path.basename(path)[:-5]
    if name == "tsc":
        continue
    with open(path) as f:
        for rec in json.load(f):
            rec.setdefault("run", name)
            workloads.append(rec)
doc = {
    "date": started,
    "machine": {
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "tsc_hz": int(tsc) if tsc.isdigit() and int(tsc) > 0 else None,
        "dpdk_version": dpdk(),
        "kernel": platform.release(),
    },
    "settings": {
        "seconds_per_run": None if full == "1" else int(secs),
        "rounds": None if full == "1" else int(rounds),
        "scripts_defaults": full == "1",
        # BENCH_HUGE=1: both sides of bench-forward.sh on hugepages instead of --no-huge.
        "hugepages": os.environ.get("BENCH_HUGE") == "1",
        "total_seconds": int(took),
    },
    "ratio_convention": "ratio = srgate (or pktgen) / baseline, except spf (baseline time / SPF time); `better` says which direction is good",
    "workloads": workloads,
    "failed": failed,
    # A zero figure is a run that produced nothing to measure (too short, or broken).
    "suspect": sorted({w["run"] for w in workloads
                       if w.get("value") in (0, 0.0) or w.get("baseline_value") in (0, 0.0)}),
}
tmp = out + ".tmp"
with open(tmp, "w") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")
os.replace(tmp, out)
for w in workloads:
    print("   %-13s %-90.90s %s" % (w.get("benchmark"), w.get("workload"), w.get("ratio")))
if doc["suspect"]:
    print("   suspect (a zero figure): " + " ".join(doc["suspect"]))
PY
}

want() { # want NAME: selected on the command line (or nothing selected)
  [ ${#SELECT[@]} -eq 0 ] && return 0
  local s
  for s in "${SELECT[@]}"; do
    [ "$s" = "$1" ] || [ "$s" = "${1%%:*}" ] && return 0
  done
  return 1
}
SELECT=("$@")
if [ "${1:-}" = --json-only ]; then
  # Rebuild $JSON_OUT from the last run's logs (after fixing a parser, say).
  # shellcheck disable=SC1091
  . "$LOGS/run.env"
  for log in "$LOGS"/forward-*.log; do
    [ -e "$log" ] || continue
    w=${log##*/forward-}; w=${w%.log}
    rm -f "$LOGS/forward-$w.json"
    forward_json "$w"
  done
  if [ -e "$LOGS/service-hash.log" ]; then
    rm -f "$LOGS/service-hash.json"
    service_hash_json
  fi
  assemble
  exit 0
fi
rm -f "$LOGS"/*.json "$LOGS"/*.log "$LOGS/run.env"

say "matrix: $( [ "$FULL" = 1 ] && echo "each script's own defaults" || echo "$SECS s per run, $ROUNDS rounds")"
TSC=$(tsc_hz)
say "TSC: ${TSC:-unknown} Hz"
printf 'STARTED=%s\nTSC=%s\nSECS=%s\nROUNDS=%s\nFULL=%s\n' "$STARTED" "$TSC" "$SECS" "$ROUNDS" "$FULL" > "$LOGS/run.env"

KNOWN="bench-pktgen.sh bench-forward.sh bench-latency.sh bench-table-swap.sh bench-lpm.sh bench-service-hash.sh bench-spf.sh bench-etcd-latency.sh"
if want pktgen-tx; then
  if [ "$FULL" = 1 ]; then run pktgen-tx perf/bench-pktgen.sh; else run pktgen-tx perf/bench-pktgen.sh "$SECS" "$((ROUNDS + 1))"; fi
fi
for w in $(forward_workloads); do
  want "forward:$w" || continue
  if [ "$FULL" = 1 ]; then run "forward-$w" perf/bench-forward.sh 8 3 "$w"; else run "forward-$w" perf/bench-forward.sh "$SECS" "$ROUNDS" "$w"; fi
  forward_json "$w"
done
for w in xconnect mpls-swap; do
  want "latency:$w" || continue
  if [ "$FULL" = 1 ]; then run "latency-$w" perf/bench-latency.sh 4 "$w"; else run "latency-$w" perf/bench-latency.sh "$((SECS > 2 ? SECS - 1 : SECS))" "$w"; fi
done
if want table-swap; then
  if [ "$FULL" = 1 ]; then run table-swap perf/bench-table-swap.sh; else run table-swap perf/bench-table-swap.sh "$SECS"; fi
fi
if want lpm; then
  if [ "$FULL" = 1 ]; then run lpm perf/bench-lpm.sh; else run lpm perf/bench-lpm.sh 1000000 1000000 "$((ROUNDS + 1))"; fi
fi
if want service-hash && [ -x perf/bench-service-hash.sh ]; then
  if [ "$FULL" = 1 ]; then run service-hash perf/bench-service-hash.sh; else run service-hash perf/bench-service-hash.sh 1000000 1000000 "$((ROUNDS + 1))"; fi
  service_hash_json
fi
if want spf; then run spf perf/bench-spf.sh; fi
if want etcd-latency; then
  if [ "$FULL" = 1 ]; then run etcd-latency perf/bench-etcd-latency.sh; else run etcd-latency perf/bench-etcd-latency.sh 100 50000; fi
fi
for s in perf/bench-*.sh; do
  b=$(basename "$s")
  case " $KNOWN " in *" $b "*) continue;; esac
  n=${b#bench-}; n=${n%.sh}
  want "$n" || continue
  say "$b: not known to run-matrix.sh, run with its defaults"
  run "$n" "$s"
done

TOOK=$(( $(date +%s) - T0 ))
printf 'TOOK=%s\nFAILED=(%s)\n' "$TOOK" "${FAILED[*]}" >> "$LOGS/run.env"
assemble
say "matrix done in $(( $(date +%s) - T0 )) s; ${#FAILED[@]} failed${FAILED[*]:+: ${FAILED[*]}}"
[ ${#FAILED[@]} -eq 0 ]
