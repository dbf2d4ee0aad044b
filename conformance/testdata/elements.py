"""Data elements from keywords and plain values, and value bytes encoded exactly as asked.

PS3.5 6.2 fixes how each VR is padded to an even length; PS3.5 6.1.2.5 how Specific Character
Set (0008,0005) selects the encoding of text values. pydicom does both when it writes, but it
normalises on the way (it drops trailing empty Person Name component groups, for instance);
these helpers keep values exactly as the fixtures state them.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydicom import config
from pydicom.charset import convert_encodings, encode_string
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.tag import BaseTag, Tag
from pydicom.valuerep import PersonName

#: VRs padded with a NUL byte rather than a space (PS3.5 6.2: UI; the binary VRs).
_NUL_PADDED_VRS = frozenset({"UI", "OB", "OD", "OF", "OL", "OV", "OW", "UN"})


def tag_of(keyword: str) -> BaseTag:
    """The tag of a data dictionary keyword (PS3.6), or ``KeyError`` if it has none."""
    tag = tag_for_keyword(keyword)
    if tag is None:
        raise KeyError(f"{keyword!r} is not a DICOM data dictionary keyword")
    return Tag(tag)


def vr_of(keyword: str) -> str:
    """The VR of ``keyword``; for ambiguous ones ("US or SS") the first, unsigned choice."""
    return dictionary_VR(tag_of(keyword)).split(" or ")[0]


def python_encodings(specific_character_set: str | Sequence[str] | None) -> list[str]:
    """The Python codecs for a Specific Character Set value (PS3.5 6.1.2.5; default ISO-IR 6)."""
    if specific_character_set is None or isinstance(specific_character_set, str):
        return convert_encodings(specific_character_set)
    return convert_encodings(list(specific_character_set))


def person_name(value: str, specific_character_set: str | Sequence[str] | None) -> PersonName:
    """A PN value that is written exactly as ``value``, component groups included (PS3.5 6.2.1).

    pydicom drops trailing empty component groups (``Wang^XiaoDong=王^小東=`` loses its final
    ``=``); encoding each group ourselves and handing pydicom the bytes keeps them, so the file
    holds the literal examples of PS3.5 Annexes H to K. ISO 2022 escape sequences are emitted per
    group, which returns to the initial character set before every ``^`` and ``=`` (PS3.5 H.3.1).
    """
    encodings = python_encodings(specific_character_set)
    groups = [b"^".join(encode_string(part, encodings) for part in group.split("^")) for group in value.split("=")]
    return PersonName(b"=".join(groups), encodings)


def element(keyword: str, value: object, vr: str | None = None) -> DataElement:
    """A data element for ``keyword`` holding ``value``, validated the way pydicom validates.

    ``vr`` defaults to the data dictionary's. An empty string or list gives a zero-length value
    (legal for Type 2 attributes, PS3.5 7.4).
    """
    tag = tag_of(keyword)
    return DataElement(tag, vr or vr_of(keyword), value)


def unchecked_element(tag: int, vr: str, value: object) -> DataElement:
    """A data element holding a value pydicom would reject or warn about, kept as it is.

    Used to describe, in a :class:`~conformance.core.instances.DicomFile`'s ``dataset``, what a
    deliberately broken file carries; ``config.IGNORE`` is per element, not pydicom's global mode.
    """
    return DataElement(Tag(tag), vr, value, validation_mode=config.IGNORE)


def padded_value(vr: str, value: str | bytes, specific_character_set: str | Sequence[str] | None) -> bytes:
    """``value`` encoded for an element of ``vr``: bytes as they are, text padded to even length.

    Text is encoded with the Specific Character Set's first codec and padded with a NUL byte for
    UI and binary VRs, a space otherwise (PS3.5 6.2). Bytes are returned unchanged, even with an
    odd length, because callers use them to write exactly what PS3.5 forbids.
    """
    if isinstance(value, bytes):
        return value
    encoded = value.encode(python_encodings(specific_character_set)[0])
    if len(encoded) % 2:
        encoded += b"\x00" if vr in _NUL_PADDED_VRS else b" "
    return encoded
