"""WADO-RS retrieval of studies, series and instances, and their metadata (PS3.18 10.4).

Retrieve: WADO-01..11 with AMB-07 (implemented: several instances need ``transfer-syntax=*``)
and AMB-25 (no Accept header: 406). Metadata: WADO-17..21 with ETag / If-None-Match.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import anyio
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from reference_server.bulk_update import versioned_etag, wants_original
from reference_server.errors import HttpError
from reference_server.multipart import closing, new_boundary, part_head
from reference_server.negotiation import (
    DICOM,
    DICOM_JSON,
    MULTIPART_RELATED,
    MediaType,
    accepts_dicom_json,
    parse_accept,
)
from reference_server.partitions import partition_of
from reference_server.paths import optional_path_uid, path_uid
from reference_server.records import StoredInstance
from reference_server.state import resource_root, server_state
from reference_server.transcode import (
    EXPLICIT_VR_LITTLE_ENDIAN,
    ORIGINAL,
    REQUESTABLE,
    TranscodeError,
    can_deliver,
    delivered_syntax,
    needs_transcoding,
    transcode,
)

CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Delivery:
    """How instances are sent: multipart or a single part, in which transfer syntax."""

    multipart: bool
    transfer_syntax: str


def interpret_accept(media: MediaType, single_instance: bool) -> Delivery | None:
    """One Accept media range as a delivery for study/series/instance retrieval (WADO-01, WADO-06)."""
    if media.essence == "*/*":
        return Delivery(multipart=True, transfer_syntax=ORIGINAL)  # AMB-08: multipart, as stored
    syntax = media.param("transfer-syntax") or EXPLICIT_VR_LITTLE_ENDIAN
    if syntax != ORIGINAL and syntax not in REQUESTABLE:
        return None
    if media.essence == MULTIPART_RELATED:
        part_type = (media.param("type") or DICOM).strip().lower()
        return Delivery(True, syntax) if part_type == DICOM else None
    if media.essence == DICOM and single_instance:
        return Delivery(False, syntax)
    return None


def _candidates(request: Request, single_instance: bool) -> list[Delivery]:
    header = request.headers.get("accept")
    if header is None:
        raise HttpError(406, 'The request has no Accept header; ask for multipart/related; type="application/dicom".')
    candidates = [d for m in parse_accept(header) if (d := interpret_accept(m, single_instance)) is not None]
    if not candidates:
        kinds = 'multipart/related; type="application/dicom"' + (" or application/dicom" if single_instance else "")
        raise HttpError(406, f"None of the accepted media types can be served here; use {kinds}.")
    return candidates


def choose_delivery(candidates: list[Delivery], instances: list[StoredInstance], transcode_max: int) -> Delivery:
    """The first acceptable delivery for these instances; 406 naming the reason otherwise."""
    reason = "The requested transfer syntax is not supported for the stored data."
    for delivery in candidates:
        syntax = delivery.transfer_syntax
        if syntax != ORIGINAL and len(instances) > 1:
            # WADO-03 / AMB-07: several instances are only sent as stored.
            reason = "Transcoding multiple instances is not supported; use transfer-syntax=*."
            continue
        if not all(can_deliver(i.transfer_syntax, syntax) for i in instances):
            reason = f"The stored instance cannot be transcoded to {syntax}; use transfer-syntax=*."
            continue
        if any(needs_transcoding(i.transfer_syntax, syntax) and i.file_size > transcode_max for i in instances):
            # GEN-13 / WADO-10
            reason = (
                f"The instance is larger than {transcode_max} bytes and cannot be transcoded; use transfer-syntax=*."
            )
            continue
        return delivery
    raise HttpError(406, reason)


def _open_binary(path: Path) -> BinaryIO:
    return open(path, "rb")


async def _file_chunks(instance: StoredInstance) -> AsyncIterator[bytes]:
    if instance.file_size <= CHUNK_BYTES:  # a small file: one thread hop
        yield (await anyio.to_thread.run_sync(_read_files, [instance.path]))[0]
        return
    fp = await anyio.to_thread.run_sync(_open_binary, instance.path)
    try:
        while chunk := await anyio.to_thread.run_sync(fp.read, CHUNK_BYTES):
            yield chunk
    finally:
        await anyio.to_thread.run_sync(fp.close)


async def _instance_body(instance: StoredInstance, transcoded: bytes | None) -> AsyncIterator[bytes]:
    if transcoded is not None:
        yield transcoded
    else:
        async for chunk in _file_chunks(instance):
            yield chunk


def instance_url(root: str, instance: StoredInstance) -> str:
    return f"{root}/studies/{instance.study_uid}/series/{instance.series_uid}/instances/{instance.sop_uid}"


def _read_files(paths: list[Path]) -> list[bytes]:
    contents = []
    for path in paths:
        with open(path, "rb") as fp:
            contents.append(fp.read())
    return contents


def _small_group(instances: list[StoredInstance], start: int) -> list[StoredInstance]:
    """The run of small instances from ``start`` that fits in CHUNK_BYTES (maybe empty)."""
    group: list[StoredInstance] = []
    size = 0
    for instance in instances[start:]:
        if size + instance.file_size > CHUNK_BYTES:
            break
        group.append(instance)
        size += instance.file_size
    return group


async def _multipart_body(
    instances: list[StoredInstance], syntax: str, boundary: str, root: str, transcoded: bytes | None
) -> AsyncIterator[bytes]:
    """The parts; small files are read several at a time (one thread hop and one write per
    CHUNK_BYTES rather than several per instance), large ones streamed chunk by chunk."""

    def head(position: int) -> bytes:
        instance = instances[position]
        delivered = delivered_syntax(instance.transfer_syntax, syntax)
        headers = [
            ("Content-Type", f"{DICOM}; transfer-syntax={delivered}"),
            ("Content-Location", instance_url(root, instance)),
        ]
        return part_head(boundary, headers, first=position == 0)

    position = 0
    while position < len(instances):
        group = [] if transcoded is not None else _small_group(instances, position)
        if not group:
            yield head(position)
            async for chunk in _instance_body(instances[position], transcoded):
                yield chunk
            position += 1
            continue
        contents = await anyio.to_thread.run_sync(_read_files, [instance.path for instance in group])
        pieces: list[bytes] = []
        for data in contents:
            pieces += [head(position), data]
            position += 1
        yield b"".join(pieces)
    yield closing(boundary)


async def retrieve(request: Request) -> Response:
    """``GET /vN/studies/{study}[/series/{series}[/instances/{instance}]]``."""
    study = path_uid(request, "study")
    series = optional_path_uid(request, "series")
    sop = optional_path_uid(request, "instance")
    candidates = _candidates(request, single_instance=sop is not None)
    state = server_state(request)
    partition = partition_of(request).key
    # WADO-26: the original (pre-bulk-update) version on request, else the latest.
    read = state.index.original_instances if wants_original(request) else state.index.instances
    instances = await anyio.to_thread.run_sync(lambda: read(study, series, sop, partition=partition))
    if not instances:
        raise HttpError(404, _not_found_message(study, series, sop))
    delivery = choose_delivery(candidates, instances, state.config.transcode_max_bytes)
    root = resource_root(request)
    syntax = delivery.transfer_syntax
    first = instances[0]
    transcoded: bytes | None = None
    if needs_transcoding(first.transfer_syntax, syntax):
        # Only ever one instance here (AMB-07), transcoded before the answer starts so that a
        # failure is still a clean 406.
        try:
            transcoded = await anyio.to_thread.run_sync(transcode, first.path, syntax)
        except TranscodeError as exc:
            raise HttpError(406, f"{exc}; use transfer-syntax=*.") from exc
    if delivery.multipart:
        boundary = new_boundary()
        media_type = f'{MULTIPART_RELATED}; type="{DICOM}"; boundary={boundary}'
        body = _multipart_body(instances, syntax, boundary, root, transcoded)
        return StreamingResponse(body, media_type=media_type)
    delivered = delivered_syntax(first.transfer_syntax, syntax)
    size = len(transcoded) if transcoded is not None else first.file_size
    headers = {"Content-Length": str(size), "Content-Location": instance_url(root, first)}
    return StreamingResponse(
        _instance_body(first, transcoded), media_type=f"{DICOM}; transfer-syntax={delivered}", headers=headers
    )


def _not_found_message(study: str, series: str | None, sop: str | None) -> str:
    if sop is not None:
        return f"The instance {sop} of series {series} in study {study} was not found."
    if series is not None:
        return f"The series {series} of study {study} was not found."
    return f"The study {study} was not found."


def _etag_matches(header: str | None, etag: str) -> bool:
    """RFC 9110 13.1.2: weak comparison over a list of entity tags, or ``*``."""
    if header is None:
        return False
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*":
            return True
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate.strip('"') == etag:
            return True
    return False


async def retrieve_metadata(request: Request) -> Response:
    """``GET .../metadata`` at study, series or instance level (WADO-17..21)."""
    study = path_uid(request, "study")
    series = optional_path_uid(request, "series")
    sop = optional_path_uid(request, "instance")
    if not accepts_dicom_json(request.headers.get("accept")):
        raise HttpError(406, empty_body=True)
    state = server_state(request)
    partition = partition_of(request).key
    read = state.index.original_metadata if wants_original(request) else state.index.metadata  # WADO-26
    objects, etag = await anyio.to_thread.run_sync(lambda: read(study, series, sop, partition=partition))
    if not objects:
        raise HttpError(404, _not_found_message(study, series, sop))
    etag = versioned_etag(etag, objects)  # a bulk update changes the metadata, not the instance keys
    headers = {"ETag": f'"{etag}"'}
    if _etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    body = ("[" + ",".join(objects) + "]").encode("utf-8")
    return Response(body, media_type=DICOM_JSON, headers=headers)
