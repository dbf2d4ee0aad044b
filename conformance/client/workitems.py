"""Worklist Service (UPS-RS, PS3.18 chapter 11): workitems and their state machine.

Request bodies are DICOM JSON sent as a JSON array whose first element is the dataset (UPS-01,
AMB-27), built with pydicom (``dataset_to_json``) or given as raw JSON for deliberately broken
ones. The workitem UID of a create and the transaction UID of an update travel as the *name*
of the only query parameter, without ``=value`` (``workitems?{uid}``,
``workitems/{uid}?{transaction-uid}``: UPS-04, UPS-12, AMB-27).

What the suite leaves behind. The standard has no way to delete a workitem, so the ledger that
removes instances cannot remove workitems. Instead:

* every workitem the suite creates has a fresh ``2.25.`` UID and a recognisable label
  (``dicomweb-conformance: ...``, see ``conformance.testdata.workitems``);
* the client records each workitem UID it is asked to create *before* sending the request,
  and the transaction UID of each successful claim (``workitem_tracker``);
* when the test ends, ``finish_workitems`` moves every recorded workitem that is still open to
  a final state, so it drops out of worklists: a SCHEDULED one through a cancellation request,
  an IN PROGRESS one the suite claimed through an update with the cancellation attributes and
  a change to CANCELED with its transaction UID. COMPLETED and CANCELED ones are left as they
  are. What cannot be finished (claimed with a UID the suite does not know, or refused by the
  target) is reported as left on the target. The finishing requests go to a separate exchange
  log: they are not evidence for the test.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import quote

from pydicom import Dataset

from conformance.client.base import BaseClient, QueryParams
from conformance.client.exchange import ExchangeLog
from conformance.client.responses import DicomwebResponse, JsonDatasetsResponse
from conformance.core.dicom_json import dataset_to_json, tag_key
from conformance.core.errors import ConformanceFailure
from conformance.core.media_types import DICOM_JSON
from conformance.core.uids import is_suite_uid
from conformance.testdata.workitems import (
    LABEL_PREFIX,
    cancellation_attributes,
    cancellation_request,
    state_change,
)

#: A workitem dataset: built with pydicom, or raw DICOM JSON (for broken variants).
WorkitemBody = Dataset | Mapping[str, Any]

IN_PROGRESS = "IN PROGRESS"
FINAL_STATES = ("COMPLETED", "CANCELED")


def _segment(value: str) -> str:
    # Percent-encoded so deliberately invalid UIDs reach the server intact (dots stay as they are).
    return quote(value, safe="")


def as_json(body: WorkitemBody) -> dict[str, Any]:
    """The DICOM JSON object of a dataset, or a copy of a raw one."""
    return dataset_to_json(body) if isinstance(body, Dataset) else dict(body)


def encode_body(body: WorkitemBody | None) -> bytes:
    """UPS-01: a JSON array whose first (only) element is the dataset; no dataset: ``[{}]``."""
    return json.dumps([as_json(body) if body is not None else {}], ensure_ascii=False).encode("utf-8")


def _first_text(obj: Mapping[str, Any], keyword: str) -> str | None:
    element = obj.get(tag_key(keyword))
    values = element.get("Value") if isinstance(element, dict) else None
    return str(values[0]) if isinstance(values, list) and values and isinstance(values[0], str) else None


def _dataset_uid(body: WorkitemBody | None) -> str | None:
    return None if body is None else _first_text(as_json(body), "SOPInstanceUID")


class WorkitemTracker:
    """The workitems one client was asked to create, the base URL (partition included) each was
    created at, and the transaction UID of each claim. Clients derived with ``at`` or
    ``in_partition`` share their tracker, so the same UID in two partitions is two entries."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[tuple[str, str], str | None] = {}

    def created(self, uid: str, base_url: str = "") -> None:
        if is_suite_uid(uid):  # only the suite's own workitems are ever touched afterwards
            with self._lock:
                self._items.setdefault((base_url, uid), None)

    def claimed(self, uid: str, transaction_uid: str, base_url: str = "") -> None:
        with self._lock:
            if (base_url, uid) in self._items:
                self._items[(base_url, uid)] = transaction_uid

    def items(self) -> list[tuple[str, str | None]]:
        """``(uid, transaction UID)`` of every recorded workitem."""
        with self._lock:
            return [(uid, transaction) for (_, uid), transaction in self._items.items()]

    def take_all(self) -> list[tuple[str, str, str | None]]:
        """``(base URL, uid, transaction UID)`` of every recorded workitem; the record is emptied."""
        with self._lock:
            items = [(base, uid, transaction) for (base, uid), transaction in self._items.items()]
            self._items.clear()
        return items


@dataclass
class FinishOutcome:
    """What ``finish_workitems`` did: workitems moved to a final state, left open, problems."""

    finished: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class WorklistMixin(BaseClient):
    """Worklist Service (UPS-RS, PS3.18 chapter 11)."""

    _workitem_tracker: WorkitemTracker | None = None

    @property
    def workitem_tracker(self) -> WorkitemTracker:
        """The workitems this client created (see the module docstring)."""
        if self._workitem_tracker is None:
            self._workitem_tracker = WorkitemTracker()
        return self._workitem_tracker

    def at(self, base_url: str) -> Self:
        """As ``BaseClient.at``; the workitems created through the new client are tracked here too."""
        other = super().at(base_url)
        other._workitem_tracker = self.workitem_tracker
        return other

    def _send_dataset(
        self,
        method: str,
        path: str,
        dataset: WorkitemBody | None,
        *,
        content_type: str | None,
        accept: str | None,
        body: bytes | None,
    ) -> DicomwebResponse:
        headers: dict[str, str] = {}
        if content_type is not None:
            headers["Content-Type"] = content_type
        if accept is not None:
            headers["Accept"] = accept
        content = body if body is not None else encode_body(dataset)
        return self._send(method, path, DicomwebResponse, headers=headers, content=content)

    def create_workitem(
        self,
        dataset: WorkitemBody | None,
        uid: str | None = None,
        *,
        accept: str | None = DICOM_JSON,
        content_type: str | None = DICOM_JSON,
        body: bytes | None = None,
    ) -> DicomwebResponse:
        """Create Workitem (PS3.18 11.4; UPS-04): ``POST workitems?{uid}`` with the UID as a bare
        query key, or ``POST workitems`` when ``uid`` is None (the UID is then the dataset's
        SOP Instance UID). ``body`` replaces the encoded dataset."""
        for target in (uid, _dataset_uid(dataset)):
            if target:
                self.workitem_tracker.created(target, self.base_url)  # recorded before it is sent
        path = "workitems" if uid is None else f"workitems?{_segment(uid)}"
        return self._send_dataset("POST", path, dataset, content_type=content_type, accept=accept, body=body)

    def retrieve_workitem(self, uid: str, *, accept: str | None = DICOM_JSON) -> DicomwebResponse:
        """Retrieve Workitem (PS3.18 11.5; UPS-10)."""
        return self._get(f"workitems/{_segment(uid)}", accept, DicomwebResponse)

    def update_workitem(
        self,
        uid: str,
        changes: WorkitemBody | None,
        transaction_uid: str | None = None,
        *,
        content_type: str | None = DICOM_JSON,
        accept: str | None = DICOM_JSON,
        body: bytes | None = None,
    ) -> DicomwebResponse:
        """Update Workitem (PS3.18 11.6; UPS-12): ``POST workitems/{uid}[?{transaction-uid}]``."""
        path = f"workitems/{_segment(uid)}"
        if transaction_uid is not None:
            path += f"?{_segment(transaction_uid)}"
        return self._send_dataset("POST", path, changes, content_type=content_type, accept=accept, body=body)

    def change_workitem_state(
        self,
        uid: str,
        state: str | None,
        transaction_uid: str | None,
        *,
        content_type: str | None = DICOM_JSON,
        accept: str | None = DICOM_JSON,
        dataset: WorkitemBody | None = None,
        body: bytes | None = None,
    ) -> DicomwebResponse:
        """Change Workitem State (PS3.18 11.7; UPS-17): ``PUT workitems/{uid}/state`` with the
        Transaction UID and the requested Procedure Step State (``None`` leaves one out).
        ``dataset`` replaces the action information built from the two."""
        action = dataset if dataset is not None else state_change(state, transaction_uid)
        response = self._send_dataset(
            "PUT", f"workitems/{_segment(uid)}/state", action, content_type=content_type, accept=accept, body=body
        )
        sent = as_json(action)
        if response.status == 200 and _first_text(sent, "ProcedureStepState") == IN_PROGRESS:
            claimed_with = _first_text(sent, "TransactionUID")
            if claimed_with:
                self.workitem_tracker.claimed(uid, claimed_with, self.base_url)
        return response

    def request_cancellation(
        self,
        uid: str,
        info: WorkitemBody | None = None,
        *,
        content_type: str | None = DICOM_JSON,
        accept: str | None = DICOM_JSON,
        body: bytes | None = None,
    ) -> DicomwebResponse:
        """Request Cancellation (PS3.18 11.8; UPS-23): ``POST workitems/{uid}/cancelrequest``."""
        path = f"workitems/{_segment(uid)}/cancelrequest"
        return self._send_dataset("POST", path, info, content_type=content_type, accept=accept, body=body)

    def search_for_workitems(
        self, params: QueryParams = (), *, accept: str | None = DICOM_JSON
    ) -> JsonDatasetsResponse:
        """Search for Workitems (PS3.18 11.9; UPS-28)."""
        return self._get("workitems", accept, JsonDatasetsResponse, params=params)

    # -- what a test leaves behind --------------------------------------------------------------

    def finish_workitems(self) -> FinishOutcome:
        """Move every workitem this client created that is still open to a final state."""
        outcome = FinishOutcome()
        for base_url, uid, transaction_uid in self.workitem_tracker.take_all():
            quiet = type(self)(self.http, base_url or self.base_url, log=ExchangeLog())
            try:
                quiet._finish(uid, transaction_uid, outcome)
            except ConformanceFailure as exc:
                outcome.problems.append(f"workitem {uid}: {exc.message}")
                outcome.left.append(f"workitem {uid}")
        return outcome

    def _finish(self, uid: str, transaction_uid: str | None, outcome: FinishOutcome) -> None:
        state = self._current_state(uid)
        if state is None or state in FINAL_STATES:
            return  # never created, or already out of the worklist
        label = f"workitem {uid} ({state})"
        if state == "SCHEDULED":
            reason = cancellation_request(f"{LABEL_PREFIX}: the test that created it has ended")
            status = self.request_cancellation(uid, reason).status
        elif state == IN_PROGRESS and transaction_uid is not None:
            self.update_workitem(uid, cancellation_attributes(), transaction_uid)
            status = self.change_workitem_state(uid, "CANCELED", transaction_uid).status
        else:
            outcome.left.append(f"{label}: claimed with a transaction UID the suite does not know")
            return
        if status in (200, 202):
            outcome.finished.append(label)
        else:
            outcome.left.append(label)
            outcome.problems.append(f"{label}: moving it to CANCELED answered {status}")

    def _current_state(self, uid: str) -> str | None:
        response = self.retrieve_workitem(uid)
        if response.status == 404:
            return None
        if response.status != 200:
            raise ConformanceFailure(f"retrieving it answered {response.status}", exchange=response.exchange)
        body = response.json()
        obj = body[0] if isinstance(body, list) and body else body
        element = obj.get(tag_key("ProcedureStepState")) if isinstance(obj, dict) else None
        values = element.get("Value") if isinstance(element, dict) else None
        return str(values[0]) if isinstance(values, list) and values else "unknown"
