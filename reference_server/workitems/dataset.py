"""Workitems as DICOM JSON objects (PS3.18 Annex F): reading, checking and changing them.

Workitems are kept as DICOM JSON, not as pydicom datasets: nothing is ever written as a file,
and a JSON object keeps exactly what the client sent. ``check_structure`` refuses what is not
DICOM JSON at all; the values that carry meaning (UIDs, states, date-times) are checked per VR
with the same rules as stored instances (``reference_server.validation``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from typing import Any

from pydicom.datadict import tag_for_keyword

from reference_server.validation import check_text

JsonObject = dict[str, Any]

_KEY = re.compile(r"[0-9A-F]{8}")
_VR = re.compile(r"[A-Z]{2}")
_TEXT_TYPES = (str, int, float)
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


@cache
def key(keyword: str) -> str:
    """The DICOM JSON key (8 upper-case hex digits) of a dictionary keyword."""
    tag = tag_for_keyword(keyword)
    if tag is None:
        raise KeyError(keyword)
    return f"{tag:08X}"


def values(obj: JsonObject, keyword: str) -> list[Any]:
    element = obj.get(key(keyword))
    found = element.get("Value") if isinstance(element, dict) else None
    return found if isinstance(found, list) else []


def first(obj: JsonObject, keyword: str) -> Any:
    found = values(obj, keyword)
    return found[0] if found else None


def text(obj: JsonObject, keyword: str) -> str | None:
    """The first value as text (a PN as its Alphabetic group), or None when there is none."""
    value = first(obj, keyword)
    if isinstance(value, dict):
        value = value.get("Alphabetic")
    if value is None:
        return None
    return str(value)


def present(obj: JsonObject, keyword: str) -> bool:
    return key(keyword) in obj


def has_value(obj: JsonObject, keyword: str) -> bool:
    """The attribute has a value that is not empty (an item, for a sequence)."""
    return any(v not in (None, "", {}) for v in values(obj, keyword))


def items(obj: JsonObject, keyword: str) -> list[JsonObject]:
    return [item for item in values(obj, keyword) if isinstance(item, dict)]


def put(obj: JsonObject, keyword: str, vr: str, *value: Any) -> None:
    """Set ``keyword`` to ``value`` (no value: an empty attribute)."""
    element: JsonObject = {"vr": vr}
    if value:
        element["Value"] = list(value)
    obj[key(keyword)] = element


def now_dt() -> str:
    """The current date-time as a DT value in UTC (PS3.5 Table 6.2-1)."""
    return datetime.now(UTC).strftime("%Y%m%d%H%M%S.%f+0000")


def walk(obj: JsonObject, path: str = "") -> Iterator[tuple[str, str, JsonObject]]:
    """Every (path, key, element) of ``obj``, items of sequences included."""
    for name, element in obj.items():
        here = f"{path}{name}"
        yield here, name, element
        if isinstance(element, dict) and element.get("vr") == "SQ":
            for index, item in enumerate(element.get("Value") or []):
                if isinstance(item, dict):
                    yield from walk(item, f"{here}[{index}].")


def check_structure(obj: Any, path: str = "") -> str | None:
    """Why ``obj`` is not a DICOM JSON dataset (PS3.18 F.2), or None when it is one."""
    if not isinstance(obj, dict):
        return f"{path or 'the dataset'} is not a JSON object"
    for name, element in obj.items():
        where = f"{path}{name}"
        if not _KEY.fullmatch(name):
            return f"'{where}' is not an attribute tag of 8 upper-case hexadecimal digits"
        if not isinstance(element, dict) or not isinstance(element.get("vr"), str) or not _VR.fullmatch(element["vr"]):
            return f"attribute {where} has no valid 'vr'"
        if "BulkDataURI" in element:
            return f"attribute {where}: workitems cannot refer to bulk data"
        inline = element.get("InlineBinary")
        if inline is not None and not (isinstance(inline, str) and len(inline) % 4 == 0 and _BASE64.fullmatch(inline)):
            return f"the InlineBinary of attribute {where} is not a base64 string (PS3.18 F.2.7)"
        value = element.get("Value")
        if value is None:
            continue
        if not isinstance(value, list):
            return f"the 'Value' of attribute {where} is not an array"
        problem = _check_values(element["vr"], value, where)
        if problem:
            return problem
    return None


def _check_values(vr: str, value: list[Any], where: str) -> str | None:
    for index, item in enumerate(value):
        if vr == "SQ":
            problem = check_structure(item, f"{where}[{index}].")
            if problem:
                return problem
        elif vr == "PN":
            if item is not None and not (isinstance(item, dict) and all(isinstance(v, str) for v in item.values())):
                return f"value {index + 1} of person name {where} is not a person name object"
        elif item is not None and not isinstance(item, _TEXT_TYPES):
            return f"value {index + 1} of attribute {where} is not a string or a number"
        elif isinstance(item, str):
            reason = check_text(vr, item)
            if reason:
                return f"attribute {where}: {reason}"
    return None
