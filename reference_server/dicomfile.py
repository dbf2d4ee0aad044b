"""Reading an uploaded Part-10 file: structure, transfer syntax, element VRs, text values.

The server validates values itself (validation.py), so pydicom is only asked to find elements
and to convert the ones that are returned as metadata. Values larger than ``DEFER_BYTES`` are
not loaded (a 2 GB Pixel Data value is never read into memory here).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pydicom
from pydicom.charset import convert_encodings, decode_bytes
from pydicom.datadict import dictionary_VM, dictionary_VR
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag

from reference_server.structure import (
    IMPLICIT_VR_LITTLE_ENDIAN,
    MAGIC,
    PREAMBLE_LENGTH,
    PixelLocation,
    StructureError,
    check_structure,
)

logger = logging.getLogger("reference_server")

DEFER_BYTES = 256 * 1024
# WADO-18: VRs never returned as metadata.
BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})


class UnreadableDicomError(ValueError):
    """The bytes are not a complete DICOM Part-10 file (STOW: FailureReason 43264)."""


def configure_pydicom() -> None:
    """Process-wide pydicom settings the server relies on.

    Values are validated by the server itself, so pydicom must neither warn about nor reject
    invalid values while reading them (a warning in a worker thread is noise at best).
    """
    pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE


def is_private(tag: int) -> bool:
    return bool((tag >> 16) & 1)


def is_private_creator(tag: int) -> bool:
    return is_private(tag) and 0x0010 <= (tag & 0xFFFF) <= 0x00FF


def resolve_vr(tag: int, explicit_vr: str | None) -> str:
    """The VR of an element: as encoded, else from the dictionary; unknown private data is UN."""
    if explicit_vr:
        return str(explicit_vr)
    if tag & 0xFFFF == 0:
        return "UL"  # group length
    if is_private(tag):
        return "LO" if is_private_creator(tag) else "UN"
    try:
        return str(dictionary_VR(tag))
    except KeyError:
        return "UN"


def dictionary_multiplicity(tag: int) -> str | None:
    if is_private(tag):
        return None
    try:
        return str(dictionary_VM(tag))
    except KeyError:
        return None


def is_binary_vr(vr: str) -> bool:
    """Ambiguous dictionary VRs such as ``OB or OW`` count as binary when any choice is."""
    return any(choice.strip() in BINARY_VRS for choice in vr.split(" or "))


@dataclass(slots=True)
class DicomPart:
    """One readable upload: its dataset (values deferred) and what the walk found."""

    path: Path
    size: int
    dataset: Dataset
    transfer_syntax: str
    pixel: PixelLocation | None

    @property
    def is_implicit_vr(self) -> bool:
        """STOW-21: an implicit-VR file earns WarningReason 45063."""
        return self.transfer_syntax == IMPLICIT_VR_LITTLE_ENDIAN

    @property
    def encodings(self) -> list[str]:
        return encodings_of(self.dataset)

    def top_level_tags(self) -> list[int]:
        return sorted(int(t) for t in self.dataset.keys())

    def vr_of(self, tag: int) -> str:
        return element_vr(self.dataset, tag)

    def text(self, tag: int) -> str | None:
        """Decoded text of a text element with its padding kept; None when absent or not text."""
        return element_text(self.dataset, tag, self.encodings)


def encodings_of(dataset: Dataset) -> list[str]:
    raw = dataset.get_item(0x00080005)
    value: Any = raw.value if raw is not None else None
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace").strip(" \0").split("\\")
    try:
        return list(convert_encodings(value))
    except LookupError:
        return ["iso8859"]


def raw_item(dataset: Dataset, tag: int) -> DataElement | RawDataElement | None:
    """The element as read, without loading a deferred value.

    pydicom's annotations say ``get_item`` returns a DataElement; with ``keep_deferred`` it
    returns the RawDataElement as read when the value has not been converted yet.
    """
    item: Any = dataset.get_item(tag, keep_deferred=True)
    return cast(DataElement | RawDataElement | None, item)


def element_vr(dataset: Dataset, tag: int) -> str:
    item = raw_item(dataset, tag)
    return resolve_vr(tag, item.VR if item is not None else None)


def element_length(dataset: Dataset, tag: int) -> int:
    item = raw_item(dataset, tag)
    if isinstance(item, RawDataElement):
        return int(item.length)
    if isinstance(item, DataElement):
        value = item.value
        return len(value) if isinstance(value, bytes | str) else 0
    return 0


# PS3.5 6.1.2.5.3: characters that switch an ISO 2022 text back to its initial code element.
_PN_DELIMITERS = {0x5C, 0x5E, 0x3D}
_TEXT_DELIMITERS = {0x5C, 0x0D, 0x0A, 0x09, 0x0C}


def decode_text(raw: bytes, vr: str, encodings: list[str]) -> str:
    """Decode the bytes of a text value with the data set's character set (latin-1 as a last resort)."""
    try:
        return decode_bytes(raw, encodings, _PN_DELIMITERS if vr == "PN" else _TEXT_DELIMITERS)
    except (LookupError, UnicodeError, ValueError):
        return raw.decode("latin-1")


def element_text(dataset: Dataset, tag: int, encodings: list[str]) -> str | None:
    """The decoded text of an element as stored (backslashes and padding kept).

    Values over DEFER_BYTES are not read (None): only unlimited-text VRs get that long.
    """
    item = raw_item(dataset, tag)
    if item is None:
        return None
    if isinstance(item, RawDataElement):
        if item.value is None:
            return "" if item.length == 0 else None
        return decode_text(item.value, resolve_vr(tag, item.VR), encodings)
    value = item.value
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple) or hasattr(value, "__iter__"):
        return "\\".join(str(v) for v in value)  # a converted multi-valued element
    return str(value)


def read_part(path: Path) -> DicomPart:
    """Open an upload as a DICOM Part-10 file; raise UnreadableDicomError when it is not one."""
    size = os.path.getsize(path)
    if size < PREAMBLE_LENGTH + len(MAGIC):
        raise UnreadableDicomError("the part is too short to be a DICOM Part-10 file")
    with open(path, "rb") as fp:
        fp.seek(PREAMBLE_LENGTH)
        if fp.read(len(MAGIC)) != MAGIC:
            raise UnreadableDicomError("the part has no 'DICM' prefix after the 128-byte preamble")
        try:
            # Deferred values are read later by pydicom through the file name.
            dataset = pydicom.dcmread(str(path), defer_size=DEFER_BYTES)
        except Exception as exc:  # pydicom raises many kinds of errors on garbage; all mean "unreadable"
            raise UnreadableDicomError(f"the part cannot be read as DICOM: {exc}") from exc
        transfer_syntax = str(dataset.file_meta.get("TransferSyntaxUID", "") or "").rstrip("\0 ")
        if not transfer_syntax:
            raise UnreadableDicomError("the part has no Transfer Syntax UID in its file meta information")
        try:
            pixel = check_structure(fp, size, transfer_syntax)
        except StructureError as exc:
            raise UnreadableDicomError(f"the part is not a complete DICOM file: {exc}") from exc
    return DicomPart(path=path, size=size, dataset=dataset, transfer_syntax=transfer_syntax, pixel=pixel)


def iter_items(dataset: Dataset, tag: int) -> Iterator[Dataset]:
    """The items of a sequence element (converting it); nothing when it is not a readable sequence."""
    try:
        element = dataset[BaseTag(tag)]
    except Exception:  # a sequence that pydicom cannot parse has no usable items
        logger.debug("sequence (%08X) could not be read", tag, exc_info=True)
        return
    if element.VR == "SQ" and element.value is not None:
        yield from element.value
