"""``ServerState``: the objects every endpoint shares, kept on ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from reference_server.config import ServerConfig
from reference_server.index import Index
from reference_server.operations import Operations
from reference_server.storage import Storage
from reference_server.versions import ApiVersion


@dataclass(frozen=True, slots=True)
class ServerState:
    config: ServerConfig
    storage: Storage
    index: Index
    operations: Operations  # OP-01..03: bulk update, reindex, export


def server_state(request: Request) -> ServerState:
    state = request.app.state.server
    assert isinstance(state, ServerState)
    return state


def api_version(request: Request) -> ApiVersion:
    version = request.path_params["version"]
    assert isinstance(version, ApiVersion)
    return version


def base_url(request: Request) -> str:
    """``scheme://host`` as the client addressed the server (Host header), for RetrieveURLs."""
    host = request.headers.get("host") or request.url.netloc
    return f"{request.url.scheme}://{host}"


def resource_root(request: Request) -> str:
    """``scheme://host/{version}[/partitions/{name}]``: where the resources of the request live,
    the root of the URLs the server hands out (STOW-16, PART-08)."""
    root = f"{base_url(request)}/{api_version(request).value}"
    partition = request.path_params.get("partition")
    return f"{root}/partitions/{partition}" if partition is not None else root
