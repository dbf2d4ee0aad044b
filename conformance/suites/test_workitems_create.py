"""Create Workitem (PS3.18 11.4, N-CREATE): where the UID goes, what a new workitem must hold,
what the server sets, and the answers.

Behaviour catalogue section 6 (UPS-01..09); PS3.4 Table CC.2.5-3; D1, D2 "Worklist Service".
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

import pytest

from conformance.checks import expect, expect_header, expect_status, expect_text_error
from conformance.checks.workitems import (
    WorkitemState,
    create_ok,
    expect_state,
    first_value,
    retrieve_ok,
    workitem_of,
)
from conformance.client.responses import DicomwebResponse
from conformance.core.uids import new_uid
from conformance.plugin import Dicomweb
from conformance.profile import Rule
from conformance.suites._support import require_azure_compatible
from conformance.testdata.workitems import (
    UPS_PUSH_SOP_CLASS,
    Workitem,
    new_workitem,
    with_code_without_meaning,
    with_progress_at_creation,
    with_values,
    without,
)

pytestmark = pytest.mark.requires("workitems")


def _expect_absent(dicomweb: Dicomweb, uid: str, why: str) -> None:
    expect_status(dicomweb.client.retrieve_workitem(uid), 404, why=why)


def _expect_created_at(dicomweb: Dicomweb, item: Workitem, response: DicomwebResponse) -> None:
    """UPS-05: Location (and, for the Azure service, Content-Location) is the workitem's URL,
    and the workitem is there."""
    pattern = rf"(https?://[^/]+)?/\S*workitems/{re.escape(item.uid)}"
    headers = ["Location", "Content-Location"] if dicomweb.profile.azure_compatible else ["Location"]
    for name in headers:
        url = expect_header(response, name, pattern=pattern, why=f"the {name} header holds the new workitem's URL")
        found = dicomweb.client.request(
            "GET", urljoin(dicomweb.client.base_url + "/", url), headers={"Accept": "application/dicom+json"}
        )
        expect_status(found, 200, why=f"the workitem is retrievable at its {name}")


@pytest.mark.behavior("UPS-04", "UPS-05", "UPS-08")
def test_create_with_the_uid_in_the_query(dicomweb: Dicomweb) -> None:
    """UPS-04, UPS-05 (D1, D2, SRC): ``POST workitems?{uid}``, the UID as the bare name of the
    query parameter (AMB-27: the documents give only the template ``?{workitem}``, the service
    reads the first query key; the suite sends that form whatever the profile's rule), the
    dataset without SOP Instance UID: 201 Created, Location and Content-Location hold the new
    workitem's URL. UPS-08 (SRC; PS3.4 CC.3.1): the server sets SOP Class UID to UPS Push, the
    modification date-time, and the state SCHEDULED."""
    item = new_workitem("create, UID in the query")
    response = dicomweb.client.create_workitem(item.json(with_uid=False), item.uid)
    expect_status(response, 201, why="a valid workitem is created")
    _expect_created_at(dicomweb, item, response)
    obj = retrieve_ok(dicomweb.client, item.uid, single_object=dicomweb.profile.azure_compatible, why="it is there")
    expect_state(response, obj, WorkitemState.SCHEDULED, why="a new workitem is SCHEDULED")
    for keyword, wanted in (("SOPInstanceUID", item.uid), ("SOPClassUID", UPS_PUSH_SOP_CLASS)):
        found = first_value(obj, keyword)
        expect(found == wanted, f"the workitem's {keyword} is {wanted}", expected=wanted, received=str(found))
    modified = first_value(obj, "ScheduledProcedureStepModificationDateTime")
    expect(bool(modified), "the server set the modification date-time", expected="a DT value", received=str(modified))


@pytest.mark.behavior("UPS-06", "UPS-05")
def test_create_with_the_uid_in_the_dataset(dicomweb: Dicomweb) -> None:
    """UPS-06 (D1, D2, SRC): without a query, the UID is the dataset's SOP Instance UID; given in
    both places it must be the same, and then the workitem is created as well."""
    item = new_workitem("create, UID in the dataset")
    response = dicomweb.client.create_workitem(item.json())
    expect_status(response, 201, why="the UID is taken from SOPInstanceUID")
    _expect_created_at(dicomweb, item, response)
    both = new_workitem("create, UID in the query and the dataset")
    expect_status(dicomweb.client.create_workitem(both.json(), both.uid), 201, why="the same UID in both places")
    retrieve_ok(dicomweb.client, both.uid, single_object=dicomweb.profile.azure_compatible, why="it is there")


@pytest.mark.behavior("UPS-06", "UPS-02")
def test_create_with_a_wrong_or_missing_uid_is_400(dicomweb: Dicomweb) -> None:
    """UPS-06 (D1, D2, SRC): a query UID that differs from SOPInstanceUID gives 400 ("does not
    match"), so does a workitem without any UID; UPS-02 / GEN-04: an invalid UID in the query
    gives 400. None of them is created."""
    client = dicomweb.client
    item = new_workitem("create, mismatched UID")
    other = new_uid()
    response = client.create_workitem(item.json(), other)
    expect_status(response, 400, why="the query UID and SOPInstanceUID differ")
    expect_text_error(response, why="the refusal is a text message")
    _expect_absent(dicomweb, other, "no workitem is created under the query UID")
    _expect_absent(dicomweb, item.uid, "no workitem is created under the dataset UID")
    response = client.create_workitem(item.json(with_uid=False))
    expect_status(response, 400, why="neither the query nor the dataset gives a UID")
    response = client.create_workitem(item.json(with_uid=False), "not-a-uid")
    expect_status(response, 400, why="'not-a-uid' is not a valid workitem UID")


@pytest.mark.behavior("UPS-07")
def test_create_existing_workitem_is_409(dicomweb: Dicomweb) -> None:
    """UPS-07 (D1, D2; PS3.4 Table CC.1.1-2 status 0111): a workitem UID that exists already
    gives 409, in either form, and the stored workitem keeps its label."""
    item = new_workitem("create twice")
    create_ok(dicomweb.client, item)
    again = new_workitem("create twice, second", uid=item.uid)
    expect_status(dicomweb.client.create_workitem(again.json(with_uid=False), item.uid), 409, why="it exists")
    expect_status(dicomweb.client.create_workitem(again.json()), 409, why="it exists (UID in the dataset)")
    obj = retrieve_ok(dicomweb.client, item.uid, single_object=dicomweb.profile.azure_compatible, why="it is there")
    label = first_value(obj, "ProcedureStepLabel")
    expect(
        label == item.dataset.ProcedureStepLabel,
        "the first workitem is untouched",
        expected=item.dataset.ProcedureStepLabel,
        received=str(label),
    )


@pytest.mark.behavior("UPS-04", "UPS-01")
def test_create_needs_dicom_json(dicomweb: Dicomweb) -> None:
    """UPS-04 (D1, D2; SRC): Accept must admit application/dicom+json, else 406; with no Accept
    at all the service answers 406 too (AMB-25 implemented). UPS-01 (D1, D2, SW): another
    Content-Type than application/dicom+json gives 415. Nothing is created."""
    client = dicomweb.client
    item = new_workitem("create, wrong media types")
    body = item.json(with_uid=False)
    expect_status(
        client.create_workitem(body, item.uid, accept="application/dicom"), 406, why="Accept excludes DICOM JSON"
    )
    if dicomweb.profile.follows("AMB-25") is Rule.IMPLEMENTED:
        expect_status(client.create_workitem(body, item.uid, accept=None), 406, why="there is no Accept header")
    response = client.create_workitem(body, item.uid, content_type="application/json")
    expect_status(response, 415, why="the body is not labelled application/dicom+json")
    _expect_absent(dicomweb, item.uid, "no refused request created the workitem")


@pytest.mark.behavior("UPS-08")
def test_server_sets_state_and_sop_class(dicomweb: Dicomweb) -> None:
    """UPS-08 (SRC): the service overwrites the state with SCHEDULED and the SOP class with UPS
    Push, whatever the client sent. PS3.4 CC.2.5.3 refuses another state (C309, 400) instead:
    outside Azure compatibility either answer passes, but never a workitem that is not
    SCHEDULED."""
    item = new_workitem("create IN PROGRESS")
    body = with_values(item, "ProcedureStepState", "IN PROGRESS")
    body.update(with_values(item, "SOPClassUID", "1.2.840.10008.5.1.4.34.6.3"))
    response = dicomweb.client.create_workitem(body, item.uid)
    allowed = (201,) if dicomweb.profile.azure_compatible else (201, 400)
    expect_status(response, *allowed, why="a workitem sent as IN PROGRESS is created SCHEDULED (or refused)")
    if response.status == 201:
        obj = retrieve_ok(dicomweb.client, item.uid, single_object=dicomweb.profile.azure_compatible, why="it is there")
        expect_state(response, obj, WorkitemState.SCHEDULED, why="the server forced the state to SCHEDULED")
        found = first_value(obj, "SOPClassUID")
        expect(
            found == UPS_PUSH_SOP_CLASS,
            "every workitem is a UPS Push instance",
            expected=UPS_PUSH_SOP_CLASS,
            received=str(found),
        )


MISSING_VALUES = {
    "no priority": lambda item: without(item, "ScheduledProcedureStepPriority"),
    "empty label": lambda item: with_values(item, "ProcedureStepLabel"),
    "no start date-time": lambda item: without(item, "ScheduledProcedureStepStartDateTime"),
    "empty input readiness": lambda item: with_values(item, "InputReadinessState"),
}


@pytest.mark.behavior("UPS-09", "UPS-08")
@pytest.mark.parametrize("broken", list(MISSING_VALUES), ids=list(MISSING_VALUES))
def test_create_without_a_required_value_is_400(dicomweb: Dicomweb, broken: str) -> None:
    """UPS-09 (D1, D2, SRC; PS3.4 Table CC.2.5-3 type 1): priority, label, start date-time and
    input readiness need a value; without one the answer is 400 with a text message (UPS-08)
    and nothing is created."""
    item = new_workitem(f"create, {broken}")
    response = dicomweb.client.create_workitem(MISSING_VALUES[broken](item), item.uid)
    expect_status(response, 400, why=f"a workitem with {broken} is refused")
    expect_text_error(response, why="the refusal says what is wrong")
    _expect_absent(dicomweb, item.uid, "the refused workitem does not exist")


AZURE_REFUSALS = {
    "valued transaction UID": lambda item: with_values(item, "TransactionUID", new_uid()),
    "no transaction UID": lambda item: without(item, "TransactionUID"),
    "no type 2 sequence": lambda item: without(item, "ScheduledWorkitemCodeSequence"),
    "progress at creation": with_progress_at_creation,
    "code without meaning": with_code_without_meaning,
}


@pytest.mark.behavior("UPS-09")
@pytest.mark.parametrize("broken", list(AZURE_REFUSALS), ids=list(AZURE_REFUSALS))
def test_create_refuses_what_must_be_empty_or_present(dicomweb: Dicomweb, broken: str) -> None:
    """UPS-09 (SRC): the Transaction UID must be present and empty; type 2 attributes must be
    present; the progress information sequence may not hold a cancellation yet; code items need
    a Code Meaning. The standard (PS3.4 Table CC.2.5-3) lets a server discard a valued
    Transaction UID instead, and most servers tolerate absent type 2 attributes, so these
    refusals are required only of Azure-compatible targets."""
    require_azure_compatible(dicomweb.profile, "the service's creation checks")
    item = new_workitem(f"create, {broken}")
    response = dicomweb.client.create_workitem(AZURE_REFUSALS[broken](item), item.uid)
    expect_status(response, 400, why=f"a workitem with {broken} is refused")
    _expect_absent(dicomweb, item.uid, "the refused workitem does not exist")


@pytest.mark.behavior("UPS-03")
def test_conditional_attributes_are_optional(dicomweb: Dicomweb) -> None:
    """UPS-03 (D1, D2): requirement types 1C and 2C are treated as optional: a workitem without
    Study Instance UID (1C) or Scheduled Human Performers Sequence (2C) is created. (SRC) A
    present type 3 attribute must not be empty: an empty Expected Completion DateTime gives 400."""
    item = new_workitem("create without conditional attributes")
    response = dicomweb.client.create_workitem(
        without(item, "StudyInstanceUID", "ScheduledHumanPerformersSequence"), item.uid
    )
    expect_status(response, 201, why="1C and 2C attributes are optional")
    if dicomweb.profile.azure_compatible:
        empty = new_workitem("create with an empty type 3 attribute")
        response = dicomweb.client.create_workitem(with_values(empty, "ExpectedCompletionDateTime"), empty.uid)
        expect_status(response, 400, why="a present type 3 attribute is empty")
        _expect_absent(dicomweb, empty.uid, "the refused workitem does not exist")


@pytest.mark.behavior("UPS-01")
def test_create_body_is_a_json_array(dicomweb: Dicomweb) -> None:
    """UPS-01 (SRC, the official client): the body is a JSON array whose first element is the
    dataset; the created workitem holds what that element says."""
    item = new_workitem("create, array body")
    response = dicomweb.client.create_workitem(item.json(with_uid=False), item.uid)
    expect_status(response, 201, why="an array holding the dataset is accepted")
    found = dicomweb.client.retrieve_workitem(item.uid)
    expect_status(found, 200, why="it is there")
    obj = workitem_of(found, why="the workitem is one dataset", single_object=dicomweb.profile.azure_compatible)
    for keyword in ("ProcedureStepLabel", "PatientID", "ScheduledProcedureStepStartDateTime"):
        wanted = str(item.dataset[keyword].value)
        got = first_value(obj, keyword)
        expect(got == wanted, f"{keyword} is stored as sent", response=found, expected=wanted, received=str(got))
