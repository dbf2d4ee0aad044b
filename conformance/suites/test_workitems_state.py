"""Change Workitem State (PS3.18 11.7, N-ACTION "Change UPS State"): every row of the state
table, the Transaction UID lock, the final-state requirements.

Behaviour catalogue section 6 (UPS-17..22); PS3.4 Table CC.1.1-2 and CC.2.5.1.1. Refusals are
400 for the service and 400 or 409 by the documents (AMB-14, the profile decides).
"""

from __future__ import annotations

import pytest

from conformance.checks import expect, expect_empty_body, expect_status
from conformance.checks.workitems import (
    CHANGE_STATE_TABLE,
    WorkitemRules,
    WorkitemState,
    change_state_expectation,
    claim_ok,
    create_ok,
    expect_outcome,
    first_value,
    retrieve_ok,
    workitem_in_state,
)
from conformance.core.uids import new_uid
from conformance.plugin import Dicomweb
from conformance.profile import Rule
from conformance.suites._support import require_azure_compatible
from conformance.testdata.workitems import (
    PATIENT_NAME,
    cancellation_request,
    completion_attributes,
    new_workitem,
    state_change,
)

pytestmark = pytest.mark.requires("workitems")

IN_PROGRESS = str(WorkitemState.IN_PROGRESS)


def _state(dicomweb: Dicomweb, uid: str) -> object:
    obj = retrieve_ok(dicomweb.client, uid, single_object=dicomweb.profile.azure_compatible, why="it is there")
    return first_value(obj, "ProcedureStepState")


def _expect_still(dicomweb: Dicomweb, uid: str, state: WorkitemState, why: str) -> None:
    found = _state(dicomweb, uid)
    expect(found == str(state), why, expected=f"ProcedureStepState {state}", received=f"ProcedureStepState {found}")


ROWS = sorted(
    CHANGE_STATE_TABLE, key=lambda k: (list(WorkitemState).index(k[0]), list(WorkitemState).index(k[1]), k[2])
)


@pytest.mark.behavior("UPS-21")
@pytest.mark.parametrize(
    "row", ROWS, ids=[f"{c.value}->{r.value}-{'same' if m else 'other'}-uid".replace(" ", "_") for c, r, m in ROWS]
)
def test_state_table_row(dicomweb: Dicomweb, row: tuple[WorkitemState, WorkitemState, bool]) -> None:
    """UPS-21 (SRC; PS3.4 Table CC.1.1-2): one row of the state table. The workitem is brought
    to the current state with the final-state attributes in place; the change is requested with
    the recorded Transaction UID or another one. Successes answer 200 and move the workitem;
    B304 / B306 answer 200 with ``Warning: 299 {host}: "...already in the final state..."``;
    refusals answer 400 (409 allowed by the documents, AMB-14), with a Warning for the service;
    the state is then unchanged."""
    current, requested, same_uid = row
    rules = WorkitemRules.of(dicomweb.profile)
    expectation = change_state_expectation(rules, current, requested, same_uid, final_ready=True)
    item, transaction_uid = workitem_in_state(dicomweb.client, current, purpose=f"state table: {current}")
    given = transaction_uid if same_uid and transaction_uid else new_uid()
    response = dicomweb.client.change_workitem_state(item.uid, str(requested), given)
    expect_outcome(response, expectation, why=f"{current} -> {requested} with {'its' if same_uid else 'another'} UID")
    after = expectation.state_after(response.status, current)
    _expect_still(dicomweb, item.uid, after or current, f"the workitem is {after} after the answer {response.status}")


@pytest.mark.behavior("UPS-21")
@pytest.mark.parametrize("requested", list(WorkitemState)[1:], ids=[s.value for s in list(WorkitemState)[1:]])
def test_unknown_workitem_is_404(dicomweb: Dicomweb, requested: WorkitemState) -> None:
    """UPS-21 (SRC; PS3.4 C307): a change of a workitem that does not exist gives 404."""
    expectation = change_state_expectation(WorkitemRules.of(dicomweb.profile), None, requested, False, final_ready=True)
    response = dicomweb.client.change_workitem_state(new_uid(), str(requested), new_uid())
    expect_outcome(response, expectation, why="there is no such workitem")


@pytest.mark.behavior("UPS-21", "UPS-24")
@pytest.mark.parametrize("requested", list(WorkitemState)[1:], ids=[s.value for s in list(WorkitemState)[1:]])
def test_canceled_by_request_has_no_owner(dicomweb: Dicomweb, requested: WorkitemState) -> None:
    """UPS-21 (SRC): a workitem canceled through a cancellation request never had a Transaction
    UID, so every later change of state fails (C301), even to CANCELED."""
    item = new_workitem("canceled by request, then changed")
    create_ok(dicomweb.client, item)
    expect_status(
        dicomweb.client.request_cancellation(item.uid, cancellation_request("test")), 202, why="it is canceled"
    )
    rules = WorkitemRules.of(dicomweb.profile)
    expectation = change_state_expectation(rules, WorkitemState.CANCELED, requested, False, final_ready=True)
    response = dicomweb.client.change_workitem_state(item.uid, str(requested), new_uid())
    expect_outcome(response, expectation, why=f"a request-canceled workitem cannot become {requested}")
    _expect_still(dicomweb, item.uid, WorkitemState.CANCELED, "the workitem stays CANCELED")


@pytest.mark.behavior("UPS-22")
@pytest.mark.parametrize("final", [WorkitemState.COMPLETED, WorkitemState.CANCELED], ids=["COMPLETED", "CANCELED"])
def test_final_state_requirements(dicomweb: Dicomweb, final: WorkitemState) -> None:
    """UPS-22 (SRC; PS3.4 CC.2.5.1.1): without its final-state attributes a claimed workitem
    cannot be COMPLETED (performed procedure sequence) or CANCELED (progress information with
    the cancellation date-time and reason): 400 (C304), and it stays IN PROGRESS. After an
    update by its owner adds them, the same request succeeds (the E2E flow: create, claim,
    update with the Transaction UID, complete)."""
    rules = WorkitemRules.of(dicomweb.profile)
    item, transaction_uid = workitem_in_state(
        dicomweb.client, WorkitemState.IN_PROGRESS, purpose=f"final state {final} unprepared", prepared_for=()
    )
    assert transaction_uid is not None
    expectation = change_state_expectation(rules, WorkitemState.IN_PROGRESS, final, True, final_ready=False)
    response = dicomweb.client.change_workitem_state(item.uid, str(final), transaction_uid)
    expect_outcome(response, expectation, why=f"the workitem lacks what {final} requires")
    _expect_still(dicomweb, item.uid, WorkitemState.IN_PROGRESS, "the refused workitem stays IN PROGRESS")
    from conformance.checks.workitems import final_state_attributes

    changes = final_state_attributes(final)
    expect_status(dicomweb.client.update_workitem(item.uid, changes, transaction_uid), 200, why="the owner adds them")
    response = dicomweb.client.change_workitem_state(item.uid, str(final), transaction_uid)
    expect_status(response, 200, why=f"with its final-state attributes the workitem becomes {final}")
    _expect_still(dicomweb, item.uid, final, f"the workitem is {final}")


@pytest.mark.behavior("UPS-19", "UPS-20")
def test_the_claim_locks_the_workitem(dicomweb: Dicomweb) -> None:
    """UPS-19 (D1, D2): the client invents the Transaction UID when it claims; afterwards only
    that UID moves the workitem: another one is refused (400; AMB-14), the claimer completes
    it. UPS-20 (D1, D2; AMB-14 implemented: no body): success is 200."""
    rules = WorkitemRules.of(dicomweb.profile)
    item = new_workitem("claim, then complete")
    create_ok(dicomweb.client, item)
    expect_status(dicomweb.client.update_workitem(item.uid, completion_attributes()), 200, why="it is prepared")
    mine = new_uid()
    response = dicomweb.client.change_workitem_state(item.uid, IN_PROGRESS, mine)
    expect_status(response, 200, why="the workitem is claimed with the client's UID")
    if dicomweb.profile.follows("AMB-14") is Rule.IMPLEMENTED:
        expect_empty_body(response, why="a successful change of state has no body")
    response = dicomweb.client.change_workitem_state(item.uid, "COMPLETED", new_uid())
    expect_status(response, *sorted(rules.state_failure), why="another transaction UID cannot complete it")
    _expect_still(dicomweb, item.uid, WorkitemState.IN_PROGRESS, "the workitem is still IN PROGRESS")
    response = dicomweb.client.change_workitem_state(item.uid, "COMPLETED", mine)
    expect_status(response, 200, why="the claimer completes it with its transaction UID")
    _expect_still(dicomweb, item.uid, WorkitemState.COMPLETED, "the workitem is COMPLETED")


BAD_ACTIONS = {
    "no transaction UID": state_change(IN_PROGRESS, None),
    "no state": state_change(None, "2.25.1"),
    "SCHEDULED": state_change("SCHEDULED", "2.25.1"),
    "lower case": state_change("in progress", "2.25.1"),
    "unknown state": state_change("DONE", "2.25.1"),
}


@pytest.mark.behavior("UPS-18")
@pytest.mark.parametrize("bad", list(BAD_ACTIONS), ids=list(BAD_ACTIONS))
def test_change_state_needs_uid_and_state(dicomweb: Dicomweb, bad: str) -> None:
    """UPS-18 (D1, D2, SRC; PS3.4 C303): the body needs a Transaction UID and the state IN
    PROGRESS, COMPLETED or CANCELED, in exactly these upper-case spellings; otherwise 400 and
    the workitem stays SCHEDULED."""
    item = new_workitem(f"change state, {bad}")
    create_ok(dicomweb.client, item)
    action = dict(BAD_ACTIONS[bad])
    if "00081195" in action:
        action["00081195"] = {"vr": "UI", "Value": [new_uid()]}
    response = dicomweb.client.change_workitem_state(item.uid, None, None, dataset=action)
    expect_status(response, 400, why=f"a change of state with {bad} is refused")
    _expect_still(dicomweb, item.uid, WorkitemState.SCHEDULED, "the workitem stays SCHEDULED")


@pytest.mark.behavior("UPS-18")
def test_change_state_ignores_other_attributes(dicomweb: Dicomweb) -> None:
    """UPS-18 (SRC): only the Transaction UID and the state are taken from the body; other
    attributes in it change nothing."""
    require_azure_compatible(dicomweb.profile, "ignoring the other attributes of a change of state")
    item = new_workitem("change state with extra attributes")
    create_ok(dicomweb.client, item)
    action = state_change(IN_PROGRESS, new_uid())
    action["00100010"] = {"vr": "PN", "Value": [{"Alphabetic": "Other^Name"}]}
    response = dicomweb.client.change_workitem_state(item.uid, IN_PROGRESS, None, dataset=action)
    expect_status(response, 200, why="the claim succeeds")
    obj = retrieve_ok(dicomweb.client, item.uid, single_object=True, why="it is there")
    name = first_value(obj, "PatientName")
    alphabetic = name.get("Alphabetic") if isinstance(name, dict) else name
    expect(alphabetic == PATIENT_NAME, "the patient's name is unchanged", expected=PATIENT_NAME, received=str(name))


@pytest.mark.behavior("UPS-17")
def test_change_state_media_types(dicomweb: Dicomweb) -> None:
    """UPS-17 (D1, D2, SW): a body labelled otherwise than application/dicom+json gives 415 and
    the state stays. The documents also call for ``Accept: application/dicom+json``; the
    service does not check it (AMB-14): under the implemented rule a claim without Accept
    succeeds."""
    item = new_workitem("change state, media types")
    create_ok(dicomweb.client, item)
    response = dicomweb.client.change_workitem_state(item.uid, IN_PROGRESS, new_uid(), content_type="application/json")
    expect_status(response, 415, why="the body is not labelled application/dicom+json")
    _expect_still(dicomweb, item.uid, WorkitemState.SCHEDULED, "the refused request changed nothing")
    if dicomweb.profile.follows("AMB-14") is Rule.IMPLEMENTED:
        claim = dicomweb.client.change_workitem_state(item.uid, IN_PROGRESS, new_uid(), accept=None)
        expect_status(claim, 200, why="the service does not check Accept on a change of state")
    else:
        claim_ok(dicomweb.client, item.uid)
    _expect_still(dicomweb, item.uid, WorkitemState.IN_PROGRESS, "the workitem is claimed")
