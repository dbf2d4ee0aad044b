"""Request Cancellation (PS3.18 11.8, N-ACTION "Request UPS Cancel"): only a SCHEDULED
workitem is canceled this way; the other states are refused with their reasons.

Behaviour catalogue section 6 (UPS-23..27); PS3.4 Table CC.1.1-2 "Request Cancel". Where the
documents and the service differ (AMB-15) the profile decides.
"""

from __future__ import annotations

import json

import pytest

from conformance.checks import expect, expect_status
from conformance.checks.workitems import (
    ALREADY_CANCELED,
    NOT_FOUND_TEXT,
    WorkitemRules,
    WorkitemState,
    cancel_request_expectation,
    create_ok,
    expect_outcome,
    expect_state,
    first_value,
    retrieve_ok,
    values_of,
    workitem_in_state,
)
from conformance.core.uids import new_uid
from conformance.plugin import Dicomweb
from conformance.testdata.workitems import cancellation_request, new_workitem

pytestmark = pytest.mark.requires("workitems")

REASON = "dicomweb-conformance: no longer needed"
CONTACT = "mailto:worklist@example.org"


def _body_text(body: bytes) -> str:
    """The message of a body that is a JSON string (the service's form) or plain text."""
    text = body.decode("utf-8", "replace").strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    return parsed if isinstance(parsed, str) else text


@pytest.mark.behavior("UPS-24", "UPS-23")
def test_cancel_a_scheduled_workitem(dicomweb: Dicomweb) -> None:
    """UPS-23, UPS-24 (D1, D2; PS3.4 Table CC.1.1-2): a cancellation request with a reason and a
    contact is accepted with 202 and the SCHEDULED workitem becomes CANCELED (the service and
    PS3.4 do it at once; E2E: retrieve shows CANCELED). (SRC) The workitem then holds a progress
    information item with the cancellation date-time and the reason given."""
    item = new_workitem("cancel request")
    create_ok(dicomweb.client, item)
    info = cancellation_request(REASON, contact_uri=CONTACT, contact_name="Conformance Suite")
    response = dicomweb.client.request_cancellation(item.uid, info)
    expect_status(response, 202, why="a SCHEDULED workitem is canceled on request")
    obj = retrieve_ok(dicomweb.client, item.uid, single_object=dicomweb.profile.azure_compatible, why="it is there")
    expect_state(response, obj, WorkitemState.CANCELED, why="the workitem is CANCELED")
    if not dicomweb.profile.azure_compatible:
        return
    progress = [i for i in values_of(obj, "ProcedureStepProgressInformationSequence") if isinstance(i, dict)]
    when = first_value(progress[0], "ProcedureStepCancellationDateTime") if progress else None
    reason = first_value(progress[0], "ReasonForCancellation") if progress else None
    expect(
        bool(when) and reason == REASON,
        "the progress information records when and why it was canceled",
        response=response,
        expected=f"ProcedureStepCancellationDateTime and ReasonForCancellation {REASON!r}",
        received=f"{len(progress)} item(s); date-time {when!r}; reason {reason!r}",
    )


@pytest.mark.behavior("UPS-23", "UPS-02")
def test_cancel_request_needs_dicom_json(dicomweb: Dicomweb) -> None:
    """UPS-23 (D1, D2, SW): another Content-Type than application/dicom+json gives 415 and the
    workitem stays SCHEDULED; UPS-02: an invalid workitem UID gives 400."""
    item = new_workitem("cancel request, wrong Content-Type")
    create_ok(dicomweb.client, item)
    response = dicomweb.client.request_cancellation(item.uid, cancellation_request(REASON), content_type="text/plain")
    expect_status(response, 415, why="the body is not labelled application/dicom+json")
    obj = retrieve_ok(dicomweb.client, item.uid, single_object=dicomweb.profile.azure_compatible, why="it is there")
    expect_state(response, obj, WorkitemState.SCHEDULED, why="the refused request changed nothing")
    expect_status(dicomweb.client.request_cancellation("not-a-uid"), 400, why="an invalid workitem UID (UPS-02)")


@pytest.mark.behavior("UPS-25")
def test_cancel_a_canceled_workitem(dicomweb: Dicomweb) -> None:
    """UPS-25 (D1, D2 header; E2E status and body): a second request gives 409 with
    ``Warning: 299 {host}: "The UPS is already in the requested state of CANCELED."`` and that
    sentence as a JSON string body. PS3.18 Table 11.8.3-1 answers 202 with the warning (B304):
    outside Azure compatibility both pass, the warning is required either way."""
    item = new_workitem("cancel request twice")
    create_ok(dicomweb.client, item)
    expect_status(dicomweb.client.request_cancellation(item.uid), 202, why="the first request cancels it")
    expectation = cancel_request_expectation(WorkitemRules.of(dicomweb.profile), WorkitemState.CANCELED)
    response = dicomweb.client.request_cancellation(item.uid)
    expect_outcome(response, expectation, why="the workitem is already CANCELED")
    if dicomweb.profile.azure_compatible:
        text = _body_text(response.content)
        expect(
            text == ALREADY_CANCELED,
            "the body repeats the reason",
            response=response,
            expected=ALREADY_CANCELED,
            received=text,
        )


@pytest.mark.behavior("UPS-26")
def test_cancel_an_unknown_workitem(dicomweb: Dicomweb) -> None:
    """UPS-26 (D1, D2, E2E): 404, with the body "The workitem instance is not found." for the
    service."""
    response = dicomweb.client.request_cancellation(new_uid(), cancellation_request(REASON))
    expect_status(response, 404, why="there is no such workitem")
    if dicomweb.profile.azure_compatible:
        text = _body_text(response.content)
        expect(
            text == NOT_FOUND_TEXT,
            "the body says it is not found",
            response=response,
            expected=NOT_FOUND_TEXT,
            received=text,
        )


@pytest.mark.behavior("UPS-27")
@pytest.mark.parametrize(
    "state", [WorkitemState.IN_PROGRESS, WorkitemState.COMPLETED], ids=["IN_PROGRESS", "COMPLETED"]
)
def test_cancel_request_refused_for_owned_or_done(dicomweb: Dicomweb, state: WorkitemState) -> None:
    """UPS-27 (D1, D2; SRC): an IN PROGRESS workitem cannot be canceled this way (the service has
    no Watch / Event SOP class to tell its owner: C312), nor a COMPLETED one (C311). The service
    answers 400; the documents list 409 (AMB-15, the profile decides). The state is unchanged.
    (A workitem locked by a concurrent update, 409 / C313, cannot be provoked by the suite.)"""
    expectation = cancel_request_expectation(WorkitemRules.of(dicomweb.profile), state)
    item, _ = workitem_in_state(dicomweb.client, state, purpose=f"cancel request when {state}")
    response = dicomweb.client.request_cancellation(item.uid, cancellation_request(REASON))
    expect_outcome(response, expectation, why=f"a {state} workitem is not canceled on request")
    obj = retrieve_ok(dicomweb.client, item.uid, single_object=dicomweb.profile.azure_compatible, why="it is there")
    expect_state(response, obj, state, why=f"the workitem is still {state}")
