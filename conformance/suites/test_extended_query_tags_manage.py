"""Extended query tags: adding, listing, reading, updating and deleting them (EQT-01..03,
EQT-06..09).

Behaviour catalogue section 10; DEQT (routes, bodies, statuses), SW, SRC and E2E where DEQT is
silent. The routes are never partitioned (``{v}/extendedquerytags``). Tags are server-wide: the
tests add only private tags under a private creator of their own, in a group no existing tag
uses, and delete them when they end (``TagLedger``); tags they did not add are never touched.
Enum values are compared case-insensitively: DEQT writes ``Ready``, the implementation
``ready`` (GEN-11).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from conformance.checks import checking, expect, expect_header, expect_status, expect_text_error
from conformance.checks.extended_query_tags import PrivateBlock, TagLedger, listed_tags, member, same, tag_entry
from conformance.checks.operations import (
    expect_operation_body,
    expect_succeeded,
    succeeded_status,
    wait_for_operation,
)
from conformance.plugin import Dicomweb
from conformance.suites._extended_query_tags_support import added, block, tags

__all__ = ["block", "tags"]  # fixtures

pytestmark = pytest.mark.requires("extended_query_tags")


def facts_of(entry: dict[str, Any]) -> dict[str, Any]:
    """The EQT-06 members, enum values lowercased (GEN-11)."""
    return {
        "path": str(member(entry, "path")).upper(),
        "vr": member(entry, "vr"),
        "privateCreator": member(entry, "privateCreator"),
        "level": str(member(entry, "level")).lower(),
        "status": str(member(entry, "status")).lower(),
        "queryStatus": str(member(entry, "queryStatus")).lower(),
    }


@pytest.mark.behavior("EQT-02", "EQT-06")
def test_adding_tags_runs_a_reindex_and_makes_them_ready(
    dicomweb: Dicomweb, tags: TagLedger, block: PrivateBlock
) -> None:
    """EQT-02 (DEQT): ``POST {v}/extendedquerytags`` answers 202 with ``{id, href}`` of the reindex
    operation (the implementation also sets ``Location`` to it, SRC: required of an
    Azure-compatible target); the operation is of type ``reindex`` and succeeds. EQT-06 (DEQT, SW):
    each entry then reads back with ``path``, ``vr``, ``privateCreator``, ``level``, ``status``
    ready and ``queryStatus`` enabled, by itself and in the list."""
    entries = [block.entry(0x10, "LO"), block.entry(0x11, "DA", level="Series")]
    with checking("EQT-02"):
        response, _, href = tags.add(entries, why="two private tags are added")
        if dicomweb.profile.azure_compatible:
            location = expect_header(response, "location", why="the 202 answer points to the reindex operation (SRC)")
            expect(
                location == href,
                "Location is the operation's href (SRC)",
                response=response,
                expected=href,
                received=location,
            )
        final, body = wait_for_operation(dicomweb.client, href, timeout=dicomweb.settings.poll_timeout)
        expect_operation_body(final, body, why="the reindex operation")
        expect(
            same(body.get("type"), "reindex"),
            "the operation of an add is a reindex (EQT-02)",
            response=final,
            expected="type reindex",
            received=repr(body.get("type")),
        )
        wanted = succeeded_status(dicomweb.profile, dicomweb.profile.api_version)
        expect_succeeded(final, body, wanted, why="the reindex of tags no instance carries")
    with checking("EQT-06"):
        for entry, level in ((entries[0], "instance"), (entries[1], "series")):
            response = dicomweb.client.get_extended_query_tag(entry["path"])
            facts = facts_of(tag_entry(response, why="an added tag is readable"))
            want = {
                "path": entry["path"],
                "vr": entry["vr"],
                "privateCreator": block.creator,
                "level": level,
                "status": "ready",
                "queryStatus": "enabled",
            }
            expect(
                facts == want,
                "the entry says what was added, ready and enabled (EQT-06)",
                response=response,
                expected=json.dumps(want),
                received=json.dumps(facts),
            )
        listed = {str(member(e, "path")).upper() for e in listed_tags(dicomweb.client, why="the tags are listed")}
        expect(
            {e["path"] for e in entries} <= listed,
            "the added tags are listed (EQT-06)",
            expected=", ".join(e["path"] for e in entries),
            received=", ".join(sorted(listed)[:20]),
        )


@pytest.mark.behavior("EQT-01")
def test_adding_tags_takes_a_json_array_and_any_level_casing(
    dicomweb: Dicomweb, tags: TagLedger, block: PrivateBlock
) -> None:
    """EQT-01 (DEQT, SRC): the body is a JSON array of ``{path, vr, privateCreator, level}``; the
    level is case-insensitive (``instance``, ``SERIES``). The same body with another Content-Type
    is refused: 415 in the implementation (SRC: required of an Azure-compatible target), a 4xx in
    any case; nothing is added then."""
    entry = block.entry(0x10, "SH", level="instance")
    tags.record([entry])
    body = json.dumps([entry]).encode()
    refused = dicomweb.client.add_extended_query_tags_body(body, content_type="text/plain")
    if dicomweb.profile.azure_compatible:
        expect_status(refused, 415, why="a body that is not application/json is refused (SRC)")
    else:
        expect(
            400 <= refused.status < 500,
            "a body that is not application/json is refused",
            response=refused,
            expected="a 4xx status",
            received=f"status {refused.status}",
        )
    expect_status(dicomweb.client.get_extended_query_tag(entry["path"]), 404, why="the refused request added nothing")
    added(dicomweb, tags, [entry, block.entry(0x11, "CS", level="SERIES")], why="levels in any case are accepted")


@pytest.mark.behavior("EQT-03")
@pytest.mark.parametrize(
    ("case", "entries"),
    [
        ("no level", [{"path": "{p0}", "vr": "LO", "privateCreator": "{c}"}]),
        ("unknown level Studys", [{"path": "{p0}", "vr": "LO", "privateCreator": "{c}", "level": "Studys"}]),
        ("empty path", [{"path": "", "vr": "LO", "privateCreator": "{c}", "level": "Instance"}]),
        ("unparsable path", [{"path": "NotADicomTag", "vr": "LO", "privateCreator": "{c}", "level": "Instance"}]),
        ("private tag without VR", [{"path": "{p0}", "privateCreator": "{c}", "level": "Instance"}]),
        ("private tag without creator", [{"path": "{p0}", "vr": "LO", "level": "Instance"}]),
        ("unsupported VR OB", [{"path": "{p0}", "vr": "OB", "privateCreator": "{c}", "level": "Instance"}]),
        ("unsupported VR SQ", [{"path": "{p0}", "vr": "SQ", "privateCreator": "{c}", "level": "Instance"}]),
        ("unsupported VR LT", [{"path": "{p0}", "vr": "LT", "privateCreator": "{c}", "level": "Instance"}]),
        ("attribute QIDO supports by default", [{"path": "PatientID", "level": "Study"}]),
        (
            "the same path twice",
            [
                {"path": "{p0}", "vr": "LO", "privateCreator": "{c}", "level": "Instance"},
                {"path": "{p0}", "vr": "LO", "privateCreator": "{c}", "level": "Series"},
            ],
        ),
        ("an empty array", []),
    ],
)
def test_invalid_add_requests_are_refused(
    dicomweb: Dicomweb, tags: TagLedger, block: PrivateBlock, case: str, entries: list[dict[str, str]]
) -> None:
    """EQT-03 (DEQT, E2E, SRC): an invalid body is answered 400 with a text message (GEN-07) and
    adds nothing: missing or unknown level, empty or unparsable path, a private tag without VR or
    private creator, an unsupported VR (EQT-04: OB, SQ, LT), an attribute QIDO supports by default,
    the same path twice, an empty array."""
    concrete = [{k: v.format(p0=block.path(0x10), c=block.creator) for k, v in e.items()} for e in entries]
    tags.record([e for e in concrete if e.get("path") == block.path(0x10)])
    response = dicomweb.client.add_extended_query_tags(concrete)
    expect_status(response, 400, why=f"an add request with {case} is refused")
    expect_text_error(response, why="the refusal says why (GEN-07)")
    expect_status(
        dicomweb.client.get_extended_query_tag(block.path(0x10)), 404, why=f"the request with {case} added nothing"
    )


@pytest.mark.behavior("EQT-03")
def test_adding_an_existing_tag_is_a_conflict(dicomweb: Dicomweb, tags: TagLedger, block: PrivateBlock) -> None:
    """EQT-03 (DEQT): 409 when one or more of the tags already exist; the existing tag is
    unchanged."""
    entry = block.entry(0x10, "LO")
    added(dicomweb, tags, [entry], why="a private tag is added")
    again = dicomweb.client.add_extended_query_tags([{**entry, "level": "Study"}])
    expect_status(again, 409, why="adding an existing tag again is a conflict")
    level = member(tag_entry(dicomweb.client.get_extended_query_tag(entry["path"]), why="the tag is readable"), "level")
    expect(
        same(level, "instance"),
        "the refused add left the tag as it was",
        expected="level instance",
        received=repr(level),
    )


@pytest.mark.behavior("EQT-07")
def test_unknown_and_invalid_tag_paths(dicomweb: Dicomweb, block: PrivateBlock) -> None:
    """EQT-07 (DEQT): get, update, delete and the errors of a tag that is not an extended query tag
    answer 404; a path that is no tag (not 8 hex digits, not a keyword) answers 400."""
    client = dicomweb.client
    unknown = block.path(0x20)  # in the test's own block: certainly not added
    for name, response in (
        ("get", client.get_extended_query_tag(unknown)),
        ("update", client.update_extended_query_tag(unknown, {"queryStatus": "Disabled"})),
        ("delete", client.delete_extended_query_tag(unknown)),
        ("errors", client.extended_query_tag_errors(unknown)),
    ):
        expect_status(response, 404, why=f"{name} of a tag that is not an extended query tag")
    for path in ("NotADicomTag", "0010101"):
        expect_status(client.get_extended_query_tag(path), 400, why=f"the tag path {path!r} is invalid")


@pytest.mark.behavior("EQT-07")
def test_deleting_a_tag(dicomweb: Dicomweb, tags: TagLedger, block: PrivateBlock) -> None:
    """EQT-07 (DEQT): deleting a ready tag answers 204 with no body; the tag is gone (404) and no
    longer listed."""
    entry = block.entry(0x10, "LO")
    added(dicomweb, tags, [entry], why="a private tag is added")
    response = dicomweb.client.delete_extended_query_tag(entry["path"])
    expect_status(response, 204, why="a ready tag is deleted")
    expect_status(dicomweb.client.get_extended_query_tag(entry["path"]), 404, why="a deleted tag is gone")
    listed = {str(member(e, "path")).upper() for e in listed_tags(dicomweb.client, why="the tags are listed")}
    expect(
        entry["path"] not in listed,
        "a deleted tag is not listed",
        expected=f"no {entry['path']}",
        received=entry["path"],
    )


@pytest.mark.behavior("EQT-08")
def test_the_list_pages_with_limit_and_offset(dicomweb: Dicomweb, tags: TagLedger, block: PrivateBlock) -> None:
    """EQT-08 (SRC, SW): the list takes ``limit`` 1..200 and ``offset`` >= 0: ``limit=1`` gives one
    entry although more exist, an offset past the end gives none; 0, 201, -1 and text are 400."""
    added(dicomweb, tags, [block.entry(0x10, "LO"), block.entry(0x11, "LO")], why="two private tags are added")
    client = dicomweb.client
    total = len(listed_tags(client, why="the tags are listed"))
    one = client.list_extended_query_tags([("limit", "1")])
    expect_status(one, 200, why="a page of one tag")
    expect(
        isinstance(one.json(), list) and len(one.json()) == 1,
        "limit=1 gives one entry",
        response=one,
        expected="1 entry",
        received=f"{len(one.json()) if isinstance(one.json(), list) else one.json()!r} entries",
    )
    past = client.list_extended_query_tags([("offset", str(total)), ("limit", "200")])
    expect_status(past, 200, why="an offset past the end is not an error")
    expect(
        past.json() == [], "an offset past the end gives no entry", response=past, expected="[]", received=past.text()
    )
    for name, value in (("limit", "0"), ("limit", "201"), ("offset", "-1"), ("limit", "many")):
        response = client.list_extended_query_tags([(name, value)])
        expect_status(response, 400, why=f"{name}={value} is out of range")


@pytest.mark.behavior("EQT-09")
def test_the_query_status_is_updated(dicomweb: Dicomweb, tags: TagLedger, block: PrivateBlock) -> None:
    """EQT-09 (DEQT): ``PATCH {v}/extendedquerytags/{path}`` with ``{"queryStatus": "Disabled"}``
    then ``"Enabled"`` answers 200 with the updated entry each time (the doc's "20 (OK)" is a typo,
    AMB-21); another value is 400."""
    entry = block.entry(0x10, "LO")
    added(dicomweb, tags, [entry], why="a private tag is added")
    for status in ("Disabled", "Enabled"):
        response = dicomweb.client.update_extended_query_tag(entry["path"], {"queryStatus": status})
        got = facts_of(tag_entry(response, why=f"the query status is set to {status}"))
        expect(
            got["queryStatus"] == status.lower() and got["path"] == entry["path"],
            "the answer is the updated entry",
            response=response,
            expected=f"path {entry['path']}, queryStatus {status}",
            received=f"path {got['path']}, queryStatus {got['queryStatus']}",
        )
        read = facts_of(tag_entry(dicomweb.client.get_extended_query_tag(entry["path"]), why="the tag is read"))
        expect(
            read["queryStatus"] == status.lower(),
            "the update is kept",
            expected=f"queryStatus {status}",
            received=f"queryStatus {read['queryStatus']}",
        )
    refused = dicomweb.client.update_extended_query_tag(entry["path"], {"queryStatus": "Sometimes"})
    expect_status(refused, 400, why="an unknown query status is refused")
