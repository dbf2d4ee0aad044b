"""The suite under pytest-xdist (``-n 2``): every test runs once on some worker, the results file
on the controller is complete, and cleanup is accounted for as in a serial run.

Each worker opens its own target session (its own embedded reference server when no URL is
given); the controller writes results.json from the workers' reports, and each worker sends its
session's cleanup outcome (``conformance.plugin.pytest_testnodedown``) so that what could not be
deleted is reported whichever worker met it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FakeTarget, Handler

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def run_suite(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    reports = tmp_path / "reports"
    command = [sys.executable, "-m", "pytest", "--pyargs", "conformance.suites", "-p", "no:cacheprovider", "-q"]
    done = subprocess.run(
        [*command, "--dicomweb-report-dir", str(reports), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    results = json.loads((reports / "results.json").read_text("utf-8"))
    return done, results


def collected(tmp_path: Path) -> set[str]:
    command = [sys.executable, "-m", "pytest", "--pyargs", "conformance.suites", "-p", "no:cacheprovider"]
    done = subprocess.run(
        [*command, "--collect-only", "-q"], cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:]
    return {line for line in done.stdout.splitlines() if "::" in line}


def test_the_whole_suite_passes_under_two_workers(tmp_path: Path) -> None:
    done, results = run_suite(tmp_path, "-n", "2")
    assert done.returncode == 0, done.stdout[-5000:]
    outcomes = [(t["nodeid"], t["outcome"]) for t in results["tests"]]
    node_ids = [node_id for node_id, _ in outcomes]
    assert len(node_ids) == len(set(node_ids)), "a test was reported twice"
    # Every collected test is in the controller's results file, whichever worker ran it.
    assert {n.split("::", 1)[1] for n in node_ids} == {n.split("::", 1)[1] for n in collected(tmp_path)}
    assert not [t for t in outcomes if t[1] not in ("passed", "skipped")]
    assert results["left_on_target"] == []
    assert results["cleanup_problems"] == []
    assert str(results["target"]["url"]).startswith("http://127.0.0.1:")


STORING_TESTS = """
import pytest

@pytest.mark.behavior("STOW-07")
@pytest.mark.parametrize("n", range(4))
def test_store(dicomweb, n):
    assert dicomweb.client.store_instances([dicomweb.instances.instance()]).status == 200
"""


def refusing_deletes(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
    """A target that stores anything and refuses every DELETE: all cleanup is left and reported
    (the reference profile's cleanup method is DICOMweb DELETE)."""
    if method == "DELETE":
        return 500, {"Content-Type": "text/plain"}, b"no"
    if method == "POST":
        return 200, {"Content-Type": "application/dicom+json"}, b"{}"
    return 204, {}, b""


def results_of(pytester: pytest.Pytester, url: str, *args: str) -> dict[str, Any]:
    report_dir = pytester.path / f"reports{len(args)}"
    options = ["--dicomweb-url", url, "--dicomweb-profile", "reference", "--dicomweb-report-dir", str(report_dir)]
    pytester.runpytest_subprocess("-p", "no:cacheprovider", *options, *args)
    document: dict[str, Any] = json.loads((report_dir / "results.json").read_text("utf-8"))
    return document


def test_cleanup_left_on_a_worker_is_reported_as_in_a_serial_run(
    pytester: pytest.Pytester, fake_target: Callable[[Handler], FakeTarget]
) -> None:
    target = fake_target(refusing_deletes)
    pytester.makepyfile(STORING_TESTS)
    serial = results_of(pytester, target.url)
    parallel = results_of(pytester, target.url, "-n", "2")
    assert len(serial["left_on_target"]) == 4
    assert len(serial["cleanup_problems"]) == 4
    # The study UIDs differ between runs; the count and the wording of each entry do not.
    assert len(parallel["left_on_target"]) == len(serial["left_on_target"])
    assert len(parallel["cleanup_problems"]) == len(serial["cleanup_problems"])
    assert all("DELETE answered 500" in problem for problem in parallel["cleanup_problems"])
    assert parallel["target"]["url"] == serial["target"]["url"] == target.url
    assert [t["outcome"] for t in parallel["tests"]] == ["passed"] * 4
