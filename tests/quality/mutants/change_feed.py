"""Mutants for the change feed (CF).

Each rewrites the change-feed routes of the plain reference server (``GET /{v}/changefeed``,
``GET /{v}/changefeed/latest``) the way a real server could get them wrong; the suite runs
with the ``reference`` profile (API v2 at the base URL, v1 reached at ``/v1``). The helpers
are shared with the CF-related mutants of other modules (GEN-11, DEL-08, PART-10, VER-10).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from tests.quality.mutants import Answer, Mutant, Request

GROUPS = {"CF"}
EXEMPT: dict[str, str] = {}

FEED = re.compile(r"^/(?P<version>v[^/]+)/changefeed$")
LATEST = re.compile(r"^/(?P<version>v[^/]+)/changefeed/latest$")
#: Set on a request the mutant moved from ``latest`` to the list, so its answer is unwrapped.
MOVED = "x-mutant-moved-from-latest"

Entries = list[dict[str, Any]]


def is_feed(r: Request, version: str | None = None) -> bool:
    match = FEED.match(r.path)
    return r.method == "GET" and match is not None and (version is None or match.group("version") == version)


def feed_entries(fn: Callable[[Request, Entries], Entries | None], version: str | None = None) -> Callable[..., None]:
    """An answer rewrite of the entries of every 200 page of the list (and of ``latest``)."""

    def answer(r: Request, a: Answer) -> None:
        if a.status != 200 or r.method != "GET":
            return
        if is_feed(r, version):
            entries = a.json()
            changed = fn(r, entries)
            a.set_json(entries if changed is None else changed)
        elif LATEST.match(r.path) and (version is None or r.path.startswith(f"/{version}/")):
            entries = fn(r, [a.json()])
            if entries is None:
                return
            if entries:
                a.set_json(entries[0])
            else:
                a.status, a.body = 204, b""

    return answer


def each_entry(fn: Callable[[dict[str, Any]], None], version: str | None = None) -> Callable[..., None]:
    def apply(r: Request, entries: Entries) -> None:
        for entry in entries:
            fn(entry)

    return feed_entries(apply, version)


def query_rewrite(fn: Callable[[dict[str, str]], None], version: str | None = None) -> Callable[[Request], None]:
    """A request rewrite of the list's query parameters."""

    def request(r: Request) -> None:
        if is_feed(r, version):
            params = dict(parse_qsl(r.query, keep_blank_values=True))
            fn(params)
            r.query = urlencode(params)

    return request


def refusal_accepted(version: str, when: Callable[[dict[str, str]], bool]) -> Callable[[Request, Answer], None]:
    """A list request the server should refuse (400) answered 200 with an empty page."""

    def answer(r: Request, a: Answer) -> None:
        if is_feed(r, version) and a.status == 400 and when(dict(parse_qsl(r.query, keep_blank_values=True))):
            a.status, a.body = 200, b"[]"
            a.set_header("content-type", "application/json")

    return answer


# -- rewrites --------------------------------------------------------------------------------------


def _accept_posted_entries(r: Request, a: Answer) -> None:
    if r.method == "POST" and FEED.match(r.path) and a.status == 405:
        a.status, a.body = 201, b"{}"
        a.set_header("content-type", "application/json")
        a.set_header("allow", None)


def _feed_as_text(r: Request, a: Answer) -> None:
    if is_feed(r) and a.status == 200:
        a.set_header("content-type", "text/plain; charset=utf-8")


def _rename(old: str, new: str) -> Callable[[dict[str, Any]], None]:
    def fn(entry: dict[str, Any]) -> None:
        if entry.get("action") == old:
            entry["action"] = new

    return fn


def _upper_enums(entry: dict[str, Any]) -> None:
    entry["action"] = str(entry.get("action")).upper()
    entry["state"] = str(entry.get("state")).upper()


def _create_stays_current(entry: dict[str, Any]) -> None:
    if entry.get("action") == "create" and entry.get("state") == "deleted":
        entry["state"] = "current"


def _newest_first(r: Request, entries: Entries) -> Entries:
    return list(reversed(entries)) if is_feed(r) else entries


def _served_once() -> Callable[..., None]:
    """A feed that hands each entry to one reader only (a queue, not a log)."""
    served: set[int] = set()

    def fn(r: Request, entries: Entries) -> Entries:
        if not is_feed(r):
            return entries
        fresh = [e for e in entries if e.get("sequence") not in served]
        served.update(e.get("sequence") for e in entries)
        return fresh

    return feed_entries(fn)


def _later_end(params: dict[str, str]) -> None:
    if "endTime" in params:
        try:
            moment = datetime.fromisoformat(params["endTime"])
        except ValueError:
            return
        params["endTime"] = (moment + timedelta(microseconds=1)).isoformat()


def _zone_added(params: dict[str, str]) -> None:
    for name in ("startTime", "endTime"):
        value = params.get(name)
        if value and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?", value):
            params[name] = value + "Z"


def _offset_from_one(params: dict[str, str]) -> None:
    offset = params.get("offset", "0")
    if offset.isdigit() and int(offset) > 0:
        params["offset"] = str(int(offset) - 1)


def _latest_to_oldest(r: Request) -> None:
    match = LATEST.match(r.path)
    if r.method == "GET" and match:
        r.path = f"/{match.group('version')}/changefeed"
        params = dict(parse_qsl(r.query, keep_blank_values=True))
        params.update(limit="1", offset="0")
        r.query = urlencode(params)
        r.headers[MOVED] = "1"


def _unwrap_oldest(r: Request, a: Answer) -> None:
    if r.headers.get(MOVED) and a.status == 200:
        entries = a.json()
        if entries:
            a.set_json(entries[0])
        else:
            a.status, a.body = 204, b""


MUTANTS: list[Mutant] = [
    Mutant("CF-01", "accepts entries posted to the feed", answer=_accept_posted_entries),
    Mutant(
        "CF-01",
        "rewrites the timestamps on every read",
        answer=each_entry(lambda e: e.update(timestamp=datetime.now().astimezone().isoformat())),
    ),
    Mutant("CF-02", "leaves the timestamp out", answer=each_entry(lambda e: e.pop("timestamp", None))),
    Mutant("CF-02", "never includes metadata", answer=each_entry(lambda e: e.pop("metadata", None))),
    Mutant("CF-02", "labels the feed text/plain", answer=_feed_as_text),
    Mutant("CF-03", "calls a create an add", answer=each_entry(_rename("create", "add"))),
    Mutant("CF-03", "records a bulk update as a create", answer=each_entry(_rename("update", "create"))),
    Mutant("CF-04", "treats the v2 endTime as inclusive", request=query_rewrite(_later_end, "v2")),
    Mutant("CF-04", "ignores the v2 offset", request=query_rewrite(lambda p: p.pop("offset", None), "v2")),
    Mutant(
        "CF-04",
        "returns 10 entries by default in v2",
        request=query_rewrite(lambda p: p.setdefault("limit", "10"), "v2"),
    ),
    Mutant("CF-05", "starts the v1 window at the offset", request=query_rewrite(_offset_from_one, "v1")),
    Mutant("CF-05", "accepts a v1 limit of 101", answer=refusal_accepted("v1", lambda p: p.get("limit") == "101")),
    Mutant("CF-06", "accepts times without a zone", request=query_rewrite(_zone_added, "v2")),
    Mutant(
        "CF-06", "answers limit=0 with an empty page", answer=refusal_accepted("v2", lambda p: p.get("limit") == "0")
    ),
    Mutant("CF-07", "answers latest with the oldest entry", request=_latest_to_oldest, answer=_unwrap_oldest),
    Mutant("CF-08", "writes action and state in upper case", answer=each_entry(_upper_enums)),
    Mutant("CF-09", "keeps a deleted instance's create entry current", answer=each_entry(_create_stays_current)),
    Mutant("CF-10", "lists the newest entries first", answer=feed_entries(_newest_first)),
    Mutant("CF-10", "hands each entry to one reader only", answer=_served_once()),
]
