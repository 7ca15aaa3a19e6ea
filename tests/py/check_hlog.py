"""Read rcload's latency.hlog with an independent HdrHistogram implementation (PyPI
`hdrhistogram`), merge the intervals per tag, and compare count, p50, p99 and max with
summary.json. Prints one line per compared tag; exits 1 on any mismatch.

Usage: check_hlog.py RUN_DIR
"""
import json
import math
import sys

from hdrh.histogram import HdrHistogram


def merged_by_tag(path):
    merged = {}
    header = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#["):
                key = line[2:].split(":", 1)[0]
                header[key] = line
                continue
            if line.startswith("#") or line.startswith('"StartTimestamp"') or not line:
                continue
            tag = None
            if line.startswith("Tag="):
                tag, line = line[4:].split(",", 1)
            start, length, _max, encoded = line.split(",", 3)
            float(start), float(length)
            h = HdrHistogram.decode(encoded)
            if tag not in merged:
                # Wide enough for every interval's range (values are microseconds).
                merged[tag] = HdrHistogram(1, 10**12, 3)
            merged[tag].add(h)
    return header, merged


def value_at(h, q):
    """The value at quantile q with the rank rule rcload's HdrHistogram uses: the
    ceil(q * count)-th smallest value, as the highest value equivalent to it. (Implementations
    differ in rounding the rank; the Python one rounds half up.)"""
    rank = max(1, math.ceil(q * h.get_total_count()))
    seen = 0
    for item in h.get_recorded_iterator():
        seen += item.count_at_value_iterated_to
        if seen >= rank:
            return h.get_highest_equivalent_value(item.value_iterated_to)
    return h.get_max_value()


def close(a_us, b_ms):
    a_ms = a_us / 1000.0
    # The histogram keeps 3 significant digits; summary.json rounds to 1 µs.
    return abs(a_ms - b_ms) <= max(0.002, abs(b_ms) * 0.001)


def main():
    run = sys.argv[1]
    header, merged = merged_by_tag(f"{run}/latency.hlog")
    summary = json.load(open(f"{run}/summary.json"))
    bad = 0
    for needed in ("StartTime", "BaseTime"):
        if needed not in header:
            print(f"MISSING header #[{needed}: ...]")
            bad += 1
    compared = 0
    checks = []
    for name, op in summary["operations"].items():
        checks.append((name, op["count"], op["latency_ms"]))
        checks.append((f"service.{name}", op["count"], op["service_ms"]))
    for name, d in summary["deliveries"].items():
        checks.append((f"delivery.{name}", d["delivered"], d["latency_ms"]))
    for tag, count, lat in checks:
        h = merged.get(tag)
        got = h.get_total_count() if h else 0
        if got != count:
            print(f"MISMATCH {tag}: count {got} in the log, {count} in summary.json")
            bad += 1
            continue
        if count == 0:
            continue
        compared += 1
        for stat, q in (("p50", 0.5), ("p99", 0.99)):
            v = value_at(h, q)
            if not close(v, lat[stat]):
                print(f"MISMATCH {tag} {stat}: {v / 1000:.3f} ms in the log, {lat[stat]} in summary.json")
                bad += 1
        if not close(h.get_max_value(), lat["max"]):
            print(f"MISMATCH {tag} max: {h.get_max_value() / 1000:.3f} ms, {lat['max']} in summary.json")
            bad += 1
        print(f"ok {tag}: count {count}, p50 {lat['p50']} ms, p99 {lat['p99']} ms, max {lat['max']} ms")
    if "generator.lateness" not in merged:
        print("MISSING tag generator.lateness")
        bad += 1
    print(f"{compared} tags compared, {bad} mismatches")
    sys.exit(1 if bad or compared == 0 else 0)


if __name__ == "__main__":
    main()
