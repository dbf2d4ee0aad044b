"""Bulk update requests: the route, the body, the 202 answer and what is refused (BULK-01..06).

Behaviour catalogue section 8; DBU (the bulk update seed) and SRC. ``POST {v}{p}/studies/$bulkUpdate``
takes ``studyInstanceUids`` and ``changeDataset`` (both required), answers 202 with ``{id, href}``
and refuses with 400 more than 50 studies, an invalid UID, and attributes outside the 36 the
service lets a client change (sequences never). The rule of the service's implementation is held
where the documents are silent: the refused attribute is named in a DICOM JSON
FailedAttributesSequence with ``DICOM100: (gggg,eeee) - Updating the tag is not supported``
(AMB-17 lists the documents' gaps). Bulk update exists from API v2 (BULK-01, VER-11).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydicom.datadict import dictionary_VR

from conformance.checks import expect, expect_status
from conformance.checks.attribution import checking
from conformance.checks.http import expect_header_absent
from conformance.checks.operations import (
    expect_succeeded,
    operation_reference,
    run_update,
    succeeded_status,
    wait_for_operation,
)
from conformance.core.instances import DicomFile
from conformance.core.schemas import schema_errors
from conformance.plugin import Dicomweb
from conformance.suites._support import require_api_version

pytestmark = pytest.mark.requires("bulk_update")

# BULK-06: the 36 attributes DBU and SRC let a bulk update change.
UPDATABLE = (
    0x00100010, 0x00100020, 0x00101000, 0x00100022, 0x00101001, 0x00101005, 0x00101060, 0x00101090,
    0x00100021, 0x00101010, 0x00102180, 0x00403001, 0x00100030, 0x00100032, 0x00100040, 0x00100200,
    0x00101020, 0x00101030, 0x00101040, 0x00101080, 0x00101081, 0x00102150, 0x00102152, 0x00102154,
    0x00102160, 0x001021F0, 0x00104000, 0x00102297, 0x00102298, 0x00102299, 0x00102201, 0x00102292,
    0x00102295, 0x00080090, 0x00080050, 0x00081030,
)  # fmt: skip
# A valid value of each VR among them.
SAMPLES: dict[str, Any] = {
    "PN": {"Alphabetic": "Bulk^Updated"},
    "LO": "BULK LO",
    "SH": "BULK SH",
    "LT": "Bulk updated comment",
    "CS": "O",
    "AS": "042Y",
    "DA": "19800101",
    "TM": "101010",
    "DS": 1.5,
}
CODED = {0x00100022: "TEXT", 0x00100200: "NO", 0x00102298: "OWNER"}  # enumerated CS values


def key(tag: int) -> str:
    return f"{tag:08X}"


def new_name(dicomweb: Dicomweb) -> dict[str, Any]:
    return {"00100010": {"vr": "PN", "Value": [{"Alphabetic": f"Bulk^{dicomweb.instances.short_id('N')}"}]}}


def stored(dicomweb: Dicomweb, files: list[DicomFile]) -> list[DicomFile]:
    expect_status(dicomweb.client.store_instances(files), 200, why="the test data is stored")
    return files


def study_of(files: list[DicomFile]) -> str:
    assert files[0].study_uid
    return files[0].study_uid


@pytest.mark.behavior("BULK-01", "BULK-02", "BULK-03")
def test_bulk_update_is_accepted_with_an_operation_reference(dicomweb: Dicomweb) -> None:
    """BULK-01..03 (DBU, SRC): the documented body (both members, ``Content-Type:
    application/json``) to ``studies/$bulkUpdate`` (under the partition when the run uses one) is
    answered 202 with ``{"id": <32 hex>, "href": ".../operations/<id>"}``; the service sends no
    Location header on it (SRC, Azure-compatible targets only). The operation then succeeds."""
    require_api_version(dicomweb.profile, "v2")
    files = stored(dicomweb, dicomweb.instances.study(series=1, instances_per_series=1))
    body = {"studyInstanceUids": [study_of(files)], "changeDataset": new_name(dicomweb)}
    assert not schema_errors(body, "bulk-update-request"), "the suite sends the documented body"
    response = dicomweb.client.bulk_update_body(json.dumps(body).encode())
    with checking("BULK-01"):
        expect(
            response.status != 404,
            "the $bulkUpdate route exists on v2" + (" under the partition" if dicomweb.client.partition else ""),
            response=response,
            expected="the route (202)",
            received="status 404",
        )
    with checking("BULK-02"):
        expect_status(response, 202, why="the documented JSON body is accepted")
    with checking("BULK-03"):
        _, href = operation_reference(response, why="the bulk update is accepted")
        if dicomweb.profile.azure_compatible:
            expect_header_absent(response, "location", why="the service sends no Location on $bulkUpdate (SRC)")
    final, operation = wait_for_operation(dicomweb.client, href, timeout=dicomweb.settings.poll_timeout)
    expect_succeeded(final, operation, succeeded_status(dicomweb.profile, "v2"), why="the bulk update")


@pytest.mark.behavior("BULK-02", "BULK-04")
def test_both_members_are_required(dicomweb: Dicomweb) -> None:
    """BULK-02 / BULK-04 (DBU: "studyInstanceUids and changeDataset are both required"; SRC): a
    body without either member, or with an empty study list, is refused with 400."""
    require_api_version(dicomweb.profile, "v2")
    study = study_of(stored(dicomweb, dicomweb.instances.study(series=1, instances_per_series=1)))
    for label, body in (
        ("no changeDataset", {"studyInstanceUids": [study]}),
        ("no studyInstanceUids", {"changeDataset": new_name(dicomweb)}),
        ("an empty studyInstanceUids", {"studyInstanceUids": [], "changeDataset": new_name(dicomweb)}),
    ):
        response = dicomweb.client.bulk_update_body(json.dumps(body).encode())
        expect_status(response, 400, why=f"a bulk update with {label} is refused")


@pytest.mark.behavior("BULK-04", "BULK-05")
def test_more_than_50_studies_are_refused_and_50_accepted(dicomweb: Dicomweb) -> None:
    """BULK-04 / BULK-05 (DBU: at most 50 studies per operation; SRC "StudyInstanceUids count
    exceeded maximum length '50'"): 51 study UIDs are refused with 400, 50 are accepted (202)."""
    require_api_version(dicomweb.profile, "v2")
    study = study_of(stored(dicomweb, dicomweb.instances.study(series=1, instances_per_series=1)))
    change = new_name(dicomweb)
    fifty = [study] + [dicomweb.instances.new_uid() for _ in range(49)]
    response = dicomweb.client.bulk_update([*fifty, dicomweb.instances.new_uid()], change)
    with checking("BULK-04"):
        expect_status(response, 400, why="51 studies in one bulk update are refused")
        if dicomweb.profile.azure_compatible:
            expect(
                "50" in response.text(),
                "the refusal names the limit (SRC)",
                response=response,
                expected="StudyInstanceUids count exceeded maximum length '50'",
                received=response.text()[:200],
            )
    with checking("BULK-05"):
        final, body, _ = run_update(
            dicomweb.client, fifty, change, timeout=dicomweb.settings.poll_timeout, why="50 studies are accepted"
        )
        expect_succeeded(final, body, succeeded_status(dicomweb.profile, "v2"), why="the 50-study update")


@pytest.mark.behavior("BULK-04")
def test_an_invalid_study_uid_is_refused(dicomweb: Dicomweb) -> None:
    """BULK-04 (SRC): a study UID that is not a DICOM UID is refused with 400."""
    require_api_version(dicomweb.profile, "v2")
    study = study_of(stored(dicomweb, dicomweb.instances.study(series=1, instances_per_series=1)))
    response = dicomweb.client.bulk_update([study, "1.2.abc_"], new_name(dicomweb))
    expect_status(response, 400, why="a bulk update naming an invalid study UID is refused")


def _expect_refused_attribute(dicomweb: Dicomweb, study: str, tag: int, element: dict[str, Any], label: str) -> None:
    response = dicomweb.client.bulk_update([study], {key(tag): element})
    expect_status(response, 400, why=f"a bulk update of {label} is refused")
    if not dicomweb.profile.azure_compatible:
        return
    body = response.json() if "json" in (response.header("content-type") or "") else None
    items = (body or {}).get("00741048", {}).get("Value", []) if isinstance(body, dict) else []
    comments = [str(v) for item in items if isinstance(item, dict) for v in item.get("00000902", {}).get("Value", [])]
    wanted = f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
    expect(
        any(wanted in c for c in comments),
        f"the refusal names {label} in a FailedAttributesSequence ErrorComment (SRC)",
        response=response,
        expected=f"DICOM100: {wanted} - Updating the tag is not supported",
        received=repr(comments) if comments else response.text()[:300],
    )


@pytest.mark.behavior("BULK-04", "BULK-06")
def test_non_updatable_attributes_and_sequences_are_refused(dicomweb: Dicomweb) -> None:
    """BULK-04 / BULK-06 (DBU, SRC): attributes outside the 36 updatable ones (Modality, Study
    Date, the Study Instance UID) and sequences (Other Patient IDs Sequence) are refused with 400;
    the service names each in a FailedAttributesSequence (SRC)."""
    require_api_version(dicomweb.profile, "v2")
    study = study_of(stored(dicomweb, dicomweb.instances.study(series=1, instances_per_series=1)))
    for tag, element, label in (
        (0x00080060, {"vr": "CS", "Value": ["MR"]}, "Modality"),
        (0x00080020, {"vr": "DA", "Value": ["20200101"]}, "StudyDate"),
        (0x0020000D, {"vr": "UI", "Value": [dicomweb.instances.new_uid()]}, "StudyInstanceUID"),
        (0x00101002, {"vr": "SQ", "Value": [{"00100020": {"vr": "LO", "Value": ["X"]}}]}, "OtherPatientIDsSequence"),
    ):
        with checking("BULK-06"):
            _expect_refused_attribute(dicomweb, study, tag, element, label)


@pytest.mark.behavior("BULK-04")
def test_a_value_invalid_for_its_vr_is_refused(dicomweb: Dicomweb) -> None:
    """BULK-04 (SRC): a value that fails its VR's validation (a PatientBirthDate of
    ``2020-01-01``, DA is YYYYMMDD) is refused with 400."""
    require_api_version(dicomweb.profile, "v2")
    study = study_of(stored(dicomweb, dicomweb.instances.study(series=1, instances_per_series=1)))
    response = dicomweb.client.bulk_update([study], {"00100030": {"vr": "DA", "Value": ["2020-01-01"]}})
    expect_status(response, 400, why="a PatientBirthDate that is not a DA value is refused")


def _sample(tag: int) -> tuple[str, Any]:
    vr = dictionary_VR(tag)
    return vr, CODED.get(tag, SAMPLES[vr])


def _same(vr: str, got: Any, wanted: Any) -> bool:
    if vr == "PN":
        return isinstance(got, dict) and got.get("Alphabetic") == wanted["Alphabetic"]
    if vr == "DS":
        try:
            return float(got) == float(wanted)
        except (TypeError, ValueError):
            return False
    return bool(got == wanted)


@pytest.mark.behavior("BULK-06")
def test_every_updatable_attribute_is_updated(dicomweb: Dicomweb) -> None:
    """BULK-06 (DBU and SRC agree): all 36 attributes of the Patient Identification, Patient
    Demographic and General Study lists change in one update, and the instance metadata shows
    every new value."""
    require_api_version(dicomweb.profile, "v2")
    files = stored(dicomweb, dicomweb.instances.study(series=1, instances_per_series=1))
    change = {key(tag): {"vr": vr, "Value": [value]} for tag in UPDATABLE for vr, value in [_sample(tag)]}
    final, body, _ = run_update(
        dicomweb.client, [study_of(files)], change, timeout=dicomweb.settings.poll_timeout, why="all 36 attributes"
    )
    expect_succeeded(final, body, succeeded_status(dicomweb.profile, "v2"), why="the update of all 36 attributes")
    file = files[0]
    assert file.series_uid
    assert file.sop_instance_uid
    metadata = dicomweb.client.retrieve_instance_metadata(study_of(files), file.series_uid, file.sop_instance_uid)
    expect_status(metadata, 200, why="the updated instance's metadata is readable")
    found = metadata.objects[0] if metadata.objects else {}
    wrong = []
    for tag in UPDATABLE:
        vr, wanted = _sample(tag)
        values = (found.get(key(tag)) or {}).get("Value") or [None]
        if not _same(vr, values[0], wanted):
            wrong.append(f"{key(tag)}={values[0]!r} (wanted {wanted!r})")
    expect(
        not wrong,
        "every updatable attribute has its new value",
        response=metadata,
        expected="the 36 new values",
        received="; ".join(wrong),
    )
