"""Request size and part count limits (GEN-13, STOW-03, AMB-23): over a limit the answer is 413 with
a message, nothing of the request is stored, and the server goes on serving.

Memory stays bounded whatever the size of an upload (parts are streamed to spill files); that is
measured, not asserted, by ``bench/upload_memory.py`` (peak RSS while storing a 1 GiB study).
"""

from __future__ import annotations

import json

from .dicom_factory import build, multipart, related
from .harness import Client, ClientFactory

JSON = {"Accept": "application/dicom+json"}
STOW = {**JSON, "Content-Type": related()}
SINGLE = {**JSON, "Content-Type": "application/dicom"}


def not_stored(client: Client, *instances: object) -> bool:
    return all(
        client.get(
            f"/v2/studies/{i.study}/series/{i.series}/instances/{i.sop}",  # type: ignore[attr-defined]
            headers={"Accept": "application/dicom; transfer-syntax=*"},
        ).status_code
        == 404
        for i in instances
    )


def test_a_part_over_the_limit_is_413_and_stores_nothing(make_client: ClientFactory) -> None:
    good = build()
    client = make_client(max_part_bytes=len(good.data) + 16)
    other = build()
    too_big = build(frames=1, rows=64, columns=64)
    assert len(too_big.data) > len(good.data) + 16
    response = client.post("/v2/studies", content=multipart([other.data, too_big.data]), headers=STOW)
    assert response.status_code == 413
    assert "larger than the limit" in response.text
    assert not_stored(client, other, too_big)
    response = client.post(f"/v2/studies/{too_big.study}", content=too_big.data, headers=SINGLE)
    assert response.status_code == 413
    assert response.text.strip()
    assert not_stored(client, too_big)
    assert client.post("/v2/studies", content=multipart([good.data]), headers=STOW).status_code == 200


def test_more_parts_than_the_limit_is_413_and_stores_nothing(make_client: ClientFactory) -> None:
    client = make_client(max_parts=3)
    instances = [build() for _ in range(4)]
    response = client.post("/v2/studies", content=multipart([i.data for i in instances]), headers=STOW)
    assert response.status_code == 413
    assert "more than 3 parts" in response.text
    assert not_stored(client, *instances)
    assert (
        client.post("/v2/studies", content=multipart([i.data for i in instances[:3]]), headers=STOW).status_code == 200
    )


def test_the_default_part_count_limit(client: Client) -> None:
    response = client.post("/v2/studies", content=multipart([b""] * 10_001), headers=STOW)
    assert response.status_code == 413
    assert "more than 10000 parts" in response.text


def test_part_headers_over_the_limit_are_400(make_client: ClientFactory) -> None:
    client = make_client(max_header_bytes=1024)
    instance = build()
    body = multipart([instance.data]).replace(b"\r\n\r\n", b"\r\nX-Padding: " + b"a" * 2048 + b"\r\n\r\n", 1)
    response = client.post("/v2/studies", content=body, headers=STOW)
    assert response.status_code == 400
    assert "exceed 1024 bytes" in response.text
    assert not_stored(client, instance)


def test_a_workitem_body_over_the_limit_is_413(client: Client) -> None:
    value = "x" * (16 * 1024 * 1024)
    body = json.dumps([{"00100020": {"vr": "LO", "Value": [value]}}]).encode()
    headers = {**JSON, "Content-Type": "application/dicom+json"}
    response = client.post("/v2/workitems?2.25.42", content=body, headers=headers)
    assert response.status_code == 413
    assert "larger than" in response.text
    assert client.get("/v2/workitems/2.25.42", headers=JSON).status_code == 404
