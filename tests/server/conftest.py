"""Fixtures: an in-process server over a temporary data directory, driven through httpx.

Starlette's TestClient is avoided (it warns about httpx); a blocking portal runs an
``httpx.AsyncClient`` on an ASGI transport instead, so tests stay synchronous.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydicom
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal

from reference_server import ServerConfig, create_app

from .harness import Client, ClientFactory


@pytest.fixture
def portal() -> Iterator[BlockingPortal]:
    with start_blocking_portal() as running:
        yield running


@pytest.fixture
def make_client(tmp_path: Path, portal: BlockingPortal) -> Iterator[ClientFactory]:
    clients: list[Client] = []
    # create_app sets a process-wide pydicom option (see configure_pydicom); other tests of
    # this repository run in the same process and must find pydicom as they left it.
    reading_mode = pydicom.config.settings.reading_validation_mode

    def factory(**options: Any) -> Client:
        config = ServerConfig(data_dir=tmp_path / f"data{len(clients)}", **options)
        client = Client(portal, create_app(config))
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()
    pydicom.config.settings.reading_validation_mode = reading_mode


@pytest.fixture
def client(make_client: ClientFactory) -> Client:
    return make_client()
