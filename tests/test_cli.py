"""The ``dicomweb-conformance`` command: run (every output under the report folder, xdist
included), report, diff, baseline, detect."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from conformance.embedded import EmbeddedServer, free_loopback_port
from conformance.profile import Profile
from tests.test_report_samples import sample_results

SELECTION = "STOW-01,STOW-09,DEL-02"


def cli(cwd: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conformance", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def statuses(results: dict[str, Any]) -> dict[str, str]:
    return {bid: entry["status"] for bid, entry in results["behaviors"].items()}


@pytest.fixture(scope="module")
def embedded_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One run against the embedded reference server with every output."""
    folder = tmp_path_factory.mktemp("run")
    result = cli(folder, "run", "--behavior", SELECTION, "--report-dir", "reports")
    return folder / "reports", result


def test_run_writes_every_output(embedded_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    reports, result = embedded_run
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    names = {p.name for p in reports.iterdir()}
    assert names >= {"results.json", "junit.xml", "allure-results", "report.html", "summary.md"}
    assert "conformance-statement.md" in names
    results = json.loads((reports / "results.json").read_text("utf-8"))
    assert {statuses(results)[b] for b in SELECTION.split(",")} == {"passed"}
    assert results["selection"] == SELECTION.split(",")
    assert any(t["transaction"] == "Store Instances" for t in results["statement"]["transactions"])
    # progress and a summary by group on the terminal
    assert "[100%]" in result.stdout
    assert "STOW  STOW-RS (store)" in result.stdout
    assert "written: reports/report.html" in result.stdout


def test_run_junit_and_allure(embedded_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    reports, _ = embedded_run
    cases = ET.parse(reports / "junit.xml").getroot().iter("testcase")
    assert sum(1 for _ in cases) >= 5
    allure = reports / "allure-results"
    assert (allure / "environment.properties").read_text("utf-8").startswith("target.url=http://127.0.0.1:")
    categories = json.loads((allure / "categories.json").read_text("utf-8"))
    assert [c["matchedStatuses"] for c in categories][-2:] == [["failed"], ["broken"]]
    tests = [json.loads(p.read_text("utf-8")) for p in allure.glob("*-result.json")]
    stores = [t for t in tests if t["name"] == "test_all_stored_is_200_without_warnings"]
    assert len(stores) == 1
    labels = {(label["name"], label["value"]) for label in stores[0]["labels"]}
    assert {("epic", "STOW-RS"), ("feature", "Store Instances"), ("story", "STOW-09"), ("tag", "documented")} <= labels
    attached = {a["name"]: a["source"] for a in stores[0]["attachments"]}
    assert {"request", "response"} <= set(attached)  # plus "exchanges" when there are several
    assert (allure / attached["request"]).read_text("utf-8").startswith("curl -X ")
    deletes = [t for t in tests if {"name": "story", "value": "DEL-02"} in t["labels"]]
    assert deletes
    assert all({"name": "epic", "value": "Delete"} in t["labels"] for t in deletes)


def test_run_under_xdist_reports_the_same_results(tmp_path: Path) -> None:
    serial = cli(tmp_path, "run", "--behavior", "STOW,DEL", "--report-dir", "serial", "--no-allure", "-q")
    parallel = cli(
        tmp_path, "run", "--behavior", "STOW,DEL", "--report-dir", "parallel", "--no-allure", "-q", "-n", "2"
    )
    assert serial.returncode == parallel.returncode == 0, parallel.stdout[-3000:]
    one = json.loads((tmp_path / "serial" / "results.json").read_text("utf-8"))
    two = json.loads((tmp_path / "parallel" / "results.json").read_text("utf-8"))
    assert statuses(one) == statuses(two)
    assert sorted((t["nodeid"], t["outcome"]) for t in one["tests"]) == sorted(
        (t["nodeid"], t["outcome"]) for t in two["tests"]
    )
    assert one["summary"] == two["summary"]
    assert [t["transaction"] for t in one["statement"]["transactions"]] == [
        t["transaction"] for t in two["statement"]["transactions"]
    ]
    assert (tmp_path / "parallel" / "report.html").is_file()


def test_report_rebuilds_the_pages_and_can_apply_a_baseline(tmp_path: Path) -> None:
    source = tmp_path / "results.json"
    source.write_text(json.dumps(sample_results()), encoding="utf-8")
    result = cli(tmp_path, "report", str(source), "--out", "rebuilt")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "rebuilt").iterdir()) == [
        "conformance-statement.md",
        "report.html",
        "summary.md",
    ]
    assert "Behaviour matrix" in (tmp_path / "rebuilt" / "report.html").read_text("utf-8")
    (tmp_path / "known.toml").write_text('[deviations]\nWADO-18 = "ticket 1"\nSTOW-07 = "ticket 1"\n', "utf-8")
    result = cli(tmp_path, "report", str(source), "--out", "gated", "--baseline", "known.toml")
    assert result.returncode == 1  # DEL-02 errored: a harness error is never baselined
    gated = json.loads((tmp_path / "gated" / "results.json").read_text("utf-8"))
    assert gated["baseline"]["known"] == ["STOW-07", "WADO-18"]
    assert gated["behaviors"]["WADO-18"]["baselined"] == "ticket 1"
    assert cli(tmp_path, "report", str(tmp_path / "known.toml")).returncode != 0  # not a results file


def test_diff_and_baseline_commands(tmp_path: Path) -> None:
    old = sample_results()
    new = json.loads(json.dumps(old))
    new["behaviors"]["STOW-09"]["status"] = "failed"
    (tmp_path / "old.json").write_text(json.dumps(old), encoding="utf-8")
    (tmp_path / "new.json").write_text(json.dumps(new), encoding="utf-8")
    same = cli(tmp_path, "diff", "old.json", "old.json")
    assert same.returncode == 0
    assert "0 new failure(s), 0 fixed" in same.stdout
    worse = cli(tmp_path, "diff", "old.json", "new.json", "--json")
    assert worse.returncode == 1
    assert json.loads(worse.stdout)["new_failures"] == [{"behavior": "STOW-09", "before": "passed", "after": "failed"}]
    written = cli(tmp_path, "baseline", "new.json", "--out", "baseline.toml")
    assert written.returncode == 0
    assert "review every reason" in written.stderr
    assert set(tomllib.loads((tmp_path / "baseline.toml").read_text("utf-8"))["deviations"]) == {
        "STOW-07",
        "STOW-09",
        "WADO-18",
    }


def test_detect_writes_a_draft_profile_it_does_not_use(tmp_path: Path) -> None:
    with EmbeddedServer("v2") as server:
        result = cli(tmp_path, "detect", "--url", server.base_url, "--out", "draft.toml", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "DRAFT" in result.stdout
    assert "does not trust it" in result.stdout
    draft = tmp_path / "draft.toml"
    text = draft.read_text("utf-8")
    assert text.startswith("# DRAFT profile written by `dicomweb-conformance detect`")
    profile = Profile.load(str(draft))
    assert profile.api_version == "v2"
    assert profile.azure_compatible is True  # the reference server sends api-supported-versions
    claimed = {c.value for c in profile.capabilities}
    # What a harmless probe can see on the reference server; what needs stored data is left unclaimed.
    assert {"api_versioning", "openapi", "health_check", "delete", "change_feed", "extended_query_tags"} <= claimed
    assert not claimed & {"store_single_part", "rendered", "partitions"}
    assert profile.empty_search_status == 204
    assert profile.cleanup.value == "dicomweb"


def test_detect_on_an_unreachable_target_is_a_usage_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_loopback_port()}/v2"
    result = cli(tmp_path, "detect", "--url", url, "--out", "draft.toml", "--timeout", "2", timeout=60)
    assert result.returncode == 4
    assert "did not answer" in result.stderr
    assert not (tmp_path / "draft.toml").exists()


def test_secrets_are_never_command_line_options() -> None:
    from conformance.cli import build_parser

    text = build_parser().format_help()
    for command in ("run", "detect"):
        sub = build_parser().parse_known_args([command, "--url", "http://x/v2", "--out", "f"])[0]
        assert not any("token" in name or "password" in name for name in vars(sub)), command
    assert "detect" in text
    assert "diff" in text
