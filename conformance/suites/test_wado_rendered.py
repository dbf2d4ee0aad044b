"""Rendered images (WADO-RS ``.../rendered``, PS3.18 10.4.1.1.4; behaviours WADO-22..25).

How a server windows pixel values into an 8-bit picture is its choice, so a rendered frame is
judged by what any windowing keeps: the picture has the frame's size and its grey levels rise
with the stored values (a monotonic mapping), which the other frames of the test instance do
not satisfy (each is a shifted ramp). PNG answers are compared decoded; JPEG ones decoded only.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator

import numpy as np
import pytest
from numpy.typing import NDArray
from pydicom import dcmread

from conformance.checks import expect, expect_media_type, expect_status
from conformance.checks.retrieve import decoded_image
from conformance.client.responses import RetrieveResponse
from conformance.core.instances import DicomFile
from conformance.plugin import Dicomweb
from conformance.session import TargetSession
from conformance.suites._support import require_azure_compatible
from conformance.suites._wado_qido_support import HEVC, SharedData, encoded, shared_data, uids
from conformance.testdata import InstanceFactory

pytestmark = pytest.mark.requires("rendered")

JPEG, PNG = "image/jpeg", "image/png"


@pytest.fixture(scope="module")
def images(dicomweb_session: TargetSession) -> Iterator[SharedData]:
    factory = InstanceFactory()
    multi = factory.multiframe(frames=3, rows=16, columns=24)
    large = factory.instance(rows=64, columns=64)
    bare = factory.instance(attributes={"PixelData": None}, label="no pixel data")
    yield from shared_data(dicomweb_session, [[multi, large, bare]], multi=multi, large=large, bare=bare)


def _frame(file: DicomFile, number: int) -> NDArray[np.generic]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pixels = np.asarray(dcmread(io.BytesIO(file.data)).pixel_array)
    return pixels[number - 1] if pixels.ndim == 3 else pixels


def _grey(picture: NDArray[np.generic]) -> NDArray[np.float64]:
    return picture.astype(np.float64).mean(axis=2) if picture.ndim == 3 else picture.astype(np.float64)


def renders(picture: NDArray[np.generic], frame: NDArray[np.generic]) -> bool:
    """Whether ``picture`` is ``frame`` through some rising grey-level mapping (any windowing)."""
    grey = _grey(picture)
    if grey.shape != frame.shape:
        return False
    order = np.argsort(frame.ravel(), kind="stable")
    levels = grey.ravel()[order]
    return bool(np.all(np.diff(levels) >= 0) and levels[-1] > levels[0])


def _rendered(
    dicomweb: Dicomweb, file: DicomFile, accept: str | None, frame: int | str | None = None, **params: str
) -> RetrieveResponse:
    return dicomweb.client.retrieve_rendered(*uids(file), frame=frame, accept=accept, params=list(params.items()))


def _expect_picture(response: RetrieveResponse, media: str, frame: NDArray[np.generic], why: str) -> None:
    expect_status(response, 200, why=why)
    expect_media_type(response, media, why=f"the picture is {media}")
    picture = decoded_image(response, response.content, "the rendered picture")
    expect(
        _grey(picture).shape == frame.shape,
        "the picture has the frame's rows and columns",
        response=response,
        expected=f"{frame.shape[1]}x{frame.shape[0]} pixels",
        received=f"{picture.shape[1] if picture.ndim > 1 else '?'}x{picture.shape[0]} pixels",
    )
    if media == PNG:
        expect(
            renders(picture, frame),
            "the picture shows the frame (grey levels rise with the stored values)",
            response=response,
            expected="a monotonic rendering of the requested frame",
            received="grey levels that do not follow the frame's values",
        )


@pytest.mark.behavior("WADO-22")
@pytest.mark.parametrize("accept", [PNG, JPEG, None], ids=["png", "jpeg", "no-accept"])
def test_rendered_media_types(dicomweb: Dicomweb, images: SharedData, accept: str | None) -> None:
    """WADO-22 (D1, D2, E2E): ``image/jpeg`` and ``image/png`` are rendered; without an Accept
    header the answer is ``image/jpeg``."""
    file = images["large"]
    response = _rendered(dicomweb, file, accept)
    _expect_picture(response, accept or JPEG, _frame(file, 1), f"the instance renders as {accept or 'the default'}")


@pytest.mark.behavior("WADO-22")
@pytest.mark.parametrize("accept", ["*/*", f"{JPEG}, {PNG}", "image/gif", "application/dicom"])
def test_other_accept_values(dicomweb: Dicomweb, images: SharedData, accept: str) -> None:
    """WADO-22 / AMB-09: the implementation allows exactly one of image/jpeg or image/png; ``*/*``,
    a list of types or any other type gives 406. The documents are silent on these, so under
    the documented rule a picture or 406 is accepted (never 400 or 5xx)."""
    response = _rendered(dicomweb, images["large"], accept)
    rule = dicomweb.profile.follows("AMB-09").value
    expect_status(response, *((406,) if rule == "implemented" else (200, 406)), why=f"Accept {accept} (AMB-09: {rule})")
    if response.status == 200:
        media = response.media_type()
        expect(
            media is not None and media.essence in (JPEG, PNG),
            "a rendered answer is a JPEG or PNG picture",
            response=response,
            expected="image/jpeg or image/png",
            received=str(response.header("content-type")),
        )


@pytest.mark.behavior("WADO-23")
def test_first_frame_is_rendered_by_default(dicomweb: Dicomweb, images: SharedData) -> None:
    """WADO-23 (D1, D2): ``/rendered`` of a multi-frame instance is its first frame (the same
    picture as ``/frames/1/rendered``)."""
    file = images["multi"]
    whole = _rendered(dicomweb, file, PNG)
    _expect_picture(whole, PNG, _frame(file, 1), "the multi-frame instance renders its first frame")
    first = _rendered(dicomweb, file, PNG, frame=1)
    _expect_picture(first, PNG, _frame(file, 1), "frame 1 renders")
    expect(
        np.array_equal(decoded_image(whole, whole.content, "picture"), decoded_image(first, first.content, "frame 1")),
        "/rendered and /frames/1/rendered are the same picture",
        response=first,
        expected="identical pixels",
        received="different pictures",
    )


@pytest.mark.behavior("WADO-23")
@pytest.mark.parametrize("number", [2, 3])
def test_each_frame_renders_itself(dicomweb: Dicomweb, images: SharedData, number: int) -> None:
    """WADO-23 (D1, D2): ``/frames/{n}/rendered`` is 1-based: frame n, not n-1 or n+1."""
    file = images["multi"]
    response = _rendered(dicomweb, file, PNG, frame=number)
    _expect_picture(response, PNG, _frame(file, number), f"frame {number} renders")


@pytest.mark.behavior("WADO-23")
def test_missing_frame_is_404(dicomweb: Dicomweb, images: SharedData) -> None:
    """WADO-23 (E2E): a frame that does not exist gives 404; frame 0 is never a frame (400 or
    404: the documents do not say which)."""
    file = images["multi"]
    expect_status(_rendered(dicomweb, file, JPEG, frame=4), 404, why="the instance has 3 frames")
    expect_status(_rendered(dicomweb, file, JPEG, frame=0), 400, 404, why="frames are numbered from 1")


@pytest.mark.behavior("WADO-24")
@pytest.mark.parametrize("quality", ["0", "101", "-5", "high", "50.5"])
def test_quality_out_of_range_is_400(dicomweb: Dicomweb, images: SharedData, quality: str) -> None:
    """WADO-24 (D1, D2, SRC): ``quality`` is an integer 1..100; anything else gives 400."""
    response = _rendered(dicomweb, images["large"], JPEG, quality=quality)
    expect_status(response, 400, why=f"quality={quality} is not an integer from 1 to 100")


@pytest.mark.behavior("WADO-24")
def test_quality_shapes_jpeg_only(dicomweb: Dicomweb, images: SharedData) -> None:
    """WADO-24 (D1, D2): ``quality`` (default 100) changes the JPEG encoding; PNG ignores it."""
    file = images["large"]
    best = _rendered(dicomweb, file, JPEG)
    _expect_picture(best, JPEG, _frame(file, 1), "the default quality renders")
    for quality in ("1", "100"):
        response = _rendered(dicomweb, file, JPEG, quality=quality)
        _expect_picture(response, JPEG, _frame(file, 1), f"quality={quality} renders")
        same = response.content == best.content
        expect(
            same is (quality == "100"),
            f"quality={quality} {'is' if quality == '100' else 'is not'} the default encoding",
            response=response,
            expected="the same bytes as without quality" if quality == "100" else "another encoding than quality 100",
            received="the same bytes" if same else "different bytes",
        )
    plain = _rendered(dicomweb, file, PNG)
    tuned = _rendered(dicomweb, file, PNG, quality="1")
    _expect_picture(tuned, PNG, _frame(file, 1), "quality is ignored for PNG")
    expect(
        np.array_equal(decoded_image(plain, plain.content, "png"), decoded_image(tuned, tuned.content, "png")),
        "quality does not change a PNG picture",
        response=tuned,
        expected="the same pixels as without quality",
        received="different pixels",
    )


@pytest.mark.behavior("WADO-25")
@pytest.mark.parametrize("frame", [None, 1], ids=["instance", "frame"])
def test_no_pixel_data_is_404(dicomweb: Dicomweb, images: SharedData, frame: int | None) -> None:
    """WADO-25 (D1, D2): rendering an instance without pixel data gives 404."""
    response = _rendered(dicomweb, images["bare"], JPEG, frame=frame)
    expect_status(response, 404, why="there is nothing to render")


@pytest.mark.behavior("WADO-25")
def test_rendering_failure_is_406(dicomweb: Dicomweb) -> None:
    """WADO-25 (SRC): a picture that cannot be rendered (an HEVC stream) gives 406, not 500."""
    require_azure_compatible(dicomweb.profile, "406 for a rendering failure")
    file = encoded(dicomweb.instances, HEVC)
    expect_status(dicomweb.client.store_instances([file]), 200, 202, why="an HEVC instance is stored")
    expect_status(_rendered(dicomweb, file, JPEG), 406, why="the HEVC stream cannot be rendered")
