"""A reference server killed (SIGKILL) in the middle of an upload loses nothing it acknowledged,
shows no partial instance after a restart, and leaves no spill file behind.

Two moments: while the request body is still arriving (nothing of that request may be visible
afterwards), and while the instances of a large request are being validated and stored (each
instance visible afterwards is complete; if the answer arrived, all of them are there). The
server is a child process (``python -m reference_server``) restarted on the same data folder.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from conformance.embedded import free_loopback_port

from .dicom_factory import Instance, build, multipart, new_uid, related

STOW = {"Accept": "application/dicom+json", "Content-Type": related()}
JSON = {"Accept": "application/dicom+json"}
ANY = {"Accept": "application/dicom; transfer-syntax=*"}


class ServerProcess:
    """``python -m reference_server`` over ``data``; ``kill`` is SIGKILL, no shutdown of any kind."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.port = free_loopback_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "reference_server", "--port", str(self.port), "--data", str(data)]
        self.process = subprocess.Popen([*command, "--log-level", "warning"], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{self.url}/health/check", timeout=1)
                return
            except httpx.TransportError:
                assert self.process.poll() is None, "the reference server exited at start-up"
                assert time.monotonic() < deadline, "the reference server did not start"
                time.sleep(0.05)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


def store(url: str, *instances: Instance) -> httpx.Response:
    return httpx.post(f"{url}/v2/studies", content=multipart([i.data for i in instances]), headers=STOW, timeout=60)


def retrieved(url: str, instance: Instance) -> httpx.Response:
    path = f"/v2/studies/{instance.study}/series/{instance.series}/instances/{instance.sop}"
    return httpx.get(url + path, headers=ANY, timeout=30)


def visible_sops(url: str, study: str) -> set[str]:
    response = httpx.get(f"{url}/v2/studies/{study}/instances?limit=200", headers=JSON, timeout=30)
    return {item["00080018"]["Value"][0] for item in response.json()} if response.status_code == 200 else set()


def wait_for(condition: object, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.005)
    return False


def _spill_files(data: Path) -> list[Path]:
    folder = data / "tmp"
    return [p for p in folder.iterdir() if p.stat().st_size > 0] if folder.exists() else []


def test_killed_while_the_body_arrives(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = ServerProcess(data)
    try:
        kept = build(frames=2)
        assert store(server.url, kept).status_code == 200  # acknowledged
        study = new_uid()
        sent = [build(study=study, frames=1) for _ in range(3)]
        body = multipart([i.data for i in sent])
        killed = threading.Event()

        def slow_body() -> Iterator[bytes]:
            yield body[: len(body) // 2]
            killed.wait(30)  # the rest never comes: the server dies first
            yield body[len(body) // 2 :]

        def upload() -> None:
            try:
                httpx.post(f"{server.url}/v2/studies", content=slow_body(), headers=STOW, timeout=60)
            except httpx.TransportError:
                pass

        uploader = threading.Thread(target=upload)
        uploader.start()
        assert wait_for(lambda: bool(_spill_files(data))), "the upload never reached the server"
        server.kill()
        killed.set()
        uploader.join(timeout=60)
    finally:
        server.stop()
    restarted = ServerProcess(data)
    try:
        got = retrieved(restarted.url, kept)
        assert got.status_code == 200
        assert got.content == kept.data
        for instance in sent:
            assert retrieved(restarted.url, instance).status_code == 404
        assert visible_sops(restarted.url, study) == set()
        assert not list((data / "tmp").iterdir())  # the spill files of the killed upload are gone
        assert len(list((data / "objects").rglob("*.dcm"))) == 1
    finally:
        restarted.stop()


def test_killed_while_instances_are_stored(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = ServerProcess(data)
    study = new_uid()
    sent = [build(study=study, frames=1, rows=16, columns=16) for _ in range(200)]
    answer: list[httpx.Response] = []
    try:
        kept = build()
        assert store(server.url, kept).status_code == 200

        def upload() -> None:
            try:
                answer.append(store(server.url, *sent))
            except httpx.TransportError:
                pass

        uploader = threading.Thread(target=upload)
        uploader.start()
        assert wait_for(lambda: len(list((data / "objects").rglob("*.dcm"))) > 2), "nothing of the request was stored"
        server.kill()
        uploader.join(timeout=60)
    finally:
        server.stop()
    restarted = ServerProcess(data)
    try:
        assert retrieved(restarted.url, kept).content == kept.data
        visible = visible_sops(restarted.url, study)
        if answer and answer[0].status_code == 200:
            assert visible == {i.sop for i in sent}  # acknowledged: every one is there
        for instance in sent:
            got = retrieved(restarted.url, instance)
            if instance.sop in visible:
                assert got.status_code == 200
                assert got.content == instance.data  # complete, byte for byte
            else:
                assert got.status_code == 404  # not half there either
        assert not list((data / "tmp").iterdir())
        files = list((data / "objects").rglob("*.dcm"))
        assert len(files) >= len(visible) + 1
    finally:
        restarted.stop()
