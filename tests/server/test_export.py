"""Export of the reference server to its own local-folder destination (EXP-01..05), in process."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from .dicom_factory import build, multipart, new_uid, related
from .harness import Client, ClientFactory

JSON = {"Accept": "application/dicom+json"}
DESTINATION = {"type": "localfolder", "settings": {"folder": "out"}}


def export_body(*values: str, destination: Any = DESTINATION) -> dict[str, Any]:
    return {"source": {"type": "identifiers", "settings": {"values": list(values)}}, "destination": destination}


def wait(client: Client, href: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        response = client.get(href.replace("http://testserver", ""))
        if response.status_code == 200:
            body: dict[str, Any] = response.json()
            return body
        assert response.status_code == 202, response.text
        assert time.monotonic() < deadline, "the operation did not finish"
        time.sleep(0.02)


def test_export_writes_the_documented_layout(make_client: ClientFactory, tmp_path: Path) -> None:
    root = tmp_path / "exports"
    client = make_client(export_dir=root)
    study = new_uid()
    one, two = build(study=study), build(study=study)
    stored = client.post(
        "/v2/studies", content=multipart([one.data, two.data]), headers={**JSON, "Content-Type": related()}
    )
    assert stored.status_code == 200
    unknown = new_uid()
    response = client.post("/v2/export", json=export_body(study, f"{unknown}/{new_uid()}"))
    assert response.status_code == 202, response.text
    body = response.json()
    assert response.headers["location"] == body["href"] == f"http://testserver/v2/operations/{body['id']}"
    operation = wait(client, body["href"])
    assert operation["type"] == "export"
    assert operation["status"] == "succeeded"
    folder = root / "out" / body["id"]
    assert operation["results"] == {"exported": 2, "skipped": 1, "errorHref": (folder / "errors.log").as_uri()}
    for instance in (one, two):
        written = folder / "results" / study / instance.series / f"{instance.sop}.dcm"
        assert written.read_bytes()[132:] == instance.data[132:]
    lines = [json.loads(line) for line in (folder / "errors.log").read_text().splitlines()]
    assert [line["Identifier"] for line in lines] == [f"{unknown}/{lines[0]['Identifier'].split('/')[1]}"]
    assert set(lines[0]) == {"Timestamp", "Identifier", "Error"}


def test_export_under_a_partition(make_client: ClientFactory, tmp_path: Path) -> None:
    client = make_client(partitions=True, export_dir=tmp_path / "exports")
    instance = build()
    stored = client.post(
        "/v2/partitions/p1/studies", content=multipart([instance.data]), headers={**JSON, "Content-Type": related()}
    )
    assert stored.status_code == 200
    response = client.post("/v2/partitions/p1/export", json=export_body(instance.study))
    assert response.status_code == 202
    assert wait(client, response.json()["href"])["results"]["exported"] == 1
    # PART: an export never reaches into another partition (an unknown one is refused, AMB-16).
    assert client.post("/v2/partitions/p2/export", json=export_body(instance.study)).status_code == 400
    other = build()
    client.post(
        "/v2/partitions/p2/studies", content=multipart([other.data]), headers={**JSON, "Content-Type": related()}
    )
    elsewhere = client.post("/v2/partitions/p2/export", json=export_body(instance.study))
    assert wait(client, elsewhere.json()["href"])["results"]["exported"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"destination": DESTINATION},
        {"source": {"type": "identifiers", "settings": {"values": ["1.2.3"]}}},
        export_body(),
        export_body("1.2.3/abc"),
        export_body("1.2/3.4/5.6/7.8"),
        {"source": {"type": "other", "settings": {"values": ["1.2.3"]}}, "destination": DESTINATION},
        export_body("1.2.3", destination={"type": "azureblob", "settings": {"blobContainerUri": "https://x/y"}}),
        export_body("1.2.3", destination={"type": "localfolder", "settings": {"folder": "../escape"}}),
        export_body("1.2.3", destination={"type": "localfolder", "settings": {}}),
        [],
    ],
)
def test_invalid_export_requests(client: Client, body: Any) -> None:
    response = client.post("/v2/export", json=body)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("text/plain")


def test_export_needs_json(client: Client) -> None:
    response = client.post("/v2/export", content=b"{}", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
