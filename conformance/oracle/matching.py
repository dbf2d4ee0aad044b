"""How one filter value compares with one stored value (QIDO-11..17, QIDO-21).

Pure functions over text. The rules are those of the Azure DICOM service's conformance
statements (D1, D2) unless ``MatchingRules`` says otherwise:

* UIDs and every other value are compared literally: ``*``, ``?`` and UID lists are not
  special (QIDO-16). Trailing spaces and NUL padding are never significant (QIDO-21).
* Person names: the whole stored value, case- and accent-insensitive (QIDO-14, QIDO-15); with
  ``fuzzymatching=true`` every word of the filter must start some word of the name (QIDO-13).
* Other strings: case-insensitive, accent-sensitive (QIDO-14).
* Dates: ``YYYYMMDD`` or an inclusive range ``a-b``, ``a-``, ``-b`` (QIDO-12).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from conformance.oracle.attributes import MatchKind

_DATE = re.compile(r"[0-9]{8}")
_NAME_WORDS = re.compile(r"[\^=\s]+")


@dataclass(frozen=True, slots=True)
class MatchingRules:
    """The choices a target makes where PS3.4 C.2.2.2 leaves them open.

    The defaults are the Azure service's (D1, D2, SRC); ``range_keywords`` and
    ``fuzzy_keywords`` follow AMB-04 and AMB-05 (implemented: every DA and every PN attribute).
    """

    fold_case_strings: bool = True
    fold_case_names: bool = True
    fold_accents_names: bool = True
    range_keywords: frozenset[str] = field(
        default_factory=lambda: frozenset({"StudyDate", "PatientBirthDate", "PerformedProcedureStepStartDate"})
    )
    fuzzy_keywords: frozenset[str] = field(default_factory=lambda: frozenset({"PatientName", "ReferringPhysicianName"}))
    reversed_range_is_error: bool = True
    newest_first: bool = True


class InvalidFilter(ValueError):
    """A filter value the target must refuse with 400; ``behavior`` names the rule."""

    def __init__(self, message: str, behavior: str) -> None:
        super().__init__(message)
        self.behavior = behavior


def unpad(value: str) -> str:
    """Without the padding DICOM allows (trailing spaces, trailing NUL: QIDO-21; leading spaces)."""
    return value.rstrip("\0 ").lstrip(" ")


def strip_accents(value: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", value) if not unicodedata.combining(c))


def normalize_string(value: str, rules: MatchingRules) -> str:
    text = unicodedata.normalize("NFC", unpad(value))
    return text.casefold() if rules.fold_case_strings else text


def normalize_name(value: str, rules: MatchingRules) -> str:
    """A PN value for whole-value comparison: trailing empty components and groups dropped."""
    text = unicodedata.normalize("NFC", unpad(value))
    if rules.fold_accents_names:
        text = strip_accents(text)
    if rules.fold_case_names:
        text = text.casefold()
    return text.rstrip("^= ")


def name_words(value: str) -> list[str]:
    return [word for word in _NAME_WORDS.split(value) if word]


def fuzzy_name_match(stored: str, wanted: str, rules: MatchingRules) -> bool:
    """QIDO-13: every word of ``wanted`` is the beginning of some word of ``stored``.

    Words are separated by spaces, ``^`` and ``=``; case and accents never matter here."""
    folded = MatchingRules(fold_case_names=True, fold_accents_names=True)
    words = name_words(normalize_name(stored, folded))
    query = name_words(normalize_name(wanted, folded))
    return bool(query) and all(any(word.startswith(part) for word in words) for part in query)


@dataclass(frozen=True, slots=True)
class DateRange:
    """Inclusive bounds; None is an open end."""

    low: str | None
    high: str | None

    def contains(self, value: str) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)


def parse_date(text: str, keyword: str) -> str:
    """A ``YYYYMMDD`` calendar date, or InvalidFilter (QIDO-12: 400 naming the format)."""
    valid = bool(_DATE.fullmatch(text))
    if valid:
        try:
            date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            valid = False
    if not valid:
        raise InvalidFilter(f"{keyword}: {text!r} is not a date formatted as YYYYMMDD", "QIDO-12")
    return text


def parse_date_filter(value: str, keyword: str, rules: MatchingRules) -> DateRange:
    """``d``, ``d1-d2``, ``d1-`` or ``-d2`` (QIDO-12); ranges only where the rules allow them."""
    text = unpad(value)
    if "-" not in text:
        day = parse_date(text, keyword)
        return DateRange(day, day)
    if keyword not in rules.range_keywords:
        raise InvalidFilter(f"{keyword}: range matching is not supported on this attribute", "QIDO-12")
    low_text, _, high_text = text.partition("-")
    if not low_text and not high_text:
        raise InvalidFilter(f"{keyword}: the range {text!r} has no bounds", "QIDO-12")
    low = parse_date(low_text, keyword) if low_text else None
    high = parse_date(high_text, keyword) if high_text else None
    if low is not None and high is not None and low > high and rules.reversed_range_is_error:
        raise InvalidFilter(f"{keyword}: the range {text!r} starts after it ends", "QIDO-12")
    return DateRange(low, high)


def check_filter(keyword: str, kind: MatchKind, value: str, fuzzy: bool, rules: MatchingRules) -> None:
    """Raise InvalidFilter when ``value`` must be refused (QIDO-10, QIDO-12, QIDO-13)."""
    if value == "":
        raise InvalidFilter(f"{keyword}: an empty filter value is not supported", "QIDO-10")
    if kind is MatchKind.DATE:
        parse_date_filter(value, keyword, rules)
    if kind is MatchKind.PERSON_NAME and fuzzy and keyword in rules.fuzzy_keywords and '"' in value:
        raise InvalidFilter(f"{keyword}: a fuzzy matching value must not contain '\"'", "QIDO-13")


def value_matches(
    keyword: str, kind: MatchKind, stored: str | None, value: str, fuzzy: bool, rules: MatchingRules
) -> bool:
    """Whether one stored value (None: absent or empty) satisfies the filter ``value``.

    ``check_filter`` must have accepted ``value``. ModalitiesInStudy is decided by the caller,
    which knows the study's series (QIDO-17)."""
    if stored is None or unpad(stored) == "":
        return False
    if kind is MatchKind.UID:
        return unpad(stored) == unpad(value)
    if kind is MatchKind.DATE:
        return parse_date_filter(value, keyword, rules).contains(unpad(stored))
    if kind is MatchKind.PERSON_NAME:
        if fuzzy and keyword in rules.fuzzy_keywords:
            return fuzzy_name_match(stored, value, rules)
        return normalize_name(stored, rules) == normalize_name(value, rules)
    return normalize_string(stored, rules) == normalize_string(value, rules)
