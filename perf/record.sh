#!/usr/bin/env bash
# Appends a result row to the table of one section of perf/RESULTS.md (after the section's
# last table row), so each benchmark's figures stay under their own heading.
# usage: perf/record.sh "## Section heading" "| row |"
set -euo pipefail
cd "$(dirname "$0")"
heading=$1
row=$2
awk -v h="$heading" -v r="$row" '
  { lines[NR] = $0 }
  $0 == h { in_sec = 1; next_sec = 0 }
  /^## / && $0 != h { if (in_sec) in_sec = 0 }
  in_sec && /^\|/ { last = NR }
  END {
    for (i = 1; i <= NR; i++) {
      print lines[i]
      if (i == last) print r
    }
    if (!last) { print ""; print r }
  }' RESULTS.md > RESULTS.md.tmp
mv RESULTS.md.tmp RESULTS.md
