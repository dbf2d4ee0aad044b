"""Negative input: malformed workitem request bodies (UPS-01, UPS-08).

Generated bodies for create, update, change state and cancellation request that are not what
UPS-01 asks for (DICOM JSON, a JSON array whose first element is the dataset; PS3.18 F.2): a valid
body cut anywhere, text that is not JSON, ``NaN``, invalid UTF-8, UTF-16, arrays and objects
nested past any sensible depth (up to 5000), an empty array, a first element that is no object,
elements without ``vr``, a ``Value`` that is no array, person names and sequence items of the
wrong JSON type; other Content-Types (415); and datasets missing an attribute creation requires
(UPS-08, UPS-09). Each is refused with 400 (415) and a message, never a 5xx or a hang; nothing
is created, and a workitem created before is unchanged afterwards.

A JSON object instead of an array is refused only by Azure-compatible targets: the array is the
service's binding (SRC), other servers also take a bare object.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.checks import checking, expect, expect_status
from conformance.client.responses import DicomwebResponse
from conformance.core.uids import new_uid
from conformance.plugin import Dicomweb
from conformance.profile import Profile
from conformance.suites._bad_input import bounded, expect_refused
from conformance.testdata.workitems import new_workitem, without

FIXED = [
    ("text that is not JSON", b"this is not JSON"),
    ("an empty array", b"[]"),
    ("an array holding a number", b"[1]"),
    ("an array holding null", b"[null]"),
    ("a JSON string", b'"[{}]"'),
    ("a key that is no tag", b'[{"PatientName": {"vr": "PN"}}]'),
    ("an element without vr", b'[{"00100020": {"Value": ["X"]}}]'),
    ("an element with an invalid vr", b'[{"00100020": {"vr": "L0", "Value": ["X"]}}]'),
    ("a Value that is no array", b'[{"00100020": {"vr": "LO", "Value": "X"}}]'),
    ("a person name that is no object", b'[{"00100010": {"vr": "PN", "Value": [["Doe"]]}}]'),
    ("sequence items that are no objects", b'[{"00404025": {"vr": "SQ", "Value": [1, "x"]}}]'),
    ("NaN", b'[{"00741200": {"vr": "CS", "Value": [NaN]}}]'),
    ("Infinity", b'[{"00741200": {"vr": "CS", "Value": [Infinity]}}]'),
    ("invalid UTF-8", b'[{"00100020": {"vr": "LO", "Value": ["\xff\xfe\xfd"]}}]'),
    ("UTF-16", '[{"00100020": {"vr": "LO", "Value": ["X"]}}]'.encode("utf-16")),
]
OBJECT_NOT_ARRAY = ("a JSON object instead of an array", b'{"00100020": {"vr": "LO", "Value": ["X"]}}')
REQUIRED_AT_CREATION = [
    "ScheduledProcedureStepPriority",
    "ProcedureStepLabel",
    "ScheduledProcedureStepStartDateTime",
    "InputReadinessState",
]


@dataclass(frozen=True)
class Body:
    label: str
    data: bytes


def malformed_bodies(profile: Profile) -> st.SearchStrategy[Body]:
    template = json.dumps([new_workitem("malformed body template", uid="2.25.1").json()]).encode()
    fixed = FIXED + ([OBJECT_NOT_ARRAY] if profile.azure_compatible else [])
    cut = st.integers(1, len(template) - 2).map(lambda n: Body(f"a valid body cut after {n} bytes", template[:n]))
    deep_arrays = st.integers(65, 5000).map(lambda d: Body(f"arrays nested {d} deep", b"[" * d + b"]" * d))
    deep_items = st.integers(30, 2000).map(
        lambda d: Body(
            f"sequence items nested {d} deep",
            b"[" + b'{"00404025": {"vr": "SQ", "Value": [' * d + b"{}" + b"]}}" * d + b"]",
        )
    )
    return st.one_of(st.sampled_from([Body(*b) for b in fixed]), cut, deep_arrays, deep_items)


@pytest.mark.behavior("UPS-01")
@pytest.mark.requires("workitems")
def test_malformed_workitem_bodies_are_400(dicomweb: Dicomweb) -> None:
    """UPS-01 (D1, D2, SRC, SW): a generated malformed body (see the module docstring) on create,
    update, change state or cancellation request is refused with 400 and a message;
    the workitem a create names is not created, and a workitem created before is unchanged."""
    client = dicomweb.client
    profile = dicomweb.profile
    item = new_workitem("malformed bodies")
    expect_status(client.create_workitem(item.dataset, item.uid), 201, why="a valid workitem is created first")
    created = client.retrieve_workitem(item.uid)
    expect_status(created, 200, why="the workitem created first is readable")

    actions: dict[str, Callable[[bytes], DicomwebResponse]] = {
        "update": lambda body: client.update_workitem(item.uid, None, body=body),
        "change state": lambda body: client.change_workitem_state(item.uid, None, None, body=body),
        "cancellation request": lambda body: client.request_cancellation(item.uid, body=body),
    }

    @bounded(dicomweb)
    @given(body=malformed_bodies(profile), action=st.sampled_from(["create", *sorted(actions)]))
    def check(body: Body, action: str) -> None:
        why = f"{action} with {body.label}"
        if action != "create":
            expect_refused(actions[action](body.data), profile, 400, why=why, message_behavior=None)
            return
        uid = new_uid()
        expect_refused(client.create_workitem(None, uid, body=body.data), profile, 400, why=why, message_behavior=None)
        expect_status(client.retrieve_workitem(uid), 404, why=f"no workitem is created by a {why}")

    check()
    _expect_unchanged(dicomweb, item.uid, created)


@pytest.mark.behavior("UPS-01")
@pytest.mark.requires("workitems")
@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "application/dicom", None])
def test_other_content_types_are_415(dicomweb: Dicomweb, content_type: str | None) -> None:
    """UPS-01 (D1, D2, SW): create, update, change state and cancellation request take
    ``application/dicom+json`` only; a valid body under another Content-Type (or none) is 415
    with a message, and changes nothing."""
    client = dicomweb.client
    profile = dicomweb.profile
    item = new_workitem("content types")
    expect_status(client.create_workitem(item.dataset, item.uid), 201, why="a valid workitem is created first")
    created = client.retrieve_workitem(item.uid)
    fresh = new_workitem("never created")
    shown = content_type or "no Content-Type"
    expect_refused(
        client.create_workitem(fresh.dataset, fresh.uid, content_type=content_type),
        profile,
        415,
        why=f"create with {shown}",
        message_behavior=None,
    )
    expect_status(client.retrieve_workitem(fresh.uid), 404, why=f"a create with {shown} creates nothing")
    for label, response in (
        ("update", client.update_workitem(item.uid, {}, content_type=content_type)),
        ("change state", client.change_workitem_state(item.uid, "IN PROGRESS", new_uid(), content_type=content_type)),
        ("cancellation request", client.request_cancellation(item.uid, {}, content_type=content_type)),
    ):
        expect_refused(response, profile, 415, why=f"{label} with {shown}", message_behavior=None)
    _expect_unchanged(dicomweb, item.uid, created)


@pytest.mark.behavior("UPS-08")
@pytest.mark.requires("workitems")
def test_incomplete_datasets_are_400(dicomweb: Dicomweb) -> None:
    """UPS-08 (D1, D2, SRC), UPS-09: a create whose dataset lacks an attribute creation requires
    (Scheduled Procedure Step Priority, Procedure Step Label, Scheduled Procedure Step Start
    DateTime, Input Readiness State), or several of them, is refused with 400 and a text message;
    nothing is created."""
    profile = dicomweb.profile

    @bounded(dicomweb)
    @given(missing=st.lists(st.sampled_from(REQUIRED_AT_CREATION), min_size=1, max_size=4, unique=True))
    def check(missing: list[str]) -> None:
        item = new_workitem("incomplete")
        response = dicomweb.client.create_workitem(without(item, *missing), item.uid)
        with checking("UPS-08"):
            expect_refused(
                response, profile, 400, why=f"a workitem without {', '.join(missing)}", message_behavior=None
            )
        expect_status(dicomweb.client.retrieve_workitem(item.uid), 404, why="an incomplete workitem is not created")

    check()


def _expect_unchanged(dicomweb: Dicomweb, uid: str, created: DicomwebResponse) -> None:
    after = dicomweb.client.retrieve_workitem(uid)
    expect_status(after, 200, why="the workitem created before the bad requests is still there")
    expect(
        after.json() == created.json(),
        "the workitem created before the bad requests is unchanged",
        response=after,
        expected="the attributes it had after creation",
        received="other attributes",
    )
