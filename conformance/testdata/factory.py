"""``InstanceFactory``: fresh, valid test instances, and deliberately broken variants of them.

Every valid instance gets new ``2.25.`` UIDs (PS3.5 B.2) unless told otherwise, so tests never
collide with each other or with data already on a target. Broken variants start from a valid
instance and damage exactly one thing, so a test knows what the target is reacting to.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Final, TypedDict, Unpack

from pydicom import Dataset
from pydicom.dataelem import DataElement
from pydicom.dataset import FileMetaDataset
from pydicom.tag import Tag
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian, SecondaryCaptureImageStorage

from conformance.core.instances import DicomFile
from conformance.core.uids import new_uid
from conformance.testdata import broken
from conformance.testdata.elements import padded_value, person_name, tag_of, unchecked_element, vr_of
from conformance.testdata.files import dicom_file
from conformance.testdata.part10 import TIFF_PREAMBLE, RawElement, check_transfer_syntax, file_meta_for, write_part10
from conformance.testdata.person_names import PersonNameSample, person_name_sample
from conformance.testdata.synthetic import InstanceContent

DEFAULT_SPECIFIC_CHARACTER_SET: Final = "ISO_IR 192"

#: The attributes a STOW-RS server needs to file an instance at all (Azure's list): removing one
#: must make the store fail for that instance.
REQUIRED_ATTRIBUTES: Final = ("PatientID", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID")

#: The private data element of :meth:`InstanceFactory.implicit_vr_with_private_tag` (PS3.5 7.8.1):
#: creator (0009,0010) reserves block (0009,10xx); the element is (0009,1001), LO.
PRIVATE_CREATOR: Final = "DICOMWEB CONFORMANCE"
PRIVATE_CREATOR_TAG: Final = 0x00090010
PRIVATE_TAG: Final = 0x00091001
PRIVATE_VALUE: Final = "PRIVATE VALUE"

# File meta elements that must agree with data set elements (PS3.10 7.1).
_META_COUNTERPART: Final = {"SOPClassUID": "MediaStorageSOPClassUID", "SOPInstanceUID": "MediaStorageSOPInstanceUID"}


class _Content(TypedDict, total=False):
    """Options for what an instance says, shared by all instances of a study."""

    sop_class_uid: str
    patient_name: str
    modality: str
    study_date: str
    transfer_syntax: str
    attributes: Mapping[str, object] | None


class _Size(TypedDict, total=False):
    """Options for the image matrix."""

    rows: int
    columns: int
    frames: int


class _Identity(TypedDict, total=False):
    """Options naming the study, the patient and the file."""

    study_uid: str | None
    patient_id: str | None
    label: str | None


class _Placement(TypedDict, total=False):
    """Options that place one instance within its study."""

    series_uid: str | None
    sop_instance_uid: str | None
    series_number: int
    instance_number: int


class StudyOptions(_Content, _Size, total=False):
    """Keyword arguments :meth:`InstanceFactory.study` passes on to every instance."""


class MultiframeOptions(_Content, _Identity, _Placement, total=False):
    """Keyword arguments of :meth:`InstanceFactory.multiframe` besides frames, rows and columns."""


class InstanceOptions(_Content, _Identity, _Placement, _Size, total=False):
    """Keyword arguments of :meth:`InstanceFactory.instance`, accepted by the broken variants too."""


def _charset_terms(value: object) -> tuple[str, ...]:
    """A Specific Character Set value as a tuple of terms; None or empty means absent."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Sequence) and all(isinstance(term, str) for term in value):
        return tuple(str(term) for term in value)
    raise TypeError(f"SpecificCharacterSet must be a string or a list of strings, not {value!r}")


class InstanceFactory:
    """Builds :class:`DicomFile` test instances; ``uid_factory`` supplies every new UID.

    A deterministic ``uid_factory`` makes every output deterministic: the short patient and
    accession identifiers are derived from UIDs it returns.
    """

    def __init__(self, uid_factory: Callable[[], str] = new_uid) -> None:
        self._uid_factory = uid_factory

    def new_uid(self) -> str:
        """A UID from the factory's ``uid_factory``."""
        return self._uid_factory()

    def short_id(self, prefix: str = "DWC") -> str:
        """``<prefix>-<8 hex digits>``, e.g. a PatientID (LO) or AccessionNumber (SH, <= 16 chars)."""
        return f"{prefix}-{hashlib.sha256(self.new_uid().encode()).hexdigest()[:8].upper()}"

    # -- valid instances ---------------------------------------------------------------------

    def instance(
        self,
        *,
        study_uid: str | None = None,
        series_uid: str | None = None,
        sop_instance_uid: str | None = None,
        sop_class_uid: str = SecondaryCaptureImageStorage,
        patient_id: str | None = None,
        patient_name: str = "Conformance^Test",
        modality: str = "OT",
        study_date: str = "20240102",
        transfer_syntax: str = ExplicitVRLittleEndian,
        rows: int = 4,
        columns: int = 4,
        frames: int = 1,
        series_number: int = 1,
        instance_number: int = 1,
        attributes: Mapping[str, object] | None = None,
        label: str | None = None,
    ) -> DicomFile:
        """One valid Secondary Capture instance (see :mod:`conformance.testdata.synthetic`).

        Unset UIDs and ``patient_id`` are fresh. Pixel data is 8-bit MONOCHROME2, each frame a
        different byte pattern; more than one frame adds NumberOfFrames. ``attributes`` maps
        keywords to values set last (None deletes the attribute); SpecificCharacterSet among them
        also decides how PN values are encoded. The file meta follows the final SOP class and
        instance UIDs; a deleted one keeps the generated value in the meta.
        """
        ts = check_transfer_syntax(transfer_syntax)
        overrides = dict(attributes or {})
        charset = _charset_terms(overrides.pop("SpecificCharacterSet", DEFAULT_SPECIFIC_CHARACTER_SET))
        content = InstanceContent(
            study_uid=study_uid or self.new_uid(),
            series_uid=series_uid or self.new_uid(),
            sop_instance_uid=sop_instance_uid or self.new_uid(),
            sop_class_uid=sop_class_uid,
            patient_id=patient_id if patient_id is not None else self.short_id("DWC"),
            patient_name=patient_name,
            modality=modality,
            study_date=study_date,
            study_time="120000",
            accession_number=self.short_id("ACC"),
            series_number=series_number,
            instance_number=instance_number,
            rows=rows,
            columns=columns,
            frames=frames,
            specific_character_set=charset,
        )
        ds = content.dataset()
        meta = file_meta_for(ds, ts)
        _apply(ds, overrides, charset)
        for keyword, meta_keyword in _META_COUNTERPART.items():
            if keyword in ds:
                meta[meta_keyword] = DataElement(tag_of(meta_keyword), "UI", ds[keyword].value)
        default_label = f"{modality} instance {rows}x{columns}, {frames} frame(s), {ts.name}"
        return self._write(ds, meta, ts, label or default_label)

    def study(
        self,
        *,
        series: int = 2,
        instances_per_series: int = 2,
        study_uid: str | None = None,
        patient_id: str | None = None,
        label: str | None = None,
        **kw: Unpack[StudyOptions],
    ) -> list[DicomFile]:
        """One fresh study of ``series`` series with ``instances_per_series`` instances each.

        All instances share the study UID, patient and dates; SeriesNumber and InstanceNumber
        count from 1.
        """
        if series < 1 or instances_per_series < 1:
            raise ValueError("a study needs at least one series and one instance per series")
        # Fixed once, so that every instance names the same study and patient.
        study_uid = study_uid or self.new_uid()
        patient_id = patient_id or self.short_id("DWC")
        label = label or "study"
        files = []
        for series_index in range(1, series + 1):
            series_uid = self.new_uid()
            for instance_index in range(1, instances_per_series + 1):
                files.append(
                    self.instance(
                        **kw,
                        study_uid=study_uid,
                        patient_id=patient_id,
                        series_uid=series_uid,
                        series_number=series_index,
                        instance_number=instance_index,
                        label=f"{label} series {series_index} instance {instance_index}",
                    )
                )
        return files

    def multiframe(
        self, *, frames: int = 3, rows: int = 8, columns: int = 8, **kw: Unpack[MultiframeOptions]
    ) -> DicomFile:
        """A multi-frame instance: NumberOfFrames is set (even for one frame), frames differ byte for byte."""
        attributes: dict[str, object] = {}
        if frames == 1:
            # instance() adds the Multi-frame module only for several frames; a multi-frame object has it always.
            attributes = {"NumberOfFrames": "1", "FrameIncrementPointer": Tag("FrameTime"), "FrameTime": "100"}
        attributes.update(kw.get("attributes") or {})
        options: InstanceOptions = {**kw, "frames": frames, "rows": rows, "columns": columns, "attributes": attributes}
        options["label"] = kw.get("label") or f"multi-frame instance {rows}x{columns}, {frames} frame(s)"
        return self.instance(**options)

    def with_person_name(self, name: PersonNameSample | str, **kw: Unpack[InstanceOptions]) -> DicomFile:
        """An instance whose PatientName is a sample of ``fixtures/person-names.json`` (or its id),
        with the Specific Character Set the sample needs (absent when the sample lists none)."""
        sample = person_name_sample(name) if isinstance(name, str) else name
        attributes = {**(kw.get("attributes") or {}), "SpecificCharacterSet": list(sample.specific_character_set)}
        options: InstanceOptions = {**kw, "patient_name": sample.value, "attributes": attributes}
        options["label"] = kw.get("label") or f"person name {sample.id}"
        return self.instance(**options)

    # -- broken inputs ------------------------------------------------------------------------

    def missing_attribute(self, keyword: str, **kw: Unpack[InstanceOptions]) -> DicomFile:
        """An instance without ``keyword`` (usually one of :data:`REQUIRED_ATTRIBUTES`).

        The file meta still names the SOP class and instance (PS3.10 requires them there), so only
        the data set lacks the attribute; the returned identifiers are those the data set has.
        """
        base = self.instance(**kw)
        ds, meta, ts = _editable(base)
        if keyword not in ds:
            raise KeyError(f"instances carry no {keyword} to remove")
        del ds[keyword]
        return self._write(ds, meta, ts, kw.get("label") or f"missing {keyword}")

    def with_raw_value(self, keyword: str, value: str | bytes, **kw: Unpack[InstanceOptions]) -> DicomFile:
        """An instance whose ``keyword`` holds ``value`` exactly, bypassing pydicom's validation.

        Text is encoded in the data set's character set and padded to even length as its VR
        requires (PS3.5 6.2); bytes are written as they are, even of odd length. Examples:
        StudyInstanceUID ``abc.123`` or a 65-character UID, StudyDate ``NotAValidStudyDate``,
        PatientID ``A\\x00B`` (embedded NUL), ``ABC\\x00`` (NUL padding), ``A\\B`` (two values).
        For SOPClassUID / SOPInstanceUID the file meta carries the same value, so the file is
        consistently wrong rather than self-contradictory.
        """
        base = self.instance(**kw)
        ds, meta, ts = _editable(base)
        tag, vr = tag_of(keyword), vr_of(keyword)
        raw = padded_value(vr, value, ds.get("SpecificCharacterSet"))
        text = value if isinstance(value, str) else value.decode("latin-1")
        ds[tag] = unchecked_element(tag, vr, text)
        if keyword in _META_COUNTERPART:
            # The meta is always written by pydicom in ISO 646 / Latin-1: decoding the raw bytes as
            # Latin-1 makes it write the very same bytes back.
            meta_keyword = _META_COUNTERPART[keyword]
            meta[meta_keyword] = unchecked_element(tag_of(meta_keyword), "UI", raw.rstrip(b"\x00").decode("latin-1"))
        label = kw.get("label") or f"{keyword} = {value!r}"
        return self._write(ds, meta, ts, label, raw_elements=[RawElement(tag, vr, raw)])

    def with_preamble(
        self, file: DicomFile | None = None, preamble: bytes = TIFF_PREAMBLE, **kw: Unpack[InstanceOptions]
    ) -> DicomFile:
        """``file`` (default: a new instance built from ``kw``) with a non-zero 128-byte preamble,
        by default one that makes the file look like a TIFF (PS3.10 7.1)."""
        if file is not None and kw:
            raise TypeError("pass either a file or instance options, not both")
        return broken.replace_preamble(file or self.instance(**kw), preamble)

    def non_dicom(self, size: int = 1024) -> DicomFile:
        """``size`` bytes of text that are not DICOM at all."""
        return broken.non_dicom(size)

    def empty(self) -> DicomFile:
        """A file of zero bytes."""
        return broken.empty()

    def truncated(
        self, file: DicomFile | None = None, *, keep: int | None = None, **kw: Unpack[InstanceOptions]
    ) -> DicomFile:
        """The first ``keep`` bytes (default: half) of ``file`` or of a new instance built from ``kw``."""
        if file is not None and kw:
            raise TypeError("pass either a file or instance options, not both")
        return broken.truncate(file or self.instance(**kw), keep)

    def garbage_after_preamble(self) -> DicomFile:
        """Preamble and ``DICM`` prefix followed by text instead of the File Meta Information."""
        return broken.garbage_after_preamble()

    def implicit_vr_with_private_tag(self, **kw: Unpack[InstanceOptions]) -> DicomFile:
        """An Implicit VR Little Endian instance with private creator (0009,0010) and element (0009,1001).

        In Implicit VR the file does not say the private element's VR (PS3.5 7.1.3), so a server
        that does not know the creator must keep the value as UN (PS3.5 6.2.2).
        """
        if UID(kw.get("transfer_syntax", ImplicitVRLittleEndian)) != ImplicitVRLittleEndian:
            raise ValueError("implicit_vr_with_private_tag writes Implicit VR Little Endian only")
        options: InstanceOptions = {**kw, "transfer_syntax": ImplicitVRLittleEndian}
        base = self.instance(**options)
        ds, meta, ts = _editable(base)
        block = ds.private_block(PRIVATE_CREATOR_TAG >> 16, PRIVATE_CREATOR, create=True)
        block.add_new(PRIVATE_TAG & 0xFF, "LO", PRIVATE_VALUE)
        if Tag(PRIVATE_TAG) not in ds:  # the first free block must be 0x10: the data set has no other
            raise AssertionError("private element landed outside block (0009,10xx)")
        label = kw.get("label") or "Implicit VR Little Endian with private element (0009,1001)"
        return self._write(ds, meta, ts, label)

    def with_trailing_space_study_uid(self, **kw: Unpack[InstanceOptions]) -> DicomFile:
        """An instance whose StudyInstanceUID is followed by a space in the file.

        PS3.5 6.2 pads UI values with NUL, never a space, so a server must either reject the
        value or store the UID without the space. The UID has odd length, so the space is the one
        pad byte; the returned ``study_uid`` is the UID without it.
        """
        uid = _odd_length(kw.get("study_uid") or self.new_uid())
        options: InstanceOptions = {**kw, "study_uid": uid}
        base = self.instance(**options)
        ds, meta, ts = _editable(base)
        tag = tag_of("StudyInstanceUID")
        ds[tag] = unchecked_element(tag, "UI", uid + " ")
        raw = RawElement(tag, "UI", (uid + " ").encode("ascii"))
        label = kw.get("label") or "StudyInstanceUID padded with a space"
        return self._write(ds, meta, ts, label, raw_elements=[raw], study_uid=uid)

    # -- writing ------------------------------------------------------------------------------

    @staticmethod
    def _write(
        ds: Dataset,
        meta: FileMetaDataset,
        transfer_syntax: UID,
        label: str,
        *,
        raw_elements: Sequence[RawElement] = (),
        study_uid: str | None = None,
    ) -> DicomFile:
        meta.TransferSyntaxUID = transfer_syntax
        ds.file_meta = meta
        data = write_part10(ds, file_meta=meta, transfer_syntax=transfer_syntax, raw_elements=raw_elements)
        return dicom_file(ds, data, label=label, transfer_syntax=transfer_syntax, study_uid=study_uid)


def _apply(ds: Dataset, overrides: Mapping[str, object], charset: tuple[str, ...]) -> None:
    """Set (or, for None, delete) attributes by keyword; PN text is encoded exactly (see person_name)."""
    for keyword, value in overrides.items():
        tag = tag_of(keyword)
        if value is None:
            ds.pop(tag, None)
        elif isinstance(value, DataElement):
            ds[tag] = value
        else:
            vr = vr_of(keyword)
            ds[tag] = DataElement(
                tag, vr, person_name(value, charset) if vr == "PN" and isinstance(value, str) else value
            )


def _editable(file: DicomFile) -> tuple[Dataset, FileMetaDataset, UID]:
    """Copies of the data set and file meta ``file`` was written from (to damage and rewrite),
    and its transfer syntax."""
    if file.dataset is None:
        raise ValueError(f"{file.label} has no data set")
    ds = copy.deepcopy(file.dataset)
    return ds, ds.file_meta, UID(ds.file_meta.TransferSyntaxUID)


def _odd_length(uid: str) -> str:
    """``uid``, lengthened by one digit if needed so that one pad byte makes it even (PS3.5 7.1.1)."""
    if len(uid) % 2:
        return uid
    # Appending a digit keeps a valid UID unless the last component is "0" (no leading zeros, PS3.5 9.1).
    return uid + ("1" if uid.rsplit(".", 1)[-1] != "0" else ".10")
