#!/usr/bin/env bash
# Performance target of adapters (issue 6): at 5,000 actions/s against the mock, the
# mapping-driven target (adapters/api-v1.yaml) uses at most 1.25x the generator CPU of the
# built-in API v1 driver. The mock runs in a process of its own (a fresh one per run), so the
# CPU time measured (user + system, /usr/bin/time) is the generator's alone. Each driver runs
# twice, alternating; the means are compared. Prints the figures and exits non-zero when the
# target is missed. Loopback only; every run is bounded by the profile's 40 s. About 4 minutes
# plus the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet
bin=target/release/rcload
out=$(mktemp -d /tmp/rcload-bench-adapter.XXXXXX)
mock_pid=""
cleanup() { [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null; rm -rf "$out"; }
trap cleanup EXIT

fig() { python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

one() { # $1 = name, rest = extra args of rcload run
  local name=$1; shift
  "$bin" mock --listen 127.0.0.1:0 > "$out/mock-$name.txt" 2>&1 &
  mock_pid=$!
  local url=""
  for _ in $(seq 1 100); do
    url=$(grep -o 'http://[0-9.:]*' "$out/mock-$name.txt" || true)
    [ -n "$url" ] && break
    sleep 0.1
  done
  [ -n "$url" ] || { echo "the mock did not start" >&2; exit 1; }
  /usr/bin/time -f "%U %S" -o "$out/time-$name.txt" \
    "$bin" run benches/adapter.yaml --target "$url" --out "$out/$name" -q "$@" || true
  kill "$mock_pid"; wait "$mock_pid" 2>/dev/null || true; mock_pid=""
  local s="$out/$name/summary.json"
  local cpu; cpu=$(awk '{print $1 + $2}' "$out/time-$name.txt")
  local sent; sent=$(fig "$s" "s['generator']['actions_sent']")
  local lat; lat=$(fig "$s" "s['generator']['lateness_ms']['p99']")
  local behind; behind=$(fig "$s" "s['generator']['fell_behind']")
  local errs; errs=$(fig "$s" "sum(sum(o['errors'].values()) for o in s['operations'].values())")
  local dl; dl=$(fig "$s" "sum(d['delivered'] for d in s['deliveries'].values())")
  local ms; ms=$(fig "$s" "sum(d['missed'] for d in s['deliveries'].values())")
  echo "$name: cpu ${cpu} s, actions sent $sent, errors $errs, deliveries $dl (missed $ms), lateness p99 $lat ms, fell behind: $behind" >&2
  echo "$cpu"
}

echo "== benches/adapter.yaml: 5,000 actions/s for 30 s after a 10 s setup"
b1=$(one builtin-1)
m1=$(one mapped-1 --adapter adapters/api-v1.yaml)
b2=$(one builtin-2)
m2=$(one mapped-2 --adapter adapters/api-v1.yaml)
ratio=$(python3 -c "print(round(($m1 + $m2) / ($b1 + $b2), 3))")
echo "generator CPU: built-in driver $(python3 -c "print(round(($b1+$b2)/2,2))") s, mapping $(python3 -c "print(round(($m1+$m2)/2,2))") s (mean of two runs each)"
echo "ratio mapping / built-in: $ratio (target <= 1.25)"
python3 -c "import sys; sys.exit(0 if $ratio <= 1.25 else 1)" || { echo "target MISSED" >&2; exit 1; }
