"""UIDs in URL paths (GEN-04, WADO-12, QIDO-30, DEL-03)."""

from __future__ import annotations

from starlette.requests import Request

from reference_server.errors import HttpError
from reference_server.validation import invalid_uid_message, is_valid_uid


def path_uid(request: Request, name: str) -> str:
    """The UID path parameter ``name``, validated (400 when invalid) and without trailing spaces."""
    value = str(request.path_params[name])
    if not is_valid_uid(value):
        raise HttpError(400, invalid_uid_message(value))
    return value.rstrip(" ")


def optional_path_uid(request: Request, name: str) -> str | None:
    return path_uid(request, name) if name in request.path_params else None
