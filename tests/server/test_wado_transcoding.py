"""Transcoding in the reference server: JPEG 2000 lossless and compressed sources (WADO-09,
WADO-13, WADO-16), always judged on decoded pixels."""

from __future__ import annotations

import io
import re
import warnings

import numpy as np
import pydicom
import pytest
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRBigEndian, ImplicitVRLittleEndian, JPEG2000Lossless, RLELossless

from .dicom_factory import Instance, build
from .harness import Client, ClientFactory
from .test_wado import instance_url, split_multipart, store

EXPLICIT = "1.2.840.10008.1.2.1"
J2K = JPEG2000Lossless
HEVC = "1.2.840.10008.1.2.4.107"


def read(data: bytes) -> pydicom.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(io.BytesIO(data))


def compressed(syntax: str, frames: int = 2) -> Instance:
    """A 32x32 16-bit instance compressed with pydicom's encoders."""
    plain = build(frames=frames, rows=32, columns=32)
    dataset = read(plain.data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset.compress(syntax, generate_instance_uid=False)
        out = io.BytesIO()
        dataset.save_as(out, enforce_file_format=True)
    return Instance(out.getvalue(), plain.study, plain.series, plain.sop)


def pixels(data: bytes) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(read(data).pixel_array)


@pytest.mark.parametrize("source", [RLELossless, J2K])
def test_compressed_sources_decompress_to_explicit_little_endian(client: Client, source: str) -> None:
    instance = compressed(source)
    store(client, instance)
    response = client.get(instance_url(instance), headers={"Accept": "application/dicom"})
    assert response.status_code == 200
    assert response.headers["content-type"] == f"application/dicom; transfer-syntax={EXPLICIT}"
    returned = read(response.content)
    assert returned.file_meta.TransferSyntaxUID == EXPLICIT
    assert returned.SOPInstanceUID == instance.sop  # the instance keeps its identity
    assert np.array_equal(pixels(response.content), pixels(instance.data))


@pytest.mark.parametrize("source", [EXPLICIT, ImplicitVRLittleEndian, ExplicitVRBigEndian])
def test_uncompressed_to_jpeg_2000_lossless(client: Client, source: str) -> None:
    instance = build(frames=2, rows=32, columns=32, transfer_syntax=source)
    store(client, instance)
    response = client.get(instance_url(instance), headers={"Accept": f"application/dicom; transfer-syntax={J2K}"})
    assert response.status_code == 200
    assert read(response.content).file_meta.TransferSyntaxUID == J2K
    assert np.array_equal(pixels(response.content), pixels(instance.data))


def test_several_instances_are_not_transcoded(client: Client) -> None:
    first = build(frames=1, rows=32, columns=32)
    store(client, first, build(study=first.study, frames=1, rows=32, columns=32))
    accept = f'multipart/related; type="application/dicom"; transfer-syntax={J2K}'
    assert client.get(f"/v2/studies/{first.study}", headers={"Accept": accept}).status_code == 406


def test_frames_as_jpeg_2000(client: Client) -> None:
    instance = build(frames=3, rows=32, columns=32)
    store(client, instance)
    response = client.get(
        instance_url(instance) + "/frames/3,1", headers={"Accept": 'multipart/related; type="image/jp2"'}
    )
    assert response.status_code == 200
    parts = split_multipart(response.content, response.headers["content-type"])
    assert [h["content-type"] for h, _ in parts] == [f"image/jp2; transfer-syntax={J2K}"] * 2
    stored = pixels(instance.data)
    from PIL import Image

    for (_, body), index in zip(parts, (2, 0), strict=True):
        with Image.open(io.BytesIO(body)) as image:
            assert np.array_equal(np.asarray(image).astype(np.int64), stored[index].astype(np.int64))


def test_compressed_frames_decompressed_to_octet_stream(client: Client) -> None:
    instance = compressed(RLELossless, frames=2)
    store(client, instance)
    accept = 'multipart/related; type="application/octet-stream"'
    response = client.get(instance_url(instance) + "/frames/2", headers={"Accept": accept})
    assert response.status_code == 200
    ((headers, body),) = split_multipart(response.content, response.headers["content-type"])
    assert headers["content-type"] == f"application/octet-stream; transfer-syntax={EXPLICIT}"
    assert body == pixels(instance.data)[1].astype("<u2").tobytes()


def video(syntax: str = HEVC) -> Instance:
    plain = build(frames=1, rows=32, columns=32)
    dataset = read(plain.data)
    dataset.PixelData = encapsulate([b"\x00\x00\x01\xb3opaque-video-bytes"])
    dataset["PixelData"].VR = "OB"
    dataset["PixelData"].is_undefined_length = True
    dataset.file_meta.TransferSyntaxUID = pydicom.uid.UID(syntax)
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset.save_as(out, enforce_file_format=True)
    return Instance(out.getvalue(), plain.study, plain.series, plain.sop)


def test_undecodable_streams_are_406_never_500(client: Client) -> None:
    instance = video()
    store(client, instance)
    url = instance_url(instance)
    assert client.get(url, headers={"Accept": "application/dicom"}).status_code == 406
    assert client.get(url, headers={"Accept": f"application/dicom; transfer-syntax={J2K}"}).status_code == 406
    frames = client.get(url + "/frames/1", headers={"Accept": 'multipart/related; type="image/jp2"'})
    assert frames.status_code == 406
    assert "transfer-syntax=*" in frames.text
    original = client.get(url + "/frames/1", headers={"Accept": "application/octet-stream; transfer-syntax=*"})
    assert original.status_code == 200
    assert original.content == b"\x00\x00\x01\xb3opaque-video-bytes"


def test_frame_transcoding_size_limit(make_client: ClientFactory) -> None:
    client = make_client(transcode_max_bytes=100)
    instance = build(frames=1, rows=32, columns=32)
    store(client, instance)
    response = client.get(
        instance_url(instance) + "/frames/1", headers={"Accept": 'multipart/related; type="image/jp2"'}
    )
    assert response.status_code == 406
    assert re.search(r"larger than 100 bytes", response.text)
