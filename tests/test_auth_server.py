"""The reference server's ``--auth`` option as a process: secrets only from the environment, never
in its log, and no start without a choice on an address other machines can reach."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conformance.embedded import free_loopback_port

PASSWORD = "pw-9c41e07d"
TOKEN = "tok-0b5d7a1e"


def _start(tmp_path: Path, *args: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_loopback_port()
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "reference_server", "--port", str(port), "--data", str(tmp_path / "data"), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{url}/health/check", timeout=1)
            return process, url, log
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(log.read_text(errors="replace")) from None
            time.sleep(0.05)


@pytest.fixture
def basic_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    env = {"DICOMWEB_SERVER_USER": "reader", "DICOMWEB_SERVER_PASSWORD": PASSWORD}
    process, url, log = _start(tmp_path, "--auth", "basic", "--log-level", "debug", env=env)
    try:
        yield url, log
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_secrets_never_reach_the_log(basic_server: tuple[str, Path]) -> None:
    url, log = basic_server
    guesses = ["guess-a1b2c3", "guess-d4e5f6"]
    good = "Basic " + base64.b64encode(f"reader:{PASSWORD}".encode()).decode()
    for guess in guesses:
        wrong = "Basic " + base64.b64encode(f"reader:{guess}".encode()).decode()
        assert httpx.get(f"{url}/v2/studies", headers={"Authorization": wrong}).status_code == 401
    assert httpx.get(f"{url}/v2/studies", headers={"Authorization": f"Bearer {guesses[0]}"}).status_code == 401
    answer = httpx.get(f"{url}/v2/studies", headers={"Authorization": good, "Accept": "application/dicom+json"})
    assert answer.status_code == 204
    time.sleep(0.2)  # let the log be written
    text = log.read_text(errors="replace")
    assert "refused GET /v2/studies: wrong credentials" in text  # the refusals are logged ...
    for secret in [PASSWORD, good.split()[1], *guesses]:  # ... without any credential
        assert secret not in text
        assert base64.b64encode(secret.encode()).decode() not in text


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--auth", "basic"], {}, "DICOMWEB_SERVER_USER and DICOMWEB_SERVER_PASSWORD"),
        (["--auth", "bearer"], {}, "DICOMWEB_SERVER_TOKEN"),
        (["--host", "0.0.0.0"], {}, "choose --auth basic or bearer"),
        (["--auth", "basic", "--password", PASSWORD], {}, "unrecognized arguments"),
    ],
    ids=["basic-without-secrets", "bearer-without-token", "public-address-without-choice", "password-option"],
)
def test_refuses_to_start_without_safe_settings(
    tmp_path: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DICOMWEB_SERVER_")}
    result = subprocess.run(
        [sys.executable, "-m", "reference_server", "--data", str(tmp_path / "data"), *args],
        capture_output=True,
        env={**clean, **env},
        timeout=60,
    )
    assert result.returncode == 2
    assert message in result.stderr.decode()


def test_bearer_from_the_environment(tmp_path: Path) -> None:
    process, url, _ = _start(tmp_path, "--auth", "bearer", env={"DICOMWEB_SERVER_TOKEN": TOKEN})
    try:
        headers = {"Accept": "application/dicom+json"}
        assert httpx.get(f"{url}/v2/studies", headers=headers).status_code == 401
        assert (
            httpx.get(f"{url}/v2/studies", headers={**headers, "Authorization": f"Bearer {TOKEN}"}).status_code == 204
        )
        assert httpx.get(f"{url}/health/check").status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=20)
