"""What is stored is what was sent: byte fidelity, the preamble, metadata, and the v2 rules
for invalid and NUL-padded values.

Behaviour catalogue sections 1-2 (GEN-09, STOW-07, 24-27); PS3.18 10.5.2.
"""

from __future__ import annotations

import io
import warnings

import pytest
from pydicom import dcmread

from conformance.checks import (
    checking,
    expect,
    expect_failed,
    expect_referenced,
    expect_status,
    expect_stored,
    store_result,
)
from conformance.checks.metadata import metadata_differences
from conformance.core.dicom_json import json_values
from conformance.plugin import Dicomweb
from conformance.suites._support import (
    VALIDATION_FAILED,
    VALIDATION_WARNINGS,
    require_api_version,
    require_azure_compatible,
    uses_v1_rules,
)
from conformance.testdata import PersonNameSample, person_names, tutorial_instances, tutorial_uid_map

EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
TIFF_LIKE_PREAMBLE = b"II*\x00" + bytes(range(1, 125))


def _instance_metadata(dicomweb: Dicomweb, file: object) -> dict[str, object]:
    study, series, sop = file.study_uid, file.series_uid, file.sop_instance_uid  # type: ignore[attr-defined]
    response = dicomweb.client.retrieve_instance_metadata(study, series, sop)
    expect_status(response, 200, why="the metadata of a stored instance is retrievable")
    objects = response.objects
    expect(
        len(objects) == 1,
        "instance metadata is an array with one dataset",
        response=response,
        expected="1 dataset",
        received=f"{len(objects)}",
    )
    return objects[0]


@pytest.mark.behavior("STOW-07", "STOW-27")
def test_stored_bytes_are_returned_unchanged(dicomweb: Dicomweb) -> None:
    """STOW-07 (D1, D2) / STOW-27 (E2E): the file is stored as sent; retrieval with
    ``transfer-syntax=*`` returns the same bytes (the preamble aside, GEN-09)."""
    file = dicomweb.instances.instance(
        attributes={
            "StudyDescription": "Ünïcödé study description",
            "AccessionNumber": "ACC-0001",
            "InstitutionName": "Conformance Hospital",
        }
    )
    expect_status(dicomweb.client.store_instances([file]), 200, why="the instance is valid")
    returned = expect_stored(dicomweb.client, file, why="the stored instance is retrievable")
    expect(
        returned[128:] == file.data[128:],
        "the retrieved file equals the stored file after the preamble",
        expected=f"{len(file.data)} bytes as sent",
        received=f"{len(returned)} bytes, different content",
    )


@pytest.mark.behavior("STOW-07", "WADO-18")
def test_metadata_equals_what_was_stored(dicomweb: Dicomweb) -> None:
    """STOW-07 (D1, D2): no attribute is coerced or replaced; the instance metadata carries
    every non-binary attribute with the value sent (names with several component groups
    included)."""
    file = dicomweb.instances.instance(
        attributes={
            "PatientName": "Yamada^Tarou=山田^太郎=やまだ^たろう",
            "ReferringPhysicianName": "Hall^X^Tá",
            "StudyDescription": "Brain MRI, contrast",
            "SeriesDescription": "Axial T1",
            "AccessionNumber": "A-123",
            "PatientSex": "O",
            "ImageType": ["DERIVED", "SECONDARY"],
        }
    )
    expect_status(dicomweb.client.store_instances([file]), 200, why="the instance is valid")
    metadata = _instance_metadata(dicomweb, file)
    assert file.dataset is not None
    differences = metadata_differences(file.dataset, metadata)
    expect(
        not differences,
        "the metadata holds every attribute exactly as stored",
        expected="no difference",
        received="; ".join(differences[:8]),
    )


@pytest.mark.behavior("GEN-09")
def test_preamble_is_replaced_with_zeros(dicomweb: Dicomweb) -> None:
    """GEN-09 (D1, D2): the 128-byte preamble is ignored and replaced with zero bytes (a
    dual-format DICOM+TIFF preamble is not kept); the rest of the file is unchanged.
    PS3.10 7.1 leaves the preamble to the application, so this is the service's own policy."""
    require_azure_compatible(dicomweb.profile, "zeroing the preamble")
    file = dicomweb.instances.with_preamble(dicomweb.instances.instance(), TIFF_LIKE_PREAMBLE)
    expect_status(dicomweb.client.store_instances([file]), 200, why="a file with a non-zero preamble is valid")
    returned = expect_stored(dicomweb.client, file, why="the instance is retrievable")
    expect(
        returned[:128] == bytes(128),
        "the preamble of the stored file is 128 zero bytes",
        expected="128 zero bytes",
        received=repr(returned[:16]) + "...",
    )
    expect(
        returned[128:] == file.data[128:],
        "the rest of the file is unchanged",
        expected="the bytes after the preamble as sent",
        received="different bytes",
    )


@pytest.mark.behavior("STOW-25", "WADO-20", "VER-03", "VER-05")
def test_invalid_non_required_attribute(dicomweb: Dicomweb) -> None:
    """STOW-25 (D2, SRC, E2E): v2 stores the file unchanged, drops the invalid attribute from
    the metadata and warns (202, WarningReason 1); v1 fails the instance (409, 43264)."""
    v1 = uses_v1_rules(dicomweb.profile)
    file = dicomweb.instances.with_raw_value("StudyDate", "NotAValidStudyDate")
    response = dicomweb.client.store_instances([file])
    if v1:
        expect_status(response, 409, why="v1 fails an instance with an invalid searchable attribute")
        store_result(response)
        expect_failed(response, file, {VALIDATION_FAILED}, why="the invalid StudyDate fails validation")
        return
    expect_status(response, 202, why="v2 stores the instance with a warning")
    store_result(response)
    item = expect_referenced(response, file, why="the instance is stored")
    expect(
        item.warning_reason == VALIDATION_WARNINGS,
        "the item carries WarningReason 1",
        response=response,
        expected="WarningReason 1",
        received=f"{item.warning_reason}",
    )
    metadata = _instance_metadata(dicomweb, file)
    expect(
        "00080020" not in metadata,
        "the invalid StudyDate is absent from the metadata",
        expected="no (0008,0020)",
        received=repr(metadata.get("00080020")),
    )
    found = dicomweb.client.search_for_studies(
        [("StudyInstanceUID", str(file.study_uid)), ("includefield", "StudyDate")]
    )
    expect_status(found, 200, why="the study is found by its UID")
    dates = [json_values(obj, "00080020") for obj in found.objects]
    expect(
        dates == [None],
        "the invalid StudyDate is not indexed",
        response=found,
        expected="one study without a StudyDate value",
        received=repr(dates),
    )
    returned = expect_stored(dicomweb.client, file, why="the instance is retrievable")
    expect(
        returned[128:] == file.data[128:],
        "the stored file keeps the original value",
        expected="the file as sent",
        received="different bytes",
    )


@pytest.mark.behavior("STOW-24", "WADO-21", "QIDO-21")
def test_trailing_nul_padding_is_kept_and_indexed(dicomweb: Dicomweb) -> None:
    """STOW-24 (D2, E2E): a value padded with a trailing NUL is valid (no warning), kept as-is
    in the metadata and searchable without the padding."""
    require_api_version(dicomweb.profile, "v2")
    accession = f"NUL{dicomweb.instances.instance().sop_instance_uid[-8:]}"  # type: ignore[index]
    file = dicomweb.instances.with_raw_value("AccessionNumber", accession + "\x00")
    response = dicomweb.client.store_instances([file])
    expect_status(response, 200, why="trailing NUL padding is not a validation problem")
    metadata = _instance_metadata(dicomweb, file)
    values = json_values(metadata, "00080050") or []
    expect(
        values == [accession + "\x00"],
        "the metadata keeps the NUL padding",
        expected=repr([accession + "\x00"]),
        received=repr(values),
    )
    with checking("QIDO-21"):
        found = dicomweb.client.search_for_studies([("AccessionNumber", accession)])
        expect_status(found, 200, why="the padded value is indexed and found without the padding")


@pytest.mark.behavior("STOW-24")
def test_nul_inside_a_value(dicomweb: Dicomweb) -> None:
    """STOW-24 (D2, E2E): a NUL in the middle of a value is invalid: v2 drops the attribute from
    the metadata with a warning (202); v1 fails the instance when the attribute is validated."""
    v1 = uses_v1_rules(dicomweb.profile)
    file = dicomweb.instances.with_raw_value("AccessionNumber", "AB\x00CD")
    response = dicomweb.client.store_instances([file])
    if v1:
        expect_status(response, 409, why="v1 fails an instance with an invalid searchable attribute")
        store_result(response)
        expect_failed(response, file, {VALIDATION_FAILED}, why="the invalid AccessionNumber fails validation")
        return
    expect_status(response, 202, why="v2 stores the instance with a warning")
    store_result(response)
    expect_referenced(response, file, why="the instance is stored")
    metadata = _instance_metadata(dicomweb, file)
    expect(
        "00080050" not in metadata,
        "the invalid AccessionNumber is absent from the metadata",
        expected="no (0008,0050)",
        received=repr(metadata.get("00080050")),
    )


@pytest.mark.behavior("STOW-26")
def test_implicit_vr_private_attribute_not_in_metadata(dicomweb: Dicomweb) -> None:
    """STOW-26 (E2E): a private attribute of an implicit-VR file is kept in the stored file but
    is not in the metadata (its VR is unknown)."""
    file = dicomweb.instances.implicit_vr_with_private_tag()
    response = dicomweb.client.store_instances([file])
    expect_status(response, 200, 202, why="an implicit-VR file with a private attribute is stored")
    assert file.dataset is not None
    private = [f"{int(e.tag):08X}" for e in file.dataset if e.tag.is_private and e.tag.element >= 0x1000]
    metadata = _instance_metadata(dicomweb, file)
    leaked = [key for key in private if key in metadata]
    expect(
        not leaked,
        "private attributes of unknown VR are not in the metadata",
        expected="none of " + ", ".join(private),
        received=", ".join(leaked),
    )
    returned = expect_stored(dicomweb.client, file, why="the instance is retrievable")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stored = dcmread(io.BytesIO(returned))
    missing = [key for key in private if int(key, 16) not in stored]
    expect(
        not missing,
        "the stored file keeps the private attributes",
        expected=", ".join(private),
        received="missing " + ", ".join(missing),
    )


@pytest.mark.behavior("STOW-27")
def test_large_instance_byte_fidelity(dicomweb: Dicomweb) -> None:
    """STOW-27 (E2E, files of 15-50 MB): a 16 MiB instance retrieved with ``transfer-syntax=*``
    and with its own transfer syntax is byte-identical to what was sent."""
    file = dicomweb.instances.multiframe(frames=4, rows=2048, columns=2048)
    expect_status(dicomweb.client.store_instances([file]), 200, why="the large instance is valid")
    returned = expect_stored(dicomweb.client, file, why="the large instance is retrievable")
    expect(
        returned[128:] == file.data[128:],
        "transfer-syntax=* returns the stored bytes",
        expected=f"{file.size} bytes as sent",
        received=f"{len(returned)} bytes, different content",
    )
    assert file.study_uid
    assert file.series_uid
    assert file.sop_instance_uid
    accept = f'multipart/related; type="application/dicom"; transfer-syntax={EXPLICIT_VR_LITTLE_ENDIAN}'
    own = dicomweb.client.retrieve_instance(file.study_uid, file.series_uid, file.sop_instance_uid, accept=accept)
    expect_status(own, 200, why="retrieval in the stored transfer syntax succeeds")
    bodies = own.part_bodies()
    expect(
        len(bodies) == 1 and bodies[0][128:] == file.data[128:],
        "its own transfer syntax returns the same bytes",
        response=own,
        expected=f"one part of {file.size} bytes as sent",
        received=f"{len(bodies)} part(s) of {[len(b) for b in bodies]} bytes",
    )


@pytest.mark.behavior("WADO-18")
@pytest.mark.parametrize("sample", person_names(), ids=lambda s: s.id)
def test_person_names_round_trip(dicomweb: Dicomweb, sample: PersonNameSample) -> None:
    """WADO-18 (D1, D2) with PS3.18 F.2.2: a PatientName stored in its character set (UTF-8,
    Latin-1, ISO 2022 with ideographic and phonetic groups) comes back in the metadata with the
    same Alphabetic, Ideographic and Phonetic component groups (interop pitfalls 15, 16)."""
    file = dicomweb.instances.with_person_name(sample)
    expect_status(dicomweb.client.store_instances([file]), 200, why=f"the name {sample.id} is valid")
    metadata = _instance_metadata(dicomweb, file)
    values = json_values(metadata, "00100010") or []
    expected = [sample.groups]
    received = [{k: v.rstrip("^") for k, v in value.items()} if isinstance(value, dict) else value for value in values]
    wanted = [{k: v.rstrip("^") for k, v in group.items()} for group in expected]
    expect(
        received == wanted,
        "the person name keeps its component groups",
        expected=repr(wanted),
        received=repr(values),
    )


@pytest.mark.behavior("STOW-01", "STOW-09", "STOW-16", "STOW-18")
def test_tutorial_study(dicomweb: Dicomweb) -> None:
    """The three instances of the service's Python tutorial (green-square and red-triangle in
    one series, blue-circle in another), under fresh UIDs: stored in one request to
    ``/studies/{study}``, 200, a RetrieveURL for the study, one referenced item per instance,
    each retrievable byte for byte (DTUT, D1, D2)."""
    files = tutorial_instances(tutorial_uid_map())
    study = files[0].study_uid
    assert study is not None
    response = dicomweb.client.store_instances(files, study_uid=study)
    with checking("STOW-09"):
        expect_status(response, 200, why="the three tutorial instances are valid")
    result = store_result(response)
    expect(
        (result.retrieve_url or "").endswith(f"studies/{study}"),
        "the answer carries the RetrieveURL of the study",
        response=response,
        expected=f"…studies/{study}",
        received=str(result.retrieve_url),
    )
    for file in files:
        expect_referenced(response, file, why=f"{file.label} is referenced")
        returned = expect_stored(dicomweb.client, file, why=f"{file.label} is retrievable")
        expect(
            returned[128:] == file.data[128:],
            f"{file.label} is returned as stored",
            expected=f"{file.size} bytes as sent",
            received=f"{len(returned)} bytes",
        )
