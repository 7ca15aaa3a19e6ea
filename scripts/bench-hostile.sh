#!/usr/bin/env bash
# Issue 13's figure against a hostile target: an event stream that sends one 100 MB line without
# a line end to each of 12 consoles costs rcload less than 2 s of CPU per 100 MB received, and
# the generator stays within its lateness limit. Runs the second-tier test that measures it
# (tests/it/hostile.rs, a_100_mb_line_costs_cpu_linear_in_its_length) optimised, with its
# output shown, and checks the figures it prints. Loopback only; about 20 s plus the build.
# Run it with nothing else busy on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp /tmp/rcload-bench-hostile.XXXXXX)
trap 'rm -f "$log"' EXIT
cargo test --release --locked -q --test it -- --ignored --nocapture --test-threads 1 \
  hostile::a_100_mb_line_costs_cpu_linear_in_its_length >"$log" 2>&1 || {
  cat "$log"; echo "the test failed" >&2; exit 1; }
grep '^long line:' "$log"
python3 - "$log" <<'PY'
import re, sys
line = next(l for l in open(sys.argv[1]) if l.startswith("long line:"))
per = float(re.search(r"([\d.]+) s per 100 MB", line).group(1))
behind = re.search(r"fell behind: (\w+)", line).group(1)
rows = [("CPU per 100 MB received (s)", f"{per:.3f}", "< 2", per < 2.0),
        ("generator fell behind", behind, "false", behind == "false")]
for name, v, want, ok in rows:
    print(f"{name:30} {v:>8}   target {want:6} {'met' if ok else 'MISSED'}")
if all(r[3] for r in rows):
    print("targets met")
else:
    sys.exit(1)
PY
