"""The DICOM JSON model (PS3.18 Annex F), read and written through pydicom.

Conversion goes through ``pydicom.Dataset.from_json`` / ``to_json_dict``; this module only adds
what a conformance suite needs around them: a conversion that does not let pydicom's value
warnings leak into the caller, the record of every ``BulkDataURI`` met, and small helpers to
compare a stored dataset with what a server returns.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydicom import Dataset
from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword

# PS3.18 F.2.3 / the service's metadata rule (WADO-18): binary VRs carry no Value.
BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})


class DicomJsonError(ValueError):
    """A DICOM JSON document that pydicom cannot turn into a dataset."""


@dataclass
class BulkDataRefs:
    """The ``BulkDataURI`` values met while converting (tag, URI)."""

    uris: list[tuple[str, str]] = field(default_factory=list)

    def handler(self, tag: str, vr: str, uri: str) -> bytes:
        self.uris.append((tag, uri))
        return b""


def dataset_from_json(obj: dict[str, Any], refs: BulkDataRefs | None = None) -> Dataset:
    """Convert one DICOM JSON object to a pydicom ``Dataset``.

    Raises ``DicomJsonError`` with pydicom's reason when the object is not DICOM JSON.
    """
    if not isinstance(obj, dict):
        raise DicomJsonError(f"a DICOM JSON dataset is an object, got {type(obj).__name__}")
    refs = refs if refs is not None else BulkDataRefs()
    with warnings.catch_warnings():
        # Odd values from a server are findings for the checks, not warnings for the user.
        warnings.simplefilter("ignore")
        try:
            return Dataset.from_json(obj, bulk_data_uri_handler=refs.handler)
        except Exception as exc:  # pydicom raises ValueError, TypeError, KeyError alike
            raise DicomJsonError(f"not a DICOM JSON dataset: {exc}") from exc


def dataset_to_json(ds: Dataset) -> dict[str, Any]:
    """Convert a dataset to a DICOM JSON object (binary values inline as base64)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ds.to_json_dict(bulk_data_threshold=1 << 62)


def loads(body: bytes) -> Any:
    """Decode a JSON body as UTF-8 (PS3.18 F.2: DICOM JSON is UTF-8)."""
    return json.loads(body.decode("utf-8"))


def tag_key(keyword_or_tag: str | int) -> str:
    """The 8-hex-digit key of an attribute given by keyword or tag number."""
    if isinstance(keyword_or_tag, int):
        return f"{keyword_or_tag:08X}"
    tag = tag_for_keyword(keyword_or_tag)
    if tag is None:
        if len(keyword_or_tag) == 8:
            int(keyword_or_tag, 16)
            return keyword_or_tag.upper()
        raise KeyError(f"unknown DICOM keyword {keyword_or_tag!r}")
    return f"{tag:08X}"


def describe_tag(key: str) -> str:
    """``(gggg,eeee) Keyword`` for an 8-hex key, for messages."""
    tag = int(key, 16)
    keyword = keyword_for_tag(tag) or "private/unknown"
    return f"({key[:4]},{key[4:]}) {keyword}"


def json_values(obj: dict[str, Any], key: str) -> list[Any] | None:
    """The ``Value`` array of attribute ``key`` in a raw DICOM JSON object (None if absent)."""
    element = obj.get(key)
    if not isinstance(element, dict):
        return None
    value = element.get("Value")
    return value if isinstance(value, list) else None


def top_level_keys(obj: dict[str, Any]) -> list[str]:
    return sorted(obj)


def expected_metadata_keys(ds: Dataset, *, exclude_vrs: Iterable[str] = BINARY_VRS) -> set[str]:
    """Top-level keys a metadata answer for ``ds`` should hold (binary VRs excluded)."""
    skip = set(exclude_vrs)
    keys = set()
    for element in ds:
        vr = element.VR
        if vr in skip or element.tag.group == 0x0002:
            continue
        keys.add(f"{int(element.tag):08X}")
    return keys


def dictionary_vr(key: str) -> str | None:
    try:
        return str(dictionary_VR(int(key, 16)))
    except KeyError:
        return None
