"""``DELETE /vN/studies/{study}[/series/{series}[/instances/{instance}]]`` (DEL-01..05).

Accept, Content-Type and body are not looked at (DEL-04). Index rows go first, in one
transaction, so nothing is retrievable or searchable once the answer is sent; the files are
removed afterwards.
"""

from __future__ import annotations

import anyio
from starlette.requests import Request
from starlette.responses import Response

from reference_server.errors import HttpError
from reference_server.partitions import partition_of
from reference_server.paths import optional_path_uid, path_uid
from reference_server.state import server_state


async def delete(request: Request) -> Response:
    study = path_uid(request, "study")
    series = optional_path_uid(request, "series")
    sop = optional_path_uid(request, "instance")
    state = server_state(request)
    partition = partition_of(request).key  # DEL-07 / PART-07: only the copy in this partition
    removed = await anyio.to_thread.run_sync(lambda: state.index.delete(study, series, sop, partition=partition))
    if removed is None:
        target = f"instance {sop}" if sop else f"series {series}" if series else f"study {study}"
        raise HttpError(404, f"The {target} was not found.")
    for path in removed:
        await anyio.to_thread.run_sync(state.storage.remove, path)
    return Response(status_code=204)
