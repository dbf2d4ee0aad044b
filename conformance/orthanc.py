"""Cleanup through Orthanc's own REST API, for Orthanc targets (its DICOMweb plugin has no
delete). Each recorded UID is looked up exactly (``POST /tools/lookup``) and the resource
found is deleted; nothing is searched by pattern."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from conformance.core.errors import ConformanceFailure
from conformance.core.uids import is_suite_uid

if TYPE_CHECKING:
    from conformance.client.client import DicomwebClient
    from conformance.ledger import CleanupOutcome, InstanceRef


def orthanc_root(client: DicomwebClient) -> str:
    """``http://host:8042`` from a DICOMweb base like ``http://host:8042/dicom-web``."""
    root = client.service_root
    return root[: -len("/dicom-web")] if root.endswith("/dicom-web") else root


def remove_from_orthanc(client: DicomwebClient, refs: Iterable[InstanceRef]) -> CleanupOutcome:
    from conformance.ledger import CleanupOutcome

    outcome = CleanupOutcome()
    root = orthanc_root(client)
    targets: list[tuple[str, str]] = []
    refs = list(refs)
    for study in sorted({r.study for r in refs if is_suite_uid(r.study)}):
        targets.append(("Study", study))
    for ref in refs:
        if not is_suite_uid(ref.study) and is_suite_uid(ref.sop):
            targets.append(("Instance", ref.sop))
    for level, uid in targets:
        try:
            found = client.request("POST", f"{root}/tools/lookup", content=uid.encode("ascii"))
            matches = found.json() if found.status == 200 else []
            for match in matches:
                if isinstance(match, dict) and match.get("Type") == level and isinstance(match.get("Path"), str):
                    deleted = client.request("DELETE", f"{root}{match['Path']}")
                    if deleted.status == 200:
                        outcome.deleted.append(f"{level.lower()} {uid}")
                    else:
                        outcome.problems.append(f"{level.lower()} {uid}: DELETE answered {deleted.status}")
                        outcome.left.append(f"{level.lower()} {uid}")
        except ConformanceFailure as exc:
            outcome.problems.append(f"{level.lower()} {uid}: {exc.message}")
            outcome.left.append(f"{level.lower()} {uid}")
    return outcome
