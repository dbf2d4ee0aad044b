"""Workitem test data (conformance.testdata.workitems): valid workitems as the service requires
them (UPS-09), broken variants that change one attribute, final-state attributes (UPS-22)."""

from __future__ import annotations

import pytest
from pydicom import Dataset

from conformance.core.dicom_json import tag_key
from conformance.core.uids import is_suite_uid
from conformance.testdata.workitems import (
    FORBIDDEN_IN_UPDATE,
    LABEL_PREFIX,
    PRIVATE_KEY,
    PRIVATE_VALUE,
    REQUIRED_EMPTY,
    REQUIRED_WITH_VALUE,
    cancellation_attributes,
    cancellation_request,
    completion_attributes,
    forbidden_update,
    new_workitem,
    state_change,
    with_code_without_meaning,
    with_progress_at_creation,
    with_values,
    without,
)


def test_new_workitems_are_fresh_and_recognisable() -> None:
    first, second = new_workitem("a"), new_workitem("b")
    assert first.uid != second.uid
    assert is_suite_uid(first.uid)
    assert first.dataset.ProcedureStepLabel == f"{LABEL_PREFIX}: a"
    assert first.dataset.ProcedureStepState == "SCHEDULED"
    assert first.patient_id != second.patient_id
    assert first.dataset.ScheduledProcedureStepStartDateTime.startswith("2030")


def test_valid_workitem_holds_what_creation_requires() -> None:
    obj = new_workitem("required").json()
    for keyword in REQUIRED_WITH_VALUE:
        assert obj[tag_key(keyword)].get("Value"), keyword
    for keyword in REQUIRED_EMPTY:
        assert tag_key(keyword) in obj, keyword
    assert "Value" not in obj[tag_key("TransactionUID")]
    assert obj[PRIVATE_KEY]["Value"] == [PRIVATE_VALUE]
    request = obj[tag_key("ReferencedRequestSequence")]["Value"][0]
    assert request[tag_key("StudyInstanceUID")]["Value"] == obj[tag_key("StudyInstanceUID")]["Value"]
    for sequence in ("ScheduledStationNameCodeSequence", "ScheduledWorkitemCodeSequence"):
        assert obj[tag_key(sequence)]["Value"][0][tag_key("CodeMeaning")]["Value"]


def test_uid_can_be_left_out_of_the_json() -> None:
    item = new_workitem("uid")
    assert item.json()[tag_key("SOPInstanceUID")]["Value"] == [item.uid]
    assert tag_key("SOPInstanceUID") not in item.json(with_uid=False)
    assert new_workitem("given", uid="2.25.5").uid == "2.25.5"


def test_broken_variants_change_one_attribute() -> None:
    item = new_workitem("broken")
    valid = item.json()
    for broken, key in (
        (without(item, "ProcedureStepLabel"), tag_key("ProcedureStepLabel")),
        (with_values(item, "TransactionUID", "2.25.1"), tag_key("TransactionUID")),
        (with_values(item, "ProcedureStepState", "in progress"), tag_key("ProcedureStepState")),
        (with_progress_at_creation(item), tag_key("ProcedureStepProgressInformationSequence")),
        (with_code_without_meaning(item), tag_key("ScheduledWorkitemCodeSequence")),
    ):
        assert {k for k in set(valid) | set(broken) if valid.get(k) != broken.get(k)} == {key}
    assert with_values(item, "ProcedureStepLabel")[tag_key("ProcedureStepLabel")] == {"vr": "LO"}


def test_final_state_attributes() -> None:
    performed = completion_attributes().UnifiedProcedureStepPerformedProcedureSequence[0]
    for keyword in (
        "PerformedStationNameCodeSequence",
        "PerformedProcedureStepStartDateTime",
        "PerformedWorkitemCodeSequence",
        "PerformedProcedureStepEndDateTime",
        "OutputInformationSequence",
    ):
        assert keyword in performed
    progress = cancellation_attributes().ProcedureStepProgressInformationSequence[0]
    assert progress.ProcedureStepCancellationDateTime
    assert progress.ProcedureStepDiscontinuationReasonCodeSequence[0].CodeValue == "110513"


def test_action_information() -> None:
    assert state_change("IN PROGRESS", "2.25.1") == {
        "00081195": {"vr": "UI", "Value": ["2.25.1"]},
        "00741000": {"vr": "CS", "Value": ["IN PROGRESS"]},
    }
    assert state_change(None, None) == {}
    request = cancellation_request("why", contact_uri="mailto:x@y.z", contact_name="X")
    assert isinstance(request, Dataset)
    assert request.ReasonForCancellation == "why"
    assert request.ContactURI == "mailto:x@y.z"


@pytest.mark.parametrize("keyword", list(FORBIDDEN_IN_UPDATE))
def test_forbidden_updates(keyword: str) -> None:
    assert list(forbidden_update(keyword)) == [tag_key(keyword)]
