"""A synchronous client for the in-process reference server (used by the fixtures)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from anyio.from_thread import BlockingPortal


class Client:
    """Synchronous facade over an ASGI ``httpx.AsyncClient``."""

    def __init__(self, portal: BlockingPortal, app: Any) -> None:
        self._portal = portal
        self.app = app
        transport = httpx.ASGITransport(app=app)
        self._client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        # httpx sends "Accept: */*" by default; the server must be tested without any Accept too.
        del self._client.headers["Accept"]

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._portal.call(lambda: self._client.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def close(self) -> None:
        self._portal.call(self._client.aclose)
        self.app.state.server.index.close()


ClientFactory = Callable[..., Client]
