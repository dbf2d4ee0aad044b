"""Writing DICOM Part-10 files (PS3.10 7.1) from pydicom data sets, byte by byte under our control.

A Part-10 file is a 128-byte preamble, the prefix ``DICM``, the File Meta Information group
(0002,eeee) in Explicit VR Little Endian, then the data set in the transfer syntax the meta names.

Why not ``pydicom.dcmwrite``: the suite needs files pydicom would refuse or "fix" (a foreign
preamble, values that break their VR's rules, padding it would strip), so the data set is written
element by element here and :class:`RawElement` values are copied to the file verbatim.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from pydicom import Dataset
from pydicom.charset import default_encoding
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import correct_ambiguous_vr, write_data_element, write_dataset, write_file_meta_info
from pydicom.tag import BaseTag, Tag
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pydicom.valuerep import AMBIGUOUS_VR

PREAMBLE_LENGTH: Final = 128
PREFIX: Final = b"DICM"
ZERO_PREAMBLE: Final = bytes(PREAMBLE_LENGTH)

#: A preamble that makes the file look like a little-endian TIFF (``II*\\0`` and the offset of
#: the first IFD). PS3.10 7.1 allows such dual-format files; a server may have to sanitise the
#: preamble before returning the file.
TIFF_PREAMBLE: Final = (b"II*\x00" + (8).to_bytes(4, "little")).ljust(PREAMBLE_LENGTH, b"\x00")

#: Our own Implementation Class UID (PS3.7 D.3.3.2): ``2.25.`` + the UUIDv5 of
#: ``urn:dicomweb-conformance:implementation`` in the URL namespace, so it is stable across runs.
IMPLEMENTATION_CLASS_UID: Final = "2.25.77542729073449387961680526805470622634"
IMPLEMENTATION_VERSION_NAME: Final = "DWC_0_1"

#: The uncompressed transfer syntaxes the builders write (PS3.5 A.1, A.2 and the retired A.3).
SUPPORTED_TRANSFER_SYNTAXES: Final = (ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian)


@dataclass(frozen=True, slots=True)
class RawElement:
    """A data element whose value bytes go into the file unchanged (no validation, no padding).

    ``tag`` replaces an element of the same tag in the data set, if there is one. ``vr`` is written
    in explicit VR transfer syntaxes (PS3.5 7.1.2) and decides the 2- or 4-byte length field.
    """

    tag: int
    vr: str
    value: bytes


def check_transfer_syntax(transfer_syntax: str) -> UID:
    """``transfer_syntax`` as a :class:`UID`, or ``ValueError`` if the builders cannot write it."""
    uid = UID(transfer_syntax)
    if uid not in SUPPORTED_TRANSFER_SYNTAXES:
        names = ", ".join(ts.name for ts in SUPPORTED_TRANSFER_SYNTAXES)
        raise ValueError(f"transfer syntax {transfer_syntax!r} is not supported (only {names})")
    return uid


def file_meta_for(
    ds: Dataset,
    transfer_syntax: str = ExplicitVRLittleEndian,
    *,
    implementation_class_uid: str = IMPLEMENTATION_CLASS_UID,
    implementation_version_name: str | None = IMPLEMENTATION_VERSION_NAME,
) -> FileMetaDataset:
    """The File Meta Information (PS3.10 7.1) for ``ds``: its SOP class and instance, ``transfer_syntax``."""
    if "SOPClassUID" not in ds or "SOPInstanceUID" not in ds:
        raise ValueError("the data set needs SOPClassUID and SOPInstanceUID to derive the file meta")
    meta = FileMetaDataset()
    meta.FileMetaInformationVersion = b"\x00\x01"
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = check_transfer_syntax(transfer_syntax)
    meta.ImplementationClassUID = UID(implementation_class_uid)
    if implementation_version_name is not None:
        meta.ImplementationVersionName = implementation_version_name
    return meta


def write_part10(
    ds: Dataset,
    *,
    preamble: bytes | None = None,
    transfer_syntax: str = ExplicitVRLittleEndian,
    file_meta: FileMetaDataset | None = None,
    raw_elements: Iterable[RawElement] = (),
) -> bytes:
    """``ds`` as a Part-10 file (PS3.10 7.1).

    ``preamble`` must be 128 bytes (default: all zero). ``file_meta`` defaults to
    :func:`file_meta_for`; its (0002,0000) group length is recomputed and its TransferSyntaxUID is
    set to ``transfer_syntax`` (on a copy). ``raw_elements`` are written verbatim in tag order,
    replacing elements of the same tag: that is how invalid values reach the file without
    pydicom validating, converting or re-padding them.
    """
    ts = check_transfer_syntax(transfer_syntax)
    preamble = ZERO_PREAMBLE if preamble is None else bytes(preamble)
    if len(preamble) != PREAMBLE_LENGTH:
        raise ValueError(f"a Part-10 preamble is {PREAMBLE_LENGTH} bytes, not {len(preamble)} (PS3.10 7.1)")
    meta = _meta_to_write(file_meta_for(ds, ts) if file_meta is None else file_meta, ts)
    fp = DicomBytesIO()
    fp.write(preamble)
    fp.write(PREFIX)
    write_file_meta_info(fp, meta, enforce_standard=True)
    fp.is_little_endian = ts.is_little_endian
    fp.is_implicit_VR = ts.is_implicit_VR
    _write_data_set(fp, ds, {Tag(raw.tag): raw for raw in raw_elements})
    return fp.getvalue()


def _write_data_set(fp: DicomBytesIO, ds: Dataset, raw: dict[BaseTag, RawElement]) -> None:
    """Write ``ds`` with ``raw`` spliced in at their tags (PS3.5 7.1: elements in ascending tag order)."""
    if any(elem.VR in AMBIGUOUS_VR for elem in ds.elements()):
        # Resolve "US or SS" & co. against the whole data set before splitting it: a slice may
        # lack the PixelRepresentation the resolution depends on.
        ds = correct_ambiguous_vr(
            _shallow_copy(ds, [elem.tag for elem in ds.elements() if elem.VR in AMBIGUOUS_VR]), fp.is_little_endian
        )
    charset = ds.get("SpecificCharacterSet", default_encoding)
    encodings: str | list[str] = charset if isinstance(charset, str) else list(charset)

    run = Dataset()  # consecutive ordinary elements, written by pydicom with the data set's charset
    for tag in sorted(set(ds.keys()) | raw.keys()):
        element = raw.get(tag)
        if element is None:
            run.add(ds[tag])
            continue
        write_dataset(fp, run, encodings)
        run = Dataset()
        # pydicom copies a RawDataElement's value bytes as they are; the length is taken from them.
        write_data_element(fp, RawDataElement(tag, element.vr, len(element.value), element.value, 0, False, True))
    write_dataset(fp, run, encodings)


def _shallow_copy(ds: Dataset, own: Iterable[int]) -> Dataset:
    """A new data set sharing ``ds``'s elements except those tagged ``own``, which are copied.

    Not ``copy.deepcopy``: copying a value re-validates it, so a deliberately invalid UID would
    warn (or raise under ``-W error``) merely for being copied.
    """
    result = Dataset(dict(ds.items()))  # Dataset(ds) would share ds's element dict, not copy it
    for tag in own:
        result[tag] = copy.copy(ds[tag])
    return result


def _meta_to_write(meta: FileMetaDataset, transfer_syntax: UID) -> FileMetaDataset:
    """``meta`` with TransferSyntaxUID set and a group length element that pydicom may overwrite.

    ``write_file_meta_info`` assigns the computed (0002,0000) in place; on fresh elements in a new
    data set that leaves the caller's meta untouched.
    """
    result = FileMetaDataset(dict(meta.items()))  # a new element dict: FileMetaDataset(meta) would share it
    result[0x00020000] = DataElement(0x00020000, "UL", 0)
    result[0x00020010] = DataElement(0x00020010, "UI", transfer_syntax)
    return result
