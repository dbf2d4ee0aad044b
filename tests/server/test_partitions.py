"""Data partitions in the reference server (PART-01..09): routing, refusals, implicit creation,
isolation, the partition list, and switching the feature on over existing data."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pydicom
import pytest
from anyio.from_thread import BlockingPortal

from conformance.client.workitems import encode_body
from conformance.testdata.workitems import new_workitem
from reference_server import ServerConfig, create_app
from reference_server.cli import build_parser, main
from reference_server.partitions import PartitionsCannotBeDisabled

from .dicom_factory import Instance, build, multipart, related
from .harness import Client, ClientFactory

JSON = {"Accept": "application/dicom+json"}
ANY = {"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'}
STOW = {**JSON, "Content-Type": related()}
UPS = {"Accept": "application/dicom+json", "Content-Type": "application/dicom+json"}


@pytest.fixture
def partitioned(make_client: ClientFactory) -> Client:
    return make_client(partitions=True)


def store(client: Client, root: str, *instances: Instance, study: str | None = None) -> dict[str, object]:
    path = f"{root}/studies" + (f"/{study}" if study else "")
    response = client.post(path, content=multipart([i.data for i in instances]), headers=STOW)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def instance_url(root: str, instance: Instance) -> str:
    return f"{root}/studies/{instance.study}/series/{instance.series}/instances/{instance.sop}"


def test_disabled_refuses_partition_routes_and_the_list(client: Client) -> None:
    for method, path in (
        ("GET", "/v2/partitions"),
        ("GET", "/v2/partitions/p1/studies"),
        ("POST", "/v1/partitions/p1/studies"),
    ):
        response = client.request(method, path, headers=STOW, content=multipart([build().data]))
        assert response.status_code == 400, path
        assert response.text == "Data partitions feature is disabled.\n"
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert client.get("/v2/studies", headers=JSON).status_code == 204  # the plain routes are served


def test_enabled_refuses_plain_routes(partitioned: Client) -> None:
    instance = build()
    for method, path in (
        ("POST", "/v2/studies"),
        ("GET", "/v2/studies"),
        ("GET", instance_url("/v1", instance) + "/metadata"),
        ("DELETE", f"/v2/studies/{instance.study}"),
        ("GET", "/v2/workitems"),
        ("POST", "/v2/workitems"),
    ):
        response = partitioned.request(method, path, headers=STOW, content=multipart([instance.data]))
        assert response.status_code == 400, path
        assert response.text == "PartitionName value is missing in the route segment.\n"
    # Nothing was stored anywhere.
    assert partitioned.get("/v2/partitions").json()[0]["partitionName"] == "Microsoft.Default"
    assert partitioned.get("/v2/partitions/Microsoft.Default/studies", headers=JSON).status_code == 204


@pytest.mark.parametrize("name", ["a b", "abc@!", "x" * 65, "caf%C3%A9", "a:b"])
def test_invalid_names_are_400(partitioned: Client, name: str) -> None:
    for method in ("GET", "POST"):
        response = partitioned.request(method, f"/v2/partitions/{name}/studies", headers=STOW, content=multipart([]))
        assert response.status_code == 400
        assert response.text == "The specified PartitionName is invalid.\n"
    assert len(partitioned.get("/v2/partitions").json()) == 1


def test_unknown_partition_is_400_and_not_created_by_reads(partitioned: Client) -> None:
    for method, path in (
        ("GET", "/v2/partitions/nobody/studies"),
        ("GET", "/v2/partitions/nobody/workitems"),
        ("DELETE", "/v2/partitions/nobody/studies/1.2.3"),
        ("POST", "/v2/partitions/nobody/workitems/1.2.3/cancelrequest"),
    ):
        response = partitioned.request(method, path, headers=UPS)
        assert response.status_code == 400, path
        assert response.text == "Specified PartitionName nobody does not exist.\n"
    assert [p["partitionName"] for p in partitioned.get("/v2/partitions").json()] == ["Microsoft.Default"]


def test_stow_creates_the_partition_and_urls_carry_it(partitioned: Client) -> None:
    instance = build(frames=2)
    root = "/v2/partitions/Part.One-_1"
    body = store(partitioned, root, instance, study=instance.study)
    expected_root = f"http://testserver{root}"
    assert body["00081190"] == {"vr": "UR", "Value": [f"{expected_root}/studies/{instance.study}"]}
    items = body["00081199"]["Value"]  # type: ignore[index]
    assert items[0]["00081190"]["Value"] == [f"http://testserver{instance_url(root, instance)}"]
    retrieved = partitioned.get(
        instance_url(root, instance), headers={"Accept": "application/dicom; transfer-syntax=*"}
    )
    assert retrieved.headers["content-location"] == f"http://testserver{instance_url(root, instance)}"
    frames = partitioned.get(
        instance_url(root, instance) + "/frames/1,2",
        headers={"Accept": "multipart/related; type=application/octet-stream; transfer-syntax=*"},
    )
    assert frames.status_code == 200
    assert f"Content-Location: http://testserver{instance_url(root, instance)}" in frames.content.decode("latin-1")
    listed = partitioned.get("/v2/partitions")
    assert listed.status_code == 200
    assert listed.headers["content-type"] == "application/json"
    partitions = listed.json()
    assert [(p["partitionKey"], p["partitionName"]) for p in partitions] == [
        (1, "Microsoft.Default"),
        (2, "Part.One-_1"),
    ]
    for partition in partitions:
        assert set(partition) == {"partitionKey", "partitionName", "createdDate"}
        datetime.fromisoformat(partition["createdDate"])


def test_same_uids_in_two_partitions(partitioned: Client) -> None:
    first = build(frames=1, PatientName="First^Copy")
    second = Instance(
        build(study=first.study, series=first.series, sop=first.sop, frames=1, PatientName="Second^Copy").data,
        first.study,
        first.series,
        first.sop,
    )
    store(partitioned, "/v2/partitions/a", first)
    store(partitioned, "/v2/partitions/b", second)
    for name, patient in (("a", "First^Copy"), ("b", "Second^Copy")):
        metadata = partitioned.get(instance_url(f"/v2/partitions/{name}", first) + "/metadata", headers=JSON).json()
        assert metadata[0]["00100010"]["Value"] == [{"Alphabetic": patient}]
        found = partitioned.get(f"/v2/partitions/{name}/studies", params={"PatientName": patient}, headers=JSON)
        assert [s["0020000D"]["Value"] for s in found.json()] == [[first.study]]
    # Searches see only their partition.
    assert (
        partitioned.get("/v2/partitions/a/studies", params={"PatientName": "Second^Copy"}, headers=JSON).status_code
        == 204
    )
    assert partitioned.delete(f"/v2/partitions/a/studies/{first.study}").status_code == 204
    assert partitioned.get(instance_url("/v2/partitions/a", first), headers=ANY).status_code == 404
    assert partitioned.get(instance_url("/v2/partitions/b", first), headers=ANY).status_code == 200
    assert partitioned.get(instance_url("/v2/partitions/b", first) + "/rendered", headers={}).status_code == 200
    assert partitioned.delete(f"/v2/partitions/a/studies/{first.study}").status_code == 404


def test_workitems_are_partitioned(partitioned: Client) -> None:
    item = new_workitem("partitions")
    url = f"/v2/partitions/w1/workitems?{item.uid}"
    created = partitioned.post(url, content=encode_body(item.json(with_uid=False)), headers=UPS)
    assert created.status_code == 201
    assert created.headers["location"] == f"http://testserver/v2/partitions/w1/workitems/{item.uid}"
    assert partitioned.get(f"/v2/partitions/w1/workitems/{item.uid}", headers=JSON).status_code == 200
    store(partitioned, "/v2/partitions/w2", build())
    assert partitioned.get(f"/v2/partitions/w2/workitems/{item.uid}", headers=JSON).status_code == 404
    assert partitioned.get("/v2/partitions/w2/workitems", headers=JSON).status_code == 204
    again = partitioned.post(url.replace("/w1/", "/w2/"), content=encode_body(item.json(with_uid=False)), headers=UPS)
    assert again.status_code == 201


def test_data_stored_without_partitions_is_in_the_default_partition(tmp_path: Path, portal: BlockingPortal) -> None:
    """PART-01: switching the feature on finds what was stored before in Microsoft.Default."""
    data = tmp_path / "shared"
    instance = build()
    reading_mode = pydicom.config.settings.reading_validation_mode
    plain = Client(portal, create_app(ServerConfig(data_dir=data)))
    try:
        store(plain, "/v2", instance)
    finally:
        plain.close()
    with_partitions = Client(portal, create_app(ServerConfig(data_dir=data, partitions=True)))
    try:
        root = "/v2/partitions/Microsoft.Default"
        assert with_partitions.get(instance_url(root, instance), headers=ANY).status_code == 200
        assert with_partitions.get(instance_url("/v2", instance), headers=ANY).status_code == 400
        store(with_partitions, "/v2/partitions/later", build())
    finally:
        with_partitions.close()
        pydicom.config.settings.reading_validation_mode = reading_mode


def test_cannot_disable_partitions_once_others_exist(tmp_path: Path) -> None:
    """PART-01: the feature cannot be switched off once partitions besides Microsoft.Default exist."""
    reading_mode = pydicom.config.settings.reading_validation_mode
    data = tmp_path / "data"
    index = create_app(ServerConfig(data_dir=data, partitions=True)).state.server.index
    index.add_partition("other")
    index.close()
    with pytest.raises(PartitionsCannotBeDisabled, match="other"):
        create_app(ServerConfig(data_dir=data))
    with pytest.raises(SystemExit) as exited:
        main(["--data", str(data), "--port", "0", "--log-level", "critical"])
    assert exited.value.code == 2
    create_app(ServerConfig(data_dir=data, partitions=True)).state.server.index.close()
    pydicom.config.settings.reading_validation_mode = reading_mode


def test_cli_switch(tmp_path: Path) -> None:
    assert build_parser().parse_args(["--data", str(tmp_path), "--partitions"]).partitions is True
    assert build_parser().parse_args(["--data", str(tmp_path)]).partitions is False
