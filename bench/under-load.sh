#!/bin/bash
# Issue 19's check: `npm test` in a fresh clone, RUNS times in a row (default 3), while
# `fourtuple max --connections 200000 --hold 5s` runs in a loop beside it from another checkout.
# During the first test run, `limits --json` five times (LIMITS_RUNS), 60 s apart: the walls it
# gives beside the load. Bounded: at most 250 max runs, stopped when the tests end. About 20
# minutes a test run on the 2-core machine. Results: $OUT/run-N.json (vitest JSON),
# $OUT/limits-N.json and $OUT/log.
#   bash bench/under-load.sh            # from a checkout of this repository
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-/tmp/fourtuple-under-load}
rm -rf "$OUT" && mkdir -p "$OUT"
git clone -q "$src" "$OUT/tests" && git clone -q "$src" "$OUT/load"
(cd "$OUT/tests" && npm ci --no-audit --no-fund > "$OUT/npm-ci.log" 2>&1) || { echo "npm ci failed"; exit 1; }
(cd "$OUT/load" && npm ci --no-audit --no-fund > /dev/null 2>&1 && npm run build > /dev/null 2>&1) || { echo "build failed"; exit 1; }
touch "$OUT/looping"
( i=0
  while [ -e "$OUT/looping" ] && [ $i -lt 250 ]; do
    i=$((i + 1))
    timeout 300 node "$OUT/load/dist/cli/bin.js" max --connections 200000 --hold 5s --json > /dev/null 2>&1
    echo "max run $i exit $? $(date +%T)" >> "$OUT/max.log"
  done ) &
loop=$!
trap 'rm -f "$OUT/looping"; wait $loop' EXIT
sleep 20
( sleep 60
  for l in $(seq 1 "${LIMITS_RUNS:-5}"); do
    [ -e "$OUT/looping" ] || break
    node "$OUT/tests/dist/cli/bin.js" limits --json > "$OUT/limits-$l.json" 2> /dev/null
    node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      const m = r.measured, o = m && m.descriptorObserver;
      console.log(`limits run ${process.argv[2]}: ${r.machine.binding} ${r.machine.estimate} at ${r.perConnection.totalBytes} B, lister ${o ? o.bytesPerConnection : "-"} B (${o && o.seenOn}), attempts ${m && m.attempts}, certain ${m && m.certainty.certain}`)' \
      "$OUT/limits-$l.json" "$l" >> "$OUT/log" 2>&1
    sleep 60
  done ) &
status=0
for r in $(seq 1 "${RUNS:-3}"); do
  start=$(date +%s)
  (cd "$OUT/tests" && npm test -- --reporter=default --reporter=json --outputFile="$OUT/run-$r.json" > "$OUT/run-$r.out" 2>&1)
  code=$?
  echo "npm test run $r exit $code in $(( $(date +%s) - start )) s, load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/log"
  [ $code -ne 0 ] && status=1
done
exit $status
