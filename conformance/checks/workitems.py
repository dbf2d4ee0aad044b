"""Checks on UPS-RS answers, and the model of the workitem state machine they are judged by.

The model is data: ``CHANGE_STATE_TABLE`` is the UPS-21 table (PS3.4 Table CC.1.1-2 as the Azure
service implements it), keyed by the current state, the requested state and whether the
Transaction UID presented is the one recorded. ``WorkitemRules`` says which HTTP statuses a
target answers where the sources differ (the profile's AMB-12..15 rules, Azure compatibility);
the ``*_expectation`` functions combine both into what one request must get.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from pydicom import Dataset

from conformance.checks.http import expect, expect_status, parse_warning_header
from conformance.client.responses import DicomwebResponse
from conformance.client.workitems import WorklistMixin
from conformance.core.dicom_json import tag_key
from conformance.core.uids import new_uid
from conformance.profile import Profile, Rule
from conformance.testdata.workitems import Workitem, cancellation_attributes, completion_attributes, new_workitem

JsonObject = dict[str, Any]


class WorkitemState(StrEnum):
    """Procedure Step State (0074,1000) values (PS3.4 Table CC.1.1-1)."""

    SCHEDULED = "SCHEDULED"
    IN_PROGRESS = "IN PROGRESS"
    COMPLETED = "COMPLETED"
    CANCELED = "CANCELED"

    @property
    def final(self) -> bool:
        return self in (WorkitemState.COMPLETED, WorkitemState.CANCELED)


class Result(StrEnum):
    SUCCESS = "success"
    WARNING = "warning"
    FAILURE = "failure"
    NOT_FOUND = "not found"


class Presented(StrEnum):
    """Which Transaction UID a request carries, relative to the one the workitem recorded."""

    NONE = "none"
    CURRENT = "current"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell of the state table: the DIMSE status and, on success, the state reached."""

    code: str
    result: Result
    next_state: WorkitemState | None = None
    needs_final_state: bool = False  # UPS-22: only when the final-state requirements are met


S, P, D, C = WorkitemState.SCHEDULED, WorkitemState.IN_PROGRESS, WorkitemState.COMPLETED, WorkitemState.CANCELED

#: UPS-21: (current state, requested state, the presented Transaction UID is the recorded one).
#: A SCHEDULED workitem has recorded none, so any UID claims it and none "matches".
CHANGE_STATE_TABLE: Final[Mapping[tuple[WorkitemState, WorkitemState, bool], Cell]] = {
    (S, P, False): Cell("0000", Result.SUCCESS, P),
    (S, D, False): Cell("C301", Result.FAILURE),
    (S, C, False): Cell("C301", Result.FAILURE),
    (P, P, True): Cell("C302", Result.FAILURE),
    (P, D, True): Cell("0000", Result.SUCCESS, D, needs_final_state=True),
    (P, C, True): Cell("0000", Result.SUCCESS, C, needs_final_state=True),
    (P, P, False): Cell("C301", Result.FAILURE),
    (P, D, False): Cell("C301", Result.FAILURE),
    (P, C, False): Cell("C301", Result.FAILURE),
    (D, D, True): Cell("B306", Result.WARNING),
    (D, P, True): Cell("C300", Result.FAILURE),
    (D, C, True): Cell("C300", Result.FAILURE),
    (D, P, False): Cell("C301", Result.FAILURE),
    (D, D, False): Cell("C301", Result.FAILURE),
    (D, C, False): Cell("C301", Result.FAILURE),
    (C, C, True): Cell("B304", Result.WARNING),
    (C, P, True): Cell("C300", Result.FAILURE),
    (C, D, True): Cell("C300", Result.FAILURE),
    (C, P, False): Cell("C301", Result.FAILURE),
    (C, D, False): Cell("C301", Result.FAILURE),
    (C, C, False): Cell("C301", Result.FAILURE),
}
UNKNOWN_WORKITEM: Final = Cell("C307", Result.NOT_FOUND)
FINAL_STATE_NOT_MET: Final = Cell("C304", Result.FAILURE)

#: UPS-21 (SRC): the Warning texts of the two "already there" answers.
FINAL_STATE_WARNINGS: Final = {
    "B306": "The workitem instance is already in the final state 'COMPLETED'. B306.",
    "B304": "The workitem instance is already in the final state 'CANCELED'. B304.",
}
#: UPS-25 (D1, D2, E2E): the Warning text, and the body, of a cancellation request on a CANCELED workitem.
ALREADY_CANCELED: Final = "The UPS is already in the requested state of CANCELED."
#: UPS-26 (D1, D2, E2E): the body of a cancellation request on an unknown workitem.
NOT_FOUND_TEXT: Final = "The workitem instance is not found."


def cell(current: WorkitemState, requested: WorkitemState, matches: bool) -> Cell:
    """The table cell; ``matches`` is ignored for SCHEDULED, which has no recorded UID."""
    return CHANGE_STATE_TABLE[(current, requested, matches and current is not S)]


def _by_rule(profile: Profile, ambiguity: str, documented: set[int], implemented: set[int]) -> frozenset[int]:
    rule = profile.follows(ambiguity)
    if rule is Rule.DOCUMENTED:
        return frozenset(documented)
    if rule is Rule.IMPLEMENTED:
        return frozenset(implemented)
    return frozenset(documented | implemented)


@dataclass(frozen=True, slots=True)
class WorkitemRules:
    """The HTTP statuses a target answers where the sources disagree, from its profile."""

    azure: bool
    state_failure: frozenset[int]
    update_failure: frozenset[int]
    update_canceled: frozenset[int]
    update_unknown: frozenset[int]
    cancel_in_progress: frozenset[int]
    cancel_completed: frozenset[int]
    cancel_canceled: frozenset[int]

    @classmethod
    def of(cls, profile: Profile) -> WorkitemRules:
        azure = profile.azure_compatible
        # PS3.18 11.6/11.7 list 400 for transaction UID problems and 409 for "inconsistent
        # with the current state"; the Azure service answers 400 for all of them.
        strict_or_either = frozenset({400}) if azure else frozenset({400, 409})
        return cls(
            azure=azure,
            state_failure=_by_rule(profile, "AMB-14", {400, 409}, {400}),
            update_failure=strict_or_either,
            update_canceled=_by_rule(profile, "AMB-12", {400}, {409}),
            update_unknown=_by_rule(profile, "AMB-13", {404}, {400}),
            cancel_in_progress=_by_rule(profile, "AMB-15", {400, 409}, {400}),
            cancel_completed=_by_rule(profile, "AMB-15", {409}, {400}),
            # PS3.18 Table 11.8.3-1 answers an already canceled workitem 202 with a Warning;
            # the Azure service answers 409 (UPS-25).
            cancel_canceled=frozenset({409}) if azure else frozenset({202, 409}),
        )


@dataclass(frozen=True, slots=True)
class Expectation:
    """What one request must get: allowed statuses, and what a success changes."""

    code: str
    statuses: frozenset[int]
    success: frozenset[int] = frozenset()
    next_state: WorkitemState | None = None
    warning: str | None = None  # a Warning text required on a success status
    warning_exact: bool = False
    failure_warning: bool = False  # every failure carries a Warning header (SRC)

    def state_after(self, status: int, current: WorkitemState | None) -> WorkitemState | None:
        if status in self.success and self.next_state is not None:
            return self.next_state
        return current

    def describe(self) -> str:
        return f"{self.code}: status {' or '.join(str(s) for s in sorted(self.statuses))}"


def change_state_expectation(
    rules: WorkitemRules,
    current: WorkitemState | None,
    requested: WorkitemState,
    matches: bool,
    *,
    final_ready: bool,
) -> Expectation:
    """UPS-21 / UPS-22: a Change State request to ``requested``."""
    if current is None:
        return Expectation(UNKNOWN_WORKITEM.code, frozenset({404}), failure_warning=rules.azure)
    found = cell(current, requested, matches)
    failure = Expectation(found.code, rules.state_failure, failure_warning=rules.azure)
    if found.result is Result.FAILURE:
        return failure
    if found.result is Result.WARNING:
        text = FINAL_STATE_WARNINGS[found.code] if rules.azure else str(requested)
        # A server that forgets the Transaction UID of a final workitem (PS3.4 allows it)
        # cannot recognise it any more: outside Azure compatibility that failure is accepted.
        statuses = frozenset({200}) if rules.azure else frozenset({200}) | rules.state_failure
        return Expectation(found.code, statuses, frozenset({200}), None, text, warning_exact=rules.azure)
    if found.needs_final_state and not final_ready:
        if requested is C and not rules.azure:
            # PS3.4 CC.2.5.1.1 lets the SCP fill in the cancellation date-time itself.
            return Expectation("C304/0000", rules.state_failure | {200}, frozenset({200}), C)
        return Expectation(FINAL_STATE_NOT_MET.code, rules.state_failure, failure_warning=rules.azure)
    return Expectation(found.code, frozenset({200}), frozenset({200}), found.next_state)


def update_expectation(rules: WorkitemRules, current: WorkitemState | None, presented: Presented) -> Expectation:
    """UPS-13 / UPS-16: an Update request carrying ``presented`` as its Transaction UID."""
    warn = rules.azure
    if current is None:
        return Expectation("C307", rules.update_unknown, failure_warning=warn)
    if current is C:
        return Expectation("C300", rules.update_canceled, failure_warning=warn)
    if current is D:
        return Expectation("C300", frozenset({400}), failure_warning=warn)
    wanted = Presented.NONE if current is S else Presented.CURRENT
    if presented is wanted:
        return Expectation("0000", frozenset({200}), frozenset({200}), current)
    return Expectation("C301", rules.update_failure, failure_warning=warn)


def cancel_request_expectation(rules: WorkitemRules, current: WorkitemState | None) -> Expectation:
    """UPS-24..27: a Request Cancellation."""
    if current is None:
        return Expectation("C307", frozenset({404}))
    if current is S:
        return Expectation("0000", frozenset({202}), frozenset({202}), C)
    if current is P:
        return Expectation("C312", rules.cancel_in_progress)
    if current is D:
        return Expectation("C311", rules.cancel_completed)
    text = ALREADY_CANCELED if rules.azure else "CANCELED"
    return Expectation(
        "B304", rules.cancel_canceled, warning=text, warning_exact=rules.azure, success=frozenset({202, 409})
    )


# -- checks ----------------------------------------------------------------------------------


def warning_texts(response: DicomwebResponse) -> list[str]:
    """The texts of the GEN-10 formed Warning values of ``response``."""
    return [parsed[1] for value in response.header_values("warning") if (parsed := parse_warning_header(value))]


def expect_warning(response: DicomwebResponse, *, why: str, text: str | None = None, exact: bool = True) -> str:
    """A ``Warning: 299 {host}: "{text}"`` header (GEN-10); ``text`` equal (or, not ``exact``,
    contained). Returns the matching text."""
    texts = warning_texts(response)
    matching = [t for t in texts if text is None or (t == text if exact else text in t)]
    shown = "; ".join(response.header_values("warning")) or "no Warning header"
    wanted = f'"{text}"' if text is not None and exact else f'"...{text}..."' if text else '"<message>"'
    expect(bool(matching), why, response=response, expected=f"Warning: 299 <host>: {wanted}", received=shown)
    return matching[0]


def expect_outcome(response: DicomwebResponse, expectation: Expectation, *, why: str) -> None:
    """The status is allowed; a required Warning is there (UPS-16, UPS-21, UPS-25)."""
    expect_status(response, *sorted(expectation.statuses), why=f"{why} ({expectation.code})")
    if expectation.warning is not None and response.status in expectation.success:
        expect_warning(
            response,
            why=f"{why}: the answer warns that nothing changed ({expectation.code})",
            text=expectation.warning,
            exact=expectation.warning_exact,
        )
    if expectation.failure_warning and response.status >= 400:
        expect_warning(response, why=f"{why}: the refusal carries a Warning header with its reason")


def values_of(obj: Mapping[str, Any], keyword: str) -> list[Any]:
    """The ``Value`` array of ``keyword`` in a DICOM JSON object (empty when absent)."""
    element = obj.get(tag_key(keyword))
    values = element.get("Value") if isinstance(element, dict) else None
    return values if isinstance(values, list) else []


def first_value(obj: Mapping[str, Any], keyword: str) -> Any:
    values = values_of(obj, keyword)
    return values[0] if values else None


def workitem_of(response: DicomwebResponse, *, why: str, single_object: bool) -> JsonObject:
    """UPS-10: the workitem of a Retrieve answer: one DICOM JSON object (Azure, ``single_object``),
    or else also an array holding exactly one."""
    body = response.json()
    if isinstance(body, list) and not single_object and len(body) == 1:
        body = body[0]
    expected = "one DICOM JSON object" + ("" if single_object else " (or an array of one)")
    expect(isinstance(body, dict), why, response=response, expected=expected, received=type(body).__name__)
    assert isinstance(body, dict)
    return body


def expect_state(response: DicomwebResponse, obj: Mapping[str, Any], state: WorkitemState | str, *, why: str) -> None:
    found = first_value(obj, "ProcedureStepState")
    expect(
        found == str(state),
        why,
        response=response,
        expected=f"ProcedureStepState (0074,1000) {state}",
        received=f"ProcedureStepState {found!r}",
    )


def expect_no_transaction_uid(response: DicomwebResponse, obj: Mapping[str, Any], *, why: str) -> None:
    """UPS-11: TransactionUID (0008,1195) is never returned, not even empty."""
    element = obj.get(tag_key("TransactionUID"))
    expect(
        element is None,
        why,
        response=response,
        expected="no TransactionUID (0008,1195)",
        received=f"TransactionUID {element}",
    )


# -- the steps tests take to bring a workitem where they need it ----------------------------------


def create_ok(client: WorklistMixin, item: Workitem, *, why: str = "a valid workitem is created") -> str:
    """Create ``item`` with its UID in the query (UPS-04); 201 or a failure."""
    expect_status(client.create_workitem(item.json(with_uid=False), item.uid), 201, why=why)
    return item.uid


def retrieve_ok(client: WorklistMixin, uid: str, *, single_object: bool, why: str) -> JsonObject:
    response = client.retrieve_workitem(uid)
    expect_status(response, 200, why=why)
    return workitem_of(response, why=why, single_object=single_object)


def claim_ok(client: WorklistMixin, uid: str, transaction_uid: str | None = None) -> str:
    """UPS-19: claim with a transaction UID the client invents; returns it."""
    transaction_uid = transaction_uid or new_uid()
    response = client.change_workitem_state(uid, str(WorkitemState.IN_PROGRESS), transaction_uid)
    expect_status(response, 200, why="a SCHEDULED workitem is claimed with a new transaction UID")
    return transaction_uid


def final_state_attributes(*states: WorkitemState) -> Dataset:
    """UPS-22: the attributes a workitem needs to reach each of ``states``, in one dataset."""
    ds = Dataset()
    if WorkitemState.COMPLETED in states:
        ds.update(completion_attributes())
    if WorkitemState.CANCELED in states:
        ds.update(cancellation_attributes())
    return ds


def workitem_in_state(
    client: WorklistMixin,
    state: WorkitemState,
    *,
    purpose: str,
    prepared_for: tuple[WorkitemState, ...] = (WorkitemState.COMPLETED, WorkitemState.CANCELED),
) -> tuple[Workitem, str | None]:
    """A new workitem driven to ``state`` through create, update, claim and change state; the
    final-state attributes for ``prepared_for`` are added while it is SCHEDULED. Returns the
    workitem and the transaction UID that claimed it (None while SCHEDULED)."""
    item = new_workitem(purpose)
    create_ok(client, item)
    if prepared_for:
        changes = final_state_attributes(*prepared_for)
        response = client.update_workitem(item.uid, changes)
        expect_status(response, 200, why="a SCHEDULED workitem is updated without a transaction UID")
    if state is WorkitemState.SCHEDULED:
        return item, None
    transaction_uid = claim_ok(client, item.uid)
    if state.final:
        response = client.change_workitem_state(item.uid, str(state), transaction_uid)
        expect_status(response, 200, why=f"the claimed, prepared workitem moves to {state}")
    return item, transaction_uid
