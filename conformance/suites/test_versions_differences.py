"""API v1 and v2 side by side: the same requests through ``/v1`` and ``/v2`` get each version's
documented answer (VER-02, VER-03, VER-04, VER-05, VER-07).

Behaviour catalogue section 12; DVER (a breaking change, such as another status code, a
removed response attribute or another validation rule, only ever comes with a new major
version: the old version keeps its behaviour), D2 "Store changes from V1" and the v2 QIDO
tables, E2E. The tests address both versions of the same target (in the run's partition when
there is one), so they run whatever version the profile's base URL names.
"""

from __future__ import annotations

import pytest

from conformance.checks import (
    expect,
    expect_not_stored,
    expect_referenced,
    expect_status,
    expect_stored,
    store_result,
)
from conformance.checks.search import expect_some, keyword_of
from conformance.client.client import DicomwebClient
from conformance.core.instances import DicomFile
from conformance.plugin import Dicomweb
from conformance.suites._support import (
    VALIDATION_FAILED,
    VALIDATION_WARNINGS,
    expect_nothing_stored,
)
from conformance.suites._wado_qido_support import uids

pytestmark = pytest.mark.requires("api_versioning")

#: Attributes only one version returns by default (QIDO-25..27, D1 / D2 tables), per level.
V1_ONLY = {
    "study": {"StudyTime", "PatientSex", "StudyID"},
    "series": {"SeriesDescription"},
    "instance": {"SOPClassUID", "InstanceNumber", "Rows", "Columns", "BitsAllocated"},
}
V2_ONLY = {"study": {"StudyDescription"}, "series": {"ManufacturerModelName"}, "instance": set[str]()}


def _v1_and_v2(dicomweb: Dicomweb) -> tuple[DicomwebClient, DicomwebClient]:
    missing = [v for v in ("v1", "v2") if v not in dicomweb.profile.versions_served]
    if missing:
        pytest.skip(f"not applicable: the target does not serve API {' and '.join(missing)}")
    return dicomweb.client.in_version("v1"), dicomweb.client.in_version("v2")


def _warned_statuses(dicomweb: Dicomweb) -> tuple[int, ...]:
    """VER-04 (SRC, E2E): v2 answers 202 when a stored instance carries a warning; a target held
    to PS3.18 alone may answer 200 (everything was stored)."""
    return (202,) if dicomweb.profile.azure_compatible else (200, 202)


def _metadata_keys(client: DicomwebClient, file: DicomFile) -> set[str]:
    study, series, sop = uids(file)
    response = client.retrieve_instance_metadata(study, series, sop)
    expect_status(response, 200, why="the stored instance's metadata is retrievable")
    return {key for obj in response.objects for key in obj}


@pytest.mark.behavior("VER-03", "VER-02", "VER-05")
def test_invalid_searchable_attribute_fails_in_v1_and_is_dropped_in_v2(dicomweb: Dicomweb) -> None:
    """VER-03 (D2 "Store changes from V1", E2E): v1 fails an instance whose searchable StudyDate
    is invalid (nothing stored, FailureReason 43264); v2 stores the same kind of instance with a
    warning: WarningReason 1 and a FailedAttributesSequence comment naming the attribute
    (VER-05), the invalid attribute dropped from the metadata. The stricter v1 rule stays in v1
    (VER-02: a changed behaviour needs a new major version)."""
    v1, v2 = _v1_and_v2(dicomweb)
    old = dicomweb.instances.with_raw_value("StudyDate", "NotAValidStudyDate")
    response = v1.store_instances([old])
    expect_nothing_stored(
        response, dicomweb.profile, old, {VALIDATION_FAILED}, why="v1 fails an invalid searchable attribute"
    )
    expect_not_stored(v1, old, why="v1 kept nothing of the failed instance")
    new = dicomweb.instances.with_raw_value("StudyDate", "NotAValidStudyDate")
    response = v2.store_instances([new])
    expect_status(response, *_warned_statuses(dicomweb), why="v2 stores the instance with a warning")
    store_result(response)
    item = expect_referenced(response, new, why="v2 stores the instance")
    expect(
        item.warning_reason == VALIDATION_WARNINGS,
        "v2 warns with WarningReason 1",
        response=response,
        expected="WarningReason (0008,1196) 1",
        received=f"WarningReason {item.warning_reason}",
    )
    comments = item.error_comments or ()
    expect(
        any("0008,0020" in c for c in comments),
        "the FailedAttributesSequence names StudyDate (0008,0020)",
        response=response,
        expected="an ErrorComment mentioning (0008,0020)",
        received=repr(comments),
    )
    keys = _metadata_keys(v2, new)
    expect("00080020" not in keys, "v2 drops the invalid StudyDate", expected="no (0008,0020)", received="present")


@pytest.mark.behavior("VER-04", "VER-02", "VER-03")
def test_an_invalid_attribute_that_is_not_searchable(dicomweb: Dicomweb) -> None:
    """VER-03 (D2: v1 validates only required and searchable attributes): an instance whose
    InstitutionalDepartmentName is too long (LO, at most 64 characters) is stored as it is by v1,
    200 without a WarningReason; v2 validates every attribute and stores it with WarningReason 1,
    answering 202 instead of 200 (VER-04, SRC / E2E; for targets held to PS3.18 alone 200 is
    accepted too). The status code changes only with the major version (VER-02)."""
    v1, v2 = _v1_and_v2(dicomweb)
    old = dicomweb.instances.with_raw_value("InstitutionalDepartmentName", "D" * 70)
    response = v1.store_instances([old])
    expect_status(response, 200, why="v1 does not validate an attribute that is not searchable")
    item = expect_referenced(response, old, why="v1 stores the instance")
    expect(
        item.warning_reason is None,
        "v1 adds no WarningReason",
        response=response,
        expected="no WarningReason",
        received=f"WarningReason {item.warning_reason}",
    )
    expect_stored(v1, old, why="v1 stored the instance")
    new = dicomweb.instances.with_raw_value("InstitutionalDepartmentName", "D" * 70)
    response = v2.store_instances([new])
    expect_status(response, *_warned_statuses(dicomweb), why="v2 stores the instance with a warning")
    item = expect_referenced(response, new, why="v2 stores the instance")
    expect(
        item.warning_reason == VALIDATION_WARNINGS,
        "v2 warns with WarningReason 1",
        response=response,
        expected="WarningReason (0008,1196) 1",
        received=f"WarningReason {item.warning_reason}",
    )


@pytest.mark.behavior("VER-07", "VER-02")
def test_v2_default_search_attributes_are_fewer(dicomweb: Dicomweb) -> None:
    """VER-07 (D1, D2; QIDO-25..27): without ``includefield``, v2 returns much smaller sets than
    v1 for the same match: study level without StudyTime, PatientSex, StudyID (v1's) but with
    StudyDescription; series level without SeriesDescription but with ManufacturerModelName;
    instance level with SOPInstanceUID only, where v1 adds SOPClassUID, InstanceNumber, Rows,
    Columns, BitsAllocated. v1 keeps its sets (VER-02: removed response attributes need a new
    major version)."""
    v1, v2 = _v1_and_v2(dicomweb)
    file = dicomweb.instances.instance(
        attributes={"SeriesDescription": "Versions", "ManufacturerModelName": "VersionScanner"}
    )
    expect_status(dicomweb.client.store_instances([file]), 200, why="the instance is stored")
    study, series, _ = uids(file)
    counts: dict[tuple[str, str], int] = {}
    for level in ("study", "series", "instance"):
        for version, client in (("v1", v1), ("v2", v2)):
            if level == "study":
                response = client.search_for_studies([("StudyInstanceUID", study)])
            elif level == "series":
                response = client.search_for_series(study=study)
            else:
                response = client.search_for_instances(study=study, series=series)
            objects = expect_some(response, why=f"the {level} is found through {version}")
            keys = {keyword_of(k) for k in objects[0]}
            counts[(level, version)] = len(keys)
            present, absent = (V1_ONLY, V2_ONLY) if version == "v1" else (V2_ONLY, V1_ONLY)
            expect(
                present[level] <= keys and not (absent[level] & keys),
                f"{version} returns its own default {level} attributes",
                response=response,
                expected=f"with {sorted(present[level]) or 'nothing more'}, without {sorted(absent[level]) or '-'}",
                received=f"with {sorted(present[level] & keys)}; also {sorted(absent[level] & keys) or 'nothing else'}",
            )
    for level in ("study", "instance"):
        expect(
            counts[(level, "v2")] < counts[(level, "v1")],
            f"v2's default {level} set is smaller than v1's",
            expected=f"fewer than {counts[(level, 'v1')]} attributes",
            received=f"{counts[(level, 'v2')]} attributes",
        )
