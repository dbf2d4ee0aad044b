"""``GET /health/check`` (GEN-12): the data store's health as JSON (camelCase, GEN-11)."""

from __future__ import annotations

import logging

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from reference_server.state import server_state

logger = logging.getLogger("reference_server")


def _check(request: Request) -> tuple[bool, str]:
    state = server_state(request)
    try:
        state.index.ping()
        if not state.storage.objects_dir.is_dir():
            return False, "The object folder of the data directory is missing."
    except Exception as exc:  # any failure means unhealthy, never a 500
        logger.warning("health check failed: %s", exc)
        return False, f"The index cannot be read: {exc}"
    return True, "The SQLite index and the object store are reachable."


async def health_check(request: Request) -> Response:
    healthy, description = await anyio.to_thread.run_sync(_check, request)
    status = "Healthy" if healthy else "Unhealthy"
    body = {
        "overallStatus": status,
        "details": [{"name": "DicomDataStore", "status": status, "description": description}],
    }
    return JSONResponse(body, status_code=200 if healthy else 503)
