"""Data partitions: implicit creation and isolation (PART-06, PART-07).

Behaviour catalogue section 7; DDP ("a partition is a unit of logical isolation and data
uniqueness"; "the only management operation ... is an implicit creation during STOW and
workitem create requests"), E2E. The run works in a partition of its own (the session's); the
tests here add a second one, so the same UIDs can live in both.
"""

from __future__ import annotations

import pytest

from conformance.checks import (
    expect,
    expect_referenced,
    expect_status,
    expect_stored,
    stored_bytes_match,
)
from conformance.checks.search import expect_found
from conformance.client.client import DicomwebClient
from conformance.client.partitions import fresh_partition_name
from conformance.core.dicom_json import json_values
from conformance.core.instances import DicomFile
from conformance.plugin import Dicomweb
from conformance.suites._partitions_support import does_not_exist, expect_listed, expect_partition_refusal
from conformance.suites._support import require_azure_compatible
from conformance.suites._wado_qido_support import patient_of, uids
from conformance.testdata.workitems import new_workitem

pytestmark = pytest.mark.requires("partitions")

RENDERED_ACCEPT = "image/jpeg"


@pytest.fixture(scope="module")
def other_partition() -> str:
    """A second partition for the tests of this module (created by their first STOW into it), so a
    run adds few partitions to the target: partitions cannot be deleted (DDP)."""
    return fresh_partition_name()


def _copy(dicomweb: Dicomweb, file: DicomFile, patient_name: str) -> DicomFile:
    """An instance with the UIDs and PatientID of ``file`` but another PatientName (and so other bytes)."""
    study, series, sop = uids(file)
    return dicomweb.instances.instance(
        study_uid=study,
        series_uid=series,
        sop_instance_uid=sop,
        patient_id=patient_of(file),
        patient_name=patient_name,
    )


def _patient_names(client: DicomwebClient, file: DicomFile, why: str) -> list[object]:
    study, series, sop = uids(file)
    response = client.retrieve_instance_metadata(study, series, sop)
    expect_status(response, 200, why=why)
    return [json_values(obj, "00100010") for obj in response.objects]


def _expect_study_holds(dicomweb: Dicomweb, client: DicomwebClient, study: str, *files: DicomFile, why: str) -> None:
    """A search for the study's instances finds exactly ``files``."""
    response = client.search_for_instances(study=study)
    expect_found(response, dicomweb.profile.empty_search_status, "instance", [uids(f)[2] for f in files], why=why)


@pytest.mark.behavior("PART-07")
def test_same_uids_in_two_partitions_are_two_instances(dicomweb: Dicomweb, other_partition: str) -> None:
    """PART-07 (DDP, E2E): an instance with the same Study, Series and SOP Instance UIDs is stored
    in two partitions without conflict (no 409, no FailureReason 45070). Each partition keeps its
    own copy: its own metadata and bytes; adding to the study in one leaves the other's study as
    it was; deleting the study in one leaves the other's copy retrievable and unchanged."""
    here, there = dicomweb.client, dicomweb.client.in_partition(other_partition)
    mine = dicomweb.instances.instance(patient_name="Partition^Here")
    theirs = _copy(dicomweb, mine, "Partition^There")
    study, series, _ = uids(mine)
    expect_status(here.store_instances([mine]), 200, why="the instance is stored in the run's partition")
    response = there.store_instances([theirs])
    expect_status(response, 200, why="the same UIDs are stored in another partition without conflict")
    expect_referenced(response, theirs, why="the other partition's copy is stored")

    for client, file, name in ((here, mine, "Partition^Here"), (there, theirs, "Partition^There")):
        expect(
            stored_bytes_match(file.data, expect_stored(client, file, why="each partition returns its copy")),
            "each partition returns the bytes stored into it",
            expected=f"the file stored with PatientName {name}",
            received="the other partition's file",
        )
        names = _patient_names(client, file, why="each partition has the metadata of its copy")
        expect(
            names == [[{"Alphabetic": name}]],
            "each partition's metadata is that of its own copy",
            expected=f"PatientName {name}",
            received=repr(names),
        )

    # Changed in one partition: a second instance joins the study here only.
    second = dicomweb.instances.instance(study_uid=study, series_uid=series, patient_id=patient_of(mine))
    expect_status(here.store_instances([second]), 200, why="a second instance is added to the study here")
    _expect_study_holds(dicomweb, here, study, mine, second, why="the study here has both instances")
    _expect_study_holds(dicomweb, there, study, theirs, why="the other partition's study is unchanged")

    # Deleted in one partition: the other keeps its copy.
    expect_status(here.delete_study(study), 204, 200, 202, why="the study is deleted in the run's partition")
    expect_status(here.retrieve_study_metadata(study), 404, why="the study is gone from the run's partition")
    expect_stored(there, theirs, why="the other partition's copy survives the delete")
    names = _patient_names(there, theirs, why="the other partition's metadata survives the delete")
    expect(
        names == [[{"Alphabetic": "Partition^There"}]],
        "the surviving copy is the other partition's",
        expected="PatientName Partition^There",
        received=repr(names),
    )


@pytest.mark.behavior("PART-07")
def test_data_of_one_partition_is_invisible_in_another(dicomweb: Dicomweb, other_partition: str) -> None:
    """PART-07 (DDP, E2E): a study stored in one partition is not found, retrieved, rendered or
    deleted through another: no cross-partition query. Its copy stays whole where it was stored."""
    here, there = dicomweb.client, dicomweb.client.in_partition(other_partition)
    # The other partition must exist for its answers to be about the study, not the partition.
    expect_status(there.store_instances([dicomweb.instances.instance()]), 200, why="the other partition exists")
    file = dicomweb.instances.instance()
    expect_status(here.store_instances([file]), 200, why="the study is stored in the run's partition only")
    study, series, sop = uids(file)
    empty = dicomweb.profile.empty_search_status
    for label, response in (
        ("study retrieval", there.retrieve_study(study)),
        ("study metadata", there.retrieve_study_metadata(study)),
        ("instance retrieval", there.retrieve_instance(study, series, sop)),
        ("frame retrieval", there.retrieve_frames(study, series, sop, [1])),
    ):
        expect_status(response, 404, why=f"{label} in another partition does not see the study")
    if dicomweb.profile.claims("rendered"):
        rendered = there.retrieve_rendered(study, series, sop, accept=RENDERED_ACCEPT)
        expect_status(rendered, 404, why="rendering in another partition does not see the instance")
    for label, search in (
        ("studies", there.search_for_studies([("StudyInstanceUID", study)])),
        ("instances", there.search_for_instances(params=[("SOPInstanceUID", sop)])),
        ("study's series", there.search_for_series(study=study)),
    ):
        expect_found(search, empty, "study", [], why=f"a search for {label} in another partition finds nothing")
    if dicomweb.profile.claims("delete"):
        expect_status(there.delete_study(study), 404, why="a delete in another partition does not see the study")
    expect_stored(here, file, why="the study is still whole in the run's partition")


@pytest.mark.behavior("PART-06", "PART-09")
@pytest.mark.parametrize("with_study", [False, True], ids=["studies", "studies-study"])
def test_stow_creates_the_partition(dicomweb: Dicomweb, with_study: bool) -> None:
    """PART-06 (DDP): a STOW (either route) into a partition that does not exist creates it; it is
    then listed (PART-09) and holds the stored instance. Before, a search there is refused with
    400 "does not exist" (PART-05)."""
    name = fresh_partition_name()
    client = dicomweb.client.in_partition(name)
    expect_partition_refusal(
        client.search_for_studies([("limit", "1")]), does_not_exist(name), why=f"partition {name} does not exist yet"
    )
    file = dicomweb.instances.instance()
    response = client.store_instances([file], study_uid=file.study_uid if with_study else None)
    expect_status(response, 200, why=f"a STOW into the unknown partition {name} creates it")
    expect_listed(dicomweb.client, name, listed=True, why=f"partition {name} is listed once the STOW created it")
    expect_stored(client, file, why="the instance is stored in the new partition")
    found = client.search_for_studies([("StudyInstanceUID", str(file.study_uid))])
    expect_found(found, dicomweb.profile.empty_search_status, "study", [str(file.study_uid)], why="it is searchable")


@pytest.mark.behavior("PART-06", "PART-07")
@pytest.mark.requires("workitems")
def test_workitem_create_creates_the_partition(dicomweb: Dicomweb) -> None:
    """PART-06 (SRC, E2E): creating a workitem in a partition that does not exist creates the
    partition. Workitems are partitioned too (PART-07): the new workitem is not seen from the
    run's partition, and the same workitem UID can be created there as well."""
    require_azure_compatible(dicomweb.profile, "implicit creation of a partition by a workitem create")
    name = fresh_partition_name()
    client = dicomweb.client.in_partition(name)
    item = new_workitem("partition creation")
    created = client.create_workitem(item.json(with_uid=False), item.uid)
    expect_status(created, 201, why=f"a workitem create into the unknown partition {name} creates it")
    expect_listed(dicomweb.client, name, listed=True, why=f"partition {name} is listed once the workitem made it")
    expect_status(client.retrieve_workitem(item.uid), 200, why="the workitem is in the new partition")
    expect_status(
        dicomweb.client.retrieve_workitem(item.uid), 404, why="the workitem is not seen from the run's partition"
    )
    again = dicomweb.client.create_workitem(item.json(with_uid=False), item.uid)
    expect_status(again, 201, why="the same workitem UID is free in the run's partition")
