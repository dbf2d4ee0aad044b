"""Change feed: what one entry says, and how the entries of an instance evolve (CF-01..03,
CF-07..10, PART-10).

Behaviour catalogue section 9; DCF ``docs/concepts/change-feed.md``, the service's
implementation (SRC) and its end-to-end tests (E2E). The feed is never partitioned (PART-04):
the client reads it at its version root. Real targets are shared, so every test notes the
newest entry before its own action (``changefeed/latest``) and looks only at the entries of
the instances it created, never assuming they are adjacent, only ordered. Names and enum
values are read case-insensitively (CF-08, AMB-19) except in the test of their spelling.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from conformance.checks import expect, expect_status
from conformance.checks.change_feed import (
    describe,
    entries_for,
    expect_actions,
    feed_after,
    feed_mark,
    field,
    has_field,
    lowered,
    parse_timestamp,
    reread,
    same_entry,
    sequence_of,
)
from conformance.core.instances import DicomFile
from conformance.plugin import Dicomweb
from conformance.profile import Rule

pytestmark = pytest.mark.requires("change_feed")

DEFAULT_PARTITION = "Microsoft.Default"
ACTIONS = ("create", "delete", "update")
STATES = ("current", "replaced", "deleted")


def _store(dicomweb: Dicomweb, files: list[DicomFile]) -> None:
    expect_status(dicomweb.client.store_instances(files), 200, why="the test data is stored")


def _time_then_sequence(entry: dict[str, Any]) -> tuple[datetime, int]:
    """v2 order (CF-04): timestamp, then sequence number."""
    return parse_timestamp(field(entry, "timestamp")) or datetime.min.replace(tzinfo=UTC), sequence_of(entry)


def _delete(dicomweb: Dicomweb, file: DicomFile) -> None:
    assert file.study_uid
    assert file.series_uid
    assert file.sop_instance_uid
    response = dicomweb.client.delete_instance(file.study_uid, file.series_uid, file.sop_instance_uid)
    expect_status(response, 204, why="the instance is deleted")


@pytest.mark.behavior("CF-02", "CF-03")
def test_store_is_recorded_with_every_field(dicomweb: Dicomweb) -> None:
    """CF-02 (DCF, SRC), CF-03 (DCF): storing an instance adds one entry with its sequence
    number (above every earlier one), its Study / Series / SOP Instance UIDs, action
    ``create``, a timestamp with a time zone, state ``current`` and, by default, the instance's
    DICOM JSON metadata (its SOP Instance UID among it)."""
    client, v1 = dicomweb.client, dicomweb.profile.is_v1
    mark = feed_mark(client)
    file = dicomweb.instances.instance()
    _store(dicomweb, [file])
    page = feed_after(client, mark, v1=v1)
    mine = entries_for(page.entries, [file])
    expect_actions(page.response, mine, [("create", "current")], why="one create entry for the stored instance")
    entry = mine[0]
    uids = (field(entry, "studyInstanceUid"), field(entry, "seriesInstanceUid"), field(entry, "sopInstanceUid"))
    expect(
        uids == (file.study_uid, file.series_uid, file.sop_instance_uid),
        "the entry names the instance's study, series and SOP instance",
        response=page.response,
        expected=f"{file.study_uid} / {file.series_uid} / {file.sop_instance_uid}",
        received=" / ".join(str(u) for u in uids),
    )
    expect(
        sequence_of(entry) > mark and parse_timestamp(field(entry, "timestamp")) is not None,
        "the sequence number follows the earlier entries and the timestamp is a date-time with a zone",
        response=page.response,
        expected=f"sequence > {int(mark)}, an ISO 8601 timestamp with Z or an offset",
        received=f"sequence {field(entry, 'sequence')}, timestamp {field(entry, 'timestamp')!r}",
    )
    again = reread(client, entry, v1=v1, include_metadata=None)
    metadata = field(same_entry(again, entry), "metadata")
    sop = metadata.get("00080018", {}).get("Value") if isinstance(metadata, dict) else None
    expect(
        sop == [file.sop_instance_uid],
        "by default (includeMetadata=true) the entry carries the instance's DICOM JSON metadata",
        response=again.response,
        expected=f"metadata with SOPInstanceUID (00080018) {file.sop_instance_uid}",
        received=json.dumps(metadata)[:200] if metadata is not None else "no metadata",
    )


@pytest.mark.behavior("CF-08", "CF-03")
def test_action_and_state_are_spelled_as_documented(dicomweb: Dicomweb) -> None:
    """CF-08 (DCF, SW, SRC; AMB-19): ``action`` and ``state`` are written lowercase
    (``create``, ``current``: DCF and the OpenAPI files) or PascalCase (``Create``,
    ``Current``: the implementation's enum converter), as the profile says the target follows
    (documented / implemented; either spelling for ``either``), never in another casing."""
    client, v1 = dicomweb.client, dicomweb.profile.is_v1
    mark = feed_mark(client)
    file = dicomweb.instances.instance()
    _store(dicomweb, [file])
    _delete(dicomweb, file)
    page = feed_after(client, mark, v1=v1)
    mine = entries_for(page.entries, [file])
    expect_actions(page.response, mine, [("create", "deleted"), ("delete", "deleted")], why="create, then delete")
    rule = dicomweb.profile.follows("AMB-19")
    spellings: set[str] = set()
    for word in (*ACTIONS, *STATES):
        if rule in (Rule.DOCUMENTED, Rule.EITHER):
            spellings.add(word)
        if rule in (Rule.IMPLEMENTED, Rule.EITHER):
            spellings.add(word.capitalize())
    written = [(field(e, "action"), field(e, "state")) for e in mine]
    expect(
        all(action in spellings and state in spellings for action, state in written),
        "action and state are spelled as the documents or the implementation write them",
        response=page.response,
        expected={
            Rule.DOCUMENTED: "lowercase (create, deleted)",
            Rule.IMPLEMENTED: "PascalCase (Create, Deleted)",
            Rule.EITHER: "lowercase or PascalCase",
        }[rule],
        received=", ".join(f"({a}, {s})" for a, s in written),
    )


@pytest.mark.behavior("PART-10", "CF-02")
def test_entries_carry_the_partition_name(dicomweb: Dicomweb) -> None:
    """PART-10 (E2E, SRC): every entry carries ``partitionName``: the partition the instance was
    stored in, ``Microsoft.Default`` when the target runs without data partitions."""
    client, v1 = dicomweb.client, dicomweb.profile.is_v1
    mark = feed_mark(client)
    file = dicomweb.instances.instance()
    _store(dicomweb, [file])
    _delete(dicomweb, file)
    page = feed_after(client, mark, v1=v1)
    mine = entries_for(page.entries, [file])
    wanted = client.partition or DEFAULT_PARTITION
    expect(
        len(mine) == 2 and all(field(e, "partitionName") == wanted for e in mine),
        "the create and the delete entry name the instance's partition",
        response=page.response,
        expected=f"partitionName {wanted!r} on 2 entries",
        received=", ".join(repr(field(e, "partitionName")) for e in mine) or "no entries",
    )


@pytest.mark.behavior("CF-09", "CF-03")
@pytest.mark.requires("delete")
def test_lifecycle_create_delete_and_store_again(dicomweb: Dicomweb) -> None:
    """CF-09 (E2E), CF-03 (DCF): storing gives (create, current) with metadata; deleting gives
    (delete, deleted) without metadata and turns the create entry ``deleted``; storing the same
    UIDs again gives a new (create, current) entry and both older entries turn ``replaced``.
    With ``includeMetadata=false`` no entry has metadata; a deleted entry never has any."""
    client, v1 = dicomweb.client, dicomweb.profile.is_v1
    mark = feed_mark(client)
    file = dicomweb.instances.instance()
    _store(dicomweb, [file])
    _delete(dicomweb, file)
    page = feed_after(client, mark, v1=v1)
    deleted = entries_for(page.entries, [file])
    expect_actions(page.response, deleted, [("create", "deleted"), ("delete", "deleted")], why="after the delete")
    with_metadata = reread(client, deleted[1], v1=v1, include_metadata=True)
    delete_entry = same_entry(with_metadata, deleted[1])
    expect(
        not has_field(delete_entry, "metadata"),
        "a delete entry has no metadata, even with includeMetadata=true",
        response=with_metadata.response,
        expected="no metadata property",
        received=f"metadata: {json.dumps(field(delete_entry, 'metadata'))[:120]}",
    )

    _store(dicomweb, [file])
    page = feed_after(client, mark, v1=v1)
    restored = entries_for(page.entries, [file])
    expect_actions(
        page.response,
        restored,
        [("create", "replaced"), ("delete", "replaced"), ("create", "current")],
        why="storing the same UIDs again replaces the older entries",
    )
    current = reread(client, restored[2], v1=v1, include_metadata=True)
    expect(
        isinstance(field(same_entry(current, restored[2]), "metadata"), dict),
        "the current create entry carries metadata with includeMetadata=true",
        response=current.response,
        expected="a metadata object",
        received="no metadata",
    )
    bare = reread(client, restored[0], v1=v1, include_metadata=False)
    with_any = [e for e in bare.entries if has_field(e, "metadata")]
    expect(
        not with_any,
        "with includeMetadata=false no entry has metadata",
        response=bare.response,
        expected="no metadata property",
        received=f"metadata on {describe(with_any)}",
    )


@pytest.mark.behavior("CF-10", "CF-01")
@pytest.mark.requires("delete")
def test_entries_follow_the_order_of_the_actions(dicomweb: Dicomweb) -> None:
    """CF-10 (DCF): entries appear in the order of the actions, each with its own, increasing
    sequence number; CF-01 (DCF): the feed is an immutable log that any number of readers read
    independently, so a second reader (another connection) sees the same entries with the same
    sequence numbers, timestamps, actions and UIDs (only the state follows later actions)."""
    client, v1 = dicomweb.client, dicomweb.profile.is_v1
    mark = feed_mark(client)
    first, second, third = (dicomweb.instances.instance() for _ in range(3))
    _store(dicomweb, [first])
    _store(dicomweb, [second])
    _delete(dicomweb, first)
    _store(dicomweb, [third])
    page = feed_after(client, mark, v1=v1)
    mine = entries_for(page.entries, [first, second, third])
    order = [(field(e, "sopInstanceUid"), lowered(e, "action")) for e in mine]
    wanted = [
        (first.sop_instance_uid, "create"),
        (second.sop_instance_uid, "create"),
        (first.sop_instance_uid, "delete"),
        (third.sop_instance_uid, "create"),
    ]
    sequences = [sequence_of(e) for e in mine]
    expect(
        order == wanted and sequences == sorted(set(sequences)),
        "the entries follow the order of the actions, with increasing sequence numbers",
        response=page.response,
        expected="create A, create B, delete A, create C with increasing sequence numbers",
        received=describe(mine),
    )
    reader = client.at(client.base_url)  # an independent reader of the same feed
    again = entries_for(feed_after(reader, mark, v1=v1).entries, [first, second, third])
    keys = ("sequence", "timestamp", "action", "studyInstanceUid", "seriesInstanceUid", "sopInstanceUid")

    def fixed(entries: list[dict[str, object]]) -> list[tuple[object, ...]]:
        return [tuple(field(e, k) for k in keys) for e in entries]

    expect(
        fixed(again) == fixed(mine),
        "a second read finds the same entries, unchanged",
        response=page.response,
        expected=describe(mine),
        received=describe(again) + ("" if len(again) != len(mine) else " (a field other than state changed)"),
    )


@pytest.mark.behavior("CF-01")
def test_the_feed_is_read_only(dicomweb: Dicomweb) -> None:
    """CF-01 (DCF): the change feed is a read-only log: a request to add an entry is refused
    (the service has no POST route: 404 or 405; a target held to the documents alone may refuse
    with another 4xx or 501) and nothing about the named instance appears."""
    client, v1 = dicomweb.client, dicomweb.profile.is_v1
    mark = feed_mark(client)
    made_up = dicomweb.instances.new_uid()
    entry = {
        "studyInstanceUid": dicomweb.instances.new_uid(),
        "seriesInstanceUid": dicomweb.instances.new_uid(),
        "sopInstanceUid": made_up,
        "action": "create",
        "state": "current",
    }
    response = client.request(
        "POST",
        f"{client.version_root}/changefeed",
        headers={"Content-Type": "application/json"},
        content=json.dumps([entry]).encode(),
    )
    # The service has no POST route there (404 / 405); another server may also say 400, 403 or 501.
    refusals = (404, 405) if dicomweb.profile.azure_compatible else (400, 403, 404, 405, 501)
    expect_status(response, *refusals, why="entries cannot be added to the change feed")
    page = feed_after(client, mark, v1=v1)
    forged = [e for e in page.entries if field(e, "sopInstanceUid") == made_up]
    expect(
        not forged,
        "the refused entry is not in the feed",
        response=page.response,
        expected="no entry for the made-up instance",
        received=describe(forged),
    )


@pytest.mark.behavior("CF-07")
def test_latest_is_the_newest_entry(dicomweb: Dicomweb) -> None:
    """CF-07 (SRC, E2E): ``changefeed/latest`` answers one JSON object, the newest entry: after
    this test's stores, its sequence number is at least that of the last store's entry (v1: the highest
    sequence; v2: the latest timestamp, then sequence), it is an entry of the feed, and with
    ``includeMetadata=false`` it has no metadata. An invalid ``includeMetadata`` is a 400.
    Two instances are stored one after the other, so the oldest of them is not the newest."""
    client, v1 = dicomweb.client, dicomweb.profile.is_v1
    mark = feed_mark(client)
    files = [dicomweb.instances.instance(), dicomweb.instances.instance()]
    for file in files:
        _store(dicomweb, [file])
    page = feed_after(client, mark, v1=v1)
    mine = entries_for(page.entries, files)
    expect_actions(page.response, mine, [("create", "current")] * 2, why="a create entry per stored instance")
    response = client.change_feed_latest([("includeMetadata", "false")])
    expect_status(response, 200, why="the feed is not empty: latest answers an entry")
    latest = response.json()
    expect(
        isinstance(latest, dict) and sequence_of(latest) >= sequence_of(mine[-1]),
        "latest is one entry, no older than the last entry this test wrote",
        response=response,
        expected=f"a JSON object with sequence >= {sequence_of(mine[-1])}",
        received=json.dumps(latest)[:200],
    )
    expect(
        not has_field(latest, "metadata"),
        "latest has no metadata with includeMetadata=false",
        response=response,
        expected="no metadata property",
        received="metadata present",
    )
    newest_seen = max(page.entries, key=sequence_of) if v1 else max(page.entries, key=_time_then_sequence)
    expect(
        sequence_of(latest) >= sequence_of(newest_seen),
        "latest is at least as new as every entry read before it",
        response=response,
        expected=f"sequence >= {sequence_of(newest_seen)}",
        received=f"sequence {field(latest, 'sequence')}",
    )
    listed = reread(client, latest, v1=v1, include_metadata=False)
    found = same_entry(listed, latest)
    expect(
        lowered(found, "action") == lowered(latest, "action")
        and field(found, "sopInstanceUid") == field(latest, "sopInstanceUid"),
        "latest is the entry the feed lists under its sequence number",
        response=listed.response,
        expected=describe([latest]),
        received=describe([found]),
    )
    refused = client.change_feed_latest([("includeMetadata", "asdf")])
    expect_status(refused, 400, why="an includeMetadata that is not a boolean is refused")


@pytest.mark.behavior("CF-03", "CF-09", "CF-01")
@pytest.mark.requires("bulk_update")
def test_bulk_update_is_recorded_as_update(dicomweb: Dicomweb) -> None:
    """CF-03 (DCF v1 section, DBU), CF-01: a bulk update (API v2) adds an ``update`` entry per
    updated instance, in state ``current``; the instance's create entry turns ``replaced``."""
    from conformance.checks.operations import wait_for_operation

    client = dicomweb.client if not dicomweb.profile.is_v1 else dicomweb.client.in_version("v2")
    mark = feed_mark(client)
    files = dicomweb.instances.study(series=1, instances_per_series=2)
    _store(dicomweb, files)
    assert files[0].study_uid
    change = {"00100010": {"vr": "PN", "Value": [{"Alphabetic": "Changed^Feed"}]}}
    response = client.bulk_update([files[0].study_uid], change)
    expect_status(response, 202, why="the bulk update is accepted")
    body = response.json()
    reference = body.get("href") or body.get("id") if isinstance(body, dict) else None
    if not isinstance(reference, str):
        raise response.malformed("the bulk update answer has no operation href or id")
    _, operation = wait_for_operation(client, reference, timeout=dicomweb.settings.poll_timeout)
    expect(
        str(operation.get("status", "")).lower() in ("succeeded", "completed"),
        "the bulk update succeeds",
        expected="status succeeded",
        received=f"status {operation.get('status')!r}",
    )
    page = feed_after(client, mark, v1=False)
    for file in files:
        mine = entries_for(page.entries, [file])
        expect_actions(
            page.response,
            mine,
            [("create", "replaced"), ("update", "current")],
            why="the update is recorded and replaces the create entry",
        )
