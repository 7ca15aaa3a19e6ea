#!/usr/bin/env bash
# A rehearsal of a sharded run (examples/k8s/, docs/scale-out.md) on this machine:
#   bash scripts/shards.sh N PROFILE [extra `rcload run` flags...]
# starts a standalone mock with its fault clock at a common start a few seconds ahead, then N
# shard processes exactly as the Kubernetes Job's pods start them (JOB_COMPLETION_INDEX in
# their environment, `run PROFILE --shard "$JOB_COMPLETION_INDEX/N" --start-at START ...`), waits
# for all, merges their run directories and exits with the merge's exit code (0 pass, 1 fail,
# 4 invalid, 2 unreadable).
#
#   RCLOAD_BIN   the binary (default target/release/rcload, built if missing)
#   OUT          the run root (default reports/shards-<UTC time>): shard-0 .. shard-(N-1),
#                merged, and each process's output under logs/
#   LEAD         seconds from now to the common start (default 5); a shard that starts later
#                than the others is named in the merge's warnings
#   MOCK_ARGS    extra flags of `rcload mock` (e.g. `--config mock.yaml` for capacity and
#                faults: a standalone mock does not read a profile's `mock:` section)
# Loopback only: the mock listens on 127.0.0.1 and every shard targets it. Linux (GNU date,
# util-linux setsid).
set -euo pipefail

usage() {
  echo "usage: bash scripts/shards.sh N PROFILE [rcload run flags...]" >&2
  exit 2
}
[ $# -ge 2 ] || usage
n=$1 profile=$2
shift 2
[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "shards.sh: N must be a whole number from 1, not '$n'" >&2; usage; }

repo=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${RCLOAD_BIN:-}" ]; then
  bin=$RCLOAD_BIN
else
  bin=$repo/target/release/rcload
  if [ ! -x "$bin" ]; then
    echo "== shards: building rcload (cargo build --release -p rcload)"
    (cd "$repo" && cargo build --release -p rcload)
  fi
fi
[ -x "$bin" ] || { echo "shards.sh: $bin is not an executable" >&2; exit 2; }
bin=$(realpath "$bin")
# A profile file given from here stays the same file for every shard; a name is a built-in.
[ -f "$profile" ] && profile=$(realpath "$profile")

root=${OUT:-reports/shards-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$root/logs"
root=$(realpath "$root")

# The common start: LEAD seconds ahead, RFC 3339 UTC with milliseconds.
lead=${LEAD:-5}
[[ $lead =~ ^[0-9]+$ ]] || { echo "shards.sh: LEAD must be whole seconds, not '$lead'" >&2; exit 2; }
start=$(date -u -d "@$(($(date +%s) + lead))" +%Y-%m-%dT%H:%M:%S.%3NZ)
echo "== shards: $n shards of $profile, common start $start, run root $root"

# Every process in a session of its own (setsid), as each pod is: a Ctrl-C at the terminal
# reaches this script only, which passes it on once as SIGTERM, as Kubernetes stops a pod (a
# shard then stops, ends what it opened on the mock and writes its results; a second Ctrl-C
# passes a second SIGTERM, and rcload exits at once). The mock outlives the shards' teardown.
pids=()
mock_pid=""
interrupted=""
cleanup() {
  [ -z "$mock_pid" ] || kill "$mock_pid" 2>/dev/null || true
}
trap cleanup EXIT
stop_shards() {
  interrupted=1
  echo "== shards: interrupted: SIGTERM to the shards" >&2
  [ ${#pids[@]} -eq 0 ] || kill -TERM "${pids[@]}" 2>/dev/null || true
}
trap stop_shards INT TERM

# The standalone mock, its fault clock at the common start; its first line names its address.
# shellcheck disable=SC2086 # MOCK_ARGS is a list of flags
setsid -w "$bin" mock --listen 127.0.0.1:0 --start-at "$start" ${MOCK_ARGS:-} \
  > "$root/logs/mock.log" 2>&1 &
mock_pid=$!
url=""
for _ in $(seq 100); do
  url=$(awk '/^rcload mock listening on /{print $NF; exit}' "$root/logs/mock.log")
  [ -n "$url" ] && break
  kill -0 "$mock_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$url" ]; then
  echo "shards.sh: the mock did not say where it listens:" >&2
  cat "$root/logs/mock.log" >&2
  exit 2
fi
echo "== shards: mock at $url (log: $root/logs/mock.log)"
[ -z "$interrupted" ] || exit 130

# The shards, as the Job's pods: the index comes from the environment, as Kubernetes sets it.
for ((i = 0; i < n; i++)); do
  # shellcheck disable=SC2016 # expanded by the inner bash, from its environment
  setsid -w env JOB_COMPLETION_INDEX="$i" RCLOAD="$bin" N="$n" START="$start" URL="$url" ROOT="$root" \
    bash -c 'exec "$RCLOAD" run "$0" --shard "$JOB_COMPLETION_INDEX/$N" --start-at "$START" \
      --target "$URL" --out "$ROOT/shard-$JOB_COMPLETION_INDEX" "$@"' "$profile" "$@" \
    > "$root/logs/shard-$i.log" 2>&1 &
  pids+=($!)
done
echo "== shards: started ${#pids[@]} shards (logs: $root/logs/shard-<i>.log); waiting"

codes=()
for i in "${!pids[@]}"; do
  code=0
  wait "${pids[$i]}" || code=$?
  # A wait cut short by Ctrl-C (the trap ran) is waited again, for the shard's own exit code
  # (bash keeps it when the shard had already ended).
  while [ -n "$interrupted" ]; do
    interrupted=""
    code=0
    wait "${pids[$i]}" || code=$?
  done
  codes+=("$code")
done
trap - INT TERM
for i in "${!codes[@]}"; do
  echo "== shards: shard $i/$n exited ${codes[$i]}"
  if [ "${codes[$i]}" -ne 0 ]; then tail -n 5 "$root/logs/shard-$i.log" | sed 's/^/   /'; fi
done

dirs=()
for ((i = 0; i < n; i++)); do dirs+=("$root/shard-$i"); done
echo "== shards: rcload merge ${dirs[*]} --out $root/merged"
merge=0
"$bin" merge "${dirs[@]}" --out "$root/merged" || merge=$?
echo "== shards: merge exited $merge; the merged run: $root/merged/report.html"
exit "$merge"
