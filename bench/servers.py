"""Start a private reference server or Orthanc on loopback for a benchmark, and stop it.

Both run as child processes on free loopback ports with a temporary data folder that is
removed afterwards; nothing listens on any other address. Orthanc comes from Debian's
packages (``apt-get install orthanc orthanc-dicomweb``), configured as ``scripts/run-orthanc``
does (no DICOM port, no remote access, no authentication).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from conformance.embedded import free_loopback_port

ORTHANC = "/usr/sbin/Orthanc"
ORTHANC_PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"
START_SECONDS = 60


@dataclass(frozen=True)
class RunningServer:
    name: str
    url: str  # the DICOMweb base URL
    pid: int
    cleanup: str  # how dicomweb_bench removes what it stored
    version: str


def _wait_until_up(process: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited at start-up (status {process.returncode})")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer {url} within {START_SECONDS} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


@contextmanager
def reference_server(extra_args: tuple[str, ...] = ()) -> Iterator[RunningServer]:
    """``python -m reference_server`` (this interpreter) with a fresh data directory."""
    folder = Path(tempfile.mkdtemp(prefix="dwc-bench-ref-"))
    port = free_loopback_port()
    command = [sys.executable, "-m", "reference_server", "--port", str(port), "--data", str(folder / "data")]
    command += ["--log-level", "warning", *extra_args]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        _wait_until_up(process, f"http://127.0.0.1:{port}/health/check")
        yield RunningServer("reference", f"http://127.0.0.1:{port}/v2", process.pid, "dicomweb", "reference_server")
    finally:
        _stop(process)
        shutil.rmtree(folder, ignore_errors=True)


def orthanc_available() -> bool:
    return Path(ORTHANC).exists() and Path(ORTHANC_PLUGIN).exists()


@contextmanager
def orthanc() -> Iterator[RunningServer]:
    """Orthanc with its DICOMweb plugin, default storage settings (files plus SQLite index)."""
    folder = Path(tempfile.mkdtemp(prefix="dwc-bench-orthanc-"))
    http_port, dicom_port = free_loopback_port(), free_loopback_port()
    config = {
        "Name": "dicomweb-bench",
        "StorageDirectory": str(folder / "storage"),
        "IndexDirectory": str(folder / "storage"),
        "HttpPort": http_port,
        "HttpBindAddress": "127.0.0.1",
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "DicomServerEnabled": False,
        "DicomPort": dicom_port,
        "Plugins": [ORTHANC_PLUGIN],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
    }
    (folder / "orthanc.json").write_text(json.dumps(config))
    log = open(folder / "orthanc.log", "wb")
    process = subprocess.Popen([ORTHANC, str(folder / "orthanc.json")], stdout=log, stderr=subprocess.STDOUT)
    try:
        root = f"http://127.0.0.1:{http_port}"
        _wait_until_up(process, f"{root}/system")
        version = str(httpx.get(f"{root}/system", timeout=5).json().get("Version", "?"))
        yield RunningServer("orthanc", f"{root}/dicom-web", process.pid, "orthanc-rest", f"Orthanc {version}")
    finally:
        _stop(process)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def peak_rss_mb(pid: int) -> float:
    """The peak resident set size of a process so far (``VmHWM``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")
