#!/usr/bin/env bash
# The cost per action at the limit (issue 18, deliverable 4): CPU µs per console login (with
# its event stream and talkgroup attach), per terminal registration (with the deliveries it
# fans out to consoles), per status (with delivery matching), at 1,000 consoles (10 rooms x
# 100, 24 of their room's 100 talkgroups each) and 100,000 terminals; and the generator's
# memory per console with an open stream and per terminal. Goals (issue 18): at most 64 KB per
# console and 2 KB per terminal, printed beside the figures.
#
# Method. The target is a standalone `rcload mock` pinned to CPU 0, so that the generator's
# process holds only the generator; the generator runs pinned to CPU 1. A sampler (python3,
# on CPU 0) reads the generator's CPU (utime + stime of /proc/PID/stat, all threads, in
# clock ticks) and RSS (VmRSS) every 0.25 s with the wall time; run.json's
# started_at_unix_s (the run's t=0) puts the samples on the run's own seconds. The profile,
# benches/cost/cost.yaml, lays the actions out so that each window holds one kind (its header
# has the timeline; probes and audits are off). Counts in a window come from the schedule:
# logins, registrations and (uniform) statuses are evenly spaced, so a window of L seconds
# holds rate x L of them; summary.json's counts and errors are printed as a check.
#   idle rate     CPU over 66-86 s (after setup, nothing sent): holding 1,000 streams and
#                 100,000 registered terminals, the engine's sweeps, the 1-s intervals
#   registration  (CPU over 33-57 s - idle rate x 24 s) / 40,000 registrations: every console
#                 is logged in and attached by then, so each registration fans out to 24
#   status        (CPU over 93-118 s - idle rate x 25 s) / (rate x 25 s) statuses
#   login         a second run with 100 terminals (registrations then cost next to nothing):
#                 (CPU over 3-27 s - CPU over 33-57 s) / 800 logins, the logins' window
#                 having on average 500 streams fewer open, added back at the idle cost of a
#                 stream: (idle rate - idle rate of the 100-console run) / 900
#   memory        mean VmRSS over 74-76 s (idle) of the main run less that of the run with 100
#                 terminals, / 99,900: KB per terminal; less that of a third run with 100
#                 consoles (10 per room), / 900: KB per console (with its open stream and its
#                 24 monitored talkgroups)
# The two extra runs are the same profile cut to 78 s (no statuses then but one or two at the
# very end, which hold the run open through its idle window).
#
#   bash scripts/bench-cost.sh     # about 5 minutes plus the release build
#
# Environment: BENCH_COST_RATE (2000: statuses per second in the status window), BENCH_OUT
# (results directory; default a new /tmp/rcload-bench-cost.XXXXXX). Writes there results.md
# (the tables, also printed), cost.csv, memory.csv, windows.csv (every window used) and, under
# runs/, each run's directory, its samples, its log and its mock's log. Needs 2 CPUs, taskset,
# curl and python3 (standard library only). Loopback only; every run is bounded by its
# duration. Exits non-zero only when something could not be measured; a missed goal is
# printed, not an error. Run it with nothing else busy on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C
rate=${BENCH_COST_RATE:-2000}
[[ $rate =~ ^[1-9][0-9]*$ ]] || { echo "BENCH_COST_RATE must be a whole number of statuses per second" >&2; exit 2; }
[ "$(nproc)" -ge 2 ] || { echo "needs 2 CPUs: the mock on CPU 0, the generator on CPU 1" >&2; exit 2; }
for tool in taskset curl python3; do
  command -v "$tool" > /dev/null || { echo "needs $tool" >&2; exit 2; }
done
cargo build --release --locked --quiet -p rcload
bin=target/release/rcload profile=benches/cost/cost.yaml
out=${BENCH_OUT:-$(mktemp -d /tmp/rcload-bench-cost.XXXXXX)}
mkdir -p "$out/runs"
echo "results in $out"
ulimit -n "$(ulimit -Hn)" 2> /dev/null || true # 1,000 streams on each side

# == Helpers ===================================================================================
mock_pid="" gen_pid="" sampler_pid="" mock_sampler_pid=""
cleanup() { # only what this script started, by its id
  local p
  for p in $sampler_pid $mock_sampler_pid $gen_pid $mock_pid; do kill "$p" 2> /dev/null || true; done
  for p in $sampler_pid $mock_sampler_pid $gen_pid $mock_pid; do wait "$p" 2> /dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_up() { # $1 = URL: answered within 10 s
  for _ in $(seq 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "no answer from $1" >&2; exit 1
}
# The sampler: "wall_s,cpu_ticks,rss_kb" every 0.25 s while the process lives (a zombie has
# no VmRSS: it stops there).
sampler='
import sys, time
pid, path = sys.argv[1], sys.argv[2]
with open(path, "w") as out:
    out.write("wall_s,cpu_ticks,rss_kb\n")
    due = time.time()
    while True:
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            with open(f"/proc/{pid}/status") as f:
                status = f.read()
        except OSError:
            break
        now = time.time()
        fields = stat.rsplit(")", 1)[1].split()  # after the name: [11] utime, [12] stime
        rss = [l.split()[1] for l in status.splitlines() if l.startswith("VmRSS:")]
        if not rss:
            break
        out.write(f"{now:.3f},{int(fields[11]) + int(fields[12])},{rss[0]}\n")
        out.flush()
        due += 0.25
        time.sleep(max(0.0, due - time.time()))
'
run_one() { # $1 = name, then rcload run's extra arguments: one run against a fresh mock
  local name=$1; shift
  local dir=$out/runs/$name port url rc=0
  rm -rf "$dir"
  port=$(free_port) url=http://127.0.0.1:$port
  taskset -c 0 "$bin" mock --listen "127.0.0.1:$port" > "$dir.mock.log" 2>&1 &
  mock_pid=$! # taskset execs rcload: the same process
  wait_up "$url/healthz"
  taskset -c 0 python3 -c "$sampler" "$mock_pid" "$dir.mock.samples.csv" &
  mock_sampler_pid=$!
  echo "== $name: $*"
  taskset -c 1 "$bin" run "$profile" --target "$url" --out "$dir" --allow-no-slo --no-teardown -q "$@" \
    > "$dir.log" 2>&1 &
  gen_pid=$!
  taskset -c 0 python3 -c "$sampler" "$gen_pid" "$dir.samples.csv" &
  sampler_pid=$!
  wait "$gen_pid" || rc=$?
  gen_pid=""
  wait "$sampler_pid" || true
  sampler_pid=""
  kill "$mock_pid" 2> /dev/null || true
  wait "$mock_pid" 2> /dev/null || true
  mock_pid=""
  wait "$mock_sampler_pid" || true
  mock_sampler_pid=""
  case $rc in
    0 | 1 | 4) ;; # pass, fail, invalid (e.g. the generator fell behind: said below)
    *) echo "$name: rcload run exited with $rc" >&2; tail -n 20 "$dir.log" >&2; exit 1 ;;
  esac
}

# == The runs ==================================================================================
run_one main --set "traffic.0.rate={0s: 0/s, 88s: 0/s, 89s: $rate/s}"
# A run ends once its last action is answered: a status or two at the end holds these two
# open through their idle window (66-76 s).
hold_open="traffic.0.rate={0s: 0/s, 77s: 0/s, 77.5s: 2/s}"
run_one logins --duration 78s --set population.terminals=100 --set "$hold_open"
run_one consoles --duration 78s --set population.consoles_per_room=10 --set "$hold_open"

# == The figures ===============================================================================
{
  echo "# rcload: cost per action at the limit ($(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  echo "Machine: $(lscpu 2> /dev/null | sed -n 's/^Model name: *//p'), $(nproc) CPUs; kernel $(uname -r); $("$bin" --version). The mock on CPU 0, the generator on CPU 1."
  echo
} > "$out/results.md"
python3 - "$out" "$(getconf CLK_TCK)" "$rate" <<'PY'
import csv, json, math, os, sys

out, clk, rate = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
# The timeline of benches/cost/cost.yaml, seconds from t=0.
SETUP = 60.0                          # setup.over: logins over 0-30, registrations over 0-60
CONSOLES, TERMINALS, FANOUT = 1000, 100_000, 24  # 100 consoles x 24 of 100 talkgroups a room
REF_TERMINALS, REF_CONSOLES = 100, 100           # the runs `logins` and `consoles`
W_FIRST, W_SECOND = (3.0, 27.0), (33.0, 57.0)    # inside each half of setup, equal lengths
W_IDLE_MAIN, W_IDLE_REF = (66.0, 86.0), (66.0, 76.0)
W_MEM = (74.0, 76.0)
W_STATUS = (93.0, 118.0)              # the rate is flat from 89 s to the end (120 s)


def fail(msg):
    print(f"cannot measure: {msg}", file=sys.stderr)
    sys.exit(1)


class Run:
    def __init__(self, name):
        self.name = name
        d = f"{out}/runs/{name}"
        try:
            self.t0 = float(json.load(open(f"{d}/run.json"))["started_at_unix_s"])
        except (OSError, ValueError, KeyError) as e:
            fail(f"{d}/run.json: {e}")
        try:
            self.summary = json.load(open(f"{d}/summary.json"))
        except (OSError, ValueError) as e:
            fail(f"{d}/summary.json: {e} (see {d}.log)")
        self.t, self.cpu_s, self.rss_kb = self.samples(f"{d}.samples.csv")
        # The mock's, for its share of CPU 0 only (a saturated target is said below).
        self.mock = self.samples(f"{d}.mock.samples.csv")

    def samples(self, path):
        try:
            rows = list(csv.DictReader(open(path)))
        except OSError as e:
            fail(f"{path}: {e}")
        if len(rows) < 2:
            fail(f"{path}: fewer than 2 samples")
        return ([float(r["wall_s"]) - self.t0 for r in rows],
                [int(r["cpu_ticks"]) / clk for r in rows], [int(r["rss_kb"]) for r in rows])

    def cpu_at(self, x, series=None):
        t, cpu = series[:2] if series else (self.t, self.cpu_s)
        if not t[0] <= x <= t[-1]:
            fail(f"run {self.name}: no samples around t={x:.0f} s (samples cover "
                 f"{t[0]:.1f}-{t[-1]:.1f} s; see runs/{self.name}.log)")
        i = max(1, next(k for k in range(len(t)) if t[k] >= x))
        a, b = t[i - 1], t[i]
        w = 0.0 if b == a else (x - a) / (b - a)
        return cpu[i - 1] + w * (cpu[i] - cpu[i - 1])

    def cpu(self, w, series=None):
        """CPU seconds over the window (linear between samples)."""
        return self.cpu_at(w[1], series) - self.cpu_at(w[0], series)

    def rss(self, w):
        """Mean VmRSS (KB) of the samples in the window."""
        v = [r for t, r in zip(self.t, self.rss_kb) if w[0] <= t <= w[1]]
        if not v:
            fail(f"run {self.name}: no RSS sample in {w[0]:.0f}-{w[1]:.0f} s")
        return sum(v) / len(v)

    def op(self, name, key="count"):
        return self.summary.get("operations", {}).get(name, {}).get(key, 0)

    def errors(self):
        return sum(sum(o.get("errors", {}).values()) for o in self.summary.get("operations", {}).values())


def length(w):
    return w[1] - w[0]


main, logins, few = Run("main"), Run("logins"), Run("consoles")

# Every window used, with the generator's share of its core (near 100 %: it was saturated).
windows = []
def window(run, name, w):
    c = run.cpu(w)
    windows.append({"run": run.name, "window": name, "from_s": w[0], "to_s": w[1],
                    "length_s": length(w), "cpu_s": round(c, 4),
                    "core_share": round(c / length(w), 4),
                    "mock_core_share": round(run.cpu(w, run.mock) / length(w), 4),
                    "rss_end_kb": round(run.rss((w[1] - 1.0, w[1])))})
    return c

idle_main = window(main, "idle", W_IDLE_MAIN) / length(W_IDLE_MAIN)       # CPU s per s
idle_logins = window(logins, "idle", W_IDLE_REF) / length(W_IDLE_REF)
idle_few = window(few, "idle", W_IDLE_REF) / length(W_IDLE_REF)
hold = (idle_main - idle_few) / (CONSOLES - REF_CONSOLES)                  # per console

# Registrations: the second half of setup, every console attached.
regs_n = TERMINALS * length(W_SECOND) / SETUP
c = window(main, "registrations (second half of setup)", W_SECOND)
reg_us = (c - idle_main * length(W_SECOND)) / regs_n * 1e6

# Statuses: the flat stretch of the rate curve.
status_n = rate * length(W_STATUS)
c = window(main, "statuses", W_STATUS)
status_us = (c - idle_main * length(W_STATUS)) / status_n * 1e6

# Logins: the run with 100 terminals, first half of setup against the second.
login_n = CONSOLES * length(W_FIRST) / (SETUP / 2)
c1 = window(logins, "logins (first half of setup)", W_FIRST)
c2 = window(logins, "second half of setup", W_SECOND)
mid = (W_FIRST[0] + W_FIRST[1]) / 2
fewer_streams = CONSOLES * (1 - mid / (SETUP / 2))  # on average, streams not open yet
login_us = (c1 - c2 + hold * fewer_streams * length(W_FIRST)) / login_n * 1e6

# Memory at the same instant of every run (idle).
rss_main, rss_logins, rss_few = main.rss(W_MEM), logins.rss(W_MEM), few.rss(W_MEM)
kb_terminal = (rss_main - rss_logins) / (TERMINALS - REF_TERMINALS)
kb_console = (rss_main - rss_few) / (CONSOLES - REF_CONSOLES)

# Fan-out as the runs saw it (summary.json, whole run).
def per(run, event, op):
    n = run.op(op)
    exp = run.summary.get("deliveries", {}).get(event, {}).get("expected", 0)
    return exp / n if n else math.nan

status_fan = per(main, "status", "terminal.status")
reg_fan = per(main, "terminal.registered", "terminal.register")

cost = [
    ("console login", login_us, login_n, length(W_FIRST),
     f"POST login, opening the event stream, PUT of its {FANOUT} talkgroups and their "
     f"{FANOUT} talkgroup.attached events (run with {REF_TERMINALS} terminals, "
     f"{CONSOLES:,} consoles logging in)"),
    ("terminal registration", reg_us, regs_n, length(W_SECOND),
     f"POST register and matching its terminal.registered event at the {FANOUT} consoles "
     f"that monitor its talkgroup ({CONSOLES:,} consoles attached, {TERMINALS:,} terminals)"),
    ("status", status_us, status_n, length(W_STATUS),
     f"POST status at {rate:,.0f}/s and matching its event at the consoles that monitor its "
     f"talkgroup ({status_fan:.1f} a status in summary.json)"),
    ("holding a console stream, per second", hold * 1e6, None, length(W_IDLE_MAIN),
     "idle: its `: ping` every 15 s and the engine's work for it ((idle of main - idle of "
     f"the {REF_CONSOLES}-console run) / {CONSOLES - REF_CONSOLES})"),
    ("idle generator, per second", idle_main * 1e6, None, length(W_IDLE_MAIN),
     f"{CONSOLES:,} streams open, {TERMINALS:,} terminals registered, nothing sent: "
     "sweeps and the 1-s intervals"),
]
memory = [
    ("per console with an open stream", kb_console, 64, rss_main, rss_few,
     CONSOLES - REF_CONSOLES, f"its stream, its {FANOUT} monitored talkgroups; "
     f"main ({CONSOLES:,} consoles) - the {REF_CONSOLES}-console run"),
    ("per terminal", kb_terminal, 2, rss_main, rss_logins, TERMINALS - REF_TERMINALS,
     f"registered, idle; main ({TERMINALS:,} terminals) - the {REF_TERMINALS}-terminal run"),
]

# The runs' own account, as a check.
notes = []
for r in (main, logins, few):
    g = r.summary.get("generator", {})
    lat = g.get("lateness_ms", {}).get("p99", math.nan)
    line = (f"run {r.name}: verdict {r.summary.get('verdict')}, logins ok "
            f"{r.op('console.login', 'ok'):,}, attaches ok {r.op('console.attach', 'ok'):,}, "
            f"registrations ok {r.op('terminal.register', 'ok'):,}, statuses "
            f"{r.op('terminal.status'):,}, request errors {r.errors():,}, missed deliveries "
            f"{sum(d.get('missed', 0) for d in r.summary.get('deliveries', {}).values()):,}, "
            f"generator lateness p99 {lat} ms, peak RSS "
            f"{r.summary.get('process', {}).get('peak_rss_mb')} MB")
    notes.append(line)
    if g.get("fell_behind"):
        notes.append(f"WARNING: run {r.name}: the generator fell behind (lateness p99 {lat} ms, "
                     f"throttled {g.get('throttled')}): its windows are not at the schedule's rate")
    if r.errors():
        notes.append(f"WARNING: run {r.name}: {r.errors():,} requests failed")
expected_status = rate * (120 - 88.5)  # the ramp 88-89 s holds half a second's worth
notes.append(f"statuses sent in run main: {main.op('terminal.status'):,} "
             f"(the schedule: {expected_status:,.0f}); registration fan-out over the whole "
             f"run {reg_fan:.1f} (about {FANOUT} x 3/4: in the first half of setup the "
             f"consoles are still logging in)")
for w in windows:
    if w["core_share"] > 0.95:
        notes.append(f"WARNING: run {w['run']}, window {w['window']}: the generator used "
                     f"{w['core_share']:.0%} of its core (saturated)")
    if w["mock_core_share"] > 0.9:
        notes.append(f"WARNING: run {w['run']}, window {w['window']}: the mock used "
                     f"{w['mock_core_share']:.0%} of its core: events may have come late, "
                     "and with them the generator's work")

# Tables.
md = []
md.append(f"Population: {CONSOLES:,} consoles (10 rooms x 100, {FANOUT} of 100 talkgroups "
          f"each: every talkgroup monitored by {FANOUT}), {TERMINALS:,} terminals; "
          f"setup over {SETUP:.0f} s; statuses at {rate:,.0f}/s. Method: scripts/bench-cost.sh.")
md.append("")
md.append("| action | CPU µs per action | actions in window | what it includes |")
md.append("|---|---|---|---|")
for name, us, n, _, what in cost:
    md.append(f"| {name} | {us:,.1f} | {'-' if n is None else f'{n:,.0f}'} | {what} |")
md.append("")
md.append("| memory | KB | goal (issue 18) | meets | what it includes |")
md.append("|---|---|---|---|---|")
for name, kb, goal, _, _, _, what in memory:
    md.append(f"| {name} | {kb:,.2f} | ≤ {goal} | {'yes' if kb <= goal else 'no'} | {what} |")
md.append("")
md.append("Windows (seconds from each run's t=0; CPU = utime + stime of the generator's process):")
md.append("")
md.append("| run | window | from s | to s | CPU s | share of its core | RSS at its end (MB) | the mock's share of its core |")
md.append("|---|---|---|---|---|---|---|---|")
for w in windows:
    md.append(f"| {w['run']} | {w['window']} | {w['from_s']:.0f} | {w['to_s']:.0f} | "
              f"{w['cpu_s']:.3f} | {w['core_share']:.1%} | {w['rss_end_kb'] / 1024:.1f} | "
              f"{w['mock_core_share']:.1%} |")
md.append("")
md.append(f"RSS over {W_MEM[0]:.0f}-{W_MEM[1]:.0f} s (MB): main {rss_main / 1024:.1f}, "
          f"{REF_TERMINALS} terminals {rss_logins / 1024:.1f}, {REF_CONSOLES} consoles "
          f"{rss_few / 1024:.1f}.")
md.append("")
md.extend(f"- {n}" for n in notes)
text = "\n".join(md) + "\n"
with open(f"{out}/results.md", "a") as f:
    f.write(text)
print(open(f"{out}/results.md").read(), end="")

with open(f"{out}/cost.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["action", "cpu_us_per_action", "actions_in_window", "window_s", "includes"])
    for name, us, n, secs, what in cost:
        w.writerow([name, f"{us:.2f}", "" if n is None else f"{n:.0f}", f"{secs:.0f}", what])
with open(f"{out}/memory.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["figure", "kb", "goal_kb", "meets", "rss_kb", "rss_reference_kb", "count",
                "includes"])
    for name, kb, goal, a, b, n, what in memory:
        w.writerow([name, f"{kb:.3f}", goal, "yes" if kb <= goal else "no", round(a),
                    round(b), n, what])
with open(f"{out}/windows.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(windows[0]))
    w.writeheader()
    w.writerows(windows)
print(f"written: {out}/results.md, cost.csv, memory.csv, windows.csv")
PY
