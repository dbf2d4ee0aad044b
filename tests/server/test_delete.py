"""DELETE of the reference server (DEL-01..05)."""

from __future__ import annotations

from .dicom_factory import Instance, build, multipart, related
from .harness import Client

JSON = {"Accept": "application/dicom+json"}
ANY = {"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'}


def store(client: Client, *instances: Instance) -> None:
    response = client.post(
        "/v1/studies", content=multipart([i.data for i in instances]), headers={**JSON, "Content-Type": related()}
    )
    assert response.status_code == 200, response.text


def url(instance: Instance) -> str:
    return f"/v2/studies/{instance.study}/series/{instance.series}/instances/{instance.sop}"


def test_delete_instance_leaves_siblings(client: Client) -> None:
    first = build(frames=1)
    sibling = build(study=first.study, series=first.series)
    other_series = build(study=first.study)
    store(client, first, sibling, other_series)
    response = client.delete(
        url(first), headers={"Accept": "text/html", "Content-Type": "application/json"}, content=b"{}"
    )
    assert response.status_code == 204
    assert response.content == b""
    assert client.get(url(first), headers=ANY).status_code == 404
    assert client.get(url(first) + "/metadata", headers=JSON).status_code == 404
    assert client.get(url(first) + "/frames/1", headers={"Accept": "*/*"}).status_code == 404
    assert client.get("/v2/instances", params={"SOPInstanceUID": first.sop}, headers=JSON).status_code == 204
    assert client.get(url(sibling), headers=ANY).status_code == 200
    assert client.get(url(other_series), headers=ANY).status_code == 200
    assert client.delete(url(first)).status_code == 404


def test_delete_series_then_study(client: Client) -> None:
    first = build()
    other_series = build(study=first.study)
    store(client, first, other_series)
    assert client.delete(f"/v1/studies/{first.study}/series/{first.series}").status_code == 204
    assert client.get(f"/v1/studies/{first.study}/series/{first.series}", headers=ANY).status_code == 404
    assert client.get(url(other_series), headers=ANY).status_code == 200
    assert client.delete(f"/v1/studies/{first.study}").status_code == 204
    assert client.get("/v1/studies", params={"StudyInstanceUID": first.study}, headers=JSON).status_code == 204
    assert client.delete(f"/v1/studies/{first.study}").status_code == 404
    store(client, first)  # the same UIDs can be stored again after deletion


def test_delete_invalid_uid_is_400(client: Client) -> None:
    response = client.delete("/v2/studies/notAStudyInstanceUid")
    assert response.status_code == 400
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
