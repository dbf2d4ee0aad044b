"""Shared fixtures for the tests of our own code."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpcore  # noqa: F401 - imported before any in-process pytester run, see below
import pytest

# pytester's in-process runs drop the modules first imported inside them. httpx imports
# httpcore lazily, so without this import each inner run would get its own httpcore module and
# httpx could no longer map its exceptions (a ConnectError would escape unconverted).

Handler = Callable[[str, str, dict[str, str], bytes], tuple[int, dict[str, str], bytes]]


class FakeTarget:
    """A tiny HTTP server on loopback whose answers a test scripts with one function."""

    def __init__(self, handler: Handler) -> None:
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                outer.requests.append((self.command, self.path, headers))
                status, out_headers, payload = handler(self.command, self.path, headers, body)
                self.send_response(status)
                for name, value in out_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = do_PUT = _serve

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v2"

    def __enter__(self) -> FakeTarget:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_target() -> Iterator[Callable[[Handler], FakeTarget]]:
    started: list[FakeTarget] = []

    def start(handler: Handler) -> FakeTarget:
        target = FakeTarget(handler).__enter__()
        started.append(target)
        return target

    yield start
    for target in started:
        target.__exit__()
