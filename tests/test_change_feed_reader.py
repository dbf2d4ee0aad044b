"""Reading the change feed (conformance.checks.change_feed) against a fake feed
(httpx.MockTransport): the mark, v1 windows across sequence gaps, v2 time windows and pages,
case-insensitive names, and the bounds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from conformance.checks.change_feed import (
    FeedMark,
    camel_case,
    entries_after,
    entries_for,
    feed_after,
    feed_mark,
    field,
    latest_sequence,
    lowered,
    parse_timestamp,
    read_page,
)
from conformance.client.client import DicomwebClient
from conformance.client.exchange import ExchangeLog
from conformance.core.errors import ConformanceFailure, MalformedResponse, SuiteError
from conformance.core.instances import DicomFile

ROOT = "http://dicom.test"
T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def entry(sequence: int, sop: str = "1.2.3", action: str = "create", **extra: Any) -> dict[str, Any]:
    return {
        "sequence": sequence,
        "studyInstanceUid": "1.2",
        "seriesInstanceUid": "1.2.1",
        "sopInstanceUid": sop,
        "action": action,
        "timestamp": (T0 + timedelta(seconds=sequence)).isoformat(),
        "state": "current",
        **extra,
    }


class FakeFeed:
    """A change feed with v1 (sequence window) and v2 (time window, skip count) reading."""

    def __init__(self, entries: list[dict[str, Any]], latest: int | None = None) -> None:
        self.entries = entries
        self.latest = latest
        self.seen: list[dict[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = dict(parse_qsl(request.url.query.decode()))
        self.seen.append({"path": request.url.path, **params})
        if request.url.path.endswith("/latest"):
            if self.latest is not None:
                return httpx.Response(200, json=entry(self.latest))
            if not self.entries:
                return httpx.Response(204)
            return httpx.Response(200, json=max(self.entries, key=lambda e: e["sequence"]))
        if request.url.path.startswith("/v1/"):
            offset, limit = int(params.get("offset", "0")), int(params.get("limit", "10"))
            return httpx.Response(200, json=[e for e in self.entries if offset < e["sequence"] <= offset + limit])
        window = self.entries
        if "startTime" in params:
            start = datetime.fromisoformat(params["startTime"])
            window = [e for e in window if datetime.fromisoformat(e["timestamp"]) >= start]
        offset, limit = int(params.get("offset", "0")), int(params.get("limit", "100"))
        return httpx.Response(200, json=window[offset : offset + limit])


def client_for(feed: Any, version: str = "v2") -> DicomwebClient:
    http = httpx.Client(transport=httpx.MockTransport(feed))
    return DicomwebClient(http, f"{ROOT}/{version}", log=ExchangeLog())


def test_mark_of_an_empty_feed_is_zero() -> None:
    mark = feed_mark(client_for(FakeFeed([])))
    assert mark == 0
    assert mark.timestamp is None


def test_mark_is_an_int_with_the_newest_timestamp() -> None:
    client = client_for(FakeFeed([entry(1), entry(7)]))
    mark = latest_sequence(client)
    assert isinstance(mark, int)
    assert mark == 7
    assert mark + 1 == 8
    assert mark.timestamp == entry(7)["timestamp"]


def test_v1_reads_past_windows_left_empty_by_gaps() -> None:
    """An empty v1 window is not the end of the feed: reading goes on up to latest."""
    feed = FakeFeed([entry(1), entry(2), entry(250, "9.9"), entry(251, "9.8", "delete")])
    found = entries_after(client_for(feed, "v1"), 2, v1=True)
    assert [e["sequence"] for e in found] == [250, 251]
    offsets = [s["offset"] for s in feed.seen if "offset" in s]
    assert offsets == ["2", "102", "202"]
    assert all(s.get("limit") == "100" for s in feed.seen if "offset" in s)


def test_v1_nothing_after_the_mark_still_reads_one_window() -> None:
    feed = FakeFeed([entry(1), entry(2)])
    page = feed_after(client_for(feed, "v1"), 2, v1=True)
    assert page.entries == []
    assert page.response.status == 200


def test_v2_starts_the_time_window_before_the_mark_and_pages() -> None:
    entries = [entry(n, sop=f"1.{n}") for n in range(1, 451)]
    feed = FakeFeed(entries)
    mark = FeedMark(10, entries[9]["timestamp"])
    found = entries_after(client_for(feed), mark, v1=False)
    assert [e["sequence"] for e in found] == list(range(11, 451))
    starts = {s.get("startTime") for s in feed.seen if s["path"] == "/v2/changefeed"}
    assert starts == {(T0 + timedelta(seconds=9)).isoformat()}  # one second before the mark
    offsets = [s["offset"] for s in feed.seen if s["path"] == "/v2/changefeed"]
    assert offsets == ["0", "200", "400"]


def test_v2_plain_number_reads_from_the_beginning() -> None:
    feed = FakeFeed([entry(1), entry(2), entry(3)])
    assert [e["sequence"] for e in entries_after(client_for(feed), 1, v1=False)] == [2, 3]
    assert all("startTime" not in s for s in feed.seen)


def test_too_busy_feed_is_a_suite_error_not_a_failure() -> None:
    with pytest.raises(SuiteError, match="too busy"):
        entries_after(client_for(FakeFeed([entry(1)], latest=10**6), "v1"), 0, v1=True)


def test_names_and_enums_are_read_case_insensitively() -> None:
    pascal = {"Sequence": 4, "SopInstanceUid": "1.2.3", "Action": "Create", "State": "Current"}
    assert field(pascal, "sopInstanceUid") == "1.2.3"
    assert lowered(pascal, "action") == "create"
    assert camel_case(pascal) == {"sequence": 4, "sopInstanceUid": "1.2.3", "action": "Create", "state": "Current"}
    mine = DicomFile(b"", "x", sop_instance_uid="1.2.3")
    assert entries_for([pascal, entry(5, "4.5")], [mine]) == [pascal]


def test_timestamps_need_a_zone() -> None:
    assert parse_timestamp("2024-05-01T10:00:00.1234567+00:00") is not None
    assert parse_timestamp("2024-05-01T10:00:00Z") is not None
    assert parse_timestamp("2024-05-01T10:00:00") is None
    assert parse_timestamp(17) is None


def test_a_page_that_breaks_the_schema_fails() -> None:
    broken = entry(1)
    del broken["timestamp"]
    client = client_for(lambda r: httpx.Response(200, json=[broken]))
    with pytest.raises(ConformanceFailure, match="entries as documented") as caught:
        read_page(client, [], why="the change feed is readable")
    assert caught.value.exchange is not None


def test_a_page_that_is_not_json_fails() -> None:
    client = client_for(lambda r: httpx.Response(200, text="[]"))
    with pytest.raises(ConformanceFailure, match="the feed is JSON"):
        read_page(client, [], why="the change feed is readable")


def test_a_page_that_is_not_a_list_is_malformed() -> None:
    body = json.dumps({"entries": []}).encode()
    client = client_for(lambda r: httpx.Response(200, content=body, headers={"content-type": "application/json"}))
    with pytest.raises(MalformedResponse):
        read_page(client, [], why="the change feed is readable")
