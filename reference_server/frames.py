"""WADO-RS frame retrieval: ``GET .../instances/{instance}/frames/{list}`` (WADO-13..16).

Frames are read straight from the stored file at the Pixel Data offset found at store time.
Native (uncompressed) frames can be delivered as Explicit VR Little Endian or as stored;
encapsulated frames only as stored (``transfer-syntax=*``), or as JPEG 2000 when stored so.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from reference_server.errors import HttpError
from reference_server.multipart import closing, new_boundary, part_head
from reference_server.negotiation import JP2, MULTIPART_RELATED, OCTET_STREAM, MediaType, parse_accept
from reference_server.partitions import partition_of
from reference_server.paths import path_uid
from reference_server.records import StoredInstance
from reference_server.state import resource_root, server_state
from reference_server.transcode import (
    EXPLICIT_VR_LITTLE_ENDIAN,
    JPEG_2000,
    ORIGINAL,
    TranscodeError,
    delivered_syntax,
    frame_syntax_ok,
    needs_transcoding,
    read_frames,
)
from reference_server.wado import instance_url


@dataclass(frozen=True, slots=True)
class FrameDelivery:
    multipart: bool
    media_type: str
    transfer_syntax: str


def parse_frame_list(text: str) -> list[int]:
    """WADO-14: comma-separated 1-based frame numbers; anything else is a 400."""
    numbers: list[int] = []
    for piece in text.split(","):
        piece = piece.strip()
        # Past 18 digits a number is beyond any frame count (404 later); int() refuses thousands of digits.
        number = (int(piece) if len(piece.lstrip("0")) <= 18 else 10**18) if re.fullmatch(r"[0-9]+", piece) else 0
        if number < 1:
            raise HttpError(
                400, f"The frame list '{text}' is invalid: frames are positive integers (1-based), comma-separated."
            )
        numbers.append(number)
    return numbers


def interpret_frames_accept(media: MediaType) -> FrameDelivery | None:
    """One Accept media range as a frame delivery (WADO-13)."""
    if media.essence == "*/*":
        return FrameDelivery(True, OCTET_STREAM, ORIGINAL)
    if media.essence == MULTIPART_RELATED:
        part_type = (media.param("type") or OCTET_STREAM).strip().lower()
        if part_type == OCTET_STREAM:
            syntax = media.param("transfer-syntax") or EXPLICIT_VR_LITTLE_ENDIAN
            return (
                FrameDelivery(True, OCTET_STREAM, syntax) if syntax in (ORIGINAL, EXPLICIT_VR_LITTLE_ENDIAN) else None
            )
        if part_type == JP2:
            syntax = media.param("transfer-syntax") or JPEG_2000
            return FrameDelivery(True, JP2, syntax) if syntax == JPEG_2000 else None
        return None
    if media.essence == OCTET_STREAM:
        syntax = media.param("transfer-syntax") or EXPLICIT_VR_LITTLE_ENDIAN
        return FrameDelivery(False, OCTET_STREAM, syntax) if syntax in (ORIGINAL, EXPLICIT_VR_LITTLE_ENDIAN) else None
    return None


def _candidates(request: Request) -> list[FrameDelivery]:
    header = request.headers.get("accept")
    if header is None:
        raise HttpError(
            406, 'The request has no Accept header; ask for multipart/related; type="application/octet-stream".'
        )
    candidates = [d for m in parse_accept(header) if (d := interpret_frames_accept(m)) is not None]
    if not candidates:
        raise HttpError(
            406,
            "None of the accepted media types can be served for frames; "
            'use multipart/related; type="application/octet-stream".',
        )
    return candidates


async def _multipart(
    instance: StoredInstance,
    ready: list[bytes],
    numbers: list[int],
    delivery: FrameDelivery,
    url: str,
    boundary: str,
) -> AsyncIterator[bytes]:
    """One part per frame; frames not ``ready`` are read one at a time as the answer goes out."""
    syntax = delivered_syntax(instance.transfer_syntax, delivery.transfer_syntax)
    for position, number in enumerate(numbers):
        headers = [
            ("Content-Type", f"{delivery.media_type}; transfer-syntax={syntax}"),
            ("Content-Location", f"{url}/frames/{number}"),
        ]
        yield part_head(boundary, headers, first=position == 0)
        if position < len(ready):
            yield ready[position]
        else:
            (frame,) = await anyio.to_thread.run_sync(read_frames, instance, [number], delivery.transfer_syntax)
            yield frame
    yield closing(boundary)


def _answer(
    instance: StoredInstance, ready: list[bytes], numbers: list[int], delivery: FrameDelivery, request: Request
) -> Response:
    """A single part for one frame asked for as application/octet-stream, else multipart."""
    if not delivery.multipart:
        return Response(ready[0], media_type=OCTET_STREAM)
    boundary = new_boundary()
    url = instance_url(resource_root(request), instance)
    media_type = f'{MULTIPART_RELATED}; type="{delivery.media_type}"; boundary={boundary}'
    return StreamingResponse(_multipart(instance, ready, numbers, delivery, url, boundary), media_type=media_type)


def choose_frame_delivery(
    candidates: list[FrameDelivery], instance: StoredInstance, count: int, transcode_max: int
) -> FrameDelivery:
    """The first acceptable delivery (WADO-10, WADO-13, WADO-14, WADO-16); 400 or 406 naming the
    reason otherwise."""
    status = 406
    reason = "The frames cannot be delivered in any of the accepted transfer syntaxes; use transfer-syntax=*."
    for delivery in candidates:
        if not delivery.multipart and count > 1:
            status = 400
            reason = (
                "Single part application/octet-stream is only supported for a single frame; "
                'use multipart/related; type="application/octet-stream".'
            )
            continue
        if not frame_syntax_ok(instance.transfer_syntax, delivery.transfer_syntax):
            continue
        if needs_transcoding(instance.transfer_syntax, delivery.transfer_syntax) and instance.file_size > transcode_max:
            reason = (
                f"The instance is larger than {transcode_max} bytes and cannot be transcoded; use transfer-syntax=*."
            )
            continue
        return delivery
    raise HttpError(status, reason)


async def retrieve_frames(request: Request) -> Response:
    """``GET .../instances/{instance}/frames/{frames}``."""
    study = path_uid(request, "study")
    series = path_uid(request, "series")
    sop = path_uid(request, "instance")
    numbers = parse_frame_list(str(request.path_params["frames"]))
    candidates = _candidates(request)
    state = server_state(request)
    partition = partition_of(request).key
    found = await anyio.to_thread.run_sync(lambda: state.index.instances(study, series, sop, partition=partition))
    if not found:
        raise HttpError(404, f"The instance {sop} of series {series} in study {study} was not found.")
    instance = found[0]
    if instance.pixel is None:
        raise HttpError(404, f"The instance {sop} has no pixel data.")
    beyond = [n for n in numbers if n > instance.frame_count]
    if beyond:
        raise HttpError(404, f"Frame {beyond[0]} does not exist; the instance has {instance.frame_count} frame(s).")
    delivery = choose_frame_delivery(candidates, instance, len(numbers), state.config.transcode_max_bytes)
    if needs_transcoding(instance.transfer_syntax, delivery.transfer_syntax):
        # Every frame is transcoded before answering, so a failure is still a clean 406.
        try:
            frames = await anyio.to_thread.run_sync(read_frames, instance, numbers, delivery.transfer_syntax)
        except TranscodeError as exc:
            raise HttpError(406, f"The frames could not be transcoded: {exc}; use transfer-syntax=*.") from exc
        return _answer(instance, frames, numbers, delivery, request)
    try:
        # The first frame is read before answering, so an unreadable file is still a clean 404.
        (first,) = await anyio.to_thread.run_sync(read_frames, instance, numbers[:1], delivery.transfer_syntax)
    except TranscodeError as exc:
        raise HttpError(404, f"The frames could not be read: {exc}.") from exc
    return _answer(instance, [first], numbers, delivery, request)
