"""``ResultsWriter``: the per-behaviour results of a run and every report built from them.

A plugin object in the manner of pytest's JUnit writer: registered on the controller only
(never on xdist workers), it reads each test report (the behaviour IDs, the failure evidence,
a summary of the test's exchanges and the capabilities it required travel in
``user_properties``) and, once at the end of the session, writes ``results.json`` and the
reports derived from it (``report.html``, ``summary.md``, ``conformance-statement.md``; see
``conformance.reporting.outputs``), applies the baseline, and prints a summary by group.

A behaviour's status: ``failed`` if any test carrying it failed, ``error`` if one errored
(a harness problem, not a verdict), ``passed`` if at least one passed and none failed,
``skipped`` (with the reason) if all its tests were skipped, ``not applicable`` when every skip
says the behaviour does not apply to the target (another API version), ``not run`` otherwise.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pytest

from conformance.ledger import CleanupOutcome
from conformance.registry import GROUPS, BehaviorRegistry
from conformance.reporting.baseline import Baseline, BaselineVerdict, evaluate
from conformance.reporting.masking import mask_evidence
from conformance.reporting.statement import draft_statement
from conformance.settings import Settings

RESULTS_FILE = "results.json"
STATUSES = ("passed", "failed", "error", "skipped", "not applicable", "not evaluated", "not run")


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
    exchanges: list[dict[str, Any]] = field(default_factory=list)
    requires: list[str] = field(default_factory=list)
    failed_reports: int = 0

    @property
    def failed_behavior(self) -> str | None:
        """The one behaviour the test's failure speaks for, when a check named it (see
        ``conformance.checks.checking``); None when the failure concerns every ID of the test."""
        if self.outcome != "failed":
            return None
        attributed = (self.failure or {}).get("attributed")
        return str(attributed) if attributed else None

    def outcome_for(self, behavior_id: str) -> str:
        """This test's outcome as evidence about ``behavior_id``: a test whose failure was
        attributed to another of its behaviours stopped before checking this one."""
        if self.outcome == "failed" and self.failed_behavior not in (None, behavior_id):
            return "not evaluated"
        return self.outcome


def _main_reason(behavior_id: str, reasons: list[str]) -> str:
    """The skip reason that speaks of the behaviour itself (its own ``not claimed`` entry)
    rather than of another behaviour or capability the same test needed."""
    own = [r for r in reasons if behavior_id in r]
    return (own or reasons)[0]


def _longrepr_text(report: pytest.TestReport) -> str:
    return str(report.longrepr)[-4000:]


@dataclass(eq=False)
class ResultsWriter:
    settings: Settings
    registry: BehaviorRegistry
    base_url: str | None = None
    cleanup: CleanupOutcome | None = None
    tests: dict[str, TestRecord] = field(default_factory=dict)
    started: float = field(default_factory=time.time)
    baseline: Baseline | None = None
    strict_baseline: bool = False
    alluredir: str | None = None
    verdict: BaselineVerdict | None = None
    written: list[Path] = field(default_factory=list)

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
        if "dicomweb_exchanges" in props:
            record.exchanges = json.loads(str(props["dicomweb_exchanges"]))
        if props.get("dicomweb_requires"):
            record.requires = str(props["dicomweb_requires"]).split(",")
        if report.failed and report.when == "call":
            record.failed_reports += 1
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
                    record.failure = json.loads(str(failure)) if failure else {"text": _longrepr_text(report)}
                elif record.outcome != "failed":
                    record.outcome = "error"
                    record.failure = {"text": _longrepr_text(report), "phase": report.when}

    def behavior_results(self) -> dict[str, dict[str, Any]]:
        by_id: dict[str, list[TestRecord]] = {}
        for record in self.tests.values():
            for behavior_id in record.behaviors:
                by_id.setdefault(behavior_id, []).append(record)
        results = {}
        for behavior in self.registry.checkable():
            records = by_id.get(behavior.id, [])
            outcomes = {r.outcome_for(behavior.id) for r in records}
            if "failed" in outcomes:
                status = "failed"
            elif "error" in outcomes:
                status = "error"
            elif "passed" in outcomes:
                status = "passed"
            elif outcomes == {"skipped"}:
                reasons = [r.reason or "" for r in records]
                status = "not applicable" if all(x.startswith("not applicable") for x in reasons) else "skipped"
            elif "not evaluated" in outcomes:
                status = "not evaluated"
            else:
                status = "not run"
            entry: dict[str, Any] = {
                "title": behavior.title,
                "group": behavior.group,
                "level": behavior.level.value,
                "sources": list(behavior.sources),
                "statement": behavior.statement,
                "status": status,
                "tests": [{"nodeid": r.nodeid, "outcome": r.outcome_for(behavior.id)} for r in records],
            }
            if status in ("skipped", "not applicable"):
                entry["reason"] = _main_reason(behavior.id, [r.reason for r in records if r.reason])
            if status == "not evaluated":
                stopped = sorted({f"{r.nodeid} failed on {r.failed_behavior}" for r in records if r.failed_behavior})
                entry["reason"] = "every test that checks it stopped at an earlier failure: " + "; ".join(stopped)
            failures = [
                {**r.failure, "test": r.nodeid}
                for r in records
                if r.failure and r.outcome_for(behavior.id) in ("failed", "error")
            ]
            if failures:
                entry["failures"] = mask_evidence(failures, self.settings.scrub)
            results[behavior.id] = entry
        return results

    def claims(self) -> dict[str, Any]:
        """What the profile claims, as the reports show it."""
        profile = self.settings.profile
        return {
            "capabilities": sorted(c.value for c in profile.capabilities),
            "transcode_to": list(profile.transcode_to),
            "versions_served": list(profile.versions_served),
            "azure_compatible": profile.azure_compatible,
            "empty_search_status": profile.empty_search_status,
            "limits": asdict(profile.limits),
            "ambiguities": {k: v.value for k, v in profile.ambiguities.items()},
            "not_claimed": dict(profile.not_claimed),
            "cleanup": profile.cleanup.value,
        }

    def document(self) -> dict[str, Any]:
        behaviors = self.behavior_results()
        counts = {s: n for s in STATUSES if (n := sum(1 for e in behaviors.values() if e["status"] == s))}
        profile = self.settings.profile
        left = list(self.cleanup.left) if self.cleanup else []
        for record in self.tests.values():
            if record.cleanup:
                left += [x for x in record.cleanup.get("left", []) if x not in left]
        claims = self.claims()
        tests = [
            {
                "nodeid": r.nodeid,
                "behaviors": r.behaviors,
                "outcome": r.outcome,
                "reason": r.reason,
                "duration_s": round(r.duration, 3),
            }
            for r in self.tests.values()
        ]
        finished = time.time()
        document: dict[str, Any] = {
            "suite": {"name": "dicomweb-conformance", "version": suite_version(), "python": platform.python_version()},
            "target": {
                "url": self.base_url or self.settings.url,
                "embedded": self.settings.embedded,
                "profile": profile.name,
                "profile_source": profile.source,
                "profile_description": profile.description,
                "api_version": profile.api_version,
                "auth": self.settings.credentials.kind.value,
                "claims": claims,
            },
            "started": datetime.fromtimestamp(self.started, UTC).isoformat(timespec="seconds"),
            "finished": datetime.fromtimestamp(finished, UTC).isoformat(timespec="seconds"),
            "duration_s": round(finished - self.started, 1),
            "selection": list(self.settings.selection),
            "summary": counts,
            "groups": GROUPS,
            "behaviors": behaviors,
            "tests": tests,
            "statement": draft_statement(
                [{"outcome": r.outcome, "exchanges": r.exchanges, "requires": r.requires} for r in self.tests.values()],
                claims,
            ),
            "left_on_target": left,
            "cleanup_problems": list(self.cleanup.problems) if self.cleanup else [],
        }
        if self.baseline is not None:
            self.verdict = evaluate(self.baseline, behaviors, strict=self.strict_baseline)
            document["baseline"] = self.verdict.to_json()
            for behavior_id, reason in self.baseline.deviations.items():
                behaviors[behavior_id]["baselined"] = reason
        return document

    def _gate(self, session: pytest.Session) -> None:
        """Apply the baseline to the exit status: only new failures (and harness errors) fail."""
        verdict = self.verdict
        if verdict is None or self.baseline is None:
            return
        known = set(self.baseline.deviations)
        covered = sum(
            r.failed_reports
            for r in self.tests.values()
            if r.outcome == "failed" and ({r.failed_behavior} if r.failed_behavior else set(r.behaviors)) <= known
        )
        if verdict.passed and session.exitstatus == pytest.ExitCode.TESTS_FAILED and session.testsfailed <= covered:
            session.exitstatus = pytest.ExitCode.OK
        elif not verdict.passed and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.tests:
            return
        from conformance.reporting.outputs import write_allure_extras, write_reports

        document = self.document()
        self._gate(session)
        self.written = write_reports(document, Path(self.settings.report_dir), scrub=self.settings.scrub)
        if self.alluredir:
            write_allure_extras(document, Path(self.alluredir), scrub=self.settings.scrub)

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.tests:
            return
        behaviors = self.behavior_results()
        write = terminalreporter.write_line
        terminalreporter.write_sep("-", "dicomweb conformance")
        for group, title in GROUPS.items():
            entries = [e for e in behaviors.values() if e["group"] == group]
            counts = {s: sum(1 for e in entries if e["status"] == s) for s in STATUSES}
            if not entries or counts["not run"] == len(entries):
                continue
            shown = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
            write(f"{group:5} {title:28} {shown}")
        total = {s: sum(1 for e in behaviors.values() if e["status"] == s) for s in STATUSES}
        write("behaviours: " + ", ".join(f"{n} {s}" for s, n in total.items() if n))
        failed = [bid for bid, e in behaviors.items() if e["status"] in ("failed", "error")]
        if failed:
            write(f"failed: {', '.join(failed)}")
        if self.verdict is not None:
            for line in self.verdict.lines():
                write(line)
        for path in self.written or [Path(self.settings.report_dir) / RESULTS_FILE]:
            write(f"written: {path}")
        left = self.cleanup.left if self.cleanup else []
        if left:
            write(f"left on the target (could not delete): {len(left)}; see the results file")
