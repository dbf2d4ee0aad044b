"""The workitem state machine, driven at random against the model of its state table.

A Hypothesis ``RuleBasedStateMachine`` drives workitems on the target through sequences of
create, create again, update (with no, the right or a wrong Transaction UID; adding the
attributes a final state needs, or not), claim / complete / cancel (with the right or a wrong
Transaction UID), cancellation request and retrieve. Every answer is checked against the model
in ``conformance.checks.workitems``: the UPS-21 table (PS3.4 Table CC.1.1-2), the update lock
(UPS-13), the final-state requirements (UPS-22), the cancellation request (UPS-24..27) and the
profile's rules where the sources differ (AMB-12..15). When the sequence ends, every workitem
is retrieved and its state compared with the model's.

Bounded and deterministic: ``--dicomweb-hypothesis-examples`` sequences (default 20) of at most
``STEPS`` steps each, derandomized, with no example database. Every request goes to a live
target, so Hypothesis' own shrinking (thousands of requests) is replaced by a bounded one
(``shrink``): the failing sequence, which ends at its failing step, is simplified by leaving out
one step, or by aiming one step at the first fitting workitem, replayed on new workitems, and
kept when the same check still fails; this goes on from each simpler sequence, with at most
``MAX_REPLAYS`` replays. The failure lists the resulting sequence as lines that replay it with
the suite's client (``client`` = ``DicomwebClient``; the helpers come from
``conformance.testdata.workitems``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule, run_state_machine_as_test

from conformance.checks import expect_status
from conformance.checks.workitems import (
    Presented,
    WorkitemRules,
    WorkitemState,
    cancel_request_expectation,
    change_state_expectation,
    expect_no_transaction_uid,
    expect_outcome,
    expect_state,
    final_state_attributes,
    update_expectation,
    workitem_of,
)
from conformance.client.client import DicomwebClient
from conformance.core.errors import ConformanceFailure
from conformance.core.uids import new_uid
from conformance.plugin import Dicomweb
from conformance.testdata.workitems import cancellation_request, comment_update, new_workitem

pytestmark = pytest.mark.requires("workitems")

STEPS = 12
INDEX = st.integers(min_value=0, max_value=7)
REQUESTED = st.sampled_from([WorkitemState.IN_PROGRESS, WorkitemState.COMPLETED, WorkitemState.CANCELED])
MAX_WORKITEMS = 3  # per sequence: steps go to transitions rather than to creations
MAX_REPLAYS = 60
S, P, D, C = WorkitemState.SCHEDULED, WorkitemState.IN_PROGRESS, WorkitemState.COMPLETED, WorkitemState.CANCELED


@dataclass
class Modelled:
    """What the model knows of one workitem."""

    name: str
    uid: str
    state: WorkitemState = S
    transaction_uid: str | None = None
    ready_for: set[WorkitemState] = field(default_factory=set)


def _open(w: Modelled) -> bool:
    return not w.state.final


Call = tuple[str, dict[str, Any]]
F = TypeVar("F", bound=Callable[..., None])


def recorded(rule_function: F) -> F:
    """Record each call of a rule (its name and arguments), so the sequence can be replayed."""

    @functools.wraps(rule_function)
    def wrapper(self: WorklistMachine, **arguments: Any) -> None:
        self.calls.append((rule_function.__name__, arguments))
        rule_function(self, **arguments)

    return wrapper  # type: ignore[return-value]


class WorklistMachine(RuleBasedStateMachine):
    """Rules over the target's workitems; the class attributes are set per test run.

    Workitems are picked by an index into the ones that fit the rule (``i`` modulo their
    number), so a replay with a step left out still finds a workitem to act on. ``claim``, ``prepare`` and ``finish``
    take the paths a performer takes; ``change_state`` and ``update`` try any state with any
    Transaction UID."""

    client: ClassVar[DicomwebClient]
    model_rules: ClassVar[WorkitemRules]
    single_object: ClassVar[bool]
    latest: ClassVar[WorklistMachine | None] = None  # the machine of the latest sequence

    def __init__(self) -> None:
        super().__init__()
        self.modelled: list[Modelled] = []
        self.calls: list[Call] = []  # the rule calls, for a replay
        self.steps: list[str] = []  # the requests, as lines for the reader
        type(self).latest = self

    # -- helpers ---------------------------------------------------------------------------------

    def _pick(self, i: int, fits: Callable[[Modelled], bool] = lambda w: True) -> Modelled | None:
        """The ``i``-th fitting workitem (modulo); None when none fits (a shortened replay)."""
        candidates = [w for w in self.modelled if fits(w)]
        return candidates[i % len(candidates)] if candidates else None

    def _step(self, call: str, expectation: str) -> None:
        self.steps.append(f"{call}  # {expectation}")

    def _presented_uid(self, w: Modelled, presented: Presented) -> tuple[str | None, Presented]:
        """The UID to send, and what it is to the model (no recorded UID: "current" is another)."""
        if presented is Presented.NONE:
            return None, presented
        if presented is Presented.CURRENT and w.transaction_uid is not None:
            return w.transaction_uid, presented
        return new_uid(), Presented.OTHER

    def _update(self, w: Modelled, presented: Presented, *, prepare: bool) -> None:
        uid, presented = self._presented_uid(w, presented)
        expectation = update_expectation(self.model_rules, w.state, presented)
        changes = final_state_attributes(D, C) if prepare else comment_update("state machine update")
        what = "final_state_attributes(COMPLETED, CANCELED)" if prepare else "comment_update('x')"
        self._step(
            f"client.update_workitem({w.uid!r}, {what}, {uid!r})", f"{w.name} {w.state}: {expectation.describe()}"
        )
        response = self.client.update_workitem(w.uid, changes, uid)
        expect_outcome(response, expectation, why=f"{w.name}: update of a {w.state} workitem, {presented} UID")
        if prepare and response.status in expectation.success:
            w.ready_for |= {D, C}

    def _change_state(self, w: Modelled, requested: WorkitemState, presented: Presented) -> None:
        uid, presented = self._presented_uid(w, presented)
        assert uid is not None
        matches = presented is Presented.CURRENT
        ready = requested in w.ready_for
        expectation = change_state_expectation(self.model_rules, w.state, requested, matches, final_ready=ready)
        self._step(
            f"client.change_workitem_state({w.uid!r}, {str(requested)!r}, {uid!r})",
            f"{w.name} {w.state} -> {requested}, {presented} UID: {expectation.describe()}",
        )
        response = self.client.change_workitem_state(w.uid, str(requested), uid)
        why = f"{w.name}: {w.state} -> {requested} with the {presented} UID"
        expect_outcome(response, expectation, why=why)
        after = expectation.state_after(response.status, w.state) or w.state
        if w.state is S and after is P:
            w.transaction_uid = uid  # UPS-19: the claimer's UID is the lock from now on
        w.state = after

    def _expect_modelled(self, w: Modelled) -> None:
        response = self.client.retrieve_workitem(w.uid)
        expect_status(response, 200, why=f"{w.name}: the workitem is retrievable (UPS-10)")
        obj = workitem_of(response, why=f"{w.name}: the answer is the workitem", single_object=self.single_object)
        expect_state(response, obj, w.state, why=f"{w.name}: the workitem is in the state the model expects")
        expect_no_transaction_uid(response, obj, why=f"{w.name}: no Transaction UID is returned (UPS-11)")

    # -- rules -----------------------------------------------------------------------------------

    @initialize()
    @recorded
    def first(self) -> None:
        self._create()

    @precondition(lambda self: len(self.modelled) < MAX_WORKITEMS)
    @rule()
    @recorded
    def create(self) -> None:
        self._create()

    def _create(self) -> None:
        item = new_workitem("state machine")
        w = Modelled(f"w{len(self.modelled) + 1}", item.uid)
        self._step(f"client.create_workitem(new_workitem(uid={item.uid!r}).json(with_uid=False), {item.uid!r})", "201")
        response = self.client.create_workitem(item.json(with_uid=False), item.uid)
        expect_status(response, 201, why=f"{w.name}: a valid workitem is created (UPS-04)")
        self.modelled.append(w)

    @rule(i=INDEX, again=st.booleans())
    @recorded
    def look(self, i: int, again: bool) -> None:
        """Retrieve a workitem and compare it with the model, or try to create it again (409)."""
        w = self._pick(i)
        if w is None:
            return
        if not again:
            self._step(f"client.retrieve_workitem({w.uid!r})", f"{w.name}: 200, {w.state}, no TransactionUID")
            self._expect_modelled(w)
            return
        self._step(f"client.create_workitem(new_workitem(uid={w.uid!r}).json(with_uid=False), {w.uid!r})", "409")
        duplicate = new_workitem("state machine, again", uid=w.uid)
        response = self.client.create_workitem(duplicate.json(with_uid=False), w.uid)
        expect_status(response, 409, why=f"{w.name}: a workitem that exists is not created again (UPS-07)")

    @precondition(lambda self: any(_open(w) for w in self.modelled))
    @rule(i=INDEX)
    @recorded
    def prepare(self, i: int) -> None:
        """The performer adds what both final states need (UPS-22), with the right lock."""
        w = self._pick(i, _open)
        if w is not None:
            self._update(w, Presented.NONE if w.state is S else Presented.CURRENT, prepare=True)

    @precondition(lambda self: any(_open(w) for w in self.modelled))
    @rule(i=INDEX, presented=st.sampled_from(list(Presented)))
    @recorded
    def update(self, i: int, presented: Presented) -> None:
        w = self._pick(i, _open)
        if w is not None:
            self._update(w, presented, prepare=False)

    @precondition(lambda self: any(w.state is S for w in self.modelled))
    @rule(i=INDEX)
    @recorded
    def claim(self, i: int) -> None:
        w = self._pick(i, lambda w: w.state is S)
        if w is not None:
            self._change_state(w, P, Presented.OTHER)

    @precondition(lambda self: any(w.state is P for w in self.modelled))
    @rule(i=INDEX, final=st.sampled_from([D, C]), prepare_first=st.booleans())
    @recorded
    def finish(self, i: int, final: WorkitemState, prepare_first: bool) -> None:
        """The owner completes or cancels its workitem, having added what that needs, or not."""
        w = self._pick(i, lambda w: w.state is P)
        if w is None:
            return
        if prepare_first:
            self._update(w, Presented.CURRENT, prepare=True)
        self._change_state(w, final, Presented.CURRENT)

    @precondition(lambda self: any(_open(w) for w in self.modelled))
    @rule(i=INDEX, requested=REQUESTED, presented=st.sampled_from([Presented.CURRENT, Presented.OTHER]))
    @recorded
    def change_state(self, i: int, requested: WorkitemState, presented: Presented) -> None:
        w = self._pick(i, _open)
        if w is not None:
            self._change_state(w, requested, presented)

    @precondition(lambda self: any(_open(w) for w in self.modelled))
    @rule(i=INDEX)
    @recorded
    def cancel_request(self, i: int) -> None:
        w = self._pick(i, _open)
        if w is not None:
            self._cancel_request(w)

    @precondition(lambda self: any(not _open(w) for w in self.modelled))
    @rule(
        i=INDEX,
        action=st.sampled_from(["change state", "update", "cancel request"]),
        requested=REQUESTED,
        presented=st.sampled_from(list(Presented)),
    )
    @recorded
    def poke_final(self, i: int, action: str, requested: WorkitemState, presented: Presented) -> None:
        """Any request on a COMPLETED or CANCELED workitem (one rule, so they do not crowd out the rest)."""
        w = self._pick(i, lambda w: not _open(w))
        if w is None:
            return
        if action == "update":
            self._update(w, presented, prepare=False)
        elif action == "change state":
            self._change_state(w, requested, Presented.OTHER if presented is Presented.NONE else presented)
        else:
            self._cancel_request(w)

    def _cancel_request(self, w: Modelled) -> None:
        expectation = cancel_request_expectation(self.model_rules, w.state)
        self._step(
            f"client.request_cancellation({w.uid!r}, cancellation_request('x'))",
            f"{w.name} {w.state}: {expectation.describe()}",
        )
        response = self.client.request_cancellation(w.uid, cancellation_request("state machine"))
        expect_outcome(response, expectation, why=f"{w.name}: a cancellation request on a {w.state} workitem")
        after = expectation.state_after(response.status, w.state)
        if after is not None and after is not w.state:
            w.state, w.transaction_uid = after, None  # canceled without an owner (UPS-24)

    def teardown(self) -> None:
        for w in self.modelled:
            self._step(f"client.retrieve_workitem({w.uid!r})", f"{w.name} at the end: 200, {w.state}")
            self._expect_modelled(w)


def _kind(failure: ConformanceFailure) -> str:
    """What failed, whichever workitem it was (removing a step renumbers them)."""
    return re.sub(r"\bw\d+\b", "w", failure.message)


def _replay(
    machine_class: type[WorklistMachine], calls: list[Call]
) -> tuple[ConformanceFailure, WorklistMachine] | None:
    """Run ``calls`` on a new machine (new workitems); the failure and the machine, if it fails."""
    machine = machine_class()
    try:
        for name, arguments in calls:
            getattr(machine, name)(**arguments)
        machine.teardown()
    except ConformanceFailure as failure:
        return failure, machine
    return None


def _simpler(calls: list[Call]) -> Iterator[list[Call]]:
    """Candidates one step simpler: without one step (not the first creation), then with one
    step aimed at the first fitting workitem (index 0) rather than another."""
    for index in reversed(range(1, len(calls))):
        yield calls[:index] + calls[index + 1 :]
    for index, (name, arguments) in enumerate(calls):
        if arguments.get("i"):
            yield [*calls[:index], (name, {**arguments, "i": 0}), *calls[index + 1 :]]


def shrink(
    machine_class: type[WorklistMachine], failure: ConformanceFailure, machine: WorklistMachine
) -> tuple[ConformanceFailure, WorklistMachine]:
    """Simplify the failing sequence while the same check still fails, starting over from each
    simpler one, with at most ``MAX_REPLAYS`` replays. Returns the failure and the machine of
    the simplest replay (its last recorded step is the failing one)."""
    kind = _kind(failure)
    replays = 0
    simplified = True
    while simplified and replays < MAX_REPLAYS:
        simplified = False
        for candidate in _simpler(machine.calls[:]):
            if replays >= MAX_REPLAYS:
                break
            replays += 1
            result = _replay(machine_class, candidate)
            if result is not None and _kind(result[0]) == kind:
                failure, machine = result
                simplified = True
                break
    return failure, machine


@pytest.mark.behavior("UPS-21", "UPS-13", "UPS-19", "UPS-24")
def test_random_sequences_follow_the_state_table(dicomweb: Dicomweb) -> None:
    """UPS-21, UPS-13, UPS-19, UPS-24 (SRC, D1, D2; PS3.4 Annex CC): random sequences of
    workitem operations, each answer as the state table and the Transaction UID lock say (see
    the module docstring); the profile's AMB-12..15 rules pick the statuses where the sources
    differ. A failure lists the shortest sequence of steps that reproduces it."""

    class Run(WorklistMachine):
        client = dicomweb.client
        model_rules = WorkitemRules.of(dicomweb.profile)
        single_object = dicomweb.profile.azure_compatible

    bounded = settings(
        max_examples=dicomweb.settings.hypothesis_examples,
        stateful_step_count=STEPS,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no Hypothesis shrinking: see shrink()
        report_multiple_bugs=False,
        print_blob=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    try:
        run_state_machine_as_test(Run, settings=bounded)
    except ConformanceFailure as found:
        assert Run.latest is not None
        failure, machine = shrink(Run, found, Run.latest)
        steps = "\n".join(f"  {n}. {line}" for n, line in enumerate(machine.steps, start=1))
        raise ConformanceFailure(
            f"{failure.message}\nThe shortest sequence of steps that reproduces it:\n{steps}",
            expected=failure.detail.expected,
            received=failure.detail.received,
            exchange=failure.exchange,
        ) from None
