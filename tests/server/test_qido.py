"""QIDO-RS of the reference server: parameters, matching, return sets (QIDO-01..30)."""

from __future__ import annotations

from typing import Any

import pytest

from .dicom_factory import Instance, build, multipart, new_uid, related
from .harness import Client

JSON = {"Accept": "application/dicom+json"}


def store(client: Client, *instances: Instance) -> None:
    response = client.post(
        "/v2/studies", content=multipart([i.data for i in instances]), headers={**JSON, "Content-Type": related()}
    )
    assert response.status_code in (200, 202), response.text


def search(client: Client, url: str, **params: str) -> list[dict[str, Any]]:
    response = client.get(url, params=params, headers=JSON)
    if response.status_code == 204:
        assert response.content == b""
        return []
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/dicom+json"
    results: list[dict[str, Any]] = response.json()
    return results


def uids(results: list[dict[str, Any]], key: str = "0020000D") -> list[str]:
    return [result[key]["Value"][0] for result in results]


@pytest.fixture
def patient() -> str:
    return new_uid()[-20:]


@pytest.fixture
def stored(client: Client, patient: str) -> dict[str, Instance]:
    first = build(PatientID=patient, PatientName="Jonathan^X^Stone Hall^^", StudyDate="20200105", Modality="CT")
    second = build(PatientID=patient, PatientName="Hall^X^Tá", StudyDate="20210101", Modality="MR")
    third = build(study=second.study, PatientID=patient, PatientName="Hall^X^Tá", StudyDate="20210101", Modality="CT")
    store(client, first)
    store(client, second, third)
    return {"first": first, "second": second, "third": third}


def test_newest_first_and_defaults(client: Client, stored: dict[str, Instance], patient: str) -> None:
    assert search(client, "/v2/studies", PatientID="unknown") == []
    results = search(client, "/v2/studies", PatientID=patient.lower())
    assert uids(results) == [stored["second"].study, stored["first"].study]
    v2_defaults = {"00080020", "00080050", "00081030", "00080090", "00100010", "00100020", "00100030", "0020000D"}
    assert set(results[0]) == {"00080020", "00100010", "00100020", "0020000D"} <= v2_defaults
    v1 = search(client, "/v1/studies", PatientID=patient)
    assert "00100040" not in v1[0]  # PatientSex is a v1 default but absent from the data


def test_date_range_and_errors(client: Client, stored: dict[str, Instance]) -> None:
    assert stored["second"].study in uids(search(client, "/v2/studies", StudyDate="20201231-"))
    assert stored["first"].study in uids(search(client, "/v2/studies", StudyDate="-20200105"))
    assert stored["first"].study in uids(search(client, "/v2/studies", StudyDate="20200101-20200110"))
    for bad in ("-", "2020-01-05", "20201301", "20210101-20200101"):
        response = client.get("/v2/studies", params={"StudyDate": bad}, headers=JSON)
        assert response.status_code == 400, bad
        assert response.headers["content-type"] == "text/plain; charset=utf-8"


def test_person_name_matching(client: Client, stored: dict[str, Instance]) -> None:
    assert uids(search(client, "/v2/studies", PatientName="hall^x^ta")) == [stored["second"].study]
    assert search(client, "/v2/studies", PatientName="Hall") == []
    fuzzy = search(client, "/v2/studies", PatientName="X", FuzzyMatching="true")
    assert set(uids(fuzzy)) >= {stored["first"].study, stored["second"].study}
    assert stored["first"].study in uids(search(client, "/v2/studies", PatientName="jon sto", fuzzymatching="true"))
    assert search(client, "/v2/studies", PatientName="onathan", fuzzymatching="true") == []


def test_modalities_in_study(client: Client, stored: dict[str, Instance]) -> None:
    results = search(client, "/v2/studies", ModalitiesInStudy="MR")
    assert uids(results) == [stored["second"].study]
    assert sorted(results[0]["00080061"]["Value"]) == ["CT", "MR"]


def test_series_and_instance_levels(client: Client, stored: dict[str, Instance]) -> None:
    second = stored["second"]
    series = search(client, f"/v2/studies/{second.study}/series")
    assert uids(series, "0020000E") == [stored["third"].series, second.series]
    assert all(item["0020000D"]["Value"] == [second.study] for item in series)
    instances = search(client, "/v2/instances", SOPInstanceUID=second.sop)
    assert set(instances[0]) >= {"00080018", "0020000D", "0020000E", "00080060", "00100020"}
    in_series = search(client, f"/v2/studies/{second.study}/series/{second.series}/instances")
    assert uids(in_series, "00080018") == [second.sop]
    assert search(client, f"/v2/studies/{new_uid()}/series") == []


def test_includefield(client: Client, stored: dict[str, Instance]) -> None:
    study = stored["second"].study
    results = search(
        client, "/v2/studies", StudyInstanceUID=study, includefield="NumberOfStudyRelatedInstances,00080061"
    )
    assert results[0]["00201208"] == {"vr": "IS", "Value": [2]}
    assert results[0]["00080061"]["vr"] == "CS"
    everything = search(client, "/v2/studies", StudyInstanceUID=study, includefield="all")
    assert "00080020" in everything[0]
    response = client.get("/v2/studies", params=[("includefield", "all"), ("includefield", "PatientID")], headers=JSON)
    assert response.status_code == 400
    assert client.get("/v2/studies", params={"includefield": "NotAKeyword"}, headers=JSON).status_code == 400


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "201"},
        {"limit": "x"},
        {"offset": "-1"},
        {"fuzzymatching": "yes"},
        {"Modality": "CT"},
        {"patientid": "x"},
        {"PatientName": ""},
        {"TimezoneOffsetFromUTC": "+0100"},
        {"00100020": "x", "PatientID": "x"},
    ],
)
def test_invalid_queries_are_400(client: Client, params: dict[str, str]) -> None:
    response = client.get("/v2/studies", params=params, headers=JSON)
    assert response.status_code == 400
    assert response.text.strip()


def test_repeated_key_is_400(client: Client) -> None:
    response = client.get("/v2/studies", params=[("PatientID", "a"), ("PatientID", "b")], headers=JSON)
    assert response.status_code == 400


def test_study_uid_filter_not_allowed_under_study(client: Client) -> None:
    study = new_uid()
    response = client.get(f"/v2/studies/{study}/series", params={"StudyInstanceUID": study}, headers=JSON)
    assert response.status_code == 400
    assert client.get("/v2/studies/abc/series", headers=JSON).status_code == 400


def test_paging(client: Client, stored: dict[str, Instance]) -> None:
    everything = uids(search(client, "/v2/studies"))
    assert uids(search(client, "/v2/studies", limit="1", offset="1")) == everything[1:2]
    assert search(client, "/v2/studies", offset="50") == []


def test_accept_checked(client: Client) -> None:
    assert client.get("/v2/studies").status_code == 406
    assert client.get("/v2/studies", headers={"Accept": "application/dicom"}).status_code == 406


def test_v1_instance_defaults(client: Client) -> None:
    instance = build(frames=2, InstanceNumber=7)
    store(client, instance)
    (result,) = search(client, "/v1/instances", SOPInstanceUID=instance.sop)
    assert result["00200013"] == {"vr": "IS", "Value": [7]}
    assert result["00280008"] == {"vr": "IS", "Value": [2]}
    assert result["00280010"] == {"vr": "US", "Value": [4]}
    assert result["00080016"]["Value"] == ["1.2.840.10008.5.1.4.1.1.2"]
    (v2,) = search(client, "/v2/instances", SOPInstanceUID=instance.sop)
    assert "00200013" not in v2
