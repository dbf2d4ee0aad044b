"""Update Workitem (PS3.18 11.6, N-SET): the Transaction UID lock, what may not change, the
answers.

Behaviour catalogue section 6 (UPS-12..16); PS3.4 CC.2.6; D1, D2. Where the documents and the
service differ (AMB-12: a CANCELED workitem, AMB-13: an unknown one) the profile's rule decides.
"""

from __future__ import annotations

import pytest

from conformance.checks import expect, expect_header, expect_status, parse_warning_header
from conformance.checks.workitems import (
    Presented,
    WorkitemRules,
    WorkitemState,
    claim_ok,
    create_ok,
    expect_outcome,
    expect_state,
    first_value,
    retrieve_ok,
    update_expectation,
    values_of,
    workitem_in_state,
)
from conformance.core.uids import new_uid
from conformance.plugin import Dicomweb
from conformance.suites._support import require_azure_compatible
from conformance.testdata.workitems import (
    COMMENT,
    FORBIDDEN_IN_UPDATE,
    code_item,
    comment_update,
    forbidden_update,
    new_workitem,
)

pytestmark = pytest.mark.requires("workitems")


def _comment(dicomweb: Dicomweb, uid: str) -> object:
    obj = retrieve_ok(dicomweb.client, uid, single_object=dicomweb.profile.azure_compatible, why="it is there")
    return first_value(obj, "CommentsOnTheScheduledProcedureStep")


@pytest.mark.behavior("UPS-12", "UPS-15", "UPS-14")
def test_update_a_scheduled_workitem(dicomweb: Dicomweb) -> None:
    """UPS-12, UPS-15 (D1, D2, SRC): ``POST workitems/{uid}`` without a Transaction UID updates a
    SCHEDULED workitem: 200, and for the Azure service a Content-Location with the workitem's
    URL. UPS-14: the attributes sent replace the stored ones; the others stay."""
    item = new_workitem("update while SCHEDULED")
    create_ok(dicomweb.client, item)
    response = dicomweb.client.update_workitem(item.uid, comment_update("updated while SCHEDULED"))
    expect_status(response, 200, why="a SCHEDULED workitem is updated without a transaction UID")
    if dicomweb.profile.azure_compatible:
        expect_header(response, "Content-Location", pattern=rf"\S*/workitems/{item.uid}", why="it names the workitem")
    obj = retrieve_ok(dicomweb.client, item.uid, single_object=dicomweb.profile.azure_compatible, why="it is there")
    found = first_value(obj, "CommentsOnTheScheduledProcedureStep")
    expect(found == "updated while SCHEDULED", "the update is applied", expected="the new comment", received=str(found))
    label = first_value(obj, "ProcedureStepLabel")
    expect(
        label == item.dataset.ProcedureStepLabel,
        "attributes not sent stay",
        expected=str(item.dataset.ProcedureStepLabel),
        received=str(label),
    )
    expect_state(response, obj, WorkitemState.SCHEDULED, why="an update does not change the state")


@pytest.mark.behavior("UPS-12", "UPS-13", "UPS-19")
def test_update_a_claimed_workitem_with_its_transaction_uid(dicomweb: Dicomweb) -> None:
    """UPS-12, UPS-13, UPS-19 (D1, D2, SRC): once claimed, the workitem is updated only with the
    Transaction UID that claimed it, given as the bare name of the query parameter
    (``workitems/{uid}?{transaction-uid}``, AMB-27)."""
    item = new_workitem("update while IN PROGRESS")
    create_ok(dicomweb.client, item)
    transaction_uid = claim_ok(dicomweb.client, item.uid)
    response = dicomweb.client.update_workitem(item.uid, comment_update("updated by the owner"), transaction_uid)
    expect_status(response, 200, why="the owner updates the claimed workitem")
    found = _comment(dicomweb, item.uid)
    expect(
        found == "updated by the owner",
        "the update is applied",
        response=response,
        expected="the new comment",
        received=str(found),
    )


CASES = {
    "scheduled, with a transaction UID": (WorkitemState.SCHEDULED, Presented.OTHER),
    "in progress, without": (WorkitemState.IN_PROGRESS, Presented.NONE),
    "in progress, another": (WorkitemState.IN_PROGRESS, Presented.OTHER),
    "completed, with its own": (WorkitemState.COMPLETED, Presented.CURRENT),
    "canceled, with its own": (WorkitemState.CANCELED, Presented.CURRENT),
}


@pytest.mark.behavior("UPS-13", "UPS-16")
@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_update_refused_by_state_or_lock(dicomweb: Dicomweb, case: str) -> None:
    """UPS-13 (D1, D2, SRC; PS3.4 CC.2.6): SCHEDULED takes no Transaction UID; IN PROGRESS needs
    the current one (missing or another: 400); COMPLETED is never updated (400); CANCELED is
    400 by the documents and 409 by the service (AMB-12, the profile decides). UPS-16 (SRC):
    every refusal of the service carries a Warning header. The workitem is unchanged."""
    state, presented = CASES[case]
    expectation = update_expectation(WorkitemRules.of(dicomweb.profile), state, presented)
    item, transaction_uid = workitem_in_state(dicomweb.client, state, purpose=f"update refused: {case}")
    given = {Presented.NONE: None, Presented.CURRENT: transaction_uid, Presented.OTHER: new_uid()}[presented]
    response = dicomweb.client.update_workitem(item.uid, comment_update("must not be applied"), given)
    expect_outcome(response, expectation, why=f"an update of a {state} workitem ({case}) is refused")
    found = _comment(dicomweb, item.uid)
    expect(found == COMMENT, "the refused update changed nothing", expected=COMMENT, received=str(found))


@pytest.mark.behavior("UPS-16", "UPS-02")
def test_update_of_an_unknown_workitem(dicomweb: Dicomweb) -> None:
    """UPS-16 (D1, D2 404; SRC 400 "The target URI did not reference a claimed Workitem.";
    AMB-13, the profile decides), with a Warning header for the Azure service; UPS-02: an
    invalid workitem UID gives 400."""
    expectation = update_expectation(WorkitemRules.of(dicomweb.profile), None, Presented.NONE)
    response = dicomweb.client.update_workitem(new_uid(), comment_update("nobody is there"))
    expect_outcome(response, expectation, why="an update of a workitem that does not exist")
    expect_status(dicomweb.client.update_workitem("not-a-uid", comment_update("x")), 400, why="an invalid UID")


@pytest.mark.behavior("UPS-16")
def test_failed_update_warns_with_its_reason(dicomweb: Dicomweb) -> None:
    """UPS-16 (SRC): every failed update carries ``Warning: 299 {host}: "<reason>"`` (GEN-10)."""
    require_azure_compatible(dicomweb.profile, "the Warning header of a failed update")
    item = new_workitem("update refused, warning")
    create_ok(dicomweb.client, item)
    response = dicomweb.client.update_workitem(item.uid, comment_update("x"), new_uid())
    expect_status(response, 400, why="a SCHEDULED workitem takes no transaction UID")
    values = response.header_values("warning")
    expect(
        any(parse_warning_header(v) for v in values),
        "the refusal carries a Warning header with its reason",
        response=response,
        expected='Warning: 299 <host>: "<reason>"',
        received="; ".join(values) or "no Warning header",
    )


@pytest.mark.behavior("UPS-14")
@pytest.mark.parametrize("keyword", list(FORBIDDEN_IN_UPDATE))
def test_update_may_not_set_identity_or_state(dicomweb: Dicomweb, keyword: str) -> None:
    """UPS-14 (D1, D2, SRC; PS3.4 Table CC.2.5-3 N-SET "Not allowed"): an update may not set the
    state (only change-state and cancel-request do), the SOP identity, the patient or the
    request: 400, and the workitem keeps its values."""
    item = new_workitem(f"update sets {keyword}")
    create_ok(dicomweb.client, item)
    response = dicomweb.client.update_workitem(item.uid, forbidden_update(keyword))
    expect_status(response, 400, why=f"an update may not set {keyword}")
    obj = retrieve_ok(dicomweb.client, item.uid, single_object=dicomweb.profile.azure_compatible, why="it is there")
    expect_state(response, obj, WorkitemState.SCHEDULED, why="the workitem is still SCHEDULED")
    for kept, wanted in (("PatientID", item.patient_id), ("SOPInstanceUID", item.uid)):
        found = first_value(obj, kept)
        expect(found == wanted, f"{kept} is unchanged", response=response, expected=wanted, received=str(found))


@pytest.mark.behavior("UPS-14")
def test_update_replaces_a_sequence_whole(dicomweb: Dicomweb) -> None:
    """UPS-14 (D1, D2; PS3.4 CC.2.6): a sequence is sent with all its items and replaces the
    stored one."""
    from pydicom import Dataset
    from pydicom.sequence import Sequence

    item = new_workitem("update replaces a sequence")
    create_ok(dicomweb.client, item)
    changes = Dataset()
    changes.ScheduledStationNameCodeSequence = Sequence([code_item("NEW1", "99DWC", "New station")])
    expect_status(dicomweb.client.update_workitem(item.uid, changes), 200, why="the sequence is replaced")
    obj = retrieve_ok(dicomweb.client, item.uid, single_object=dicomweb.profile.azure_compatible, why="it is there")
    codes = [
        first_value(i, "CodeValue") for i in values_of(obj, "ScheduledStationNameCodeSequence") if isinstance(i, dict)
    ]
    expect(codes == ["NEW1"], "the stored sequence is the one sent", expected="['NEW1']", received=str(codes))


@pytest.mark.behavior("UPS-12", "UPS-01", "UPS-16")
def test_update_needs_dicom_json(dicomweb: Dicomweb) -> None:
    """UPS-12, UPS-01 (D1, D2, SW): an update labelled otherwise than application/dicom+json
    gives 415 (UPS-16) and changes nothing."""
    item = new_workitem("update, wrong Content-Type")
    create_ok(dicomweb.client, item)
    response = dicomweb.client.update_workitem(item.uid, comment_update("x"), content_type="application/json")
    expect_status(response, 415, why="the body is not labelled application/dicom+json")
    found = _comment(dicomweb, item.uid)
    expect(
        found == COMMENT, "the refused update changed nothing", response=response, expected=COMMENT, received=str(found)
    )
