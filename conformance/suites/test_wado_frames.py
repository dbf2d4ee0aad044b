"""Frame retrieval (WADO-RS ``.../frames/{list}``, PS3.18 10.4.1.1.3; behaviours WADO-13..16).

Frames are compared byte for byte with the frames stored (``conformance.testdata.frame_bytes``),
or, when the target transcodes them to JPEG 2000, decoded and compared pixel for pixel. The
module stores a 3-frame 32x32 instance and an instance without pixel data, and only reads them.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator

import numpy as np
import pytest
from numpy.typing import NDArray
from pydicom import dcmread

from conformance.checks import expect, expect_status
from conformance.checks.retrieve import (
    decoded_image,
    expect_multipart,
    expect_parts,
    expect_same_frame,
    expect_single_part,
)
from conformance.client.responses import RetrieveResponse
from conformance.core.instances import DicomFile
from conformance.core.media_types import OCTET_STREAM
from conformance.plugin import Dicomweb
from conformance.session import TargetSession
from conformance.suites._support import require_azure_compatible
from conformance.suites._wado_qido_support import (
    EXPLICIT_VR_LITTLE_ENDIAN,
    HEVC,
    JPEG_2000_LOSSLESS,
    MULTIPART_OCTETS,
    MULTIPART_OCTETS_ANY,
    OPAQUE_STREAM,
    SharedData,
    encoded,
    require_transcoding,
    shared_data,
    uids,
)
from conformance.testdata import InstanceFactory, frame_bytes

FRAMES = 3
JP2 = 'multipart/related; type="image/jp2"'


@pytest.fixture(scope="module")
def frames(dicomweb_session: TargetSession) -> Iterator[SharedData]:
    factory = InstanceFactory()
    multi = factory.multiframe(frames=FRAMES, rows=32, columns=32)
    bare = factory.instance(attributes={"PixelData": None}, label="no pixel data")
    yield from shared_data(dicomweb_session, [[multi, bare]], multi=multi, bare=bare)


def _stored_pixels(file: DicomFile, number: int) -> NDArray[np.generic]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = dcmread(io.BytesIO(file.data))
        frames: NDArray[np.generic] = np.asarray(ds.pixel_array)
    frame: NDArray[np.generic] = frames[number - 1]
    return frame


def _expect_frame_parts(response: RetrieveResponse, file: DicomFile, numbers: list[int], syntax: str | None) -> None:
    message = expect_multipart(response, why="frames are answered as multipart/related")
    expect_parts(response, message, OCTET_STREAM, [syntax] * len(numbers), why="one octet-stream part per frame")
    for part, number in zip(message.parts, numbers, strict=True):
        expect(
            part.body == frame_bytes(file, number),
            f"part {numbers.index(number) + 1} holds the bytes of frame {number}, as stored",
            response=response,
            expected=f"the {len(frame_bytes(file, number))} bytes of frame {number}",
            received=f"{len(part.body)} bytes, different content",
        )


@pytest.mark.behavior("WADO-13")
@pytest.mark.parametrize(
    "accept",
    [MULTIPART_OCTETS_ANY, MULTIPART_OCTETS, f"{MULTIPART_OCTETS}; transfer-syntax={EXPLICIT_VR_LITTLE_ENDIAN}"],
    ids=["any", "default", "explicit-little-endian"],
)
def test_frames_as_octet_stream_parts(dicomweb: Dicomweb, frames: SharedData, accept: str) -> None:
    """WADO-13 (D1, D2; PS3.18 Table 8.7.3-4): the multipart octet-stream forms return the raw
    frame bytes (the default and requested syntax is Explicit VR Little Endian, as stored)."""
    file = frames["multi"]
    response = dicomweb.client.retrieve_frames(*uids(file), [1, 2], accept=accept)
    expect_status(response, 200, why=f"frames are retrievable with Accept {accept}")
    syntax = EXPLICIT_VR_LITTLE_ENDIAN if dicomweb.profile.azure_compatible else None
    _expect_frame_parts(response, file, [1, 2], syntax)


@pytest.mark.behavior("WADO-13", "WADO-15")
def test_single_frame_as_single_part(dicomweb: Dicomweb, frames: SharedData) -> None:
    """WADO-13 / WADO-15 (E2E): ``application/octet-stream; transfer-syntax=*`` returns one frame
    as a single part, Content-Type ``application/octet-stream`` (the Azure service's form)."""
    require_azure_compatible(dicomweb.profile, "single-part frame retrieval")
    file = frames["multi"]
    response = dicomweb.client.retrieve_frames(*uids(file), [2], accept=f"{OCTET_STREAM}; transfer-syntax=*")
    expect_status(response, 200, why="one frame is retrievable as a single part")
    expect_single_part(response, OCTET_STREAM, None, why="the single part is application/octet-stream")
    expect(
        response.content == frame_bytes(file, 2),
        "the body holds the bytes of frame 2, as stored",
        response=response,
        expected=f"{len(frame_bytes(file, 2))} bytes of frame 2",
        received=f"{len(response.content)} bytes, different content",
    )


@pytest.mark.behavior("WADO-13")
def test_any_media_type_for_frames(dicomweb: Dicomweb, frames: SharedData) -> None:
    """WADO-13: ``*/*`` means octet-stream as stored (SRC answers multipart; a single part is
    accepted too for one frame)."""
    file = frames["multi"]
    response = dicomweb.client.retrieve_frames(*uids(file), [3], accept="*/*")
    expect_status(response, 200, why="*/* accepts frames")
    media = response.media_type()
    bodies = [p.body for p in response.multipart().parts] if media and media.essence == "multipart/related" else None
    bodies = bodies if bodies is not None else [response.content]
    expect(
        bodies == [frame_bytes(file, 3)],
        "the answer holds frame 3 as stored",
        response=response,
        expected="one body: the bytes of frame 3",
        received=f"{len(bodies)} body/bodies of {[len(b) for b in bodies]} bytes",
    )


@pytest.mark.behavior("WADO-13", "WADO-09")
@pytest.mark.parametrize("accept", [JP2, f"{JP2}; transfer-syntax={JPEG_2000_LOSSLESS}"], ids=["default", "explicit"])
def test_frames_as_jpeg_2000(dicomweb: Dicomweb, frames: SharedData, accept: str) -> None:
    """WADO-13 / WADO-09 (D1, D2; PS3.18 Table 8.7.3-5): ``type="image/jp2"`` means JPEG 2000
    lossless (1.2.840.10008.1.2.4.90); each part decodes to exactly the stored frame."""
    require_transcoding(dicomweb.profile, JPEG_2000_LOSSLESS)
    file = frames["multi"]
    response = dicomweb.client.retrieve_frames(*uids(file), [1, 3], accept=accept)
    expect_status(response, 200, why=f"frames are retrievable as JPEG 2000 with Accept {accept}")
    message = expect_multipart(response, why="frames are answered as multipart/related")
    expect_parts(response, message, "image/jp2", [JPEG_2000_LOSSLESS] * 2, why="one image/jp2 part per frame")
    for index, (part, number) in enumerate(zip(message.parts, (1, 3), strict=True), start=1):
        decoded = decoded_image(response, part.body, f"part {index}")
        expect_same_frame(response, decoded, _stored_pixels(file, number), why=f"part {index} is frame {number}")


@pytest.mark.behavior("WADO-14")
@pytest.mark.parametrize("frame_list", ["0", "0,1", "1,-1", "-1", "a"])
def test_frame_numbers_below_one_are_400(dicomweb: Dicomweb, frames: SharedData, frame_list: str) -> None:
    """WADO-14 (E2E): frame numbers start at 1; 0, negative numbers or a list holding one: 400."""
    response = dicomweb.client.retrieve_frames(*uids(frames["multi"]), frame_list)
    expect_status(response, 400, why=f"frames {frame_list!r} are not valid 1-based frame numbers")


@pytest.mark.behavior("WADO-14")
def test_missing_frames_are_404(dicomweb: Dicomweb, frames: SharedData) -> None:
    """WADO-14 (E2E, SRC): a frame above the frame count (alone or in a list) gives 404, and so
    does any frame of an instance without pixel data."""
    client = dicomweb.client
    for frame_list in ([FRAMES + 1], [1, FRAMES + 1]):
        response = client.retrieve_frames(*uids(frames["multi"]), frame_list)
        expect_status(response, 404, why=f"the instance has {FRAMES} frames; {frame_list} asks for more")
    response = client.retrieve_frames(*uids(frames["bare"]), [1])
    expect_status(response, 404, why="an instance without pixel data has no frames")


@pytest.mark.behavior("WADO-14")
def test_several_frames_as_single_part_is_400(dicomweb: Dicomweb, frames: SharedData) -> None:
    """WADO-14 (SRC): single-part ``application/octet-stream`` serves one frame only; asking it
    for several is a bad request (400), not an unacceptable type."""
    accept = f"{OCTET_STREAM}; transfer-syntax=*"
    response = dicomweb.client.retrieve_frames(*uids(frames["multi"]), [1, 2], accept=accept)
    expect_status(response, 400, why="single part cannot carry two frames")


@pytest.mark.behavior("WADO-15")
@pytest.mark.parametrize("numbers", [[3, 1], [1, 2, 3], [2]], ids=["reversed", "all", "one"])
def test_one_part_per_frame_in_request_order(dicomweb: Dicomweb, frames: SharedData, numbers: list[int]) -> None:
    """WADO-15 (E2E): one part per requested frame, in the order requested, each the raw bytes of
    that frame (``3,1`` gives frame 3 then frame 1)."""
    file = frames["multi"]
    response = dicomweb.client.retrieve_frames(*uids(file), numbers)
    expect_status(response, 200, why=f"frames {numbers} exist")
    _expect_frame_parts(response, file, numbers, EXPLICIT_VR_LITTLE_ENDIAN)


@pytest.mark.behavior("WADO-16")
def test_frames_of_an_undecodable_stream(dicomweb: Dicomweb) -> None:
    """WADO-16 (E2E): frames of an HEVC-encoded instance cannot be transcoded to JPEG 2000 (406);
    with ``transfer-syntax=*`` the original bytes come back."""
    file = encoded(dicomweb.instances, HEVC)
    expect_status(dicomweb.client.store_instances([file]), 200, 202, why="an HEVC instance is stored")
    response = dicomweb.client.retrieve_frames(*uids(file), [1], accept=f"{JP2}; transfer-syntax={JPEG_2000_LOSSLESS}")
    expect_status(response, 406, why="HEVC frames cannot be transcoded to JPEG 2000")
    response = dicomweb.client.retrieve_frames(*uids(file), [1], accept=MULTIPART_OCTETS_ANY)
    expect_status(response, 200, why="the frame is retrievable as stored")
    message = expect_multipart(response, why="frames are answered as multipart/related")
    expect_parts(response, message, OCTET_STREAM, [HEVC], why="the part names the stored syntax")
    stream = OPAQUE_STREAM
    expect(
        message.parts[0].body == stream,
        "the frame is the stored HEVC stream, unchanged",
        response=response,
        expected=f"{len(stream)} bytes as stored",
        received=f"{len(message.parts[0].body)} bytes",
    )
