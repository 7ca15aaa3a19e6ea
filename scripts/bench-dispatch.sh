#!/usr/bin/env bash
# What `--dispatch-resolution` buys and costs (issue 18; docs/performance.md, "Dispatch
# timing"): rcload's status action at fixed rates against the peer benchmark's nginx (one
# worker on CPU 0; benches/peers/nginx.conf), rcload alone on CPU 1, once per resolution, rate
# and repetition. Over the steady phase (less its first 3 s and last 1 s, from run.json) it
# measures rcload's CPU (user + sys, /proc/PID/stat) per request counted at the server, and
# reads the generator lateness (p50, p99: from an action's intended time to its send) from
# summary.json. Prints a Markdown table (median, min-max) and writes target/dispatch/runs.csv.
#
#   cargo build --release -p rcload && bash scripts/bench-dispatch.sh   # about 5 minutes
#
# Environment: BENCH_RATES ("5000 10000"), BENCH_RESOLUTIONS ("1ms 750us 500us 250us 0s"),
# BENCH_REPS (2), BENCH_SECONDS (12). Needs nginx with stub_status (Debian's; installed if
# missing). Loopback only; every run is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C
rates=${BENCH_RATES:-5000 10000} resolutions=${BENCH_RESOLUTIONS:-1ms 750us 500us 250us 0s}
reps=${BENCH_REPS:-2} secs=${BENCH_SECONDS:-12}
[ "$secs" -ge 6 ] || { echo "BENCH_SECONDS must be 6 or more" >&2; exit 2; }
rcload=target/release/rcload peers=benches/peers out=target/dispatch
[ -x "$rcload" ] || { echo "no $rcload: run cargo build --release -p rcload first" >&2; exit 2; }
command -v nginx > /dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx > /dev/null; }

rm -rf "$out"; mkdir -p "$out"
. "$peers/helpers.sh"
start_nginx "$PWD/$out/nginx"

echo "resolution,rate,rep,window_s,requests,cpu_ticks,clk_tck,lateness_p50_ms,lateness_p99_ms" > "$out/runs.csv"
for rep in $(seq "$reps"); do
  for rate in $rates; do
    for res in $resolutions; do
      run=$out/run-$res-$rate-$rep
      echo "== $res at $rate/s, $rep of $reps" >&2
      taskset -c 1 "$rcload" run "$peers/profiles/status-5000.yaml" --target "$url" \
        --set "traffic.0.rate=$rate/s" --duration "$((5 + secs))s" --dispatch-resolution "$res" \
        --out "$run" -q > "$run.out" 2> "$run.err" &
      tool_pid=$!
      until [ -s "$run/run.json" ]; do
        kill -0 "$tool_pid" 2> /dev/null || { cat "$run.err" >&2; exit 1; }
        sleep 0.1
      done
      read -r t0 t1 < <(python3 "$peers/peers.py" window "$run/run.json" 3 1)
      sleep_until "$t0"; read -r c0 _ q0 s0 < <(snap "$tool_pid")
      sleep_until "$t1"; read -r c1 _ q1 s1 < <(snap "$tool_pid")
      rc=0; wait "$tool_pid" || rc=$?
      tool_pid=""
      [ "$rc" = 0 ] || [ "$rc" = 1 ] || [ "$rc" = 4 ] || { echo "rcload exited $rc" >&2; tail -n 20 "$run.err" >&2; exit 1; }
      late=$(python3 "$peers/peers.py" lateness "$run/summary.json" p50 p99)
      echo "$res,$rate,$rep,$(awk -v a="$s0" -v b="$s1" 'BEGIN { printf "%.3f", b - a }'),$((q1 - q0 - 1)),$((c1 - c0)),$clk,$late" >> "$out/runs.csv"
      sleep 1
    done
  done
done

echo "# --dispatch-resolution ($(date -u +%Y-%m-%dT%H:%MZ); $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; $reps run(s) of $secs s each)"
python3 - "$out/runs.csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
groups = {}
for r in rows:
    req = float(r["requests"])
    cpu = float(r["cpu_ticks"]) / float(r["clk_tck"]) / req * 1e6 if req > 0 else float("nan")
    g = groups.setdefault((r["resolution"], int(r["rate"])), {"rate": [], "cpu": [], "p50": [], "p99": []})
    g["rate"].append(req / float(r["window_s"]))
    g["cpu"].append(cpu)
    g["p50"].append(float(r["lateness_p50_ms"]))
    g["p99"].append(float(r["lateness_p99_ms"]))
def cell(v, d):
    return f"{statistics.median(v):.{d}f} ({min(v):.{d}f}-{max(v):.{d}f})"
print()
print("| resolution | rate asked | held at the server | CPU µs per action | lateness p50 (ms) | lateness p99 (ms) |")
print("|---|---|---|---|---|---|")
for (res, rate), g in groups.items():
    print(f"| {res} | {rate:,}/s | {cell(g['rate'], 0)} | {cell(g['cpu'], 1)} | {cell(g['p50'], 3)} | {cell(g['p99'], 3)} |")
PY
