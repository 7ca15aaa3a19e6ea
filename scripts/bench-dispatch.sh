#!/usr/bin/env bash
# What `--dispatch-resolution` buys and costs (issue 18; docs/performance.md, "Dispatch
# timing"): rcload's status action at fixed rates against the peer benchmark's nginx (one
# worker on CPU 0; benches/peers/nginx.conf), rcload alone on CPU 1, once per resolution, rate
# and repetition. Over the steady phase (less its first 3 s and last 1 s, from run.json) it
# measures rcload's CPU (user + sys, /proc/PID/stat) per request counted at the server, and
# reads the generator lateness (p50, p99: from an action's intended time to its send) from
# summary.json, and counts rcload's wakes (the voluntary context switches of all its threads)
# per action. Then it measures this machine's floor, the CPU one thread spends per wake with no
# work between wakes (benches/peers/wake-floor.c, built with cc), for a timer and for a socket
# written from the other CPU, at the periods of the rates. Prints two Markdown tables (median,
# min-max) and writes target/dispatch/runs.csv and target/dispatch/floor.csv.
#
#   cargo build --release -p rcload && bash scripts/bench-dispatch.sh   # about 8 minutes
#
# Environment: BENCH_RATES ("5000 10000"), BENCH_RESOLUTIONS ("1ms 750us 500us 250us 0s"),
# BENCH_REPS (2), BENCH_SECONDS (12). Needs nginx with stub_status (Debian's; installed if
# missing) and a C compiler (gcc, installed if missing). Loopback only; every run is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C
rates=${BENCH_RATES:-5000 10000} resolutions=${BENCH_RESOLUTIONS:-1ms 750us 500us 250us 0s}
reps=${BENCH_REPS:-2} secs=${BENCH_SECONDS:-12}
[ "$secs" -ge 6 ] || { echo "BENCH_SECONDS must be 6 or more" >&2; exit 2; }
rcload=target/release/rcload peers=benches/peers out=target/dispatch
[ -x "$rcload" ] || { echo "no $rcload: run cargo build --release -p rcload first" >&2; exit 2; }
command -v nginx > /dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx > /dev/null; }
command -v cc > /dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc libc6-dev > /dev/null; }

rm -rf "$out"; mkdir -p "$out"
cc -O2 -Wall -o "$out/wake-floor" "$peers/wake-floor.c"
. "$peers/helpers.sh"
start_nginx "$PWD/$out/nginx"

echo "resolution,rate,rep,window_s,requests,cpu_ticks,clk_tck,wakes,lateness_p50_ms,lateness_p99_ms" > "$out/runs.csv"
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
      sleep_until "$t0"; read -r c0 _ q0 s0 < <(snap "$tool_pid"); w0=$(switches "$tool_pid")
      sleep_until "$t1"; read -r c1 _ q1 s1 < <(snap "$tool_pid"); w1=$(switches "$tool_pid")
      rc=0; wait "$tool_pid" || rc=$?
      tool_pid=""
      [ "$rc" = 0 ] || [ "$rc" = 1 ] || [ "$rc" = 4 ] || { echo "rcload exited $rc" >&2; tail -n 20 "$run.err" >&2; exit 1; }
      late=$(python3 "$peers/peers.py" lateness "$run/summary.json" p50 p99)
      echo "$res,$rate,$rep,$(awk -v a="$s0" -v b="$s1" 'BEGIN { printf "%.3f", b - a }'),$((q1 - q0 - 1)),$((c1 - c0)),$clk,$((w1 - w0)),$late" >> "$out/runs.csv"
      sleep 1
    done
  done
done

echo "mode,period_us,rep,wakes,cpu_us_per_wake" > "$out/floor.csv"
for rep in $(seq "$reps"); do
  for rate in $rates; do
    for mode in timer socket; do
      echo "== the wake floor: $mode every $((1000000 / rate)) us, $rep of $reps" >&2
      read -r _ period wakes per < <(taskset -c 1 "$out/wake-floor" "$mode" "$((1000000 / rate))" "$secs")
      echo "$mode,$period,$rep,$wakes,$per" >> "$out/floor.csv"
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
    g = groups.setdefault((r["resolution"], int(r["rate"])), {"rate": [], "cpu": [], "wakes": [], "p50": [], "p99": []})
    g["rate"].append(req / float(r["window_s"]))
    g["cpu"].append(cpu)
    g["p50"].append(float(r["lateness_p50_ms"]))
    g["p99"].append(float(r["lateness_p99_ms"]))
    g["wakes"].append(float(r["wakes"]) / req if req > 0 else float("nan"))
def cell(v, d):
    return f"{statistics.median(v):.{d}f} ({min(v):.{d}f}-{max(v):.{d}f})"
print()
print("| resolution | rate asked | held at the server | CPU µs per action | wakes per action | lateness p50 (ms) | lateness p99 (ms) |")
print("|---|---|---|---|---|---|---|")
for (res, rate), g in groups.items():
    print(f"| {res} | {rate:,}/s | {cell(g['rate'], 0)} | {cell(g['cpu'], 1)} | {cell(g['wakes'], 2)} | {cell(g['p50'], 3)} | {cell(g['p99'], 3)} |")
PY
echo
echo "The wake floor: one thread (on CPU 1) that only sleeps in epoll_wait and wakes, by a timerfd or"
echo "by a byte written to its socket from CPU 0 (benches/peers/wake-floor.c)."
python3 - "$out/floor.csv" <<'PY'
import csv, statistics, sys
groups = {}
for r in csv.DictReader(open(sys.argv[1])):
    groups.setdefault((r["mode"], int(r["period_us"])), []).append(float(r["cpu_us_per_wake"]))
print()
print("| woken by | every | CPU µs per wake |")
print("|---|---|---|")
for (mode, period), v in groups.items():
    print(f"| {mode} | {period} µs | {statistics.median(v):.1f} ({min(v):.1f}-{max(v):.1f}) |")
PY
