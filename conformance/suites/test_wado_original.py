"""The original version of an updated instance: ``msdicom-request-original`` (WADO-26, VER-11).

Behaviour catalogue section 3 and 12; D2, DBU, SRC, E2E. After a bulk update, the header
``msdicom-request-original: true`` (the value compared case-insensitively, SRC) on the six routes
DBU lists (study, series, instance retrieval and their metadata) returns the version stored
before the update; ``false`` or no header returns the latest. QIDO only knows the latest
version, header or not (DBU). Bulk update exists only from API v2: on v1 the route is 404
(VER-11, E2E). The never-updated case is in ``test_wado_retrieve``.
"""

from __future__ import annotations

import io
from typing import Any

import pydicom
import pytest

from conformance.checks import expect, expect_status
from conformance.checks.attribution import checking
from conformance.checks.operations import expect_succeeded, run_update, succeeded_status
from conformance.client.operations import ORIGINAL_HEADER
from conformance.client.responses import DicomwebResponse, JsonDatasetsResponse, RetrieveResponse
from conformance.plugin import Dicomweb
from conformance.suites._support import require_api_version

pytestmark = pytest.mark.requires("bulk_update")

OLD = "Original^Name"


def names_in_files(response: RetrieveResponse) -> set[str]:
    return {str(pydicom.dcmread(io.BytesIO(b)).PatientName) for b in response.part_bodies()}


def names_in_metadata(response: JsonDatasetsResponse) -> set[str]:
    return {str(((o.get("00100010") or {}).get("Value") or [{}])[0].get("Alphabetic")) for o in response.objects}


def expect_names(response: DicomwebResponse, found: set[str], wanted: str, *, why: str) -> None:
    expect_status(response, 200, why=why)
    expect(found == {wanted}, why, response=response, expected=f"PatientName {wanted}", received=repr(sorted(found)))


@pytest.mark.behavior("WADO-26", "BULK-14")
def test_original_header_selects_the_version(dicomweb: Dicomweb) -> None:
    """WADO-26 (D2, DBU, SRC): with ``msdicom-request-original: true`` (also spelt ``TRUE``) the
    six routes answer the original name; with ``false`` or without the header the new one; QIDO
    finds the study by the new name only, header or not."""
    require_api_version(dicomweb.profile, "v2")
    client = dicomweb.client
    file = dicomweb.instances.instance(patient_name=OLD)
    expect_status(client.store_instances([file]), 200, why="the test instance is stored")
    s, se, sop = str(file.study_uid), str(file.series_uid), str(file.sop_instance_uid)
    new = f"Latest^{dicomweb.instances.short_id('L')}"
    change: dict[str, Any] = {"00100010": {"vr": "PN", "Value": [{"Alphabetic": new}]}}
    final, body, _ = run_update(client, [s], change, timeout=dicomweb.settings.poll_timeout, why="the bulk update")
    expect_succeeded(final, body, succeeded_status(dicomweb.profile, "v2"), why="the bulk update")
    for value, wanted in (("true", OLD), ("TRUE", OLD), ("false", new), (None, new)):
        headers = {ORIGINAL_HEADER: value} if value is not None else None
        label = f"{ORIGINAL_HEADER}: {value}" if value is not None else f"no {ORIGINAL_HEADER}"
        for route, response in (
            ("study", client.retrieve_study(s, headers=headers)),
            ("series", client.retrieve_series(s, se, headers=headers)),
            ("instance", client.retrieve_instance(s, se, sop, headers=headers)),
        ):
            expect_names(response, names_in_files(response), wanted, why=f"{route} retrieval with {label}")
        for route, metadata in (
            ("study", client.retrieve_study_metadata(s, headers=headers)),
            ("series", client.retrieve_series_metadata(s, se, headers=headers)),
            ("instance", client.retrieve_instance_metadata(s, se, sop, headers=headers)),
        ):
            expect_names(metadata, names_in_metadata(metadata), wanted, why=f"{route} metadata with {label}")
    original = {ORIGINAL_HEADER: "true"}
    for name, studies in ((OLD, set()), (new, {s})):
        found = client.search_for_studies([("PatientName", name), ("StudyInstanceUID", s)], headers=original)
        expect_status(found, 200, 204, why="QIDO answers with the header")
        uids = {str(((o.get("0020000D") or {}).get("Value") or [""])[0]) for o in found.objects}
        expect(
            uids == studies,
            f"QIDO knows only the latest version, even with {ORIGINAL_HEADER}: {name}",
            response=found,
            expected=f"{'the study' if studies else 'nothing'} found by {name}",
            received=repr(sorted(uids)),
        )


@pytest.mark.behavior("VER-11")
def test_bulk_update_does_not_exist_on_v1(dicomweb: Dicomweb) -> None:
    """VER-11 (D2, DBU, E2E): ``POST /v1/studies/$bulkUpdate`` is 404; the route exists from v2."""
    if "v1" not in dicomweb.profile.versions_served:
        pytest.skip(f"not applicable: profile {dicomweb.profile.name!r} does not serve v1")
    v1 = dicomweb.client.in_version("v1")
    file = dicomweb.instances.instance()
    expect_status(v1.store_instances([file]), 200, why="the test instance is stored")
    change = {"00100010": {"vr": "PN", "Value": [{"Alphabetic": "Never^Updated"}]}}
    response = v1.bulk_update([str(file.study_uid)], change)
    with checking("VER-11"):
        expect_status(response, 404, why="bulk update through v1")
