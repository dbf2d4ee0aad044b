"""Change feed: reading it in pages, v1 and v2 (CF-04, CF-05, CF-06, VER-10).

Behaviour catalogue section 9 and VER-10; DCF ``docs/concepts/change-feed.md``, the service's
implementation (SRC) and end-to-end tests (E2E). The two API versions read differently:

* v2 (CF-04): ``startTime`` (inclusive) and ``endTime`` (exclusive) bound a time window;
  ``offset`` skips entries within it; ``limit`` 1..200, default 100; ordered by timestamp,
  then sequence.
* v1 (CF-05): ``offset`` is the exclusive starting sequence number and ``limit`` the width of
  the sequence window (1..100, default 10): the entries with sequence in (offset, offset +
  limit], fewer when the sequence has gaps.

Each test addresses the version its rule belongs to (``/v1`` or ``/v2`` of the same target,
skipped when the target does not serve it), whatever version the profile's base URL names.
Shared targets: windows start at this test's own entries, and only the entries of the
instances the test created are expected at given places.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from conformance.checks import expect, expect_status
from conformance.checks.change_feed import (
    Page,
    describe,
    entries_for,
    feed_after,
    feed_mark,
    field,
    parse_timestamp,
    read_page,
    sequence_of,
)
from conformance.client.client import DicomwebClient
from conformance.core.instances import DicomFile
from conformance.plugin import Dicomweb

pytestmark = pytest.mark.requires("change_feed")

MAX_LONG = 2**63 - 1


def _at_version(dicomweb: Dicomweb, version: str) -> DicomwebClient:
    """The client at API ``version`` of the same target (skip when it is not served)."""
    if dicomweb.profile.api_version == version:
        return dicomweb.client
    if not dicomweb.profile.api_version or version not in dicomweb.profile.versions_served:
        pytest.skip(f"not applicable: the target does not serve API {version}")
    return dicomweb.client.in_version(version)


def _stored_entries(dicomweb: Dicomweb, client: DicomwebClient, count: int, *, v1: bool) -> list[dict[str, Any]]:
    """Store ``count`` fresh instances one request each; their create entries, in feed order."""
    mark = feed_mark(client)
    files: list[DicomFile] = []
    for _ in range(count):
        file = dicomweb.instances.instance()
        expect_status(dicomweb.client.store_instances([file]), 200, why="the test data is stored")
        files.append(file)
    page = feed_after(client, mark, v1=v1)
    mine = entries_for(page.entries, files)
    expect(
        [field(e, "sopInstanceUid") for e in mine] == [f.sop_instance_uid for f in files],
        "each stored instance has one create entry, in the order stored",
        response=page.response,
        expected=f"{count} create entries",
        received=describe(mine),
    )
    return mine


def _sequences(page: Page) -> list[int]:
    return [sequence_of(e) for e in page.entries]


def _time_then_sequence(entry: dict[str, Any]) -> tuple[datetime, int]:
    return parse_timestamp(field(entry, "timestamp")) or datetime.min.replace(tzinfo=UTC), sequence_of(entry)


# -- v2 ------------------------------------------------------------------------------------------


@pytest.mark.behavior("CF-04")
def test_v2_time_window_is_start_inclusive_end_exclusive(dicomweb: Dicomweb) -> None:
    """CF-04 (DCF, SRC, E2E): in v2, ``startTime`` is an inclusive and ``endTime`` an exclusive
    bound on the entries' timestamps: with the timestamp of one of this test's entries as
    written by the target, ``startTime`` keeps that entry and ``endTime`` leaves it out; the
    other entries fall on the side their timestamps say."""
    client = _at_version(dicomweb, "v2")
    mine = _stored_entries(dicomweb, client, 3, v1=False)
    ours = {sequence_of(e) for e in mine}
    pivot = mine[1]
    moment = parse_timestamp(field(pivot, "timestamp"))
    assert moment is not None  # the entry passed the schema
    stamp = str(field(pivot, "timestamp"))
    since = [("startTime", stamp)]
    first = read_page(client, [*since, ("limit", "200")], why="a window from a timestamp")
    listed = {sequence_of(e) for e in _whole_window(client, since, first)} & ours
    wanted = {sequence_of(e) for e in mine if _time_then_sequence(e)[0] >= moment}
    expect(
        listed == wanted and sequence_of(pivot) in listed,
        "startTime is inclusive: this test's entries at or after it, and only those",
        response=first.response,
        expected=f"sequences {sorted(wanted)} of this test's entries",
        received=f"sequences {sorted(listed)} of this test's entries",
    )
    opening = parse_timestamp(field(mine[0], "timestamp"))
    assert opening is not None
    until = [("startTime", (opening - timedelta(seconds=1)).isoformat()), ("endTime", stamp)]
    first = read_page(client, [*until, ("limit", "200")], why="a window up to a timestamp")
    listed = {sequence_of(e) for e in _whole_window(client, until, first)} & ours
    wanted = {sequence_of(e) for e in mine if _time_then_sequence(e)[0] < moment}
    expect(
        listed == wanted and sequence_of(pivot) not in listed,
        "endTime is exclusive: this test's entries before it, and only those",
        response=first.response,
        expected=f"sequences {sorted(wanted)} of this test's entries",
        received=f"sequences {sorted(listed)} of this test's entries",
    )


def _whole_window(client: DicomwebClient, window: list[tuple[str, str]], first: Page) -> list[dict[str, Any]]:
    """Every entry of a v2 window, paging with ``offset`` (bounded; CF-04)."""
    found = list(first.entries)
    page = first
    for _ in range(50):
        if len(page.entries) < 200:
            return found
        offset = str(len(found))
        page = read_page(client, [*window, ("limit", "200"), ("offset", offset)], why="the next page of the window")
        found += page.entries
    return found


@pytest.mark.behavior("CF-04")
def test_v2_offset_skips_entries_and_order_is_time_then_sequence(dicomweb: Dicomweb) -> None:
    """CF-04 (DCF, SRC): v2 ``offset`` is the number of entries of the window to skip and
    ``limit`` the number returned; pages of ``limit=1`` at ``offset`` 0, 1, 2 are the first three
    entries of the window, which is ordered by timestamp, then sequence number."""
    client = _at_version(dicomweb, "v2")
    mine = _stored_entries(dicomweb, client, 3, v1=False)
    window = [("startTime", str(field(mine[0], "timestamp")))]
    whole = read_page(client, [*window, ("limit", "3")], why="the first three entries of the window")
    expect(
        len(whole.entries) == 3
        and [_time_then_sequence(e) for e in whole.entries] == sorted(_time_then_sequence(e) for e in whole.entries),
        "limit=3 returns three entries, ordered by timestamp then sequence",
        response=whole.response,
        expected="3 entries in (timestamp, sequence) order",
        received=describe(whole.entries),
    )
    for skip in range(3):
        page = read_page(client, [*window, ("offset", str(skip)), ("limit", "1")], why=f"entry {skip} of the window")
        expect(
            _sequences(page) == [sequence_of(whole.entries[skip])],
            "offset skips that many entries of the window, limit=1 returns one",
            response=page.response,
            expected=f"the entry with sequence {sequence_of(whole.entries[skip])}",
            received=describe(page.entries),
        )


@pytest.mark.behavior("CF-04", "CF-05", "VER-10")
@pytest.mark.requires("delete")
def test_default_and_largest_pages_of_v1_and_v2(dicomweb: Dicomweb) -> None:
    """CF-04, CF-05, VER-10 (DCF, SRC): with 102 new entries (51 instances stored, then
    deleted), a v2 read of the window from before them returns 100 entries by default and more
    than 100 (at most 200) with ``limit=200``; a v1 read from the sequence number before them
    returns the window of 10 sequence numbers by default and of 100 with ``limit=100``."""
    mark = feed_mark(dicomweb.client)
    files = dicomweb.instances.study(series=1, instances_per_series=51)
    expect_status(dicomweb.client.store_instances(files), 200, why="51 instances are stored")
    assert files[0].study_uid
    expect_status(dicomweb.client.delete_study(files[0].study_uid), 204, why="the study is deleted")
    served = dicomweb.profile.versions_served if dicomweb.profile.api_version else ()
    if "v2" in served or dicomweb.profile.api_version == "v2":
        v2 = _at_version(dicomweb, "v2")
        start = parse_timestamp(mark.timestamp) if mark.timestamp else None
        window = [("startTime", start.isoformat())] if start else []
        default = read_page(v2, window, why="a v2 read without limit")
        expect(
            len(default.entries) == 100,
            "v2 returns 100 entries by default (the window holds more)",
            response=default.response,
            expected="100 entries",
            received=f"{len(default.entries)} entries",
        )
        largest = read_page(v2, [*window, ("limit", "200")], why="v2 accepts limit=200")
        expect(
            100 < len(largest.entries) <= 200,
            "v2 returns up to 200 entries with limit=200",
            response=largest.response,
            expected="101 to 200 entries",
            received=f"{len(largest.entries)} entries",
        )
    if "v1" in served or dicomweb.profile.api_version == "v1":
        v1 = _at_version(dicomweb, "v1")
        for params, width in (
            ([("offset", str(int(mark)))], 10),
            ([("offset", str(int(mark))), ("limit", "100")], 100),
        ):
            page = read_page(v1, params, why=f"a v1 read of a window of {width}")
            sequences = _sequences(page)
            expect(
                bool(sequences) and all(int(mark) < s <= int(mark) + width for s in sequences),
                f"v1 returns the entries whose sequence lies in (offset, offset + {width}]",
                response=page.response,
                expected=f"1 to {width} entries with sequence in ({int(mark)}, {int(mark) + width}]",
                received=f"{len(sequences)} entries, sequences {sequences[:3]}...{sequences[-3:]}",
            )
            if width == 100:
                expect(
                    len(sequences) > 10,
                    "limit=100 widens the v1 window beyond the default 10",
                    response=page.response,
                    expected="more than 10 entries (102 were written after the offset)",
                    received=f"{len(sequences)} entries",
                )


# -- v1 ------------------------------------------------------------------------------------------


@pytest.mark.behavior("CF-05")
def test_v1_offset_is_an_exclusive_sequence_number(dicomweb: Dicomweb) -> None:
    """CF-05 (DCF, SRC, E2E): in v1, ``offset`` is the sequence number after which the window
    starts and ``limit`` its width: ``offset=s-1&limit=1`` returns exactly the entry with
    sequence ``s``; ``offset=s`` leaves it out; entries come in sequence order; ``limit=100``
    is accepted and ``limit=101`` refused with 400."""
    client = _at_version(dicomweb, "v1")
    mine = _stored_entries(dicomweb, client, 3, v1=True)
    first, second, third = (sequence_of(e) for e in mine)
    exact = read_page(client, [("offset", str(second - 1)), ("limit", "1")], why="a v1 window of one sequence number")
    expect(
        _sequences(exact) == [second],
        "offset=s-1&limit=1 returns the entry with sequence s",
        response=exact.response,
        expected=f"the entry with sequence {second}",
        received=describe(exact.entries),
    )
    span = third - first
    after = read_page(client, [("offset", str(first)), ("limit", str(span))], why="a v1 window after an entry")
    sequences = _sequences(after)
    expect(
        first not in sequences
        and {second, third} <= set(sequences)
        and all(first < s <= third for s in sequences)
        and sequences == sorted(sequences),
        "the window (offset, offset + limit] in sequence order: the entry at offset is left out",
        response=after.response,
        expected=f"sequences in ({first}, {third}] including {second} and {third}, ascending",
        received=f"sequences {sequences}",
    )
    expect_status(client.change_feed([("limit", "100")]), 200, why="v1 accepts limit=100")
    expect_status(client.change_feed([("limit", "101")]), 400, why="v1 refuses limit=101 (range 1..100)")


@pytest.mark.behavior("VER-10")
def test_v2_widens_the_limit_and_adds_a_time_window(dicomweb: Dicomweb) -> None:
    """VER-10 (DCF, SRC): v2 raised the largest ``limit`` from 100 to 200 and added
    ``startTime`` / ``endTime``: ``limit=150`` is refused by v1 (400) and accepted by v2, and a
    v2 window that ends before this test's entry leaves it out."""
    v1, v2 = _at_version(dicomweb, "v1"), _at_version(dicomweb, "v2")
    expect_status(v1.change_feed([("limit", "150")]), 400, why="v1 refuses a limit above 100")
    expect_status(v2.change_feed([("limit", "150")]), 200, why="v2 accepts a limit up to 200")
    (entry,) = _stored_entries(dicomweb, v2, 1, v1=False)
    page = read_page(v2, [("endTime", str(field(entry, "timestamp"))), ("limit", "1")], why="a v2 time window")
    expect(
        sequence_of(entry) not in _sequences(page),
        "v2 honours endTime",
        response=page.response,
        expected=f"no entry with sequence {sequence_of(entry)}",
        received=describe(page.entries),
    )


# -- invalid values ------------------------------------------------------------------------------

INVALID_V2 = [
    pytest.param([("limit", "-1")], id="limit--1"),
    pytest.param([("limit", "0")], id="limit-0"),
    pytest.param([("limit", "blah")], id="limit-blah"),
    pytest.param([("limit", "201")], id="limit-201"),
    pytest.param([("offset", "-1")], id="offset--1"),
    pytest.param([("offset", "blah")], id="offset-blah"),
    pytest.param([("offset", str(MAX_LONG + 1))], id="offset-beyond-long"),
    pytest.param([("includeMetadata", "0")], id="includeMetadata-0"),
    pytest.param([("includeMetadata", "asdf")], id="includeMetadata-asdf"),
    pytest.param([("startTime", "foo")], id="startTime-foo"),
    pytest.param([("endTime", "bar")], id="endTime-bar"),
    pytest.param([("startTime", "2024-01-01T00:00:00")], id="startTime-without-zone"),
    pytest.param([("endTime", "2024-01-01T00:00:00")], id="endTime-without-zone"),
    pytest.param([("startTime", "2024-01-01T00:00:00Z"), ("endTime", "2024-01-01T00:00:00Z")], id="start-equals-end"),
    pytest.param([("startTime", "2024-01-02T00:00:00Z"), ("endTime", "2024-01-01T00:00:00Z")], id="start-after-end"),
]


@pytest.mark.behavior("CF-06")
@pytest.mark.parametrize("params", INVALID_V2)
def test_v2_invalid_parameters_are_400(dicomweb: Dicomweb, params: list[tuple[str, str]]) -> None:
    """CF-06 (E2E): a v2 change-feed request with a limit outside 1..200 or not a number, a
    negative or non-numeric offset or one beyond 2^63-1, an includeMetadata that is not a
    boolean, a start or end time that is not a date-time or has no time zone, or an end time
    not after the start time, is refused with 400."""
    client = _at_version(dicomweb, "v2")
    expect_status(client.change_feed(params), 400, why="an invalid change-feed parameter is refused")
