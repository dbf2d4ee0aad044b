"""What a workitem must hold at creation, in an update and before a final state.

PS3.4 Table CC.2.5-3 as the Azure service implements it: UPS-03, UPS-08, UPS-09 (create),
UPS-14 (update), UPS-22 (final states). Each check returns the reason a request is refused, or
None; the reason becomes the 400 text (and the Warning of a refused update).
"""

from __future__ import annotations

from collections.abc import Iterable

from pydicom.datadict import keyword_for_tag

from reference_server.workitems.dataset import JsonObject, has_value, items, key, present, walk

COMPLETED = "COMPLETED"
CANCELED = "CANCELED"

# UPS-09: type 1, a value is required.
REQUIRED_WITH_VALUE = (
    "ScheduledProcedureStepPriority",
    "ProcedureStepLabel",
    "ScheduledProcedureStepStartDateTime",
    "InputReadinessState",
)
# UPS-09: type 2, present (maybe empty).
REQUIRED_PRESENT = (
    "TransactionUID",
    "ScheduledProcessingParametersSequence",
    "ScheduledStationNameCodeSequence",
    "ScheduledStationClassCodeSequence",
    "ScheduledStationGeographicLocationCodeSequence",
    "ScheduledWorkitemCodeSequence",
    "CommentsOnTheScheduledProcedureStep",
    "InputInformationSequence",
    "PatientName",
    "IssuerOfPatientID",
    "IssuerOfPatientIDQualifiersSequence",
    "PatientBirthDate",
    "PatientSex",
    "AdmissionID",
    "IssuerOfAdmissionIDSequence",
    "AdmittingDiagnosesDescription",
    "AdmittingDiagnosesCodeSequence",
    "ReferencedRequestSequence",
    "ProcedureStepProgressInformationSequence",
    "UnifiedProcedureStepPerformedProcedureSequence",
)
# UPS-03: type 3 attributes of the table; present, they must not be empty.
TYPE_3 = ("ScheduledProcedureStepExpirationDateTime", "ExpectedCompletionDateTime")
ENUMERATED = {
    "ScheduledProcedureStepPriority": ("HIGH", "MEDIUM", "LOW"),
    "InputReadinessState": ("READY", "UNAVAILABLE", "INCOMPLETE"),
}
# UPS-09: not allowed at creation inside the two sequences that only performers fill.
NOT_AT_CREATION = {
    "ProcedureStepProgressInformationSequence": (
        "ProcedureStepProgress",
        "ProcedureStepProgressDescription",
        "ProcedureStepCommunicationsURISequence",
        "ProcedureStepCancellationDateTime",
        "ReasonForCancellation",
        "ProcedureStepDiscontinuationReasonCodeSequence",
    ),
    "UnifiedProcedureStepPerformedProcedureSequence": (
        "ActualHumanPerformersSequence",
        "PerformedStationNameCodeSequence",
        "PerformedStationClassCodeSequence",
        "PerformedStationGeographicLocationCodeSequence",
        "PerformedProcedureStepStartDateTime",
        "PerformedProcedureStepEndDateTime",
        "PerformedProcedureStepDescription",
        "CommentsOnThePerformedProcedureStep",
        "PerformedWorkitemCodeSequence",
        "PerformedProcessingParametersSequence",
        "OutputInformationSequence",
    ),
}
# UPS-14: an update may not set these (PS3.4 Table CC.2.5-3, N-SET "Not allowed").
NOT_IN_UPDATE = (
    "ProcedureStepState",
    "SOPClassUID",
    "SOPInstanceUID",
    "TransactionUID",
    "PatientName",
    "PatientID",
    "IssuerOfPatientID",
    "IssuerOfPatientIDQualifiersSequence",
    "PatientBirthDate",
    "PatientSex",
    "AdmissionID",
    "IssuerOfAdmissionIDSequence",
    "AdmittingDiagnosesDescription",
    "AdmittingDiagnosesCodeSequence",
    "ReferencedRequestSequence",
    "ReplacedProcedureStepSequence",
)
# UPS-22: what every final state needs, and what each needs in addition.
FINAL_REQUIRED = (
    "SOPClassUID",
    "SOPInstanceUID",
    "ScheduledProcedureStepPriority",
    "ScheduledProcedureStepModificationDateTime",
    "ScheduledProcedureStepStartDateTime",
    "InputReadinessState",
    "ProcedureStepState",
)
COMPLETED_PERFORMED = (
    "PerformedStationNameCodeSequence",
    "PerformedProcedureStepStartDateTime",
    "PerformedWorkitemCodeSequence",
    "PerformedProcedureStepEndDateTime",
    "OutputInformationSequence",
)
CANCELED_PROGRESS = ("ProcedureStepCancellationDateTime", "ProcedureStepDiscontinuationReasonCodeSequence")
_CODE_MEANING = key("CodeMeaning")


def _missing_values(obj: JsonObject, keywords: Iterable[str], where: str) -> str | None:
    for keyword in keywords:
        if not present(obj, keyword):
            return f"The required attribute {keyword} ({key(keyword)}) is missing{where}."
        if not has_value(obj, keyword):
            return f"The required attribute {keyword} ({key(keyword)}) has no value{where}."
    return None


def _code_items_without_meaning(obj: JsonObject) -> str | None:
    """UPS-09: every item of a code sequence has a Code Meaning (0008,0104)."""
    for path, name, element in walk(obj):
        if element.get("vr") != "SQ" or not keyword_for_tag(int(name, 16)).endswith("CodeSequence"):
            continue
        for index, item in enumerate(element.get("Value") or []):
            meaning = item.get(_CODE_MEANING) if isinstance(item, dict) else None
            if not isinstance(meaning, dict) or not meaning.get("Value"):
                return f"Item {index + 1} of the code sequence {path} has no CodeMeaning (00080104)."
    return None


def creation_problem(obj: JsonObject) -> str | None:
    """UPS-03, UPS-09: why ``obj`` (already completed by the server, UPS-08) cannot be created."""
    problem = _missing_values(obj, REQUIRED_WITH_VALUE, "")
    if problem:
        return problem
    for keyword, allowed in ENUMERATED.items():
        value = obj[key(keyword)]["Value"][0]
        if value not in allowed:
            return f"The value '{value}' of {keyword} is not one of {', '.join(allowed)}."
    for keyword in REQUIRED_PRESENT:
        if not present(obj, keyword):
            return f"The required attribute {keyword} ({key(keyword)}) is missing; it may be empty but must be present."
    if has_value(obj, "TransactionUID"):
        return "The TransactionUID (00081195) must be empty when a workitem is created."
    for keyword in TYPE_3:
        if present(obj, keyword) and not has_value(obj, keyword):
            return f"The attribute {keyword} ({key(keyword)}) is present but empty; leave it out or give it a value."
    for sequence, forbidden in NOT_AT_CREATION.items():
        for item in items(obj, sequence):
            for keyword in forbidden:
                if present(item, keyword):
                    return f"{keyword} is not allowed in {sequence} when a workitem is created."
    for item in items(obj, "ReferencedRequestSequence"):
        problem = _missing_values(item, ("StudyInstanceUID",), " in ReferencedRequestSequence")
        if problem:
            return problem
        for keyword in ("AccessionNumber", "RequestedProcedureID"):
            if not present(item, keyword):
                return f"The required attribute {keyword} is missing in ReferencedRequestSequence."
    return _code_items_without_meaning(obj)


def update_problem(changes: JsonObject) -> str | None:
    """UPS-14: why ``changes`` cannot be applied by an update."""
    for keyword in NOT_IN_UPDATE:
        if present(changes, keyword):
            return f"The attribute {keyword} ({key(keyword)}) cannot be changed by an update."
    for keyword in TYPE_3:
        if present(changes, keyword) and not has_value(changes, keyword):
            return f"The attribute {keyword} ({key(keyword)}) is present but empty."
    return _code_items_without_meaning(changes)


def final_state_problem(obj: JsonObject, state: str) -> str | None:
    """UPS-22: why the workitem ``obj`` (with its new state) cannot become ``state``."""
    assert state in (COMPLETED, CANCELED)
    problem = _missing_values(obj, FINAL_REQUIRED, "")
    if problem:
        return problem
    if state == COMPLETED:
        performed = items(obj, "UnifiedProcedureStepPerformedProcedureSequence")
        if not performed:
            return "A COMPLETED workitem needs an item in UnifiedProcedureStepPerformedProcedureSequence."
        return _missing_values(performed[0], COMPLETED_PERFORMED, " in UnifiedProcedureStepPerformedProcedureSequence")
    assert state == CANCELED
    progress = items(obj, "ProcedureStepProgressInformationSequence")
    if not progress:
        return "A CANCELED workitem needs an item in ProcedureStepProgressInformationSequence."
    return _missing_values(progress[0], CANCELED_PROGRESS, " in ProcedureStepProgressInformationSequence")
