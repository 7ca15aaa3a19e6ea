#!/usr/bin/env bash
# rcload beside wrk, oha, Goose and Locust (issue 18; the method is in docs/performance.md).
#
# Every tool loads the same loopback nginx (benches/peers/nginx.conf: one worker, pinned to
# CPU 0, answering 15 bytes of JSON); each generator runs pinned to CPU 1 for BENCH_SECONDS,
# BENCH_REPS times, in two modes: saturation (as fast as it goes; rcload, an open-model tool,
# is asked for more than it can send) and a fixed rate (BENCH_RATE/s; wrk has none). Over a
# window of each run (from 3 s after the load starts to 1 s before it ends) it measures:
# requests counted at the server (nginx's stub_status), the generator's CPU (user + sys from
# /proc/PID/stat) per request, its RSS growth per request (VmRSS at both ends of the window),
# its peak RSS (/usr/bin/time), and the p99 the tool itself reports. Writes target/peers/
# results.md (medians, min-max over the repetitions; also printed), results.csv (the same, for
# a chart) and runs.csv (every run); each run's output is in target/peers/runs/.
#
#   bash scripts/bench-peers.sh         # all tools, both modes: about 10 minutes
#   bash scripts/bench-peers.sh --co    # the coordinated-omission demo instead (about 6 min)
#
# Installs what is missing: nginx, wrk and time (Debian), oha (crates.io, into target/peers),
# Locust (PyPI, into target/peers/venv). Builds nothing of this workspace: run
# `cargo build --release -p rcload -p goose-load` first. Loopback only; every run is bounded.
# Environment: BENCH_SECONDS (15), BENCH_REPS (3), BENCH_RATE (5000), BENCH_USERS (50:
# connections or users of the closed-model tools), BENCH_SATURATION_RATE (200000: what rcload
# is asked for at saturation), BENCH_TOOLS ("wrk oha goose locust rcload rcload-exact":
# rcload-exact is rcload at the fixed rate with --dispatch-resolution 0s), BENCH_MODES
# ("saturation fixed"), BENCH_ROUTE (get: the peers send GET /; status: POST the status
# route, as rcload does). --co: CO_SECONDS (60), CO_RATE (1000).
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C
secs=${BENCH_SECONDS:-15} reps=${BENCH_REPS:-3} rate=${BENCH_RATE:-5000}
users=${BENCH_USERS:-50} sat_rate=${BENCH_SATURATION_RATE:-200000}
tools=${BENCH_TOOLS:-wrk oha goose locust rcload rcload-exact} modes=${BENCH_MODES:-saturation fixed}
route=${BENCH_ROUTE:-get}
warm=3 # the window starts this long after the load does, and ends 1 s before it
[ "$secs" -ge 6 ] || { echo "BENCH_SECONDS must be 6 or more" >&2; exit 2; }
out=target/peers peers=benches/peers
rcload=target/release/rcload goose=target/release/goose-load
venv=$out/venv oha=$(command -v oha || echo "$out/bin/oha")
co=0; [ "${1:-}" = --co ] && co=1 && tools=${BENCH_TOOLS:-oha goose rcload}
want() { [[ " $tools " == *" $1 "* ]]; }

# == What is needed ============================================================================
for t in rcload:$rcload goose:$goose; do
  { ! want "${t%%:*}" && ! want "${t%%:*}-exact"; } || [ -x "${t#*:}" ] || { echo "no ${t#*:}: run cargo build --release -p rcload -p goose-load first" >&2; exit 2; }
done
apt=()
command -v nginx > /dev/null || apt+=(nginx)
command -v wrk > /dev/null || ! want wrk || apt+=(wrk)
[ -x /usr/bin/time ] || apt+=(time)
if [ ${#apt[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt[@]}" > /dev/null
fi
nginx -V 2>&1 | grep -q http_stub_status_module || { echo "this nginx has no stub_status" >&2; exit 2; }
if want oha && [ ! -x "$oha" ]; then
  cargo install oha --version "${OHA_VERSION:-^1.16}" --locked --root "$out"
fi
if want locust && [ ! -x "$venv/bin/locust" ]; then
  python3 -m venv "$venv" || { apt-get install -y -qq python3-venv > /dev/null && python3 -m venv "$venv"; }
  "$venv/bin/pip" install -q --disable-pip-version-check "locust==${LOCUST_VERSION:-2.47.0}"
fi

# == Helpers ===================================================================================
mkdir -p "$out"
. "$peers/helpers.sh"
launch() { # $1 = log prefix, then the command: runs it on CPU 1 under /usr/bin/time; sets
  # wrapper (time's pid) and tool_pid (the generator's)
  local log=$1; shift
  taskset -c 1 /usr/bin/time -f '%U %S %M' -o "$log.time" "$@" > "$log.out" 2> "$log.err" &
  wrapper=$! tool_pid=""
  for _ in $(seq 200); do
    tool_pid=$(pgrep -P "$wrapper" || true)
    [ -n "$tool_pid" ] && return 0
    kill -0 "$wrapper" 2> /dev/null || break
    sleep 0.05
  done
  echo "$* did not start:" >&2; cat "$log.err" >&2; exit 1
}
finish() { # $1 = log prefix, $2 = accepted exit codes ("0" or "0 1 4"): waits for the generator
  rc=0; wait "$wrapper" || rc=$?
  tool_pid=""
  [[ " $2 " == *" $rc "* ]] || { echo "$1: exit code $rc" >&2; tail -n 20 "$1.err" >&2; exit 1; }
}
p99_of() { # $1 = tool, $2 = log prefix: the p99 (ms) the tool reports
  case $1 in
    goose) python3 "$peers/peers.py" p99 goose "$2.json" ;;
    locust) python3 "$peers/peers.py" p99 locust "$2.out" "$2.err" ;;
    rcload*) python3 "$peers/peers.py" p99 "$1" "$2.run/summary.json" ;;
    *) python3 "$peers/peers.py" p99 "$1" "$2.out" ;;
  esac
}
status_body='{"code":7,"ref":"r1"}' status_path=/v1/terminals/16000001/status
command_of() { # $1 = tool, $2 = mode, $3 = log prefix, $4 = route: sets cmd (empty: n/a)
  local fixed=() path=/ body=()
  [ "$4" = status ] && path=$status_path
  case $1 in
    wrk)
      [ "$2" = saturation ] || { cmd=(); return; } # wrk has no fixed rate
      [ "$4" = get ] || { printf 'wrk.method = "POST"\nwrk.body = %s\nwrk.headers["Content-Type"] = "application/json"\n' \
        "'$status_body'" > "$out/post.lua"; body=(-s "$out/post.lua"); }
      cmd=(wrk -t1 -c"$users" -d"${secs}s" --latency "${body[@]}" "$url$path") ;;
    oha)
      [ "$2" = fixed ] && fixed=(-q "$rate")
      [ "$4" = get ] || body=(-m POST -T application/json -d "$status_body")
      cmd=("$oha" -z "${secs}s" -c "$users" "${fixed[@]}" --no-tui --output-format json "${body[@]}" "$url$path") ;;
    goose)
      [ "$2" = fixed ] && fixed=(--throttle-requests "$rate")
      cmd=(env GOOSE_LOAD_ROUTE="$4" "$goose" --host "$url" --users "$users" -r 1000 --run-time "${secs}s"
        "${fixed[@]}" --report-file "$3.json") ;;
    locust)
      local per_user=0; [ "$2" = fixed ] && per_user=$(awk -v r="$rate" -v u="$users" 'BEGIN { print r / u }')
      cmd=(env LOCUST_ROUTE="$4" LOCUST_USER_RATE="$per_user" "$venv/bin/locust" -f "$peers/locustfile.py"
        --headless --host "$url" -u "$users" -r "$users" -t "${secs}s" --only-summary) ;;
    rcload) # --max-connections-per-host at saturation: the peers' 50 connections, not 10,000
      if [ "$2" = fixed ]; then cmd=("$rcload" run "$peers/profiles/status-5000.yaml" --set "traffic.0.rate=$rate/s")
      else cmd=("$rcload" run "$peers/profiles/status-rate.yaml" --set "traffic.0.rate=$sat_rate/s" --max-connections-per-host "$users"); fi
      cmd+=(--target "$url" --duration "$((5 + secs))s" --out "$3.run" -q) ;;
    rcload-exact) # every action woken at its own microsecond: the lateness it buys, the CPU it costs
      [ "$2" = fixed ] || { cmd=(); return; }
      cmd=("$rcload" run "$peers/profiles/status-5000.yaml" --set "traffic.0.rate=$rate/s" --dispatch-resolution 0s
        --target "$url" --duration "$((5 + secs))s" --out "$3.run" -q) ;;
  esac
}

# == The coordinated-omission demo (--co) ======================================================
if [ $co = 1 ]; then
  co_secs=${CO_SECONDS:-60} co_rate=${CO_RATE:-1000} stall=1 period=10
  dir=$out/co; rm -rf "$dir"; mkdir -p "$dir"
  # The mock on CPU 0 stalls every /v1 request for 1 s every 10 s of its clock (docs/mock.md).
  { echo "faults:"; for i in $(seq 200); do echo "  - { at: $((i * period))s, kind: stall, for: ${stall}s }"; done; } > "$dir/stalls.yaml"
  port=$(free_port) url=http://127.0.0.1:$port
  origin=$(now)
  taskset -c 0 "$rcload" mock --listen "127.0.0.1:$port" --faults "$dir/stalls.yaml" > "$dir/mock.log" 2>&1 &
  server_pid=$!
  wait_up "$url/healthz"
  curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' -d '{"talkgroup":100001}' "$url/v1/terminals/16000001/register"
  printf 'tool\tmodel\tp99_ms\n' > "$dir/co.csv" # tab-separated
  co_run() { # $1 = tool, $2 = log name, $3 = name in the table, $4 = model; then the command.
    # Starts 5 s into a 10-s cycle (halfway between stalls): a run of whole cycles holds 6 stalls
    local tool=$1 log=$dir/$2 name=$3 model=$4; shift 4
    sleep_until "$(awk -v o="$origin" -v p=$period -v n="$(now)" 'BEGIN { printf "%.3f", o + (int((n - o - 5) / p) + 1) * p + 5 }')"
    echo "== $name: $model"
    launch "$log" "$@"; finish "$log" "0 1 4"
    printf '%s\t%s\t%s\n' "$name" "$model" "$(p99_of "$tool" "$log")" >> "$dir/co.csv"
  }
  oha_co=("$oha" -z "${co_secs}s" -c "$users" -q "$co_rate" --no-tui --output-format json -m POST -T application/json -d "$status_body")
  ! want oha || co_run oha oha "oha -q $co_rate" "open (fixed rate), timed from the send" "${oha_co[@]}" "$url$status_path"
  ! want oha || co_run oha oha-corrected "oha -q $co_rate --latency-correction" "open, timed from the intended send" \
    "${oha_co[@]}" --latency-correction "$url$status_path"
  ! want goose || co_run goose goose "Goose --throttle-requests $co_rate" "closed, $users users" env GOOSE_LOAD_ROUTE=status "$goose" \
    --host "$url" --users "$users" -r 1000 --run-time "${co_secs}s" --throttle-requests "$co_rate" --report-file "$dir/goose.json"
  if want rcload; then
    co_run rcload rcload "rcload $co_rate/s" "open, timed from the intended send" "$rcload" run "$peers/profiles/status-rate.yaml" \
      --target "$url" --set "traffic.0.rate=$co_rate/s" --duration "$((5 + co_secs))s" --out "$dir/rcload.run" -q
    printf '%s\t%s\t%s\n' "rcload (its service time)" "the same run, timed from the send" \
      "$(p99_of rcload-service "$dir/rcload")" >> "$dir/co.csv"
  fi
  {
    echo "Requests at $co_rate/s for $co_secs s against the mock, which stalls ${stall} s every ${period} s (a 1-in-10 share of"
    echo "the requests waits, evenly, 0 to ${stall} s: the true p99 = stall - 1 % x period; the rate drops out):"
    echo
    python3 "$peers/peers.py" co "$dir/co.csv" "$stall" "$period"
  } | tee "$dir/co.md"
  exit 0
fi

# == The peers =================================================================================
start_nginx "$PWD/$out/nginx"
runs=$out/runs.csv
rm -rf "$out/runs"; mkdir -p "$out/runs"
echo "tool,mode,route,rep,asked_per_s,window_s,requests,cpu_ticks,clk_tck,rss_start_kb,rss_end_kb,peak_rss_kb,p99_ms,exit_code,lateness_p99_ms" > "$runs"
for rep in $(seq "$reps"); do # the repetitions interleaved: a drifting machine hits every tool alike
  for mode in $modes; do
    for tool in $tools; do
      log=$out/runs/$tool-$mode-$rep
      r=$route; [[ $tool == rcload* ]] && r=status
      command_of "$tool" "$mode" "$log" "$r"
      [ ${#cmd[@]} -gt 0 ] || continue
      asked=""; [ "$mode" = fixed ] && asked=$rate; [ "$tool:$mode" = rcload:saturation ] && asked=$sat_rate
      echo "== $tool, $mode, $rep of $reps"
      start=$(now)
      launch "$log" "${cmd[@]}"
      if [[ $tool == rcload* ]]; then # the window: its steady phase, from run.json
        until [ -s "$log.run/run.json" ]; do
          kill -0 "$wrapper" 2> /dev/null || { cat "$log.err" >&2; exit 1; }
          sleep 0.1
        done
        read -r t0 t1 < <(python3 "$peers/peers.py" window "$log.run/run.json" "$warm" 1)
      else
        t0=$(add "$start" "$warm") t1=$(add "$start" "$((secs - 1))")
      fi
      sleep_until "$t0"; read -r c0 m0 q0 s0 < <(snap "$tool_pid") || true
      sleep_until "$t1"; read -r c1 m1 q1 s1 < <(snap "$tool_pid") || true
      [ -n "$c0" ] && [ -n "$c1" ] || { echo "$tool ended before its window did" >&2; exit 1; }
      finish "$log" "$([[ $tool == rcload* ]] && echo "0 1 4" || echo 0)"
      late=""; [[ $tool == rcload* ]] && late=$(python3 "$peers/peers.py" lateness "$log.run/summary.json")
      peak=$(tail -n 1 "$log.time" | awk '{ print $3 }') # after "Command exited with ..."
      echo "$tool,$mode,$r,$rep,$asked,$(awk -v a="$s0" -v b="$s1" 'BEGIN { printf "%.3f", b - a }'),$((q1 - q0 - 1)),$((c1 - c0)),$clk,$m0,$m1,$peak,$(p99_of "$tool" "$log"),$rc,$late" >> "$runs"
      sleep 1
    done
  done
done

# == The table =================================================================================
{
  echo "# rcload beside its peers ($(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  echo "Machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; kernel $(uname -r); $(nginx -v 2>&1 | sed 's/^nginx version: //') (one worker on CPU 0); each generator on CPU 1."
  v=() # the tools' versions (wrk -v exits 1)
  ! want wrk || v+=("$(wrk -v 2>&1 | awk 'NR == 1 { print "wrk", $2 }' || true)")
  ! want oha || v+=("$("$oha" --version || true)")
  ! want goose || v+=("Goose $(awk '/^name = "goose"$/ { getline; print $3 }' Cargo.lock | tr -d '"')")
  ! want locust || v+=("$("$venv/bin/locust" --version | awk '{ print "Locust", $2 }' || true)")
  ! want rcload || v+=("$("$rcload" --version || true)")
  echo "Tools: $(IFS=,; echo "${v[*]}" | sed 's/,/, /g')."
  echo "Runs: $secs s each, $reps repetition(s), measured over ${warm}-$((secs - 1)) s of the load; the peers send $([ "$route" = get ] && echo "GET /" || echo "POST $status_path"), rcload its status action (POST /v1/terminals/{issi}/status, 10,000 terminals); fixed rate $rate/s; $users connections or users; rcload at saturation asked for $sat_rate/s."
  echo
} > "$out/results.md"
python3 "$peers/peers.py" table "$runs" "$out/results.md" "$out/results.csv"
echo "written: $out/results.md, $out/results.csv, $runs"
# The chart (plotters, benches/peers/chart.rs): CPU per request and the rate held, per tool.
cargo bench -q -p rcload --bench peers_chart -- "$out/results.csv" "$out/results.svg"
