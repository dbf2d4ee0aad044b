"""Data partitions: which routes take ``/partitions/{name}``, which never do, and the refusals
(PART-03, PART-04, PART-05, PART-08).

Behaviour catalogue section 7; DDP ("Data partitions"), SRC, SW. With the feature on, STOW,
WADO, QIDO, delete, export, update and worklist routes need the partition segment after the
version; extended query tags, operations, change feed, ``/partitions`` and the health check stay
at the base URI. Every refusal is a 400 with a text message (AMB-16: never 404).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from conformance.checks import expect, expect_status, expect_stored, store_result
from conformance.checks.search import expect_some
from conformance.client.base import MULTIPART_DICOM_ANY
from conformance.client.partitions import fresh_partition_name
from conformance.core.uids import new_uid
from conformance.plugin import Dicomweb
from conformance.suites._partitions_support import (
    DISABLED,
    MISSING,
    PARTITIONED_ROUTES,
    PartitionedRoute,
    does_not_exist,
    expect_listed,
    expect_partition_refusal,
    listed_partitions,
    route_applies,
)
from conformance.suites._support import empty_multipart, require_azure_compatible
from conformance.suites._wado_qido_support import uids
from conformance.testdata.workitems import cancellation_request, comment_update, new_workitem

NON_CREATING = [r for r in PARTITIONED_ROUTES if not r.creates]


def _route_id(route: PartitionedRoute) -> str:
    return route.label.replace(" ", "-").replace("{", "").replace("}", "")


def _applies(dicomweb: Dicomweb, route: PartitionedRoute) -> None:
    reason = route_applies(route, dicomweb.profile)
    if reason:
        pytest.skip(reason)


@pytest.mark.behavior("PART-03", "PART-05")
@pytest.mark.requires("partitions")
@pytest.mark.parametrize("route", PARTITIONED_ROUTES, ids=_route_id)
def test_partitioned_route_without_the_segment_is_400(dicomweb: Dicomweb, route: PartitionedRoute) -> None:
    """PART-03 (DDP, SRC, SW) / PART-05 (DDP): with partitions enabled, a partitionable route used
    without ``/partitions/{name}`` is refused: 400 "PartitionName value is missing in the route
    segment." (nothing is stored: the request carries no instance)."""
    _applies(dicomweb, route)
    plain = dicomweb.client.at(dicomweb.client.version_root)
    response = route.send(plain)
    expect_partition_refusal(response, MISSING, why=f"{route.label} without a partition segment")


@pytest.mark.behavior("PART-03")
@pytest.mark.requires("partitions")
def test_every_partitionable_route_is_served_in_the_partition(dicomweb: Dicomweb) -> None:
    """PART-03 (DDP, SRC, SW): under ``/partitions/{name}`` every partitionable route answers as
    the plain route would without partitions: both STOW routes, WADO (study, series, instance,
    metadata, frames, rendered), the six QIDO routes, delete and the worklist."""
    client = dicomweb.client
    profile = dicomweb.profile
    first = dicomweb.instances.instance()
    study, series, sop = uids(first)
    second = dicomweb.instances.instance(study_uid=study, series_uid=series)
    expect_status(client.store_instances([first]), 200, why="STOW studies in the partition")
    expect_status(client.store_instances([second], study_uid=study), 200, why="STOW studies/{study} in the partition")
    for label, response in (
        ("study", client.retrieve_study(study)),
        ("series", client.retrieve_series(study, series)),
        ("instance", client.retrieve_instance(study, series, sop)),
        ("study metadata", client.retrieve_study_metadata(study)),
        ("series metadata", client.retrieve_series_metadata(study, series)),
        ("instance metadata", client.retrieve_instance_metadata(study, series, sop)),
        ("frames", client.retrieve_frames(study, series, sop, [1])),
    ):
        expect_status(response, 200, why=f"WADO {label} in the partition")
    if profile.claims("rendered"):
        rendered = client.retrieve_rendered(study, series, sop, accept="image/jpeg")
        expect_status(rendered, 200, why="WADO rendered in the partition")
    for label, search in (
        ("studies", client.search_for_studies([("StudyInstanceUID", study)])),
        ("series", client.search_for_series([("StudyInstanceUID", study)])),
        ("instances", client.search_for_instances([("StudyInstanceUID", study)])),
        ("study's series", client.search_for_series(study=study)),
        ("study's instances", client.search_for_instances(study=study)),
        ("series' instances", client.search_for_instances(study=study, series=series)),
    ):
        expect_some(search, why=f"QIDO {label} in the partition")
    if profile.claims("delete"):
        expect_status(client.delete_instance(*uids(second)), 200, 202, 204, why="DELETE instance in the partition")
        expect_status(client.delete_series(study, series), 200, 202, 204, why="DELETE series in the partition")
        other = dicomweb.instances.instance()
        expect_status(client.store_instances([other]), 200, why="another study is stored in the partition")
        expect_status(client.delete_study(str(other.study_uid)), 200, 202, 204, why="DELETE study in the partition")
    if profile.claims("workitems"):
        _worklist_in_the_partition(dicomweb)


def _worklist_in_the_partition(dicomweb: Dicomweb) -> None:
    client = dicomweb.client
    item, other = new_workitem("partitioned routes"), new_workitem("partitioned routes")
    for workitem in (item, other):
        expect_status(
            client.create_workitem(workitem.json(with_uid=False), workitem.uid), 201, why="UPS create in the partition"
        )
    expect_status(client.retrieve_workitem(item.uid), 200, why="UPS retrieve in the partition")
    expect_some(client.search_for_workitems([("PatientID", item.patient_id)]), why="UPS search in the partition")
    expect_status(client.update_workitem(item.uid, comment_update("partition")), 200, why="UPS update in the partition")
    claim = client.change_workitem_state(item.uid, "IN PROGRESS", new_uid())
    expect_status(claim, 200, why="UPS change state in the partition")
    cancel = client.request_cancellation(other.uid, cancellation_request("partitioned routes"))
    expect_status(cancel, 202, why="UPS cancel request in the partition")


@pytest.mark.behavior("PART-05")
@pytest.mark.requires("partitions")
@pytest.mark.parametrize("route", NON_CREATING, ids=_route_id)
def test_unknown_partition_is_400_where_nothing_is_created(dicomweb: Dicomweb, route: PartitionedRoute) -> None:
    """PART-05 (DDP, SRC) / AMB-16: a partition that does not exist, on a route that does not
    create one (everything but STOW and workitem create), is refused with 400 (not 404)
    "Specified PartitionName {name} does not exist."; and the request does not create it."""
    _applies(dicomweb, route)
    name = fresh_partition_name()
    response = route.send(dicomweb.client.in_partition(name))
    expect_partition_refusal(response, does_not_exist(name), why=f"{route.label} in partition {name} nobody made")
    expect_listed(dicomweb.client, name, listed=False, why=f"{route.label} did not create partition {name}")


@pytest.mark.behavior("PART-04", "PART-09")
@pytest.mark.requires("partitions")
def test_unpartitioned_routes_stay_at_the_base(dicomweb: Dicomweb) -> None:
    """PART-04 (DDP): the partition list, the health check, the OpenAPI document, the change feed
    and the extended query tags are served at the base URI (without a partition segment) while
    partitions are enabled; each claimed one answers 200 there."""
    client = dicomweb.client
    listed_partitions(client.list_partitions(), why="GET /partitions at the version root")
    profile = dicomweb.profile
    if profile.claims("health_check"):
        expect_status(client.health_check(), 200, why="the health check is not partitioned")
    if profile.claims("openapi") and profile.api_version:
        expect_status(client.api_document(profile.api_version), 200, why="the OpenAPI document is not partitioned")
    if profile.claims("change_feed"):
        expect_status(client.change_feed([("limit", "1")]), 200, why="the change feed is not partitioned")
    if profile.claims("extended_query_tags"):
        response = client.request("GET", f"{client.version_root}/extendedquerytags", headers={"Accept": "*/*"})
        expect_status(response, 200, why="the extended query tags are not partitioned")


@pytest.mark.behavior("PART-08", "PART-03")
@pytest.mark.requires("partitions")
@pytest.mark.parametrize("with_study", [False, True], ids=["studies", "studies-study"])
def test_retrieve_urls_carry_the_partition(dicomweb: Dicomweb, with_study: bool) -> None:
    """PART-08 (DDP, E2E): the RetrieveURLs of a STOW into a partition (the study's, STOW-16, and
    each instance's) include ``/partitions/{name}/``, and retrieve the stored data from there."""
    name = dicomweb.client.partition
    assert name is not None  # the session works in a partition when the profile claims them
    file = dicomweb.instances.instance()
    assert file.study_uid is not None
    response = dicomweb.client.store_instances([file], study_uid=file.study_uid if with_study else None)
    expect_status(response, 200, why="the instance is stored in the run's partition")
    result = store_result(response)
    urls = [item.retrieve_url for item in result.referenced]
    if with_study:
        urls.append(result.retrieve_url)
    segment = f"/partitions/{name}/studies/"
    for url in urls:
        path = urlsplit(url or "").path
        expect(
            segment in path,
            "the RetrieveURL carries the partition",
            response=response,
            expected=f"a URL whose path holds {segment}",
            received=url or "no RetrieveURL",
        )
        fetched = dicomweb.client.request("GET", str(url), headers={"Accept": MULTIPART_DICOM_ANY})
        expect_status(fetched, 200, why="the RetrieveURL retrieves the stored data")
    expect_stored(dicomweb.client, file, why="the instance is in the run's partition")


@pytest.mark.behavior("PART-05", "PART-09")
def test_partition_routes_are_refused_when_the_feature_is_off(dicomweb: Dicomweb) -> None:
    """PART-05 / PART-09 (DDP, SW): on a service without data partitions, ``GET /partitions`` and
    any route under ``/partitions/{name}`` are refused with 400 "Data partitions feature is
    disabled." (the service's pages: "capability is disabled"). A server without the Azure
    service's conventions has no such routes at all, so only Azure-compatible targets are held
    to it."""
    if dicomweb.profile.claims("partitions"):
        pytest.skip("not applicable: the target has data partitions enabled")
    require_azure_compatible(dicomweb.profile, "the 400 for partition routes of a service without partitions")
    client = dicomweb.client
    expect_partition_refusal(client.list_partitions(), DISABLED, why="GET /partitions with partitions disabled")
    partition = client.in_partition(fresh_partition_name())
    expect_partition_refusal(
        partition.search_for_studies([("limit", "1")]), DISABLED, why="a search in a partition with partitions disabled"
    )
    body, content_type = empty_multipart()  # zero parts: nothing is stored, whatever the answer
    stow = partition.store_body(body, content_type)
    expect_partition_refusal(stow, DISABLED, why="a STOW into a partition with partitions disabled")
