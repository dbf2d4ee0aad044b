"""Workitems (Unified Procedure Steps, PS3.4 Annex CC) the suite creates on a target.

A valid workitem follows the N-CREATE column of PS3.4 Table CC.2.5-3 as the Azure service
implements it (UPS-09): the type 1 attributes carry values (priority, label, start date-time,
input readiness), every type 2 attribute the service requires is present (empty where the suite
has nothing to say), Transaction UID (0008,1195) is present and empty, and the Procedure Step
State is ``SCHEDULED``. The server fills SOP Class UID, the modification date-time and the
worklist label (UPS-08), so the suite leaves them out.

Every workitem gets a fresh ``2.25.`` UID and is recognisable as the suite's own: its Procedure
Step Label starts with ``dicomweb-conformance``, its comments say who made it, its patient is
``Conformance^Worklist``. Its scheduled start lies in 2030, away from any real worklist.

Broken variants are raw DICOM JSON objects (``dict``), built by changing exactly one attribute of
a valid workitem's JSON, so values pydicom would refuse never pass through pydicom.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from pydicom import Dataset
from pydicom.sequence import Sequence

from conformance.core.dicom_json import dataset_to_json, tag_key
from conformance.core.uids import new_uid
from conformance.testdata.elements import vr_of
from conformance.testdata.factory import PRIVATE_CREATOR, PRIVATE_TAG

JsonObject = dict[str, Any]

#: PS3.4 CC.3.1: every workitem is an instance of the UPS Push SOP class.
UPS_PUSH_SOP_CLASS: Final = "1.2.840.10008.5.1.4.34.6.1"
LABEL_PREFIX: Final = "dicomweb-conformance"
COMMENT: Final = "Created by the dicomweb-conformance suite; moved to a final state when its test ends."
PATIENT_NAME: Final = "Conformance^Worklist"
#: PS3.16 CID 9300: the default discontinuation reason the standard's examples use.
UNSPECIFIED_REASON: Final = ("110513", "DCM", "Discontinued for unspecified reason")
#: The private attribute of a workitem (reserved by PRIVATE_CREATOR): returned by a search
#: only when asked for with includefield (UPS-28, UPS-32).
PRIVATE_KEY: Final = f"{PRIVATE_TAG:08X}"
PRIVATE_CREATOR_KEY: Final = f"{PRIVATE_TAG >> 16:04X}0010"
PRIVATE_VALUE: Final = "WORKITEM PRIVATE"

#: Type 2 attributes the service requires at creation (UPS-09), sent empty unless given.
REQUIRED_EMPTY: Final = (
    "TransactionUID",
    "ScheduledProcessingParametersSequence",
    "ScheduledStationClassCodeSequence",
    "ScheduledStationGeographicLocationCodeSequence",
    "ScheduledWorkitemCodeSequence",
    "InputInformationSequence",
    "IssuerOfPatientID",
    "IssuerOfPatientIDQualifiersSequence",
    "PatientBirthDate",
    "PatientSex",
    "AdmissionID",
    "IssuerOfAdmissionIDSequence",
    "AdmittingDiagnosesDescription",
    "AdmittingDiagnosesCodeSequence",
    "ProcedureStepProgressInformationSequence",
    "UnifiedProcedureStepPerformedProcedureSequence",
)
#: Type 1 attributes: present with a value (UPS-09; PS3.4 Table CC.2.5-3).
REQUIRED_WITH_VALUE: Final = (
    "ScheduledProcedureStepPriority",
    "ProcedureStepLabel",
    "ScheduledProcedureStepStartDateTime",
    "InputReadinessState",
)


def code_item(value: str, scheme: str, meaning: str) -> Dataset:
    """One item of a code sequence (PS3.3 Table 8.8-1): value, scheme and meaning."""
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


@dataclass(frozen=True)
class Workitem:
    """A valid workitem: its UID and the dataset the suite sends (SOP Instance UID included)."""

    uid: str
    dataset: Dataset = field(repr=False)

    @property
    def patient_id(self) -> str:
        return str(self.dataset.PatientID)

    def json(self, *, with_uid: bool = True) -> JsonObject:
        """The DICOM JSON object; without SOP Instance UID when the UID travels in the URL."""
        obj = dataset_to_json(self.dataset)
        if not with_uid:
            obj.pop(tag_key("SOPInstanceUID"), None)
        return obj


def new_workitem(
    purpose: str = "workitem",
    *,
    uid: str | None = None,
    patient_id: str | None = None,
    patient_name: str = PATIENT_NAME,
    start: str = "20300101100000",
    priority: str = "MEDIUM",
    accession: str | None = None,
    requested_procedure_id: str | None = None,
    station_code: str | None = None,
    study_uid: str | None = None,
) -> Workitem:
    """A valid SCHEDULED workitem with fresh UIDs; ``purpose`` goes into its label.

    ``patient_id`` defaults to one derived from the UID, so a search by it finds only this
    workitem; tests that search several of their workitems together give them a shared one.
    """
    uid = uid or new_uid()
    ds = Dataset()
    for keyword in REQUIRED_EMPTY:
        ds.add_new(keyword, vr_of(keyword), Sequence([]) if vr_of(keyword) == "SQ" else "")
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPInstanceUID = uid
    ds.ScheduledProcedureStepPriority = priority
    ds.ProcedureStepLabel = f"{LABEL_PREFIX}: {purpose}"[:64]
    ds.WorklistLabel = ""
    ds.ScheduledProcedureStepStartDateTime = start
    ds.InputReadinessState = "READY"
    ds.ProcedureStepState = "SCHEDULED"
    ds.CommentsOnTheScheduledProcedureStep = COMMENT
    ds.PatientName = patient_name
    ds.PatientID = patient_id or f"DWC-{uid[-12:]}"
    ds.StudyInstanceUID = study_uid or new_uid()
    station = station_code or f"ST{uid[-8:]}"
    ds.ScheduledStationNameCodeSequence = Sequence([code_item(station, "99DWC", "Conformance station")])
    ds.ScheduledWorkitemCodeSequence = Sequence([code_item("110005", "DCM", "Interpretation")])
    request = Dataset()
    request.StudyInstanceUID = ds.StudyInstanceUID
    request.AccessionNumber = accession or f"A{uid[-12:]}"
    request.IssuerOfAccessionNumberSequence = Sequence([])
    request.RequestedProcedureID = requested_procedure_id or f"RP{uid[-10:]}"
    request.RequestedProcedureDescription = "Conformance procedure"
    request.RequestedProcedureCodeSequence = Sequence([])
    ds.ReferencedRequestSequence = Sequence([request])
    block = ds.private_block(PRIVATE_TAG >> 16, PRIVATE_CREATOR, create=True)
    block.add_new(PRIVATE_TAG & 0xFF, "LO", PRIVATE_VALUE)
    return Workitem(uid=uid, dataset=ds)


# -- broken variants: one attribute changed in the JSON ------------------------------------------


def without(item: Workitem, *keywords: str) -> JsonObject:
    """The workitem's JSON without ``keywords``."""
    obj = item.json()
    for keyword in keywords:
        obj.pop(tag_key(keyword), None)
    return obj


def with_element(item: Workitem, keyword: str, element: Mapping[str, Any]) -> JsonObject:
    """The workitem's JSON with attribute ``keyword`` replaced by a raw JSON ``element``."""
    obj = item.json()
    obj[tag_key(keyword)] = copy.deepcopy(dict(element))
    return obj


def with_values(item: Workitem, keyword: str, *values: Any) -> JsonObject:
    """``keyword`` holding ``values`` verbatim (no validation); none gives an empty attribute."""
    element: JsonObject = {"vr": vr_of(keyword)}
    if values:
        element["Value"] = list(values)
    return with_element(item, keyword, element)


def with_progress_at_creation(item: Workitem) -> JsonObject:
    """UPS-09: ProcedureStepProgressInformationSequence must be empty at creation; here its item
    carries a cancellation date-time, which only a canceled workitem may hold."""
    return with_element(
        item,
        "ProcedureStepProgressInformationSequence",
        {"vr": "SQ", "Value": [dataset_to_json(_cancellation_item("20300101103000"))]},
    )


def with_code_without_meaning(item: Workitem) -> JsonObject:
    """UPS-09: a code sequence item without Code Meaning (0008,0104)."""
    code = {"00080100": {"vr": "SH", "Value": ["X1"]}, "00080102": {"vr": "SH", "Value": ["99DWC"]}}
    return with_element(item, "ScheduledWorkitemCodeSequence", {"vr": "SQ", "Value": [code]})


# -- datasets of updates, state changes and cancellation requests --------------------------------


def comment_update(text: str) -> Dataset:
    """An update that only changes the comments (CommentsOnTheScheduledProcedureStep)."""
    ds = Dataset()
    ds.CommentsOnTheScheduledProcedureStep = text
    return ds


def completion_attributes(start: str = "20300101100000", end: str = "20300101110000") -> Dataset:
    """UPS-22: what a workitem needs before it may become COMPLETED (PS3.4 CC.2.5.1.1, "P"):
    a performed procedure item with station, start, workitem code, end and an output."""
    performed = Dataset()
    performed.PerformedStationNameCodeSequence = Sequence([code_item("ST1", "99DWC", "Conformance station")])
    performed.PerformedProcedureStepStartDateTime = start
    performed.PerformedWorkitemCodeSequence = Sequence([code_item("110005", "DCM", "Interpretation")])
    performed.PerformedProcedureStepEndDateTime = end
    output = Dataset()
    output.TypeOfInstances = "DICOM"
    output.StudyInstanceUID = new_uid()
    output.SeriesInstanceUID = new_uid()
    reference = Dataset()
    reference.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    reference.ReferencedSOPInstanceUID = new_uid()
    output.ReferencedSOPSequence = Sequence([reference])
    performed.OutputInformationSequence = Sequence([output])
    ds = Dataset()
    ds.UnifiedProcedureStepPerformedProcedureSequence = Sequence([performed])
    return ds


def _cancellation_item(when: str) -> Dataset:
    item = Dataset()
    item.ProcedureStepCancellationDateTime = when
    item.ProcedureStepDiscontinuationReasonCodeSequence = Sequence([code_item(*UNSPECIFIED_REASON)])
    item.ReasonForCancellation = f"{LABEL_PREFIX}: canceled by the suite"
    return item


def cancellation_attributes(when: str = "20300101103000") -> Dataset:
    """UPS-22: what a workitem needs before it may become CANCELED (PS3.4 CC.2.5.1.1, "X"):
    a progress information item with the cancellation date-time and a discontinuation reason."""
    ds = Dataset()
    ds.ProcedureStepProgressInformationSequence = Sequence([_cancellation_item(when)])
    return ds


def state_change(state: str | None, transaction_uid: str | None) -> JsonObject:
    """UPS-18: the Change UPS State action information; ``None`` leaves an attribute out.

    Built as raw JSON, so invalid states (``SCHEDULED``, lower case) can be sent as well."""
    obj: JsonObject = {}
    if transaction_uid is not None:
        obj[tag_key("TransactionUID")] = {"vr": "UI", "Value": [transaction_uid]}
    if state is not None:
        obj[tag_key("ProcedureStepState")] = {"vr": "CS", "Value": [state]}
    return obj


def cancellation_request(reason: str, *, contact_uri: str | None = None, contact_name: str | None = None) -> Dataset:
    """UPS-23: the action information of a cancellation request (PS3.4 Table CC.2.2-1)."""
    ds = Dataset()
    ds.ReasonForCancellation = reason
    ds.ProcedureStepDiscontinuationReasonCodeSequence = Sequence([code_item(*UNSPECIFIED_REASON)])
    if contact_uri is not None:
        ds.ContactURI = contact_uri
    if contact_name is not None:
        ds.ContactDisplayName = contact_name
    return ds


#: UPS-14: attributes an update may not set (PS3.4 Table CC.2.5-3, N-SET "Not allowed"), each
#: with a value a careless server would accept.
FORBIDDEN_IN_UPDATE: Final[Mapping[str, JsonObject]] = {
    "ProcedureStepState": {"vr": "CS", "Value": ["COMPLETED"]},
    "SOPInstanceUID": {"vr": "UI", "Value": ["2.25.1"]},
    "SOPClassUID": {"vr": "UI", "Value": ["1.2.840.10008.5.1.4.34.6.3"]},
    "PatientName": {"vr": "PN", "Value": [{"Alphabetic": "Changed^Name"}]},
    "PatientID": {"vr": "LO", "Value": ["CHANGED"]},
    "ReferencedRequestSequence": {"vr": "SQ", "Value": []},
}


def forbidden_update(keyword: str) -> JsonObject:
    """An update dataset that sets one attribute of ``FORBIDDEN_IN_UPDATE``."""
    return {tag_key(keyword): copy.deepcopy(FORBIDDEN_IN_UPDATE[keyword])}
