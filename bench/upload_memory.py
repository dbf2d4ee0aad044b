#!/usr/bin/env python3
"""Peak memory of the reference server while it stores a large study (default 1 GiB).

Starts ``python -m reference_server`` on a free loopback port with a temporary data folder,
streams one STOW-RS request of ``--gigabytes`` of instances to it (the client generates the
body chunk by chunk, so neither side needs the whole request in memory), and prints JSON with
the server's peak resident set size (``VmHWM`` from ``/proc``), the status, and the
throughput. A figure, not an assertion: the target is a peak that does not grow with the
request size (issue: under 200 MB for a 1 GiB study).

    python bench/upload_memory.py --gigabytes 1 --instance-megabytes 16
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.dicomweb_bench import fixed_uid, make_template
from conformance.core.multipart import new_boundary
from conformance.embedded import free_loopback_port


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def current_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def body(count: int, rows: int, columns: int, boundary: str, study: str) -> Iterator[bytes]:
    template = make_template(rows, columns)
    series = fixed_uid()
    for _ in range(count):
        data = template.render(
            {
                "study": study,
                "series": series,
                "sop": fixed_uid(),
                "patient_id": "PID-00000001",
                "patient_name": "Memory^P000001",
                "modality": "OT",
                "accession": "ACC000001",
            }
        )
        yield f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode()
        yield data
        yield b"\r\n"
    yield f"--{boundary}--\r\n".encode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gigabytes", type=float, default=1.0)
    parser.add_argument("--instance-megabytes", type=int, default=16)
    args = parser.parse_args(argv)
    side = int((args.instance_megabytes * 1024 * 1024) ** 0.5)
    count = max(1, int(args.gigabytes * 1024**3 // (side * side)))
    with tempfile.TemporaryDirectory(prefix="dwc-memory-") as tmp:
        port = free_loopback_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "reference_server",
                "--port",
                str(port),
                "--data",
                f"{tmp}/data",
                "--log-level",
                "warning",
                "--max-part-bytes",
                str(side * side + 1024 * 1024),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/health/check", timeout=1)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise SystemExit("the reference server did not start") from None
                    time.sleep(0.1)
            idle = current_rss_mb(server.pid)
            samples: list[float] = []
            stop = threading.Event()

            def sample() -> None:
                while not stop.is_set():
                    samples.append(current_rss_mb(server.pid))
                    time.sleep(0.2)

            threading.Thread(target=sample, daemon=True).start()
            boundary = new_boundary()
            study = fixed_uid()
            started = time.perf_counter()
            response = httpx.post(
                f"http://127.0.0.1:{port}/v2/studies",
                content=body(count, side, side, boundary, study),
                headers={
                    "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
                    "Accept": "application/dicom+json",
                },
                timeout=3600,
            )
            elapsed = time.perf_counter() - started
            stop.set()
            sent = count * side * side / 1e6
            print(
                json.dumps(
                    {
                        "instances": count,
                        "instance_bytes": side * side,
                        "request_megabytes": round(sent, 1),
                        "status": response.status_code,
                        "seconds": round(elapsed, 2),
                        "mb_per_s": round(sent / elapsed, 1),
                        "server_rss_idle_mb": round(idle, 1),
                        "server_rss_peak_mb": round(peak_rss_mb(server.pid), 1),
                        "server_rss_max_sampled_mb": round(max(samples or [idle]), 1),
                    },
                    indent=1,
                )
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
