"""Media types as used in Content-Type and Accept headers (RFC 9110 8.3.1, 12.5.1).

Parsing is strict: a value that does not follow the grammar raises ``MediaTypeError``
naming the rule it broke; nothing is repaired. Type, subtype and parameter names compare
case-insensitively, parameter values case-sensitively (except where a caller says
otherwise), quoted or not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# RFC 9110 5.6.2: token = 1*tchar
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_QDTEXT_OR_PAIR = re.compile(r"(?:[\t !\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*")

DICOM = "application/dicom"
DICOM_JSON = "application/dicom+json"
OCTET_STREAM = "application/octet-stream"
MULTIPART_RELATED = "multipart/related"


class MediaTypeError(ValueError):
    """A Content-Type or Accept value that does not follow the grammar."""


@dataclass(frozen=True, slots=True)
class MediaType:
    """One media type or media range with its parameters (names lower-cased)."""

    type: str
    subtype: str
    parameters: tuple[tuple[str, str], ...] = field(default=())

    @property
    def essence(self) -> str:
        """``type/subtype`` in lower case, without parameters."""
        return f"{self.type}/{self.subtype}"

    def param(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.parameters:
            if key == name:
                return value
        return None

    @property
    def quality(self) -> float:
        """The ``q`` weight of a media range (1.0 when absent)."""
        q = self.param("q")
        return 1.0 if q is None else float(q)

    def matches(self, essence: str) -> bool:
        """Whether this media range admits ``essence`` (``*/*`` and ``type/*`` wildcards)."""
        want_type, _, want_sub = essence.lower().partition("/")
        if self.type == "*":
            return True
        if self.type != want_type:
            return False
        return self.subtype in ("*", want_sub)

    def __str__(self) -> str:
        rendered = self.essence
        for key, value in self.parameters:
            rendered += f"; {key}={quote_if_needed(value)}"
        return rendered


def quote_if_needed(value: str) -> str:
    """Render a parameter value as a token where possible, else as a quoted string."""
    if _TOKEN.fullmatch(value):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _parse_parameters(text: str, pos: int, *, stop_at_comma: bool) -> tuple[list[tuple[str, str]], int]:
    params: list[tuple[str, str]] = []
    n = len(text)
    while True:
        while pos < n and text[pos] in " \t":
            pos += 1
        if pos >= n or (stop_at_comma and text[pos] == ","):
            return params, pos
        if text[pos] != ";":
            raise MediaTypeError(f"expected ';' before a parameter at offset {pos} in {text!r}")
        pos += 1
        while pos < n and text[pos] in " \t":
            pos += 1
        if pos >= n or (stop_at_comma and text[pos] == ","):
            # RFC 9110 allows an empty parameter after ';' (e.g. "a/b;"); accept it as nothing.
            return params, pos
        name_match = _TOKEN.match(text, pos)
        if not name_match:
            raise MediaTypeError(f"parameter name is not a token at offset {pos} in {text!r}")
        name = name_match.group().lower()
        pos = name_match.end()
        if pos >= n or text[pos] != "=":
            raise MediaTypeError(f"parameter {name!r} has no '=value' in {text!r}")
        pos += 1
        if pos < n and text[pos] == '"':
            body = _QDTEXT_OR_PAIR.match(text, pos + 1)
            end = body.end() if body else pos + 1
            if end >= n or text[end] != '"':
                raise MediaTypeError(f"unterminated quoted value of parameter {name!r} in {text!r}")
            raw = text[pos + 1 : end]
            value = re.sub(r"\\(.)", r"\1", raw)
            pos = end + 1
        else:
            value_match = _TOKEN.match(text, pos)
            if not value_match:
                raise MediaTypeError(f"value of parameter {name!r} is neither a token nor a quoted string in {text!r}")
            value = value_match.group()
            pos = value_match.end()
            if pos < n and text[pos] not in " \t;,":
                raise MediaTypeError(
                    f"value of parameter {name!r} is neither a token nor a quoted string in {text!r} "
                    f"({text[pos]!r} must be quoted, RFC 2045 5.1)"
                )
        params.append((name, value))


def _parse_one(text: str, pos: int, *, stop_at_comma: bool) -> tuple[MediaType, int]:
    n = len(text)
    while pos < n and text[pos] in " \t":
        pos += 1
    type_match = _TOKEN.match(text, pos)
    if not type_match:
        raise MediaTypeError(f"media type does not start with a token at offset {pos} in {text!r}")
    pos = type_match.end()
    if pos >= n or text[pos] != "/":
        raise MediaTypeError(f"media type {type_match.group()!r} has no '/subtype' in {text!r}")
    sub_match = _TOKEN.match(text, pos + 1)
    if not sub_match:
        raise MediaTypeError(f"subtype is not a token at offset {pos + 1} in {text!r}")
    pos = sub_match.end()
    params, pos = _parse_parameters(text, pos, stop_at_comma=stop_at_comma)
    media = MediaType(type_match.group().lower(), sub_match.group().lower(), tuple(params))
    return media, pos


def parse_media_type(value: str) -> MediaType:
    """Parse one Content-Type value; raise ``MediaTypeError`` if it is not a media type."""
    media, pos = _parse_one(value, 0, stop_at_comma=False)
    if pos != len(value):
        raise MediaTypeError(f"unexpected text after the media type at offset {pos} in {value!r}")
    return media


def parse_accept(value: str) -> tuple[MediaType, ...]:
    """Parse an Accept header into its media ranges, in the order given."""
    ranges: list[MediaType] = []
    pos = 0
    n = len(value)
    while pos < n:
        while pos < n and value[pos] in " \t,":
            pos += 1
        if pos >= n:
            break
        media, pos = _parse_one(value, pos, stop_at_comma=True)
        q = media.param("q")
        if q is not None and not re.fullmatch(r"0(\.\d{0,3})?|1(\.0{0,3})?", q):
            raise MediaTypeError(f"q value {q!r} is not a qvalue in {value!r}")
        ranges.append(media)
    return tuple(ranges)


def multipart_related(type_: str, boundary: str, *, quote_type: bool = True, **params: str) -> str:
    """Render a ``multipart/related`` Content-Type with the parameters in a stable order."""
    type_text = f'"{type_}"' if quote_type else type_
    rendered = f"{MULTIPART_RELATED}; type={type_text}"
    for name, value in params.items():
        rendered += f"; {name.replace('_', '-')}={quote_if_needed(value)}"
    return rendered + f"; boundary={quote_if_needed(boundary)}"
