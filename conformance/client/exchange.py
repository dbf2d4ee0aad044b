"""Recorded request/response pairs: the evidence behind every verdict.

A record keeps what a reader needs to understand and reproduce an exchange (method, URL,
headers, sizes and the first bytes of each body), never the secrets: credential headers are
masked when the record is made, not when it is printed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import httpx

from conformance.core.curl import SECRET_HEADERS, curl_command

PREVIEW_BYTES = 4096
SHOWN_BODY_CHARS = 800


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body_size: int
    body_preview: bytes

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)


@dataclass(frozen=True, slots=True)
class RecordedResponse:
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body_size: int
    body_preview: bytes
    elapsed: float

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and what came back: a response, or the transport error instead."""

    request: RecordedRequest
    response: RecordedResponse | None
    error: str | None = None

    def curl(self) -> str:
        r = self.request
        return curl_command(r.method, r.url, r.headers, body_size=r.body_size, body_preview=r.body_preview)

    def describe_response(self) -> str:
        """Status line, headers and a cut body, one item per line."""
        if self.response is None:
            return f"no response: {self.error}"
        res = self.response
        lines = [f"{res.status} {res.reason}".rstrip()]
        lines += [f"  {k}: {v}" for k, v in res.headers]
        lines.append(f"  body: {render_body(res.body_preview, res.body_size, res.header('content-type'))}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, object]:
        """A JSON-ready summary for the results file."""
        res = self.response
        return {
            "request": {
                "method": self.request.method,
                "url": self.request.url,
                "headers": dict(self.request.headers),
                "body_size": self.request.body_size,
                "curl": self.curl(),
            },
            "response": None
            if res is None
            else {
                "status": res.status,
                "headers": dict(res.headers),
                "body_size": res.body_size,
                "body": render_body(res.body_preview, res.body_size, res.header("content-type")),
                "elapsed_s": round(res.elapsed, 4),
            },
            "error": self.error,
        }


def render_body(preview: bytes, size: int, content_type: str | None) -> str:
    """``<EMPTY>``, ``<BINARY n bytes>`` or the text cut to a readable length."""
    if size == 0:
        return "<EMPTY>"
    ctype = (content_type or "").lower()
    textual = ctype.startswith("text/") or "json" in ctype or "xml" in ctype or not ctype
    if textual:
        try:
            text = preview.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None and all(c.isprintable() or c in "\r\n\t" for c in text):
            if "json" in ctype and size <= PREVIEW_BYTES:
                try:
                    text = json.dumps(json.loads(text), separators=(",", ":"))
                except ValueError:
                    pass
            cut = text if len(text) <= SHOWN_BODY_CHARS else text[:SHOWN_BODY_CHARS] + "..."
            suffix = f" ({size} bytes)" if size > len(cut) else ""
            return cut + suffix
    return f"<BINARY {size} bytes, {content_type or 'no Content-Type'}>"


def _masked(headers: httpx.Headers) -> tuple[tuple[str, str], ...]:
    out = []
    for raw_name, raw_value in headers.raw:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        if name.lower() in SECRET_HEADERS:
            scheme = value.split(" ", 1)[0] if " " in value else ""
            value = f"{scheme} ***".strip()
        out.append((name, value))
    return tuple(out)


def record_request(request: httpx.Request, body: bytes) -> RecordedRequest:
    return RecordedRequest(
        method=request.method,
        url=str(request.url),
        headers=_masked(request.headers),
        body_size=len(body),
        body_preview=body[:PREVIEW_BYTES],
    )


def record_response(response: httpx.Response, elapsed: float) -> RecordedResponse:
    body = response.content
    return RecordedResponse(
        status=response.status_code,
        reason=response.reason_phrase,
        headers=_masked(response.headers),
        body_size=len(body),
        body_preview=body[:PREVIEW_BYTES],
        elapsed=elapsed,
    )


@dataclass
class ExchangeLog:
    """The exchanges of one test, in order (one log per test; not shared between tests)."""

    exchanges: list[Exchange] = field(default_factory=list)

    def append(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)

    @property
    def last(self) -> Exchange | None:
        return self.exchanges[-1] if self.exchanges else None

    def __len__(self) -> int:
        return len(self.exchanges)
