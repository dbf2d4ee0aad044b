"""DICOM JSON (PS3.18 Annex F) of stored instances, built with pydicom.

The metadata of an instance (WADO-18) holds every attribute except group 0002, group lengths,
binary VRs (OB, OD, OF, OL, OV, OW, UN: so private data of implicit-VR files, whose VR is
unknown, is absent too, STOW-26) and the attributes dropped at store time (STOW-25). Text
values padded with trailing NUL keep the NUL (STOW-24, WADO-21).
"""

from __future__ import annotations

import logging
from typing import Any

from pydicom.config import IGNORE
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag

from reference_server.dicomfile import decode_text, element_vr, encodings_of, is_binary_vr, raw_item
from reference_server.validation import SINGLE_VALUED_TEXT_VRS

logger = logging.getLogger("reference_server")

JsonObject = dict[str, Any]
# Binary values never reach the JSON, so there is never bulk data to refer to.
_NO_BULK_DATA = 2**62
# Text VRs whose trailing NUL is kept as sent (UI pads with NUL by rule; numbers cannot hold one).
_NUL_KEEPING_VRS = frozenset({"AE", "AS", "CS", "DA", "DT", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UR", "UT"})


def element(tag: int, vr: str, value: Any) -> DataElement:
    """A data element whose value pydicom must not re-validate (values come from files as sent)."""
    return DataElement(BaseTag(tag), vr, value, validation_mode=IGNORE)


def dataset_json(dataset: Dataset) -> JsonObject:
    """``Dataset.to_json_dict`` with binary values inline (there are none in practice)."""
    return dataset.to_json_dict(bulk_data_threshold=_NO_BULK_DATA)


def _nul_preserving(tag: int, vr: str, raw: bytes, encodings: list[str]) -> DataElement | None:
    """Rebuild a text element whose bytes hold a NUL, keeping it (pydicom strips trailing NULs)."""
    if vr not in _NUL_KEEPING_VRS or b"\0" not in raw:
        return None
    text = decode_text(raw, vr, encodings)
    if vr in SINGLE_VALUED_TEXT_VRS:
        values: list[str] = [text.rstrip(" ")]
    else:
        values = [value.rstrip(" ") for value in text.split("\\")]
    return element(tag, vr, values[0] if len(values) == 1 else values)


def _filtered_json(dataset: Dataset, drop: frozenset[int], inherited: list[str] | None = None) -> JsonObject:
    """The DICOM JSON of the elements that belong in metadata (recursively for SQ).

    Each element is converted once, straight to JSON: a value pydicom cannot convert is left
    out on its own instead of spoiling the whole object.
    """
    out: JsonObject = {}
    # Items of a sequence use the character set of the data set around them (PS3.5 6.1.2.5.3).
    encodings = inherited if inherited is not None and 0x00080005 not in dataset else encodings_of(dataset)
    for key in sorted(int(t) for t in dataset.keys()):
        if key >> 16 == 0x0002 or key & 0xFFFF == 0 or key in drop:
            continue
        vr = element_vr(dataset, key)
        if is_binary_vr(vr):
            continue
        raw = raw_item(dataset, key)
        if isinstance(raw, RawDataElement) and isinstance(raw.value, bytes):
            kept = _nul_preserving(key, vr, raw.value, encodings)
            if kept is not None:
                out[f"{key:08X}"] = kept.to_json_dict(None, _NO_BULK_DATA)
                continue
        try:
            converted = dataset[BaseTag(key)]
            if converted.VR == "SQ":
                items = [_filtered_json(item, frozenset(), encodings) for item in converted.value or []]
                # As pydicom writes it: an empty sequence has no Value.
                out[f"{key:08X}"] = {"vr": "SQ", "Value": items} if items else {"vr": "SQ"}
            elif not is_binary_vr(converted.VR):
                out[f"{key:08X}"] = converted.to_json_dict(None, _NO_BULK_DATA)
        except Exception:  # a value pydicom cannot convert (e.g. IS "abc") is left out
            logger.debug("attribute (%08X) left out of metadata: value not convertible", key, exc_info=True)
    return out


def _without_empty_name_groups(attributes: JsonObject) -> JsonObject:
    """PS3.18 F.2.2: an absent component group (``A==P``) has no member, not an empty one."""
    for attribute in attributes.values():
        values = attribute.get("Value")
        if not isinstance(values, list):
            continue
        if attribute.get("vr") == "PN":
            attribute["Value"] = [
                {group: text for group, text in value.items() if text} if isinstance(value, dict) else value
                for value in values
            ]
        elif attribute.get("vr") == "SQ":
            for item in values:
                if isinstance(item, dict):
                    _without_empty_name_groups(item)
    return attributes


def metadata_json(dataset: Dataset, drop: frozenset[int] = frozenset()) -> JsonObject:
    """WADO-18: the metadata object of one instance."""
    return _without_empty_name_groups(_filtered_json(dataset, drop))
