"""Delete (the service's non-standard extension): what is removed, what stays, the errors.

Behaviour catalogue section 5 (DEL-01..08); D1, D2 "Delete".
"""

from __future__ import annotations

import pytest

from conformance.checks import (
    expect,
    expect_empty_body,
    expect_not_stored,
    expect_status,
    expect_stored,
)
from conformance.checks.operations import wait_for_operation
from conformance.core.instances import DicomFile
from conformance.core.uids import new_uid, uid_of_length
from conformance.plugin import Dicomweb
from conformance.suites._support import require_api_version

pytestmark = pytest.mark.requires("delete")


def _store(dicomweb: Dicomweb, files: list[DicomFile]) -> None:
    expect_status(dicomweb.client.store_instances(files), 200, why="the test data is stored")


def _gone(dicomweb: Dicomweb, file: DicomFile, what: str) -> None:
    """Nothing of ``file`` is retrievable, its metadata and frames neither, nor is it found."""
    assert file.study_uid
    assert file.series_uid
    assert file.sop_instance_uid
    client = dicomweb.client
    expect_not_stored(client, file, why=f"the instance is not retrievable after deleting its {what}")
    metadata = client.retrieve_instance_metadata(file.study_uid, file.series_uid, file.sop_instance_uid)
    expect_status(metadata, 404, why=f"the metadata is gone after deleting its {what}")
    frames = client.retrieve_frames(file.study_uid, file.series_uid, file.sop_instance_uid, [1])
    expect_status(frames, 404, why=f"the frames are gone after deleting its {what}")
    found = client.search_for_instances([("SOPInstanceUID", file.sop_instance_uid)])
    empty = dicomweb.profile.empty_search_status
    expect_status(found, 200, empty, why="a search still answers")
    expect(
        not found.objects,
        f"the instance is not found after deleting its {what}",
        response=found,
        expected="no match",
        received=f"{len(found.objects)} match(es)",
    )


@pytest.mark.behavior("DEL-01")
def test_delete_study(dicomweb: Dicomweb) -> None:
    """DEL-01 (D1, D2, E2E): deleting a study answers 204 with no body; every instance of it is
    gone: retrieval, metadata, frames and search."""
    files = dicomweb.instances.study(series=2, instances_per_series=2)
    _store(dicomweb, files)
    study = str(files[0].study_uid)
    response = dicomweb.client.delete_study(study)
    expect_status(response, 204, why="a stored study is deleted")
    expect_empty_body(response, why="a 204 answer has no body")
    expect_status(dicomweb.client.retrieve_study(study), 404, why="the deleted study is not retrievable")
    expect_status(dicomweb.client.retrieve_study_metadata(study), 404, why="the deleted study has no metadata")
    for file in files:
        _gone(dicomweb, file, "study")


@pytest.mark.behavior("DEL-01")
def test_delete_series_and_instance(dicomweb: Dicomweb) -> None:
    """DEL-01: deleting a series, then an instance, answers 204 and removes them."""
    files = dicomweb.instances.study(series=2, instances_per_series=2)
    _store(dicomweb, files)
    series_a = [f for f in files if f.series_uid == files[0].series_uid]
    series_b = [f for f in files if f.series_uid != files[0].series_uid]
    first = series_a[0]
    assert first.study_uid
    assert first.series_uid
    response = dicomweb.client.delete_series(first.study_uid, first.series_uid)
    expect_status(response, 204, why="a stored series is deleted")
    expect_empty_body(response, why="a 204 answer has no body")
    for file in series_a:
        _gone(dicomweb, file, "series")
    target = series_b[0]
    assert target.study_uid
    assert target.series_uid
    assert target.sop_instance_uid
    response = dicomweb.client.delete_instance(target.study_uid, target.series_uid, target.sop_instance_uid)
    expect_status(response, 204, why="a stored instance is deleted")
    expect_empty_body(response, why="a 204 answer has no body")
    _gone(dicomweb, target, "instance")


@pytest.mark.behavior("DEL-02")
def test_delete_unknown_is_404(dicomweb: Dicomweb) -> None:
    """DEL-02 (D1, D2, E2E): an unknown study, a series not in the study, an instance not in the
    series, and a second delete of the same resource all give 404."""
    file = dicomweb.instances.instance()
    _store(dicomweb, [file])
    assert file.study_uid
    assert file.series_uid
    assert file.sop_instance_uid
    client = dicomweb.client
    expect_status(client.delete_study(new_uid()), 404, why="the study was never stored")
    expect_status(client.delete_series(file.study_uid, new_uid()), 404, why="the series is not in the study")
    expect_status(
        client.delete_instance(file.study_uid, file.series_uid, new_uid()), 404, why="the instance is not in the series"
    )
    expect_status(
        client.delete_instance(new_uid(), file.series_uid, file.sop_instance_uid),
        404,
        why="the instance is not under that study",
    )
    expect_status(client.delete_study(file.study_uid), 204, why="the stored study is deleted")
    expect_status(client.delete_study(file.study_uid), 404, why="a deleted study cannot be deleted again")


@pytest.mark.behavior("DEL-03", "GEN-04")
@pytest.mark.parametrize("bad", ["notAStudyInstanceUid", uid_of_length(65)], ids=["letters", "65-chars"])
def test_delete_with_invalid_uid_is_400(dicomweb: Dicomweb, bad: str) -> None:
    """DEL-03 (E2E): an invalid UID at any level of a DELETE path gives 400.

    ``notAStudyInstanceUid`` is invalid under either UID rule of AMB-02: it has no digit."""
    good = new_uid()
    client = dicomweb.client
    expect_status(client.delete_study(bad), 400, why=f"{bad!r} is not a valid study UID")
    expect_status(client.delete_series(good, bad), 400, why=f"{bad!r} is not a valid series UID")
    expect_status(client.delete_instance(good, good, bad), 400, why=f"{bad!r} is not a valid instance UID")


@pytest.mark.behavior("DEL-04")
def test_delete_ignores_accept_content_type_and_body(dicomweb: Dicomweb) -> None:
    """DEL-04 (D1, D2): Accept, Content-Type and body of a DELETE are not checked."""
    file = dicomweb.instances.instance()
    _store(dicomweb, [file])
    assert file.study_uid
    assert file.series_uid
    assert file.sop_instance_uid
    response = dicomweb.client.delete_instance(
        file.study_uid,
        file.series_uid,
        file.sop_instance_uid,
        headers={"Accept": "application/xml", "Content-Type": "text/plain"},
        content=b"this body is not looked at",
    )
    expect_status(response, 204, why="DELETE succeeds whatever its Accept, Content-Type and body")
    _gone(dicomweb, file, "instance")


@pytest.mark.behavior("DEL-05")
def test_siblings_stay(dicomweb: Dicomweb) -> None:
    """DEL-05 (E2E): deleting one instance leaves its siblings; deleting one series leaves the
    other series of the study."""
    files = dicomweb.instances.study(series=2, instances_per_series=2)
    _store(dicomweb, files)
    series_a = [f for f in files if f.series_uid == files[0].series_uid]
    series_b = [f for f in files if f.series_uid != files[0].series_uid]
    victim, sibling = series_a
    assert victim.study_uid
    assert victim.series_uid
    assert victim.sop_instance_uid
    expect_status(
        dicomweb.client.delete_instance(victim.study_uid, victim.series_uid, victim.sop_instance_uid),
        204,
        why="one instance is deleted",
    )
    expect_stored(dicomweb.client, sibling, why="the sibling instance of the same series stays")
    for file in series_b:
        expect_stored(dicomweb.client, file, why="instances of the other series stay")
    expect_status(
        dicomweb.client.delete_series(victim.study_uid, victim.series_uid), 204, why="the rest of the series is deleted"
    )
    expect_not_stored(dicomweb.client, sibling, why="the deleted series is gone")
    for file in series_b:
        expect_stored(dicomweb.client, file, why="the other series of the study stays")


@pytest.mark.behavior("DEL-06", "BULK-11")
@pytest.mark.requires("bulk_update")
def test_delete_after_bulk_update_removes_both_versions(dicomweb: Dicomweb) -> None:
    """DEL-06 (D2, DBU, E2E): after a bulk update both the original and the latest version of an
    instance exist; deleting the study removes both. Bulk update exists on v2 only (VER-11)."""
    require_api_version(dicomweb.profile, "v2")
    file = dicomweb.instances.instance()
    _store(dicomweb, [file])
    assert file.study_uid
    assert file.series_uid
    assert file.sop_instance_uid
    change = {"00100010": {"vr": "PN", "Value": [{"Alphabetic": "Updated^Name"}]}}
    started = dicomweb.client.bulk_update([file.study_uid], change)
    expect_status(started, 202, why="the bulk update is accepted")
    reference = started.json().get("href") or started.json().get("id")
    _, operation = wait_for_operation(dicomweb.client, str(reference), timeout=dicomweb.settings.poll_timeout)
    expect(
        str(operation.get("status", "")).lower() in ("succeeded", "completed"),
        "the bulk update succeeds",
        expected="status succeeded",
        received=str(operation.get("status")),
    )
    original = {"msdicom-request-original": "true"}
    ids = (file.study_uid, file.series_uid, file.sop_instance_uid)
    expect_status(dicomweb.client.retrieve_instance(*ids, headers=original), 200, why="the original version exists")
    expect_status(dicomweb.client.delete_study(file.study_uid), 204, why="the updated study is deleted")
    expect_status(dicomweb.client.retrieve_instance(*ids), 404, why="the latest version is deleted")
    expect_status(
        dicomweb.client.retrieve_instance(*ids, headers=original), 404, why="the original version is deleted too"
    )


@pytest.mark.behavior("DEL-07", "PART-07")
@pytest.mark.requires("partitions")
def test_delete_in_one_partition_leaves_the_other(dicomweb: Dicomweb) -> None:
    """DEL-07 (E2E): the same instance stored in two partitions; deleting it in one leaves the
    other copy retrievable."""
    file = dicomweb.instances.instance()
    assert file.study_uid
    first = dicomweb.client.in_partition(f"dwc-{new_uid()[-12:]}")
    second = dicomweb.client.in_partition(f"dwc-{new_uid()[-12:]}")
    for client in (first, second):
        expect_status(client.store_instances([file]), 200, why="the instance is stored in each partition")
    expect_status(first.delete_study(file.study_uid), 204, why="the study is deleted in the first partition")
    expect_not_stored(first, file, why="the instance is gone from the first partition")
    expect_stored(second, file, why="the copy in the other partition is untouched")


@pytest.mark.behavior("DEL-08", "CF-09")
@pytest.mark.requires("change_feed")
def test_delete_is_recorded_in_the_change_feed(dicomweb: Dicomweb) -> None:
    """DEL-08 (DCF, CF-09): each deleted instance produces a change-feed entry with action
    ``delete`` and state ``deleted``, without metadata (compared case-insensitively, CF-08)."""
    from conformance.checks.change_feed import entries_after, field, latest_sequence

    files = dicomweb.instances.study(series=1, instances_per_series=2)
    _store(dicomweb, files)
    before = latest_sequence(dicomweb.client)
    assert files[0].study_uid
    expect_status(dicomweb.client.delete_study(files[0].study_uid), 204, why="the study is deleted")
    entries = entries_after(dicomweb.client, before, v1=dicomweb.profile.is_v1)
    for file in files:
        mine = [e for e in entries if field(e, "sopInstanceUid") == file.sop_instance_uid]
        deletes = [e for e in mine if str(field(e, "action")).lower() == "delete"]
        expect(
            len(deletes) == 1,
            "one delete entry per deleted instance",
            expected="1 entry with action delete",
            received=f"{[(field(e, 'action'), field(e, 'state')) for e in mine]}",
        )
        entry = deletes[0]
        expect(
            str(field(entry, "state")).lower() == "deleted" and field(entry, "metadata") is None,
            "the delete entry is in state deleted and has no metadata",
            expected="state deleted, no metadata",
            received=f"state {field(entry, 'state')}",
        )
