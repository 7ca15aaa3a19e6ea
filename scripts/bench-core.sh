#!/usr/bin/env bash
# Performance targets of the core (issue 2), against the embedded mock on this machine:
#  1. 10,000 actions/s for 60 s with generator lateness p99 <= 10 ms and no in-flight cap hits;
#  2. 100,000 terminals and 1,000 consoles (all streams open) with peak RSS <= 400 MB for
#     generator and mock together (one process: the mock is embedded).
# Prints the figures and exits non-zero when a target is missed. Loopback only; each run is
# bounded by its profile's duration. Takes about 3 minutes plus the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet
bin=target/release/rcload
out=$(mktemp -d /tmp/rcload-bench.XXXXXX)
trap 'rm -rf "$out"' EXIT

fig() { python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
fail=0

echo "== 1. throughput: benches/throughput.yaml (10,000 status/s for 60 s)"
"$bin" run benches/throughput.yaml --out "$out/throughput" -q || true
s="$out/throughput/summary.json"
sent=$(fig "$s" "s['operations']['terminal.status']['count']")
lat=$(fig "$s" "s['generator']['lateness_ms']['p99']")
thr=$(fig "$s" "s['generator']['throttled']")
p99=$(fig "$s" "s['operations']['terminal.status']['latency_ms']['p99']")
errs=$(fig "$s" "sum(sum(o['errors'].values()) for o in s['operations'].values())")
dl=$(fig "$s" "s['deliveries']['status']['delivered']")
ms=$(fig "$s" "s['deliveries']['status']['missed']")
rate=$(python3 -c "print(round($sent/60.0))")
echo "status sent: $sent (~$rate/s over the 60 s steady phase), errors: $errs"
echo "generator lateness p99: $lat ms (target <= 10), in-flight cap hits: $thr (target 0)"
echo "status latency p99: $p99 ms; deliveries: $dl delivered, $ms missed"
python3 -c "import sys; sys.exit(0 if $lat <= 10 and $thr == 0 and $sent >= 590000 else 1)" || { echo "FAIL: throughput target missed"; fail=1; }

echo "== 2. population: benches/population.yaml (100,000 terminals, 1,000 consoles)"
/usr/bin/time -v "$bin" run benches/population.yaml --out "$out/population" -q 2> "$out/time.txt" || true
s="$out/population/summary.json"
rss_kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /,"",$2); print $2}' "$out/time.txt")
rss_mb=$(python3 -c "print(round($rss_kb/1024, 1))")
logins=$(fig "$s" "s['operations']['console.login']['count']")
attach_ok=$(fig "$s" "s['operations']['console.attach']['ok']")
regs=$(fig "$s" "s['operations']['terminal.register']['ok']")
lat=$(fig "$s" "s['generator']['lateness_ms']['p99']")
echo "consoles logged in and attached: $attach_ok of $logins logins; registrations ok: $regs"
echo "generator lateness p99: $lat ms; peak RSS (generator + mock, one process): $rss_mb MB (target <= 400)"
python3 -c "import sys; sys.exit(0 if $rss_mb <= 400 and $regs >= 100000 else 1)" || { echo "FAIL: population target missed"; fail=1; }

exit $fail
