"""Client errors and how they are answered (GEN-07).

Every refused request is an ``HttpError`` raised anywhere below an endpoint; the app turns it
into a plain-text response (``text/plain; charset=utf-8``) with a message saying what was
wrong. Some statuses carry no body on purpose: 406 on DICOM JSON endpoints (GEN-06) and 304.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

logger = logging.getLogger("reference_server")

PLAIN_TEXT = "text/plain; charset=utf-8"


class HttpError(Exception):
    """A request the server refuses, answered with ``status`` and a plain-text ``message``."""

    def __init__(
        self,
        status: int,
        message: str = "",
        *,
        headers: Mapping[str, str] | None = None,
        empty_body: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
        self.empty_body = empty_body

    def to_response(self) -> Response:
        if self.empty_body or self.status in (204, 304):
            return Response(status_code=self.status, headers=self.headers)
        return plain_text(self.message, self.status, headers=self.headers)


def plain_text(message: str, status: int, *, headers: Mapping[str, str] | None = None) -> Response:
    """A plain-text response; the body always ends with a newline for terminals."""
    body = message if message.endswith("\n") else message + "\n"
    return PlainTextResponse(body, status_code=status, headers=dict(headers or {}), media_type="text/plain")


def bad_request(message: str) -> HttpError:
    return HttpError(400, message)


def not_found(message: str) -> HttpError:
    return HttpError(404, message)


def not_acceptable(message: str = "", *, empty_body: bool = False) -> HttpError:
    return HttpError(406, message, empty_body=empty_body)


def unsupported_media_type(message: str) -> HttpError:
    return HttpError(415, message)


async def handle_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HttpError)
    return exc.to_response()


async def handle_starlette_http_exception(request: Request, exc: Exception) -> Response:
    """Routing errors (no such route, wrong method) as plain text with a useful message."""
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 404:
        message = f"No resource at '{request.url.path}'. Routes start with a version segment: /v1/... or /v2/..."
    elif exc.status_code == 405:
        allowed = headers.get("Allow", "")
        message = f"Method {request.method} is not allowed on '{request.url.path}'. Allowed: {allowed}."
    else:
        message = str(exc.detail)
    return plain_text(message, exc.status_code, headers=headers)


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    """Last resort: log the traceback, answer a short 500 (there should be none)."""
    logger.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return plain_text("Internal server error; see the server log.", 500)
