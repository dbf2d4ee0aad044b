"""What a bulk update does to the stored data (BULK-07..10, BULK-12..14).

Behaviour catalogue section 8; DBU (the bulk update seed) and E2E. Every instance of each listed
study gets the new values, seen by WADO (files and metadata) and QIDO; the pixel data and frames
are unchanged; the file meta says who rewrote the file ((0002,0012) ``1.3.6.1.4.1.311.129``,
(0002,0013) set); the original file stays retrievable with ``msdicom-request-original: true``,
byte for byte, and stays the original after a second update; the results count exactly; each
updated instance is an ``update`` in the change feed. An update from a value to null is not
supported (BULK-05): the target refuses it, or its operation fails as DBU describes a failed
update (BULK-13), and the value stays.
"""

from __future__ import annotations

import io
from typing import Any

import pydicom
import pytest

from conformance.checks import expect, expect_status
from conformance.checks.attribution import checking
from conformance.checks.operations import (
    expect_failed_update,
    expect_succeeded,
    expect_update_results,
    operation_reference,
    run_update,
    status_of,
    succeeded_status,
    wait_for_operation,
)
from conformance.client.client import DicomwebClient
from conformance.client.operations import ORIGINAL_HEADER
from conformance.client.responses import RetrieveResponse
from conformance.core.instances import DicomFile
from conformance.plugin import Dicomweb
from conformance.suites._support import require_api_version, require_azure_compatible

pytestmark = pytest.mark.requires("bulk_update")

ORIGINAL = {ORIGINAL_HEADER: "true"}
MICROSOFT_IMPLEMENTATION = "1.3.6.1.4.1.311.129"


def uids(file: DicomFile) -> tuple[str, str, str]:
    assert file.study_uid
    assert file.series_uid
    assert file.sop_instance_uid
    return file.study_uid, file.series_uid, file.sop_instance_uid


def pn(name: str) -> dict[str, Any]:
    return {"00100010": {"vr": "PN", "Value": [{"Alphabetic": name}]}}


def names(objects: list[dict[str, Any]]) -> set[str]:
    return {str(((o.get("00100010") or {}).get("Value") or [{}])[0].get("Alphabetic")) for o in objects}


def one_file(response: RetrieveResponse, *, why: str) -> pydicom.Dataset:
    expect_status(response, 200, why=why)
    bodies = response.part_bodies()
    expect(len(bodies) == 1, why, response=response, expected="one instance", received=f"{len(bodies)} parts")
    return pydicom.dcmread(io.BytesIO(bodies[0]))


def stored_study(dicomweb: Dicomweb) -> list[DicomFile]:
    """Two series: a two-frame instance and a single-frame one."""
    study = dicomweb.instances.new_uid()
    files = [
        dicomweb.instances.multiframe(frames=2, study_uid=study, patient_name="Before^Update"),
        dicomweb.instances.instance(study_uid=study, patient_name="Before^Update"),
    ]
    expect_status(dicomweb.client.store_instances(files), 200, why="the test study is stored")
    return files


def retrieved(client: DicomwebClient, file: DicomFile, headers: dict[str, str] | None = None) -> RetrieveResponse:
    return client.retrieve_instance(*uids(file), headers=headers)


@pytest.mark.behavior("BULK-07", "BULK-12", "BULK-08", "BULK-14")
def test_every_instance_gets_the_new_values_and_keeps_its_original(dicomweb: Dicomweb) -> None:
    """BULK-07 (DBU, E2E): after the update, WADO files and metadata and QIDO show the new name
    for every instance of the study. BULK-12 (DBU, E2E): results count 1 study processed and
    updated, none failed, 2 instances, no errors. BULK-08 (DBU): pixel data and frames are as
    stored; (0002,0012) is ``1.3.6.1.4.1.311.129`` and (0002,0013) is set. BULK-14 (DBU, E2E): the
    original is the file as retrieved before the update, byte for byte; the latest differs only in
    the updated attribute and the file meta."""
    require_api_version(dicomweb.profile, "v2")
    client = dicomweb.client
    files = stored_study(dicomweb)
    before = [retrieved(client, f) for f in files]
    for response in before:
        expect_status(response, 200, why="the instance is retrievable before the update")
    frames_before = client.retrieve_frames(*uids(files[0]), [1, 2])
    expect_status(frames_before, 200, why="the frames are retrievable before the update")
    new = f"After^{dicomweb.instances.short_id('U')}"
    final, body, _ = run_update(
        client, [uids(files[0])[0]], pn(new), timeout=dicomweb.settings.poll_timeout, why="the bulk update"
    )
    expect_succeeded(final, body, succeeded_status(dicomweb.profile, "v2"), why="the bulk update")
    with checking("BULK-12"):
        results = expect_update_results(
            final, body, why="one study of two instances", studyProcessed=1, studyUpdated=1, studyFailed=0
        )
        expect_update_results(final, body, why="one study of two instances", instanceUpdated=2)
        expect(
            not results.get("errors"),
            "a successful update lists no errors (E2E)",
            response=final,
            expected="errors absent, null or empty",
            received=repr(results.get("errors")),
        )
    with checking("BULK-07"):
        metadata = client.retrieve_study_metadata(uids(files[0])[0])
        expect_status(metadata, 200, why="the study metadata is readable")
        expect(
            names(metadata.objects) == {new} and len(metadata.objects) == 2,
            "every instance's metadata shows the new name",
            response=metadata,
            expected=f"PatientName {new} on 2 instances",
            received=f"{sorted(names(metadata.objects))} on {len(metadata.objects)} instances",
        )
        found = client.search_for_studies([("PatientName", new)])
        expect_status(found, 200, why="QIDO finds the study by its new name")
        found_uids = {str(((o.get("0020000D") or {}).get("Value") or [""])[0]) for o in found.objects}
        expect(
            found_uids == {uids(files[0])[0]},
            "QIDO finds the updated study by the new name",
            response=found,
            expected=uids(files[0])[0],
            received=repr(sorted(found_uids)),
        )
    latest = [one_file(retrieved(client, f), why="the latest version is retrievable") for f in files]
    with checking("BULK-07"):
        expect(
            all(str(d.PatientName) == new for d in latest),
            "the retrieved files carry the new name",
            expected=new,
            received=repr([str(d.PatientName) for d in latest]),
        )
    with checking("BULK-08"):
        originals = [pydicom.dcmread(io.BytesIO(r.part_bodies()[0])) for r in before]
        for old, now in zip(originals, latest, strict=True):
            expect(
                now.get("PixelData") == old.get("PixelData"),
                "the pixel data is unchanged",
                expected="the pixel data as stored",
                received="different pixel data",
            )
            meta = now.file_meta
            expect(
                str(meta.get("ImplementationClassUID", "")) == MICROSOFT_IMPLEMENTATION
                and bool(str(meta.get("ImplementationVersionName", "")).strip()),
                "the file meta names the rewriting implementation (DBU)",
                expected=f"(0002,0012) {MICROSOFT_IMPLEMENTATION} and (0002,0013) set",
                received=f"(0002,0012) {meta.get('ImplementationClassUID')!r}, "
                f"(0002,0013) {meta.get('ImplementationVersionName')!r}",
            )
        frames_after = client.retrieve_frames(*uids(files[0]), [1, 2])
        expect_status(frames_after, 200, why="the frames are retrievable after the update")
        expect(
            frames_after.part_bodies() == frames_before.part_bodies(),
            "the frames are identical after the update",
            response=frames_after,
            expected="the frames as before",
            received="different frame bytes",
        )
    with checking("BULK-14"):
        for file, old_response, now in zip(files, before, latest, strict=True):
            original = retrieved(client, file, ORIGINAL)
            expect_status(original, 200, why="the original version is retrievable")
            expect(
                original.part_bodies() == old_response.part_bodies(),
                "the original version is the file as stored, byte for byte",
                response=original,
                expected=f"{len(old_response.part_bodies()[0])} bytes as retrieved before the update",
                received=f"{sum(len(b) for b in original.part_bodies())} bytes that differ",
            )
            old = pydicom.dcmread(io.BytesIO(old_response.part_bodies()[0]))
            changed = sorted(
                f"{e.tag}" for e in old if e.tag != 0x00100010 and (e.tag not in now or now[e.tag].value != e.value)
            )
            expect(
                not changed,
                "the latest version differs from the original only in the updated attributes",
                expected="no other attribute changed",
                received=", ".join(changed[:10]),
            )


@pytest.mark.behavior("BULK-07", "BULK-14")
def test_a_second_update_keeps_the_first_original(dicomweb: Dicomweb) -> None:
    """BULK-07 (DBU, E2E): two versions exist, the original and the latest: after two updates the
    original is still the version first stored and the latest has the second value."""
    require_api_version(dicomweb.profile, "v2")
    client = dicomweb.client
    files = stored_study(dicomweb)
    study = uids(files[0])[0]
    first, second = (f"{label}^{dicomweb.instances.short_id('U')}" for label in ("First", "Second"))
    for name in (first, second):
        final, body, _ = run_update(client, [study], pn(name), timeout=dicomweb.settings.poll_timeout, why=name)
        expect_succeeded(final, body, succeeded_status(dicomweb.profile, "v2"), why=f"the update to {name}")
    original = client.retrieve_study_metadata(study, headers=ORIGINAL)
    expect_status(original, 200, why="the original metadata is readable")
    expect(
        names(original.objects) == {"Before^Update"},
        "the original is the version first stored",
        response=original,
        expected="PatientName Before^Update",
        received=repr(sorted(names(original.objects))),
    )
    latest = client.retrieve_study_metadata(study)
    expect(
        names(latest.objects) == {second},
        "the latest is the second update's",
        response=latest,
        expected=f"PatientName {second}",
        received=repr(sorted(names(latest.objects))),
    )


@pytest.mark.behavior("BULK-09", "BULK-12")
def test_an_unknown_study_does_not_fail_the_operation(dicomweb: Dicomweb) -> None:
    """BULK-09 (E2E, Azure-compatible targets): a study UID nothing is stored under does not fail
    the operation: it succeeds with studyUpdated 0 and instanceUpdated 0."""
    require_api_version(dicomweb.profile, "v2")
    require_azure_compatible(dicomweb.profile, "the outcome of updating an unknown study")
    final, body, _ = run_update(
        dicomweb.client,
        [dicomweb.instances.new_uid()],
        pn("Nobody^Here"),
        timeout=dicomweb.settings.poll_timeout,
        why="an update of an unknown study",
    )
    with checking("BULK-09"):
        expect_succeeded(final, body, succeeded_status(dicomweb.profile, "v2"), why="an unknown study")
        expect_update_results(final, body, why="an unknown study", studyUpdated=0, instanceUpdated=0)


@pytest.mark.behavior("BULK-05", "BULK-13")
def test_a_value_cannot_be_updated_to_null(dicomweb: Dicomweb) -> None:
    """BULK-05 (DBU: "you can't update any field from non-null to a null value"): an empty
    PatientName for a study that has one is refused with 400, or the operation fails; either way
    the name stays. BULK-13 (DBU): a failed update reports status failed, percentComplete 100,
    studyFailed >= 1 and errors."""
    require_api_version(dicomweb.profile, "v2")
    client = dicomweb.client
    files = stored_study(dicomweb)
    study = uids(files[0])[0]
    response = client.bulk_update([study], {"00100010": {"vr": "PN"}})
    if response.status != 400:
        with checking("BULK-05"):
            _, href = operation_reference(response, why="an update to null is refused or accepted")
        final, body = wait_for_operation(client, href, timeout=dicomweb.settings.poll_timeout)
        if status_of(body) == "failed":
            with checking("BULK-13"):
                expect_failed_update(final, body, why="the update to null failed")
    metadata = client.retrieve_study_metadata(study)
    expect_status(metadata, 200, why="the study is still readable")
    with checking("BULK-05"):
        expect(
            names(metadata.objects) == {"Before^Update"},
            "the name is not updated to null",
            response=metadata,
            expected="PatientName Before^Update",
            received=repr(sorted(names(metadata.objects))),
        )


@pytest.mark.behavior("BULK-10")
@pytest.mark.requires("change_feed")
def test_each_updated_instance_is_an_update_in_the_change_feed(dicomweb: Dicomweb) -> None:
    """BULK-10 (DBU, CF-09): each updated instance produces a change-feed entry with action
    ``update`` (names and values compared case-insensitively, CF-08 / AMB-19)."""
    from conformance.checks.change_feed import entries_after, field, latest_sequence

    require_api_version(dicomweb.profile, "v2")
    client = dicomweb.client
    files = stored_study(dicomweb)
    start = latest_sequence(client)
    final, body, _ = run_update(
        client, [uids(files[0])[0]], pn("Fed^Update"), timeout=dicomweb.settings.poll_timeout, why="the bulk update"
    )
    expect_succeeded(final, body, succeeded_status(dicomweb.profile, "v2"), why="the bulk update")
    entries = entries_after(client, start, v1=False)
    updated = {
        str(field(e, "sopInstanceUid"))
        for e in entries
        if str(field(e, "action") or "").lower() == "update" and field(e, "studyInstanceUid") == uids(files[0])[0]
    }
    wanted = {uids(f)[2] for f in files}
    expect(
        wanted <= updated,
        "each updated instance has an update entry in the change feed",
        expected=f"update entries for {sorted(wanted)}",
        received=f"update entries for {sorted(updated)}",
    )


@pytest.mark.behavior("BULK-11", "DEL-06")
def test_delete_removes_both_versions(dicomweb: Dicomweb) -> None:
    """BULK-11 / DEL-06 (DBU, E2E): deleting an updated instance removes both its versions:
    afterwards the latest and the original retrieval are both 404."""
    require_api_version(dicomweb.profile, "v2")
    client = dicomweb.client
    files = stored_study(dicomweb)
    final, body, _ = run_update(
        client, [uids(files[0])[0]], pn("Deleted^Later"), timeout=dicomweb.settings.poll_timeout, why="the update"
    )
    expect_succeeded(final, body, succeeded_status(dicomweb.profile, "v2"), why="the bulk update")
    expect_status(retrieved(client, files[0], ORIGINAL), 200, why="the original version exists before the delete")
    expect_status(client.delete_instance(*uids(files[0])), 204, why="the updated instance is deleted")
    expect_status(retrieved(client, files[0]), 404, why="the latest version is deleted")
    expect_status(retrieved(client, files[0], ORIGINAL), 404, why="the original version is deleted too")
    expect_status(retrieved(client, files[1], ORIGINAL), 200, why="the sibling's original version stays")
