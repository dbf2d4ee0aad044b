"""The worklist client on httpx.MockTransport: bare query keys, JSON array bodies, media types,
and what it records to finish the workitems a test created."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx

from conformance.client.client import DicomwebClient
from conformance.client.exchange import ExchangeLog
from conformance.core.media_types import DICOM_JSON
from conformance.testdata.workitems import comment_update, new_workitem

BASE = "http://dicom.test/v2"

Handler = Callable[[httpx.Request], httpx.Response]


def client_for(handler: Handler) -> tuple[DicomwebClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def recording(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return handler(request)

    http = httpx.Client(transport=httpx.MockTransport(recording))
    del http.headers["accept"]
    return DicomwebClient(http, BASE, log=ExchangeLog()), seen


def test_create_sends_a_json_array_and_a_bare_query_key() -> None:
    client, seen = client_for(lambda r: httpx.Response(201))
    item = new_workitem("client")
    assert client.create_workitem(item.json(with_uid=False), item.uid).status == 201
    request = seen[0]
    assert request.method == "POST"
    assert str(request.url) == f"{BASE}/workitems?{item.uid}"
    assert request.url.query == item.uid.encode()
    assert request.headers["content-type"] == DICOM_JSON
    assert request.headers["accept"] == DICOM_JSON
    body = json.loads(request.content)
    assert isinstance(body, list)
    assert len(body) == 1
    assert "00080018" not in body[0]
    assert body[0]["00741204"]["Value"] == [str(item.dataset.ProcedureStepLabel)]
    assert client.workitem_tracker.items() == [(item.uid, None)]


def test_update_state_and_cancel_requests() -> None:
    client, seen = client_for(lambda r: httpx.Response(200))
    client.update_workitem("2.25.1", comment_update("x"), "2.25.9")
    client.change_workitem_state("2.25.1", "IN PROGRESS", "2.25.9", accept=None)
    client.request_cancellation("2.25.1", content_type="text/plain")
    client.search_for_workitems([("PatientID", "P")])
    update, state, cancel, search = seen
    assert str(update.url) == f"{BASE}/workitems/2.25.1?2.25.9"
    assert json.loads(update.content) == [{"00400400": {"vr": "LT", "Value": ["x"]}}]
    assert state.method == "PUT"
    assert str(state.url) == f"{BASE}/workitems/2.25.1/state"
    assert "accept" not in state.headers
    assert json.loads(state.content) == [
        {"00081195": {"vr": "UI", "Value": ["2.25.9"]}, "00741000": {"vr": "CS", "Value": ["IN PROGRESS"]}}
    ]
    assert str(cancel.url) == f"{BASE}/workitems/2.25.1/cancelrequest"
    assert cancel.headers["content-type"] == "text/plain"
    assert json.loads(cancel.content) == [{}]
    assert search.method == "GET"
    assert search.url.params["PatientID"] == "P"


def test_invalid_uids_reach_the_server_intact() -> None:
    client, seen = client_for(lambda r: httpx.Response(400))
    client.retrieve_workitem("not a/uid")
    assert seen[0].url.raw_path == b"/v2/workitems/not%20a%2Fuid"


class FakeWorklist:
    """A worklist answering just enough for ``finish_workitems``."""

    def __init__(self, states: dict[str, str]) -> None:
        self.states = states
        self.calls: list[tuple[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.calls.append((request.method, path))
        if request.method == "POST" and path == "/v2/workitems":
            self.states[request.url.query.decode()] = "SCHEDULED"
            return httpx.Response(201)
        uid = path.split("/")[3]
        if uid not in self.states:
            return httpx.Response(404)
        if request.method == "GET":
            body = {"00741000": {"vr": "CS", "Value": [self.states[uid]]}}
            return httpx.Response(200, json=body)
        if path.endswith("/cancelrequest"):
            self.states[uid] = "CANCELED"
            return httpx.Response(202)
        if path.endswith("/state"):
            action = json.loads(request.content)[0]
            self.states[uid] = action["00741000"]["Value"][0]
            return httpx.Response(200)
        return httpx.Response(200)


def test_finish_moves_open_workitems_to_a_final_state() -> None:
    worklist = FakeWorklist({})
    client, _ = client_for(worklist)
    scheduled, claimed, foreign, done = (new_workitem(n) for n in ("a", "b", "c", "d"))
    for item in (scheduled, claimed, foreign, done):
        client.create_workitem(item.json(), item.uid)
    client.change_workitem_state(claimed.uid, "IN PROGRESS", "2.25.77")
    worklist.states[foreign.uid] = "IN PROGRESS"  # claimed by a UID the suite does not know
    worklist.states[done.uid] = "COMPLETED"
    client.create_workitem(None, "not-a-suite-uid")  # never tracked: not a 2.25. UID
    outcome = client.finish_workitems()
    assert worklist.states[scheduled.uid] == "CANCELED"
    assert worklist.states[claimed.uid] == "CANCELED"
    assert worklist.states[foreign.uid] == "IN PROGRESS"
    assert worklist.states[done.uid] == "COMPLETED"
    assert len(outcome.finished) == 2
    assert [entry.split(" ")[1] for entry in outcome.left] == [foreign.uid]
    assert ("POST", f"/v2/workitems/{claimed.uid}") in worklist.calls  # the cancellation attributes first
    assert client.workitem_tracker.items() == []
    assert not [c for c in worklist.calls if "not-a-suite-uid" in c[1] and c[0] != "POST"]
    assert client.log.last is not None
    assert client.log.last.request.method == "POST"  # the finishing requests are not in the test's log


def test_finish_reports_refusals() -> None:
    client, _ = client_for(
        lambda r: (
            httpx.Response(200, json={"00741000": {"vr": "CS", "Value": ["SCHEDULED"]}})
            if r.method == "GET"
            else httpx.Response(500 if "cancelrequest" in r.url.path else 201)
        )
    )
    item = new_workitem("refused")
    client.create_workitem(item.json(), item.uid)
    outcome = client.finish_workitems()
    assert outcome.finished == []
    assert len(outcome.left) == 1
    assert "500" in outcome.problems[0]
