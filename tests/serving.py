"""An ASGI application served by uvicorn in a thread on a free loopback port, for tests that
run the suite (or a client) against a real HTTP server built in-process."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from conformance.embedded import free_loopback_port


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Run ``app`` in a thread on a free loopback port; yield its /v2 base URL."""
    port = free_loopback_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/v2"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
