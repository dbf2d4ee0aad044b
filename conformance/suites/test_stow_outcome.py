"""STOW-RS outcomes: which instances are stored, the status that says so, and the reasons.

Behaviour catalogue section 2 (STOW-06, 08-12, 15, 20, 23); PS3.18 10.5.3, Annex I.
"""

from __future__ import annotations

import pytest

from conformance.checks import (
    checking,
    expect,
    expect_empty_body,
    expect_failed,
    expect_not_listed,
    expect_not_stored,
    expect_referenced,
    expect_status,
    expect_stored,
    store_result,
)
from conformance.plugin import Dicomweb
from conformance.suites._support import (
    ALREADY_EXISTS,
    VALIDATION_FAILED,
    VALIDATION_WARNINGS,
    azure_codes,
    empty_multipart,
    expect_nothing_stored,
    mismatch_reasons,
    require_api_version,
    require_azure_compatible,
    uses_v1_rules,
)

REQUIRED_UIDS = ["StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID"]


@pytest.mark.behavior("STOW-06", "STOW-12", "STOW-20")
@pytest.mark.parametrize("keyword", [*REQUIRED_UIDS, "PatientID"])
def test_missing_required_attribute_fails_the_instance(dicomweb: Dicomweb, keyword: str) -> None:
    """STOW-06 (D1, D2): the three UIDs, SOPClassUID and PatientID are required; an instance
    without one fails with 43264 and, being the only one, the request gives 409 (STOW-12).
    An absent PatientID element fails in v2 as well (SRC). The UIDs are Type 1 and PatientID
    Type 2 in their modules (PS3.3), so a target held to the standard alone must refuse too,
    with 400 or 409 and any FailureReason."""
    if keyword == "PatientID":
        # PS3.18 does not oblige a STOW server to refuse an instance whose Type 2 attribute is
        # absent; the refusal is the service's rule.
        require_azure_compatible(dicomweb.profile, "refusing an instance without PatientID")
    file = dicomweb.instances.missing_attribute(keyword)
    response = dicomweb.client.store_instances([file])
    # Without SOPInstanceUID the failure item cannot name the instance.
    expect_nothing_stored(
        response,
        dicomweb.profile,
        file if keyword != "SOPInstanceUID" else None,
        {VALIDATION_FAILED},
        why=f"the only instance lacks {keyword}, so nothing is stored",
    )
    if file.identifies_instance:
        expect_not_stored(dicomweb.client, file, why="the failed instance is not stored")


@pytest.mark.behavior("STOW-06", "VER-06")
def test_empty_patient_id(dicomweb: Dicomweb) -> None:
    """STOW-06: v1 requires a PatientID value (failure 43264, 409); v2 stores an instance with
    an empty PatientID, with a warning naming (0010,0020) and status 202 (D2, E2E)."""
    v1 = uses_v1_rules(dicomweb.profile)
    file = dicomweb.instances.instance(patient_id="")
    response = dicomweb.client.store_instances([file])
    if v1:
        expect_status(response, 409, why="v1 fails an instance whose PatientID is empty")
        store_result(response)
        expect_failed(response, file, {VALIDATION_FAILED}, why="an empty PatientID fails validation in v1")
        return
    expect_status(response, 202, why="v2 stores an instance with an empty PatientID, with a warning")
    store_result(response)
    item = expect_referenced(response, file, why="the instance with an empty PatientID is stored")
    expect(
        item.warning_reason == VALIDATION_WARNINGS,
        "the stored instance carries WarningReason 1",
        response=response,
        expected="WarningReason (0008,1196) 1",
        received=f"WarningReason {item.warning_reason}",
    )
    comments = item.error_comments or ()
    expect(
        any("(0010,0020)" in c for c in comments),
        "the warning names PatientID (0010,0020)",
        response=response,
        expected="an ErrorComment mentioning (0010,0020)",
        received=repr(comments),
    )
    expect_stored(dicomweb.client, file, why="the warned instance is stored")


@pytest.mark.behavior("STOW-06")
def test_patient_id_with_embedded_nul_fails(dicomweb: Dicomweb) -> None:
    """STOW-06 (E2E): a NUL inside PatientID (not trailing padding) is invalid: 409."""
    require_azure_compatible(dicomweb.profile, "refusing a PatientID with an embedded NUL")
    file = dicomweb.instances.with_raw_value("PatientID", "AB\x00CD")
    response = dicomweb.client.store_instances([file])
    expect_nothing_stored(
        response, dicomweb.profile, file, {VALIDATION_FAILED}, why="a PatientID with an embedded NUL fails"
    )
    expect_not_stored(dicomweb.client, file, why="the failed instance is not stored")


@pytest.mark.behavior("STOW-08", "STOW-10", "STOW-15", "STOW-20")
def test_instance_of_another_study_is_rejected(dicomweb: Dicomweb) -> None:
    """STOW-08 (D1, D2): with ``{study}`` in the path, an instance of another study is listed in
    FailedSOPSequence (43265 per the documents, 43264 per the implementation: AMB-01) and the
    matching one is stored; some stored and some failed gives 202 (STOW-10)."""
    matching = dicomweb.instances.instance()
    other = dicomweb.instances.instance()
    assert matching.study_uid is not None
    response = dicomweb.client.store_instances([matching, other], study_uid=matching.study_uid)
    with checking("STOW-10"):
        expect_status(response, 202, why="one instance stored and one failed is a partial success")
    store_result(response)
    expect_failed(
        response, other, mismatch_reasons(dicomweb.profile), why="an instance of another study than the URL's fails"
    )
    expect_referenced(response, matching, why="the instance of the URL's study is stored")
    expect_not_listed(response, matching, "failed", why="the matching instance did not fail")
    expect_stored(dicomweb.client, matching, why="the matching instance is retrievable")
    expect_not_stored(dicomweb.client, other, why="the mismatching instance is not stored (STOW-15)")


@pytest.mark.behavior("STOW-08", "STOW-12")
def test_only_instances_of_another_study_is_409(dicomweb: Dicomweb) -> None:
    """STOW-08 / STOW-12 (E2E): every instance mismatches the path study, so nothing is stored: 409."""
    files = [dicomweb.instances.instance(), dicomweb.instances.instance()]
    path_study = dicomweb.instances.instance().study_uid
    assert path_study is not None
    response = dicomweb.client.store_instances(files, study_uid=path_study)
    expect_status(response, 409, why="no instance belongs to the study in the URL")
    store_result(response)
    for file in files:
        expect_failed(response, file, mismatch_reasons(dicomweb.profile), why="each mismatching instance fails")
        expect_not_stored(dicomweb.client, file, why="a mismatching instance is not stored")


@pytest.mark.behavior("STOW-08")
def test_study_comparison_ignores_trailing_whitespace(dicomweb: Dicomweb) -> None:
    """STOW-08 (SRC): the comparison with the URL's study ignores trailing whitespace."""
    require_azure_compatible(dicomweb.profile, "whitespace-insensitive study comparison")
    file = dicomweb.instances.with_trailing_space_study_uid()
    assert file.study_uid is not None
    response = dicomweb.client.store_instances([file], study_uid=file.study_uid.rstrip())
    expect_status(response, 200, why="a StudyInstanceUID padded with a space matches the URL's study")
    store_result(response)
    expect_referenced(response, file, why="the padded instance is stored")


@pytest.mark.behavior("STOW-09")
def test_all_stored_is_200_without_warnings(dicomweb: Dicomweb) -> None:
    """STOW-09 (D1, D2): every instance stored gives 200; in v2 only when none carries a
    WarningReason, so the items of a 200 answer have none."""
    files = [dicomweb.instances.instance(), dicomweb.instances.instance()]
    response = dicomweb.client.store_instances(files)
    expect_status(response, 200, why="every instance was valid and stored")
    result = store_result(response)
    expect(
        not result.failed,
        "no instance is listed as failed",
        response=response,
        expected="no FailedSOPSequence",
        received=f"{len(result.failed)} failed item(s)",
    )
    for file in files:
        item = expect_referenced(response, file, why="each stored instance is referenced")
        expect(
            item.warning_reason is None,
            "a 200 answer carries no WarningReason",
            response=response,
            expected="no WarningReason (0008,1196)",
            received=f"WarningReason {item.warning_reason}",
        )


@pytest.mark.behavior("STOW-10", "STOW-12", "STOW-20")
def test_partial_success_is_202(dicomweb: Dicomweb) -> None:
    """STOW-10 (D1): some stored, some failed gives 202 with both sequences."""
    good = dicomweb.instances.instance()
    bad = dicomweb.instances.missing_attribute("SOPClassUID")
    response = dicomweb.client.store_instances([good, bad])
    with checking("STOW-10"):
        expect_status(response, 202, why="one instance stored and one failed")
    store_result(response)
    expect_referenced(response, good, why="the valid instance is stored")
    expect_failed(
        response, bad, azure_codes(dicomweb.profile, {VALIDATION_FAILED}), why="the invalid instance fails validation"
    )
    expect_stored(dicomweb.client, good, why="the valid instance is retrievable")
    expect_not_stored(dicomweb.client, bad, why="the invalid instance is not stored")


@pytest.mark.behavior("STOW-10", "STOW-21", "STOW-25", "VER-04")
def test_v2_stored_with_warning_is_202(dicomweb: Dicomweb) -> None:
    """STOW-10 (D2, E2E): in v2 an instance stored with an attribute warning makes the answer
    202 even though every instance was stored."""
    require_api_version(dicomweb.profile, "v2")
    file = dicomweb.instances.with_raw_value("StudyDate", "NotAValidStudyDate")
    response = dicomweb.client.store_instances([file])
    expect_status(response, 202, why="v2 answers 202 when a stored instance carries warnings")
    store_result(response)
    item = expect_referenced(response, file, why="the instance is stored despite the invalid StudyDate")
    expect(
        item.warning_reason == VALIDATION_WARNINGS,
        "the instance carries WarningReason 1",
        response=response,
        expected="WarningReason (0008,1196) 1",
        received=f"WarningReason {item.warning_reason}",
    )


@pytest.mark.behavior("STOW-11")
def test_zero_parts_is_204(dicomweb: Dicomweb) -> None:
    """STOW-11 (D1, D2, E2E): a multipart/related body with zero parts has no content: 204.
    PS3.18 Table 10.5.3-1 defines no status for an empty request: the 204 is the service's."""
    require_azure_compatible(dicomweb.profile, "204 for a request without instances")
    body, content_type = empty_multipart()
    response = dicomweb.client.store_body(body, content_type)
    expect_status(response, 204, why="a request without any instance has no content to store")
    expect_empty_body(response, why="a 204 answer has no body")


@pytest.mark.behavior("STOW-12", "STOW-15")
def test_single_zero_byte_part_is_409(dicomweb: Dicomweb) -> None:
    """STOW-12 (E2E): a multipart request whose only part is empty stores nothing: 409 with a
    FailedSOPSequence item (the part cannot be parsed, so it names no instance)."""
    response = dicomweb.client.store_instances([dicomweb.instances.empty()])
    expect_nothing_stored(response, dicomweb.profile, None, None, why="the only part is empty, so nothing is stored")


@pytest.mark.behavior("STOW-12")
@pytest.mark.requires("store_single_part")
def test_empty_single_part_body_is_409(dicomweb: Dicomweb) -> None:
    """STOW-12 (E2E): an empty single-part application/dicom body stores nothing: 409."""
    response = dicomweb.client.store_single_part(dicomweb.instances.empty())
    expect_nothing_stored(
        response, dicomweb.profile, None, None, why="an empty application/dicom body holds no instance"
    )


@pytest.mark.behavior("STOW-12", "STOW-15", "STOW-17")
def test_non_dicom_part(dicomweb: Dicomweb) -> None:
    """STOW-12 / STOW-15: a part that is not DICOM fails on its own (never a 500; interop
    pitfall 19); alone it gives 409, beside a valid instance 202."""
    junk = dicomweb.instances.non_dicom()
    response = dicomweb.client.store_instances([junk])
    expect_nothing_stored(response, dicomweb.profile, None, None, why="the only part is not DICOM")
    with checking("STOW-15"):
        good = dicomweb.instances.instance()
        response = dicomweb.client.store_instances([good, dicomweb.instances.non_dicom()])
        expect_status(response, 202, why="one valid instance and one non-DICOM part is a partial success")
        store_result(response)
        expect_referenced(response, good, why="the valid instance beside the non-DICOM part is stored")


@pytest.mark.behavior("STOW-15")
def test_zero_byte_part_beside_a_valid_instance_is_202(dicomweb: Dicomweb) -> None:
    """STOW-15 (E2E): a zero-byte part plus a valid file: 202, the valid one referenced."""
    good = dicomweb.instances.instance()
    response = dicomweb.client.store_instances([dicomweb.instances.empty(), good])
    expect_status(response, 202, why="one part failed and one instance was stored")
    store_result(response)
    expect_referenced(response, good, why="the valid file is referenced")
    expect_failed(response, None, None, why="the zero-byte part is listed as failed")
    expect_stored(dicomweb.client, good, why="the valid file is retrievable")


@pytest.mark.behavior("STOW-15", "STOW-20", "STOW-23")
def test_same_instance_twice_in_one_request(dicomweb: Dicomweb) -> None:
    """STOW-15 (E2E): the same file twice in one request: 202, the second copy fails with 45070.
    What a server does with a duplicate (refuse, ignore, replace) is its own policy under
    PS3.18, so only Azure-compatible targets are held to this."""
    require_azure_compatible(dicomweb.profile, "refusing a duplicate with 45070")
    file = dicomweb.instances.instance()
    response = dicomweb.client.store_instances([file, file])
    expect_status(response, 202, why="the first copy is stored and the second is a duplicate")
    store_result(response)
    expect_referenced(response, file, why="the first copy is stored")
    expect_failed(response, file, {ALREADY_EXISTS}, why="the second copy already exists (45070)")


@pytest.mark.behavior("STOW-23", "STOW-20", "STOW-12")
def test_restoring_an_instance_is_409_with_45070(dicomweb: Dicomweb) -> None:
    """STOW-23 (E2E) / STOW-12: storing an instance whose UID triple exists gives 409 with
    FailureReason 45070; the stored instance is unchanged. (The duplicate policy is the
    server's own under PS3.18, so only Azure-compatible targets are held to this.)"""
    require_azure_compatible(dicomweb.profile, "refusing a re-store with 45070")
    file = dicomweb.instances.instance()
    first = dicomweb.client.store_instances([file])
    expect_status(first, 200, why="the first store succeeds")
    again = dicomweb.client.store_instances([file])
    expect_status(again, 409, why="the instance already exists, so nothing is stored")
    store_result(again)
    expect_failed(again, file, {ALREADY_EXISTS}, why="a duplicate fails with 45070")
    returned = expect_stored(dicomweb.client, file, why="the original instance is still there")
    expect(
        returned[128:] == file.data[128:],
        "the stored instance is unchanged",
        expected="the bytes first stored",
        received="different bytes",
    )


@pytest.mark.behavior("STOW-23")
def test_restore_with_padded_study_uid_is_a_conflict(dicomweb: Dicomweb) -> None:
    """STOW-23 (E2E): a re-store whose StudyInstanceUID differs only by trailing spaces is the
    same instance: 409 / 45070."""
    require_azure_compatible(dicomweb.profile, "trailing-space UID comparison on re-store")
    padded = dicomweb.instances.with_trailing_space_study_uid()
    assert padded.study_uid is not None
    plain = dicomweb.instances.instance(
        study_uid=padded.study_uid.rstrip(), series_uid=padded.series_uid, sop_instance_uid=padded.sop_instance_uid
    )
    expect_status(dicomweb.client.store_instances([plain]), 200, why="the first store succeeds")
    again = dicomweb.client.store_instances([padded])
    expect_status(again, 409, why="the padded UID names the same instance")
    store_result(again)
    expect_failed(again, padded, {ALREADY_EXISTS}, why="the re-store is a duplicate (45070)")


@pytest.mark.behavior("GEN-04", "STOW-12", "STOW-20")
@pytest.mark.parametrize("value", ["11|", "abc.123", "65"], ids=["bar", "letters", "65-chars"])
def test_invalid_uid_in_dataset_fails_with_43264(dicomweb: Dicomweb, value: str) -> None:
    """GEN-04 (E2E) / STOW-20: a StudyInstanceUID that is not a valid UID fails the instance
    with 43264; alone it gives 409 (AMB-24: the documents do not separate this from 400).
    ``abc.123`` is invalid only under the implemented UID rule (AMB-02)."""
    require_azure_compatible(dicomweb.profile, "validating the UIDs inside stored datasets")
    rule = dicomweb.profile.follows("AMB-02").value
    if value == "abc.123" and rule != "implemented":
        pytest.skip("not claimed: letters in UIDs are allowed by the documents (AMB-02)")
    from conformance.core.uids import uid_of_length

    raw = uid_of_length(65) if value == "65" else value
    file = dicomweb.instances.with_raw_value("StudyInstanceUID", raw)
    response = dicomweb.client.store_instances([file])
    amb24 = dicomweb.profile.follows("AMB-24").value
    allowed = (409,) if amb24 == "implemented" and dicomweb.profile.azure_compatible else (400, 409)
    expect_status(response, *allowed, why=f"StudyInstanceUID {raw!r} is not a valid UID")
    if response.status == 409:
        store_result(response)
        codes = azure_codes(dicomweb.profile, {VALIDATION_FAILED})
        expect_failed(response, file, codes, why="an invalid UID fails validation (43264)")
