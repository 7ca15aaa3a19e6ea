#!/usr/bin/env bash
# Fuzz rcload's parsers and decoders (cargo-fuzz on the nightly toolchain, libFuzzer): the
# profile parser, the adapter mapping parser, the SSE decoder, the event-message decoder of a
# mapping (WebSocket and polled messages) and the latency.hlog reader. Each target runs a
# bounded number of executions (default 1,000,000; RUNS=N) and at most MAX_SECONDS (default
# 600) and must not crash. Not part of scripts/test: run it by hand or as a nightly job.
#
#   bash scripts/fuzz.sh                 # every target
#   RUNS=100000 bash scripts/fuzz.sh sse # one target, fewer executions
#
# A crash leaves its input under fuzz/artifacts/<target>/; fix it and add it as a regression
# test. The corpora start from the repository's own files (fuzz/seeds.sh) and grow under
# fuzz/corpus/ (not committed).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-1000000}
max_seconds=${MAX_SECONDS:-600}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(profile mapping sse event_message hlog)

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null 2>&1 || cargo +nightly install cargo-fuzz --locked

# Seeds: the repository's profiles, mappings, an SSE stream and an hlog written by the tests'
# fixtures.
seed() {
  local dir=fuzz/corpus/$1; shift
  mkdir -p "$dir"
  for f in "$@"; do [ -f "$f" ] && cp "$f" "$dir/"; done
}
seed profile profiles/*.yaml examples/*.yaml
seed mapping adapters/*.yaml
seed sse fuzz/seeds/*.sse
seed event_message fuzz/seeds/*.json
seed hlog fuzz/seeds/*.hlog

status=0
for t in "${targets[@]}"; do
  log=$(mktemp)
  start=$SECONDS
  # No sanitizer: the code is safe Rust; what is looked for is a panic, an abort, an
  # allocation over the RSS limit or a hang (-timeout per input).
  if cargo +nightly fuzz run --fuzz-dir fuzz -s none "$t" "fuzz/corpus/$t" -- \
      -runs="$runs" -max_total_time="$max_seconds" -rss_limit_mb=2048 -timeout=10 \
      -print_final_stats=1 >"$log" 2>&1; then
    result=ok
  else
    result=CRASH; status=1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  echo "fuzz $t: ${execs:-?} executions in $((SECONDS - start)) s, $result"
  [ "$result" = ok ] || tail -40 "$log"
  rm -f "$log"
done
exit $status
