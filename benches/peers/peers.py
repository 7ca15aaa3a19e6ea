"""The arithmetic of scripts/bench-peers.sh: each tool's p99 from its own output, rcload's
measurement window from run.json, the results table, and the coordinated-omission figures.

    python3 peers.py p99 TOOL FILE...          p99 in ms as TOOL reports it (nan if not found)
    python3 peers.py window RUN_JSON WARM TAIL "t0 t1": the steady phase in unix seconds,
                                               less WARM s at the start and TAIL s at the end
    python3 peers.py lateness SUMMARY_JSON [Q...]  rcload's generator lateness in ms at each
                                               quantile Q (p50, p99, max; default p99),
                                               comma-separated
    python3 peers.py table RUNS_CSV MD CSV     medians (min-max) per tool and mode
    python3 peers.py true-p RATE STALL PERIOD Q  the true latency quantile (ms) under stalls
    python3 peers.py co CO_CSV STALL PERIOD    the coordinated-omission table (Markdown)

Standard library only (any python3).
"""

import csv
import json
import math
import re
import statistics
import sys

# rcload-exact: rcload with --dispatch-resolution 0s (every action woken at its microsecond).
TOOLS = ["wrk", "oha", "goose", "locust", "rcload", "rcload-exact"]
MODES = ["saturation", "fixed"]


def ms_of(text):
    """`7.75ms`, `256.00us`, `1.2s` (wrk's units) in ms."""
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        return math.nan
    v, unit = float(m.group(1)), m.group(2)
    return v * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def find_key(node, key):
    """Every value of `key` anywhere in a JSON document, with the object holding it."""
    if isinstance(node, dict):
        if key in node:
            yield node[key], node
        for v in node.values():
            yield from find_key(v, key)
    elif isinstance(node, list):
        for v in node:
            yield from find_key(v, key)


def number(v):
    """A report's number: plain, or {"value": n} as Goose writes a figure with a baseline."""
    if isinstance(v, dict):
        v = v.get("value", v.get("Plain", math.nan))
    try:
        return float(str(v).replace(",", ""))
    except ValueError:
        return math.nan


def p99(tool, files):
    text = "".join(open(f, errors="replace").read() for f in files)
    if tool == "wrk":  # --latency: "     99%    7.75ms"
        m = re.search(r"^\s*99%\s+(\S+)\s*$", text, re.M)
        return ms_of(m.group(1)) if m else math.nan
    if tool == "oha":  # --output-format json: latencyPercentiles.p99, seconds
        doc = json.loads(text[text.index("{"):])
        pct = doc.get("latencyPercentiles") or {}
        return float(pct["p99"]) * 1e3 if pct.get("p99") is not None else math.nan
    if tool == "goose":  # --report-file x.json: raw_response_metrics[], the Aggregated row
        try:
            doc = json.loads(text[text.index("{"):])
            # percentile_99_us from Goose 0.19.1 on; before, whole ms (0.19.0 writes a
            # sub-millisecond one as 0).
            for key, scale in (("percentile_99_us", 1e-3), ("percentile_99", 1.0)):
                found = list(find_key(doc, key))
                aggregated = [v for v, o in found if o.get("name") == "Aggregated"]
                if found:
                    return number((aggregated or [v for v, _ in found])[0]) * scale
        except ValueError:
            pass
        # Or its printed summary: "Aggregated | 50% | 75% | 98% | 99% | ..." (ms).
        m = re.search(r"^\s*Aggregated\s*\|(.+)$", text.split("Slowest page load")[-1], re.M)
        return number(m.group(1).split("|")[3]) if m else math.nan
    if tool == "locust":  # printed "Response time percentiles" table, Aggregated row (ms)
        part = text.split("Response time percentiles")[-1].splitlines()
        header = next((line for line in part if "99%" in line), "")
        cols = [c for c in header.split() if c.endswith("%")]
        row = next((line for line in part if line.split() and "Aggregated" in line), "")
        values = [c for c in row.split() if re.fullmatch(r"[\d.]+", c)]
        return float(values[cols.index("99%")]) if "99%" in cols and values else math.nan
    if tool in ("rcload", "rcload-exact", "rcload-service"):
        # summary.json: from the intended time, or (service) from the send
        doc = json.loads(text)
        key = "service_ms" if tool == "rcload-service" else "latency_ms"
        return float(doc["operations"]["terminal.status"][key]["p99"])
    raise SystemExit(f"unknown tool {tool}")


def lateness(summary_json, quantiles):
    """rcload's generator lateness (ms) at each quantile: from an action's intended time to
    its send."""
    figures = json.load(open(summary_json))["generator"]["lateness_ms"]
    return [float(figures[q]) for q in quantiles]


def window(run_json, warm, tail):
    info = json.load(open(run_json))
    steady = next(p for p in info["phases"] if p["name"] == "steady")
    t0 = info["started_at_unix_s"] + steady["start_s"] + float(warm)
    t1 = info["started_at_unix_s"] + steady["end_s"] - float(tail)
    print(f"{t0:.3f} {t1:.3f}")


def figures(row):
    """The figures of one run (one row of runs.csv)."""
    req = float(row["requests"])
    win = float(row["window_s"])
    cpu_s = float(row["cpu_ticks"]) / float(row["clk_tck"])
    growth_kb = float(row["rss_end_kb"]) - float(row["rss_start_kb"])
    return {
        "req_per_s": req / win if win > 0 else math.nan,
        "cpu_us_per_req": cpu_s / req * 1e6 if req > 0 else math.nan,
        "p99_ms": float(row["p99_ms"]),
        "peak_rss_mb": float(row["peak_rss_kb"]) / 1024,
        "rss_growth_b_per_req": growth_kb * 1024 / req if req > 0 else math.nan,
        "asked_per_s": float(row["asked_per_s"]) if row["asked_per_s"] else math.nan,
        # rcload's own (empty for the peers, and in runs.csv files written before it)
        "lateness_p99_ms": float(row.get("lateness_p99_ms") or "nan"),
    }


def spread(values):
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return math.nan, math.nan, math.nan
    return statistics.median(values), min(values), max(values)


def fmt(v, digits=1, k=False):
    if math.isnan(v):
        return "-"
    if k and abs(v) >= 1000:
        return f"{v / 1000:.{digits}f}k"
    return f"{v:,.{digits}f}"


def cell(s, digits=1, k=False):
    med, lo, hi = s
    if math.isnan(med):
        return "n/a"
    return f"{fmt(med, digits, k)} ({fmt(lo, digits, k)}-{fmt(hi, digits, k)})"


def mode_name(mode, asked):
    if mode == "fixed":
        return f"fixed {fmt(asked, 0)}/s"
    return "saturation" if math.isnan(asked) else f"saturation (asked {fmt(asked, 0)}/s)"


def table(runs_csv, md_path, csv_path):
    rows = list(csv.DictReader(open(runs_csv)))
    groups = {}
    for r in rows:
        groups.setdefault((r["tool"], r["mode"]), []).append(figures(r))
    keys = ["req_per_s", "cpu_us_per_req", "p99_ms", "peak_rss_mb", "rss_growth_b_per_req",
            "lateness_p99_ms"]
    stats = {g: {k: spread([f[k] for f in fs]) for k in keys} for g, fs in groups.items()}
    reps = {g: len(fs) for g, fs in groups.items()}
    asked = {g: fs[0]["asked_per_s"] for g, fs in groups.items()}

    def held(g):
        if g not in stats or math.isnan(asked[g]):
            return "n/a"
        med, lo, _ = stats[g]["req_per_s"]
        ok = lo >= 0.995 * asked[g]  # every repetition within 0.5 % of the rate asked
        return "yes" if ok else f"no: {fmt(med, 0)}/s for {fmt(asked[g], 0)}"

    out = []
    out.append("| tool | saturation req/s | CPU µs per request at saturation | at the fixed rate | "
               "holds the fixed rate | peak RSS (MB) | RSS growth (bytes per request) |")
    out.append("|---|---|---|---|---|---|---|")
    for t in TOOLS:
        s, f = (t, "saturation"), (t, "fixed")
        if s not in stats and f not in stats:
            continue
        pick = stats.get(s) or stats[f]
        out.append("| " + " | ".join([
            t,
            cell(stats[s]["req_per_s"], 1, True) if s in stats else "n/a",
            cell(stats[s]["cpu_us_per_req"]) if s in stats else "n/a",
            cell(stats[f]["cpu_us_per_req"]) if f in stats else "n/a",
            held(f),
            cell(pick["peak_rss_mb"]),
            cell(pick["rss_growth_b_per_req"], 2),
        ]) + " |")
    out.append("")
    out.append("Every figure, per tool and mode (median, and min-max over the repetitions):")
    out.append("")
    out.append("| tool | mode | reps | req/s at the server | CPU µs per request | "
               "p99 as the tool reports it (ms) | peak RSS (MB) | RSS growth (bytes per request) | "
               "rcload's generator lateness p99 (ms) |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    with open(csv_path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["tool", "mode", "reps", "asked_per_s"]
                   + [f"{k}_{s}" for k in keys for s in ("median", "min", "max")])
        for t in TOOLS:
            for m in MODES:
                g = (t, m)
                if g not in stats:
                    continue
                st = stats[g]
                out.append("| " + " | ".join([
                    t, mode_name(m, asked[g]), str(reps[g]),
                    cell(st["req_per_s"], 1, True), cell(st["cpu_us_per_req"]),
                    cell(st["p99_ms"], 2), cell(st["peak_rss_mb"]),
                    cell(st["rss_growth_b_per_req"], 2),
                    cell(st["lateness_p99_ms"], 3),
                ]) + " |")
                w.writerow([t, m, reps[g], "" if math.isnan(asked[g]) else asked[g]]
                           + [f"{v:.6g}" for k in keys for v in st[k]])
    text = "\n".join(out) + "\n"
    with open(md_path, "a") as fh:
        fh.write(text)
    print(text)


def true_quantile(rate, stall, period, q):
    """Requests arrive evenly at `rate`; the target stalls `stall` s every `period` s, and a
    request arriving a time t before a stall's end waits t. A share stall/period of the
    requests waits, uniformly between 0 and `stall`; the rest wait nothing. So P(wait > x) =
    (stall - x) / period for 0 <= x <= stall, and the q-quantile is the x where that equals
    1 - q: x = stall - (1 - q) * period, or 0 when 1 - q >= stall / period. The rate drops
    out (as long as the target, between stalls, keeps up)."""
    del rate
    x = stall - (1.0 - q) * period
    return max(x, 0.0) * 1e3


def co(co_csv, stall, period):
    rows = list(csv.DictReader(open(co_csv), delimiter="\t"))
    true = true_quantile(0, float(stall), float(period), 0.99)
    print(f"| tool | model | p99 the tool reports (ms) | true p99 (ms) |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r['tool']} | {r['model']} | {fmt(float(r['p99_ms']), 1)} | {fmt(true, 0)} |")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "p99":
        v = p99(args[0], args[1:])
        print("nan" if math.isnan(v) else f"{v:.3f}")
    elif cmd == "lateness":
        print(",".join(f"{v:.3f}" for v in lateness(args[0], args[1:] or ["p99"])))
    elif cmd == "window":
        window(*args)
    elif cmd == "table":
        table(*args)
    elif cmd == "true-p":
        print(f"{true_quantile(*map(float, args)):.1f}")
    elif cmd == "co":
        co(*args)
    else:
        raise SystemExit(__doc__)
