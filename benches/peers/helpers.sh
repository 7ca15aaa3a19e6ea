# Helpers of the benchmarks that load the peer benchmark's nginx (scripts/bench-peers.sh,
# scripts/bench-dispatch.sh), sourced by them from the workspace's root. Cleans up on exit only
# what the sourcing script started, by its id (server_pid, tool_pid). Uses url (set by
# start_nginx, or by the script for another server).
server_pid="" tool_pid=""
cleanup() { # only what this script started, by its id
  [ -z "$tool_pid" ] || kill "$tool_pid" 2> /dev/null || true
  [ -z "$server_pid" ] || { kill "$server_pid" 2> /dev/null; wait "$server_pid" 2> /dev/null; } || true
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
sleep_until() { sleep "$(awk -v t="$1" -v n="$(now)" 'BEGIN { d = t - n; print (d > 0 ? d : 0) }')"; }
add() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a + b }'; }
wait_up() { # $1 = URL: answered within 10 s
  for _ in $(seq 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "no answer from $1" >&2; exit 1
}
clk=$(getconf CLK_TCK)
served() { curl -s "$url/nginx_status" | awk 'NR == 3 { print $3 }'; } # requests so far
snap() { # $1 = the generator's pid: "cpu_ticks rss_kb served unix_s", now
  local stat; stat=$(< "/proc/$1/stat")
  local f; read -r -a f <<< "${stat##*) }" # the fields after the command's name: f[11] utime, f[12] stime
  echo "$((f[11] + f[12])) $(awk '/^VmRSS:/ { print $2 }' "/proc/$1/status") $(served || echo 0) $(now)"
}
switches() { # $1 = a pid: the voluntary context switches of all its threads so far (each is one
  # sleep and the wake that ends it)
  cat /proc/"$1"/task/*/status 2> /dev/null | awk '/^voluntary_ctxt_switches:/ { n += $2 } END { print n + 0 }'
}
start_nginx() { # $1 = directory (absolute): benches/peers/nginx.conf on CPU 0 at a free
  # loopback port; sets url and server_pid once it answers
  local port; port=$(free_port)
  url=http://127.0.0.1:$port
  mkdir -p "$1"
  sed -e "s#@DIR@#$1#g" -e "s#@PORT@#$port#g" benches/peers/nginx.conf > "$1/nginx.conf"
  taskset -c 0 nginx -p "$1" -c "$1/nginx.conf" -e "$1/error.log" &
  server_pid=$!
  wait_up "$url/healthz"
}
