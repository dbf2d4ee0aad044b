"""Validating and storing one uploaded instance (STOW-06..08, STOW-19..26).

``ingest_batch`` runs in a worker thread for a batch of parts of a STOW request and returns
an ``Outcome`` per part: stored (maybe with warnings) or failed with a FailureReason. A batch
costs one thread hop and one group of fsyncs, not one per part.

Order of checks: readable Part-10 file; required attributes (STOW-06); study in the path
(STOW-08); then v1 checks every indexed attribute and fails the instance on any problem,
while v2 checks every attribute and only drops the invalid ones with a warning (STOW-25).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from pydicom.dataset import Dataset

from reference_server.attributes import (
    PATIENT_ID,
    REQUIRED,
    REQUIRED_UIDS,
    SERIES_INSTANCE_UID,
    SOP_CLASS_UID,
    SOP_INSTANCE_UID,
    STORED_INDEXED_TAGS,
    STUDY_INSTANCE_UID,
)
from reference_server.dicom_json import metadata_json
from reference_server.dicomfile import (
    DicomPart,
    UnreadableDicomError,
    dictionary_multiplicity,
    element_length,
    element_text,
    element_vr,
    encodings_of,
    iter_items,
    read_part,
    resolve_vr,
)
from reference_server.extended_query_tag_index import index_stored_instance, invalid_values
from reference_server.index import Index
from reference_server.records import NewInstance, PixelInfo
from reference_server.storage import Storage
from reference_server.validation import (
    NUMERIC_VR_SIZES,
    TEXT_VRS,
    check_binary_length,
    check_multiplicity,
    check_text,
    error_comment,
    missing_required_reason,
    split_values,
    strip_uid,
)
from reference_server.versions import ApiVersion

logger = logging.getLogger("reference_server")

# STOW-20 FailureReason codes and STOW-21 WarningReason codes.
PROCESSING_FAILURE = 272
VALIDATION_FAILURE = 43264
STUDY_MISMATCH = 43265
ALREADY_EXISTS = 45070
WARNING_DOES_NOT_MATCH_SOP_CLASS = 45063
WARNING_VALIDATION = 1

MISMATCH_REASON = "The StudyInstanceUID of the instance does not match the study in the request URL."


@dataclass(slots=True)
class Outcome:
    """What happened to one part; ``failure`` None means stored."""

    sop_class_uid: str | None = None
    sop_instance_uid: str | None = None
    study_uid: str | None = None
    series_uid: str | None = None
    failure: int | None = None
    warning: int | None = None
    comments: list[str] = field(default_factory=list)
    multiple_values: bool = False

    @property
    def stored(self) -> bool:
        return self.failure is None


@dataclass(frozen=True, slots=True)
class IngestContext:
    version: ApiVersion
    path_study_uid: str | None
    storage: Storage
    index: Index
    partition: int  # the key of the data partition stored into (PART-07)


@dataclass(slots=True)
class _Findings:
    errors: dict[int, str] = field(default_factory=dict)  # tag -> first reason (fails the instance)
    warnings: dict[int, str] = field(default_factory=dict)  # tag -> first reason (v2: dropped)
    multiple_values: bool = False

    def error(self, tag: int, reason: str) -> None:
        self.errors.setdefault(tag, reason)

    def warn(self, tag: int, reason: str) -> None:
        self.warnings.setdefault(tag, reason)


def _values(part: DicomPart, tag: int, vr: str) -> list[str] | None:
    """The values of a text element, trailing NUL padding removed (STOW-24); None when absent."""
    if tag not in part.dataset:
        return None
    text = part.text(tag)
    if text is None:
        return []
    values = split_values(vr, text.rstrip("\0"))
    return [] if values == [""] else values


def _check_required(part: DicomPart, version: ApiVersion, findings: _Findings) -> dict[int, str]:
    """STOW-06: the three UIDs and SOP Class UID valid; PatientID per version. Returns first values."""
    firsts: dict[int, str] = {}
    for tag in REQUIRED_UIDS:
        values = _values(part, tag, "UI")
        if not values or not values[0]:
            findings.error(tag, missing_required_reason(tag))
            continue
        firsts[tag] = values[0]
        findings.multiple_values |= len(values) > 1
        reason = check_text("UI", values[0])
        if reason is not None:
            findings.error(tag, reason)
    values = _values(part, PATIENT_ID, "LO")
    if values is None:
        findings.error(PATIENT_ID, missing_required_reason(PATIENT_ID))
    elif not values or not values[0].strip():
        # v2 accepts an empty PatientID with a warning; v1 requires a value (VER-06).
        if version.is_v2_or_later:
            findings.warn(PATIENT_ID, missing_required_reason(PATIENT_ID))
        else:
            findings.error(PATIENT_ID, missing_required_reason(PATIENT_ID))
    else:
        findings.multiple_values |= len(values) > 1
        reason = check_text("LO", "\\".join(values))
        if reason is not None:
            findings.error(PATIENT_ID, reason)
    return firsts


def _check_indexed_v1(part: DicomPart, findings: _Findings) -> None:
    """v1: every indexed attribute must be valid, with its dictionary VR (STOW-22, STOW-25)."""
    for tag in sorted(STORED_INDEXED_TAGS - set(REQUIRED)):
        if tag not in part.dataset:
            continue
        vr = part.vr_of(tag)
        expected = resolve_vr(tag, None)
        if vr != expected:
            findings.error(tag, f"The attribute has VR {vr} but its dictionary VR is {expected}.")
            continue
        values = _values(part, tag, vr)
        if not values:
            continue
        findings.multiple_values |= len(values) > 1
        reason = check_text(vr, "\\".join(values))
        if reason is not None:
            findings.error(tag, reason)


def _element_problem(dataset: Dataset, tag: int, encodings: list[str], depth: int) -> str | None:
    """v2 generic validation of one element (recursing into sequences); the first reason found."""
    vr = element_vr(dataset, tag)
    if vr == "SQ":
        if depth > 32:
            return None
        for item in iter_items(dataset, tag):
            item_encodings = encodings_of(item) if 0x00080005 in item else encodings
            reason = _first_problem(item, (int(t) for t in item.keys()), item_encodings, depth + 1)
            if reason is not None:
                return reason
        return None
    if vr in TEXT_VRS:
        text = element_text(dataset, tag, encodings)
        if text is None:
            return None
        text = text.rstrip("\0")  # STOW-24: NUL padding is not an error
        reason = check_text(vr, text)
        if reason is None:
            vm = dictionary_multiplicity(tag)
            count = len(split_values(vr, text)) if text else 0
            if vm is not None and count > 1:
                reason = check_multiplicity(vr, count, vm)
        return reason
    if vr in NUMERIC_VR_SIZES:
        return check_binary_length(vr, element_length(dataset, tag))
    return None


def _first_problem(dataset: Dataset, tags: Iterable[int], encodings: list[str], depth: int) -> str | None:
    for tag in tags:
        if tag >> 16 == 0x0002 or tag & 0xFFFF == 0:
            continue
        reason = _element_problem(dataset, tag, encodings, depth)
        if reason is not None:
            return reason
    return None


def _check_all_v2(part: DicomPart, findings: _Findings) -> None:
    """v2: every other attribute is validated; invalid ones become warnings and are dropped."""
    encodings = part.encodings
    for tag in part.top_level_tags():
        if tag in REQUIRED or tag >> 16 == 0x0002 or tag & 0xFFFF == 0:
            continue
        reason = _element_problem(part.dataset, tag, encodings, 0)
        if reason is not None:
            findings.warn(tag, reason)


def _int_value(dataset: Dataset, keyword: str, default: int) -> int:
    try:
        value = dataset.get(keyword)
        return int(value) if value not in (None, "") else default
    except Exception:  # absent, empty or unconvertible: the default describes the data best
        return default


def _pixel_info(part: DicomPart) -> PixelInfo | None:
    if part.pixel is None:
        return None
    dataset = part.dataset
    return PixelInfo(
        offset=part.pixel.offset,
        length=part.pixel.length,
        rows=_int_value(dataset, "Rows", 0),
        columns=_int_value(dataset, "Columns", 0),
        samples_per_pixel=_int_value(dataset, "SamplesPerPixel", 1),
        bits_allocated=_int_value(dataset, "BitsAllocated", 8),
        number_of_frames=max(1, _int_value(dataset, "NumberOfFrames", 1)),
    )


def _comments(errors: dict[int, str]) -> list[str]:
    return [error_comment(tag, reason) for tag, reason in sorted(errors.items())]


def ingest_batch(spill_paths: list[Path], context: IngestContext) -> list[Outcome]:
    """Validate uploaded files and store the acceptable ones; one outcome per file, in order.

    The whole batch runs in one worker thread, and its files are made durable together
    (``Storage.sync``) before any of them is indexed, so an acknowledged instance survives a
    crash. An unexpected error fails that part alone (FailureReason 272), never the batch.
    The spill files are gone afterwards: moved into place, or removed.
    """
    outcomes: list[Outcome] = []
    accepted: list[tuple[Path, NewInstance, Outcome]] = []
    try:
        for spill_path in spill_paths:
            try:
                outcome, new = _validate(spill_path, context)
            except Exception:
                logger.exception("processing a STOW part failed unexpectedly")
                outcome, new = Outcome(failure=PROCESSING_FAILURE), None
            outcomes.append(outcome)
            if new is not None:
                accepted.append((spill_path, new, outcome))
        if accepted:
            _store_batch(accepted, context)
    finally:
        for spill_path in spill_paths:
            spill_path.unlink(missing_ok=True)
    return outcomes


def ingest(spill_path: Path, context: IngestContext) -> Outcome:
    """Validate one uploaded file and store it when acceptable (``ingest_batch`` of one)."""
    return ingest_batch([spill_path], context)[0]


def _validate(spill_path: Path, context: IngestContext) -> tuple[Outcome, NewInstance | None]:
    """The outcome of validating one file, and what to index when it is acceptable."""
    outcome = Outcome()
    try:
        part = read_part(spill_path)
    except UnreadableDicomError as exc:
        logger.info("STOW part refused: %s", exc)
        outcome.failure = VALIDATION_FAILURE
        return outcome, None
    version = context.version
    findings = _Findings()
    firsts = _check_required(part, version, findings)
    outcome.sop_class_uid = firsts.get(SOP_CLASS_UID)
    outcome.sop_instance_uid = firsts.get(SOP_INSTANCE_UID)
    outcome.study_uid = firsts.get(STUDY_INSTANCE_UID)
    outcome.series_uid = firsts.get(SERIES_INSTANCE_UID)
    if findings.errors:
        outcome.failure = VALIDATION_FAILURE
        outcome.comments = _comments(findings.errors)
        return outcome, None
    study_uid = strip_uid(firsts[STUDY_INSTANCE_UID])
    # STOW-08 / AMB-01 (documented): trailing whitespace ignored, case-insensitive.
    if context.path_study_uid is not None and study_uid.casefold() != context.path_study_uid.casefold():
        outcome.failure = STUDY_MISMATCH
        outcome.comments = [error_comment(STUDY_INSTANCE_UID, MISMATCH_REASON)]
        return outcome, None
    for tag, reason in invalid_values(context.index, part.dataset).items():  # EQT-13: v1 fails, v2 drops
        (findings.warn if version.is_v2_or_later else findings.error)(tag, reason)
    if version.is_v2_or_later:
        _check_all_v2(part, findings)
    else:
        _check_indexed_v1(part, findings)
        if findings.errors:
            outcome.failure = VALIDATION_FAILURE
            outcome.comments = _comments(findings.errors)
            return outcome, None
    outcome.multiple_values = findings.multiple_values
    if part.is_implicit_vr:
        outcome.warning = WARNING_DOES_NOT_MATCH_SOP_CLASS  # STOW-21, AMB-11
    if findings.warnings:
        outcome.warning = WARNING_VALIDATION
        outcome.comments = _comments(findings.warnings)
    dropped = frozenset(findings.warnings)
    new = NewInstance(
        study_uid=study_uid,
        series_uid=strip_uid(firsts[SERIES_INSTANCE_UID]),
        sop_uid=strip_uid(firsts[SOP_INSTANCE_UID]),
        sop_class_uid=strip_uid(firsts[SOP_CLASS_UID]),
        transfer_syntax=part.transfer_syntax,
        file_size=part.size,
        pixel=_pixel_info(part),
        metadata=metadata_json(part.dataset, dropped),
        dropped=tuple(sorted(dropped)),
    )
    return outcome, new


def _fail(outcome: Outcome, reason: int) -> None:
    outcome.failure = reason
    outcome.warning = None
    outcome.comments = []


def _store_batch(accepted: list[tuple[Path, NewInstance, Outcome]], context: IngestContext) -> None:
    """Place the files of the accepted instances, flush them together, then index each one."""
    storage, index, partition = context.storage, context.index, context.partition
    folder: Path | None = None
    placed: list[tuple[str, NewInstance, Outcome]] = []
    try:
        for spill_path, new, outcome in accepted:
            if index.contains(new.study_uid, new.series_uid, new.sop_uid, partition=partition):
                _fail(outcome, ALREADY_EXISTS)
                continue
            try:
                storage.zero_preamble(spill_path)
                folder = folder or storage.new_folder(partition)
                placed.append((storage.place(spill_path, folder), new, outcome))
            except Exception:
                logger.exception("storing instance %s failed", new.sop_uid)
                _fail(outcome, PROCESSING_FAILURE)
        storage.sync([relative for relative, _, _ in placed])
    except Exception:
        logger.exception("flushing %d stored files failed", len(placed))
        for relative, _, outcome in placed:
            storage.remove_relative(relative)
            _fail(outcome, PROCESSING_FAILURE)
        return
    for relative, new, outcome in placed:
        try:
            added = index.add_instance(new, partial(str, relative), partition=partition)
        except Exception:
            logger.exception("storing instance %s failed", new.sop_uid)
            storage.remove_relative(relative)
            _fail(outcome, PROCESSING_FAILURE)
            continue
        if not added:  # a concurrent request (or an earlier part of this one) stored it first
            storage.remove_relative(relative)
            _fail(outcome, ALREADY_EXISTS)
        else:
            index_stored_instance(index, new, partition)  # EQT-05: indexed at store time
