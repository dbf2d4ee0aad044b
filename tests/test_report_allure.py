"""Allure results of conformance tests: labels (epic = service, feature = transaction, story =
behaviour ID), the request and response attached with secrets and patient fields masked, and
the run-level environment.properties and categories.json."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.conftest import FakeTarget, Handler

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

TOKEN = "allure-secret-token"
PATIENT = b'[{"00100010":{"vr":"PN","Value":[{"Alphabetic":"Doe^Jane"}]},"00100020":{"vr":"LO","Value":["PID-9"]}}]'


def _target(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
    if method == "GET" and path.endswith("/studies?limit=1"):
        return 204, {}, b""
    if method == "GET" and "/studies" in path:
        return 200, {"Content-Type": "application/dicom+json"}, PATIENT
    return 204, {}, b""


def test_labels_attachments_and_run_files(
    pytester: pytest.Pytester, fake_target: Callable[[Handler], FakeTarget], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = fake_target(_target)
    monkeypatch.setenv("DICOMWEB_TOKEN", TOKEN)
    pytester.makepyfile(
        """
        import pytest
        from conformance.checks import expect_status

        @pytest.mark.behavior("QIDO-22")
        def test_search(dicomweb):
            response = dicomweb.client.search_for_studies([("PatientName", "Doe*")])
            expect_status(response, 204, why="nothing matches")

        @pytest.mark.behavior("UPS-04")
        @pytest.mark.requires("workitems")
        def test_not_claimed(dicomweb):
            pass
        """
    )
    result = pytester.runpytest(
        "-p",
        "no:cacheprovider",
        "--dicomweb-url",
        target.url,
        "--dicomweb-profile",
        "generic",
        "--dicomweb-auth",
        "bearer",
        "--dicomweb-report-dir",
        "out",
        "--alluredir",
        "allure",
    )
    result.assert_outcomes(failed=1, skipped=1)
    folder = pytester.path / "allure"
    tests = {t["name"]: t for t in (json.loads(p.read_text()) for p in folder.glob("*-result.json"))}
    search = tests["test_search"]
    labels = {(label["name"], label["value"]) for label in search["labels"]}
    assert {("epic", "QIDO-RS"), ("feature", "Search for Studies"), ("story", "QIDO-22")} <= labels
    attachments = {a["name"]: (folder / a["source"]).read_text("utf-8") for a in search["attachments"]}
    assert set(attachments) >= {"request", "response"}
    assert attachments["request"].startswith("curl -X GET ")
    assert "PatientName=***" in attachments["request"]
    assert '-H "Authorization: Bearer $DICOMWEB_TOKEN"' in attachments["request"]
    assert "200 OK" in attachments["response"]
    everything = "\n".join(p.read_text("utf-8", errors="replace") for p in folder.iterdir())
    for private in (TOKEN, "Doe^Jane", "PID-9", "Doe*"):
        assert private not in everything, private
    skipped = {(label["name"], label["value"]) for label in tests["test_not_claimed"]["labels"]}
    assert {("epic", "UPS-RS"), ("story", "UPS-04")} <= skipped
    environment = (folder / "environment.properties").read_text("utf-8")
    assert f"target.url={target.url}" in environment
    assert "profile=generic DICOMweb server" in environment
    categories = json.loads((folder / "categories.json").read_text("utf-8"))
    assert categories[0]["name"] == "Not claimed by the profile"
    # the junit properties and the results carry the same masked evidence
    results = json.loads((pytester.path / "out" / "results.json").read_text("utf-8"))
    assert "Doe^Jane" not in json.dumps(results)
    assert results["behaviors"]["QIDO-22"]["status"] == "failed"


def test_no_allure_folder_without_alluredir(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("import pytest\n\n@pytest.mark.behavior('STOW-07')\ndef test_x():\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--dicomweb-report-dir", "out")
    result.assert_outcomes(passed=1)
    assert sorted(p.name for p in (pytester.path / "out").iterdir()) == [
        "conformance-statement.md",
        "report.html",
        "results.json",
        "summary.md",
    ]
    assert not (pytester.path / "allure").exists()
