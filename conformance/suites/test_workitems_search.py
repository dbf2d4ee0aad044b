"""Search for Workitems (PS3.18 11.9, C-FIND): parameters, matching, paging, return attributes.

Behaviour catalogue section 6 (UPS-28..32); D1, D2. Every search is narrowed by a Patient ID
only the test's own workitems carry, so other workitems on the target never interfere.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from conformance.checks import expect, expect_media_type, expect_status, expect_text_error
from conformance.checks.workitems import (
    claim_ok,
    create_ok,
    expect_no_transaction_uid,
    first_value,
)
from conformance.client.base import QueryParams
from conformance.client.responses import JsonDatasetsResponse
from conformance.core.uids import new_uid
from conformance.plugin import Dicomweb
from conformance.testdata.workitems import PRIVATE_KEY, PRIVATE_VALUE, Workitem, cancellation_request, new_workitem

pytestmark = pytest.mark.requires("workitems")

DEFAULT_RETURN = (
    "SOPInstanceUID",
    "ProcedureStepState",
    "ScheduledProcedureStepPriority",
    "ProcedureStepLabel",
    "ScheduledProcedureStepStartDateTime",
    "InputReadinessState",
    "PatientName",
    "PatientID",
)


def _three(dicomweb: Dicomweb) -> tuple[str, list[Workitem]]:
    """Three workitems of one new patient, created in this order (a, b, c)."""
    patient = f"DWC-{new_uid()[-14:]}"
    specs = [
        ("a", "Müller^Anna", "20300101080000"),
        ("b", "Doe^John", "20300101100000"),
        ("c", "Doe^Jane", "20300101130000"),
    ]
    items = [
        new_workitem(f"search {name}", patient_id=patient, patient_name=person, start=start)
        for name, person, start in specs
    ]
    for item in items:
        create_ok(dicomweb.client, item)
    return patient, items


def _search(dicomweb: Dicomweb, params: QueryParams, why: str) -> JsonDatasetsResponse:
    response = dicomweb.client.search_for_workitems(params)
    expect_status(response, 200, 204, why=why)
    if response.status == 200:
        expect_media_type(response, "application/dicom+json", why="search results are DICOM JSON")
    return response


def _expect_found(
    response: JsonDatasetsResponse, wanted: Sequence[Workitem], why: str, *, ordered: bool = False
) -> None:
    found = [first_value(obj, "SOPInstanceUID") for obj in response.objects]
    uids = [w.uid for w in wanted]
    ok = found == uids if ordered else sorted(found) == sorted(uids)
    expect(
        ok,
        why,
        response=response,
        expected=f"workitems {uids}" + (" in this order" if ordered else ""),
        received=f"{found}",
    )
    if not wanted:
        expect_status(response, 204, why=f"{why}: no match is 204")


@pytest.mark.behavior("UPS-28", "UPS-31", "UPS-32")
def test_search_returns_newest_first_with_default_attributes(dicomweb: Dicomweb) -> None:
    """UPS-28, UPS-31 (D1, D2): ``GET workitems?PatientID=...`` answers 200 with a JSON array of
    the matches; UPS-32: newest first, each with the attributes of return key type 1 and 2
    (state, priority, label, start date-time, readiness, patient) and never the Transaction UID."""
    patient, items = _three(dicomweb)
    response = _search(dicomweb, [("PatientID", patient)], "the patient's workitems are found")
    expect_status(response, 200, why="three workitems match")
    _expect_found(response, list(reversed(items)), "the three workitems, newest first", ordered=True)
    for obj, item in zip(response.objects, reversed(items), strict=True):
        missing = [k for k in DEFAULT_RETURN if first_value(obj, k) in (None, "")]
        expect(
            not missing,
            "each match carries the type 1 and 2 attributes",
            response=response,
            expected="all of " + ", ".join(DEFAULT_RETURN),
            received=f"{item.uid} lacks {missing}",
        )
        expect_no_transaction_uid(response, obj, why="a search result never holds the Transaction UID")


@pytest.mark.behavior("UPS-28")
def test_paging(dicomweb: Dicomweb) -> None:
    """UPS-28 (D1, D2): ``limit`` and ``offset`` page through the matches in the same order; an
    offset beyond them gives 204."""
    patient, items = _three(dicomweb)
    newest = list(reversed(items))
    first = _search(dicomweb, [("PatientID", patient), ("limit", "2")], "the first page")
    _expect_found(first, newest[:2], "limit 2 gives the two newest", ordered=True)
    second = _search(dicomweb, [("PatientID", patient), ("limit", "2"), ("offset", "2")], "the second page")
    _expect_found(second, newest[2:], "offset 2 gives the oldest", ordered=True)
    beyond = _search(dicomweb, [("PatientID", patient), ("offset", "3")], "beyond the matches")
    _expect_found(beyond, [], "offset 3 is beyond the three matches")


@pytest.mark.behavior("UPS-31", "UPS-28")
def test_search_errors(dicomweb: Dicomweb) -> None:
    """UPS-31 (D1, D2, E2E): no match gives 204; an attribute that cannot be searched
    (``Modality=CT``) and a limit outside 1..200 give 400 with a text message (E2E: "The field
    Limit must be between 1 and 200."). UPS-28: Accept must admit application/dicom+json."""
    client = dicomweb.client
    nobody = client.search_for_workitems([("PatientID", f"DWC-{new_uid()[-14:]}")])
    expect_status(nobody, 204, why="no workitem matches")
    expect_status(client.search_for_workitems([("Modality", "CT")]), 400, why="Modality is not a workitem attribute")
    for limit in ("500", "0"):
        response = client.search_for_workitems([("PatientID", "X"), ("limit", limit)])
        expect_status(response, 400, why=f"limit {limit} is outside 1..200")
        text = expect_text_error(response, why="the refusal says why")
        if dicomweb.profile.azure_compatible:
            expect(
                "between 1 and 200" in text,
                "the message names the range",
                response=response,
                expected="...between 1 and 200...",
                received=text,
            )
    accept = client.search_for_workitems([("PatientID", "X")], accept="application/dicom")
    expect_status(accept, 406, why="Accept excludes DICOM JSON")


@pytest.mark.behavior("UPS-29")
def test_sequence_attributes(dicomweb: Dicomweb) -> None:
    """UPS-29 (D1, D2, SRC): attributes inside sequences are matched as ``Sequence.Attribute``,
    by keyword or hex tag: the request's accession number and procedure ID, the station's code;
    Study Instance UID at the top. Deeper paths and whole sequences give 400."""
    patient, (a, b, c) = _three(dicomweb)
    accession = str(b.dataset.ReferencedRequestSequence[0].AccessionNumber)
    procedure = str(c.dataset.ReferencedRequestSequence[0].RequestedProcedureID)
    station = str(a.dataset.ScheduledStationNameCodeSequence[0].CodeValue)
    cases: list[tuple[str, str, Workitem]] = [
        ("ReferencedRequestSequence.AccessionNumber", accession, b),
        ("0040A370.00080050", accession, b),
        ("ReferencedRequestSequence.RequestedProcedureID", procedure, c),
        ("ScheduledStationNameCodeSequence.CodeValue", station, a),
        ("StudyInstanceUID", str(a.dataset.StudyInstanceUID), a),
    ]
    for name, value, wanted in cases:
        response = _search(dicomweb, [("PatientID", patient), (name, value)], f"{name} is searchable")
        _expect_found(response, [wanted], f"{name}={value} finds exactly its workitem")
    for name in (
        "ReferencedRequestSequence.ReferencedStudySequence.ReferencedSOPInstanceUID",
        "ScheduledStationNameCodeSequence",
    ):
        response = dicomweb.client.search_for_workitems([("PatientID", patient), (name, "1")])
        expect_status(response, 400, why=f"{name} cannot be matched (two levels at most, no whole sequences)")


@pytest.mark.behavior("UPS-29", "UPS-11")
def test_search_by_state(dicomweb: Dicomweb) -> None:
    """UPS-29 (D1, D2): ProcedureStepState is searchable, so a worklist shows what is waiting;
    the claimed workitem is found without its Transaction UID (UPS-11, PS3.4 CC.2.5-3)."""
    patient, (a, b, c) = _three(dicomweb)
    expect_status(dicomweb.client.request_cancellation(a.uid, cancellation_request("search")), 202, why="a is canceled")
    claim_ok(dicomweb.client, b.uid)
    for state, wanted in (("CANCELED", a), ("IN PROGRESS", b), ("SCHEDULED", c)):
        response = _search(dicomweb, [("PatientID", patient), ("ProcedureStepState", state)], f"state {state}")
        _expect_found(response, [wanted], f"ProcedureStepState={state} finds the workitem in that state")
        for obj in response.objects:
            expect_no_transaction_uid(response, obj, why=f"the {state} workitem is found without its Transaction UID")


@pytest.mark.behavior("UPS-30")
def test_matching(dicomweb: Dicomweb) -> None:
    """UPS-30 (D1, D2): a range on ScheduledProcedureStepStartDateTime (closed and open); person
    names case- and accent-insensitive; other strings case-insensitive; with
    ``fuzzymatching=true`` a prefix of any name word matches, without it not."""
    patient, (a, b, c) = _three(dicomweb)
    cases: list[tuple[list[tuple[str, str]], list[Workitem]]] = [
        ([("ScheduledProcedureStepStartDateTime", "20300101090000-20300101120000")], [b]),
        ([("ScheduledProcedureStepStartDateTime", "20300101090000-")], [b, c]),
        ([("PatientName", "MULLER^ANNA")], [a]),
        ([("PatientName", "doe^john")], [b]),
        ([("PatientName", "jo"), ("fuzzymatching", "true")], [b]),
        ([("PatientName", "doe"), ("fuzzymatching", "true")], [b, c]),
        ([("PatientName", "doe")], []),
    ]
    for extra, wanted in cases:
        response = _search(dicomweb, [("PatientID", patient), *extra], f"the search {extra} answers")
        _expect_found(response, wanted, f"{extra} matches {[w.uid for w in wanted]}")
    response = _search(dicomweb, [("PatientID", patient.lower())], "Patient ID case-insensitively")
    _expect_found(response, [a, b, c], "the Patient ID matches whatever its case")


@pytest.mark.behavior("UPS-32", "UPS-28")
def test_includefield_and_match_attributes(dicomweb: Dicomweb) -> None:
    """UPS-32, UPS-28 (D1, D2): ``includefield`` adds a top-level attribute (here a private
    one) to each match, ``includefield=all`` every attribute; a match attribute is returned."""
    patient, (a, _, _) = _three(dicomweb)
    for include in (PRIVATE_KEY, "all"):
        response = _search(dicomweb, [("PatientID", patient), ("includefield", include)], f"includefield={include}")
        expect_status(response, 200, why="the workitems match")
        for obj in response.objects:
            found = first_value(obj, PRIVATE_KEY) if PRIVATE_KEY in obj else None
            expect(
                found == PRIVATE_VALUE,
                f"includefield={include} returns the private attribute",
                response=response,
                expected=f"({PRIVATE_KEY}) {PRIVATE_VALUE}",
                received=str(found),
            )
    station = str(a.dataset.ScheduledStationNameCodeSequence[0].CodeValue)
    response = _search(
        dicomweb, [("PatientID", patient), ("ScheduledStationNameCodeSequence.CodeValue", station)], "by station"
    )
    _expect_found(response, [a], "the station code finds its workitem")
    expect(
        bool(response.objects) and "00404025" in response.objects[0],
        "the matched sequence is returned",
        response=response,
        expected="ScheduledStationNameCodeSequence (0040,4025)",
        received="absent",
    )
