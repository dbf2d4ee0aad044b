"""STOW-RS of the reference server: status codes, body structure, validation (STOW-01..27)."""

from __future__ import annotations

import warnings
from typing import Any

import pydicom
import pytest
from pydicom.uid import ImplicitVRLittleEndian

from .dicom_factory import build, multipart, new_uid, related
from .harness import Client

JSON = {"Accept": "application/dicom+json"}
STOW = {**JSON, "Content-Type": related()}
FAILED_SOP = "00081198"
REFERENCED_SOP = "00081199"
RETRIEVE_URL = "00081190"
FAILURE_REASON = "00081197"
WARNING_REASON = "00081196"
FAILED_ATTRIBUTES = "00741048"
ERROR_COMMENT = "00000902"


def store(client: Client, *files: bytes, version: str = "v2", study: str | None = None) -> tuple[int, dict[str, Any]]:
    url = f"/{version}/studies" + (f"/{study}" if study else "")
    response = client.post(url, content=multipart(list(files)), headers=STOW)
    return response.status_code, response.json() if response.content else {}


def comments(item: dict[str, Any]) -> list[str]:
    return [entry[ERROR_COMMENT]["Value"][0] for entry in item.get(FAILED_ATTRIBUTES, {}).get("Value", [])]


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_store_one_instance(client: Client, version: str) -> None:
    instance = build()
    response = client.post(f"/{version}/studies", content=multipart([instance.data]), headers=STOW)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/dicom+json"
    assert response.headers["api-supported-versions"] == "1.0, 2.0"
    body = response.json()
    assert set(body) == {REFERENCED_SOP}
    (item,) = body[REFERENCED_SOP]["Value"]
    assert item["00081155"]["Value"] == [instance.sop]
    assert item[RETRIEVE_URL]["Value"] == [
        f"http://testserver/{version}/studies/{instance.study}/series/{instance.series}/instances/{instance.sop}"
    ]
    if version == "v2":
        assert item[FAILED_ATTRIBUTES] == {"vr": "SQ", "Value": []}
    else:
        assert FAILED_ATTRIBUTES not in item


def test_stored_file_is_byte_identical_except_preamble(client: Client) -> None:
    instance = build(frames=1, preamble=b"TIFF" * 32)
    assert store(client, instance.data)[0] == 200
    response = client.get(
        f"/v2/studies/{instance.study}/series/{instance.series}/instances/{instance.sop}",
        headers={"Accept": "application/dicom; transfer-syntax=*"},
    )
    assert response.status_code == 200
    assert response.content == b"\0" * 128 + instance.data[128:]


def test_path_study_mismatch_and_retrieve_url(client: Client) -> None:
    study = new_uid()
    good, other = build(study=study), build()
    status, body = store(client, good.data, other.data, study=study)
    assert status == 202
    assert set(body) == {RETRIEVE_URL, FAILED_SOP, REFERENCED_SOP}
    assert body[RETRIEVE_URL]["Value"][0].endswith(f"/v2/studies/{study}")
    (failed,) = body[FAILED_SOP]["Value"]
    assert failed[FAILURE_REASON]["Value"] == [43265]
    assert failed["00081155"]["Value"] == [other.sop]
    response = client.get(f"/v2/studies/{other.study}", headers={"Accept": "*/*"})
    assert response.status_code == 404


def test_all_mismatching_is_409_without_retrieve_url(client: Client) -> None:
    status, body = store(client, build().data, study=new_uid())
    assert status == 409
    assert set(body) == {FAILED_SOP}


def test_duplicate_is_45070(client: Client) -> None:
    instance = build()
    assert store(client, instance.data)[0] == 200
    status, body = store(client, instance.data)
    assert status == 409
    assert body[FAILED_SOP]["Value"][0][FAILURE_REASON]["Value"] == [45070]


def test_same_file_twice_in_one_request(client: Client) -> None:
    instance = build()
    status, body = store(client, instance.data, instance.data)
    assert status == 202
    assert len(body[REFERENCED_SOP]["Value"]) == 1
    assert body[FAILED_SOP]["Value"][0][FAILURE_REASON]["Value"] == [45070]


def test_restore_with_padded_study_uid_conflicts(client: Client) -> None:
    study = new_uid()
    first = build(study=study)
    assert store(client, first.data)[0] == 200
    again = build(study=study + " ", series=first.series, sop=first.sop)
    status, body = store(client, again.data)
    assert status == 409
    assert body[FAILED_SOP]["Value"][0][FAILURE_REASON]["Value"] == [45070]


@pytest.mark.parametrize("payload", [b"", b"not dicom at all", b"\0" * 128 + b"DICM" + b"\x01\x02garbage"])
def test_unreadable_part_fails_without_uids(client: Client, payload: bytes) -> None:
    status, body = store(client, payload)
    assert status == 409
    (failed,) = body[FAILED_SOP]["Value"]
    assert failed[FAILURE_REASON]["Value"] == [43264]
    assert "00081150" not in failed
    assert "00081155" not in failed


def test_truncated_file_fails(client: Client) -> None:
    instance = build(frames=2)
    status, body = store(client, instance.data[:-7])
    assert status == 409
    assert body[FAILED_SOP]["Value"][0][FAILURE_REASON]["Value"] == [43264]


def test_zero_byte_part_plus_valid_part_is_202(client: Client) -> None:
    instance = build()
    status, body = store(client, b"", instance.data)
    assert status == 202
    assert body[REFERENCED_SOP]["Value"][0]["00081155"]["Value"] == [instance.sop]


def test_zero_parts_is_204(client: Client) -> None:
    response = client.post("/v2/studies", content=b"--XBOUNDARYX--\r\n", headers=STOW)
    assert response.status_code == 204
    assert response.content == b""


def test_invalid_dataset_uid_is_409(client: Client) -> None:
    status, body = store(client, build(study="abc.123").data)
    assert status == 409
    (failed,) = body[FAILED_SOP]["Value"]
    assert failed[FAILURE_REASON]["Value"] == [43264]
    assert comments(failed)[0].startswith("DICOM100: (0020,000d) - ")


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_missing_patient_id_element_fails(client: Client, version: str) -> None:
    status, body = store(client, build(omit=["PatientID"]).data, version=version)
    assert status == 409
    assert comments(body[FAILED_SOP]["Value"][0]) == [
        "DICOM100: (0010,0020) - The required tag '(0010,0020)' is missing."
    ]


def test_empty_patient_id_v1_fails_v2_warns(client: Client) -> None:
    status, _ = store(client, build(PatientID="").data, version="v1")
    assert status == 409
    status, body = store(client, build(PatientID="").data, version="v2")
    assert status == 202
    (item,) = body[REFERENCED_SOP]["Value"]
    assert item[WARNING_REASON]["Value"] == [1]
    assert comments(item) == ["DICOM100: (0010,0020) - The required tag '(0010,0020)' is missing."]


def test_patient_id_with_embedded_nul_fails(client: Client) -> None:
    status, body = store(client, build(PatientID="Before\0After").data)
    assert status == 409
    assert "does not validate VR LO: value contains invalid character" in comments(body[FAILED_SOP]["Value"][0])[0]


def test_invalid_study_date_v1_fails(client: Client) -> None:
    status, body = store(client, build(StudyDate="NotAValidStudyDate").data, version="v1")
    assert status == 409
    assert body[FAILED_SOP]["Value"][0][FAILURE_REASON]["Value"] == [43264]


def test_invalid_study_date_v2_warns_and_drops(client: Client) -> None:
    instance = build(StudyDate="NotAValidStudyDate", PatientBirthDate="20220315")
    status, body = store(client, instance.data)
    assert status == 202
    (item,) = body[REFERENCED_SOP]["Value"]
    assert item[WARNING_REASON]["Value"] == [1]
    assert comments(item) == [
        'DICOM100: (0008,0020) - Content "NotAValidStudyDate" does not validate VR DA: '
        "one of the date values does not match the pattern YYYYMMDD"
    ]
    metadata = client.get(f"/v2/studies/{instance.study}/metadata", headers=JSON).json()[0]
    assert "00080020" not in metadata
    assert metadata["00100030"]["Value"] == ["20220315"]
    found = client.get("/v2/instances", params={"PatientBirthDate": "20220315"}, headers=JSON)
    assert found.status_code == 200
    query = client.get("/v2/instances", params={"StudyDate": "NotAValidStudyDate"}, headers=JSON)
    assert query.status_code == 400


def test_nul_padding_v2_is_valid_and_kept(client: Client) -> None:
    instance = build(raw={0x00080060: ("CS", b"X\0")})
    status, body = store(client, instance.data)
    assert status == 200
    assert body[REFERENCED_SOP]["Value"][0][FAILED_ATTRIBUTES]["Value"] == []
    metadata = client.get(f"/v2/studies/{instance.study}/metadata", headers=JSON).json()[0]
    assert metadata["00080060"]["Value"] == ["X\0"]
    for value in ("X", "X\0"):
        assert client.get("/v2/instances", params={"Modality": value}, headers=JSON).status_code == 200


def test_nul_in_the_middle_v2_is_dropped_with_warning(client: Client) -> None:
    status, body = store(client, build(raw={0x00080060: ("CS", b"X\0X ")}).data)
    assert status == 202
    assert "does not validate VR CS: value contains invalid character" in comments(body[REFERENCED_SOP]["Value"][0])[0]


@pytest.mark.parametrize(("version", "expected"), [("v1", 200), ("v2", 202)])
def test_implicit_vr_gets_45063(client: Client, version: str, expected: int) -> None:
    instance = build(
        transfer_syntax=ImplicitVRLittleEndian, raw={0x00091010: ("LO", b"private"), 0x00090010: ("LO", b"ACME")}
    )
    status, body = store(client, instance.data, version=version)
    assert status == expected
    assert body[REFERENCED_SOP]["Value"][0][WARNING_REASON]["Value"] == [45063]
    metadata = client.get(f"/{version}/studies/{instance.study}/metadata", headers=JSON).json()[0]
    assert "00091010" not in metadata  # STOW-26


def test_multiple_values_warning_header(client: Client) -> None:
    response = client.post("/v2/studies", content=multipart([build(PatientID="A\\B").data]), headers=STOW)
    assert response.status_code == 200
    assert response.headers["warning"] == (
        '299 testserver: "One or more indexed Dicom tag(s) have multiple values, only first value is indexed."'
    )


def test_single_part_application_dicom(client: Client) -> None:
    instance = build()
    response = client.post("/v1/studies", content=instance.data, headers={**JSON, "Content-Type": "application/dicom"})
    assert response.status_code == 200
    response = client.post("/v1/studies", content=b"", headers={**JSON, "Content-Type": "application/dicom"})
    assert response.status_code == 409


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("multipart/form-data; boundary=XBOUNDARYX", 415),
        ("application/json", 415),
        ("application/dicom; transfer-syntax=*", 415),
        ('multipart/related; type="application/dicom+json"; boundary=XBOUNDARYX', 415),
        ('multipart/related; type="application/dicom"', 415),
        ('multipart/related; type="application/dicom"; start="<a>"; boundary=XBOUNDARYX', 400),
        ("multipart/related; type=application/dicom; boundary=XBOUNDARYX", 200),
        ('multipart/related; boundary="XBOUNDARYX"', 200),
    ],
)
def test_request_content_types(client: Client, content_type: str, status: int) -> None:
    response = client.post(
        "/v2/studies", content=multipart([build().data]), headers={**JSON, "Content-Type": content_type}
    )
    assert response.status_code == status


@pytest.mark.parametrize(
    ("part_type", "type_param", "status"),
    [
        ("application/dicom; transfer-syntax=1.2.840.10008.1.2.1", True, 415),
        ("application/dicom+json", True, 415),
        (None, True, 200),
        (None, False, 415),
    ],
)
def test_part_content_types(client: Client, part_type: str | None, type_param: bool, status: int) -> None:
    content_type = related() if type_param else "multipart/related; boundary=XBOUNDARYX"
    body = multipart([build().data], content_type=part_type)
    response = client.post("/v2/studies", content=body, headers={**JSON, "Content-Type": content_type})
    assert response.status_code == status
    if status == 415:
        assert response.headers["content-type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize("accept", [None, "application/dicom", "application/dicom+json+something"])
def test_accept_without_dicom_json_is_406(client: Client, accept: str | None) -> None:
    headers = {"Content-Type": related()} | ({"Accept": accept} if accept else {})
    response = client.post("/v2/studies", content=multipart([build().data]), headers=headers)
    assert response.status_code == 406
    assert response.content == b""


@pytest.mark.parametrize("accept", ["*/*", "application/*", "text/html, application/DICOM+JSON; q=0.5"])
def test_accept_ranges_that_admit_dicom_json(client: Client, accept: str) -> None:
    response = client.post(
        "/v2/studies", content=multipart([build().data]), headers={"Content-Type": related(), "Accept": accept}
    )
    assert response.status_code == 200


def test_invalid_path_study_is_400(client: Client) -> None:
    response = client.post("/v2/studies/" + "b" * 65, content=b"x", headers=STOW)
    assert response.status_code == 400
    assert "'0'-'9' and '.'" in response.text


def test_v1_invalid_indexed_vr_mismatch_fails(client: Client) -> None:
    instance = build(raw={0x00081090: ("SH", b"MODEL1")})
    assert store(client, instance.data, version="v1")[0] == 409


def test_response_is_valid_pydicom_json(client: Client) -> None:
    _, body = store(client, build().data, build(PatientID="").data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = pydicom.Dataset.from_json(body)
    assert len(dataset.ReferencedSOPSequence) == 2


def test_v2_invalid_value_inside_a_sequence_drops_the_sequence(client: Client) -> None:
    item = pydicom.Dataset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        item.CodeValue = "X" * 20  # SH allows 16 characters
    instance = build(ProcedureCodeSequence=[item], StudyDescription="kept")
    status, body = store(client, instance.data)
    assert status == 202
    (comment,) = comments(body[REFERENCED_SOP]["Value"][0])
    assert comment.startswith("DICOM100: (0008,1032) - ")
    assert "VR SH" in comment
    metadata = client.get(f"/v2/studies/{instance.study}/metadata", headers=JSON).json()[0]
    assert "00081032" not in metadata
    assert metadata["00081030"]["Value"] == ["kept"]
