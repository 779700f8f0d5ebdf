#!/usr/bin/python3
"""Appends one benchmark record to a JSON file (a list of records), for BENCH_JSON.

usage: perf/json-record.py FILE key=value ...

Every perf/bench-*.sh that supports BENCH_JSON=FILE calls this once per figure it
records in RESULTS.md. A record is a flat object; the keys every record has:

  benchmark   the script's short name (pktgen-tx, latency, lpm, ...)
  workload    what was measured, in words
  baseline    the baseline's name (dpdk-testpmd txonly, rte_fib DIR24_8, ...)
  baseline_value, value, unit
              the baseline's figure and srgate's (or pktgen's), in `unit`
  ratio       the ratio RESULTS.md shows, and `better`: "higher" or "lower" (which
              direction of the ratio is good for srgate)

Other keys are details (seconds, rounds, table sizes, ...). Values that read as
numbers are stored as numbers; `key:=JSON` stores a raw JSON value.
"""
import json
import os
import sys


def value(text):
    for conv in (int, float):
        try:
            v = conv(text)
        except ValueError:
            continue
        if v == v and v not in (float("inf"), float("-inf")):
            return v
    return text


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    path = sys.argv[1]
    rec = {}
    for arg in sys.argv[2:]:
        k, v = arg.split("=", 1)
        if k.endswith(":"):
            rec[k[:-1]] = json.loads(v)
        else:
            rec[k] = value(v)
    records = []
    if os.path.exists(path) and os.path.getsize(path) > 0:
        with open(path) as f:
            records = json.load(f)
    records.append(rec)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(records, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
