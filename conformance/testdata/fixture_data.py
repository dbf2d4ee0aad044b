"""Reading the declarative descriptions in the ``fixtures/`` data folder.

The folder travels with the suite (repository root in a checkout, packaged in a wheel, see
:func:`conformance.core.resources.data_dir`). Its JSON files state *what* to build; the modules
of this package turn them into Part-10 files. Malformed fixtures raise ``ValueError`` naming the
file, so a broken edit fails loudly instead of producing subtly different data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pydicom.datadict import keyword_for_tag
from pydicom.dataelem import DataElement
from pydicom.tag import BaseTag, Tag

from conformance.core.resources import data_dir

#: Scalar or multi-valued attribute value as a fixture states it: text exactly as it is encoded
#: (DS/IS as strings, so "1" stays "1" and does not become "1.0"), integers for binary VRs.
FixtureValue = str | int | list[str]

T = TypeVar("T")


def fixture_path(name: str) -> Path:
    """The path of ``name`` in the ``fixtures/`` data folder."""
    return data_dir("fixtures") / name


def load_json(name: str) -> dict[str, object]:
    """The JSON object in ``fixtures/<name>``."""
    with fixture_path(name).open(encoding="utf-8") as stream:
        document = json.load(stream)
    if not isinstance(document, dict):
        raise ValueError(f"fixtures/{name}: expected a JSON object at the top")
    return document


def require(document: Mapping[str, object], key: str, kind: type[T], source: str) -> T:
    """``document[key]``, checked to be a ``kind`` (``ValueError`` naming ``source`` otherwise)."""
    value = document.get(key)
    if not isinstance(value, kind):
        raise ValueError(f"{source}: {key!r} must be a {kind.__name__}, not {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class AttributeSpec:
    """One attribute of a fixture: ``{"tag": "(0008,0005)", "keyword": ..., "vr": ..., "value": ...}``."""

    tag: BaseTag
    keyword: str
    vr: str
    value: FixtureValue

    def element(self) -> DataElement:
        """The data element, validated by pydicom as usual (fixture values are all valid)."""
        return DataElement(self.tag, self.vr, list(self.value) if isinstance(self.value, list) else self.value)


def _parse_tag(text: str, source: str) -> BaseTag:
    group, _, elem = text.strip("()").partition(",")
    try:
        return Tag(int(group, 16), int(elem, 16))
    except ValueError:
        raise ValueError(f"{source}: {text!r} is not a tag like (0008,0005)") from None


def attribute_specs(items: object, source: str) -> tuple[AttributeSpec, ...]:
    """Parse a fixture's list of attributes, checking each tag against its keyword (PS3.6)."""
    if not isinstance(items, Sequence) or isinstance(items, str):
        raise ValueError(f"{source}: expected a list of attributes")
    specs = []
    for item in items:
        if not isinstance(item, Mapping):
            raise ValueError(f"{source}: an attribute is an object, not {item!r}")
        tag = _parse_tag(require(item, "tag", str, source), source)
        keyword = require(item, "keyword", str, source)
        if keyword_for_tag(tag) != keyword:
            raise ValueError(f"{source}: {item['tag']} is {keyword_for_tag(tag)!r}, not {keyword!r}")
        value = item.get("value")
        if not (isinstance(value, str | int) or (isinstance(value, list) and all(isinstance(v, str) for v in value))):
            raise ValueError(f"{source}: {keyword} value must be a string, an integer or a list of strings")
        specs.append(AttributeSpec(tag, keyword, require(item, "vr", str, source), value))
    return tuple(specs)
