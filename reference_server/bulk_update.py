"""Bulk update (BULK-01..14, DBU) on the operations worker, and ``GET {v}/operations/{id}`` (OP-01..03).

``POST /v2[/partitions/{p}]/studies/$bulkUpdate`` takes ``{"studyInstanceUids": [...],
"changeDataset": {DICOM JSON}}`` (BULK-02), validates it (BULK-04: at most 50 studies, valid
UIDs, only the 36 updatable attributes with values valid for their VR; a refused attribute is
answered as a DICOM JSON FailedAttributesSequence, as the service does), and answers 202 with
``{id, href}`` (BULK-03). One update operation at a time: a second one while the first is
``notStarted``/``running`` is refused with 409 (BULK-05, AMB-17 implemented). v1 has no such
route: 404 (BULK-01, VER-11).

The operation rewrites every instance of each study with pydicom: the new values, (0002,0012)
``1.3.6.1.4.1.311.129`` and (0002,0013) set, pixel data untouched (BULK-08). All new files of a
study are written first, then one index transaction makes them the latest versions and records
the change-feed ``update`` entries (BULK-10): a study is either fully old or fully new, even when
the process is killed. The file stored first stays as the original (BULK-14), retrievable with
``msdicom-request-original: true`` on v2 (WADO-26); a later update replaces only the latest.
Updating an attribute that has a value to an empty one fails that study (BULK-05 "non-null to
null"); the operation then fails with the study counted in ``studyFailed`` (BULK-13).
"""

from __future__ import annotations

import json
import logging
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pydicom
from pydicom.datadict import dictionary_VR
from pydicom.dataset import Dataset
from pydicom.uid import UID
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from reference_server.bodies import read_body
from reference_server.dicom_json import element, metadata_json
from reference_server.dicomfile import read_part
from reference_server.errors import HttpError
from reference_server.index import UpdatedInstance
from reference_server.multipart import drain
from reference_server.operations import OperationContext, OperationStatus, OperationType
from reference_server.partitions import partition_of, partitioned
from reference_server.records import NewInstance, PixelInfo
from reference_server.state import ServerState, api_version, base_url, server_state
from reference_server.validation import check_text, is_valid_uid, split_values
from reference_server.versions import ApiVersion

logger = logging.getLogger("reference_server")

MAX_STUDIES = 50
MAX_BODY_BYTES = 1024 * 1024
ORIGINAL_HEADER = "msdicom-request-original"
IMPLEMENTATION_CLASS_UID = "1.3.6.1.4.1.311.129"  # BULK-08: the Microsoft OID arc, as the service writes
IMPLEMENTATION_VERSION_NAME = "DWC_REF_1"  # SH, at most 16 characters
FAILED_ATTRIBUTES_SEQUENCE = "00741048"
ERROR_COMMENT = "00000902"
TAG_KEY = re.compile(r"[0-9A-Fa-f]{8}")

# BULK-06 (DBU and SRC agree): Patient Identification, Patient Demographic and three General Study attributes.
UPDATABLE: frozenset[int] = frozenset(
    {
        0x00100010, 0x00100020, 0x00101000, 0x00100022, 0x00101001, 0x00101005, 0x00101060, 0x00101090,
        0x00100021, 0x00101010, 0x00102180, 0x00403001, 0x00100030, 0x00100032, 0x00100040, 0x00100200,
        0x00101020, 0x00101030, 0x00101040, 0x00101080, 0x00101081, 0x00102150, 0x00102152, 0x00102154,
        0x00102160, 0x001021F0, 0x00104000, 0x00102297, 0x00102298, 0x00102299, 0x00102201, 0x00102292,
        0x00102295, 0x00080090, 0x00080050, 0x00081030,
    }
)  # fmt: skip


def tag_text(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def wants_original(request: Request) -> bool:
    """WADO-26: ``msdicom-request-original: true`` (case-insensitive) on v2; v1 has no versions (VER-11)."""
    value = request.headers.get(ORIGINAL_HEADER, "")
    return value.strip().lower() == "true" and api_version(request) is not ApiVersion.V1


def versioned_etag(etag: str, objects: list[str]) -> str:
    """WADO-19 after BULK-07: the metadata ETag also follows the content, since an update rewrites
    instances without changing the keys the index's tag is made of."""
    checksum = zlib.crc32("".join(objects).encode("utf-8"))
    return f"{etag}-{checksum:08x}"


# -- the request -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    """One attribute of the change dataset: its VR and the text to write (None: empty)."""

    tag: int
    vr: str
    text: str | None


def _member(body: dict[str, Any], name: str) -> Any:
    """A member of the request, whatever the case of its name (the service binds case-insensitively)."""
    return next((v for k, v in body.items() if k.lower() == name.lower()), None)


def _value_text(tag: int, vr: str, element_json: Any) -> tuple[str | None, str | None]:
    """(text, problem) of one DICOM JSON element of the change dataset."""
    if not isinstance(element_json, dict):
        return None, f"{tag_text(tag)} is not a DICOM JSON element object"
    if "InlineBinary" in element_json or "BulkDataURI" in element_json:
        return None, f"{tag_text(tag)} - binary values cannot be updated"
    values = element_json.get("Value")
    if values is None or values == []:
        return None, None
    if not isinstance(values, list):
        return None, f"{tag_text(tag)} - Value must be an array"
    parts: list[str] = []
    for value in values:
        if vr == "PN":
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                return None, f"{tag_text(tag)} - a PN value is an object of Alphabetic/Ideographic/Phonetic strings"
            groups = [value.get(g, "") for g in ("Alphabetic", "Ideographic", "Phonetic")]
            parts.append("=".join(groups).rstrip("="))
        elif isinstance(value, bool) or not isinstance(value, str | int | float):
            return None, f"{tag_text(tag)} - a {vr} value must be a string"
        else:
            parts.append(str(value))
    text = "\\".join(parts)
    problem = check_text(vr, text)
    return (None, f"{tag_text(tag)} - {problem}") if problem else (text, None)


def parse_changes(change_dataset: dict[str, Any]) -> tuple[list[Change], list[str]]:
    """The changes, and the ErrorComments of the attributes refused (BULK-04, BULK-06)."""
    changes: list[Change] = []
    refused: list[str] = []
    for key, element_json in change_dataset.items():
        if not TAG_KEY.fullmatch(key):
            refused.append(f"DICOM100: {key} - not a DICOM JSON attribute tag")
            continue
        tag = int(key, 16)
        vr = element_json.get("vr") if isinstance(element_json, dict) else None
        if tag not in UPDATABLE or vr == "SQ":  # sequences are never updatable
            refused.append(f"DICOM100: {tag_text(tag)} - Updating the tag is not supported")
            continue
        expected_vr = dictionary_VR(tag)
        if vr is not None and vr != expected_vr:
            refused.append(f"DICOM100: {tag_text(tag)} - the VR {vr} is not the tag's VR {expected_vr}")
            continue
        text, problem = _value_text(tag, expected_vr, element_json)
        if problem is not None:
            refused.append(f"DICOM100: {problem}")
            continue
        changes.append(Change(tag, expected_vr, text))
    return changes, refused


def _refused_attributes(comments: list[str]) -> Response:
    """The service's 400 for refused attributes: a dataset with FailedAttributesSequence (BULK-04)."""
    items = [{ERROR_COMMENT: {"vr": "LO", "Value": [c]}} for c in comments]
    body = {FAILED_ATTRIBUTES_SEQUENCE: {"vr": "SQ", "Value": items}}
    return Response(json.dumps(body), status_code=400, media_type="application/dicom+json")


def _studies(body: dict[str, Any]) -> list[str]:
    studies = _member(body, "studyInstanceUids")
    if not isinstance(studies, list) or not studies:
        raise HttpError(400, "The required field 'StudyInstanceUids' is missing or empty.")
    if len(studies) > MAX_STUDIES:
        raise HttpError(400, f"StudyInstanceUids count exceeded maximum length '{MAX_STUDIES}'.")
    for uid in studies:
        if not isinstance(uid, str) or not is_valid_uid(uid):
            raise HttpError(400, f"The StudyInstanceUid {json.dumps(uid)} is not a valid DICOM UID.")
    return list(dict.fromkeys(studies))


async def start_update(request: Request) -> Response:
    """``POST .../studies/$bulkUpdate`` behind the partition check (BULK-01..05)."""
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        await drain(request.stream(), 4 * 1024**3)
        raise HttpError(415, f"Content-Type {content_type!r} is not supported; send application/json.")
    try:
        body = json.loads(
            await read_body(request, MAX_BODY_BYTES, what="The bulk update request", drain_limit=4 * 1024**3)
        )
    except (ValueError, UnicodeDecodeError) as exc:
        raise HttpError(400, f"The request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise HttpError(400, "The request body must be a JSON object with studyInstanceUids and changeDataset.")
    studies = _studies(body)
    change_dataset = _member(body, "changeDataset")
    if not isinstance(change_dataset, dict) or not change_dataset:
        raise HttpError(400, "The required field 'ChangeDataset' is missing or empty.")
    changes, refused = parse_changes(change_dataset)
    if refused:
        return _refused_attributes(refused)
    state = server_state(request)
    partition = partition_of(request)
    payload = {
        "partitionKey": partition.key,
        "studies": studies,
        "changes": [[c.tag, c.vr, c.text] for c in changes],
    }
    operations = state.operations
    operation_id = await anyio.to_thread.run_sync(
        lambda: operations.submit(OperationType.UPDATE, payload, exclusive=True)
    )
    if operation_id is None:  # BULK-05, AMB-17 implemented: 409 with the active operation's id
        active = await anyio.to_thread.run_sync(operations.active, OperationType.UPDATE)
        raise HttpError(409, f"There is already an active update operation with ID '{active or 'unknown'}'.")
    href = f"{base_url(request)}/{api_version(request).value}/operations/{operation_id}"
    return JSONResponse({"id": operation_id, "href": href}, status_code=202)  # BULK-03: no Location


_partitioned_update = partitioned(start_update)


async def bulk_update(request: Request) -> Response:
    """BULK-01 / VER-11: the route exists from v2 on; v1 answers 404 before any other check."""
    if api_version(request) is ApiVersion.V1:
        await drain(request.stream(), 4 * 1024**3)
        raise HttpError(404, "$bulkUpdate exists from API v2 on; this request used v1.")
    return await _partitioned_update(request)


# -- the operations endpoint -------------------------------------------------------------------


async def get_operation(request: Request) -> Response:
    """``GET {v}/operations/{id}`` (OP-01): 200 finished, 202 (with Location) not yet, 404 unknown.

    v1 reports a succeeded operation as ``completed`` (OP-03, VER-12, AMB-18 implemented)."""
    operation_id = str(request.path_params["operation"]).lower()
    state = server_state(request)
    body = await anyio.to_thread.run_sync(state.operations.get, operation_id)
    if body is None:
        raise HttpError(404, f"The operation '{request.path_params['operation']}' was not found.")
    status = OperationStatus(body["status"])
    if api_version(request) is ApiVersion.V1 and status is OperationStatus.SUCCEEDED:
        body["status"] = "completed"
    if status.is_finished:
        return JSONResponse(body)
    return JSONResponse(body, status_code=202, headers={"Location": str(request.url)})


def bulk_update_routes() -> list[BaseRoute]:
    """Ahead of the data routes: ``/studies/$bulkUpdate`` would otherwise reach STOW as a study UID."""
    version = "/{version:apiversion}"
    return [
        Route(version + "/studies/$bulkUpdate", bulk_update, methods=["POST"]),
        Route(version + "/partitions/{partition}/studies/$bulkUpdate", bulk_update, methods=["POST"]),
        Route(version + "/operations/{operation}", get_operation, methods=["GET"]),  # never partitioned
    ]


# -- the operation -----------------------------------------------------------------------------


class StudyUpdateError(Exception):
    """One instance of a study could not be rewritten; the study stays as it was."""

    def __init__(self, message: str, instance: str | None = None) -> None:
        super().__init__(message)
        self.instance = instance


def _rewrite(source: Path, target: Path, changes: list[Change]) -> Dataset:
    """Write ``source`` with the changes to ``target``; the new dataset (BULK-08)."""
    dataset = pydicom.dcmread(str(source), defer_size="1 MB")
    _ensure_character_set(dataset, changes)
    for change in changes:
        if change.text is None:
            current = dataset.get(change.tag)
            if current is not None and current.value not in (None, "", b""):
                raise StudyUpdateError(
                    f"Updating {tag_text(change.tag)} from a non-null value to null is not supported."
                )
            continue
        value: Any = split_values(change.vr, change.text)
        dataset[change.tag] = element(change.tag, change.vr, value[0] if len(value) == 1 else value)
    dataset.file_meta.ImplementationClassUID = UID(IMPLEMENTATION_CLASS_UID)
    dataset.file_meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
    dataset.save_as(str(target), enforce_file_format=False)
    return dataset


def _ensure_character_set(dataset: Dataset, changes: list[Change]) -> None:
    """Non-ASCII new values need a character set that holds them: a file in the default repertoire
    (ASCII) becomes UTF-8 (ISO_IR 192, a superset); any other character set refuses them."""
    if all(change.text is None or change.text.isascii() for change in changes):
        return
    declared = dataset.get("SpecificCharacterSet")
    value = declared.value if declared is not None else None
    terms = [value] if isinstance(value, str) else list(value or [])
    terms = [str(term).strip() for term in terms]
    if all(term in ("", "ISO_IR 6") for term in terms):
        dataset.SpecificCharacterSet = "ISO_IR 192"
    elif "ISO_IR 192" not in terms:
        listed = "\\".join(terms)
        raise StudyUpdateError(f"The new values cannot be written in the study's character set {listed}.")


def _new_version(row: Any, spill: Path, changes: list[Change]) -> NewInstance:
    part = read_part(spill)
    updated = {c.tag for c in changes}
    dropped = frozenset(int(k, 16) for k in json.loads(row["dropped"])) - updated
    pixel = None
    if part.pixel is not None:
        stored = json.loads(row["pixel"]) if row["pixel"] else None
        base = PixelInfo.from_json(stored) if stored else None
        pixel = PixelInfo(
            offset=part.pixel.offset,
            length=part.pixel.length,
            rows=base.rows if base else 0,
            columns=base.columns if base else 0,
            samples_per_pixel=base.samples_per_pixel if base else 1,
            bits_allocated=base.bits_allocated if base else 8,
            number_of_frames=base.number_of_frames if base else 1,
        )
    return NewInstance(
        study_uid=row["study_uid"],
        series_uid=row["series_uid"],
        sop_uid=row["sop_uid"],
        sop_class_uid=str(row["sop_class_uid"]),
        transfer_syntax=part.transfer_syntax,
        file_size=part.size,
        pixel=pixel,
        metadata=metadata_json(part.dataset, dropped),
        dropped=tuple(sorted(dropped)),
    )


def _update_study(state: ServerState, study: str, partition: int, changes: list[Change]) -> int:
    """Rewrite every instance of ``study``, then switch them all at once; the instances updated."""
    rows = state.index.update_sources(study, partition=partition)
    if not rows:
        return 0  # BULK-09: an unknown study is processed, not failed
    placed: list[str] = []
    spills: list[Path] = []
    folder = state.storage.new_folder(partition)
    try:
        updated: list[UpdatedInstance] = []
        for row in rows:
            handle, spill = state.storage.new_spill_file()
            handle.close()
            spills.append(spill)
            try:
                _rewrite(state.storage.data_dir / row["file_path"], spill, changes)
                new = _new_version(row, spill, changes)
            except StudyUpdateError as exc:
                exc.instance = _instance_uids(partition, row)
                raise
            except Exception as exc:
                raise StudyUpdateError(str(exc) or type(exc).__name__, _instance_uids(partition, row)) from exc
            state.storage.zero_preamble(spill)  # GEN-09, as every stored file
            placed.append(state.storage.place(spill, folder))
            updated.append(UpdatedInstance(int(row["instance_key"]), new, placed[-1]))
        state.storage.sync(placed)  # durable before the index refers to them
        try:
            superseded = state.index.switch_versions(updated, partition=partition)
        except LookupError as exc:
            raise StudyUpdateError(str(exc)) from exc
    except BaseException:
        for relative in placed:
            state.storage.remove_relative(relative)
        for spill in spills:
            state.storage.remove(spill)
        raise
    for path in superseded:  # the previous latest of an instance updated before (BULK-07)
        state.storage.remove(path)
    return len(updated)


def _instance_uids(partition: int, row: Any) -> str:
    return (
        f"Instance UIDs - PartitionKey: {partition}, StudyInstanceUID: {row['study_uid']}, "
        f"SeriesInstanceUID: {row['series_uid']}, SOPInstanceUID: {row['sop_uid']}"
    )


def update_handler(state: ServerState) -> Any:
    """The handler of ``update`` operations over ``state`` (BULK-07..13)."""

    def run(context: OperationContext) -> None:
        payload = context.payload
        partition = int(payload["partitionKey"])
        changes = [Change(int(tag), str(vr), text) for tag, vr, text in payload["changes"]]
        studies: list[str] = payload["studies"]
        results: dict[str, Any] = {"studyProcessed": 0, "studyUpdated": 0, "studyFailed": 0, "instanceUpdated": 0}
        errors: list[str] = []
        context.results = results
        for number, study in enumerate(studies, start=1):
            try:
                count = _update_study(state, study, partition, changes)
            except StudyUpdateError as exc:
                logger.info("bulk update of study %s failed: %s", study, exc)
                results["studyFailed"] += 1
                if exc.instance:
                    errors.append(f"{exc.instance}: {exc}")
                errors.append(f"Failed to update instances for study {study}")
            else:
                results["studyUpdated"] += 1 if count else 0
                results["instanceUpdated"] += count
            results["studyProcessed"] += 1
            if errors:
                results["errors"] = list(errors)
            context.progress(number * 100 // len(studies))
        if results["studyFailed"]:
            context.fail(errors[-1])  # BULK-13: failed, with the study counted and the errors listed

    return run


def register_bulk_update(state: ServerState) -> None:
    """Register the update handler (not idempotent: a restart fails an interrupted update)."""
    state.operations.register(OperationType.UPDATE, update_handler(state))
