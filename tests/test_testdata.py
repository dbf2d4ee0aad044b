"""Tests of ``conformance.testdata``: the rebuilt tutorial samples, the instance factory and
the broken inputs.

The tutorial expectations below are written out literally (from the original files' attribute
table); the test never reads the original files.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import cast

import numpy as np
import pydicom
import pytest
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset, FileDataset
from pydicom.errors import InvalidDicomError
from pydicom.tag import Tag
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGBaseline8Bit,
    SecondaryCaptureImageStorage,
)

from conformance.core.instances import DicomFile
from conformance.core.uids import is_suite_uid, is_valid_uid, uid_of_length
from conformance.testdata import (
    GARBAGE,
    IMPLEMENTATION_CLASS_UID,
    IMPLEMENTATION_VERSION_NAME,
    MAX_DISTINCT_FRAMES,
    PRIVATE_CREATOR,
    PRIVATE_TAG,
    PRIVATE_VALUE,
    REQUIRED_ATTRIBUTES,
    SUPPORTED_TRANSFER_SYNTAXES,
    TIFF_PREAMBLE,
    InstanceFactory,
    RawElement,
    file_meta_for,
    frame_bytes,
    monochrome_frames,
    person_name_sample,
    person_names,
    tutorial_instances,
    tutorial_spec,
    tutorial_uid_map,
    write_fixture_files,
    write_part10,
)
from conformance.testdata import __all__ as public_names
from conformance.testdata.fixture_data import attribute_specs

# ---------------------------------------------------------------------------------------------
# Expected tutorial samples (the attribute table of the originals, written out)
# ---------------------------------------------------------------------------------------------

STUDY_UID = "1.2.826.0.1.3680043.8.498.13230779778012324449356534479549187420"
SERIES_A = "1.2.826.0.1.3680043.8.498.45787841905473114233124723359129632652"  # green-square, red-triangle
SERIES_B = "1.2.826.0.1.3680043.8.498.77033797676425927098669402985243398207"  # blue-circle
BLUE_SOP = "1.2.826.0.1.3680043.8.498.13273713909719068980354078852867170114"
GREEN_SOP = "1.2.826.0.1.3680043.8.498.12714725698140337137334606354172323212"
RED_SOP = "1.2.826.0.1.3680043.8.498.47359123102728459884412887463296905395"
PYDICOM_1_4_2_CLASS_UID = "1.2.826.0.1.3680043.8.498.27364069006046809016231924679252811609"

#: (tag, VR, value as encoded without its pad byte; integers for US). Same in all three files.
EXPECTED_SHARED: dict[str, tuple[int, str, str | int]] = {
    "SpecificCharacterSet": (0x00080005, "CS", "ISO_IR 192"),
    "ImageType": (0x00080008, "CS", "DERIVED\\SECONDARY\\OTHER"),
    "SOPClassUID": (0x00080016, "UI", "1.2.840.10008.5.1.4.1.1.7"),
    "StudyDate": (0x00080020, "DA", "20200922"),
    "ContentDate": (0x00080023, "DA", ""),
    "AcquisitionDateTime": (0x0008002A, "DT", ""),
    "StudyTime": (0x00080030, "TM", "120000"),
    "ContentTime": (0x00080033, "TM", ""),
    "AccessionNumber": (0x00080050, "SH", ""),
    "Modality": (0x00080060, "CS", "OT"),
    "ConversionType": (0x00080064, "CS", "SYN"),
    "ReferringPhysicianName": (0x00080090, "PN", "Doctor Doc"),
    "PatientName": (0x00100010, "PN", "Anony Mous"),
    "PatientID": (0x00100020, "LO", "ID1"),
    "PatientBirthDate": (0x00100030, "DA", ""),
    "PatientSex": (0x00100040, "CS", "F"),
    "PatientAge": (0x00101010, "AS", "024Y"),
    "PatientPosition": (0x00185100, "CS", ""),
    "StudyInstanceUID": (0x0020000D, "UI", STUDY_UID),
    "StudyID": (0x00200010, "SH", "1"),
    "PatientOrientation": (0x00200020, "CS", ""),
    "Laterality": (0x00200060, "CS", ""),
    "SamplesPerPixel": (0x00280002, "US", 3),
    "PhotometricInterpretation": (0x00280004, "CS", "RGB"),
    "PlanarConfiguration": (0x00280006, "US", 0),
    "Rows": (0x00280010, "US", 979),
    "Columns": (0x00280011, "US", 985),
    # The README table shows "1 \ 1"; the files encode 1.0\1.0.
    "PixelSpacing": (0x00280030, "DS", "1.0\\1.0"),
    "BitsAllocated": (0x00280100, "US", 8),
    "BitsStored": (0x00280101, "US", 8),
    "HighBit": (0x00280102, "US", 7),
    "PixelRepresentation": (0x00280103, "US", 0),
    "SmallestImagePixelValue": (0x00280106, "US", 0),
    "LargestImagePixelValue": (0x00280107, "US", 255),
}

EXPECTED_PER_FILE: dict[str, dict[str, tuple[int, str, str | int]]] = {
    "blue-circle": {
        "SOPInstanceUID": (0x00080018, "UI", BLUE_SOP),
        "SeriesInstanceUID": (0x0020000E, "UI", SERIES_B),
        "SeriesNumber": (0x00200011, "IS", "2"),
        "InstanceNumber": (0x00200013, "IS", "1"),
        "ImageComments": (0x00204000, "LT", "Fake DICOM - Blue Circle"),
    },
    "green-square": {
        "SOPInstanceUID": (0x00080018, "UI", GREEN_SOP),
        "SeriesInstanceUID": (0x0020000E, "UI", SERIES_A),
        "SeriesNumber": (0x00200011, "IS", "1"),
        "InstanceNumber": (0x00200013, "IS", "2"),
        "ImageComments": (0x00204000, "LT", "Fake DICOM - Green Square"),
    },
    "red-triangle": {
        "SOPInstanceUID": (0x00080018, "UI", RED_SOP),
        "SeriesInstanceUID": (0x0020000E, "UI", SERIES_A),
        "SeriesNumber": (0x00200011, "IS", "1"),
        "InstanceNumber": (0x00200013, "IS", "1"),
        "ImageComments": (0x00204000, "LT", "Fake DICOM - Red Triangle"),
    },
}

#: Sizes of the original files (bytes); with the original UIDs the rebuilt files match them.
EXPECTED_FILE_SIZES = {"blue-circle": 2_894_020, "green-square": 2_894_022, "red-triangle": 2_894_022}

#: SHA-256 of the original green-square.dcm: the rebuild is byte-identical (a rectangle has no
#: rasterisation ambiguity; the ellipse and triangle outlines differ from Paint's by a few pixels).
GREEN_SQUARE_SHA256 = "3af07d97c23d92beaa44e71fcc80fa536e0c9099bb0a875a314bc306910a9d09"

#: (shape colour, pixels in that colour) of each picture, on a (195, 195, 195) background.
EXPECTED_PICTURES = {
    "blue-circle": ((63, 72, 204), 257_020),  # original: 257,023
    "green-square": ((34, 177, 76), 254_961),  # original: 254,961
    "red-triangle": ((237, 28, 36), 151_566),  # original: 151,462
}
BACKGROUND = (195, 195, 195)
PIXEL_DATA_LENGTH = 2_892_946  # 979 x 985 x 3 = 2,892,945, padded to even length

EXPECTED_FILE_META: dict[str, tuple[int, str, bytes | str | int]] = {
    "FileMetaInformationGroupLength": (0x00020000, "UL", 242),
    "FileMetaInformationVersion": (0x00020001, "OB", b"\x00\x01"),
    "MediaStorageSOPClassUID": (0x00020002, "UI", "1.2.840.10008.5.1.4.1.1.7"),
    "TransferSyntaxUID": (0x00020010, "UI", "1.2.840.10008.1.2.1"),
    "ImplementationClassUID": (0x00020012, "UI", PYDICOM_1_4_2_CLASS_UID),
    "ImplementationVersionName": (0x00020013, "SH", "PYDICOM 1.4.2"),
}


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def read(data: bytes) -> FileDataset:
    """Parse a Part-10 file; values stay raw until accessed, so invalid ones do not warn here."""
    return pydicom.dcmread(io.BytesIO(data))


def raw_value(ds: Dataset, tag: int | str) -> bytes:
    """The value bytes of ``tag`` exactly as in the file."""
    # pydicom's overloads type get_item as DataElement, but unconverted elements come back raw.
    element = cast(DataElement | RawDataElement, ds.get_item(tag))
    assert isinstance(element, RawDataElement), f"{tag} was already converted"
    assert element.value is not None
    return element.value


def wire_text(ds: Dataset, tag: int | str) -> str:
    """A text value as encoded, without its pad byte (PS3.5 6.2)."""
    return raw_value(ds, tag).rstrip(b" \x00").decode("utf-8")


def counting_uids() -> Callable[[], str]:
    """A deterministic UID factory: 2.25.1, 2.25.2, ..."""
    counter = itertools.count(1)
    return lambda: f"2.25.{next(counter)}"


@pytest.fixture(scope="module")
def tutorial() -> dict[str, DicomFile]:
    return {file.label.removeprefix("tutorial "): file for file in tutorial_instances()}


@pytest.fixture
def factory() -> InstanceFactory:
    return InstanceFactory()


# ---------------------------------------------------------------------------------------------
# Tutorial samples
# ---------------------------------------------------------------------------------------------


def test_tutorial_instances_come_in_order_with_their_identifiers(tutorial: dict[str, DicomFile]) -> None:
    files = tutorial_instances()
    assert [file.label for file in files] == ["tutorial blue-circle", "tutorial green-square", "tutorial red-triangle"]
    blue, green, red = files
    assert {file.study_uid for file in files} == {STUDY_UID}
    assert (blue.series_uid, green.series_uid, red.series_uid) == (SERIES_B, SERIES_A, SERIES_A)
    assert (blue.sop_instance_uid, green.sop_instance_uid, red.sop_instance_uid) == (BLUE_SOP, GREEN_SOP, RED_SOP)
    assert {file.sop_class_uid for file in files} == {SecondaryCaptureImageStorage}
    assert {file.transfer_syntax for file in files} == {ExplicitVRLittleEndian}
    for uid in (STUDY_UID, SERIES_A, SERIES_B, BLUE_SOP, GREEN_SOP, RED_SOP, PYDICOM_1_4_2_CLASS_UID):
        assert len(uid) == 64
        assert is_valid_uid(uid)


@pytest.mark.parametrize("name", ["blue-circle", "green-square", "red-triangle"])
def test_tutorial_data_set_matches_the_original_attribute_by_attribute(
    tutorial: dict[str, DicomFile], name: str
) -> None:
    ds, raw = read(tutorial[name].data), read(tutorial[name].data)
    expected = {**EXPECTED_SHARED, **EXPECTED_PER_FILE[name]}
    for keyword, (tag, vr, value) in expected.items():
        element = ds[tag]
        assert element.keyword == keyword
        assert element.VR == vr, keyword
        if vr == "US" or keyword == "SpecificCharacterSet":  # the latter is decoded while reading
            assert element.value == value, keyword
        else:
            assert wire_text(raw, tag) == value, keyword
    # Nothing more than the table and the pixel data; in particular no NumberOfFrames.
    assert {element.keyword for element in ds} == set(expected) | {"PixelData"}
    assert ds["PixelData"].VR == "OB"
    assert len(ds.PixelData) == PIXEL_DATA_LENGTH
    assert ds.PixelData[-1:] == b"\x00"


@pytest.mark.parametrize("name", ["blue-circle", "green-square", "red-triangle"])
def test_tutorial_file_meta_and_size_match_the_original(tutorial: dict[str, DicomFile], name: str) -> None:
    file = tutorial[name]
    assert file.data[:128] == bytes(128)
    assert file.data[128:132] == b"DICM"
    meta = read(file.data).file_meta
    for keyword, (tag, vr, value) in EXPECTED_FILE_META.items():
        assert meta[tag].keyword == keyword
        assert meta[tag].VR == vr
        assert meta[tag].value == value, keyword
    assert meta.MediaStorageSOPInstanceUID == EXPECTED_PER_FILE[name]["SOPInstanceUID"][2]
    assert len(file.data) == EXPECTED_FILE_SIZES[name]


def test_tutorial_green_square_is_byte_identical_to_the_original(tutorial: dict[str, DicomFile]) -> None:
    assert hashlib.sha256(tutorial["green-square"].data).hexdigest() == GREEN_SQUARE_SHA256


@pytest.mark.parametrize("name", ["blue-circle", "green-square", "red-triangle"])
def test_tutorial_pictures_are_two_coloured_shapes(tutorial: dict[str, DicomFile], name: str) -> None:
    file = tutorial[name]
    assert frame_bytes(file, 1) == file.data[-PIXEL_DATA_LENGTH:-1]
    with pytest.raises(IndexError):
        frame_bytes(file, 2)
    pixels = np.frombuffer(frame_bytes(file, 1), dtype=np.uint8).reshape(979, 985, 3)
    color, count = EXPECTED_PICTURES[name]
    packed = np.unique(pixels.astype(np.uint32) @ np.array([1 << 16, 1 << 8, 1], dtype=np.uint32))
    colours = {(int(v) >> 16, (int(v) >> 8) & 0xFF, int(v) & 0xFF) for v in packed}
    assert colours == {BACKGROUND, color}
    assert int((pixels == color).all(axis=2).sum()) == count
    assert tuple(pixels[489, 492]) == color  # the centre belongs to every shape
    assert tuple(pixels[0, 0]) == BACKGROUND


def test_tutorial_dataset_attribute_is_what_was_written(tutorial: dict[str, DicomFile]) -> None:
    for file in tutorial.values():
        assert file.dataset is not None
        written = read(file.data)
        assert [element.tag for element in file.dataset] == [element.tag for element in written]
        for element in written:
            assert file.dataset[element.tag].value == element.value, element.keyword


def test_tutorial_uid_map_gives_fresh_uids_and_keeps_the_structure() -> None:
    uid_map = tutorial_uid_map()
    assert set(uid_map) == {STUDY_UID, SERIES_A, SERIES_B, BLUE_SOP, GREEN_SOP, RED_SOP}
    assert len(set(uid_map.values())) == 6
    assert all(is_suite_uid(uid) for uid in uid_map.values())
    blue, green, red = tutorial_instances(uid_map)
    assert blue.study_uid == green.study_uid == red.study_uid == uid_map[STUDY_UID]
    assert green.series_uid == red.series_uid == uid_map[SERIES_A]
    assert blue.series_uid == uid_map[SERIES_B]
    assert blue.sop_instance_uid == uid_map[BLUE_SOP]
    for file in (blue, green, red):
        assert read(file.data).file_meta.MediaStorageSOPInstanceUID == file.sop_instance_uid
        for original in uid_map:
            assert original.encode() not in file.data
        assert SecondaryCaptureImageStorage.encode() in file.data  # the SOP class is not an identity


def test_tutorial_uid_map_may_be_partial() -> None:
    blue, green, _ = tutorial_instances({STUDY_UID: "2.25.1"})
    assert blue.study_uid == green.study_uid == "2.25.1"
    assert (blue.series_uid, green.sop_instance_uid) == (SERIES_B, GREEN_SOP)


def test_tutorial_fixture_describes_three_instances() -> None:
    spec = tutorial_spec()
    assert [sample.name for sample in spec.samples] == ["blue-circle", "green-square", "red-triangle"]
    assert (spec.rows, spec.columns, spec.pixel_data_length) == (979, 985, PIXEL_DATA_LENGTH)
    assert {sample.name: sample.file_size for sample in spec.samples} == EXPECTED_FILE_SIZES


def test_fixture_attributes_are_checked_against_the_dictionary() -> None:
    with pytest.raises(ValueError, match="PatientName"):
        attribute_specs([{"tag": "(0010,0020)", "keyword": "PatientName", "vr": "PN", "value": "x"}], "test")
    with pytest.raises(ValueError, match="not a tag"):
        attribute_specs([{"tag": "(zz,0020)", "keyword": "PatientID", "vr": "LO", "value": "x"}], "test")


# ---------------------------------------------------------------------------------------------
# InstanceFactory: valid instances
# ---------------------------------------------------------------------------------------------

REQUIRED_KEYWORDS = (
    "PatientID",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SOPInstanceUID",
    "SOPClassUID",
    "Modality",
    "StudyDate",
    "StudyTime",
    "AccessionNumber",
    "ReferringPhysicianName",
    "PatientName",
    "PatientBirthDate",
    "PatientSex",
    "StudyID",
    "SeriesNumber",
    "InstanceNumber",
    "SpecificCharacterSet",
)


def test_instance_is_a_proper_part10_file(factory: InstanceFactory) -> None:
    file = factory.instance()
    assert file.data[:128] == bytes(128)
    assert file.data[128:132] == b"DICM"
    ds = read(file.data)
    meta = ds.file_meta
    assert meta.FileMetaInformationVersion == b"\x00\x01"
    assert meta.MediaStorageSOPClassUID == ds.SOPClassUID == SecondaryCaptureImageStorage
    assert meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID == file.sop_instance_uid
    assert meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert meta.ImplementationClassUID == IMPLEMENTATION_CLASS_UID
    assert is_suite_uid(IMPLEMENTATION_CLASS_UID)
    assert meta.ImplementationVersionName == IMPLEMENTATION_VERSION_NAME == "DWC_0_1"
    for keyword in REQUIRED_KEYWORDS:
        assert keyword in ds, keyword
    assert ds.SpecificCharacterSet == "ISO_IR 192"
    assert (ds.PatientName, ds.Modality, ds.StudyDate) == ("Conformance^Test", "OT", "20240102")
    assert re.fullmatch(r"DWC-[0-9A-F]{8}", ds.PatientID)
    assert (ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.Rows, ds.Columns) == (1, "MONOCHROME2", 4, 4)
    assert (ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation) == (8, 8, 7, 0)
    assert "NumberOfFrames" not in ds
    assert len(ds.PixelData) == 16
    assert (file.study_uid, file.series_uid) == (ds.StudyInstanceUID, ds.SeriesInstanceUID)
    assert file.identifies_instance


def test_implementation_class_uid_is_derived_from_our_name() -> None:
    import uuid

    expected = uuid.uuid5(uuid.NAMESPACE_URL, "urn:dicomweb-conformance:implementation")
    assert IMPLEMENTATION_CLASS_UID == f"2.25.{expected.int}"


def test_instances_get_fresh_suite_uids(factory: InstanceFactory) -> None:
    files = [factory.instance() for _ in range(10)]
    uids = [uid for file in files for uid in (file.study_uid, file.series_uid, file.sop_instance_uid)]
    assert all(uid is not None and is_suite_uid(uid) for uid in uids)
    assert len(set(uids)) == len(uids)
    assert len({file.dataset.PatientID for file in files if file.dataset is not None}) == 10


def test_instance_honours_given_values(factory: InstanceFactory) -> None:
    file = factory.instance(
        study_uid="2.25.1",
        series_uid="2.25.2",
        sop_instance_uid="2.25.3",
        patient_id="P1",
        patient_name="Doe^Jane",
        modality="CT",
        study_date="19991231",
        series_number=7,
        instance_number=9,
        label="mine",
    )
    ds = read(file.data)
    assert (file.study_uid, file.series_uid, file.sop_instance_uid, file.label) == (
        "2.25.1",
        "2.25.2",
        "2.25.3",
        "mine",
    )
    assert (ds.PatientID, ds.PatientName, ds.Modality, ds.StudyDate) == ("P1", "Doe^Jane", "CT", "19991231")
    assert (ds.SeriesNumber, ds.InstanceNumber) == (7, 9)


def test_attributes_set_and_delete(factory: InstanceFactory) -> None:
    file = factory.instance(
        attributes={"StudyDescription": "changed", "AccessionNumber": None, "ReferringPhysicianName": "A^B=C^D"}
    )
    ds = read(file.data)
    assert ds.StudyDescription == "changed"
    assert "AccessionNumber" not in ds
    assert raw_value(ds, "ReferringPhysicianName") == b"A^B=C^D "
    with pytest.raises(KeyError):
        factory.instance(attributes={"NoSuchKeyword": 1})


def test_overriding_sop_instance_uid_updates_the_file_meta(factory: InstanceFactory) -> None:
    file = factory.instance(attributes={"SOPInstanceUID": "2.25.42"})
    assert file.sop_instance_uid == "2.25.42"
    assert read(file.data).file_meta.MediaStorageSOPInstanceUID == "2.25.42"


def test_same_uid_factory_gives_identical_bytes() -> None:
    first = InstanceFactory(counting_uids()).instance()
    second = InstanceFactory(counting_uids()).instance()
    assert first.data == second.data
    assert first.study_uid == "2.25.1"


@pytest.mark.parametrize("transfer_syntax", SUPPORTED_TRANSFER_SYNTAXES, ids=lambda ts: ts.keyword)
def test_transfer_syntaxes_are_honoured(factory: InstanceFactory, transfer_syntax: UID) -> None:
    file = factory.instance(transfer_syntax=transfer_syntax, rows=2, columns=3)
    assert file.transfer_syntax == transfer_syntax
    ds = read(file.data)
    assert ds.file_meta.TransferSyntaxUID == transfer_syntax
    assert (ds.Rows, ds.Columns, ds.StudyInstanceUID) == (2, 3, file.study_uid)
    # How (0008,0005) SpecificCharacterSet CS "ISO_IR 192" is encoded (PS3.5 7.1.2, 7.1.3, 7.3).
    encoded = {
        ExplicitVRLittleEndian: b"\x08\x00\x05\x00CS\x0a\x00ISO_IR 192",
        ImplicitVRLittleEndian: b"\x08\x00\x05\x00\x0a\x00\x00\x00ISO_IR 192",
        ExplicitVRBigEndian: b"\x00\x08\x00\x05CS\x00\x0aISO_IR 192",
    }[transfer_syntax]
    assert encoded in file.data
    assert frame_bytes(file, 1) == monochrome_frames(1, 2, 3)


def test_unsupported_transfer_syntax_is_refused(factory: InstanceFactory) -> None:
    with pytest.raises(ValueError, match="not supported"):
        factory.instance(transfer_syntax=JPEGBaseline8Bit)


def test_study_has_fresh_study_and_series(factory: InstanceFactory) -> None:
    files = factory.study(series=2, instances_per_series=3, modality="CT")
    assert len(files) == 6
    assert len({file.study_uid for file in files}) == 1
    assert len({file.series_uid for file in files}) == 2
    assert len({file.sop_instance_uid for file in files}) == 6
    datasets = [read(file.data) for file in files]
    assert len({ds.PatientID for ds in datasets}) == 1
    assert [(int(ds.SeriesNumber), int(ds.InstanceNumber)) for ds in datasets] == [
        (s, i) for s in (1, 2) for i in (1, 2, 3)
    ]
    assert {ds.Modality for ds in datasets} == {"CT"}
    assert factory.study()[0].study_uid != files[0].study_uid


def test_study_keeps_a_given_study_uid(factory: InstanceFactory) -> None:
    files = factory.study(series=1, instances_per_series=2, study_uid="2.25.9", patient_id="P9")
    assert {file.study_uid for file in files} == {"2.25.9"}
    assert {read(file.data).PatientID for file in files} == {"P9"}


# ---------------------------------------------------------------------------------------------
# Frames
# ---------------------------------------------------------------------------------------------


def test_multiframe_frames_are_distinct_and_frame_bytes_reads_them(factory: InstanceFactory) -> None:
    file = factory.multiframe(frames=3, rows=8, columns=8)
    ds = read(file.data)
    assert ds.NumberOfFrames == 3
    assert ds.FrameIncrementPointer == Tag("FrameTime")
    frames = [frame_bytes(file, n) for n in (1, 2, 3)]
    assert all(len(frame) == 64 for frame in frames)
    assert len(set(frames)) == 3
    assert b"".join(frames) == ds.PixelData == monochrome_frames(3, 8, 8)
    for n in (0, 4):
        with pytest.raises(IndexError):
            frame_bytes(file, n)


def test_multiframe_with_one_frame_still_says_so(factory: InstanceFactory) -> None:
    assert read(factory.multiframe(frames=1).data).NumberOfFrames == 1


def test_odd_pixel_data_is_padded_but_frames_are_not(factory: InstanceFactory) -> None:
    file = factory.instance(frames=3, rows=3, columns=3, transfer_syntax=ExplicitVRBigEndian)
    ds = read(file.data)
    assert len(ds.PixelData) == 28  # 27 bytes + one pad byte (PS3.5 8.1.1)
    assert [frame_bytes(file, n) for n in (1, 2, 3)] == [
        monochrome_frames(3, 3, 3)[i * 9 : i * 9 + 9] for i in range(3)
    ]


def test_frame_patterns_stay_distinct_up_to_the_limit() -> None:
    frames = monochrome_frames(MAX_DISTINCT_FRAMES, 1, 1)
    assert len(set(frames)) == MAX_DISTINCT_FRAMES
    with pytest.raises(ValueError):
        monochrome_frames(MAX_DISTINCT_FRAMES + 1, 1, 1)


def test_frame_bytes_refuses_non_dicom(factory: InstanceFactory) -> None:
    with pytest.raises(InvalidDicomError):
        frame_bytes(factory.non_dicom(), 1)


# ---------------------------------------------------------------------------------------------
# Person names
# ---------------------------------------------------------------------------------------------

#: How each name must appear in the file: (Specific Character Set terms, PN value bytes with padding).
EXPECTED_PERSON_NAMES: dict[str, tuple[list[str], bytes]] = {
    "ascii-family-given": ([], b"Doe^John"),
    "single-component-with-space": (["ISO_IR 192"], b"Anony Mous"),
    "five-components": (["ISO_IR 192"], b"Adams^John Robert Quincy^^Rev.^B.A. M.Div."),
    "accented-middle": (["ISO_IR 192"], "Hall^X^Tá".encode()),
    "trailing-empty-components": (["ISO_IR 192"], b"Jonathan^X^Stone Hall^^ "),
    "no-space-middle": (["ISO_IR 192"], b"Jon^X^StoneHall "),
    "latin1-accented": (["ISO_IR 100"], b"Buc^J\xe9r\xf4me"),
    "greek": (["ISO_IR 126"], "Διονυσιος ".encode("iso8859-7")),
    "japanese-utf8": (["ISO_IR 192"], "Yamada^Tarou=山田^太郎=やまだ^たろう".encode()),
    # PS3.5 H.3.1, example 1.
    "japanese-iso2022": (
        ["", "ISO 2022 IR 87"],
        b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B",
    ),
    "japanese-no-ideographic": (["ISO_IR 192"], "Yamada^Tarou==やまだ^たろう ".encode()),
    "korean-utf8": (["ISO_IR 192"], "Hong^Gildong=洪^吉洞=홍^길동".encode()),
    # PS3.5 I.2.
    "korean-iso2022": (
        ["", "ISO 2022 IR 149"],
        b"Hong^Gildong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7=\x1b$)C\xc8\xab^\x1b$)C\xb1\xe6\xb5\xbf",
    ),
    # PS3.5 J.3, with its trailing empty phonetic group.
    "chinese-utf8": (["ISO_IR 192"], "Wang^XiaoDong=王^小東= ".encode()),
    # PS3.5 K.2.
    "chinese-gb18030": (["GB18030"], b"Wang^XiaoDong=\xcd\xf5^\xd0\xa1\xb6\xab="),
}


def test_person_name_fixture_has_the_names_the_suite_needs() -> None:
    values = {sample.value for sample in person_names()}
    for name in ("Hall^X^Tá", "Jonathan^X^Stone Hall^^", "Jon^X^StoneHall", "Yamada^Tarou=山田^太郎=やまだ^たろう"):
        assert name in values
    assert [sample.id for sample in person_names()] == list(EXPECTED_PERSON_NAMES)
    assert person_name_sample("japanese-utf8").groups == {
        "Alphabetic": "Yamada^Tarou",
        "Ideographic": "山田^太郎",
        "Phonetic": "やまだ^たろう",
    }
    assert person_name_sample("japanese-no-ideographic").groups == {
        "Alphabetic": "Yamada^Tarou",
        "Phonetic": "やまだ^たろう",
    }
    with pytest.raises(KeyError):
        person_name_sample("nobody")


@pytest.mark.parametrize("name_id", list(EXPECTED_PERSON_NAMES))
def test_person_names_are_written_exactly(factory: InstanceFactory, name_id: str) -> None:
    file = factory.with_person_name(name_id)
    charset, encoded = EXPECTED_PERSON_NAMES[name_id]
    ds = read(file.data)
    assert raw_value(ds, "PatientName") == encoded
    if charset:
        terms = ds.SpecificCharacterSet
        assert ([terms] if isinstance(terms, str) else list(terms)) == charset
    else:
        assert "SpecificCharacterSet" not in ds
    # pydicom decodes it back (it drops trailing empty groups when it makes a string).
    assert str(ds.PatientName) == person_name_sample(name_id).value.rstrip("=")
    assert file.label == f"person name {name_id}"


def test_with_person_name_accepts_a_sample(factory: InstanceFactory) -> None:
    sample = person_name_sample("accented-middle")
    assert str(read(factory.with_person_name(sample, modality="MR").data).PatientName) == "Hall^X^Tá"


# ---------------------------------------------------------------------------------------------
# Broken inputs
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("keyword", REQUIRED_ATTRIBUTES)
def test_missing_attribute_is_absent(factory: InstanceFactory, keyword: str) -> None:
    file = factory.missing_attribute(keyword)
    ds = read(file.data)
    assert keyword not in ds
    assert file.dataset is not None
    assert keyword not in file.dataset
    assert file.label == f"missing {keyword}"
    identifiers = {
        "StudyInstanceUID": file.study_uid,
        "SeriesInstanceUID": file.series_uid,
        "SOPInstanceUID": file.sop_instance_uid,
        "SOPClassUID": file.sop_class_uid,
    }
    for other, value in identifiers.items():
        assert (value is None) == (other == keyword), other
    # The file meta still names the instance (PS3.10 requires it there).
    assert is_suite_uid(ds.file_meta.MediaStorageSOPInstanceUID)
    assert ds.file_meta.MediaStorageSOPClassUID == SecondaryCaptureImageStorage


def test_missing_attribute_refuses_what_instances_lack(factory: InstanceFactory) -> None:
    with pytest.raises(KeyError):
        factory.missing_attribute("ImageComments")


LONG_UID = uid_of_length(65)

RAW_VALUES = [
    ("StudyInstanceUID", "abc.123", b"abc.123\x00"),
    ("StudyInstanceUID", LONG_UID, LONG_UID.encode() + b"\x00"),
    ("StudyDate", "NotAValidStudyDate", b"NotAValidStudyDate"),
    ("PatientID", "A\x00B", b"A\x00B "),
    ("PatientID", "ABC\x00", b"ABC\x00"),
    ("PatientID", "A\\B", b"A\\B "),
    ("PatientID", b"XYZ", b"XYZ"),
]


@pytest.mark.parametrize(
    ("keyword", "value", "encoded"), RAW_VALUES, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(RAW_VALUES)]
)
def test_raw_values_reach_the_file_unchanged(
    factory: InstanceFactory, keyword: str, value: str | bytes, encoded: bytes
) -> None:
    file = factory.with_raw_value(keyword, value)
    ds = read(file.data)
    assert raw_value(ds, keyword) == encoded
    # Everything else is as in a valid instance.
    assert raw_value(ds, "SOPInstanceUID").rstrip(b"\x00").decode() == file.sop_instance_uid
    assert raw_value(ds, "Modality") == b"OT"
    if keyword == "StudyInstanceUID":
        assert file.study_uid == value
    assert file.dataset is not None
    if isinstance(value, str) and "\\" not in value:
        assert file.dataset[keyword].value == value


def test_raw_study_uid_reads_back_as_given(factory: InstanceFactory) -> None:
    file = factory.with_raw_value("StudyInstanceUID", "abc.123")
    assert raw_value(read(file.data), "StudyInstanceUID").rstrip(b"\x00") == b"abc.123"
    with warnings.catch_warnings():
        # pydicom warns about the invalid UID when it converts the value: that is the point.
        warnings.simplefilter("ignore")
        assert read(file.data).StudyInstanceUID == "abc.123"


def test_raw_sop_instance_uid_is_also_in_the_file_meta(factory: InstanceFactory) -> None:
    file = factory.with_raw_value("SOPInstanceUID", "abc.123")
    ds = read(file.data)
    assert raw_value(ds.file_meta, "MediaStorageSOPInstanceUID") == b"abc.123\x00"
    assert file.sop_instance_uid == "abc.123"


def test_preamble_is_replaced(factory: InstanceFactory) -> None:
    base = factory.instance()
    file = factory.with_preamble(base)
    assert file.data[:4] == b"II*\x00"
    assert file.data[:128] == TIFF_PREAMBLE
    assert any(TIFF_PREAMBLE)
    assert file.data[128:] == base.data[128:]
    assert (file.study_uid, file.sop_instance_uid) == (base.study_uid, base.sop_instance_uid)
    assert read(file.data).preamble == TIFF_PREAMBLE
    custom = factory.with_preamble(preamble=b"\xff" * 128, modality="CT")
    assert custom.data[:128] == b"\xff" * 128
    assert read(custom.data).Modality == "CT"
    with pytest.raises(ValueError):
        factory.with_preamble(base, b"short")
    with pytest.raises(TypeError):
        factory.with_preamble(base, modality="CT")


def test_non_dicom_and_empty(factory: InstanceFactory) -> None:
    junk = factory.non_dicom(size=300)
    assert junk.size == 300
    assert junk.data[128:132] != b"DICM"
    assert "non-DICOM" in junk.label
    assert junk.dataset is None
    assert not junk.identifies_instance
    with pytest.raises(InvalidDicomError):
        read(junk.data)
    nothing = factory.empty()
    assert nothing.data == b""
    assert nothing.study_uid is None
    assert "empty" in nothing.label
    with pytest.raises(ValueError):
        factory.non_dicom(size=0)


def test_truncated_keeps_a_prefix(factory: InstanceFactory) -> None:
    base = factory.instance()
    half = factory.truncated(base)
    assert half.data == base.data[: len(base.data) // 2]
    assert "truncated" in half.label
    near_end = factory.truncated(base, keep=len(base.data) - 1)
    assert near_end.data == base.data[:-1]
    assert near_end.identifies_instance  # only the pixel data is cut
    headless = factory.truncated(base, keep=132)
    assert (headless.study_uid, headless.sop_instance_uid) == (None, None)
    with pytest.raises(ValueError):
        factory.truncated(base, keep=len(base.data))
    assert len(factory.truncated(keep=200).data) == 200


def test_garbage_after_preamble(factory: InstanceFactory) -> None:
    file = factory.garbage_after_preamble()
    assert file.data[:128] == bytes(128)
    assert file.data[128:132] == b"DICM"
    assert file.data[132:] == GARBAGE
    assert file.data[132:134] != b"\x02\x00"
    assert file.dataset is None


def test_implicit_vr_file_carries_a_private_element(factory: InstanceFactory) -> None:
    file = factory.implicit_vr_with_private_tag()
    assert file.transfer_syntax == ImplicitVRLittleEndian
    ds = read(file.data)
    assert ds.file_meta.TransferSyntaxUID == ImplicitVRLittleEndian
    assert raw_value(ds, 0x00090010) == PRIVATE_CREATOR.encode()
    assert raw_value(ds, PRIVATE_TAG) == PRIVATE_VALUE.encode() + b" "
    # Implicit VR: tag, then a 4-byte length, no VR (PS3.5 7.1.3).
    assert b"\x09\x00\x01\x10\x0e\x00\x00\x00PRIVATE VALUE " in file.data
    assert file.identifies_instance
    with pytest.raises(ValueError):
        factory.implicit_vr_with_private_tag(transfer_syntax=ExplicitVRLittleEndian)


def test_trailing_space_study_uid(factory: InstanceFactory) -> None:
    file = factory.with_trailing_space_study_uid()
    assert file.study_uid is not None
    assert is_valid_uid(file.study_uid)
    assert len(file.study_uid) % 2 == 1
    assert raw_value(read(file.data), "StudyInstanceUID") == file.study_uid.encode() + b" "
    # An even-length UID is lengthened by a digit so that the space is the single pad byte.
    assert InstanceFactory(lambda: "2.25.123").with_trailing_space_study_uid().study_uid == "2.25.1231"
    assert InstanceFactory(lambda: "2.25.10").with_trailing_space_study_uid().study_uid == "2.25.10"


# ---------------------------------------------------------------------------------------------
# write_part10 and write_fixture_files
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def small_dataset() -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = "2.25.5"
    ds.PatientID = "P"
    ds.PixelRepresentation = 0
    ds.SmallestImagePixelValue = 3  # "US or SS": resolved against PixelRepresentation
    return ds


def test_write_part10_splices_raw_elements_in_tag_order(small_dataset: Dataset) -> None:
    meta = file_meta_for(small_dataset)
    data = write_part10(
        small_dataset,
        file_meta=meta,
        raw_elements=[RawElement(0x00100010, "PN", b"X"), RawElement(0x00100020, "LO", b"Q")],
    )
    ds = read(data)
    assert (raw_value(ds, "PatientName"), raw_value(ds, "PatientID")) == (b"X", b"Q")
    assert [element.tag for element in ds] == [0x00080016, 0x00080018, 0x00100010, 0x00100020, 0x00280103, 0x00280106]
    assert ds.SmallestImagePixelValue == 3
    assert ds["SmallestImagePixelValue"].VR == "US"
    # Neither the caller's data set nor its meta changed.
    assert small_dataset.PatientID == "P"
    assert small_dataset["SmallestImagePixelValue"].VR == "US or SS"
    assert "FileMetaInformationGroupLength" not in meta
    assert meta.TransferSyntaxUID == ExplicitVRLittleEndian


def test_write_part10_checks_its_arguments(small_dataset: Dataset) -> None:
    with pytest.raises(ValueError, match="128"):
        write_part10(small_dataset, preamble=b"x")
    with pytest.raises(ValueError, match="not supported"):
        write_part10(small_dataset, transfer_syntax=JPEGBaseline8Bit)
    with pytest.raises(ValueError, match="SOPInstanceUID"):
        write_part10(Dataset())
    assert write_part10(small_dataset, preamble=TIFF_PREAMBLE)[:128] == TIFF_PREAMBLE


def test_write_fixture_files(tmp_path: Path) -> None:
    written = write_fixture_files(tmp_path, factory=InstanceFactory())
    assert all(path.is_file() and path.is_relative_to(tmp_path) for path in written)
    names = {path.relative_to(tmp_path).as_posix() for path in written}
    assert {"tutorial/blue-circle.dcm", "tutorial/green-square.dcm", "tutorial/red-triangle.dcm"} <= names
    assert {f"person-names/{sample.id}.dcm" for sample in person_names()} <= names
    assert {"broken/empty.dcm", "broken/not-dicom.bin", "synthetic/explicit-vr-big-endian.dcm"} <= names
    green = (tmp_path / "tutorial" / "green-square.dcm").read_bytes()
    assert hashlib.sha256(green).hexdigest() == GREEN_SQUARE_SHA256
    for path in written:
        if path.parent.name in ("tutorial", "person-names", "synthetic"):
            assert read(path.read_bytes()).SOPInstanceUID


def test_public_api_is_exported() -> None:
    import conformance.testdata as package

    for name in public_names:
        assert hasattr(package, name), name
    assert "InstanceFactory" in public_names
    assert "tutorial_instances" in public_names


def test_search_corpus_has_one_patient_per_study_and_one_accession_number(factory: InstanceFactory) -> None:
    """The QIDO corpus: every study is a patient of its own (a fresh PatientID; its instances
    agree on the patient's name, birth date and sex), and every instance carries the corpus's
    one AccessionNumber (SH: at most 16 characters), which is what scopes its searches."""
    from conformance.testdata.studies_for_search import SEARCH_CORPUS, SeriesSpec, StudySpec, build_corpus

    corpus = build_corpus(factory, SEARCH_CORPUS)
    datasets = [i.file.dataset for i in corpus.instances]
    assert all(ds is not None for ds in datasets)
    assert len(corpus.accession_number) <= 16
    assert {str(ds.AccessionNumber) for ds in datasets if ds is not None} == {corpus.accession_number}
    assert {i.values["AccessionNumber"] for i in corpus.instances} == {corpus.accession_number}
    patients: dict[str, set[tuple[str, str, str]]] = {}
    studies_of: dict[str, set[str]] = {}
    for instance in corpus.instances:
        ds = instance.file.dataset
        assert ds is not None
        assert instance.values["PatientID"] == ds.PatientID
        patients.setdefault(ds.PatientID, set()).add((str(ds.PatientName), ds.PatientBirthDate, ds.PatientSex))
        studies_of.setdefault(ds.PatientID, set()).add(str(ds.StudyInstanceUID))
    assert len(patients) == len(SEARCH_CORPUS) == len(corpus.patient_ids())
    assert all(len(values) == 1 for values in patients.values()), patients
    assert all(len(studies) == 1 for studies in studies_of.values())
    assert build_corpus(factory, SEARCH_CORPUS[:1]).accession_number != corpus.accession_number
    for taken in ("PatientID", "AccessionNumber"):
        with pytest.raises(ValueError, match=taken):
            build_corpus(factory, (StudySpec(values=((taken, "X"),)),))
        with pytest.raises(ValueError, match=taken):
            build_corpus(factory, (StudySpec(series=(SeriesSpec(instances=(((taken, "X"),),)),)),))
