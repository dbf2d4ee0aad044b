"""A strict ``multipart/related`` encoder and parser (RFC 2387, RFC 2046 5.1.1, PS3.18 8.6-8.7).

Both are pure functions of their inputs. The parser never repairs a message: the first rule
a message breaks raises a ``MultipartError`` that names the rule, the part (1-based) and the
byte offset. Explicit limits bound the number of parts, the size of a part and the size of
its header block, so a hostile answer cannot exhaust memory or time.

Grammar enforced (RFC 2046 5.1.1)::

    multipart-body := [preamble CRLF] dash-boundary transport-padding CRLF
                      body-part *encapsulation close-delimiter transport-padding
                      [CRLF epilogue]
    encapsulation  := delimiter transport-padding CRLF body-part
    delimiter      := CRLF dash-boundary
    body-part      := MIME-part-headers [CRLF *OCTET]

Whether every part carries a ``Content-Type`` is a DICOM rule (PS3.18 8.6.1.2), not a
syntax rule: it is checked by callers, not here.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from conformance.core.media_types import MediaType, MediaTypeError, parse_media_type

CRLF = b"\r\n"
# RFC 2046 5.1.1: bcharsnospace := DIGIT / ALPHA / "'" / "(" / ")" / "+" / "_" / "," / "-" / "." /
# "/" / ":" / "=" / "?"; a boundary is 1-70 bchars, the last one not a space.
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
_HEADER_NAME = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


class MultipartError(ValueError):
    """A multipart/related message broke a rule; names the rule, the part and the offset."""

    def __init__(self, rule: str, *, part: int | None = None, offset: int | None = None) -> None:
        self.rule = rule
        self.part = part
        self.offset = offset
        where = []
        if part is not None:
            where.append(f"part {part}")
        if offset is not None:
            where.append(f"byte {offset}")
        prefix = f"{', '.join(where)}: " if where else ""
        super().__init__(f"{prefix}{rule}")


class BoundaryError(MultipartError):
    """The Content-Type is not multipart/related or its boundary parameter is missing or invalid."""


class FramingError(MultipartError):
    """Delimiters, line endings or the close delimiter are wrong or missing."""


class PartHeaderError(MultipartError):
    """A part's header block is malformed."""


class LimitExceeded(MultipartError):
    """A configured limit (parts, part size, header size) was exceeded."""


@dataclass(frozen=True, slots=True)
class MultipartLimits:
    """Upper bounds the parser enforces before doing the work they bound."""

    max_parts: int = 10_000
    max_part_size: int = 1 << 30
    max_header_bytes: int = 16 * 1024
    max_headers_per_part: int = 64


DEFAULT_LIMITS = MultipartLimits()


@dataclass(frozen=True, slots=True)
class Part:
    """One body part: its header fields in the order sent, and its content."""

    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    @property
    def content_type(self) -> str | None:
        return self.header("Content-Type")


@dataclass(frozen=True, slots=True)
class MultipartMessage:
    """A parsed message: the top-level media type, its parts, preamble and epilogue."""

    media_type: MediaType
    boundary: str
    parts: tuple[Part, ...]
    preamble: bytes = field(default=b"")
    epilogue: bytes = field(default=b"")


def new_boundary() -> str:
    """A random boundary that cannot plausibly occur inside DICOM content."""
    return f"dicomweb-conformance-{secrets.token_hex(16)}"


def validate_boundary(boundary: str) -> None:
    """Raise ``BoundaryError`` unless ``boundary`` follows RFC 2046 5.1.1."""
    if not _BOUNDARY.fullmatch(boundary):
        raise BoundaryError(
            f"boundary {boundary!r} is not 1-70 characters of DIGIT / ALPHA / '()+_,-./:=? "
            "ending in a non-space (RFC 2046 5.1.1)"
        )


def encode_multipart_related(parts: Iterable[tuple[Sequence[tuple[str, str]], bytes]], *, boundary: str) -> bytes:
    """Encode parts (header pairs, body) as a multipart body with the given boundary.

    The result has no preamble or epilogue and ends with the close delimiter and CRLF.
    Raises ``BoundaryError`` for an invalid boundary and ``FramingError`` when a part's
    content contains the delimiter (the message would be ambiguous).
    """
    validate_boundary(boundary)
    dash = b"--" + boundary.encode("ascii")
    delimiter = CRLF + dash
    chunks: list[bytes] = []
    for index, (headers, body) in enumerate(parts, start=1):
        if delimiter in body or body.startswith(dash):
            raise FramingError("part content contains the boundary delimiter", part=index)
        chunks.append(dash + CRLF)
        for name, value in headers:
            if "\r" in value or "\n" in value:
                raise PartHeaderError(f"header {name!r} value contains a line break", part=index)
            chunks.append(f"{name}: {value}".encode("latin-1") + CRLF)
        chunks.append(CRLF)
        chunks.append(body)
        chunks.append(CRLF)
    chunks.append(dash + b"--" + CRLF)
    return b"".join(chunks)


def _boundary_of(content_type: str) -> tuple[MediaType, str]:
    try:
        media = parse_media_type(content_type)
    except MediaTypeError as exc:
        raise BoundaryError(f"Content-Type is not a valid media type: {exc}") from exc
    if media.essence != "multipart/related":
        raise BoundaryError(f"Content-Type is {media.essence!r}, not multipart/related")
    boundary = media.param("boundary")
    if boundary is None:
        raise BoundaryError("multipart/related Content-Type has no boundary parameter")
    validate_boundary(boundary)
    return media, boundary


def _skip_padding(body: bytes, pos: int) -> int:
    # RFC 2046 transport-padding: linear white space a gateway may have added.
    while pos < len(body) and body[pos] in b" \t":
        pos += 1
    return pos


def _parse_headers(
    body: bytes, pos: int, part: int, limits: MultipartLimits
) -> tuple[tuple[tuple[str, str], ...], int]:
    headers: list[tuple[str, str]] = []
    start = pos
    while True:
        line_end = body.find(b"\n", pos)
        if line_end == -1:
            raise FramingError("part header block is not terminated by an empty line", part=part, offset=pos)
        if line_end - start > limits.max_header_bytes:
            raise LimitExceeded(f"part header block exceeds {limits.max_header_bytes} bytes", part=part, offset=start)
        if line_end == pos or body[line_end - 1] != 0x0D:
            raise FramingError("header line ends with LF without CR", part=part, offset=line_end)
        line = body[pos : line_end - 1]
        pos = line_end + 1
        if not line:
            return tuple(headers), pos
        if line[:1] in (b" ", b"\t"):
            raise PartHeaderError("folded (obs-fold) header line", part=part, offset=pos - len(line) - 2)
        name, sep, value = line.partition(b":")
        if not sep or not _HEADER_NAME.fullmatch(name):
            raise PartHeaderError(
                f"header line {line[:60]!r} is not 'field-name: value'", part=part, offset=pos - len(line) - 2
            )
        if len(headers) >= limits.max_headers_per_part:
            raise LimitExceeded(f"more than {limits.max_headers_per_part} header fields", part=part)
        headers.append((name.decode("ascii"), value.strip(b" \t").decode("latin-1")))


def parse_multipart_related(
    body: bytes, content_type: str, *, limits: MultipartLimits = DEFAULT_LIMITS
) -> MultipartMessage:
    """Parse a ``multipart/related`` body strictly; see the module docstring for the grammar."""
    media, boundary = _boundary_of(content_type)
    dash = b"--" + boundary.encode("ascii")
    delimiter = CRLF + dash

    if body.startswith(dash):
        preamble_end, pos = 0, len(dash)
    else:
        found = body.find(delimiter)
        if found == -1:
            raise FramingError(f"no opening delimiter '--{boundary}' at the start of a line", offset=0)
        preamble_end, pos = found, found + len(delimiter)
    preamble = body[:preamble_end]

    parts: list[Part] = []
    while True:
        if body.startswith(b"--", pos):
            if not parts:
                raise FramingError("message has no body part (RFC 2046 requires one)", offset=pos)
            pos = _skip_padding(body, pos + 2)
            if pos == len(body):
                epilogue = b""
            elif body.startswith(CRLF, pos):
                epilogue = body[pos + 2 :]
            else:
                raise FramingError("close delimiter is followed by bytes other than CRLF", offset=pos)
            return MultipartMessage(media, boundary, tuple(parts), preamble, epilogue)
        index = len(parts) + 1
        pos = _skip_padding(body, pos)
        if not body.startswith(CRLF, pos):
            if pos >= len(body):
                raise FramingError("body ends after a delimiter; close delimiter missing", part=index, offset=pos)
            raise FramingError("delimiter line is not terminated by CRLF", part=index, offset=pos)
        if index > limits.max_parts:
            raise LimitExceeded(f"more than {limits.max_parts} parts", part=index, offset=pos)
        headers, content_start = _parse_headers(body, pos + 2, index, limits)
        content_end = body.find(delimiter, content_start)
        if content_end == -1:
            raise FramingError(
                "part is not followed by a delimiter (body truncated or close delimiter missing)",
                part=index,
                offset=content_start,
            )
        if content_end - content_start > limits.max_part_size:
            raise LimitExceeded(f"part content exceeds {limits.max_part_size} bytes", part=index, offset=content_start)
        parts.append(Part(headers, body[content_start:content_end]))
        pos = content_end + len(delimiter)
