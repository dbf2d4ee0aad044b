"""Concurrent STOW of the same instances from several clients (STOW-23): each instance is stored
once (one 200, every other request for it 409 with FailureReason 45070), and afterwards the
index and the files agree: every instance retrievable byte for byte, found once by a search,
one file per instance, no spill file left.

The server runs in a thread with uvicorn and is reached over real HTTP connections, one client
thread each, all released together by a barrier.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pydicom
import pytest
import uvicorn

from conformance.embedded import free_loopback_port
from reference_server import ServerConfig, create_app

from .dicom_factory import Instance, build, multipart, new_uid, related

CLIENTS = 8
INSTANCES = 6
ALREADY_EXISTS = 45070
STOW = {"Accept": "application/dicom+json", "Content-Type": related()}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A reference server over real HTTP; yields its root URL and data directory."""
    reading_mode = pydicom.config.settings.reading_validation_mode
    data = tmp_path / "data"
    port = free_loopback_port()
    config = uvicorn.Config(create_app(ServerConfig(data_dir=data)), host="127.0.0.1", port=port, log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", data
    server.should_exit = True
    thread.join(timeout=20)
    pydicom.config.settings.reading_validation_mode = reading_mode


def _items(body: dict[str, Any], key: str) -> list[dict[str, Any]]:
    return list(body.get(key, {}).get("Value", []))


def _sop(item: dict[str, Any]) -> str:
    return str(item["00081155"]["Value"][0])


def _check_consistent(url: str, data: Path, instances: list[Instance]) -> None:
    """Index and files agree: each instance retrievable as sent, found once, one file each."""
    with httpx.Client(timeout=30) as http:
        for instance in instances:
            got = http.get(
                f"{url}/v2/studies/{instance.study}/series/{instance.series}/instances/{instance.sop}",
                headers={"Accept": "application/dicom; transfer-syntax=*"},
            )
            assert got.status_code == 200
            assert got.content == instance.data  # built with a zero preamble (GEN-09 zeroes it anyway)
        found = http.get(
            f"{url}/v2/studies/{instances[0].study}/instances", headers={"Accept": "application/dicom+json"}
        )
        sops = sorted(item["00080018"]["Value"][0] for item in found.json())
    assert sops == sorted(i.sop for i in instances)
    assert len(list((data / "objects").rglob("*.dcm"))) == len(instances)
    assert not list((data / "tmp").iterdir())


def test_one_request_per_instance_from_many_clients(served: tuple[str, Path]) -> None:
    url, data = served
    study = new_uid()
    instances = [build(study=study, frames=1) for _ in range(INSTANCES)]
    barrier = threading.Barrier(CLIENTS)

    def client(seed: int) -> list[tuple[str, int, dict[str, Any]]]:
        order = instances[:]
        random.Random(seed).shuffle(order)
        answers = []
        with httpx.Client(timeout=60) as http:
            barrier.wait()
            for instance in order:
                response = http.post(f"{url}/v2/studies", content=multipart([instance.data]), headers=STOW)
                answers.append((instance.sop, response.status_code, response.json()))
        return answers

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = [a for answers in pool.map(client, range(CLIENTS)) for a in answers]
    for instance in instances:
        mine = [(status, body) for sop, status, body in results if sop == instance.sop]
        assert sorted(status for status, _ in mine) == [200] + [409] * (CLIENTS - 1)
        for status, body in mine:
            if status == 409:
                (failed,) = _items(body, "00081198")
                assert failed["00081197"]["Value"] == [ALREADY_EXISTS]
                assert "00081199" not in body
    _check_consistent(url, data, instances)


def test_one_request_with_every_instance_from_many_clients(served: tuple[str, Path]) -> None:
    url, data = served
    study = new_uid()
    instances = [build(study=study) for _ in range(INSTANCES)]
    barrier = threading.Barrier(CLIENTS)

    def client(seed: int) -> tuple[int, dict[str, Any]]:
        order = instances[:]
        random.Random(seed).shuffle(order)
        with httpx.Client(timeout=60) as http:
            barrier.wait()
            response = http.post(f"{url}/v2/studies", content=multipart([i.data for i in order]), headers=STOW)
        return response.status_code, response.json()

    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = list(pool.map(client, range(CLIENTS)))
    stored = [_sop(item) for _, body in answers for item in _items(body, "00081199")]
    refused = [item for _, body in answers for item in _items(body, "00081198")]
    assert sorted(stored) == sorted(i.sop for i in instances)  # each stored by exactly one request
    assert len(refused) == INSTANCES * (CLIENTS - 1)
    assert all(item["00081197"]["Value"] == [ALREADY_EXISTS] for item in refused)
    for status, body in answers:
        referenced, failed = _items(body, "00081199"), _items(body, "00081198")
        assert status == (200 if not failed else 409 if not referenced else 202)
    _check_consistent(url, data, instances)
