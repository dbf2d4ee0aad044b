"""Counts of a results document by group and by requirement level, shared by the HTML and
Markdown reports, and the run's verdict in one line."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

STATUS_ORDER = ("passed", "failed", "error", "skipped", "not applicable", "not evaluated", "not run")
LEVELS = {
    "documented": "stated in the service's documents or the DICOM standard",
    "azure-compatible": "known only from the Azure implementation",
}


def counts_by(results: Mapping[str, Any], key: str) -> dict[str, dict[str, int]]:
    """``{group or level: {status: n}}`` in the order the keys first appear."""
    table: dict[str, dict[str, int]] = {}
    for entry in results.get("behaviors", {}).values():
        row = table.setdefault(str(entry.get(key)), dict.fromkeys(STATUS_ORDER, 0))
        row[str(entry["status"])] = row.get(str(entry["status"]), 0) + 1
    return table


def failed_ids(results: Mapping[str, Any]) -> list[str]:
    return [bid for bid, e in results.get("behaviors", {}).items() if e["status"] in ("failed", "error")]


def verdict(results: Mapping[str, Any]) -> tuple[bool, str]:
    """(passed, one-line verdict) of a run, taking a baseline into account."""
    failed = failed_ids(results)
    baseline = results.get("baseline")
    if baseline:
        known, new = len(baseline["known"]), len(baseline["new_failures"]) + len(baseline["errors"])
        stale = len(baseline["stale"])
        text = f"{new} new failure(s), {known} known deviation(s) (baselined), {stale} stale baseline entr" + (
            "y" if stale == 1 else "ies"
        )
        return bool(baseline["passed"]), ("PASSED: " if baseline["passed"] else "FAILED: ") + text
    if failed:
        return False, f"FAILED: {len(failed)} behaviour(s) failed or errored"
    passed = results.get("summary", {}).get("passed", 0)
    return True, f"PASSED: {passed} behaviour(s) passed, none failed"


def group_title(results: Mapping[str, Any], group: str) -> str:
    return str(results.get("groups", {}).get(group, group))
