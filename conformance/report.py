"""``ResultsWriter``: the per-behaviour results file of a run (``<report dir>/results.json``).

A plugin object in the manner of pytest's JUnit writer: registered on the controller only
(never on xdist workers), it reads each test report (the behaviour IDs and the failure
evidence travel in ``user_properties``) and writes once at the end of the session.

A behaviour's status: ``failed`` if any test carrying it failed, ``error`` if one errored
(a harness problem, not a verdict), ``passed`` if at least one passed and none failed,
``skipped`` (with the reason) if all its tests were skipped, ``not applicable`` when every skip
says the behaviour does not apply to the target (another API version), ``not run`` otherwise.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pytest

from conformance.ledger import CleanupOutcome
from conformance.registry import BehaviorRegistry
from conformance.settings import Settings

RESULTS_FILE = "results.json"


def suite_version() -> str:
    try:
        return version("dicomweb-conformance")
    except PackageNotFoundError:
        return "unknown"


@dataclass
class TestRecord:
    nodeid: str
    behaviors: list[str]
    outcome: str = "passed"
    reason: str | None = None
    failure: dict[str, Any] | None = None
    cleanup: dict[str, Any] | None = None
    duration: float = 0.0


@dataclass(eq=False)
class ResultsWriter:
    settings: Settings
    registry: BehaviorRegistry
    base_url: str | None = None
    cleanup: CleanupOutcome | None = None
    tests: dict[str, TestRecord] = field(default_factory=dict)
    started: float = field(default_factory=time.time)

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = dict(report.user_properties)
        ids = props.get("dicomweb_behaviors")
        if not ids:
            return
        record = self.tests.setdefault(report.nodeid, TestRecord(report.nodeid, str(ids).split(",")))
        record.duration += report.duration
        if "dicomweb_cleanup" in props:
            record.cleanup = json.loads(str(props["dicomweb_cleanup"]))
        if report.when == "call" or report.outcome != "passed":
            if report.skipped:
                record.outcome = "skipped"
                longrepr = report.longrepr
                record.reason = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
                record.reason = record.reason.removeprefix("Skipped: ")
            elif report.failed:
                if report.when == "call":
                    record.outcome = "failed"
                    failure = props.get("dicomweb_failure")
                    record.failure = json.loads(str(failure)) if failure else {"text": str(report.longrepr)[-4000:]}
                elif record.outcome != "failed":
                    record.outcome = "error"
                    record.failure = {"text": str(report.longrepr)[-4000:], "phase": report.when}

    def behavior_results(self) -> dict[str, dict[str, Any]]:
        by_id: dict[str, list[TestRecord]] = {}
        for record in self.tests.values():
            for behavior_id in record.behaviors:
                by_id.setdefault(behavior_id, []).append(record)
        results = {}
        for behavior in self.registry.checkable():
            records = by_id.get(behavior.id, [])
            outcomes = {r.outcome for r in records}
            if "failed" in outcomes:
                status = "failed"
            elif "error" in outcomes:
                status = "error"
            elif "passed" in outcomes:
                status = "passed"
            elif outcomes == {"skipped"}:
                reasons = [r.reason or "" for r in records]
                status = "not applicable" if all(x.startswith("not applicable") for x in reasons) else "skipped"
            else:
                status = "not run"
            entry: dict[str, Any] = {
                "title": behavior.title,
                "group": behavior.group,
                "level": behavior.level.value,
                "sources": list(behavior.sources),
                "status": status,
                "tests": [{"nodeid": r.nodeid, "outcome": r.outcome} for r in records],
            }
            if status in ("skipped", "not applicable"):
                entry["reason"] = next(r.reason for r in records if r.reason)
            failures = [r.failure for r in records if r.failure and r.outcome in ("failed", "error")]
            if failures:
                entry["failures"] = failures
            results[behavior.id] = entry
        return results

    def document(self) -> dict[str, Any]:
        behaviors = self.behavior_results()
        counts: dict[str, int] = {}
        for entry in behaviors.values():
            counts[entry["status"]] = counts.get(entry["status"], 0) + 1
        profile = self.settings.profile
        left = list(self.cleanup.left) if self.cleanup else []
        for record in self.tests.values():
            if record.cleanup:
                left += [x for x in record.cleanup.get("left", []) if x not in left]
        return {
            "suite": {"name": "dicomweb-conformance", "version": suite_version(), "python": platform.python_version()},
            "target": {
                "url": self.base_url or self.settings.url,
                "embedded": self.settings.embedded,
                "profile": profile.name,
                "profile_source": profile.source,
                "api_version": profile.api_version,
                "auth": self.settings.credentials.kind.value,
            },
            "started": datetime.fromtimestamp(self.started, UTC).isoformat(timespec="seconds"),
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "summary": counts,
            "behaviors": behaviors,
            "tests": [
                {
                    "nodeid": r.nodeid,
                    "behaviors": r.behaviors,
                    "outcome": r.outcome,
                    "reason": r.reason,
                    "duration_s": round(r.duration, 3),
                }
                for r in self.tests.values()
            ],
            "left_on_target": left,
            "cleanup_problems": list(self.cleanup.problems) if self.cleanup else [],
        }

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.tests:
            return
        folder = Path(self.settings.report_dir)
        folder.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.document(), indent=1, ensure_ascii=False)
        (folder / RESULTS_FILE).write_text(self.settings.scrub(text), encoding="utf-8")

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.tests:
            return
        doc_counts: dict[str, int] = {}
        for entry in self.behavior_results().values():
            doc_counts[entry["status"]] = doc_counts.get(entry["status"], 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in sorted(doc_counts.items()))
        terminalreporter.write_sep("-", "dicomweb conformance")
        terminalreporter.write_line(f"behaviours: {summary}")
        terminalreporter.write_line(f"results: {Path(self.settings.report_dir) / RESULTS_FILE}")
        left = self.cleanup.left if self.cleanup else []
        if left:
            terminalreporter.write_line(f"left on the target (could not delete): {len(left)}; see the results file")
