"""The README's main job, end to end: ``dicomweb-conformance run`` against the embedded server."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize("profile", ["reference", "reference-v1", "reference-partitions"])
def test_run_against_the_embedded_server_passes_and_writes_results(tmp_path: Path, profile: str) -> None:
    """The main job in each mode of the bundled server: API v2, API v1, and v2 with data
    partitions (the embedded server started with --partitions, the run in a partition of its own)."""
    reports = tmp_path / "reports"
    result = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--profile", profile, "--report-dir", str(reports), "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    results = json.loads((reports / "results.json").read_text("utf-8"))
    assert (reports / "junit.xml").is_file()
    assert results["target"]["embedded"] is True
    assert results["left_on_target"] == []
    assert results["cleanup_problems"] == []
    statuses = {b: e["status"] for b, e in results["behaviors"].items() if e["group"] in ("GEN", "STOW", "DEL")}
    assert "failed" not in statuses.values()
    assert "error" not in statuses.values()
    assert "not run" not in statuses.values(), [b for b, s in statuses.items() if s == "not run"]
    for behavior_id, entry in results["behaviors"].items():
        if entry["status"] == "skipped":
            assert entry["reason"].startswith("not supported: profile"), (behavior_id, entry["reason"])
    partitions = {b: e["status"] for b, e in results["behaviors"].items() if e["group"] == "PART"}
    if profile == "reference-partitions":
        assert re.search(r"/v2/partitions/dwc-[0-9a-f]{12}$", results["target"]["url"]), results["target"]["url"]
        assert {b for b, s in partitions.items() if s != "passed"} == set(), partitions
    else:
        # Without partitions the target refuses partition routes (PART-05, PART-09); the rest is skipped.
        assert partitions["PART-05"] == partitions["PART-09"] == "passed", partitions


def test_run_exits_non_zero_when_a_behavior_fails(tmp_path: Path) -> None:
    """A target that answers nothing correctly: the probe succeeds, every check fails."""
    from tests.conftest import FakeTarget

    def nonsense(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        return (204, {}, b"") if method == "GET" and "limit=1" in path else (418, {"Content-Type": "text/plain"}, b"?")

    with FakeTarget(nonsense) as target:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "conformance",
                "run",
                "--url",
                target.url,
                "--profile",
                "azure-v2",
                "--behavior",
                "DEL-02",
                "--report-dir",
                str(tmp_path / "r"),
                "-q",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    assert result.returncode == 1, result.stdout[-3000:]
    results = json.loads((tmp_path / "r" / "results.json").read_text("utf-8"))
    assert results["behaviors"]["DEL-02"]["status"] == "failed"
