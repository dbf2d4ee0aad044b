"""The workitem store and state machine of the reference server, without HTTP: every change is
decided and written in one transaction, so concurrent claims of one workitem have one winner."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from conformance.checks.workitems import CHANGE_STATE_TABLE, Result, WorkitemState
from conformance.testdata.workitems import cancellation_attributes, completion_attributes, new_workitem
from reference_server.workitems import states
from reference_server.workitems.states import Outcome, Stored, decide_change_state
from reference_server.workitems.store import WorkitemStore

CLAIMERS = 8


def _stored(store: WorkitemStore) -> str:
    item = new_workitem("store")
    attributes = item.json()
    attributes.update(completion_attributes().to_json_dict())
    attributes.update(cancellation_attributes().to_json_dict())
    for key, vr, value in (
        ("00080016", "UI", "1.2.840.10008.5.1.4.34.6.1"),
        ("00404010", "DT", "20300101000000"),
        ("00741000", "CS", "SCHEDULED"),
    ):
        attributes[key] = {"vr": vr, "Value": [value]}
    assert store.create(item.uid, states.SCHEDULED, attributes)
    assert not store.create(item.uid, states.SCHEDULED, attributes)
    return item.uid


def _claim(store: WorkitemStore, uid: str, transaction_uid: str) -> Outcome:
    return store.apply(uid, lambda current: decide_change_state(current, uid, states.IN_PROGRESS, transaction_uid))


@pytest.mark.parametrize("attempt", range(5))
def test_concurrent_claims_have_exactly_one_winner(tmp_path: Path, attempt: int) -> None:
    store = WorkitemStore(tmp_path / "workitems.sqlite3")
    uid = _stored(store)
    start = threading.Barrier(CLAIMERS)
    outcomes: dict[str, Outcome] = {}

    def claimer(transaction_uid: str) -> None:
        start.wait()
        outcomes[transaction_uid] = _claim(store, uid, transaction_uid)

    threads = [threading.Thread(target=claimer, args=(f"2.25.{attempt}{n}",)) for n in range(CLAIMERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    winners = [t for t, outcome in outcomes.items() if outcome.success]
    assert len(outcomes) == CLAIMERS
    assert len(winners) == 1
    assert {o.code for t, o in outcomes.items() if t not in winners} <= {"C301", "C302"}
    stored = store.get(uid)
    assert stored is not None
    assert stored.state == states.IN_PROGRESS
    assert stored.transaction_uid == winners[0]


@pytest.mark.parametrize("attempt", range(5))
def test_concurrent_claim_and_cancellation_request(tmp_path: Path, attempt: int) -> None:
    """A claim and a cancellation request race for a SCHEDULED workitem: exactly one wins."""
    store = WorkitemStore(tmp_path / "workitems.sqlite3")
    uid = _stored(store)
    start = threading.Barrier(2)
    results: dict[str, Outcome] = {}

    def claim() -> None:
        start.wait()
        results["claim"] = _claim(store, uid, f"2.25.{attempt}")

    def cancel() -> None:
        start.wait()
        results["cancel"] = store.apply(uid, lambda current: states.decide_cancel_request(current, uid, {}, "x"))

    threads = [threading.Thread(target=claim), threading.Thread(target=cancel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results["claim"].success != results["cancel"].success
    stored = store.get(uid)
    assert stored is not None
    assert stored.state == (states.IN_PROGRESS if results["claim"].success else states.CANCELED)


def _workitem(state: str, transaction_uid: str | None) -> Stored:
    item = new_workitem("decide")
    attributes = item.json()
    attributes.update(completion_attributes().to_json_dict())
    attributes.update(cancellation_attributes().to_json_dict())
    attributes["00080016"] = {"vr": "UI", "Value": ["1.2.840.10008.5.1.4.34.6.1"]}
    attributes["00404010"] = {"vr": "DT", "Value": ["20300101000000"]}
    return Stored(item.uid, state, transaction_uid, attributes)


@pytest.mark.parametrize("row", sorted(CHANGE_STATE_TABLE), ids=str)
def test_server_decisions_follow_the_suite_model(row: tuple[WorkitemState, WorkitemState, bool]) -> None:
    """The server's state machine and the suite's model of UPS-21 agree on every cell."""
    current, requested, matches = row
    recorded = None if current is WorkitemState.SCHEDULED else "2.25.1"
    given = "2.25.1" if matches else "2.25.2"
    outcome = decide_change_state(_workitem(str(current), recorded), "2.25.9", str(requested), given)
    cell = CHANGE_STATE_TABLE[row]
    assert outcome.code == cell.code
    assert outcome.success == (cell.result is Result.SUCCESS)
    assert outcome.warning == (cell.result is Result.WARNING)
    if outcome.changed is not None:
        assert outcome.changed.state == str(cell.next_state)


def test_unprepared_final_states_are_refused() -> None:
    item = new_workitem("decide, unprepared")
    attributes = item.json()
    attributes["00080016"] = {"vr": "UI", "Value": ["1.2.840.10008.5.1.4.34.6.1"]}
    attributes["00404010"] = {"vr": "DT", "Value": ["20300101000000"]}
    workitem = Stored(item.uid, states.IN_PROGRESS, "2.25.1", attributes)
    for final in (states.COMPLETED, states.CANCELED):
        outcome = decide_change_state(workitem, item.uid, final, "2.25.1")
        assert outcome.code == "C304"
        assert outcome.changed is None
