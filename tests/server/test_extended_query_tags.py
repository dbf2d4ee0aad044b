"""Extended query tags of the reference server (EQT-01..13, QIDO-28), in process."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest

from .dicom_factory import Instance, build, multipart, related
from .harness import Client

JSON = {"Accept": "application/dicom+json"}
CREATOR = "DWC TEST CREATOR"
PRIVATE = 0x40411010  # (4041,1010) under creator (4041,0010)


def store(client: Client, *instances: Instance, version: str = "v2") -> Any:
    return client.post(
        f"/{version}/studies",
        content=multipart([i.data for i in instances]),
        headers={**JSON, "Content-Type": related()},
    )


def private(value: bytes, **attributes: Any) -> Instance:
    """An instance with (4041,1010) IS ``value`` under CREATOR, written as LO then relabelled IS
    (pydicom refuses to write an invalid IS value)."""
    made = build(raw={0x40410010: ("LO", CREATOR.encode()), PRIVATE: ("LO", value)}, **attributes)
    header = b"\x41\x40\x10\x10"
    assert made.data.count(header + b"LO") == 1
    return replace(made, data=made.data.replace(header + b"LO", header + b"IS"))


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


def add(client: Client, *entries: dict[str, Any], version: str = "v2") -> dict[str, Any]:
    response = client.post(f"/{version}/extendedquerytags", json=list(entries))
    assert response.status_code == 202, response.text
    assert response.headers["location"] == response.json()["href"]
    return wait(client, response.json()["href"])


def search(client: Client, query: str, path: str = "/v2/instances") -> Any:
    return client.get(f"{path}?{query}", headers=JSON)


def test_add_reindexes_and_qido_finds_the_value(client: Client) -> None:
    old = build(PatientAge="042Y")
    assert store(client, old).status_code == 200
    operation = add(client, {"path": "PatientAge", "level": "Study"})
    assert operation["status"] == "succeeded"
    assert operation["type"] == "reindex"
    assert operation["resources"] == ["http://testserver/v2/extendedquerytags/00101010"]
    entry = client.get("/v2/extendedquerytags/00101010").json()
    assert entry == {"path": "00101010", "vr": "AS", "level": "study", "status": "ready", "queryStatus": "enabled"}
    new = build(PatientAge="043Y")
    assert store(client, new).status_code == 200  # indexed at store time (EQT-05)
    for instance, age in ((old, "042Y"), (new, "043Y")):
        found = search(client, f"PatientAge={age}", "/v2/studies")
        assert found.status_code == 200
        assert [s["0020000D"]["Value"][0] for s in found.json()] == [instance.study]
    assert search(client, "00101010=044Y", "/v2/studies").status_code == 204


def test_private_tag_with_ranges_and_fuzzy_names(client: Client) -> None:
    date_tag = {"path": "40411011", "vr": "DA", "privateCreator": CREATOR, "level": "Instance"}
    name_tag = {"path": "40411012", "vr": "PN", "privateCreator": CREATOR, "level": "Instance"}
    raw = {0x40410010: ("LO", CREATOR.encode()), 0x40411011: ("DA", b"20200315"), 0x40411012: ("PN", b"Smith^Anna")}
    one = build(raw=raw)
    other_creator = build(raw={**raw, 0x40410010: ("LO", b"SOMEONE ELSE")})
    assert store(client, one, other_creator).status_code == 200
    assert add(client, date_tag, name_tag)["status"] == "succeeded"
    found = search(client, "40411011=20200101-20201231")
    assert [i["00080018"]["Value"][0] for i in found.json()] == [one.sop]
    assert search(client, "40411011=20210101-").status_code == 204
    assert search(client, "40411012=anna&fuzzymatching=true").status_code == 200
    assert search(client, "40411012=anna").status_code == 204
    # EQT-12: combined with a default attribute.
    assert search(client, "40411012=smith^anna&PatientName=Doe^John").status_code == 200
    assert search(client, "40411012=smith^anna&PatientName=Nobody").status_code == 204


def test_reindex_errors_disable_the_tag_until_enabled(client: Client) -> None:
    bad = private(b"InvalidISValue")
    assert store(client, bad, version="v1").status_code == 200  # not yet indexed: v1 accepts it
    entry = {"path": f"{PRIVATE:08X}", "vr": "IS", "privateCreator": CREATOR, "level": "Instance"}
    assert add(client, entry)["status"] == "succeeded"
    tag = client.get(f"/v2/extendedquerytags/{PRIVATE:08X}").json()
    assert tag["queryStatus"] == "disabled"
    assert tag["errors"] == {"count": 1, "href": f"http://testserver/v2/extendedquerytags/{PRIVATE:08X}/errors"}
    errors = client.get(f"/v2/extendedquerytags/{PRIVATE:08X}/errors").json()
    assert [(e["studyInstanceUid"], e["seriesInstanceUid"], e["sopInstanceUid"]) for e in errors] == [
        (bad.study, bad.series, bad.sop)
    ]
    assert search(client, f"{PRIVATE:08X}=5").status_code == 400
    patched = client.request("PATCH", f"/v2/extendedquerytags/{PRIVATE:08X}", json={"queryStatus": "Enabled"})
    assert patched.status_code == 200
    assert patched.json()["queryStatus"] == "enabled"
    good = private(b"5")
    assert store(client, good).status_code == 200
    found = search(client, f"{PRIVATE:08X}=5")
    assert found.status_code == 200
    assert found.headers["erroneous-dicom-attributes"] == f"{PRIVATE:08X}"


def test_v1_rejects_and_v2_drops_an_invalid_indexed_value(client: Client) -> None:
    entry = {"path": f"{PRIVATE:08X}", "vr": "IS", "privateCreator": CREATOR, "level": "Instance"}
    add(client, entry)
    rejected = store(client, private(b"InvalidISValue"), version="v1")
    assert rejected.status_code == 409
    kept = private(b"InvalidISValue")
    stored = store(client, kept)
    assert stored.status_code == 202
    metadata = client.get(f"/v2/studies/{kept.study}/metadata", headers=JSON).json()
    assert f"{PRIVATE:08X}" not in metadata[0]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ([], 400),
        ([{"path": "PatientAge"}], 400),
        ([{"path": "PatientAge", "level": "Studys"}], 400),
        ([{"path": "", "level": "Study"}], 400),
        ([{"path": "NotAKeyword", "level": "Study"}], 400),
        ([{"path": "PatientName", "level": "Study"}], 400),  # supported by default
        ([{"path": "ReferencedStudySequence", "level": "Study"}], 400),  # sequence
        ([{"path": "PatientAge", "level": "Study", "vr": "LO"}], 400),  # not its dictionary VR
        ([{"path": "PatientAge", "level": "Study", "privateCreator": "X"}], 400),
        ([{"path": "40411010", "level": "Study", "vr": "IS"}], 400),  # private without creator
        ([{"path": "40411010", "level": "Study", "privateCreator": CREATOR}], 400),  # private without VR
        ([{"path": "40411010", "level": "Study", "vr": "OB", "privateCreator": CREATOR}], 400),
        ([{"path": "PatientAge", "level": "Study"}, {"path": "00101010", "level": "Series"}], 400),
    ],
)
def test_invalid_add_requests(client: Client, body: Any, status: int) -> None:
    response = client.post("/v2/extendedquerytags", json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert client.get("/v2/extendedquerytags").json() == []


def test_add_needs_json_and_refuses_existing_tags(client: Client) -> None:
    body = b'[{"path": "PatientAge", "level": "Study"}]'
    assert client.post("/v2/extendedquerytags", content=body, headers={"Content-Type": "text/plain"}).status_code == 415
    add(client, {"path": "PatientAge", "level": "study"})
    again = client.post("/v2/extendedquerytags", json=[{"Path": "PatientAge", "Level": "Study"}])
    assert again.status_code == 409


def test_get_patch_delete_and_paging(client: Client) -> None:
    add(client, {"path": "PatientAge", "level": "Study"}, {"path": "PatientWeight", "level": "Study"})
    assert [t["path"] for t in client.get("/v2/extendedquerytags?limit=1&offset=1").json()] == ["00101030"]
    for query in ("limit=0", "limit=201", "offset=-1", "limit=x"):
        assert client.get(f"/v2/extendedquerytags?{query}").status_code == 400
    assert client.get("/v2/extendedquerytags/PatientSize").status_code == 404
    assert client.get("/v2/extendedquerytags/0010101").status_code == 400
    assert client.get("/v2/extendedquerytags/PatientSize/errors").status_code == 404
    assert client.get("/v2/extendedquerytags/PatientAge/errors").json() == []
    bad_patch = client.request("PATCH", "/v2/extendedquerytags/PatientAge", json={"queryStatus": "Sometimes"})
    assert bad_patch.status_code == 400
    assert client.delete("/v2/extendedquerytags/PatientAge").status_code == 204
    assert client.get("/v2/extendedquerytags/PatientAge").status_code == 404
    assert client.delete("/v2/extendedquerytags/PatientAge").status_code == 404
    assert search(client, "PatientAge=042Y", "/v2/studies").status_code == 400


def test_deleted_instances_leave_no_values(client: Client) -> None:
    add(client, {"path": "PatientAge", "level": "Study"})
    first, second = build(PatientAge="042Y"), build(PatientAge="050Y")
    second = build(study=first.study, PatientAge="050Y")
    assert store(client, first, second).status_code == 200
    assert search(client, "PatientAge=050Y", "/v2/studies").status_code == 200
    url = f"/v2/studies/{second.study}/series/{second.series}/instances/{second.sop}"
    assert client.delete(url).status_code == 204
    assert search(client, "PatientAge=050Y", "/v2/studies").status_code == 204
    assert search(client, "PatientAge=042Y", "/v2/studies").status_code == 200


def test_bulk_update_reindexes_the_values(client: Client) -> None:
    add(client, {"path": "PatientAge", "level": "Study"})
    instance = build(PatientAge="042Y")
    assert store(client, instance).status_code == 200
    change = {"00101010": {"vr": "AS", "Value": ["050Y"]}}
    started = client.post(
        "/v2/studies/$bulkUpdate", json={"studyInstanceUids": [instance.study], "changeDataset": change}
    )
    assert started.status_code == 202, started.text
    assert wait(client, started.json()["href"])["status"] == "succeeded"
    assert search(client, "PatientAge=050Y", "/v2/studies").status_code == 200
    assert search(client, "PatientAge=042Y", "/v2/studies").status_code == 204
