#!/usr/bin/env bash
# Memory targets of soak runs (issue 7), against the embedded mock on this machine:
#  1. a 30-minute run at 2,000 actions/s, RSS sampled every 10 s: after the first 2 minutes,
#     RSS grows less than 10 %;
#  2. the same load for 2 minutes and for 20 minutes: peak RSS within 15 % of each other.
# The three runs go side by side (about 31 minutes in all plus the release build); RSS is the
# whole process (generator and embedded mock). Prints the figures, exits non-zero when a target
# is missed. Loopback only; each run is bounded by its --duration.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet
bin=target/release/rcload
out=${BENCH_OUT:-$(mktemp -d /tmp/rcload-bench-memory.XXXXXX)}
mkdir -p "$out"
echo "results in $out"

sample() { # $1 = pid, $2 = file: "seconds rss_kb" every 10 s while the process lives
  local start; start=$(date +%s)
  while kill -0 "$1" 2>/dev/null; do
    local rss; rss=$(ps -o rss= -p "$1" 2>/dev/null | tr -d ' ' || true)
    [ -n "$rss" ] && echo "$(( $(date +%s) - start )) $rss" >> "$2"
    sleep 10
  done
}

run() { # $1 = name, $2 = duration
  /usr/bin/time -v "$bin" run benches/memory.yaml --duration "$2" --out "$out/$1" -q \
    > "$out/$1.stdout" 2> "$out/$1.time" &
  local pid=$!
  sleep 1
  local child; child=$(pgrep -P "$pid" rcload || echo "$pid")
  sample "$child" "$out/$1.rss" &
  wait "$pid" || true
}

run long 30m &
run mid 20m &
run short 2m &
wait

peak() { awk -F: '/Maximum resident set size/ {gsub(/ /,"",$2); print $2}' "$out/$1.time"; }
fig() { python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
for r in long mid short; do
  s="$out/$r/summary.json"
  echo "$r: $(fig "$s" "s['generator']['actions_sent']") actions sent in $(fig "$s" "s['duration_s']") s, lateness p99 $(fig "$s" "s['generator']['lateness_ms']['p99']") ms, fell behind: $(fig "$s" "s['generator']['fell_behind']"), peak RSS $(( $(peak $r) / 1024 )) MB"
done

python3 - "$out" <<'PY'
import sys
out = sys.argv[1]
rows = [tuple(map(int, l.split())) for l in open(f"{out}/long.rss") if l.strip()]
after = [kb for t, kb in rows if t >= 120]
base = after[0]
top = max(after)
growth = (top - base) / base * 100
print(f"30-minute run: {len(rows)} samples; RSS at 2 min {base/1024:.1f} MB, highest after {top/1024:.1f} MB, last {rows[-1][1]/1024:.1f} MB: growth {growth:.1f} % (target < 10 %)")
def peak(name):
    for l in open(f"{out}/{name}.time"):
        if "Maximum resident set size" in l:
            return int(l.split(":")[1])
short, mid = peak("short"), peak("mid")
diff = abs(mid - short) / min(mid, short) * 100
print(f"peak RSS: 2-minute run {short/1024:.1f} MB, 20-minute run {mid/1024:.1f} MB: {diff:.1f} % apart (target within 15 %)")
ok = growth < 10 and diff <= 15
print("targets met" if ok else "target MISSED")
sys.exit(0 if ok else 1)
PY
