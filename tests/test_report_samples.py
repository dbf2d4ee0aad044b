"""The results writer fed with hand-made test reports, and the sample results document the
other report tests build on (``sample_results``): one behaviour passed, one failed with a
recorded exchange that quotes patient data and a secret, one errored, one skipped, one not
applicable, the rest not run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.client.exchange import Exchange, record_request, record_response
from conformance.profile import Profile
from conformance.registry import load_registry
from conformance.reporting.results import ResultsWriter
from conformance.reporting.transactions import summarize_all
from conformance.settings import AuthKind, Credentials, Secret, Settings

SECRET = "s3cr3t-token-value"
STUDY = "2.25.111"
SERIES = "2.25.222"
SOP = "2.25.333"


def metadata_exchange(patient_name: str = "Doe^Jane", patient_id: str = "PID-4711") -> Exchange:
    """A metadata retrieval whose answer names a patient, with a bearer token on the request."""
    url = f"http://target.test/v2/studies/{STUDY}/series/{SERIES}/instances/{SOP}/metadata?PatientID={patient_id}"
    request = httpx.Request(
        "GET", url, headers={"Accept": "application/dicom+json", "Authorization": f"Bearer {SECRET}"}
    )
    body = json.dumps(
        [
            {
                "00100010": {"vr": "PN", "Value": [{"Alphabetic": patient_name, "Ideographic": ""}]},
                "00100020": {"vr": "LO", "Value": [patient_id]},
                "0020000D": {"vr": "UI", "Value": [STUDY]},
            }
        ]
    ).encode()
    response = httpx.Response(200, headers={"Content-Type": "application/dicom+json"}, content=body, request=request)
    return Exchange(record_request(request, b""), record_response(response, 0.01))


def store_exchange() -> Exchange:
    request = httpx.Request(
        "POST",
        "http://target.test/v2/studies",
        headers={"Content-Type": 'multipart/related; type="application/dicom"; boundary=xyz', "Accept": "x"},
        content=b"--xyz--",
    )
    response = httpx.Response(200, headers={"Content-Type": "application/dicom+json"}, content=b"{}", request=request)
    return Exchange(record_request(request, b"--xyz--"), record_response(response, 0.01))


def report(
    nodeid: str, when: str, outcome: str, props: list[tuple[str, object]], longrepr: Any = None
) -> pytest.TestReport:
    return pytest.TestReport(
        nodeid=nodeid,
        location=("suite.py", 1, nodeid),
        keywords={},
        outcome=outcome,  # type: ignore[arg-type]
        longrepr=longrepr,
        when=when,  # type: ignore[arg-type]
        user_properties=props,
        duration=0.01,
    )


def sample_writer(*, report_dir: Path = Path("reports")) -> ResultsWriter:
    credentials = Credentials(AuthKind.BEARER, token=Secret(SECRET))
    settings = Settings(
        url="http://target.test/v2", profile=Profile.load("reference"), credentials=credentials, report_dir=report_dir
    )
    writer = ResultsWriter(settings, load_registry(), base_url="http://target.test/v2")
    evidence = metadata_exchange()
    failure = {
        "behavior": "WADO-18",
        "message": "the person name keeps its component groups",
        "expected": "[{'Alphabetic': 'Doe^Jane'}]",
        "received": f"<b>bold</b> [{{'Alphabetic': 'Doe^Jane', 'Ideographic': ''}}] with token {SECRET}",
        "exchange": evidence.to_json(),
        "text": "WADO-18 failure text",
    }
    passing = summarize_all([store_exchange()])
    feeds = [
        report("suite.py::test_store", "setup", "passed", [("dicomweb_behaviors", "STOW-09")]),
        report(
            "suite.py::test_store",
            "call",
            "passed",
            [("dicomweb_behaviors", "STOW-09"), ("dicomweb_exchanges", json.dumps(passing))],
        ),
        report(
            "suite.py::test_metadata",
            "call",
            "failed",
            [
                ("dicomweb_behaviors", "WADO-18,STOW-07"),
                ("dicomweb_failure", json.dumps(failure)),
                ("dicomweb_exchanges", json.dumps(summarize_all([evidence]))),
            ],
            longrepr="failed",
        ),
        report("suite.py::test_broken", "setup", "failed", [("dicomweb_behaviors", "DEL-02")], longrepr="boom"),
        report(
            "suite.py::test_ups",
            "setup",
            "skipped",
            [("dicomweb_behaviors", "UPS-04"), ("dicomweb_requires", "workitems")],
            longrepr=("suite.py", 1, "Skipped: not supported: profile 'x' does not claim capability 'workitems'"),
        ),
        report(
            "suite.py::test_v1",
            "setup",
            "skipped",
            [("dicomweb_behaviors", "VER-03")],
            longrepr=("suite.py", 1, "Skipped: not applicable: applies to API v1, target is v2"),
        ),
    ]
    for item in feeds:
        writer.pytest_runtest_logreport(item)
    return writer


def sample_results(**kwargs: Any) -> dict[str, Any]:
    return sample_writer(**kwargs).document()


def test_statuses_per_behavior() -> None:
    results = sample_results()
    statuses = {bid: e["status"] for bid, e in results["behaviors"].items()}
    assert statuses["STOW-09"] == "passed"
    assert statuses["WADO-18"] == statuses["STOW-07"] == "failed"
    assert statuses["DEL-02"] == "error"
    assert statuses["UPS-04"] == "skipped"
    assert results["behaviors"]["UPS-04"]["reason"].startswith("not supported:")
    assert statuses["VER-03"] == "not applicable"
    assert statuses["QIDO-01"] == "not run"
    assert results["summary"] == {
        "passed": 1,
        "failed": 2,
        "error": 1,
        "skipped": 1,
        "not applicable": 1,
        "not run": len(statuses) - 6,
    }
    failure = results["behaviors"]["WADO-18"]["failures"][0]
    assert failure["test"] == "suite.py::test_metadata"
    assert failure["exchange"]["request"]["curl"].startswith("curl -X GET 'http://target.test/v2/studies/")
    assert results["behaviors"]["DEL-02"]["failures"][0]["phase"] == "setup"
    assert results["behaviors"]["WADO-18"]["statement"]  # the rule travels with the results


def test_failure_evidence_is_masked_and_scrubbed() -> None:
    entry = sample_results()["behaviors"]["WADO-18"]
    text = json.dumps(entry)
    assert SECRET not in text
    assert "Doe^Jane" not in text
    assert "PID-4711" not in text
    received = entry["failures"][0]["received"]
    assert "'Alphabetic': '***'" in received
    assert "'Ideographic': ''" in received  # the empty group, the evidence of the failure, stays visible
    assert "PatientID=***" in entry["failures"][0]["exchange"]["request"]["curl"]


def test_results_document_describes_the_run() -> None:
    results = sample_results()
    assert results["target"]["url"] == "http://target.test/v2"
    assert results["target"]["auth"] == "bearer"
    assert "delete" in results["target"]["claims"]["capabilities"]
    assert results["suite"]["name"] == "dicomweb-conformance"
    assert results["started"] <= results["finished"]
    statement = results["statement"]
    assert {
        "service": "STOW-RS",
        "transaction": "Store Instances",
        "methods": ["POST"],
        "statuses": [200],
        "tests": 1,
    } in (statement["transactions"])
    # the failed test's exchanges prove nothing: its metadata retrieval is not listed
    assert all(t["service"] != "WADO-RS" for t in statement["transactions"])
    workitems = next(o for o in statement["options"] if o["option"] == "workitems")
    assert workitems["state"] == "claimed, not exercised"


def test_session_finish_writes_every_report(tmp_path: Path) -> None:
    writer = sample_writer(report_dir=tmp_path)

    class Session:
        exitstatus = pytest.ExitCode.TESTS_FAILED
        testsfailed = 2

    writer.pytest_sessionfinish(Session())  # type: ignore[arg-type]
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["conformance-statement.md", "report.html", "results.json", "summary.md"]
    for path in tmp_path.iterdir():
        assert SECRET not in path.read_text("utf-8"), path.name
    assert json.loads((tmp_path / "results.json").read_text("utf-8"))["behaviors"]["STOW-09"]["status"] == "passed"


def test_a_skipped_behavior_shows_its_own_reason() -> None:
    """GEN-04 is carried by a delete test (skipped: no delete) and by its own tests (skipped:
    not claimed); the reason shown is the one about GEN-04."""
    writer = sample_writer()
    for name, reason in [
        ("test_delete_invalid_uid", "not supported: profile 'x' does not claim capability 'delete'"),
        ("test_invalid_uid", "not claimed: GEN-04: the target does not check UIDs"),
    ]:
        writer.pytest_runtest_logreport(
            report(f"suite.py::{name}", "setup", "skipped", [("dicomweb_behaviors", "GEN-04")], ("s", 1, reason))
        )
    assert writer.document()["behaviors"]["GEN-04"]["reason"] == "not claimed: GEN-04: the target does not check UIDs"
