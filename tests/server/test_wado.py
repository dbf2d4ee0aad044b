"""WADO-RS of the reference server: retrieval, transcoding, metadata, ETag, frames (WADO-01..21)."""

from __future__ import annotations

import io
import re
import warnings

import pydicom
import pytest
from pydicom.dataset import FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from .dicom_factory import Instance, build, frame_bytes, multipart, new_uid, related
from .harness import Client, ClientFactory

JSON = {"Accept": "application/dicom+json"}
DICOM_ANY = {"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'}
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
OCTETS = {"Accept": 'multipart/related; type="application/octet-stream"'}


def store(client: Client, *instances: Instance) -> None:
    response = client.post(
        "/v2/studies",
        content=multipart([i.data for i in instances]),
        headers={**JSON, "Content-Type": related()},
    )
    assert response.status_code in (200, 202), response.text


def instance_url(instance: Instance, version: str = "v2") -> str:
    return f"/{version}/studies/{instance.study}/series/{instance.series}/instances/{instance.sop}"


def split_multipart(response_content: bytes, content_type: str) -> list[tuple[dict[str, str], bytes]]:
    match = re.search(r"boundary=([^;]+)", content_type)
    assert match, content_type
    delimiter = b"--" + match.group(1).strip('"').encode()
    chunks = response_content.split(b"\r\n" + delimiter)
    first = chunks[0]
    assert first.startswith(delimiter)
    chunks[0] = first[len(delimiter) :]
    assert chunks[-1] == b"--\r\n"
    parts = []
    for chunk in chunks[:-1]:
        head, _, body = chunk[2:].partition(b"\r\n\r\n")
        headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n"))
        parts.append(({k.lower(): v for k, v in headers.items()}, body))
    return parts


def test_retrieve_study_as_stored(client: Client) -> None:
    first = build()
    second = build(study=first.study)
    store(client, first, second)
    response = client.get(f"/v2/studies/{first.study}", headers=DICOM_ANY)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith('multipart/related; type="application/dicom"; boundary=')
    parts = split_multipart(response.content, response.headers["content-type"])
    assert [body[128:] for _, body in parts] == [first.data[128:], second.data[128:]]
    for headers, _ in parts:
        assert headers["content-type"] == f"application/dicom; transfer-syntax={ExplicitVRLittleEndian}"
        assert headers["content-location"].startswith("http://testserver/v2/studies/")


@pytest.mark.parametrize(
    "accept",
    [
        'multipart/related; type="application/dicom"',
        'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1',
    ],
)
def test_several_instances_need_original_syntax(client: Client, accept: str) -> None:
    first = build()
    store(client, first, build(study=first.study))
    response = client.get(f"/v2/studies/{first.study}", headers={"Accept": accept})
    assert response.status_code == 406
    assert "transfer-syntax=*" in response.text


def test_single_instance_default_syntax(client: Client) -> None:
    instance = build()
    store(client, instance)
    response = client.get(
        f"/v2/studies/{instance.study}", headers={"Accept": 'multipart/related; type="application/dicom"'}
    )
    assert response.status_code == 200


@pytest.mark.parametrize("source", [ImplicitVRLittleEndian, ExplicitVRBigEndian])
def test_transcode_uncompressed_to_explicit_little_endian(client: Client, source: str) -> None:
    instance = build(transfer_syntax=source, frames=2)
    store(client, instance)
    response = client.get(instance_url(instance), headers={"Accept": "application/dicom"})
    assert response.status_code == 200
    assert response.headers["content-type"] == f"application/dicom; transfer-syntax={ExplicitVRLittleEndian}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = pydicom.dcmread(io.BytesIO(response.content))
    assert dataset.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert dataset.PixelData == frame_bytes(2, 0) + frame_bytes(2, 1)
    assert dataset.SOPInstanceUID == instance.sop


def test_transcode_size_limit(make_client: ClientFactory) -> None:
    client = make_client(transcode_max_bytes=100)
    instance = build(transfer_syntax=ImplicitVRLittleEndian)
    store(client, instance)
    response = client.get(instance_url(instance), headers={"Accept": "application/dicom"})
    assert response.status_code == 406
    assert "transfer-syntax=*" in response.text
    assert (
        client.get(instance_url(instance), headers={"Accept": "application/dicom; transfer-syntax=*"}).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("accept", "status"),
    [
        ("application/octet-stream", 406),
        ("application/dicom; transfer-syntax=1.2.840.10008.1.2.4.100", 406),
        ("application/dicom; transfer-syntax=1.2.840.10008.1.2.4.91", 406),
        ("application/dicom; transfer-syntax=1.2.840.10008.1.2.4.90", 200),
        ("*/*", 200),
        ("application/dicom", 200),
    ],
)
def test_instance_accept(client: Client, accept: str, status: int) -> None:
    instance = build()
    store(client, instance)
    assert client.get(instance_url(instance), headers={"Accept": accept}).status_code == status


def test_no_accept_is_406(client: Client) -> None:
    instance = build()
    store(client, instance)
    assert client.get(instance_url(instance)).status_code == 406


def test_single_part_for_study_is_406(client: Client) -> None:
    instance = build()
    store(client, instance)
    assert client.get(f"/v2/studies/{instance.study}", headers={"Accept": "application/dicom"}).status_code == 406


def test_unknown_and_invalid(client: Client) -> None:
    instance = build()
    store(client, instance)
    assert client.get(f"/v2/studies/{instance.study}/series/1.2.3", headers=DICOM_ANY).status_code == 404
    assert client.get("/v2/studies/notAUid", headers=DICOM_ANY).status_code == 400
    padded = client.get(f"/v2/studies/{instance.study}%20", headers=DICOM_ANY)
    assert padded.status_code == 200  # WADO-12


def test_metadata_excludes_binary_and_file_meta(client: Client) -> None:
    instance = build(frames=1, raw={0x00091001: ("OB", b"\x01\x02"), 0x00090010: ("LO", b"ACME")})
    store(client, instance)
    response = client.get(instance_url(instance) + "/metadata", headers=JSON)
    assert response.status_code == 200
    (metadata,) = response.json()
    assert "7FE00010" not in metadata
    assert "00091001" not in metadata
    assert not any(key.startswith("0002") for key in metadata)
    assert metadata["00090010"]["Value"] == ["ACME"]
    assert metadata["00280010"] == {"vr": "US", "Value": [4]}


@pytest.mark.parametrize("accept", [None, "application/data", "application/dicom"])
def test_metadata_accept(client: Client, accept: str | None) -> None:
    instance = build()
    store(client, instance)
    headers = {"Accept": accept} if accept else {}
    response = client.get(f"/v2/studies/{instance.study}/metadata", headers=headers)
    assert response.status_code == 406
    assert response.content == b""


def test_metadata_etag_and_304(client: Client) -> None:
    first = build()
    store(client, first)
    levels = [
        f"/v2/studies/{first.study}/metadata",
        f"/v2/studies/{first.study}/series/{first.series}/metadata",
        instance_url(first) + "/metadata",
    ]
    tags = {}
    for url in levels:
        response = client.get(url, headers=JSON)
        tags[url] = response.headers["etag"]
        again = client.get(url, headers={**JSON, "If-None-Match": tags[url]})
        assert again.status_code == 304
        assert again.content == b""
    sibling = build(study=first.study, series=first.series)
    store(client, sibling)
    for url in levels[:2]:
        changed = client.get(url, headers={**JSON, "If-None-Match": tags[url]})
        assert changed.status_code == 200
        assert changed.headers["etag"] != tags[url]
    assert client.get(levels[2], headers={**JSON, "If-None-Match": tags[levels[2]]}).status_code == 304
    after_add = client.get(levels[0], headers=JSON).headers["etag"]
    assert client.delete(instance_url(sibling)).status_code == 204
    after_delete = client.get(levels[0], headers={**JSON, "If-None-Match": after_add})
    assert after_delete.status_code == 200
    assert after_delete.headers["etag"] != after_add


def test_frames_multipart_in_request_order(client: Client) -> None:
    instance = build(frames=3)
    store(client, instance)
    response = client.get(instance_url(instance) + "/frames/3,1", headers=OCTETS)
    assert response.status_code == 200
    parts = split_multipart(response.content, response.headers["content-type"])
    assert [body for _, body in parts] == [frame_bytes(3, 2), frame_bytes(3, 0)]
    assert parts[0][0]["content-type"] == f"application/octet-stream; transfer-syntax={ExplicitVRLittleEndian}"


def test_frames_big_endian_source_is_swapped(client: Client) -> None:
    instance = build(frames=2, transfer_syntax=ExplicitVRBigEndian)
    store(client, instance)
    response = client.get(instance_url(instance) + "/frames/2", headers={"Accept": "application/octet-stream"})
    assert response.status_code == 200
    assert response.content == frame_bytes(2, 1)


@pytest.mark.parametrize(
    ("frames", "accept", "status"),
    [
        ("0", OCTETS, 400),
        ("1,-1", OCTETS, 400),
        ("x", OCTETS, 400),
        ("4", OCTETS, 404),
        ("1,2", {"Accept": "application/octet-stream"}, 400),
        ("1", {"Accept": "application/octet-stream"}, 200),
        ("1", {"Accept": "*/*"}, 200),
        ("1", {"Accept": 'multipart/related; type="image/jp2"'}, 406),
    ],
)
def test_frame_errors(client: Client, frames: str, accept: dict[str, str], status: int) -> None:
    instance = build(frames=3)
    store(client, instance)
    assert client.get(instance_url(instance) + f"/frames/{frames}", headers=accept).status_code == status


def test_frames_without_pixel_data_is_404(client: Client) -> None:
    instance = build()
    store(client, instance)
    assert client.get(instance_url(instance) + "/frames/1", headers=OCTETS).status_code == 404


def encapsulated_instance(frames: list[bytes]) -> Instance:
    """A two-frame 'JPEG Baseline' instance whose fragments are arbitrary bytes (never decoded)."""
    dataset = pydicom.Dataset()
    study, series, sop = new_uid(), new_uid(), new_uid()
    values = {
        "SOPClassUID": "1.2.840.10008.5.1.4.1.1.7",
        "SOPInstanceUID": sop,
        "StudyInstanceUID": study,
        "SeriesInstanceUID": series,
        "PatientID": "P",
        "Rows": 2,
        "Columns": 2,
        "SamplesPerPixel": 1,
        "BitsAllocated": 8,
        "NumberOfFrames": len(frames),
    }
    for keyword, value in values.items():
        setattr(dataset, keyword, value)
    dataset.PixelData = encapsulate(frames)
    dataset["PixelData"].VR = "OB"
    dataset["PixelData"].is_undefined_length = True
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = UID(JPEG_BASELINE)
    dataset.file_meta.MediaStorageSOPClassUID = UID(dataset.SOPClassUID)
    dataset.file_meta.MediaStorageSOPInstanceUID = UID(sop)
    out = io.BytesIO()
    dataset.save_as(out, enforce_file_format=True)
    return Instance(out.getvalue(), study, series, sop)


def test_encapsulated_frames_only_as_stored(client: Client) -> None:
    frames = [b"\xff\xd8one\xff\xd9", b"\xff\xd8second\xff\xd9"]
    instance = encapsulated_instance(frames)
    store(client, instance)
    url = instance_url(instance)
    response = client.get(url + "/frames/2", headers={"Accept": "application/octet-stream; transfer-syntax=*"})
    assert response.status_code == 200
    assert response.content == frames[1]
    assert client.get(url + "/frames/1", headers=OCTETS).status_code == 406
    assert client.get(url, headers={"Accept": "application/dicom"}).status_code == 406
    original = client.get(url, headers={"Accept": "application/dicom; transfer-syntax=*"})
    assert original.headers["content-type"] == f"application/dicom; transfer-syntax={JPEG_BASELINE}"
