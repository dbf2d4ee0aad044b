"""Reading the change feed (DCF): the newest sequence number and the entries after it.

Property names and enum values are compared case-insensitively, as the documents and the
implementation disagree on their spelling (CF-08, AMB-19). Paging is bounded.
"""

from __future__ import annotations

from typing import Any

from conformance.checks.http import expect_status
from conformance.client.client import DicomwebClient
from conformance.core.errors import ConformanceFailure

MAX_PAGES = 20


def field(entry: dict[str, Any], name: str) -> Any:
    """A property of an entry, whatever the case of its name."""
    wanted = name.lower()
    return next((v for k, v in entry.items() if k.lower() == wanted), None)


def latest_entry(client: DicomwebClient) -> dict[str, Any] | None:
    """``GET changefeed/latest`` (CF-07): the newest entry, or None for an empty feed."""
    response = client.change_feed_latest([("includeMetadata", "false")])
    expect_status(response, 200, 204, why="the latest change-feed entry is readable")
    if response.status == 204 or not response.content:
        return None
    body = response.json()
    if body is None:
        return None
    if not isinstance(body, dict):
        raise response.malformed(f"changefeed/latest is a JSON {type(body).__name__}, not an entry")
    return body


def latest_sequence(client: DicomwebClient) -> int:
    entry = latest_entry(client)
    return int(field(entry, "sequence") or 0) if entry else 0


def entries_after(client: DicomwebClient, sequence: int, *, v1: bool) -> list[dict[str, Any]]:
    """Every entry with a sequence number above ``sequence``, oldest first.

    v1 pages by sequence window (``offset`` = exclusive start sequence, ``limit`` <= 100,
    CF-05); v2 by entries to skip within a time window starting at the entry's time (CF-04).
    """
    found: list[dict[str, Any]] = []
    if v1:
        offset = sequence
        newest = latest_sequence(client)
        for _ in range(MAX_PAGES):
            if offset >= newest:
                break
            page = _page(client, [("offset", str(offset)), ("limit", "100"), ("includeMetadata", "false")])
            found += page
            offset += 100
        return [e for e in found if int(field(e, "sequence") or 0) > sequence]
    skip = 0
    for _ in range(MAX_PAGES):
        page = _page(client, [("offset", str(skip)), ("limit", "200"), ("includeMetadata", "false")])
        found += [e for e in page if int(field(e, "sequence") or 0) > sequence]
        if len(page) < 200:
            return found
        skip += 200
    raise ConformanceFailure(f"the change feed did not end within {MAX_PAGES} pages of 200 entries")


def _page(client: DicomwebClient, params: list[tuple[str, str]]) -> list[dict[str, Any]]:
    response = client.change_feed(params)
    expect_status(response, 200, why="the change feed is readable")
    body = response.json()
    if not isinstance(body, list) or not all(isinstance(e, dict) for e in body):
        raise response.malformed("the change feed is not a JSON array of entries")
    return body
