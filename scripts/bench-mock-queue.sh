#!/usr/bin/env bash
# The mock's queue figures on a quiet machine (issue 12 moved them out of the tests, which
# bound them at 10x): two workers of 5 ms serve an even 200/s in 5-15 ms (p50), hold 600/s
# offered at their capacity of 400/s (within 15 %), and with 20 places to wait answer no
# request later than 150 ms. Runs the mock's second-tier queue tests with their output shown,
# reads the figures they print, and exits non-zero when one misses. Loopback only; about 10 s
# plus the build. Run it with nothing else busy on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp /tmp/rcload-bench-mock-queue.XXXXXX)
trap 'rm -f "$log"' EXIT
cargo test --locked -q -p rcload-mock --test it -- --ignored --nocapture --test-threads 1 \
  capacity::latency_and_throughput_follow_the_queue capacity::full_queue_answers_503 >"$log" 2>&1 || {
  cat "$log"; echo "the tests failed" >&2; exit 1; }
python3 - "$log" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def ms(s):
    v = float(re.match(r"[\d.]+", s).group())
    return v / 1000 if s.endswith("µs") else v * 1000 if s.endswith("s") and not s.endswith("ms") else v
p50 = ms(re.search(r"offered 200/s: p50 (\S+),", text).group(1))
thr = float(re.search(r"throughput (\d+)/s", text).group(1))
worst = ms(re.search(r"worst wait of a served request: (\S+)", text).group(1))
rows = [("p50 at 200/s (ms)", p50, "5-15", 5 <= p50 < 15),
        ("throughput at 600/s offered (/s)", thr, "340-460", 340 <= thr <= 460),
        ("worst wait, 20 may wait (ms)", worst, "< 150", worst < 150)]
for name, v, want, ok in rows:
    print(f"{name:36} {v:8.1f}   target {want:8} {'met' if ok else 'MISSED'}")
if all(r[3] for r in rows):
    print("targets met")
else:
    sys.exit(1)
PY
