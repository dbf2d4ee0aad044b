"""WADO-RS rendered resources: ``.../instances/{instance}/rendered`` and
``.../frames/{frame}/rendered`` (PS3.18 10.4.1.1.4; behaviours WADO-22..25, AMB-09).

One frame (the first for the instance resource) is decoded with pydicom, put through the
Modality LUT and the first VOI window when the file has them, scaled to 8 bits and encoded
by Pillow as JPEG (``quality`` 1..100, default 100) or PNG. Accept: none means JPEG; exactly
one of ``image/jpeg`` or ``image/png`` is allowed, anything else is 406 (AMB-09, implemented).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import anyio
import numpy as np
from numpy.typing import NDArray
from PIL import Image
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.pixels.processing import apply_modality_lut, apply_voi_lut
from pydicom.pixels.utils import pixel_array
from starlette.requests import Request
from starlette.responses import Response

from reference_server.errors import HttpError
from reference_server.negotiation import MediaTypeError, parse_media_type, split_outside_quotes
from reference_server.partitions import partition_of
from reference_server.paths import path_uid
from reference_server.records import StoredInstance
from reference_server.state import server_state

JPEG = "image/jpeg"
PNG = "image/png"
DEFAULT_QUALITY = 100


class RenderError(ValueError):
    """The frame cannot be rendered (406)."""


@dataclass(frozen=True, slots=True)
class RenderRequest:
    media_type: str
    quality: int
    frame: int


def rendered_media_type(accept: str | None) -> str:
    """WADO-22 / AMB-09: JPEG without Accept; exactly one of image/jpeg, image/png; else 406."""
    if accept is None:
        return JPEG
    ranges = [piece for piece in split_outside_quotes(accept, ",") if piece.strip()]
    if len(ranges) == 1:
        try:
            media = parse_media_type(ranges[0])
        except MediaTypeError:
            media = None
        if media is not None and media.essence in (JPEG, PNG):
            return media.essence
    raise HttpError(406, "Rendered images are available as exactly one of image/jpeg or image/png.")


def parse_quality(values: list[str]) -> int:
    """WADO-24: an integer from 1 to 100, given at most once; 100 when absent."""
    if not values:
        return DEFAULT_QUALITY
    if len(values) > 1 or not re.fullmatch(r"[0-9]{1,3}", values[0].strip()) or not 1 <= int(values[0]) <= 100:
        raise HttpError(400, "Image quality must be between 1 and 100 inclusive.")
    return int(values[0])


def parse_frame(text: str | None) -> int:
    """WADO-23: frames are numbered from 1."""
    if text is None:
        return 1
    # Past 18 digits a number is beyond any frame count (404 later); int() refuses thousands of digits.
    number = (int(text) if len(text.lstrip("0")) <= 18 else 10**18) if re.fullmatch(r"[0-9]+", text) else 0
    if number < 1:
        raise HttpError(400, f"The frame number '{text}' is invalid: frames are numbered from 1.")
    return number


def _to_8_bits(ds: Dataset, frame: NDArray[np.generic]) -> NDArray[np.uint8]:
    """Modality LUT, first VOI window, then a linear scale of the frame's range to 0..255."""
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    if int(ds.get("SamplesPerPixel", 1) or 1) > 1:
        values = frame.astype(np.float64)
        high = float(2 ** int(ds.get("BitsStored", 8)) - 1)
        return np.clip(values / high * 255.0, 0, 255).round().astype(np.uint8)
    values = np.asarray(apply_modality_lut(frame, ds), dtype=np.float64)
    if "WindowCenter" in ds and "WindowWidth" in ds:
        values = np.asarray(apply_voi_lut(values, ds, index=0), dtype=np.float64)
    low, high = float(values.min()), float(values.max())
    scaled = (values - low) / (high - low) * 255.0 if high > low else np.zeros_like(values)
    if photometric == "MONOCHROME1":
        scaled = 255.0 - scaled
    return scaled.round().astype(np.uint8)


def render(instance: StoredInstance, request: RenderRequest) -> bytes:
    """The picture of one frame, encoded as asked."""
    try:
        ds = dcmread(str(instance.path), stop_before_pixels=True)
        frame = pixel_array(str(instance.path), index=request.frame - 1)
        picture = Image.fromarray(_to_8_bits(ds, frame))
        out = io.BytesIO()
        if request.media_type == PNG:
            picture.save(out, "PNG")
        else:
            picture.save(out, "JPEG", quality=request.quality)
    except Exception as exc:  # WADO-25 (SRC): a rendering failure is 406
        raise RenderError(f"the frame could not be rendered: {exc}") from exc
    return out.getvalue()


async def retrieve_rendered(request: Request) -> Response:
    """``GET .../instances/{instance}[/frames/{frame}]/rendered``."""
    study = path_uid(request, "study")
    series = path_uid(request, "series")
    sop = path_uid(request, "instance")
    frame = parse_frame(request.path_params.get("frame"))
    quality = parse_quality(request.query_params.getlist("quality"))
    media_type = rendered_media_type(request.headers.get("accept"))
    state = server_state(request)
    partition = partition_of(request).key
    found = await anyio.to_thread.run_sync(lambda: state.index.instances(study, series, sop, partition=partition))
    if not found:
        raise HttpError(404, f"The instance {sop} of series {series} in study {study} was not found.")
    instance = found[0]
    if instance.pixel is None:
        raise HttpError(404, f"The instance {sop} has no pixel data to render.")
    if frame > instance.frame_count:
        raise HttpError(404, f"Frame {frame} does not exist; the instance has {instance.frame_count} frame(s).")
    if instance.file_size > state.config.transcode_max_bytes:
        # WADO-10: rendering is refused above the same limit as transcoding.
        raise HttpError(
            406, f"The instance is larger than {state.config.transcode_max_bytes} bytes and cannot be rendered."
        )
    try:
        picture = await anyio.to_thread.run_sync(render, instance, RenderRequest(media_type, quality, frame))
    except RenderError as exc:
        raise HttpError(406, f"The instance cannot be rendered: {exc}.") from exc
    return Response(picture, media_type=media_type)
