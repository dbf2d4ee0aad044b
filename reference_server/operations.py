"""Long-running operations (OP-01..03): a background worker, persisted in the index database.

How to use it (bulk update, extended-query-tag reindex, export)::

    ops = state.operations
    ops.register(OperationType.UPDATE, handler)          # once, before start(); handler(context) -> None
    operation_id = ops.submit(OperationType.UPDATE, {"studies": [...]}, exclusive=True)
    if operation_id is None: ...                          # exclusive: one of that type is not finished
    body = ops.get(operation_id)                          # the OP-02 JSON body, or None when unknown

A handler runs on the single worker thread, one operation after the other. It reads
``context.payload``, reports ``context.progress(percent)`` (which also saves ``context.results``),
fills ``context.results`` (merged into the body's ``results``) and either returns (succeeded) or
calls ``context.fail(message)`` (failed). An exception fails the operation with its message in
``results.errors``. Whatever the outcome, a finished operation has ``percentComplete`` 100.

Operations are rows of the ``operations`` table, so a restart keeps them. At start-up
(``start``) an operation a killed process left ``notStarted`` or ``running`` is queued again
when its handler was registered ``idempotent=True``, and marked ``failed`` with a message
otherwise: never left running forever. ``get`` always reports ``succeeded``; the v1 route
spells it ``completed`` (VER-12, OP-03).
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from reference_server.index import Index

logger = logging.getLogger("reference_server")

SCHEMA = """
CREATE TABLE IF NOT EXISTS operations (
    operation_id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    percent_complete INTEGER NOT NULL DEFAULT 0,
    created_time TEXT NOT NULL,
    last_updated_time TEXT NOT NULL,
    payload TEXT NOT NULL,
    resources TEXT NOT NULL,
    results TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS operations_by_status ON operations (status);
"""

INTERRUPTED = "The server stopped while the operation was running; it was not resumed."


class OperationType(StrEnum):
    REINDEX = "reindex"
    EXPORT = "export"
    UPDATE = "update"


class OperationStatus(StrEnum):
    NOT_STARTED = "notStarted"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_finished(self) -> bool:
        return self in (OperationStatus.SUCCEEDED, OperationStatus.FAILED, OperationStatus.CANCELED)


ACTIVE = (OperationStatus.NOT_STARTED.value, OperationStatus.RUNNING.value)


def now() -> str:
    """ISO 8601 UTC with microseconds, as the service writes its timestamps."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass
class OperationContext:
    """What a handler sees of the operation it runs."""

    operation_id: str
    payload: dict[str, Any]
    results: dict[str, Any] = field(default_factory=dict)
    failure: str | None = None
    _save: Callable[[OperationContext, int], None] | None = None

    def progress(self, percent: int) -> None:
        """Record ``percent`` (clamped to 0..99 while running) and the results so far."""
        if self._save is not None:
            self._save(self, max(0, min(99, percent)))

    def fail(self, message: str) -> None:
        """The operation fails when the handler returns; ``message`` joins ``results.errors``."""
        self.failure = message


Handler = Callable[[OperationContext], None]


@dataclass(frozen=True)
class _Registration:
    handler: Handler
    idempotent: bool


class Operations:
    """The operations of one index, and the worker thread that runs them."""

    def __init__(self, index: Index) -> None:
        self._index = index
        self._handlers: dict[OperationType, _Registration] = {}
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._worker_lock = threading.Lock()
        with index.transaction() as conn:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)

    def register(self, type: OperationType, handler: Handler, *, idempotent: bool = False) -> None:
        """``handler`` runs the operations of ``type``; ``idempotent``: safe to run again from the
        start after a restart interrupted it."""
        self._handlers[OperationType(type)] = _Registration(handler, idempotent)

    def _registration(self, type_value: str) -> _Registration | None:
        try:
            return self._handlers.get(OperationType(type_value))
        except ValueError:  # a type this server no longer knows
            return None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Recover what a stopped process left unfinished, then start the worker."""
        with self._index.transaction() as conn:
            rows = conn.execute(
                "SELECT operation_id, type, results FROM operations WHERE status IN (?, ?) ORDER BY created_time",
                ACTIVE,
            ).fetchall()
            resumed: list[str] = []
            for row in rows:
                registration = self._registration(row["type"])
                if registration is not None and registration.idempotent:
                    conn.execute(
                        "UPDATE operations SET status = ?, last_updated_time = ? WHERE operation_id = ?",
                        (OperationStatus.NOT_STARTED.value, now(), row["operation_id"]),
                    )
                    resumed.append(row["operation_id"])
                else:
                    results = json.loads(row["results"])
                    results["errors"] = [*(results.get("errors") or []), INTERRUPTED]
                    _finish(conn, row["operation_id"], OperationStatus.FAILED, results)
        for operation_id in resumed:
            self._queue.put(operation_id)
        self._ensure_worker()

    def close(self, timeout: float = 2.0) -> None:
        """Stop the worker after the operation it runs (bounded wait; a restart recovers the rest)."""
        with self._worker_lock:
            worker, self._worker = self._worker, None
        if worker is not None:
            self._queue.put(None)
            worker.join(timeout)

    def _ensure_worker(self) -> None:
        with self._worker_lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._run, name="operations-worker", daemon=True)
                self._worker.start()

    # -- requests ----------------------------------------------------------------------------

    def submit(
        self,
        type: OperationType,
        payload: dict[str, Any],
        *,
        exclusive: bool = False,
        resources: list[str] | None = None,
    ) -> str | None:
        """Queue a new operation; its 32-hex id, or None when ``exclusive`` and an operation of
        ``type`` is not finished (checked and inserted in one transaction)."""
        operation_type = OperationType(type)
        if operation_type not in self._handlers:
            raise RuntimeError(f"no handler registered for {operation_type.value} operations")
        operation_id = uuid.uuid4().hex
        stamp = now()
        with self._index.transaction() as conn:
            if exclusive and self._active(conn, operation_type):
                return None
            conn.execute(
                """INSERT INTO operations (operation_id, type, status, percent_complete, created_time,
                       last_updated_time, payload, resources, results) VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?)""",
                (
                    operation_id,
                    operation_type.value,
                    OperationStatus.NOT_STARTED.value,
                    stamp,
                    stamp,
                    json.dumps(payload),
                    json.dumps(list(resources or [])),
                    "{}",
                ),
            )
        self._queue.put(operation_id)
        self._ensure_worker()
        return operation_id

    def active(self, type: OperationType) -> str | None:
        """The id of an unfinished operation of ``type``, if any."""
        rows = self._index.query(
            "SELECT operation_id FROM operations WHERE type = ? AND status IN (?, ?) ORDER BY created_time LIMIT 1",
            [OperationType(type).value, *ACTIVE],
        )
        return str(rows[0]["operation_id"]) if rows else None

    @staticmethod
    def _active(conn: sqlite3.Connection, type: OperationType) -> bool:
        row = conn.execute(
            "SELECT 1 FROM operations WHERE type = ? AND status IN (?, ?) LIMIT 1", (type.value, *ACTIVE)
        ).fetchone()
        return row is not None

    def get(self, operation_id: str) -> dict[str, Any] | None:
        """The OP-02 body of the operation, or None when unknown."""
        rows = self._index.query("SELECT * FROM operations WHERE operation_id = ?", [operation_id])
        if not rows:
            return None
        row = rows[0]
        return {
            "operationId": row["operation_id"],
            "type": row["type"],
            "createdTime": row["created_time"],
            "lastUpdatedTime": row["last_updated_time"],
            "status": row["status"],
            "percentComplete": int(row["percent_complete"]),
            "resources": json.loads(row["resources"]),
            "results": json.loads(row["results"]),
        }

    # -- the worker --------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            operation_id = self._queue.get()
            if operation_id is None:
                return
            try:
                self._execute(operation_id)
            except Exception:  # the worker must survive anything a handler or the database does
                logger.exception("operation %s could not be run", operation_id)

    def _execute(self, operation_id: str) -> None:
        rows = self._index.query("SELECT * FROM operations WHERE operation_id = ?", [operation_id])
        if not rows or rows[0]["status"] != OperationStatus.NOT_STARTED.value:
            return
        row = rows[0]
        context = OperationContext(operation_id, json.loads(row["payload"]), _save=self._save_progress)
        with self._index.transaction() as conn:
            conn.execute(
                "UPDATE operations SET status = ?, percent_complete = 0, last_updated_time = ? WHERE operation_id = ?",
                (OperationStatus.RUNNING.value, now(), operation_id),
            )
        registration = self._registration(row["type"])
        try:
            if registration is None:
                raise RuntimeError(f"no handler for {row['type']} operations")
            registration.handler(context)
        except Exception as exc:
            logger.exception("operation %s failed", operation_id)
            context.fail(str(exc) or type(exc).__name__)
        results = dict(context.results)
        status = OperationStatus.SUCCEEDED
        if context.failure is not None:
            status = OperationStatus.FAILED
            errors = list(results.get("errors") or [])
            results["errors"] = errors if context.failure in errors else [*errors, context.failure]
        with self._index.transaction() as conn:
            _finish(conn, operation_id, status, results)

    def _save_progress(self, context: OperationContext, percent: int) -> None:
        with self._index.transaction() as conn:
            conn.execute(
                "UPDATE operations SET percent_complete = ?, results = ?, last_updated_time = ? WHERE operation_id = ?",
                (percent, json.dumps(context.results), now(), context.operation_id),
            )


def _finish(conn: sqlite3.Connection, operation_id: str, status: OperationStatus, results: dict[str, Any]) -> None:
    conn.execute(
        """UPDATE operations SET status = ?, percent_complete = 100, results = ?, last_updated_time = ?
           WHERE operation_id = ?""",
        (status.value, json.dumps(results), now(), operation_id),
    )
