"""Retrieve Workitem (PS3.18 11.5, N-GET): the workitem as one DICOM JSON object, never with
its Transaction UID.

Behaviour catalogue section 6 (UPS-02, UPS-10, UPS-11); PS3.4 CC.2.7.
"""

from __future__ import annotations

import pytest

from conformance.checks import expect, expect_media_type, expect_status
from conformance.checks.workitems import (
    WorkitemState,
    create_ok,
    expect_no_transaction_uid,
    expect_state,
    first_value,
    workitem_in_state,
    workitem_of,
)
from conformance.core.uids import new_uid
from conformance.plugin import Dicomweb
from conformance.profile import Rule
from conformance.testdata.workitems import PATIENT_NAME, new_workitem

pytestmark = pytest.mark.requires("workitems")


@pytest.mark.behavior("UPS-10")
def test_retrieve_returns_the_workitem(dicomweb: Dicomweb) -> None:
    """UPS-10 (D1, D2; SRC): 200 with the workitem as application/dicom+json; the Azure service
    answers one JSON object (not an array), which Azure-compatible targets must do as well."""
    item = new_workitem("retrieve")
    create_ok(dicomweb.client, item)
    response = dicomweb.client.retrieve_workitem(item.uid)
    expect_status(response, 200, why="a workitem that exists is retrieved")
    expect_media_type(response, "application/dicom+json", why="the workitem is DICOM JSON")
    obj = workitem_of(response, why="the answer is the workitem", single_object=dicomweb.profile.azure_compatible)
    expected = {
        "SOPInstanceUID": item.uid,
        "ProcedureStepLabel": str(item.dataset.ProcedureStepLabel),
        "PatientID": item.patient_id,
        "ScheduledProcedureStepStartDateTime": str(item.dataset.ScheduledProcedureStepStartDateTime),
        "ScheduledProcedureStepPriority": "MEDIUM",
        "InputReadinessState": "READY",
    }
    for keyword, wanted in expected.items():
        found = first_value(obj, keyword)
        expect(found == wanted, f"{keyword} is what was sent", response=response, expected=wanted, received=str(found))
    name = first_value(obj, "PatientName")
    alphabetic = name.get("Alphabetic") if isinstance(name, dict) else name
    expect(
        alphabetic == PATIENT_NAME,
        "PatientName is a PN object",
        response=response,
        expected=PATIENT_NAME,
        received=str(name),
    )
    expect_state(response, obj, WorkitemState.SCHEDULED, why="the new workitem is SCHEDULED")


@pytest.mark.behavior("UPS-10", "UPS-02")
def test_retrieve_errors(dicomweb: Dicomweb) -> None:
    """UPS-10 (D1, D2, SRC): an unknown workitem gives 404; an Accept without
    application/dicom+json gives 406, and so does no Accept at all (AMB-25 implemented).
    UPS-02 (SRC): an invalid UID in the path gives 400."""
    client = dicomweb.client
    expect_status(client.retrieve_workitem(new_uid()), 404, why="there is no such workitem")
    expect_status(client.retrieve_workitem("not-a-uid"), 400, why="'not-a-uid' is not a valid workitem UID")
    item = new_workitem("retrieve, wrong Accept")
    create_ok(client, item)
    expect_status(client.retrieve_workitem(item.uid, accept="application/dicom"), 406, why="Accept excludes DICOM JSON")
    if dicomweb.profile.follows("AMB-25") is Rule.IMPLEMENTED:
        expect_status(client.retrieve_workitem(item.uid, accept=None), 406, why="there is no Accept header")


@pytest.mark.behavior("UPS-11")
@pytest.mark.parametrize("state", list(WorkitemState), ids=[s.value for s in WorkitemState])
def test_retrieve_never_returns_the_transaction_uid(dicomweb: Dicomweb, state: WorkitemState) -> None:
    """UPS-11 (D1, D2, SRC; PS3.4 CC.2.7.3, PS3.18 11.5.3.3): the answer never holds
    TransactionUID (0008,1195): not the empty one of a SCHEDULED workitem, not the lock of an IN
    PROGRESS one, not the one that completed or canceled it."""
    item, _ = workitem_in_state(dicomweb.client, state, purpose=f"retrieve {state}")
    response = dicomweb.client.retrieve_workitem(item.uid)
    expect_status(response, 200, why=f"the {state} workitem is retrieved")
    obj = workitem_of(response, why="the answer is the workitem", single_object=dicomweb.profile.azure_compatible)
    expect_state(response, obj, state, why=f"the workitem is {state}")
    expect_no_transaction_uid(response, obj, why=f"a {state} workitem is returned without its Transaction UID")
