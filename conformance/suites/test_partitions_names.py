"""Data partitions: what a partition name may be (PART-02, PART-05).

Behaviour catalogue section 7; DDP ("up to 64 alphanumeric characters, ``.``, ``-``, or ``_``, to
allow both DICOM UID and GUID formats, as well as human-readable identifiers"), SRC (regex
``^[A-Za-z0-9_.-]*$``, empty rejected; 400 "The specified PartitionName is invalid."). Every name
the suite creates starts with ``dwc-`` and is fresh: partitions cannot be deleted (DDP), so the
tests create as few as they can and check the other names on routes that create nothing.
"""

from __future__ import annotations

import uuid

import pytest

from conformance.checks import expect, expect_status, expect_stored
from conformance.client.partitions import PARTITION_PREFIX, fresh_partition_name
from conformance.plugin import Dicomweb
from conformance.suites._partitions_support import (
    INVALID,
    does_not_exist,
    expect_listed,
    expect_partition_refusal,
    invalid_name_message,
)

pytestmark = pytest.mark.requires("partitions")


def _invalid_names() -> list[tuple[str, str]]:
    fresh = fresh_partition_name()
    return [
        ("trailing-space", fresh + " "),
        ("at-and-bang", fresh + "@!"),
        ("65-characters", fresh_partition_name(64) + "x"),
        ("70-characters", fresh_partition_name(64) + "abcdef"),
        ("non-ascii", fresh + "é"),
        ("colon", fresh + ":1"),
    ]


INVALID_NAMES = _invalid_names()


@pytest.mark.behavior("PART-02")
def test_a_64_character_name_of_every_allowed_kind(dicomweb: Dicomweb) -> None:
    """PART-02 (DDP, SRC): a name of 64 characters mixing upper and lower case letters, digits,
    ``.``, ``-`` and ``_`` is valid: a STOW into it creates the partition and stores."""
    name = (PARTITION_PREFIX + "AZaz09._-" + uuid.uuid4().hex + uuid.uuid4().hex)[:64]
    assert len(name) == 64
    client = dicomweb.client.in_partition(name)
    file = dicomweb.instances.instance()
    expect_status(client.store_instances([file]), 200, why=f"{name!r} is a valid partition name")
    expect_listed(dicomweb.client, name, listed=True, why="the 64-character partition is listed under its name")
    expect_stored(client, file, why="the instance is stored in the partition with the 64-character name")


@pytest.mark.behavior("PART-02")
@pytest.mark.parametrize(
    "name",
    [
        str(uuid.uuid4()),  # a GUID with -
        str(uuid.uuid4()).replace("-", "_"),
        str(uuid.uuid4()).replace("-", "."),
        f"2.25.{uuid.uuid4().int}",  # a DICOM UID
        "fooBAR123.-_" + uuid.uuid4().hex[:8],
    ],
    ids=["guid-dashes", "guid-underscores", "guid-dots", "dicom-uid", "mixed"],
)
def test_valid_names_are_not_refused_as_invalid(dicomweb: Dicomweb, name: str) -> None:
    """PART-02 (DDP, SRC): GUIDs written with ``-``, ``_`` or ``.``, DICOM UIDs and mixed names are
    valid. A search in such a partition, which nobody made, is refused only because the partition
    does not exist (PART-05), not because of its name; nothing is created."""
    response = dicomweb.client.in_partition(name).search_for_studies([("limit", "1")])
    expect_partition_refusal(response, does_not_exist(name), why=f"partition {name!r} does not exist")
    text = response.text()
    expect(
        INVALID.search(text) is None,
        f"{name!r} is not refused as an invalid name",
        response=response,
        expected="the partition refused as unknown, not its name as invalid",
        received=text.strip()[:200],
    )


@pytest.mark.behavior("PART-02", "PART-05")
@pytest.mark.parametrize("name", [n for _, n in INVALID_NAMES], ids=[label for label, _ in INVALID_NAMES])
def test_invalid_names_are_400(dicomweb: Dicomweb, name: str) -> None:
    """PART-02 (SRC tests: ``123 `` with a space, ``abc123@!``, 70 characters) / PART-05: a name
    outside 1 to 64 characters of ``A-Z a-z 0-9 . - _`` is refused with 400 "The specified
    PartitionName is invalid." (the message only for Azure-compatible targets), on a STOW (which
    would otherwise create the partition) as on a search; no partition is created."""
    message = invalid_name_message(dicomweb.profile)
    client = dicomweb.client.in_partition(name)
    file = dicomweb.instances.instance()
    expect_partition_refusal(client.store_instances([file]), message, why=f"a STOW into partition {name!r}")
    expect_partition_refusal(
        client.search_for_studies([("limit", "1")]), message, why=f"a search in partition {name!r}"
    )
    expect_listed(dicomweb.client, name, listed=False, why=f"no partition {name!r} was created")
