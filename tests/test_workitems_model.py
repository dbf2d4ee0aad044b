"""The model of the workitem state machine (conformance.checks.workitems): the UPS-21 table as
data, the statuses each profile allows, and the Warning checks."""

from __future__ import annotations

import itertools

import httpx
import pytest

from conformance.checks.workitems import (
    ALREADY_CANCELED,
    CHANGE_STATE_TABLE,
    FINAL_STATE_WARNINGS,
    Presented,
    Result,
    WorkitemRules,
    WorkitemState,
    cancel_request_expectation,
    change_state_expectation,
    expect_no_transaction_uid,
    expect_outcome,
    expect_warning,
    update_expectation,
    workitem_of,
)
from conformance.client.exchange import Exchange, record_request, record_response
from conformance.client.responses import DicomwebResponse
from conformance.core.errors import ConformanceFailure
from conformance.profile import Profile

S, P, D, C = WorkitemState.SCHEDULED, WorkitemState.IN_PROGRESS, WorkitemState.COMPLETED, WorkitemState.CANCELED
REFERENCE = WorkitemRules.of(Profile.load("reference"))
AZURE = WorkitemRules.of(Profile.load("azure-v2"))


def answer(status: int, *, headers: dict[str, str] | None = None, body: bytes = b"") -> DicomwebResponse:
    request = httpx.Request("PUT", "http://dicom.test/v2/workitems/2.25.1/state")
    raw = httpx.Response(status, headers=headers or {}, content=body, request=request)
    return DicomwebResponse(exchange=Exchange(record_request(request, b""), record_response(raw, 0.0)), raw=raw)


def test_the_table_has_every_cell() -> None:
    """Every (current, requested, same UID) combination is in the table, except the "same UID"
    rows of SCHEDULED, which has no recorded UID."""
    requested = [P, D, C]
    expected = {
        (s, r, m) for s, r, m in itertools.product(WorkitemState, requested, (True, False)) if s is not S or not m
    }
    assert set(CHANGE_STATE_TABLE) == expected


@pytest.mark.parametrize(
    ("row", "code", "result"),
    [
        ((S, P, False), "0000", Result.SUCCESS),
        ((P, P, True), "C302", Result.FAILURE),
        ((P, D, False), "C301", Result.FAILURE),
        ((D, D, True), "B306", Result.WARNING),
        ((C, C, True), "B304", Result.WARNING),
        ((C, P, True), "C300", Result.FAILURE),
    ],
)
def test_table_cells(row: tuple[WorkitemState, WorkitemState, bool], code: str, result: Result) -> None:
    assert CHANGE_STATE_TABLE[row].code == code
    assert CHANGE_STATE_TABLE[row].result is result


def test_rules_follow_the_profiles() -> None:
    """Reference: AMB-12 / AMB-13 documented, AMB-14 / AMB-15 implemented; Azure: implemented."""
    assert REFERENCE.update_canceled == {400}
    assert AZURE.update_canceled == {409}
    assert REFERENCE.update_unknown == {404}
    assert AZURE.update_unknown == {400}
    assert REFERENCE.state_failure == {400} == AZURE.state_failure
    assert REFERENCE.cancel_completed == {400}
    assert REFERENCE.cancel_canceled == {409}
    generic = WorkitemRules.of(Profile.from_mapping({"target": {"name": "g"}}, source="test"))
    assert generic.state_failure == {400, 409}
    assert generic.cancel_canceled == {202, 409}
    assert generic.update_unknown == {400, 404}


def test_change_state_expectations() -> None:
    claim = change_state_expectation(REFERENCE, S, P, False, final_ready=False)
    assert claim.statuses == {200}
    assert claim.state_after(200, S) is P
    assert claim.state_after(400, S) is S
    unready = change_state_expectation(REFERENCE, P, D, True, final_ready=False)
    assert (unready.code, unready.statuses, unready.failure_warning) == ("C304", {400}, True)
    warned = change_state_expectation(REFERENCE, D, D, True, final_ready=True)
    assert warned.warning == FINAL_STATE_WARNINGS["B306"]
    assert warned.state_after(200, D) is D
    assert change_state_expectation(REFERENCE, None, P, False, final_ready=True).statuses == {404}
    generic = WorkitemRules.of(Profile.from_mapping({"target": {"name": "g"}}, source="test"))
    lenient = change_state_expectation(generic, P, C, True, final_ready=False)
    assert lenient.statuses == {200, 400, 409}
    assert lenient.state_after(200, P) is C


def test_update_and_cancel_expectations() -> None:
    assert update_expectation(REFERENCE, S, Presented.NONE).statuses == {200}
    assert update_expectation(REFERENCE, S, Presented.OTHER).statuses == {400}
    assert update_expectation(REFERENCE, P, Presented.CURRENT).statuses == {200}
    assert update_expectation(REFERENCE, P, Presented.NONE).code == "C301"
    assert update_expectation(REFERENCE, C, Presented.CURRENT).statuses == {400}
    assert update_expectation(AZURE, C, Presented.CURRENT).statuses == {409}
    assert cancel_request_expectation(REFERENCE, S).state_after(202, S) is C
    assert cancel_request_expectation(REFERENCE, P).statuses == {400}
    canceled = cancel_request_expectation(REFERENCE, C)
    assert (canceled.statuses, canceled.warning) == ({409}, ALREADY_CANCELED)


def test_expect_outcome_checks_status_and_warnings() -> None:
    warned = change_state_expectation(REFERENCE, D, D, True, final_ready=True)
    good = answer(200, headers={"Warning": f'299 dicom.test: "{FINAL_STATE_WARNINGS["B306"]}"'})
    expect_outcome(good, warned, why="B306")
    with pytest.raises(ConformanceFailure, match="nothing changed"):
        expect_outcome(answer(200), warned, why="B306")
    with pytest.raises(ConformanceFailure) as caught:
        expect_outcome(answer(200, headers={"Warning": FINAL_STATE_WARNINGS["B306"]}), warned, why="B306")
    assert "299 <host>" in str(caught.value.detail.expected)
    refused = change_state_expectation(REFERENCE, P, P, True, final_ready=True)
    with pytest.raises(ConformanceFailure, match="Warning header"):
        expect_outcome(answer(400), refused, why="C302")
    expect_outcome(answer(400, headers={"Warning": '299 h: "C302"'}), refused, why="C302")
    with pytest.raises(ConformanceFailure, match="C302"):
        expect_outcome(answer(409, headers={"Warning": '299 h: "C302"'}), refused, why="C302")


def test_expect_warning_contains() -> None:
    response = answer(202, headers={"Warning": '299 h: "The UPS is already CANCELED, really."'})
    assert expect_warning(response, why="x", text="CANCELED", exact=False).startswith("The UPS")
    with pytest.raises(ConformanceFailure):
        expect_warning(response, why="x", text="CANCELED")


def test_workitem_of_and_transaction_uid() -> None:
    obj = {"00741000": {"vr": "CS", "Value": ["SCHEDULED"]}}
    array = answer(200, body=b'[{"00741000": {"vr": "CS", "Value": ["SCHEDULED"]}}]')
    assert workitem_of(array, why="x", single_object=False) == obj
    with pytest.raises(ConformanceFailure, match="x"):
        workitem_of(array, why="x", single_object=True)
    expect_no_transaction_uid(array, obj, why="absent")
    with pytest.raises(ConformanceFailure, match="leaked"):
        expect_no_transaction_uid(array, {**obj, "00081195": {"vr": "UI"}}, why="leaked")
