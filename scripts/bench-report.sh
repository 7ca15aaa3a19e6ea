#!/usr/bin/env bash
# Performance target of the reports (issue 5): report generation for a 1-hour run at 1 s
# intervals in under 10 s. benches/report_1h.rs writes such a run directory through rcload's
# own writers and times the library; then the release binary's `rcload report` is timed on it.
# Prints the figures and exits non-zero when the target is missed. No network. About 2 minutes
# plus the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=target/bench-report-1h
cargo bench --locked --bench report_1h -- "$dir"
cargo build --release --locked --quiet
start=$(date +%s.%N)
target/release/rcload report "$dir" -q
end=$(date +%s.%N)
secs=$(python3 -c "print(round($end - $start, 2))")
echo "rcload report (release binary, summary.json present): $secs s (target < 10 s)"
python3 -c "import sys; sys.exit(0 if $secs < 10 else 1)" || { echo "target MISSED" >&2; exit 1; }
