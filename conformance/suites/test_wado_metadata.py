"""Metadata retrieval (WADO-RS ``.../metadata``, PS3.18 10.4.1.1.2, Annex F; WADO-17..21).

The metadata of each instance is compared attribute by attribute with the pydicom dataset the
suite stored. Binary values are absent (the Azure service) or, where PS3.18 allows it, carried
as a BulkDataURI that must dereference.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from conformance.checks import expect, expect_empty_body, expect_header, expect_media_type, expect_schema, expect_status
from conformance.checks.metadata import metadata_differences
from conformance.client.responses import JsonDatasetsResponse
from conformance.core.dicom_json import BINARY_VRS, json_values
from conformance.core.instances import DicomFile
from conformance.core.media_types import DICOM_JSON
from conformance.core.uids import new_uid
from conformance.plugin import Dicomweb
from conformance.session import TargetSession
from conformance.suites._support import require_api_version, require_azure_compatible
from conformance.suites._wado_qido_support import SharedData, patient_of, shared_data, uids
from conformance.testdata import InstanceFactory


@pytest.fixture(scope="module")
def study(dicomweb_session: TargetSession) -> Iterator[SharedData]:
    factory = InstanceFactory()
    study_uid, patient = factory.new_uid(), factory.short_id("DWC")
    series_a, series_b = factory.new_uid(), factory.new_uid()
    rich: dict[str, object] = {
        "PatientName": "Yamada^Tarou=山田^太郎=やまだ^たろう",
        "StudyDescription": "Metadata fidelity",
        "SeriesDescription": "Axial T1",
        "ImageType": ["DERIVED", "SECONDARY"],
        "PatientWeight": "72.5",
        "PatientSize": "1.80",
        "OtherPatientIDs": "",
        "InstitutionName": "Conformance Hospital",
    }
    a1 = factory.instance(study_uid=study_uid, patient_id=patient, series_uid=series_a, attributes=rich)
    a2 = factory.multiframe(study_uid=study_uid, patient_id=patient, series_uid=series_a, instance_number=2, frames=2)
    b1 = factory.instance(
        study_uid=study_uid, patient_id=patient, series_uid=series_b, series_number=2, attributes={"PixelData": None}
    )
    yield from shared_data(dicomweb_session, [[a1, a2, b1]], a1=a1, a2=a2, b1=b1)


def _metadata(dicomweb: Dicomweb, level: str, file: DicomFile, accept: str | None = DICOM_JSON) -> JsonDatasetsResponse:
    s, se, sop = uids(file)
    client = dicomweb.client
    if level == "study":
        return client.retrieve_study_metadata(s, accept=accept)
    if level == "series":
        return client.retrieve_series_metadata(s, se, accept=accept)
    return client.retrieve_instance_metadata(s, se, sop, accept=accept)


def _binary_problems(dicomweb: Dicomweb, obj: dict[str, Any], path: str = "") -> list[str]:
    """WADO-18: binary VRs are absent (Azure); elsewhere PS3.18 F.2 allows InlineBinary or a
    BulkDataURI, which must then dereference."""
    problems: list[str] = []
    for key, element in obj.items():
        if not isinstance(element, dict):
            continue
        if element.get("vr") == "SQ":
            for index, item in enumerate(element.get("Value") or [], start=1):
                if isinstance(item, dict):
                    problems += _binary_problems(dicomweb, item, f"{path}{key}[{index}].")
            continue
        if element.get("vr") in BINARY_VRS and dicomweb.profile.azure_compatible:
            problems.append(f"{path}{key} ({element.get('vr')}) is present")
        uri = element.get("BulkDataURI")
        if isinstance(uri, str):
            answer = dicomweb.client.retrieve_bulkdata(uri)
            if answer.status != 200:
                problems.append(f"{path}{key}: BulkDataURI {uri} answers {answer.status}")
        if "Value" in element and element["Value"] == []:
            problems.append(f"{path}{key}: empty attribute encoded as an empty Value array (PS3.18 F.2.5)")
    return problems


@pytest.mark.behavior("WADO-18")
@pytest.mark.parametrize("level", ["study", "series", "instance"])
def test_metadata_equals_what_was_stored(dicomweb: Dicomweb, study: SharedData, level: str) -> None:
    """WADO-18 (D1, D2; PS3.18 F.2): a JSON array with one DICOM JSON object per instance of the
    resource, each holding every non-binary attribute with the value stored (checked against the
    pydicom dataset), valid DICOM JSON, and no binary value (or only ones that dereference)."""
    a1 = study["a1"]
    wanted = {"study": study.files, "series": [study["a1"], study["a2"]], "instance": [a1]}[level]
    response = _metadata(dicomweb, level, a1)
    expect_status(response, 200, why=f"the {level} metadata is retrievable")
    expect_media_type(response, DICOM_JSON, why="metadata is application/dicom+json")
    expect_schema(response, "dicom-json-array", why="metadata is an array of DICOM JSON datasets")
    by_uid = {str((json_values(obj, "00080018") or [""])[0]): obj for obj in response.objects}
    expect(
        sorted(by_uid) == sorted(str(f.sop_instance_uid) for f in wanted) and len(response.objects) == len(wanted),
        "one metadata object per instance of the resource",
        response=response,
        expected=", ".join(sorted(str(f.sop_instance_uid) for f in wanted)),
        received=", ".join(sorted(by_uid)),
    )
    for file in wanted:
        assert file.dataset is not None
        obj = by_uid[str(file.sop_instance_uid)]
        differences = metadata_differences(file.dataset, obj)
        expect(
            not differences,
            f"the metadata of {file.label} holds every attribute as stored",
            response=response,
            expected="no difference",
            received="; ".join(differences[:8]),
        )
        problems = _binary_problems(dicomweb, obj)
        expect(
            not problems,
            f"the metadata of {file.label} carries no binary value (or one that dereferences)",
            response=response,
            expected="no binary VR",
            received="; ".join(problems[:5]),
        )


@pytest.mark.behavior("WADO-18")
def test_unknown_resources_are_404(dicomweb: Dicomweb, study: SharedData) -> None:
    """WADO-18 (E2E): metadata of an unknown study, series or instance gives 404."""
    s, se, _ = uids(study["a1"])
    client = dicomweb.client
    for label, response in (
        ("study", client.retrieve_study_metadata(new_uid())),
        ("series", client.retrieve_series_metadata(s, new_uid())),
        ("instance", client.retrieve_instance_metadata(s, se, new_uid())),
    ):
        expect_status(response, 404, why=f"the {label} does not exist")


@pytest.mark.behavior("WADO-17")
@pytest.mark.parametrize(
    "accept", ["application/data", "application/dicom", 'multipart/related; type="application/dicom"', "image/png"]
)
@pytest.mark.parametrize("level", ["study", "series", "instance"])
def test_only_dicom_json_is_acceptable(dicomweb: Dicomweb, study: SharedData, level: str, accept: str) -> None:
    """WADO-17 (D1, D2, E2E): metadata is only produced as application/dicom+json; any other Accept
    gives 406 (E2E uses application/data)."""
    require_azure_compatible(dicomweb.profile, "406 for metadata in another media type")
    response = _metadata(dicomweb, level, study["a1"], accept)
    expect_status(response, 406, why=f"{level} metadata cannot be sent as {accept}")


@pytest.mark.behavior("WADO-19", "WADO-27")
@pytest.mark.parametrize("level", ["study", "series", "instance"])
def test_etag_and_not_modified(dicomweb: Dicomweb, study: SharedData, level: str) -> None:
    """WADO-19 (D1, D2, E2E) / WADO-27: every metadata answer has an ETag; sent back in
    If-None-Match, the answer is 304 Not Modified with an empty body and the same ETag. (PS3.18
    does not require ETags, so only Azure-compatible targets are held to them.)"""
    require_azure_compatible(dicomweb.profile, "ETags on metadata")
    file = study["a1"]
    first = _metadata(dicomweb, level, file)
    expect_status(first, 200, why=f"the {level} metadata is retrievable")
    etag = expect_header(first, "etag", why="a metadata answer carries an ETag")
    s, se, sop = uids(file)
    headers = {"If-None-Match": etag}
    client = dicomweb.client
    again = {
        "study": lambda: client.retrieve_study_metadata(s, headers=headers),
        "series": lambda: client.retrieve_series_metadata(s, se, headers=headers),
        "instance": lambda: client.retrieve_instance_metadata(s, se, sop, headers=headers),
    }[level]()
    expect_status(again, 304, why="nothing changed since the ETag was issued")
    expect_empty_body(again, why="a 304 answer has no body")


@pytest.mark.behavior("WADO-19")
def test_etag_changes_when_the_study_changes(dicomweb: Dicomweb) -> None:
    """WADO-19 (D1, D2, E2E): after an instance is added to the study and series, the old ETag no
    longer matches: 200 with a new ETag and the new instance; the untouched instance still 304."""
    require_azure_compatible(dicomweb.profile, "ETags on metadata")
    first = dicomweb.instances.instance()
    expect_status(dicomweb.client.store_instances([first]), 200, why="the instance is stored")
    s, se, sop = uids(first)
    client = dicomweb.client
    old = {
        "study": expect_header(client.retrieve_study_metadata(s), "etag", why="the study metadata has an ETag"),
        "series": expect_header(client.retrieve_series_metadata(s, se), "etag", why="the series metadata has an ETag"),
        "instance": expect_header(
            client.retrieve_instance_metadata(s, se, sop), "etag", why="the instance metadata has an ETag"
        ),
    }
    second = dicomweb.instances.instance(study_uid=s, series_uid=se, patient_id=patient_of(first))
    expect_status(dicomweb.client.store_instances([second]), 200, why="a second instance is stored in the series")
    for level in ("study", "series"):
        headers = {"If-None-Match": old[level]}
        if level == "study":
            response = client.retrieve_study_metadata(s, headers=headers)
        else:
            response = client.retrieve_series_metadata(s, se, headers=headers)
        expect_status(response, 200, why=f"the {level} changed: the old ETag no longer matches")
        new = expect_header(response, "etag", why="the changed metadata has an ETag")
        expect(
            new != old[level],
            f"the {level} ETag changed",
            response=response,
            expected=f"not {old[level]}",
            received=new,
        )
        expect(
            len(response.objects) == 2,
            f"the {level} metadata lists the added instance",
            response=response,
            expected="2 objects",
            received=f"{len(response.objects)}",
        )
    response = client.retrieve_instance_metadata(s, se, sop, headers={"If-None-Match": old["instance"]})
    expect_status(response, 304, why="the first instance itself did not change")


@pytest.mark.behavior("WADO-20")
def test_v2_metadata_omits_invalid_attributes(dicomweb: Dicomweb) -> None:
    """WADO-20 (D2; STOW-25): an attribute that failed validation at store time (here a DS value
    that is not a number) is absent from the v2 metadata; every other attribute is there."""
    require_api_version(dicomweb.profile, "v2")
    file = dicomweb.instances.with_raw_value("InstitutionalDepartmentName", "D" * 70)
    expect_status(dicomweb.client.store_instances([file]), 202, why="v2 stores the instance with a warning")
    response = _metadata(dicomweb, "instance", file)
    expect_status(response, 200, why="the metadata is retrievable")
    obj = response.objects[0] if response.objects else {}
    expect(
        "00081040" not in obj,
        "the invalid InstitutionalDepartmentName is absent",
        response=response,
        expected="no (0008,1040)",
        received=repr(obj.get("00081040")),
    )
    assert file.dataset is not None
    differences = metadata_differences(file.dataset, obj, ignore=frozenset({0x00081040}))
    expect(
        not differences,
        "every valid attribute is there",
        response=response,
        expected="no difference",
        received="; ".join(differences[:8]),
    )


@pytest.mark.behavior("WADO-21", "VER-09")
def test_v2_metadata_keeps_nul_padding(dicomweb: Dicomweb) -> None:
    """WADO-21 / VER-09 (D2): a value stored with trailing NUL padding comes back with the NUL."""
    require_api_version(dicomweb.profile, "v2")
    value = "HOSPITAL1\x00"
    file = dicomweb.instances.with_raw_value("InstitutionName", value)
    expect_status(dicomweb.client.store_instances([file]), 200, why="NUL padding is valid")
    response = _metadata(dicomweb, "instance", file)
    expect_status(response, 200, why="the metadata is retrievable")
    values = json_values(response.objects[0], "00080080") if response.objects else None
    expect(values == [value], "the NUL is kept", response=response, expected=repr([value]), received=repr(values))
