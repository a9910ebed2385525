"""Prints one line of numbers from a schemathesis JSON run report (scripts/schemathesis.sh).

usage: schemathesis_summary.py NAME REPORT.json CHECK,CHECK,...
Exit status 1 when the report shows failures or errors, an unfinished run, or no test case.
"""

import json
import sys


def main() -> int:
    name, path, checks = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    try:
        with open(path, encoding="utf-8") as f:
            report = json.load(f)
    except (OSError, ValueError) as e:
        print(f"{name}: no report ({e})")
        return 1
    ops = report.get("operations") or {}
    cases = report.get("test_cases") or {}
    per_check = {check: 0 for check in checks}
    # Failure codes (`st explain CODE`) to the check that reports them.
    check_of = {
        "ST101": "not_a_server_error",
        "ST102": "not_a_server_error",
        "ST103": "status_code_conformance",
        "ST104": "content_type_conformance",
        "ST105": "content_type_conformance",
        "ST106": "content_type_conformance",
        "ST108": "response_schema_conformance",
        "ST109": "response_schema_conformance",
        "ST110": "response_schema_conformance",
        "ST111": "response_schema_conformance",
    }
    other = {}
    for group in report.get("failures") or []:
        key = check_of.get(group.get("code"), group.get("code") or group.get("title"))
        if key in per_check:
            per_check[key] += group.get("count", 0)
        else:
            other[f"{group.get('title')} [{key}]"] = group.get("count", 0)
    errors = sum(e.get("count", 0) for e in report.get("errors") or [])
    failures = ", ".join(f"{k} {v}" for k, v in per_check.items())
    extra = "".join(f", {k} {v}" for k, v in other.items())
    print(
        f"{name}: {ops.get('tested', 0)}/{ops.get('total', 0)} operations tested, "
        f"{cases.get('generated', 0)} test cases, "
        f"{cases.get('with_failures', 0)} with failures ({cases.get('unique_failures', 0)} unique); "
        f"failures: {failures}{extra}; errors {errors}"
    )
    bad = (
        not report.get("complete")
        or report.get("exit_code") != 0
        or cases.get("with_failures", 0) > 0
        or errors > 0
        or not cases.get("generated")
        or ops.get("tested", 0) == 0
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
