"""STOW-RS response body and headers: the Store Instances Response Module, failure and
warning reasons, error comments and the Warning header.

Behaviour catalogue section 2 (STOW-16..19, 21, 22), GEN-10; PS3.18 Annex I.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from conformance.checks import (
    checking,
    expect,
    expect_failed,
    expect_header,
    expect_referenced,
    expect_status,
    expect_stored,
    parse_warning_header,
    store_result,
)
from conformance.client.client import MULTIPART_DICOM_ANY
from conformance.plugin import Dicomweb
from conformance.suites._support import (
    DATASET_DOES_NOT_MATCH_SOP_CLASS,
    MULTIPLE_VALUES_WARNING,
    VALIDATION_FAILED,
    mismatch_reasons,
    nothing_stored_statuses,
    require_azure_compatible,
    uses_v1_rules,
)

RETRIEVE_URL = "00081190"
FAILED_SOP_SEQUENCE = "00081198"
REFERENCED_SOP_SEQUENCE = "00081199"
FAILED_ATTRIBUTES_SEQUENCE = "00741048"
ERROR_COMMENT = re.compile(r"DICOM100: \([0-9A-Fa-f]{4},[0-9A-Fa-f]{4}\) - .+")


@pytest.mark.behavior("STOW-16", "STOW-10")
def test_top_level_elements_with_study_in_path(dicomweb: Dicomweb) -> None:
    """STOW-16 (D1, D2, E2E): with the study in the path, one success and one failure, the
    answer holds RetrieveURL of the study, FailedSOPSequence and ReferencedSOPSequence (and,
    per the implementation, nothing else)."""
    matching = dicomweb.instances.instance()
    other = dicomweb.instances.instance()
    assert matching.study_uid is not None
    response = dicomweb.client.store_instances([matching, other], study_uid=matching.study_uid)
    with checking("STOW-10"):
        expect_status(response, 202, why="one instance stored, one failed")
    result = store_result(response)
    keys = set(result.raw)
    wanted = {RETRIEVE_URL, FAILED_SOP_SEQUENCE, REFERENCED_SOP_SEQUENCE}
    expect(
        wanted <= keys,
        "RetrieveURL, FailedSOPSequence and ReferencedSOPSequence are present",
        response=response,
        expected=", ".join(sorted(wanted)),
        received=", ".join(sorted(keys)),
    )
    if dicomweb.profile.azure_compatible:
        expect(
            keys == wanted,
            "the answer has exactly these three top-level elements",
            response=response,
            expected=", ".join(sorted(wanted)),
            received=", ".join(sorted(keys)),
        )
    url = result.retrieve_url or ""
    expect(
        url.rstrip("/").endswith(f"studies/{matching.study_uid}"),
        "RetrieveURL is the URL of the study",
        response=response,
        expected=f"a URL ending in studies/{matching.study_uid}",
        received=url or "none",
    )


@pytest.mark.behavior("STOW-16")
def test_empty_sequences_and_retrieve_url_are_omitted(dicomweb: Dicomweb) -> None:
    """STOW-16 (D1, D2, SRC): without the study in the path there is no top-level RetrieveURL;
    a sequence with no items is left out (SRC), so an all-success answer has no
    FailedSOPSequence and an all-failure answer no ReferencedSOPSequence. PS3.18 Table I.1-1
    makes RetrieveURL Type 2 (present, possibly empty), so only Azure-compatible targets are
    held to its absence."""
    require_azure_compatible(dicomweb.profile, "leaving out the study RetrieveURL and empty sequences")
    good = dicomweb.instances.instance()
    response = dicomweb.client.store_instances([good])
    expect_status(response, 200, why="the instance is valid")
    result = store_result(response)
    expect(
        RETRIEVE_URL not in result.raw,
        "no study RetrieveURL without a study in the path",
        response=response,
        expected="no (0008,1190) at the top level",
        received="(0008,1190) present",
    )
    expect(
        FAILED_SOP_SEQUENCE not in result.raw,
        "an empty FailedSOPSequence is omitted",
        response=response,
        expected="no (0008,1198)",
        received=str(result.raw.get(FAILED_SOP_SEQUENCE)),
    )
    bad = dicomweb.instances.missing_attribute("SOPClassUID")
    failure = dicomweb.client.store_instances([bad], study_uid=bad.study_uid)
    expect_status(failure, 409, why="the only instance is invalid")
    failed = store_result(failure)
    expect(
        REFERENCED_SOP_SEQUENCE not in failed.raw and RETRIEVE_URL not in failed.raw,
        "with nothing stored there is no ReferencedSOPSequence and no RetrieveURL",
        response=failure,
        expected="no (0008,1199), no (0008,1190)",
        received=", ".join(sorted(failed.raw)),
    )


@pytest.mark.behavior("STOW-17")
def test_failed_item_names_the_instance(dicomweb: Dicomweb) -> None:
    """STOW-17 (D1, D2): a FailedSOPSequence item carries ReferencedSOPClassUID,
    ReferencedSOPInstanceUID and FailureReason (US) when the file could be parsed."""
    other = dicomweb.instances.instance()
    path_study = dicomweb.instances.instance().study_uid
    assert path_study is not None
    response = dicomweb.client.store_instances([other], study_uid=path_study)
    expect_status(response, 409, why="the only instance belongs to another study")
    store_result(response)
    item = expect_failed(response, other, mismatch_reasons(dicomweb.profile), why="the instance is listed as failed")
    expect(
        item.sop_class_uid == other.sop_class_uid,
        "the failed item names the SOP class",
        response=response,
        expected=f"ReferencedSOPClassUID {other.sop_class_uid}",
        received=f"{item.sop_class_uid}",
    )


@pytest.mark.behavior("STOW-17")
def test_failed_item_of_unparsable_part_has_no_uids(dicomweb: Dicomweb) -> None:
    """STOW-17 (D1, D2): the UIDs are given only when the file could be parsed; a non-DICOM part
    gets an item with FailureReason alone."""
    response = dicomweb.client.store_instances([dicomweb.instances.non_dicom()])
    expect_status(response, *nothing_stored_statuses(dicomweb.profile), why="the only part is not DICOM")
    if response.status == 400:
        pytest.skip("not applicable: the target refused the whole request (400), so there is no failed item")
    result = store_result(response)
    expect(
        len(result.failed) == 1,
        "one failed item for the one part",
        response=response,
        expected="1 FailedSOPSequence item",
        received=f"{len(result.failed)}",
    )
    item = result.failed[0]
    expect(
        item.sop_instance_uid is None and item.failure_reason is not None,
        "an unparsable part has a FailureReason and no instance UID",
        response=response,
        expected="FailureReason, no ReferencedSOPInstanceUID",
        received=f"FailureReason {item.failure_reason}, ReferencedSOPInstanceUID {item.sop_instance_uid}",
    )


@pytest.mark.behavior("STOW-18")
def test_referenced_item_retrieve_url_dereferences(dicomweb: Dicomweb) -> None:
    """STOW-18 (D1, D2, SRC): each ReferencedSOPSequence item has the UIDs and an absolute
    RetrieveURL of the instance, including the API version, that retrieves it."""
    file = dicomweb.instances.instance()
    response = dicomweb.client.store_instances([file])
    expect_status(response, 200, why="the instance is valid")
    store_result(response)
    item = expect_referenced(response, file, why="the stored instance is referenced")
    url = item.retrieve_url or ""
    parts = urlsplit(url)
    expect(
        parts.scheme in ("http", "https") and bool(parts.netloc),
        "RetrieveURL is an absolute URL",
        response=response,
        expected="an absolute http(s) URL",
        received=url or "none",
    )
    expected_path = f"studies/{file.study_uid}/series/{file.series_uid}/instances/{file.sop_instance_uid}"
    expect(
        parts.path.endswith(expected_path),
        "RetrieveURL is the URL of the instance",
        response=response,
        expected=f"a path ending in {expected_path}",
        received=parts.path,
    )
    version = dicomweb.profile.api_version
    if version:
        expect(
            f"/{version}/" in parts.path,
            "RetrieveURL carries the API version",
            response=response,
            expected=f"/{version}/ in the path",
            received=parts.path,
        )
    fetched = dicomweb.client.request("GET", url, headers={"Accept": MULTIPART_DICOM_ANY})
    expect_status(fetched, 200, why="the RetrieveURL of a stored instance retrieves it")


@pytest.mark.behavior("STOW-18")
def test_v2_referenced_item_has_empty_failed_attributes(dicomweb: Dicomweb) -> None:
    """STOW-18 (E2E): in v2 every ReferencedSOPSequence item carries FailedAttributesSequence,
    with no items when there were no warnings."""
    v1 = uses_v1_rules(dicomweb.profile)
    require_azure_compatible(dicomweb.profile, "the always-present FailedAttributesSequence")
    if v1:
        pytest.skip("not applicable: v2 behaviour, target is v1")
    file = dicomweb.instances.instance()
    response = dicomweb.client.store_instances([file])
    expect_status(response, 200, why="the instance is valid")
    store_result(response)
    item = expect_referenced(response, file, why="the stored instance is referenced")
    element = item.raw.get(FAILED_ATTRIBUTES_SEQUENCE)
    expect(
        isinstance(element, dict) and element.get("vr") == "SQ" and not element.get("Value"),
        "FailedAttributesSequence is present and empty",
        response=response,
        expected='"00741048": {"vr": "SQ"} with no items',
        received=repr(element),
    )


@pytest.mark.behavior("STOW-19", "STOW-25")
def test_error_comment_format(dicomweb: Dicomweb) -> None:
    """STOW-19 (D1, D2, E2E): ErrorComment reads ``DICOM100: (gggg,eeee) - <reason>``, one per
    failing attribute. An invalid StudyDate is a warning in v2 and a failure in v1."""
    v1 = uses_v1_rules(dicomweb.profile)
    file = dicomweb.instances.with_raw_value("StudyDate", "NotAValidStudyDate")
    response = dicomweb.client.store_instances([file])
    if v1:
        expect_status(response, 409, why="v1 fails an instance with an invalid searchable attribute")
        store_result(response)
        item = expect_failed(response, file, {VALIDATION_FAILED}, why="the instance fails validation")
        comments = item.error_comments or ()
    else:
        expect_status(response, 202, why="v2 stores the instance with a warning")
        store_result(response)
        comments = expect_referenced(response, file, why="the instance is stored").error_comments or ()
    expect(
        len(comments) == 1,
        "one ErrorComment for the one failing attribute",
        response=response,
        expected="1 FailedAttributesSequence item",
        received=repr(comments),
    )
    expect(
        bool(ERROR_COMMENT.fullmatch(comments[0])) and comments[0].startswith("DICOM100: (0008,0020) - "),
        "the comment has the documented format and names StudyDate",
        response=response,
        expected="DICOM100: (0008,0020) - <reason>",
        received=comments[0],
    )


@pytest.mark.behavior("STOW-21", "STOW-20")
def test_implicit_vr_file_gets_warning_45063(dicomweb: Dicomweb) -> None:
    """STOW-21 (D2, SRC) / AMB-11: an Implicit VR Little Endian file is stored with
    WarningReason 45063; the status stays 200 in v1 and is 202 in v2. D1 lists 45063 as a
    failure code, so a v1 target following the documents may refuse the file instead."""
    v1 = uses_v1_rules(dicomweb.profile)
    file = dicomweb.instances.instance(transfer_syntax="1.2.840.10008.1.2")
    response = dicomweb.client.store_instances([file])
    rule = dicomweb.profile.follows("AMB-11").value
    v1_failure = v1 and (rule == "documented" or (rule == "either" and response.status == 409))
    if v1_failure:
        expect_status(response, 409, why="D1 lists 45063 as a failure reason for v1")
        store_result(response)
        expect_failed(response, file, {DATASET_DOES_NOT_MATCH_SOP_CLASS}, why="the file fails with 45063")
        return
    status = 200 if v1 else 202
    expect_status(response, status, why="an implicit-VR file is stored with a warning")
    store_result(response)
    item = expect_referenced(response, file, why="the implicit-VR file is stored")
    expect(
        item.warning_reason == DATASET_DOES_NOT_MATCH_SOP_CLASS,
        "the item carries WarningReason 45063",
        response=response,
        expected="WarningReason (0008,1196) 45063",
        received=f"{item.warning_reason}",
    )
    expect_stored(dicomweb.client, file, why="the warned instance is retrievable")


@pytest.mark.behavior("STOW-22", "GEN-10")
def test_multi_valued_indexed_attribute_warns(dicomweb: Dicomweb) -> None:
    """STOW-22 (SRC) / GEN-10: an indexed single-valued attribute with several values (here
    PatientID) is stored, only its first value indexed, and the answer carries
    ``Warning: 299 {host}: "One or more indexed Dicom tag(s) have multiple values, only first
    value is indexed."``"""
    require_azure_compatible(dicomweb.profile, "the multiple-values Warning header")
    first = f"DWC{dicomweb.instances.instance().sop_instance_uid[-10:]}"  # type: ignore[index]
    file = dicomweb.instances.with_raw_value("PatientID", f"{first}\\SECOND")
    response = dicomweb.client.store_instances([file])
    expect_status(response, 200, 202, why="the instance is stored despite the multi-valued attribute")
    store_result(response)
    expect_referenced(response, file, why="the instance is stored")
    values = response.header_values("warning")
    texts = [parsed[1] for v in values if (parsed := parse_warning_header(v))]
    expect(
        MULTIPLE_VALUES_WARNING in texts,
        "the answer warns that only the first value is indexed",
        response=response,
        expected=f'Warning: 299 <host>: "{MULTIPLE_VALUES_WARNING}"',
        received="; ".join(values) or "no Warning header",
    )
    expect_stored(dicomweb.client, file, why="the instance is retrievable")
    found = dicomweb.client.search_for_instances([("PatientID", first), ("SOPInstanceUID", str(file.sop_instance_uid))])
    expect_status(found, 200, why="the instance is found by the first PatientID value, which is indexed")


@pytest.mark.behavior("GEN-10")
def test_warning_header_format(dicomweb: Dicomweb) -> None:
    """GEN-10 (SRC, E2E): ``Warning: 299 {host}: "{message}"`` with the request's host."""
    require_azure_compatible(dicomweb.profile, "the Warning header on STOW")
    file = dicomweb.instances.with_raw_value("PatientID", "ONE\\TWO")
    response = dicomweb.client.store_instances([file])
    expect_status(response, 200, 202, why="the instance is stored with a warning")
    value = expect_header(response, "Warning", why="the multi-valued attribute produces a Warning header")
    parsed = parse_warning_header(value)
    expect(
        parsed is not None,
        'the Warning header has the form 299 {host}: "{message}"',
        response=response,
        expected='299 <host>: "<message>"',
        received=value,
    )
    assert parsed is not None
    host = urlsplit(dicomweb.client.base_url)
    expect(
        parsed[0] in (host.netloc, host.hostname),
        "the warn-agent is the request's host",
        response=response,
        expected=f"{host.netloc} or {host.hostname}",
        received=parsed[0],
    )
