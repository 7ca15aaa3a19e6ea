"""Read rcload's junit.xml with an independent JUnit reader (PyPI `junitparser`) and check it
against summary.json: one test case per SLO, failed exactly when the SLO failed, and one
failing case per phase with drops or disconnects. Exits 1 on any mismatch.

Usage: check_junit.py RUN_DIR
"""
import json
import sys

from junitparser import JUnitXml, Failure, Error


def main():
    run = sys.argv[1]
    summary = json.load(open(f"{run}/summary.json"))
    xml = JUnitXml.fromfile(f"{run}/junit.xml")
    cases = {}
    for suite in xml:
        for case in suite:
            failed = any(isinstance(r, (Failure, Error)) for r in case.result)
            cases[(case.classname, case.name)] = (failed, case)
    bad = 0
    for slo in summary["slo"]:
        key = ("slo", slo["name"])
        if key not in cases:
            print(f"MISSING case for SLO {slo['name']}")
            bad += 1
            continue
        failed, case = cases[key]
        if failed == slo["passed"]:
            print(f"WRONG {slo['name']}: junit failed={failed}, summary passed={slo['passed']}")
            bad += 1
        else:
            msg = case.result[0].message if failed else ""
            print(f"ok {slo['name']}: {'FAIL ' + msg if failed else 'pass'}")
    slo_cases = [k for k in cases if k[0] == "slo"]
    if len(slo_cases) != len(summary["slo"]):
        print(f"WRONG: {len(slo_cases)} SLO cases, {len(summary['slo'])} SLOs")
        bad += 1
    for name, phase in summary["phases"].items():
        found = phase["talkgroup_drops"] + phase["console_disconnects"]
        key = ("findings", f"phase {name}")
        if found and (key not in cases or not cases[key][0]):
            print(f"MISSING failing case for phase {name} ({found} findings)")
            bad += 1
        if not found and key in cases:
            print(f"WRONG: a findings case for phase {name}, which had none")
            bad += 1
    print(f"{len(cases)} cases, {bad} problems")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
