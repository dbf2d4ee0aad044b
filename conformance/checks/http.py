"""Checks on the HTTP envelope: status, headers, media type, body shape, JSON Schema."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from conformance.client.responses import DicomwebResponse
from conformance.core.errors import ConformanceFailure
from conformance.core.schemas import schema_errors

# GEN-10: warn-code 299, the host, a colon, then the message in double quotes.
_WARNING = re.compile(r'^299 (?P<host>\S+): "(?P<text>(?:[^"\\]|\\.)*)"$')


def expect(
    condition: bool,
    message: str,
    *,
    response: DicomwebResponse | None = None,
    expected: str | None = None,
    received: str | None = None,
) -> None:
    """Fail with ``message`` unless ``condition`` holds."""
    if not condition:
        raise ConformanceFailure(
            message, expected=expected, received=received, exchange=response.exchange if response else None
        )


def _status_text(codes: Iterable[int]) -> str:
    codes = list(codes)
    return "status " + (" or ".join(str(c) for c in codes))


def expect_status(response: DicomwebResponse, *allowed: int, why: str) -> None:
    """The answer's status is one of ``allowed``."""
    if response.status not in allowed:
        raise ConformanceFailure(
            why, expected=_status_text(allowed), received=f"status {response.status}", exchange=response.exchange
        )


def expect_header(response: DicomwebResponse, name: str, *, why: str, pattern: str | None = None) -> str:
    """Header ``name`` is present (and, with ``pattern``, fully matches it); returns its value."""
    value = response.header(name)
    if value is None:
        raise ConformanceFailure(
            why,
            expected=f"header {name}" + (f" matching {pattern}" if pattern else ""),
            received=f"no {name} header",
            exchange=response.exchange,
        )
    if pattern is not None and not re.fullmatch(pattern, value):
        raise ConformanceFailure(
            why, expected=f"{name} matching {pattern}", received=f"{name}: {value}", exchange=response.exchange
        )
    return value


def expect_header_absent(response: DicomwebResponse, name: str, *, why: str) -> None:
    value = response.header(name)
    if value is not None:
        raise ConformanceFailure(
            why, expected=f"no {name} header", received=f"{name}: {value}", exchange=response.exchange
        )


def expect_media_type(response: DicomwebResponse, essence: str, *, why: str) -> None:
    """The Content-Type's type/subtype is ``essence`` (parameters are not compared)."""
    media = response.media_type()
    if media is None or media.essence != essence.lower():
        received = "no Content-Type" if media is None else f"Content-Type: {response.header('content-type')}"
        raise ConformanceFailure(why, expected=f"Content-Type {essence}", received=received, exchange=response.exchange)


def expect_empty_body(response: DicomwebResponse, *, why: str) -> None:
    if response.content:
        raise ConformanceFailure(
            why, expected="an empty body", received=f"{len(response.content)} bytes", exchange=response.exchange
        )


def expect_text_error(response: DicomwebResponse, *, why: str) -> str:
    """GEN-07: a non-empty plain-text message, not a JSON document; returns the text."""
    media = response.media_type()
    text = response.text() if response.content else ""
    if not text.strip():
        raise ConformanceFailure(
            why, expected="a plain text error message", received="an empty body", exchange=response.exchange
        )
    if media is not None and media.essence != "text/plain":
        raise ConformanceFailure(
            why,
            expected="Content-Type text/plain",
            received=f"Content-Type: {response.header('content-type')}",
            exchange=response.exchange,
        )
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    if isinstance(parsed, dict | list):
        raise ConformanceFailure(
            why, expected="a plain text message", received="a JSON document", exchange=response.exchange
        )
    return text


def expect_schema(response: DicomwebResponse, schema: str, *, why: str, body: Any = None) -> Any:
    """The JSON body (or ``body``) is valid against ``schemas/<schema>.schema.json``."""
    document = response.json() if body is None else body
    errors = schema_errors(document, schema)
    if errors:
        raise ConformanceFailure(
            why,
            expected=f"a body valid against {schema}.schema.json",
            received="; ".join(errors),
            exchange=response.exchange,
        )
    return document


def parse_warning_header(value: str) -> tuple[str, str] | None:
    """``(host, text)`` of a GEN-10 Warning value, or None if it does not have that form."""
    match = _WARNING.match(value.strip())
    if not match:
        return None
    return match.group("host"), match.group("text").replace('\\"', '"')
