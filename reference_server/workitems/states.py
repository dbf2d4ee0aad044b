"""The workitem state machine (PS3.4 Annex CC, Table CC.1.1-2, as behaviours UPS-13, UPS-21,
UPS-22 and UPS-24..27 describe the Azure service's implementation of it).

Each ``decide_*`` function is pure: given the stored workitem (None when there is none) and the
request, it returns an ``Outcome`` holding the DIMSE status code, the message, and the workitem
to write when the request changes it. The store runs it inside one write transaction, so the
decision and the write are atomic (two concurrent claims: exactly one wins).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

from reference_server.workitems.dataset import JsonObject, has_value, key, put, values
from reference_server.workitems.requirements import final_state_problem

SCHEDULED = "SCHEDULED"
IN_PROGRESS = "IN PROGRESS"
COMPLETED = "COMPLETED"
CANCELED = "CANCELED"
FINAL_STATES = (COMPLETED, CANCELED)
REQUESTABLE = (IN_PROGRESS, COMPLETED, CANCELED)
# PS3.16 CID 9300, the reason a cancellation request without one gets.
DEFAULT_REASON = {
    "00080100": {"vr": "SH", "Value": ["110513"]},
    "00080102": {"vr": "SH", "Value": ["DCM"]},
    "00080104": {"vr": "LO", "Value": ["Discontinued for unspecified reason"]},
}
ALREADY_CANCELED = "The UPS is already in the requested state of CANCELED."
NOT_FOUND = "The workitem instance is not found."


@dataclass(frozen=True, slots=True)
class Stored:
    """A workitem as stored: its state and Transaction UID are kept apart from the dataset."""

    uid: str
    state: str
    transaction_uid: str | None
    attributes: JsonObject


@dataclass(frozen=True, slots=True)
class Outcome:
    """The answer of the state machine to one request."""

    code: str  # DIMSE status (PS3.4 CC.2): "0000" success, "Bxxx" warning, "Cxxx" failure
    message: str
    state: str | None  # the state the workitem was in (None: not found)
    changed: Stored | None = None  # what to store, when the request changes the workitem

    @property
    def success(self) -> bool:
        return self.code == "0000"

    @property
    def warning(self) -> bool:
        return self.code.startswith("B")


def _transition_failure(uid: str, requested: str, code: str, reason: str, state: str) -> Outcome:
    # UPS-21 (SRC): the 400 text says "can not transition to '<state>' state: <code>".
    return Outcome(
        code, f"The workitem instance '{uid}' can not transition to '{requested}' state: {code}. {reason}", state
    )


def decide_update(
    current: Stored | None, uid: str, transaction_uid: str | None, changes: JsonObject, now: str
) -> Outcome:
    """UPS-13, UPS-14: merge ``changes`` into the workitem when the lock allows it."""
    if current is None:
        return Outcome("C307", f"The workitem instance '{uid}' was not found.", None)
    state = current.state
    if state in FINAL_STATES:
        return Outcome("C300", f"The workitem instance '{uid}' is {state} and may no longer be updated.", state)
    if state == SCHEDULED and transaction_uid is not None:
        message = f"The workitem instance '{uid}' is SCHEDULED: an update must not carry a Transaction UID."
        return Outcome("C301", message, state)
    if state == IN_PROGRESS and transaction_uid is None:
        return Outcome("C301", "The Transaction UID is missing.", state)
    if state == IN_PROGRESS and transaction_uid != current.transaction_uid:
        return Outcome("C301", "The Transaction UID is incorrect.", state)
    merged = copy.deepcopy(current.attributes)
    merged.update(copy.deepcopy(changes))  # attributes replace the stored ones, sequences whole
    put(merged, "ScheduledProcedureStepModificationDateTime", "DT", now)
    return Outcome("0000", "", state, replace(current, attributes=merged))


def decide_change_state(current: Stored | None, uid: str, requested: str, transaction_uid: str) -> Outcome:
    """UPS-21, UPS-22: the Change UPS State action."""
    if current is None:
        return Outcome("C307", f"The workitem instance '{uid}' was not found.", None)
    state = current.state
    if state == SCHEDULED:
        if requested == IN_PROGRESS:  # the claim: the client's UID becomes the lock (UPS-19)
            attributes = copy.deepcopy(current.attributes)
            put(attributes, "ProcedureStepState", "CS", IN_PROGRESS)
            claimed = replace(current, state=IN_PROGRESS, transaction_uid=transaction_uid, attributes=attributes)
            return Outcome("0000", "", state, claimed)
        return _transition_failure(uid, requested, "C301", "The workitem is not IN PROGRESS.", state)
    if transaction_uid != current.transaction_uid:
        return _transition_failure(uid, requested, "C301", "The Transaction UID is incorrect.", state)
    if state == IN_PROGRESS:
        if requested == IN_PROGRESS:
            return _transition_failure(uid, requested, "C302", "The workitem is already IN PROGRESS.", state)
        attributes = copy.deepcopy(current.attributes)
        put(attributes, "ProcedureStepState", "CS", requested)
        problem = final_state_problem(attributes, requested)
        if problem:
            return _transition_failure(uid, requested, "C304", problem, state)
        return Outcome("0000", "", state, replace(current, state=requested, attributes=attributes))
    if requested == state:
        code = "B306" if state == COMPLETED else "B304"
        return Outcome(code, f"The workitem instance is already in the final state '{state}'. {code}.", state)
    return _transition_failure(uid, requested, "C300", f"The workitem is {state} and may no longer change.", state)


def decide_cancel_request(current: Stored | None, uid: str, info: JsonObject, now: str) -> Outcome:
    """UPS-24..27: a request to cancel a workitem the client does not own."""
    if current is None:
        return Outcome("C307", NOT_FOUND, None)
    state = current.state
    if state == CANCELED:
        return Outcome("B304", ALREADY_CANCELED, state)
    if state == COMPLETED:
        return Outcome("C311", f"The workitem instance '{uid}' is already COMPLETED: it cannot be canceled.", state)
    if state == IN_PROGRESS:
        message = (
            f"The workitem instance '{uid}' is IN PROGRESS: its performer cannot be asked to cancel it "
            "(the Watch and Event SOP classes are not supported). C312."
        )
        return Outcome("C312", message, state)
    # SCHEDULED: canceled at once (there is no performer to tell), with the reason given.
    progress: JsonObject = {}
    put(progress, "ProcedureStepCancellationDateTime", "DT", now)
    reason = info.get(key("ProcedureStepDiscontinuationReasonCodeSequence"))
    if not has_value(info, "ProcedureStepDiscontinuationReasonCodeSequence"):
        reason = {"vr": "SQ", "Value": [copy.deepcopy(DEFAULT_REASON)]}
    progress[key("ProcedureStepDiscontinuationReasonCodeSequence")] = copy.deepcopy(reason)
    if has_value(info, "ReasonForCancellation"):
        put(progress, "ReasonForCancellation", "LT", *values(info, "ReasonForCancellation"))
    contact: JsonObject = {}
    for keyword, vr in (("ContactURI", "UR"), ("ContactDisplayName", "LO")):
        if has_value(info, keyword):
            put(contact, keyword, vr, *values(info, keyword))
    if contact:
        progress[key("ProcedureStepCommunicationsURISequence")] = {"vr": "SQ", "Value": [contact]}
    attributes = copy.deepcopy(current.attributes)
    attributes[key("ProcedureStepProgressInformationSequence")] = {"vr": "SQ", "Value": [progress]}
    put(attributes, "ProcedureStepState", "CS", CANCELED)
    return Outcome("0000", "", state, replace(current, state=CANCELED, transaction_uid=None, attributes=attributes))
