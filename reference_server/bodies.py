"""Bounded reading of small request bodies (JSON documents: workitems, bulk update, extended
query tags, export): a body over the limit is refused with 413 instead of being held in memory,
one that is not JSON with 400, and a client that goes away mid-body with 400."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import ClientDisconnect, Request

from reference_server.errors import HttpError
from reference_server.multipart import drain


async def read_body(request: Request, limit: int, *, what: str = "The request body", drain_limit: int = 0) -> bytes:
    """The body, at most ``limit`` bytes (413 beyond). With ``drain_limit``, the rest of an
    oversized body (up to that much) is read before the 413, so a client still sending it sees
    the answer rather than a broken pipe."""
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                if drain_limit:
                    await drain(request.stream(), drain_limit)
                raise HttpError(413, f"{what} is larger than {limit} bytes.")
            chunks.append(chunk)
    except ClientDisconnect:
        raise HttpError(400, "The client disconnected before the request body was complete.") from None
    return b"".join(chunks)


async def read_json_body(request: Request, limit: int, *, what: str = "The request body") -> Any:
    """An ``application/json`` body parsed (415 for another content type, 400 for invalid JSON)."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise HttpError(415, f"{what} must be application/json, not '{content_type or 'absent'}'.")
    body = await read_body(request, limit, what=what)
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise HttpError(400, f"{what} is not valid JSON: {exc}") from None
