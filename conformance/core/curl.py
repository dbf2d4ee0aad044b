"""Reproduce a request as a ``curl`` command line, with credentials never written out.

An ``Authorization`` header is replaced by a reference to the environment variable that
holds the secret (``$DICOMWEB_TOKEN``, ``$DICOMWEB_USER:$DICOMWEB_PASSWORD``), so the line
can be pasted and run without ever containing the secret itself.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable

# Headers that never help reproduce a request and only make the line longer.
_NOISE = {"host", "content-length", "accept-encoding", "connection", "user-agent"}
SECRET_HEADERS = {"authorization", "proxy-authorization", "cookie", "x-api-key"}


def _quote(value: str) -> str:
    return shlex.quote(value)


def curl_command(
    method: str,
    url: str,
    headers: Iterable[tuple[str, str]],
    *,
    body_size: int = 0,
    body_preview: bytes | None = None,
) -> str:
    """Render a curl line; the body is shown inline when short text, else as a file reference."""
    parts = ["curl", "-X", method.upper(), _quote(url)]
    for name, value in headers:
        lower = name.lower()
        if lower in _NOISE:
            continue
        if lower in SECRET_HEADERS:
            parts.append(_masked_auth(name, value))
            continue
        parts += ["-H", _quote(f"{name}: {value}")]
    if body_size:
        text = _printable(body_preview) if body_preview is not None and len(body_preview) == body_size else None
        if text is not None and len(text) <= 500:
            parts += ["--data-binary", _quote(text)]
        else:
            parts += ["--data-binary", f"@request-body.bin  # {body_size} bytes"]
    return " ".join(parts)


def _masked_auth(name: str, value: str) -> str:
    scheme = value.split(" ", 1)[0].lower()
    if name.lower() == "authorization" and scheme == "bearer":
        return '-H "Authorization: Bearer $DICOMWEB_TOKEN"'
    if name.lower() == "authorization" and scheme == "basic":
        return '-u "$DICOMWEB_USER:$DICOMWEB_PASSWORD"'
    return _quote(f"{name}: ***")


def _printable(data: bytes | None) -> str | None:
    if data is None:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(ord(c) < 32 and c not in "\r\n\t" for c in text):
        return None
    return text
