"""Checks on STOW-RS answers: the Store Instances Response Module (PS3.18 I.1, Table I.1-1)."""

from __future__ import annotations

from dataclasses import dataclass

from conformance.checks.http import expect_schema
from conformance.client.responses import FailedInstance, ReferencedInstance, StoreResponse, StoreResult
from conformance.core.errors import ConformanceFailure
from conformance.core.instances import DicomFile


@dataclass(frozen=True, slots=True)
class StoreExpectation:
    """Which files a STOW answer must list as stored and as failed (for messages)."""

    stored: tuple[DicomFile, ...] = ()
    failed: tuple[DicomFile, ...] = ()


def store_result(
    response: StoreResponse, *, why: str = "the STOW-RS answer is a Store Instances Response Module"
) -> StoreResult:
    """Validate the body against ``store-response.schema.json`` and return it parsed."""
    expect_schema(response, "store-response", why=why)
    return response.result


def _listing(result: StoreResult) -> str:
    refs = ", ".join(str(r.sop_instance_uid) for r in result.referenced) or "none"
    fails = ", ".join(f"{f.sop_instance_uid} ({f.failure_reason})" for f in result.failed) or "none"
    return f"ReferencedSOPSequence: {refs}; FailedSOPSequence: {fails}"


def expect_referenced(response: StoreResponse, file: DicomFile, *, why: str) -> ReferencedInstance:
    """``file`` has a ReferencedSOPSequence item with its SOP class and instance UIDs."""
    result = response.result
    item = result.referenced_uid(str(file.sop_instance_uid))
    if item is None:
        raise ConformanceFailure(
            why,
            expected=f"a ReferencedSOPSequence (0008,1199) item for {file.sop_instance_uid}",
            received=_listing(result),
            exchange=response.exchange,
        )
    if file.sop_class_uid and item.sop_class_uid != file.sop_class_uid:
        raise ConformanceFailure(
            why,
            expected=f"ReferencedSOPClassUID {file.sop_class_uid}",
            received=f"ReferencedSOPClassUID {item.sop_class_uid}",
            exchange=response.exchange,
        )
    return item


def expect_failed(
    response: StoreResponse, file: DicomFile | None, reasons: set[int] | None, *, why: str
) -> FailedInstance:
    """A FailedSOPSequence item for ``file`` (by SOP Instance UID; ``None`` = an unparsable
    part, matched as the only item without one) whose FailureReason is in ``reasons``."""
    result = response.result
    if file is not None and file.sop_instance_uid:
        item = result.failed_uid(file.sop_instance_uid)
        label = f"for {file.sop_instance_uid}"
    else:
        anonymous = [f for f in result.failed if not f.sop_instance_uid]
        item = anonymous[0] if anonymous else None
        label = "without a ReferencedSOPInstanceUID (unparsable part)"
    if item is None:
        raise ConformanceFailure(
            why,
            expected=f"a FailedSOPSequence (0008,1198) item {label}",
            received=_listing(result),
            exchange=response.exchange,
        )
    if reasons is not None and item.failure_reason not in reasons:
        wanted = " or ".join(str(r) for r in sorted(reasons))
        raise ConformanceFailure(
            why,
            expected=f"FailureReason (0008,1197) {wanted}",
            received=f"FailureReason {item.failure_reason}",
            exchange=response.exchange,
        )
    return item


def expect_not_listed(response: StoreResponse, file: DicomFile, sequence: str, *, why: str) -> None:
    """``file`` is absent from ``sequence`` ("referenced" or "failed")."""
    result = response.result
    uid = str(file.sop_instance_uid)
    found = result.referenced_uid(uid) if sequence == "referenced" else result.failed_uid(uid)
    if found is not None:
        name = "ReferencedSOPSequence" if sequence == "referenced" else "FailedSOPSequence"
        raise ConformanceFailure(
            why, expected=f"no {name} item for {uid}", received=_listing(result), exchange=response.exchange
        )
