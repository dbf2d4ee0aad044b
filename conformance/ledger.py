"""The ledger of instances this run sent to the target, and their removal.

Safety rules (what makes the suite safe to point at a real endpoint):

* Only instances the suite itself sent are recorded, *before* they are sent.
* Removal never searches: it deletes exactly the recorded identifiers. A whole study is
  deleted only when its Study Instance UID is one the suite generated (``2.25.`` + a random
  UUID, so nobody else can hold data under it); otherwise single instances are deleted, and
  only those whose SOP Instance UID the suite generated.
* When the profile says the target cannot delete, nothing is removed and the leftovers are
  listed in the results.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from conformance.client.client import DicomwebClient
from conformance.core.errors import ConformanceFailure
from conformance.core.instances import DicomFile
from conformance.core.uids import is_suite_uid
from conformance.profile import CleanupMethod


@dataclass(frozen=True, slots=True)
class InstanceRef:
    """An instance the suite sent, and the base URL (partition included) it was sent to."""

    base_url: str
    study: str
    series: str
    sop: str


@dataclass
class CleanupOutcome:
    deleted: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class Ledger:
    """Thread-safe record of what was sent; one per scope (test, module, session)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._refs: dict[InstanceRef, None] = {}

    def record(self, file: DicomFile, base_url: str) -> None:
        if not file.identifies_instance:
            return
        assert file.study_uid
        assert file.series_uid
        assert file.sop_instance_uid
        ref = InstanceRef(base_url, file.study_uid, file.series_uid, file.sop_instance_uid)
        with self._lock:
            self._refs[ref] = None

    def take_all(self) -> list[InstanceRef]:
        with self._lock:
            refs = list(self._refs)
            self._refs.clear()
        return refs

    def __len__(self) -> int:
        return len(self._refs)


def remove(client: DicomwebClient, refs: Iterable[InstanceRef], method: CleanupMethod) -> CleanupOutcome:
    """Delete exactly ``refs`` from the target, by the profile's cleanup method."""
    outcome = CleanupOutcome()
    by_base: dict[str, list[InstanceRef]] = {}
    for ref in refs:
        by_base.setdefault(ref.base_url, []).append(ref)
    for base_url, group in by_base.items():
        part = _remove_at(client.at(base_url), group, method)
        outcome.deleted += part.deleted
        outcome.left += part.left
        outcome.problems += part.problems
    return outcome


def _remove_at(client: DicomwebClient, refs: list[InstanceRef], method: CleanupMethod) -> CleanupOutcome:
    outcome = CleanupOutcome()
    if method is CleanupMethod.NONE:
        outcome.left += [f"{r.study}/{r.series}/{r.sop}" for r in refs]
        return outcome
    if method is CleanupMethod.ORTHANC_REST:
        from conformance.orthanc import remove_from_orthanc

        return remove_from_orthanc(client, refs)
    studies = sorted({r.study for r in refs if is_suite_uid(r.study.rstrip())})
    for study in studies:
        _delete(outcome, f"study {study}", lambda s=study: client.delete_study(s).status)
    for ref in refs:
        if is_suite_uid(ref.study.rstrip()):
            continue
        label = f"instance {ref.study}/{ref.series}/{ref.sop}"
        if not is_suite_uid(ref.sop):
            outcome.left.append(f"{label} (not a suite UID; left alone)")
            continue
        _delete(outcome, label, lambda r=ref: client.delete_instance(r.study, r.series, r.sop).status)
    return outcome


def _delete(outcome: CleanupOutcome, label: str, call: object) -> None:
    try:
        status = call()  # type: ignore[operator]
    except ConformanceFailure as exc:
        outcome.problems.append(f"{label}: {exc.message}")
        outcome.left.append(label)
        return
    # 404: never stored (a rejected request) or already deleted by the test; 400: an invalid
    # identifier the target refused at store time.
    if status in (200, 202, 204, 404, 400):
        if status in (200, 202, 204):
            outcome.deleted.append(label)
        return
    outcome.problems.append(f"{label}: DELETE answered {status}")
    outcome.left.append(label)
