"""Rendered images in the reference server (WADO-22..25, AMB-09)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from .dicom_factory import build
from .harness import Client, ClientFactory
from .test_wado import instance_url, store
from .test_wado_transcoding import video


def picture(content: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(content)) as image:
        return np.asarray(image)


@pytest.fixture
def multiframe(client: Client) -> str:
    """Three 8x6 16-bit frames: a rising ramp, a falling ramp, a rising ramp."""
    ramp = np.arange(48, dtype="<u2") * 100
    pixels = np.concatenate([ramp, ramp[::-1], ramp]).tobytes()
    instance = build(frames=3, rows=8, columns=6, raw={0x7FE00010: ("OW", pixels)})
    store(client, instance)
    return instance_url(instance)


@pytest.mark.parametrize(
    ("accept", "media"), [(None, "image/jpeg"), ("image/jpeg", "image/jpeg"), ("image/png", "image/png")]
)
def test_media_types(client: Client, multiframe: str, accept: str | None, media: str) -> None:
    headers = {"Accept": accept} if accept else {}
    response = client.get(multiframe + "/rendered", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == media
    assert picture(response.content).shape[:2] == (8, 6)


@pytest.mark.parametrize("accept", ["*/*", "image/jpeg, image/png", "image/gif", "application/dicom", "image/"])
def test_other_accept_values_are_406(client: Client, multiframe: str, accept: str) -> None:
    assert client.get(multiframe + "/rendered", headers={"Accept": accept}).status_code == 406


def test_frames_are_one_based_and_rise_with_the_stored_values(client: Client, multiframe: str) -> None:
    first = picture(client.get(multiframe + "/rendered", headers={"Accept": "image/png"}).content)
    assert np.array_equal(
        first, picture(client.get(multiframe + "/frames/1/rendered", headers={"Accept": "image/png"}).content)
    )
    second = picture(client.get(multiframe + "/frames/2/rendered", headers={"Accept": "image/png"}).content)
    assert np.array_equal(second.ravel(), first.ravel()[::-1])
    assert first.ravel()[0] == 0
    assert first.ravel()[-1] == 255
    assert np.all(np.diff(first.ravel().astype(int)) >= 0)


@pytest.mark.parametrize(("frame", "status"), [("4", 404), ("0", 400), ("x", 400)])
def test_frame_errors(client: Client, multiframe: str, frame: str, status: int) -> None:
    assert client.get(multiframe + f"/frames/{frame}/rendered").status_code == status


@pytest.mark.parametrize("quality", ["0", "101", "-1", "1.5", "x"])
def test_quality_out_of_range_is_400(client: Client, multiframe: str, quality: str) -> None:
    response = client.get(multiframe + "/rendered", params={"quality": quality})
    assert response.status_code == 400
    assert "between 1 and 100" in response.text


def test_quality_changes_jpeg_not_png(client: Client) -> None:
    instance = build(frames=1, rows=64, columns=64)
    store(client, instance)
    url = instance_url(instance) + "/rendered"
    best = client.get(url).content
    assert client.get(url, params={"quality": "100"}).content == best
    assert client.get(url, params={"quality": "5"}).content != best
    png = {"Accept": "image/png"}
    assert client.get(url, headers=png, params={"quality": "5"}).content == client.get(url, headers=png).content


def test_no_pixel_data_is_404_and_undecodable_406(client: Client) -> None:
    bare = build()
    store(client, bare)
    assert client.get(instance_url(bare) + "/rendered").status_code == 404
    assert client.get(instance_url(bare) + "/frames/1/rendered").status_code == 404
    stream = video()
    store(client, stream)
    response = client.get(instance_url(stream) + "/rendered")
    assert response.status_code == 406
    assert response.headers["content-type"].startswith("text/plain")


def test_unknown_instance_and_size_limit(make_client: ClientFactory) -> None:
    client = make_client(transcode_max_bytes=100)
    instance = build(frames=1, rows=8, columns=8)
    store(client, instance)
    assert client.get(instance_url(instance) + "/rendered").status_code == 406
    unknown = instance_url(instance).rsplit("/", 1)[0] + "/1.2.3"
    assert client.get(unknown + "/rendered").status_code == 404
