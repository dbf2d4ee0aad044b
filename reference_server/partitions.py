"""Data partitions (behaviour catalogue section 7: PART-01..09; DDP, SRC).

Every partitionable route (STOW, WADO, QIDO, delete and the worklist, PART-03) exists twice: at
``/{version}/...`` and at ``/{version}/partitions/{partition}/...``. ``partitioned`` wraps each
such endpoint and decides, before the endpoint runs, which partition the request works in:

* feature off (the default): the prefixed form is refused with 400 "Data partitions feature is
  disabled." and everything lives in ``Microsoft.Default`` (PART-01, PART-05);
* feature on (``--partitions``): the plain form is refused with 400 "PartitionName value is
  missing in the route segment."; a name outside ``[A-Za-z0-9_.-]{1,64}`` with 400 "The
  specified PartitionName is invalid." (PART-02); an unknown partition with 400 "Specified
  PartitionName {name} does not exist." (AMB-16: 400, not 404), except on STOW and workitem
  create, which create it (PART-06).

``GET /{version}/partitions`` lists the partitions (PART-09); it, the health check and the
OpenAPI documents are never partitioned (PART-04). Once partitions other than
``Microsoft.Default`` exist, the server refuses to start with the feature off (PART-01).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from reference_server.errors import HttpError
from reference_server.index import Index
from reference_server.multipart import drain
from reference_server.records import DEFAULT_PARTITION_NAME, Partition
from reference_server.state import server_state

Endpoint = Callable[[Request], Awaitable[Response]]

PARTITION_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
DISABLED = "Data partitions feature is disabled."
MISSING = "PartitionName value is missing in the route segment."
INVALID = "The specified PartitionName is invalid."
# A refused request is read to its end (up to this much) before it is answered, as STOW does.
DRAIN_LIMIT = 4 * 1024**3


class PartitionsCannotBeDisabled(ValueError):
    """PART-01: the data holds partitions besides Microsoft.Default, and the feature is off."""


def does_not_exist(name: str) -> str:
    return f"Specified PartitionName {name} does not exist."


def is_valid_partition_name(name: str) -> bool:
    """PART-02: 1 to 64 characters of ``A-Z a-z 0-9 . - _``."""
    return PARTITION_NAME.fullmatch(name) is not None


def check_can_disable(index: Index) -> None:
    """PART-01: refuse to serve without partitions data that lives in other partitions."""
    others = [p.name for p in index.partitions() if p.name != DEFAULT_PARTITION_NAME]
    if others:
        raise PartitionsCannotBeDisabled(
            f"the data directory holds data partitions ({', '.join(others[:5])}"
            f"{', ...' if len(others) > 5 else ''}): data partitions cannot be disabled again; start with --partitions"
        )


async def resolve(request: Request, *, creates: bool) -> Partition:
    """The partition ``request`` works in, or the 400 that refuses it (PART-02, PART-05, PART-06)."""
    state = server_state(request)
    name = request.path_params.get("partition")
    index = state.index
    if not state.config.partitions:
        if name is not None:
            raise HttpError(400, DISABLED)
        default = index.known_partition(DEFAULT_PARTITION_NAME) or await anyio.to_thread.run_sync(
            index.partition, DEFAULT_PARTITION_NAME
        )
        assert default is not None  # created with the index
        return default
    if name is None:
        raise HttpError(400, MISSING)
    if not is_valid_partition_name(name):
        raise HttpError(400, INVALID)
    found = index.known_partition(name) or await anyio.to_thread.run_sync(index.partition, name)
    if found is None:
        if not creates:
            raise HttpError(400, does_not_exist(name))
        found = await anyio.to_thread.run_sync(index.add_partition, name)
    return found


def partitioned(endpoint: Endpoint, *, creates: bool = False) -> Endpoint:
    """``endpoint`` behind the partition check; it finds its partition with ``partition_of``."""

    async def handler(request: Request) -> Response:
        try:
            partition = await resolve(request, creates=creates)
        except HttpError:
            await drain(request.stream(), DRAIN_LIMIT)
            raise
        request.state.partition = partition
        return await endpoint(request)

    handler.__name__ = getattr(endpoint, "__name__", "partitioned")
    handler.__doc__ = endpoint.__doc__
    return handler


def partition_of(request: Request) -> Partition:
    """The partition ``partitioned`` resolved for ``request``."""
    partition = getattr(request.state, "partition", None)
    if not isinstance(partition, Partition):
        raise RuntimeError(f"{request.url.path}: the route is not behind the partition check")
    return partition


async def list_partitions(request: Request) -> Response:
    """``GET /{version}/partitions`` (PART-09): 200 with every partition, Microsoft.Default first
    (AMB-16 implemented: never 204); 400 when the feature is off."""
    state = server_state(request)
    if not state.config.partitions:
        raise HttpError(400, DISABLED)
    partitions = await anyio.to_thread.run_sync(state.index.partitions)
    return JSONResponse([p.to_json() for p in partitions])
