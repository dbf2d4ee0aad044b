"""How stored values are indexed and how QIDO filter values compare with them (QIDO-11..21).

Index columns hold normalised values: padding removed (trailing spaces and NUL, so ``X%00``
and ``X`` find the same value, QIDO-21), case folded, and for person names also accents
removed (QIDO-14). Filters are normalised the same way and compared for equality.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reference_server.attributes import MatchKind
from reference_server.validation import strip_uid


def _unpad(value: str) -> str:
    return value.rstrip("\0 ").lstrip(" ")


def _strip_accents(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalize_string(value: str) -> str:
    """Other string VRs: case-insensitive, accent-sensitive (QIDO-14)."""
    return unicodedata.normalize("NFC", _unpad(value)).casefold()


def normalize_person_name(value: str) -> str:
    """PN: case- and accent-insensitive, trailing empty components ignored (QIDO-14, QIDO-15)."""
    return _strip_accents(_unpad(value)).casefold().rstrip("^= ")


def normalize(kind: MatchKind, value: str) -> str:
    if kind is MatchKind.UID:
        return strip_uid(value)
    if kind is MatchKind.PERSON_NAME:
        return normalize_person_name(value)
    if kind is MatchKind.DATE:
        return _unpad(value)
    return normalize_string(value)


_WORD_SEPARATORS = re.compile(r"[\^=\s]+")


def name_words(value: str) -> list[str]:
    return [word for word in _WORD_SEPARATORS.split(value) if word]


def fuzzy_person_name_match(stored: str | None, query: str) -> bool:
    """QIDO-13: every word of the query is a prefix of some word of the (normalised) name."""
    if not stored:
        return False
    words = name_words(stored)
    return all(any(word.startswith(wanted) for word in words) for wanted in name_words(query))


def person_name_text(json_value: Any) -> str:
    """The PN string of a DICOM JSON PN value (groups joined with ``=``)."""
    if isinstance(json_value, dict):
        groups = [str(json_value.get(key, "")) for key in ("Alphabetic", "Ideographic", "Phonetic")]
        return "=".join(groups).rstrip("=")
    return "" if json_value is None else str(json_value)


def first_json_value(attribute: dict[str, Any] | None) -> Any:
    """The first value of a DICOM JSON attribute (QIDO-18: only the first value is indexed)."""
    if not attribute:
        return None
    values = attribute.get("Value")
    if not values:
        return None
    return values[0]


def index_value(kind: MatchKind, attribute: dict[str, Any] | None) -> str | None:
    """The normalised index value of a DICOM JSON attribute; None when it has no value."""
    value = first_json_value(attribute)
    if value is None:
        return None
    text = person_name_text(value) if kind is MatchKind.PERSON_NAME else str(value)
    normalized = normalize(kind, text)
    return normalized or None


class QueryValueError(ValueError):
    """A filter value that cannot be matched (QIDO: 400 with this message)."""


@dataclass(frozen=True, slots=True)
class DateRange:
    """Inclusive bounds of a DA filter; None for an open end (QIDO-12)."""

    low: str | None
    high: str | None


def _parse_date(text: str, keyword: str) -> str:
    try:
        if not re.fullmatch(r"\d{8}", text):
            raise ValueError(text)
        datetime.strptime(text, "%Y%m%d")
    except ValueError:
        raise QueryValueError(
            f"Invalid query: specified Date value '{text}' is invalid for attribute '{keyword}'. "
            "Date should be valid and formatted as yyyyMMdd."
        ) from None
    return text


def parse_date_filter(value: str, keyword: str) -> DateRange:
    """``d``, ``d1-d2``, ``d1-`` or ``-d2``; a lone ``-`` or a reversed range is invalid."""
    value = _unpad(value)
    if "-" not in value:
        day = _parse_date(value, keyword)
        return DateRange(day, day)
    low_text, _, high_text = value.partition("-")
    if not low_text and not high_text:
        raise QueryValueError(f"Invalid query: the range '{value}' of attribute '{keyword}' has no bounds.")
    low = _parse_date(low_text, keyword) if low_text else None
    high = _parse_date(high_text, keyword) if high_text else None
    if low and high and low > high:
        raise QueryValueError(f"Invalid query: the range '{value}' of attribute '{keyword}' starts after it ends.")
    return DateRange(low, high)
