"""The suite against a real third-party server: Orthanc with its DICOMweb plugin (Debian's
``orthanc`` and ``orthanc-dicomweb`` packages, which ``.ci/run`` installs), on loopback.

Orthanc deviates from many behaviours of the catalogue, so failures are expected; what is
checked is that the run reaches its end without a single harness error and leaves nothing
behind on the server.
"""

from __future__ import annotations

import json
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
