"""Compare a dataset the suite stored with the DICOM JSON a target returns for it."""

from __future__ import annotations

from typing import Any

from pydicom import Dataset
from pydicom.dataelem import DataElement

from conformance.core.dicom_json import BINARY_VRS, dataset_from_json, dataset_to_json, describe_tag


def _normalise(ds: Dataset) -> Dataset:
    # A JSON round trip gives both sides the same Python types (IS/DS, PN, multi-values).
    return dataset_from_json(dataset_to_json(ds))


def _comparable(element: DataElement) -> bool:
    return element.tag.group != 0x0002 and element.VR not in BINARY_VRS and not element.tag.is_private


def _value_text(element: DataElement) -> str:
    if element.VR == "SQ":
        return f"{len(element.value)} item(s)"
    return repr(element.value)


def metadata_differences(sent: Dataset, returned: dict[str, Any], *, ignore: frozenset[int] = frozenset()) -> list[str]:
    """Attribute-by-attribute differences between ``sent`` and the returned JSON object.

    Binary VRs, file meta (group 0002) and private attributes are not compared (the service
    does not return binary VRs in metadata, WADO-18). Sequences are compared item by item.
    """
    want = _normalise(sent)
    got = dataset_from_json(returned)
    return _differences(want, got, ignore, path="")


def _differences(want: Dataset, got: Dataset, ignore: frozenset[int], path: str) -> list[str]:
    problems: list[str] = []
    for element in want:
        if not _comparable(element) or int(element.tag) in ignore:
            continue
        key = f"{int(element.tag):08X}"
        where = f"{path}{describe_tag(key)}"
        if element.tag not in got:
            problems.append(f"{where}: missing (sent {_value_text(element)})")
            continue
        other = got[element.tag]
        if other.VR != element.VR and not (element.VR in ("OB", "UN") or other.VR == "UN"):
            problems.append(f"{where}: VR {other.VR}, sent {element.VR}")
            continue
        if element.VR == "SQ":
            if len(other.value) != len(element.value):
                problems.append(f"{where}: {len(other.value)} item(s), sent {len(element.value)}")
                continue
            for index, (item_want, item_got) in enumerate(zip(element.value, other.value, strict=True), start=1):
                problems += _differences(item_want, item_got, ignore, f"{where} item {index} > ")
            continue
        if _canonical(element) != _canonical(other):
            problems.append(f"{where}: {_value_text(other)}, sent {_value_text(element)}")
    return problems


def _canonical(element: DataElement) -> Any:
    value = element.value
    if value is None or value == "":
        return None
    if element.VR == "PN":
        return str(value)
    if hasattr(value, "__iter__") and not isinstance(value, str | bytes):
        return [str(v) for v in value]
    return str(value)
