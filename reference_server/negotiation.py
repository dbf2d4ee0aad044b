"""Content-Type and Accept parsing (RFC 9110 8.3.1, 12.5.1; PS3.18 8.7).

Parsing is lenient where clients are known to be sloppy: parameter values may be quoted or
not, and an unquoted value may contain ``/`` (``type=application/dicom``, interop pitfall 5).
Type, subtype and parameter names compare case-insensitively.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

DICOM = "application/dicom"
DICOM_JSON = "application/dicom+json"
OCTET_STREAM = "application/octet-stream"
MULTIPART_RELATED = "multipart/related"
JP2 = "image/jp2"


class MediaTypeError(ValueError):
    """A Content-Type or Accept element that is not ``type/subtype[; name=value]*``."""


@dataclass(frozen=True, slots=True)
class MediaType:
    """One media type or media range; ``essence`` is ``type/subtype`` in lower case."""

    essence: str
    params: tuple[tuple[str, str], ...] = field(default=())

    def param(self, name: str) -> str | None:
        """The value of parameter ``name`` (names compare case-insensitively), or None."""
        wanted = name.lower()
        for key, value in self.params:
            if key == wanted:
                return value
        return None

    def has_param(self, name: str) -> bool:
        return self.param(name) is not None

    @property
    def quality(self) -> float:
        """The ``q`` weight (1.0 when absent); raises MediaTypeError when unparsable."""
        raw = self.param("q")
        if raw is None:
            return 1.0
        try:
            value = float(raw)
        except ValueError as exc:
            raise MediaTypeError(f"invalid q value {raw!r}") from exc
        if not 0.0 <= value <= 1.0:
            raise MediaTypeError(f"q value {raw!r} outside 0..1")
        return value

    @property
    def is_wildcard(self) -> bool:
        return "*" in self.essence

    def matches(self, essence: str) -> bool:
        """Whether this media range admits ``essence`` (``*/*`` and ``type/*`` wildcards)."""
        mine_type, _, mine_sub = self.essence.partition("/")
        want_type, _, want_sub = essence.lower().partition("/")
        if mine_type == "*":
            return mine_sub == "*"
        return mine_type == want_type and mine_sub in ("*", want_sub)


def split_outside_quotes(text: str, delimiter: str) -> Iterator[str]:
    """Split ``text`` on ``delimiter`` except inside double-quoted strings (with ``\\`` escapes)."""
    start = 0
    in_quotes = False
    escaped = False
    for i, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\" and in_quotes:
            escaped = True
        elif char == '"':
            in_quotes = not in_quotes
        elif char == delimiter and not in_quotes:
            yield text[start:i]
            start = i + 1
    yield text[start:]


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        inner = value[1:-1]
        out: list[str] = []
        escaped = False
        for char in inner:
            if escaped:
                out.append(char)
                escaped = False
            elif char == "\\":
                escaped = True
            else:
                out.append(char)
        return "".join(out)
    return value


def parse_media_type(text: str) -> MediaType:
    """Parse one media type with parameters; raises MediaTypeError when malformed."""
    pieces = list(split_outside_quotes(text, ";"))
    essence = pieces[0].strip().lower()
    kind, slash, sub = essence.partition("/")
    if not slash or not kind or not sub or any(c.isspace() or c in '"=,' for c in essence):
        raise MediaTypeError(f"{text.strip()!r} is not a media type (expected type/subtype)")
    params: list[tuple[str, str]] = []
    for piece in pieces[1:]:
        if not piece.strip():
            continue  # tolerate a trailing or doubled ';'
        name, eq, value = piece.partition("=")
        name = name.strip().lower()
        if not eq or not name:
            raise MediaTypeError(f"parameter {piece.strip()!r} of {essence!r} has no value")
        params.append((name, _unquote(value)))
    return MediaType(essence, tuple(params))


def parse_accept(header: str) -> list[MediaType]:
    """The media ranges of an Accept header, best first (by q, then order); q=0 and broken ones dropped.

    An element that does not parse cannot match anything, so it is skipped rather than making
    the whole request fail: the answer is then 406 when nothing else matches.
    """
    ranked: list[tuple[float, int, MediaType]] = []
    for position, element in enumerate(split_outside_quotes(header, ",")):
        if not element.strip():
            continue
        try:
            media = parse_media_type(element)
            quality = media.quality
        except MediaTypeError:
            continue
        if quality > 0:
            ranked.append((-quality, position, media))
    ranked.sort(key=lambda item: (item[0], item[1]))
    return [media for _, _, media in ranked]


def accepts_dicom_json(accept_header: str | None) -> bool:
    """GEN-06: whether some media range admits ``application/dicom+json``; no header means no."""
    if accept_header is None:
        return False
    return any(media.matches(DICOM_JSON) for media in parse_accept(accept_header))
