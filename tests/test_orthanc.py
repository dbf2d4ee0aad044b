"""The suite against a real third-party server: Orthanc with its DICOMweb plugin (Debian's
``orthanc`` and ``orthanc-dicomweb`` packages, which ``.ci/run`` installs), on loopback.

Orthanc deviates from some behaviours, so failures are expected. Checked here: the run reaches
its end without a single harness error and leaves nothing behind on the server; and, through
``scripts/run-orthanc``, every failure of the groups the Orthanc profile has been reviewed for
is one of the known deviations of ``reports/examples/orthanc-baseline.toml`` (each explained
there by the behaviour it breaks), and each listed deviation still occurs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conformance.embedded import free_loopback_port

PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
REPO = Path(__file__).resolve().parent.parent
REVIEWED_GROUPS = "GEN,STOW,DEL,WADO,QIDO"  # the groups the orthanc profile's [not_claimed] has been reviewed for


@pytest.fixture
def orthanc(tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("Orthanc")
    if binary is None or not PLUGIN.is_file():
        pytest.skip("Orthanc and its DICOMweb plugin are not installed (apt-get install orthanc orthanc-dicomweb)")
    port = free_loopback_port()
    storage = tmp_path / "orthanc-db"
    config = {
        "Name": "dicomweb-conformance-test",
        "StorageDirectory": str(storage),
        "IndexDirectory": str(storage),
        "HttpPort": port,
        "HttpBindAddress": "127.0.0.1",
        "DicomPort": free_loopback_port(),
        "DicomServerEnabled": False,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "Plugins": [str(PLUGIN)],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
    }
    config_path = tmp_path / "orthanc.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    log = (tmp_path / "orthanc.log").open("wb")
    process = subprocess.Popen([binary, str(config_path)], stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    root = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{root}/system", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail(f"Orthanc did not start: {(tmp_path / 'orthanc.log').read_text(errors='replace')[-2000:]}")
            time.sleep(0.1)
        yield root
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def test_suite_runs_to_the_end_against_orthanc(orthanc: str, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance",
            "run",
            "--url",
            f"{orthanc}/dicom-web",
            "--profile",
            "orthanc",
            "--report-dir",
            str(reports),
            "-q",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode in (0, 1), result.stdout[-4000:] + result.stderr[-2000:]
    results = json.loads((reports / "results.json").read_text("utf-8"))
    errors = [t["nodeid"] for t in results["tests"] if t["outcome"] == "error"]
    assert errors == [], errors
    assert results["summary"].get("passed", 0) > 0
    assert results["left_on_target"] == []
    assert results["cleanup_problems"] == []
    assert httpx.get(f"{orthanc}/studies", timeout=10).json() == [], "the suite left studies on Orthanc"


def test_orthanc_failures_are_its_known_deviations(tmp_path: Path) -> None:
    if shutil.which("Orthanc") is None or not PLUGIN.is_file():
        pytest.skip("Orthanc and its DICOMweb plugin are not installed (apt-get install orthanc orthanc-dicomweb)")
    reports = tmp_path / "reports"
    result = subprocess.run(
        [str(REPO / "scripts" / "run-orthanc"), "--report-dir", str(reports), "--behavior", REVIEWED_GROUPS]
        + ["--baseline", str(REPO / "reports" / "examples" / "orthanc-baseline.toml"), "--no-allure", "-q"],
        cwd=tmp_path,
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    results = json.loads((reports / "results.json").read_text("utf-8"))
    baseline = results["baseline"]
    assert baseline["new_failures"] == []
    assert baseline["errors"] == []
    assert baseline["stale"] == [], "a known deviation no longer occurs: update the baseline"
    failed = [bid for bid, entry in results["behaviors"].items() if entry["status"] == "failed"]
    assert failed
    assert all(results["behaviors"][bid]["baselined"] for bid in failed)
    assert results["left_on_target"] == []
    html = (reports / "report.html").read_text("utf-8")
    assert all(f'id="B-{bid}"' in html for bid in failed)
    assert "run-orthanc: Orthanc 1." in result.stdout
