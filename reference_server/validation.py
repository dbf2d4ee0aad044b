"""Value validation: UID rules (GEN-04, AMB-02) and per-VR checks of stored values (STOW-19, STOW-25).

The rules follow what the Azure implementation enforces (fo-dicom's validators), and the
reasons are worded like fo-dicom's so that ErrorComments read the same:
``Content "<value>" does not validate VR <VR>: <reason>``. Empty values are always valid.
"""

from __future__ import annotations

import re
from collections.abc import Callable

MAX_UID_LENGTH = 64
# AMB-02 (implemented rule): digits and dots, ending with a digit; leading zeros accepted.
_UID = re.compile(r"[0-9.]*[0-9]")

INVALID_PATH_UID_MESSAGE = (
    "DICOM Identifier '{value}' is invalid. Value length should not exceed the maximum length of "
    "64 characters. Value should contain only the characters '0'-'9' and '.', and end with a digit."
)

# VRs whose value is a single string even when it contains a backslash (PS3.5 6.2).
SINGLE_VALUED_TEXT_VRS = frozenset({"LT", "ST", "UT", "UR"})
TEXT_VRS = frozenset(
    {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT"}
)
# Binary numeric VRs and the size of one value in bytes.
NUMERIC_VR_SIZES = {"AT": 4, "FD": 8, "FL": 4, "SL": 4, "SS": 2, "SV": 8, "UL": 4, "US": 2, "UV": 8}


def strip_uid(value: str) -> str:
    """A UID without its padding: trailing NUL (PS3.5 9.1) and trailing spaces (GEN-04)."""
    return value.rstrip("\0 ")


def is_valid_uid(value: str) -> bool:
    """GEN-04 / AMB-02: after trimming trailing spaces, ``^[0-9.]*[0-9]$`` and at most 64 characters."""
    trimmed = value.rstrip(" ")
    return len(trimmed) <= MAX_UID_LENGTH and _UID.fullmatch(trimmed) is not None


def invalid_uid_message(value: str) -> str:
    """The 400 text for an invalid identifier in a URL path (GEN-04)."""
    return INVALID_PATH_UID_MESSAGE.format(value=value)


def error_comment(tag: int, reason: str) -> str:
    """STOW-19: ``DICOM100: (gggg,eeee) - <reason>`` (tag hex as fo-dicom prints it, lower case)."""
    return f"DICOM100: ({tag >> 16:04x},{tag & 0xFFFF:04x}) - {reason}"


def missing_required_reason(tag: int) -> str:
    return f"The required tag '({tag >> 16:04x},{tag & 0xFFFF:04x})' is missing."


def _is_control_except_esc(char: str) -> bool:
    code = ord(char)
    return (code < 0x20 or 0x7F <= code <= 0x9F) and code != 0x1B


def _has_invalid_text_chars(value: str) -> bool:
    return "\\" in value or any(_is_control_except_esc(c) for c in value)


def _check_ae(v: str) -> str | None:
    if len(v) > 16:
        return "value exceeds maximum length of 16 characters"
    if not v.strip():
        return "value may not consist only of spaces"
    if _has_invalid_text_chars(v):
        return "value contains invalid control character"
    return None


def _check_as(v: str) -> str | None:
    return None if re.fullmatch(r"\d\d\d[DWMY]", v) else "value does not have pattern 000[DWMY]"


def _check_cs(v: str) -> str | None:
    if len(v) > 16:
        return "value exceeds maximum length of 16 characters"
    if not re.fullmatch(r"[A-Z0-9_ ]*", v):
        return "value contains invalid character. Only uppercase characters, digits, space and underscore are allowed"
    return None


def _check_da(v: str) -> str | None:
    if not re.fullmatch(r"\d{8}", v):
        return "one of the date values does not match the pattern YYYYMMDD"
    if int(v[4:6]) > 12:
        return "month component exceeds the value 12"
    if int(v[6:8]) > 31:
        return "day component exceeds the value 31"
    return None


def _check_ds(v: str) -> str | None:
    if len(v) > 16:
        return "value exceeds maximum length of 16 characters"
    if not re.fullmatch(r"[+-]?((\d+(\.\d*)?)|(\.\d+))([eE][-+]?\d+)?", v.strip(" ")):
        return "value is no decimal string"
    return None


_DT = re.compile(r"(\d{4}|\d{6}|\d{8}|\d{10}|\d{12}|\d{14}|\d{14}\.\d{1,6})([+-]\d{4})?")


def _check_dt(v: str) -> str | None:
    match = _DT.fullmatch(v)
    if match is None:
        return "value does not mach pattern YYYY[MM[DD[HH[MM[SS[.F{1-6}]]]]]]"
    digits = match.group(1)
    limits = ((4, 6, 1, 12, "month"), (6, 8, 1, 31, "day"), (8, 10, 0, 23, "hours"), (10, 12, 0, 59, "minutes"))
    for start, end, low, high, name in limits:
        if len(digits) >= end and not low <= int(digits[start:end]) <= high:
            return f"{name} component is out of range"
    if len(digits) >= 14 and int(digits[12:14]) > 60:
        return "seconds component exceeds 60"
    return None


def _check_is(v: str) -> str | None:
    trimmed = v.strip(" ")
    if not re.fullmatch(r"[+-]?\d+", trimmed):
        return "value is not an integer string"
    if not -(2**31) <= int(trimmed) <= 2**31 - 1:
        return "value too large to fit 32 bit integer"
    return None


def _check_lo(v: str) -> str | None:
    if len(v) > 64:
        return "value exceeds maximum length of 64 characters"
    if _has_invalid_text_chars(v):
        return "value contains invalid character"
    return None


def _check_lt(v: str) -> str | None:
    return "value exceeds maximum length of 10240 characters" if len(v) > 10240 else None


def _check_pn(v: str) -> str | None:
    groups = v.split("=")
    if len(groups) > 3:
        return "value contains too many groups"
    for group in groups:
        if len(group) > 64:
            return "value exceeds maximum length of 64 characters"
        if any(_is_control_except_esc(c) for c in group):
            return "value contains invalid control character"
    if any(len(group.split("^")) > 5 for group in groups):
        return "value contains too many components"
    return None


def _check_sh(v: str) -> str | None:
    if _has_invalid_text_chars(v):
        return "value contains invalid character"
    if len(v) > 16:
        return "value exceeds maximum length of 16 characters"
    return None


def _check_st(v: str) -> str | None:
    return "value exceeds maximum length of 1024 characters" if len(v) > 1024 else None


def _check_tm(v: str) -> str | None:
    if not re.fullmatch(r"\d{2}|\d{4}|\d{6}|\d{6}\.\d{1,6}", v):
        return "value does not mach pattern HH or HHMM or HHMMSS or HHMMSS.F{1-6}"
    if int(v[0:2]) > 23:
        return "hour component exceeds 23"
    if len(v) >= 4 and int(v[2:4]) > 59:
        return "minutes component exceeds 59"
    if len(v) >= 6 and int(v[4:6]) > 60:
        return "seconds component exceeds 60"
    return None


def _check_ui(v: str) -> str | None:
    if len(v) > MAX_UID_LENGTH:
        return "value exceeds maximum length of 64 characters"
    if not re.fullmatch(r"[0-9.]*", v):
        return "value contains invalid characters other than '0'-'9' and '.'"
    if _UID.fullmatch(v) is None:
        return "a component can not be empty"
    return None


_CHECKS: dict[str, Callable[[str], str | None]] = {
    "AE": _check_ae,
    "AS": _check_as,
    "CS": _check_cs,
    "DA": _check_da,
    "DS": _check_ds,
    "DT": _check_dt,
    "IS": _check_is,
    "LO": _check_lo,
    "LT": _check_lt,
    "PN": _check_pn,
    "SH": _check_sh,
    "ST": _check_st,
    "TM": _check_tm,
    "UI": _check_ui,
}


def split_values(vr: str, text: str) -> list[str]:
    """The values of a decoded text element, padding removed (trailing spaces; NUL for UI)."""
    if vr in SINGLE_VALUED_TEXT_VRS:
        return [text.rstrip(" ")]
    values = text.split("\\")
    if vr == "UI":
        return [value.rstrip("\0 ") for value in values]
    return [value.rstrip(" ") for value in values]


def check_text(vr: str, text: str) -> str | None:
    """Validate a decoded text element of ``vr``; the ErrorComment reason, or None when valid.

    Trailing NUL padding is the caller's business (STOW-24 strips it before calling).
    """
    check = _CHECKS.get(vr)
    if check is None:
        return None
    for value in split_values(vr, text):
        if value == "":
            continue
        reason = check(value)
        if reason is not None:
            return f'Content "{value}" does not validate VR {vr}: {reason}'
    return None


def check_binary_length(vr: str, length: int) -> str | None:
    """Binary numeric VRs: the value length must be a multiple of the value size."""
    size = NUMERIC_VR_SIZES.get(vr)
    if size is None or length % size == 0:
        return None
    return f"Value length {length} of VR {vr} is not a multiple of {size}"


def max_multiplicity(vm: str) -> int | None:
    """The largest number of values a dictionary VM string allows (None: unbounded or unknown)."""
    upper = vm.split("-")[-1].strip()
    return int(upper) if upper.isdigit() else None


def check_multiplicity(vr: str, count: int, vm: str) -> str | None:
    """v2 generic validation: more values than the dictionary allows is invalid (STOW-22)."""
    maximum = max_multiplicity(vm)
    if maximum is None or count <= maximum:
        return None
    return f"Number of values {count} of VR {vr} exceeds the value multiplicity {vm} of the attribute"
