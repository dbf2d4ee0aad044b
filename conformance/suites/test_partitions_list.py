"""Data partitions: the partition list and ``Microsoft.Default`` (PART-01, PART-09).

Behaviour catalogue section 7; DDP ("GET /partitions" lists ``PartitionKey``, ``PartitionName``,
``CreatedDate``; previous data is reached under ``Microsoft.Default``), SRC, SW. The documents
also name a 204 "no partitions exist", which the implementation cannot answer because
``Microsoft.Default`` always exists (AMB-16).
"""

from __future__ import annotations

import pytest

from conformance.checks import expect, expect_not_stored, expect_status, expect_stored
from conformance.checks.search import expect_matches
from conformance.plugin import Dicomweb
from conformance.profile import Rule
from conformance.suites._partitions_support import DEFAULT_PARTITION, listed_partitions

pytestmark = pytest.mark.requires("partitions")


@pytest.mark.behavior("PART-09")
def test_partitions_are_listed(dicomweb: Dicomweb) -> None:
    """PART-09 (DDP, SW): ``GET {v}/partitions`` answers 200 with a JSON array of
    ``{partitionKey: int, partitionName: string, createdDate: date-time}``, each partition once,
    the run's own partition (created by its first STOW) among them. Under AMB-16's implemented
    rule ``Microsoft.Default`` is always listed."""
    name = dicomweb.client.partition
    assert name is not None  # the session works in a partition when the profile claims them
    response = dicomweb.client.list_partitions()
    partitions = listed_partitions(response, why="the partitions are listed")
    names = [p.name for p in partitions]
    expect(
        name in names,
        "the run's partition is listed",
        response=response,
        expected=f"{name} among the partitions",
        received=", ".join(names[:10]),
    )
    if dicomweb.profile.follows("AMB-16") is Rule.IMPLEMENTED:
        expect(
            DEFAULT_PARTITION in names,
            f"{DEFAULT_PARTITION} is always listed (AMB-16)",
            response=response,
            expected=f"{DEFAULT_PARTITION} among the partitions",
            received=", ".join(names[:10]),
        )


@pytest.mark.behavior("PART-01")
def test_the_default_partition_is_a_partition_like_the_others(dicomweb: Dicomweb) -> None:
    """PART-01 (DDP): with partitions enabled, what was stored before lives in
    ``Microsoft.Default``, which is therefore always there: a search in it is answered (not
    refused as an unknown partition), an instance stored into it is retrievable there and not
    from the run's partition."""
    default = dicomweb.client.in_partition(DEFAULT_PARTITION)
    search = default.search_for_studies([("limit", "1")])
    expect_matches(search, dicomweb.profile.empty_search_status, why=f"{DEFAULT_PARTITION} answers a search")
    file = dicomweb.instances.instance()
    expect_status(default.store_instances([file]), 200, why=f"an instance is stored in {DEFAULT_PARTITION}")
    expect_stored(default, file, why=f"the instance is retrievable from {DEFAULT_PARTITION}")
    expect_not_stored(dicomweb.client, file, why="the instance is not in the run's partition")
