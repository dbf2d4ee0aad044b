"""Bulk update of the reference server (BULK-01..14, WADO-26, DEL-06, VER-11), in process."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import httpx
import pydicom
import pytest

from .dicom_factory import Instance, build, multipart, new_uid, related
from .harness import Client
from .test_faults_kill import ServerProcess, wait_for
from .test_faults_kill import store as store_process

JSON = {"Accept": "application/dicom+json"}
ANY = {"Accept": "application/dicom; transfer-syntax=*"}
ORIGINAL = {**ANY, "msdicom-request-original": "TRUE"}
NAME = {"00100010": {"vr": "PN", "Value": [{"Alphabetic": "Updated^Name"}]}}


def store(client: Client, *instances: Instance, version: str = "v2") -> None:
    response = client.post(
        f"/{version}/studies",
        content=multipart([i.data for i in instances]),
        headers={**JSON, "Content-Type": related()},
    )
    assert response.status_code == 200, response.text


def url(instance: Instance, version: str = "v2") -> str:
    return f"/{version}/studies/{instance.study}/series/{instance.series}/instances/{instance.sop}"


def update(client: Client, studies: list[str], change: dict[str, Any], prefix: str = "/v2") -> Any:
    body = {"studyInstanceUids": studies, "changeDataset": change}
    return client.post(f"{prefix}/studies/$bulkUpdate", json=body)


def wait(client: Client, operation_id: str, version: str = "v2") -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        response = client.get(f"/{version}/operations/{operation_id}")
        if response.status_code == 200:
            body: dict[str, Any] = response.json()
            return body
        assert response.status_code == 202, response.text
        assert response.headers["location"].endswith(f"/operations/{operation_id}")
        assert time.monotonic() < deadline, "the operation did not finish"
        time.sleep(0.01)


def new_uids(count: int) -> list[str]:
    return [new_uid() for _ in range(count)]


def test_update_keeps_the_original_and_changes_the_latest(client: Client) -> None:
    first = build(frames=2, PatientName="Old^Name")
    second = build(study=first.study, series=first.series, PatientName="Old^Name")
    store(client, first, second)
    response = update(client, [first.study], NAME)
    assert response.status_code == 202, response.text
    assert "location" not in response.headers
    body = response.json()
    assert len(body["id"]) == 32
    assert body["href"].endswith(f"/v2/operations/{body['id']}")
    done = wait(client, body["id"])
    assert done["status"] == "succeeded"
    assert done["percentComplete"] == 100
    assert done["type"] == "update"
    assert done["results"] == {"studyProcessed": 1, "studyUpdated": 1, "studyFailed": 0, "instanceUpdated": 2}
    latest = client.get(url(first), headers=ANY)
    original = client.get(url(first), headers=ORIGINAL)
    assert original.content == first.data  # BULK-14: byte for byte
    dataset = pydicom.dcmread(io.BytesIO(latest.content))
    assert str(dataset.PatientName) == "Updated^Name"
    assert dataset.file_meta.ImplementationClassUID == "1.3.6.1.4.1.311.129"
    assert dataset.file_meta.ImplementationVersionName
    assert dataset.PixelData == pydicom.dcmread(io.BytesIO(first.data)).PixelData
    frames = client.get(url(first) + "/frames/2", headers={"Accept": "*/*"})
    assert frames.status_code == 200
    metadata = client.get(url(first) + "/metadata", headers=JSON).json()[0]
    assert metadata["00100010"]["Value"][0]["Alphabetic"] == "Updated^Name"
    old = client.get(f"/v2/studies/{first.study}/metadata", headers={**JSON, "msdicom-request-original": "true"})
    assert {o["00100010"]["Value"][0]["Alphabetic"] for o in old.json()} == {"Old^Name"}
    found = client.get("/v2/studies", params={"PatientName": "Updated^Name"}, headers=JSON)
    assert found.status_code == 200
    assert [s["0020000D"]["Value"][0] for s in found.json()] == [first.study]
    # v1 knows no versions (VER-11): the header is ignored.
    assert client.get(url(first, "v1"), headers=ORIGINAL).content == latest.content
    assert client.get(f"/v1/operations/{body['id']}").json()["status"] == "completed"  # VER-12


def test_a_second_update_keeps_the_first_original(client: Client) -> None:
    instance = build(PatientName="First^Name")
    store(client, instance)
    assert wait(client, update(client, [instance.study], NAME).json()["id"])["status"] == "succeeded"
    again = {"00100010": {"vr": "PN", "Value": [{"Alphabetic": "Third^Name"}]}}
    assert wait(client, update(client, [instance.study], again).json()["id"])["status"] == "succeeded"
    assert client.get(url(instance), headers=ORIGINAL).content == instance.data
    latest = pydicom.dcmread(io.BytesIO(client.get(url(instance), headers=ANY).content))
    assert str(latest.PatientName) == "Third^Name"


def test_delete_removes_both_versions(client: Client, tmp_path: Any) -> None:
    instance = build()
    store(client, instance)
    assert wait(client, update(client, [instance.study], NAME).json()["id"])["status"] == "succeeded"
    files = list((tmp_path / "data0" / "objects").rglob("*.dcm"))
    assert len(files) == 2
    assert client.delete(f"/v2/studies/{instance.study}").status_code == 204
    assert client.get(url(instance), headers=ORIGINAL).status_code == 404
    assert client.get(url(instance), headers=ANY).status_code == 404
    assert list((tmp_path / "data0" / "objects").rglob("*.dcm")) == []


def test_unknown_study_succeeds_without_updates(client: Client) -> None:
    done = wait(client, update(client, [new_uid()], NAME).json()["id"])
    assert done["status"] == "succeeded"
    assert done["results"] == {"studyProcessed": 1, "studyUpdated": 0, "studyFailed": 0, "instanceUpdated": 0}


def test_non_null_to_null_fails_the_study(client: Client) -> None:
    instance = build(PatientName="Kept^Name")
    store(client, instance)
    done = wait(client, update(client, [instance.study], {"00100010": {"vr": "PN"}}).json()["id"])
    assert done["status"] == "failed"
    assert done["percentComplete"] == 100
    assert done["results"]["studyFailed"] == 1
    assert f"Failed to update instances for study {instance.study}" in done["results"]["errors"]
    assert client.get(url(instance), headers=ANY).content == instance.data


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"changeDataset": NAME}, "StudyInstanceUids"),
        ({"studyInstanceUids": [], "changeDataset": NAME}, "StudyInstanceUids"),
        ({"studyInstanceUids": ["1.2.3"]}, "ChangeDataset"),
        ({"studyInstanceUids": [new_uid() for _ in range(51)], "changeDataset": NAME}, "maximum length '50'"),
        ({"studyInstanceUids": ["abc.123"], "changeDataset": NAME}, "not a valid"),
    ],
)
def test_invalid_requests_are_400(client: Client, body: dict[str, Any], fragment: str) -> None:
    response = client.post("/v2/studies/$bulkUpdate", json=body)
    assert response.status_code == 400
    assert fragment in response.text


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"00080060": {"vr": "CS", "Value": ["MR"]}}, "(0008,0060) - Updating the tag is not supported"),
        ({"00101002": {"vr": "SQ", "Value": [{}]}}, "(0010,1002) - Updating the tag is not supported"),
        ({"00100030": {"vr": "DA", "Value": ["notadate"]}}, "(0010,0030)"),
    ],
)
def test_refused_attributes_are_listed(client: Client, change: dict[str, Any], fragment: str) -> None:
    response = update(client, [new_uid()], change)
    assert response.status_code == 400
    comments = [i["00000902"]["Value"][0] for i in response.json()["00741048"]["Value"]]
    assert any(fragment in c for c in comments), comments


def test_v1_has_no_bulk_update(client: Client) -> None:
    assert update(client, [new_uid()], NAME, prefix="/v1").status_code == 404


def test_unknown_operation_is_404(client: Client) -> None:
    assert client.get(f"/v2/operations/{'0' * 32}").status_code == 404
    assert client.get("/v2/operations/not-an-id").status_code == 404


def test_partitioned_route(make_client: Any) -> None:
    client = make_client(partitions=True)
    instance = build()
    response = client.post(
        "/v2/partitions/p1/studies", content=multipart([instance.data]), headers={**JSON, "Content-Type": related()}
    )
    assert response.status_code == 200
    assert update(client, [instance.study], NAME).status_code == 400  # the plain route needs a partition
    done = wait(client, update(client, [instance.study], NAME, prefix="/v2/partitions/p1").json()["id"])
    assert done["results"]["instanceUpdated"] == 1


def test_a_restart_during_an_update_leaves_whole_studies_and_a_failed_operation(tmp_path: Path) -> None:
    """Killed (SIGKILL) while an update runs: after the restart every study is either fully old or
    fully new, every instance is retrievable, and the operation is failed, never left running."""
    data = tmp_path / "data"
    server = ServerProcess(data)
    studies = [[build(study=study, frames=1, rows=64, columns=64) for _ in range(3)] for study in new_uids(30)]
    try:
        assert store_process(server.url, *[i for s in studies for i in s]).status_code == 200
        body = {"studyInstanceUids": [s[0].study for s in studies], "changeDataset": NAME}
        started = httpx.post(f"{server.url}/v2/studies/$bulkUpdate", json=body, timeout=30)
        assert started.status_code == 202, started.text
        operation = started.json()["href"]

        def midway() -> bool:
            state = httpx.get(operation, timeout=30).json()
            assert state["status"] != "succeeded", "the update finished before the server could be killed"
            return state["status"] == "running" and 0 < state["percentComplete"] < 100

        assert wait_for(midway), "the update never ran"
        server.kill()
    finally:
        server.stop()
    restarted = ServerProcess(data)
    try:
        state = httpx.get(operation.replace(server.url, restarted.url), timeout=30)
        assert state.status_code == 200
        assert state.json()["status"] == "failed"
        assert state.json()["percentComplete"] == 100
        assert any("stopped" in e for e in state.json()["results"]["errors"])
        outcomes = set()
        with httpx.Client(base_url=restarted.url, timeout=30) as http:  # one connection: 200 requests
            for study in studies:
                metadata = http.get(f"/v2/studies/{study[0].study}/metadata", headers=JSON)
                found = {o["00100010"]["Value"][0]["Alphabetic"] for o in metadata.json()}
                assert len(metadata.json()) == 3
                assert len(found) == 1, f"study {study[0].study} is half updated: {found}"
                outcomes |= found
                for instance in study:
                    assert http.get(url(instance), headers=ANY).status_code == 200
        assert outcomes == {"Doe^John", "Updated^Name"}  # killed midway: some studies updated, some not
        one = {"studyInstanceUids": [studies[0][0].study], "changeDataset": NAME}
        again = httpx.post(f"{restarted.url}/v2/studies/$bulkUpdate", json=one, timeout=30)
        assert again.status_code == 202  # no operation left active
    finally:
        restarted.stop()


def test_metadata_etag_changes_with_an_update(client: Client) -> None:
    instance = build()
    store(client, instance)
    tag = client.get(url(instance) + "/metadata", headers=JSON).headers["etag"]
    assert wait(client, update(client, [instance.study], NAME).json()["id"])["status"] == "succeeded"
    again = client.get(url(instance) + "/metadata", headers={**JSON, "If-None-Match": tag})
    assert again.status_code == 200
    assert again.headers["etag"] != tag


def test_non_ascii_values_make_an_ascii_file_utf8(client: Client) -> None:
    instance = build()
    store(client, instance)
    name = {"00100010": {"vr": "PN", "Value": [{"Alphabetic": "Müller^Zoë"}]}}
    assert wait(client, update(client, [instance.study], name).json()["id"])["status"] == "succeeded"
    dataset = pydicom.dcmread(io.BytesIO(client.get(url(instance), headers=ANY).content))
    assert dataset.SpecificCharacterSet == "ISO_IR 192"
    assert str(dataset.PatientName) == "Müller^Zoë"
    metadata = client.get(url(instance) + "/metadata", headers=JSON).json()[0]
    assert metadata["00100010"]["Value"][0]["Alphabetic"] == "Müller^Zoë"
