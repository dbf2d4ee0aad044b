"""Regression tests for the 5xx answers and hangs the fuzzer (scripts/fuzz-reference-server) found:
each bad request below once got a 500 or reached another resource; now it gets a 4xx with a
message, or the answer the catalogue gives for it."""

from __future__ import annotations

import json

import pytest

from .dicom_factory import build, multipart, related
from .harness import Client

JSON = {"Accept": "application/dicom+json"}
UPS = {"Accept": "application/dicom+json", "Content-Type": "application/dicom+json"}
THOUSANDS_OF_DIGITS = "9" * 5000  # Python refuses int() of more than 4300 digits


def stored(client: Client, frames: int = 2) -> tuple[str, str, str]:
    instance = build(frames=frames)
    response = client.post(
        "/v2/studies", content=multipart([instance.data]), headers={**JSON, "Content-Type": related()}
    )
    assert response.status_code == 200
    return instance.study, instance.series, instance.sop


def assert_refused(response: object, status: int) -> None:
    assert response.status_code == status, (response.status_code, response.text[:200])  # type: ignore[attr-defined]
    assert response.text.strip()  # type: ignore[attr-defined]


@pytest.mark.parametrize("resource", ["studies", "series", "instances"])
def test_huge_limit_is_400_and_huge_offset_matches_nothing(client: Client, resource: str) -> None:
    stored(client)
    assert_refused(client.get(f"/v2/{resource}?limit={THOUSANDS_OF_DIGITS}", headers=JSON), 400)
    assert_refused(client.get(f"/v2/{resource}?limit=-{THOUSANDS_OF_DIGITS}", headers=JSON), 400)
    assert_refused(client.get(f"/v2/{resource}?offset=-{THOUSANDS_OF_DIGITS}", headers=JSON), 400)
    # QIDO-04: an offset beyond the matches is an empty answer, however large (SQLite once overflowed).
    for offset in ("99999999999999999999999", THOUSANDS_OF_DIGITS, "9223372036854775808"):
        assert client.get(f"/v2/{resource}?offset={offset}", headers=JSON).status_code == 204
    assert client.get(f"/v2/{resource}?offset=0", headers=JSON).status_code == 200


def test_huge_frame_numbers_are_past_the_end(client: Client) -> None:
    study, series, sop = stored(client)
    base = f"/v2/studies/{study}/series/{series}/instances/{sop}"
    octets = {"Accept": 'multipart/related; type="application/octet-stream"; transfer-syntax=*'}
    for frames in (THOUSANDS_OF_DIGITS, f"1,{THOUSANDS_OF_DIGITS}", "99999999999999999999"):
        assert_refused(client.get(f"{base}/frames/{frames}", headers=octets), 404)
    assert_refused(client.get(f"{base}/frames/{THOUSANDS_OF_DIGITS}/rendered", headers={"Accept": "image/png"}), 404)
    assert_refused(client.get(f"{base}/frames/0,{THOUSANDS_OF_DIGITS}", headers=octets), 400)


def test_huge_workitem_search_numbers(client: Client) -> None:
    assert_refused(client.get(f"/v2/workitems?limit={THOUSANDS_OF_DIGITS}", headers=JSON), 400)
    assert_refused(client.get(f"/v2/workitems?offset=-{THOUSANDS_OF_DIGITS}", headers=JSON), 400)
    assert client.get(f"/v2/workitems?offset={THOUSANDS_OF_DIGITS}", headers=JSON).status_code == 204


DEEP_ARRAYS = b"[" * 100_000 + b"]" * 100_000
DEEP_ITEMS = b"[" + b'{"00404025": {"vr": "SQ", "Value": [' * 3000 + b"{}" + b"]}}" * 3000 + b"]"
SHALLOW_ITEMS = b"[" + b'{"00404025": {"vr": "SQ", "Value": [' * 10 + b"{}" + b"]}}" * 10 + b"]"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (DEEP_ARRAYS, "deeper than 64 levels"),
        (DEEP_ITEMS, "deeper than 64 levels"),
        (b'[{"00741200": {"vr": "CS", "Value": [NaN]}}]', "NaN is not a JSON value"),
        (b'[{"00741200": {"vr": "CS", "Value": [-Infinity]}}]', "-Infinity is not a JSON value"),
        (b'[{"00100010": {"vr": "OB", "InlineBinary": "%%%"}}]', "not a base64 string"),
        (b'[{"00100010": {"vr": "OB", "InlineBinary": 5}}]', "not a base64 string"),
    ],
    ids=["deep-arrays", "deep-sequence-items", "nan", "infinity", "inline-binary-not-base64", "inline-binary-number"],
)
@pytest.mark.parametrize("route", ["create", "update", "state", "cancel"])
def test_hostile_workitem_json_is_400(client: Client, body: bytes, message: str, route: str) -> None:
    method, path = {
        "create": ("POST", "/v2/workitems?2.25.1"),
        "update": ("POST", "/v2/workitems/2.25.1"),
        "state": ("PUT", "/v2/workitems/2.25.1/state"),
        "cancel": ("POST", "/v2/workitems/2.25.1/cancelrequest"),
    }[route]
    response = client.request(method, path, content=body, headers=UPS)
    assert_refused(response, 400)
    assert message in response.text


def test_reasonable_nesting_is_still_read(client: Client) -> None:
    response = client.post("/v2/workitems?2.25.2", content=SHALLOW_ITEMS, headers=UPS)
    assert response.status_code == 400
    assert "deeper" not in response.text  # refused for what the dataset lacks, not for its depth


def test_workitem_body_over_the_limit_is_413(client: Client) -> None:
    body = b"[" + json.dumps({"00100020": {"vr": "LO", "Value": ["x" * (17 * 1024 * 1024)]}}).encode() + b"]"
    assert_refused(client.post("/v2/workitems?2.25.3", content=body, headers=UPS), 413)


@pytest.mark.parametrize("segment", ["%2F", "%2f", "1.2%2F"])
def test_an_encoded_slash_does_not_redirect_to_another_resource(client: Client, segment: str) -> None:
    study, _, _ = stored(client)
    response = client.get(f"/v2/studies/{study}/series/{segment}", headers=JSON)
    assert response.status_code in (400, 404)
    assert "location" not in response.headers
    assert client.get("/v2/studies/", headers=JSON).status_code == 404
