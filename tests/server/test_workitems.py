"""The worklist of the reference server over HTTP (UPS-01..32): create, retrieve, update,
change state, cancellation requests; every refusal a clear 4xx, stored workitems intact."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.client.workitems import WorkitemBody, encode_body
from conformance.testdata.workitems import (
    cancellation_request,
    comment_update,
    completion_attributes,
    new_workitem,
    state_change,
    with_values,
    without,
)

from .harness import Client

JSON = "application/dicom+json"
HEADERS = {"Accept": JSON, "Content-Type": JSON}


def create(client: Client, body: WorkitemBody, uid: str | None = None, **headers: str) -> httpx.Response:
    url = "/v2/workitems" + (f"?{uid}" if uid else "")
    return client.post(url, content=encode_body(body), headers={**HEADERS, **headers})


def retrieve(client: Client, uid: str) -> dict[str, Any]:
    response = client.get(f"/v2/workitems/{uid}", headers={"Accept": JSON})
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, dict)
    return body


def state(client: Client, uid: str, requested: str | None, transaction_uid: str | None) -> httpx.Response:
    body = encode_body(state_change(requested, transaction_uid))
    return client.request("PUT", f"/v2/workitems/{uid}/state", content=body, headers=HEADERS)


def update(client: Client, uid: str, changes: WorkitemBody, transaction_uid: str | None = None) -> httpx.Response:
    url = f"/v2/workitems/{uid}" + (f"?{transaction_uid}" if transaction_uid else "")
    return client.post(url, content=encode_body(changes), headers=HEADERS)


def cancel(client: Client, uid: str) -> httpx.Response:
    return client.post(
        f"/v2/workitems/{uid}/cancelrequest", content=encode_body(cancellation_request("r")), headers=HEADERS
    )


def value(obj: dict[str, Any], key: str) -> Any:
    return (obj.get(key) or {}).get("Value", [None])[0]


def warning_of(response: httpx.Response) -> str:
    return response.headers.get("warning", "")


def test_create_and_retrieve(client: Client) -> None:
    item = new_workitem("server")
    response = create(client, item.json(with_uid=False), item.uid)
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"http://testserver/v2/workitems/{item.uid}"
    assert response.headers["content-location"] == response.headers["location"]
    obj = retrieve(client, item.uid)
    assert value(obj, "00741000") == "SCHEDULED"
    assert value(obj, "00080016") == "1.2.840.10008.5.1.4.34.6.1"
    assert value(obj, "00080018") == item.uid
    assert value(obj, "00741202") == "worklist"
    assert value(obj, "00404010")
    assert "00081195" not in obj
    other = new_workitem("server, dataset UID")
    assert create(client, other.json()).status_code == 201
    assert client.get(f"/v1/workitems/{other.uid}", headers={"Accept": JSON}).status_code == 200


@pytest.mark.parametrize(
    ("headers", "status"),
    [({"Accept": "application/dicom"}, 406), ({"Content-Type": "application/json"}, 415)],
    ids=["accept", "content-type"],
)
def test_create_media_types(client: Client, headers: dict[str, str], status: int) -> None:
    item = new_workitem("server, media types")
    assert create(client, item.json(), **headers).status_code == status
    assert client.get(f"/v2/workitems/{item.uid}", headers={"Accept": JSON}).status_code == 404


def test_create_without_accept_is_406(client: Client) -> None:
    item = new_workitem("server, no Accept")
    response = client.post("/v2/workitems", content=encode_body(item.json()), headers={"Content-Type": JSON})
    assert response.status_code == 406
    assert response.content == b""


def broken_bodies() -> dict[str, bytes]:
    item = new_workitem("server, broken")
    return {
        "not json": b"{nope",
        "object, not array": json.dumps(item.json()).encode(),
        "empty array": b"[]",
        "array of a string": b'["x"]',
        "bad key": json.dumps([{"PatientName": {"vr": "PN"}}]).encode(),
        "no vr": json.dumps([{"00100010": {"Value": ["x"]}}]).encode(),
        "value not a list": json.dumps([{"00100020": {"vr": "LO", "Value": "x"}}]).encode(),
        "bad UI": json.dumps([{"00080018": {"vr": "UI", "Value": ["abc"]}}]).encode(),
        "bulk data": json.dumps([{"7FE00010": {"vr": "OB", "BulkDataURI": "http://x"}}]).encode(),
        "latin-1": b'["\xe9"]',
    }


@pytest.mark.parametrize("name", list(broken_bodies()))
def test_create_garbage_is_400(client: Client, name: str) -> None:
    response = client.post("/v2/workitems?2.25.1", content=broken_bodies()[name], headers=HEADERS)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text.strip()


def test_create_refusals(client: Client) -> None:
    item = new_workitem("server, refusals")
    assert create(client, item.json(), "2.25.5").status_code == 400  # mismatch
    assert "does not match" in create(client, item.json(), "2.25.5").text
    assert create(client, item.json(with_uid=False)).status_code == 400  # no UID at all
    assert create(client, item.json(), "abc").status_code == 400  # invalid query UID
    for body in (
        without(item, "ProcedureStepLabel"),
        with_values(item, "ScheduledProcedureStepPriority", "URGENT"),
        with_values(item, "TransactionUID", "2.25.9"),
        without(item, "TransactionUID"),
        without(item, "PatientName"),
        with_values(item, "ExpectedCompletionDateTime"),
    ):
        response = create(client, body, item.uid)
        assert response.status_code == 400, body
    assert client.get(f"/v2/workitems/{item.uid}", headers={"Accept": JSON}).status_code == 404
    assert create(client, item.json(), item.uid).status_code == 201
    assert create(client, item.json(), item.uid).status_code == 409


def test_state_sent_at_creation_is_overwritten(client: Client) -> None:
    item = new_workitem("server, created IN PROGRESS")
    assert create(client, with_values(item, "ProcedureStepState", "IN PROGRESS"), item.uid).status_code == 201
    assert value(retrieve(client, item.uid), "00741000") == "SCHEDULED"


def test_lifecycle_with_the_lock(client: Client) -> None:
    item = new_workitem("server, lifecycle")
    assert create(client, item.json(), item.uid).status_code == 201
    assert update(client, item.uid, completion_attributes()).status_code == 200
    refused = update(client, item.uid, comment_update("x"), "2.25.7")
    assert refused.status_code == 400
    assert warning_of(refused).startswith('299 testserver: "')
    assert state(client, item.uid, "COMPLETED", "2.25.7").status_code == 400
    assert state(client, item.uid, "IN PROGRESS", "2.25.7").status_code == 200
    assert state(client, item.uid, "IN PROGRESS", "2.25.8").status_code == 400
    assert state(client, item.uid, "IN PROGRESS", "2.25.7").status_code == 400  # C302
    assert update(client, item.uid, comment_update("x")).status_code == 400  # no UID
    assert update(client, item.uid, comment_update("x"), "2.25.8").status_code == 400
    done = update(client, item.uid, comment_update("owner"), "2.25.7")
    assert done.status_code == 200
    assert done.headers["content-location"].endswith(f"/workitems/{item.uid}")
    obj = retrieve(client, item.uid)
    assert value(obj, "00400400") == "owner"
    assert "00081195" not in obj
    completed = state(client, item.uid, "COMPLETED", "2.25.7")
    assert completed.status_code == 200
    assert completed.content == b""
    again = state(client, item.uid, "COMPLETED", "2.25.7")
    assert again.status_code == 200
    assert (
        warning_of(again)
        == "299 testserver: \"The workitem instance is already in the final state 'COMPLETED'. B306.\""
    )
    assert state(client, item.uid, "CANCELED", "2.25.7").status_code == 400
    assert update(client, item.uid, comment_update("late"), "2.25.7").status_code == 400
    assert value(retrieve(client, item.uid), "00741000") == "COMPLETED"


def test_final_state_requirements(client: Client) -> None:
    item = new_workitem("server, unprepared")
    assert create(client, item.json(), item.uid).status_code == 201
    assert state(client, item.uid, "IN PROGRESS", "2.25.7").status_code == 200
    for final in ("COMPLETED", "CANCELED"):
        response = state(client, item.uid, final, "2.25.7")
        assert response.status_code == 400
        assert "C304" in response.text
    assert value(retrieve(client, item.uid), "00741000") == "IN PROGRESS"


@pytest.mark.parametrize(
    ("requested", "uid"),
    [("SCHEDULED", "2.25.1"), ("in progress", "2.25.1"), (None, "2.25.1"), ("IN PROGRESS", None), ("DONE", "2.25.1")],
)
def test_change_state_body_is_checked(client: Client, requested: str | None, uid: str | None) -> None:
    item = new_workitem("server, bad action")
    assert create(client, item.json(), item.uid).status_code == 201
    response = state(client, item.uid, requested, uid)
    assert response.status_code == 400
    assert warning_of(response)
    assert value(retrieve(client, item.uid), "00741000") == "SCHEDULED"


def test_unknown_and_invalid_workitems(client: Client) -> None:
    assert state(client, "2.25.404", "IN PROGRESS", "2.25.1").status_code == 404
    assert update(client, "2.25.404", comment_update("x")).status_code == 404
    assert client.get("/v2/workitems/2.25.404", headers={"Accept": JSON}).status_code == 404
    missing = cancel(client, "2.25.404")
    assert missing.status_code == 404
    assert missing.json() == "The workitem instance is not found."
    for response in (
        client.get("/v2/workitems/abc", headers={"Accept": JSON}),
        update(client, "abc", comment_update("x")),
        state(client, "abc", "IN PROGRESS", "2.25.1"),
        cancel(client, "abc"),
    ):
        assert response.status_code == 400


def test_cancellation_requests(client: Client) -> None:
    item = new_workitem("server, cancel")
    assert create(client, item.json(), item.uid).status_code == 201
    info = cancellation_request("no longer needed", contact_uri="mailto:a@b.c", contact_name="A")
    response = client.post(f"/v2/workitems/{item.uid}/cancelrequest", content=encode_body(info), headers=HEADERS)
    assert response.status_code == 202
    obj = retrieve(client, item.uid)
    assert value(obj, "00741000") == "CANCELED"
    progress = obj["00741002"]["Value"][0]
    assert value(progress, "00404052")
    assert value(progress, "00741238") == "no longer needed"
    assert value(progress["00741008"]["Value"][0], "0074100A") == "mailto:a@b.c"
    again = cancel(client, item.uid)
    assert again.status_code == 409
    assert again.json() == "The UPS is already in the requested state of CANCELED."
    assert warning_of(again) == '299 testserver: "The UPS is already in the requested state of CANCELED."'
    assert state(client, item.uid, "CANCELED", "2.25.1").status_code == 400  # it never had an owner
    assert client.post(f"/v2/workitems/{item.uid}/cancelrequest", content=b"", headers=HEADERS).status_code == 409
    claimed = new_workitem("server, cancel claimed")
    assert create(client, claimed.json(), claimed.uid).status_code == 201
    assert state(client, claimed.uid, "IN PROGRESS", "2.25.3").status_code == 200
    assert cancel(client, claimed.uid).status_code == 400
    wrong = client.post(
        f"/v2/workitems/{claimed.uid}/cancelrequest", content=b"[{}]", headers={"Content-Type": "text/plain"}
    )
    assert wrong.status_code == 415


def test_search(client: Client) -> None:
    items = [
        new_workitem("s1", patient_id="P1", patient_name="Müller^Anna", start="20300101080000"),
        new_workitem("s2", patient_id="P1", patient_name="Doe^John", start="20300101100000"),
        new_workitem("s3", patient_id="P2", patient_name="Doe^Jane", start="20300101130000"),
    ]
    for item in items:
        assert create(client, item.json(), item.uid).status_code == 201

    def found(*params: tuple[str, str]) -> list[str]:
        response = client.get("/v2/workitems", params=list(params), headers={"Accept": JSON})
        assert response.status_code in (200, 204), response.text
        return [value(o, "00080018") for o in response.json()] if response.status_code == 200 else []

    a, b, c = (i.uid for i in items)
    assert found() == [c, b, a]
    assert found(("PatientID", "p1")) == [b, a]
    assert found(("PatientID", "P1"), ("limit", "1"), ("offset", "1")) == [a]
    assert found(("PatientName", "muller^anna")) == [a]
    assert found(("PatientName", "doe"), ("fuzzymatching", "true")) == [c, b]
    assert found(("ScheduledProcedureStepStartDateTime", "20300101090000-")) == [c, b]
    assert found(("ScheduledProcedureStepStartDateTime", "-20300101090000")) == [a]
    accession = str(items[1].dataset.ReferencedRequestSequence[0].AccessionNumber)
    assert found(("0040A370.00080050", accession)) == [b]
    assert found(("ProcedureStepState", "scheduled"), ("PatientID", "P2")) == [c]
    response = client.get(
        "/v2/workitems", params={"PatientID": "P2", "includefield": "00091001"}, headers={"Accept": JSON}
    )
    assert value(response.json()[0], "00091001") == "WORKITEM PRIVATE"
    for bad in (
        {"Modality": "CT"},
        {"limit": "500"},
        {"limit": "x"},
        {"PatientID": ""},
        {"a.b.c": "1"},
        {"ReferencedRequestSequence.ReferencedStudySequence.StudyInstanceUID": "1"},
        {"ScheduledProcedureStepStartDateTime": "tomorrow"},
        {"includefield": "all,PatientID"},
        {"fuzzymatching": "maybe"},
    ):
        response = client.get("/v2/workitems", params=bad, headers={"Accept": JSON})
        assert response.status_code == 400, bad
    assert "between 1 and 200" in client.get("/v2/workitems?limit=0", headers={"Accept": JSON}).text
    assert client.get("/v2/workitems", headers={"Accept": "application/dicom"}).status_code == 406


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
_KEYS = st.sampled_from(["00080018", "00741000", "00081195", "00404005", "00741002", "0040A370", "00100010", "zz"])
_ELEMENT = st.fixed_dictionaries(
    {"vr": st.sampled_from(["UI", "CS", "DT", "SQ", "PN", "LO", "XX", 3])},
    optional={"Value": st.lists(_JSON, max_size=2) | _JSON},
)
_DATASET = st.dictionaries(_KEYS, _ELEMENT | _JSON, max_size=4)


@settings(max_examples=40, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(_JSON, st.lists(_DATASET, min_size=1, max_size=2)),
    route=st.sampled_from(["create", "update", "state", "cancel"]),
)
def test_no_body_makes_the_server_fail(client: Client, body: object, route: str) -> None:
    """Rule 4: whatever the body, a 4xx with a text message (or a success), never a 500."""
    uid = "2.25.4242"
    if client.get(f"/v2/workitems/{uid}", headers={"Accept": JSON}).status_code == 404:
        item = new_workitem("fuzz", uid=uid)
        assert create(client, item.json(), uid).status_code == 201
    method, url = {
        "create": ("POST", "/v2/workitems?2.25.4243"),
        "update": ("POST", f"/v2/workitems/{uid}"),
        "state": ("PUT", f"/v2/workitems/{uid}/state"),
        "cancel": ("POST", f"/v2/workitems/{uid}/cancelrequest"),
    }[route]
    response = client.request(method, url, content=json.dumps(body).encode(), headers=HEADERS)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.text.strip()
