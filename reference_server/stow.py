"""STOW-RS: ``POST /vN/studies[/{study}]`` (PS3.18 10.5; STOW-01..27).

Checks in order, each before any part is read: the study UID in the path (400, STOW-05),
the Accept header (406, GEN-06), the Content-Type (415 / 400, STOW-01..03). The body is then
streamed to spill files; every part is validated and stored on its own (ingest.py) and the
answer is a DICOM JSON dataset built with pydicom (STOW-16..18).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import anyio
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from reference_server.dicom_json import dataset_json, element
from reference_server.errors import HttpError
from reference_server.ingest import IngestContext, Outcome, ingest_batch
from reference_server.multipart import MultipartError, MultipartParser, drain, spill_body
from reference_server.negotiation import (
    DICOM,
    DICOM_JSON,
    MULTIPART_RELATED,
    MediaTypeError,
    accepts_dicom_json,
    parse_media_type,
)
from reference_server.partitions import partition_of
from reference_server.paths import optional_path_uid
from reference_server.state import api_version, resource_root, server_state
from reference_server.validation import strip_uid
from reference_server.versions import ApiVersion

MAX_BOUNDARY_LENGTH = 70  # RFC 2046 5.1.1
# A refused body is read to its end (up to this much) before answering; see multipart.drain.
DRAIN_LIMIT = 4 * 1024**3
# Parts validated and stored per worker-thread call (and per group of fsyncs).
INGEST_BATCH_PARTS = 128

RETRIEVE_URL = 0x00081190
FAILED_SOP_SEQUENCE = 0x00081198
REFERENCED_SOP_SEQUENCE = 0x00081199
REFERENCED_SOP_CLASS_UID = 0x00081150
REFERENCED_SOP_INSTANCE_UID = 0x00081155
FAILURE_REASON = 0x00081197
WARNING_REASON = 0x00081196
FAILED_ATTRIBUTES_SEQUENCE = 0x00741048
ERROR_COMMENT = 0x00000902

DISCONNECTED = "The client disconnected before the request body was complete; nothing was stored."
MULTIPLE_VALUES_WARNING = "One or more indexed Dicom tag(s) have multiple values, only first value is indexed."


@dataclass(frozen=True, slots=True)
class RequestShape:
    """What the Content-Type says about the body."""

    multipart: bool
    boundary: str = ""
    type_given: bool = False


def classify_content_type(header: str | None) -> RequestShape:
    """STOW-01..03: accepted request media types; 415 or 400 otherwise."""
    if header is None or not header.strip():
        raise HttpError(415, 'The request has no Content-Type; use multipart/related; type="application/dicom".')
    # Single part: the whole header must be exactly application/dicom (parameters are refused).
    if header.strip().lower() == DICOM:
        return RequestShape(multipart=False)
    try:
        media = parse_media_type(header)
    except MediaTypeError as exc:
        raise HttpError(415, f"The Content-Type is not a valid media type: {exc}.") from exc
    if media.essence != MULTIPART_RELATED:
        raise HttpError(
            415,
            f"The Content-Type '{media.essence}' is not supported; use multipart/related; "
            'type="application/dicom" or application/dicom.',
        )
    boundary = media.param("boundary")
    if not boundary:
        raise HttpError(415, "The multipart/related Content-Type has no boundary parameter.")
    if not (1 <= len(boundary) <= MAX_BOUNDARY_LENGTH) or not all(" " <= c <= "~" for c in boundary):
        raise HttpError(400, "The multipart boundary must be 1 to 70 printable ASCII characters (RFC 2046 5.1.1).")
    if media.has_param("start"):
        raise HttpError(400, "The 'start' parameter of multipart/related is not supported.")
    part_type = media.param("type")
    if part_type is not None and part_type.strip().lower() != DICOM:
        raise HttpError(415, f"The multipart/related type '{part_type}' is not supported; only application/dicom.")
    return RequestShape(multipart=True, boundary=boundary, type_given=part_type is not None)


def check_part_headers(type_given: bool, index: int, headers: dict[str, str]) -> None:
    """STOW-03: each part is exactly ``application/dicom``; only a first part may omit it."""
    content_type = headers.get("content-type")
    if content_type is None:
        if index == 0 and type_given:
            return
        raise HttpError(415, f"Part {index + 1} has no Content-Type; every part must be application/dicom.")
    if content_type.strip().lower() != DICOM:
        raise HttpError(
            415, f"Part {index + 1} has Content-Type '{content_type}'; only 'application/dicom' is supported."
        )


async def _receive_parts(request: Request, shape: RequestShape) -> list[Path]:
    """Stream the body to spill files; refusals drain the rest of the body first."""
    state = server_state(request)
    config = state.config
    stream: AsyncIterator[bytes] = request.stream()
    if not shape.multipart:
        try:
            path, _ = await spill_body(stream, state.storage.new_spill_file, max_bytes=config.max_part_bytes)
        except MultipartError as exc:
            await drain(stream, DRAIN_LIMIT)
            raise HttpError(exc.status, str(exc)) from exc
        except ClientDisconnect as exc:
            raise HttpError(400, DISCONNECTED) from exc
        return [path]
    parser = MultipartParser(
        shape.boundary,
        new_file=state.storage.new_spill_file,
        max_part_bytes=config.max_part_bytes,
        max_header_bytes=config.max_header_bytes,
        max_parts=config.max_parts,
        check_headers=partial(check_part_headers, shape.type_given),
    )
    try:
        async for chunk in stream:
            await parser.feed(chunk)
        parts = await parser.finish()
    except MultipartError as exc:
        await parser.cleanup()
        await drain(stream, DRAIN_LIMIT)
        raise HttpError(exc.status, f"Malformed multipart request: {exc}." if exc.status == 400 else str(exc)) from exc
    except HttpError:
        await parser.cleanup()
        await drain(stream, DRAIN_LIMIT)
        raise
    except ClientDisconnect as exc:
        await parser.cleanup()
        raise HttpError(400, DISCONNECTED) from exc
    except BaseException:
        await parser.cleanup()
        raise
    return [part.path for part in parts]


async def store_instances(request: Request) -> Response:
    """``POST /vN/studies`` and ``POST /vN/studies/{study}``."""
    version = api_version(request)
    try:
        path_study = optional_path_uid(request, "study")  # STOW-05: before anything else
        if not accepts_dicom_json(request.headers.get("accept")):
            raise HttpError(406, empty_body=True)
        shape = classify_content_type(request.headers.get("content-type"))
    except HttpError:
        await drain(request.stream(), DRAIN_LIMIT)
        raise
    paths = await _receive_parts(request, shape)
    if not paths:
        return Response(status_code=204)  # STOW-11: no content
    state = server_state(request)
    context = IngestContext(version, path_study, state.storage, state.index, partition_of(request).key)
    outcomes: list[Outcome] = []
    try:
        # Batches: one thread hop and one group of fsyncs each, with bounded memory per batch;
        # each batch removes its own spill files.
        for start in range(0, len(paths), INGEST_BATCH_PARTS):
            outcomes += await anyio.to_thread.run_sync(ingest_batch, paths[start : start + INGEST_BATCH_PARTS], context)
    except BaseException:
        await anyio.to_thread.run_sync(_remove_spill_files, paths)
        raise
    return _response(request, version, path_study, outcomes)


def _remove_spill_files(paths: list[Path]) -> None:
    """The spill files of a request that ended before its batches were all processed."""
    for path in paths:
        path.unlink(missing_ok=True)


def _status(version: ApiVersion, outcomes: list[Outcome]) -> int:
    """STOW-09..12."""
    stored = [o for o in outcomes if o.stored]
    if not stored:
        return 409
    if len(stored) < len(outcomes):
        return 202
    if version.is_v2_or_later and any(o.warning is not None for o in stored):
        return 202
    return 200


def _comment_items(comments: list[str]) -> Sequence:
    items = []
    for comment in comments:
        item = Dataset()
        item.add(element(ERROR_COMMENT, "LO", comment))
        items.append(item)
    return Sequence(items)


def _failed_item(outcome: Outcome) -> Dataset:
    item = Dataset()
    if outcome.sop_class_uid:
        item.add(element(REFERENCED_SOP_CLASS_UID, "UI", outcome.sop_class_uid))
    if outcome.sop_instance_uid:
        item.add(element(REFERENCED_SOP_INSTANCE_UID, "UI", outcome.sop_instance_uid))
    item.add(element(FAILURE_REASON, "US", outcome.failure))
    if outcome.comments:
        item.add(element(FAILED_ATTRIBUTES_SEQUENCE, "SQ", _comment_items(outcome.comments)))
    return item


def _referenced_item(outcome: Outcome, version: ApiVersion, root: str) -> Dataset:
    study, series, sop = (strip_uid(u or "") for u in (outcome.study_uid, outcome.series_uid, outcome.sop_instance_uid))
    item = Dataset()
    item.add(element(REFERENCED_SOP_CLASS_UID, "UI", outcome.sop_class_uid))
    item.add(element(REFERENCED_SOP_INSTANCE_UID, "UI", outcome.sop_instance_uid))
    item.add(element(RETRIEVE_URL, "UR", f"{root}/studies/{study}/series/{series}/instances/{sop}"))
    if outcome.warning is not None:
        item.add(element(WARNING_REASON, "US", outcome.warning))
    if version.is_v2_or_later:
        # STOW-18: in v2 every referenced item carries the sequence, empty without warnings.
        item.add(element(FAILED_ATTRIBUTES_SEQUENCE, "SQ", _comment_items(outcome.comments)))
    return item


def _response(request: Request, version: ApiVersion, path_study: str | None, outcomes: list[Outcome]) -> Response:
    root = resource_root(request)
    body = Dataset()
    stored = [o for o in outcomes if o.stored]
    failed = [o for o in outcomes if not o.stored]
    if path_study is not None and stored:
        body.add(element(RETRIEVE_URL, "UR", f"{root}/studies/{path_study}"))
    if failed:
        body.add(element(FAILED_SOP_SEQUENCE, "SQ", Sequence([_failed_item(o) for o in failed])))
    if stored:
        items = [_referenced_item(o, version, root) for o in stored]
        body.add(element(REFERENCED_SOP_SEQUENCE, "SQ", Sequence(items)))
    headers: dict[str, str] = {}
    if any(o.multiple_values for o in stored):
        host = request.headers.get("host") or request.url.netloc
        headers["Warning"] = f'299 {host}: "{MULTIPLE_VALUES_WARNING}"'  # GEN-10, STOW-22
    content = json.dumps(dataset_json(body), ensure_ascii=False).encode("utf-8")
    return Response(content, status_code=_status(version, outcomes), headers=headers, media_type=DICOM_JSON)
