"""Reading the change feed (DCF): where it stands before an action, and the entries after it.

Real targets are shared: a test never assumes an empty feed or that its entries are adjacent.
It notes the newest entry before its own action (``feed_mark``, from ``changefeed/latest``),
then reads what came after it (``entries_after``) and keeps the entries of its own UIDs
(``entries_for``). v1 pages by sequence window (CF-05) and may meet gaps in the sequence
numbers, so an empty window is not the end: the reader goes on up to the newest sequence
``latest`` reports. v2 pages by entries to skip within a time window (CF-04) that starts just
before the mark's timestamp, until a page comes back shorter than the limit.

Property names and enum values are compared case-insensitively, as the documents and the
implementation disagree on their spelling (CF-08, AMB-19). Every read is bounded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from conformance.checks.http import expect, expect_media_type, expect_schema, expect_status
from conformance.client.client import DicomwebClient
from conformance.client.responses import DicomwebResponse
from conformance.core.errors import SuiteError
from conformance.core.instances import DicomFile

#: Pages read at most after a mark: a feed that grows faster than this during one test is too busy.
MAX_PAGES = 50
V1_WINDOW = 100
V2_PAGE = 200

#: The entry properties (CF-02), as the implementation spells them (camelCase, GEN-11).
FIELDS = (
    "sequence",
    "partitionName",
    "studyInstanceUid",
    "seriesInstanceUid",
    "sopInstanceUid",
    "action",
    "timestamp",
    "state",
    "metadata",
    "filePath",
)
_BY_LOWER = {name.lower(): name for name in FIELDS}


class FeedMark(int):
    """The newest sequence number at some moment (0 for an empty feed), with the timestamp of
    that entry as the target wrote it, so a v2 reader can start its time window there."""

    timestamp: str | None

    def __new__(cls, sequence: int, timestamp: str | None = None) -> FeedMark:
        mark = super().__new__(cls, sequence)
        mark.timestamp = timestamp
        return mark


@dataclass(frozen=True, slots=True)
class Page:
    """One answer of ``GET changefeed``: the response and its entries."""

    response: DicomwebResponse
    entries: list[dict[str, Any]]


def field(entry: dict[str, Any], name: str) -> Any:
    """A property of an entry, whatever the case of its name."""
    wanted = name.lower()
    return next((v for k, v in entry.items() if k.lower() == wanted), None)


def has_field(entry: dict[str, Any], name: str) -> bool:
    wanted = name.lower()
    return any(k.lower() == wanted for k in entry)


def sequence_of(entry: dict[str, Any]) -> int:
    value = field(entry, "sequence")
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


def lowered(entry: dict[str, Any], name: str) -> str:
    """``action`` / ``state`` in lower case (CF-08: the sources disagree on the casing)."""
    return str(field(entry, name)).lower()


def camel_case(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry with its known property names spelled as the implementation writes them, so a
    target that follows DCF's PascalCase (AMB-19) is validated against the same schema."""
    return {_BY_LOWER.get(k.lower(), k): v for k, v in entry.items()}


def parse_timestamp(value: object) -> datetime | None:
    """An entry's timestamp as an aware datetime, or None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else None


# -- reading --------------------------------------------------------------------------------------


def read_page(client: DicomwebClient, params: Iterable[tuple[str, str]], *, why: str) -> Page:
    """``GET changefeed`` with ``params``: 200, ``application/json``, an array of entries (CF-02)."""
    response = client.change_feed(list(params))
    expect_status(response, 200, why=why)
    expect_media_type(response, "application/json", why=f"{why}: the feed is JSON")
    body = response.json()
    if not isinstance(body, list) or not all(isinstance(e, dict) for e in body):
        raise response.malformed("the change feed is not a JSON array of entries")
    expect_schema(response, "change-feed", body=[camel_case(e) for e in body], why=f"{why}: entries as documented")
    return Page(response, body)


def latest_entry(client: DicomwebClient, *, include_metadata: bool = False) -> dict[str, Any] | None:
    """``GET changefeed/latest`` (CF-07): the newest entry, or None for an empty feed."""
    response = client.change_feed_latest([("includeMetadata", "true" if include_metadata else "false")])
    expect_status(response, 200, 204, why="the latest change-feed entry is readable")
    if response.status == 204 or not response.content:
        return None
    expect_media_type(response, "application/json", why="the latest entry is JSON")
    body = response.json()
    if body is None:
        return None
    if not isinstance(body, dict):
        raise response.malformed(f"changefeed/latest is a JSON {type(body).__name__}, not an entry")
    expect_schema(
        response, "change-feed-entry", body=camel_case(body), why="the latest entry is an entry as documented"
    )
    return body


def feed_mark(client: DicomwebClient) -> FeedMark:
    """Where the feed stands now: the newest entry's sequence number and timestamp."""
    entry = latest_entry(client)
    if entry is None:
        return FeedMark(0)
    timestamp = field(entry, "timestamp")
    return FeedMark(max(sequence_of(entry), 0), timestamp if isinstance(timestamp, str) else None)


def latest_sequence(client: DicomwebClient) -> FeedMark:
    """The newest sequence number (0 for an empty feed); a ``FeedMark`` usable as an int."""
    return feed_mark(client)


def entries_after(client: DicomwebClient, sequence: int, *, v1: bool) -> list[dict[str, Any]]:
    """Every entry with a sequence number above ``sequence`` (a ``FeedMark`` or a plain number),
    in the order the target lists them."""
    return feed_after(client, sequence, v1=v1).entries


def feed_after(client: DicomwebClient, sequence: int, *, v1: bool) -> Page:
    """``entries_after``, with the last page read as the evidence of a failure."""
    if v1:
        return _after_v1(client, sequence)
    start = parse_timestamp(sequence.timestamp) if isinstance(sequence, FeedMark) else None
    window: list[tuple[str, str]] = []
    if start is not None:
        # A second early: the window must hold the mark's own entry whatever the precision the
        # target parses; the entries up to the mark are filtered out below.
        window = [("startTime", (start - timedelta(seconds=1)).isoformat())]
    found: list[dict[str, Any]] = []
    for page_number in range(MAX_PAGES):
        offset = str(page_number * V2_PAGE)
        params = [*window, ("offset", offset), ("limit", str(V2_PAGE)), ("includeMetadata", "false")]
        page = read_page(client, params, why="the change feed is readable")
        found += [e for e in page.entries if sequence_of(e) > sequence]
        if len(page.entries) < V2_PAGE:
            return Page(page.response, found)
    raise SuiteError(f"the change feed grew by more than {MAX_PAGES * V2_PAGE} entries during the test: too busy")


def _after_v1(client: DicomwebClient, sequence: int) -> Page:
    newest = int(feed_mark(client))
    found: list[dict[str, Any]] = []
    offset = int(sequence)
    last: DicomwebResponse | None = None
    for _ in range(MAX_PAGES + 1):
        if offset >= newest:
            if last is None:  # nothing after the mark: read one window all the same, as evidence
                last = read_page(
                    client, [("offset", str(offset)), ("limit", "1")], why="the change feed is readable"
                ).response
            return Page(last, found)
        params = [("offset", str(offset)), ("limit", str(V1_WINDOW)), ("includeMetadata", "false")]
        page = read_page(client, params, why="the change feed is readable")  # may be empty: gaps
        found += page.entries
        last = page.response
        offset += V1_WINDOW
    raise SuiteError(f"the change feed grew by more than {MAX_PAGES * V1_WINDOW} sequence numbers: too busy")


def entries_for(entries: Iterable[dict[str, Any]], files: Iterable[DicomFile]) -> list[dict[str, Any]]:
    """The entries about the instances of ``files`` (their SOP Instance UIDs), in feed order."""
    mine = {f.sop_instance_uid for f in files}
    return [e for e in entries if field(e, "sopInstanceUid") in mine]


def describe(entries: Iterable[dict[str, Any]]) -> str:
    """``[(sequence, sop, action, state), ...]`` for Received lines."""
    rows = [
        f"({field(e, 'sequence')}, ...{str(field(e, 'sopInstanceUid'))[-8:]}, "
        f"{field(e, 'action')}, {field(e, 'state')})"
        for e in entries
    ]
    return "[" + ", ".join(rows) + "]" if rows else "no entries"


def expect_actions(
    response: DicomwebResponse | None,
    entries: list[dict[str, Any]],
    expected: list[tuple[str, str]],
    *,
    why: str,
) -> None:
    """The entries, in feed order, have these (action, state) pairs, compared case-insensitively."""
    received = [(lowered(e, "action"), lowered(e, "state")) for e in entries]
    expect(
        received == expected,
        why,
        response=response,
        expected=", ".join(f"({a}, {s})" for a, s in expected) or "no entries",
        received=describe(entries),
    )


def reread(client: DicomwebClient, entry: dict[str, Any], *, v1: bool, include_metadata: bool | None) -> Page:
    """Read the window that starts at ``entry`` again (v1: the sequence window (sequence - 1,
    sequence]; v2: the time window from its timestamp as written). ``include_metadata`` None
    leaves the parameter out (the default, true)."""
    sequence = sequence_of(entry)
    params: list[tuple[str, str]] = []
    if v1:
        params = [("offset", str(max(sequence - 1, 0))), ("limit", "1")]
    else:
        params = [("startTime", str(field(entry, "timestamp"))), ("limit", "10")]
    if include_metadata is not None:
        params.append(("includeMetadata", "true" if include_metadata else "false"))
    return read_page(client, params, why="the change feed is readable from an entry's sequence or time")


def same_entry(page: Page, entry: dict[str, Any]) -> dict[str, Any]:
    """The entry of ``page`` with ``entry``'s sequence number; a failure when it is missing."""
    sequence = sequence_of(entry)
    found = next((e for e in page.entries if sequence_of(e) == sequence), None)
    expect(
        found is not None,
        "the entry is found again where its sequence number / timestamp says",
        response=page.response,
        expected=f"the entry with sequence {sequence}",
        received=describe(page.entries),
    )
    assert found is not None
    return found
