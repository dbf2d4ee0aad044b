"""Start the bundled reference server for a self-contained run.

The server runs in a child process (``python -m reference_server``) on a free loopback port
with a temporary data folder; the suite talks to it over HTTP exactly as to any target. The
suite never imports the server: the child process is the only link. With ``partitions`` it
runs with data partitions enabled (``--partitions``), as the profile claims; with ``auth`` it
refuses requests without the run's credentials (``--auth``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from conformance.core.errors import SuiteError

START_TIMEOUT = 30.0


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedServer:
    """A reference server child process; use as a context manager or call start/stop."""

    def __init__(
        self,
        api_version: str = "v2",
        *,
        max_part_bytes: int | None = None,
        partitions: bool = False,
        auth: tuple[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.api_version = api_version
        self.max_part_bytes = max_part_bytes
        self.partitions = partitions
        # (mode, secret variables): the secrets reach the child through its environment only,
        # never its command line, which any local user can read.
        self.auth = auth
        self._tmp = tempfile.TemporaryDirectory(prefix="dicomweb-conformance-")
        self.data_dir = Path(self._tmp.name) / "data"
        self.log_path = Path(self._tmp.name) / "server.log"
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/{self.api_version}" if self.api_version else self.root_url

    def start(self, timeout: float = START_TIMEOUT) -> str:
        self.port = free_loopback_port()
        command = [
            sys.executable,
            "-m",
            "reference_server",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--data",
            str(self.data_dir),
            "--log-level",
            "warning",
        ]
        if self.max_part_bytes is not None:
            command += ["--max-part-bytes", str(self.max_part_bytes)]
        if self.partitions:
            command.append("--partitions")
        env = dict(os.environ)
        if self.auth is not None:
            mode, secrets = self.auth
            command += ["--auth", mode]
            env.update(secrets)
        log = self.log_path.open("wb")
        self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise SuiteError(f"the embedded reference server exited at start-up:\n{self.log_tail()}")
            try:
                httpx.get(f"{self.root_url}/health/check", timeout=1.0)
                return self.base_url
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        raise SuiteError(f"the embedded reference server did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text("utf-8", errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        self._process = None
        self._tmp.cleanup()

    def __enter__(self) -> EmbeddedServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
