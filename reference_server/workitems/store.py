"""The workitem store: one SQLite table in its own database file (``workitems.sqlite3``).

Every change is one ``BEGIN IMMEDIATE`` transaction that reads the workitem, lets the state
machine decide (``states.decide_*``) and writes the result before it commits. SQLite admits one
writer at a time, so the decision always sees the latest state: of two concurrent claims of one
workitem exactly one finds it SCHEDULED and wins; the other finds it IN PROGRESS and is refused.

Each operation opens its own connection and closes it when done: nothing is shared between
threads, and nothing is left open when the server stops.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from starlette.requests import Request

from reference_server.state import server_state
from reference_server.workitems.dataset import JsonObject
from reference_server.workitems.states import Outcome, Stored

SCHEMA = """
CREATE TABLE IF NOT EXISTS workitems (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    uid TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    transaction_uid TEXT,
    attributes TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""
DATABASE_NAME = "workitems.sqlite3"


def _stored(row: sqlite3.Row) -> Stored:
    return Stored(row["uid"], row["state"], row["transaction_uid"], json.loads(row["attributes"]))


class WorkitemStore:
    """The workitems of one data directory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA synchronous=NORMAL")
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def create(self, uid: str, state: str, attributes: JsonObject) -> bool:
        """Add a new workitem; False when one with ``uid`` exists already (UPS-07)."""
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM workitems WHERE uid = ?", (uid,)).fetchone():
                return False
            conn.execute(
                "INSERT INTO workitems (uid, state, transaction_uid, attributes, created_at) VALUES (?, ?, NULL, ?, ?)",
                (uid, state, json.dumps(attributes, ensure_ascii=False), datetime.now(UTC).isoformat()),
            )
            return True

    def get(self, uid: str) -> Stored | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT uid, state, transaction_uid, attributes FROM workitems WHERE uid = ?", (uid,)
            ).fetchone()
        return _stored(row) if row else None

    def apply(self, uid: str, decide: Callable[[Stored | None], Outcome]) -> Outcome:
        """Read the workitem, decide, and write the decision, all in one write transaction."""
        with self._write() as conn:
            row = conn.execute(
                "SELECT uid, state, transaction_uid, attributes FROM workitems WHERE uid = ?", (uid,)
            ).fetchone()
            outcome = decide(_stored(row) if row else None)
            changed = outcome.changed
            if changed is not None:
                conn.execute(
                    "UPDATE workitems SET state = ?, transaction_uid = ?, attributes = ? WHERE uid = ?",
                    (changed.state, changed.transaction_uid, json.dumps(changed.attributes, ensure_ascii=False), uid),
                )
            return outcome

    def newest_first(self) -> list[Stored]:
        """Every workitem, the most recently created first (UPS-32)."""
        with self._connect() as conn:
            rows = conn.execute("SELECT uid, state, transaction_uid, attributes FROM workitems ORDER BY seq DESC")
            return [_stored(row) for row in rows]


_STORES_LOCK = threading.Lock()


def store_of(request: Request) -> WorkitemStore:
    """The store of the app serving ``request``, opened on first use and kept on ``app.state``."""
    app_state = request.app.state
    store = getattr(app_state, "workitems", None)
    if store is None:
        with _STORES_LOCK:
            store = getattr(app_state, "workitems", None)
            if store is None:
                store = WorkitemStore(server_state(request).config.data_dir / DATABASE_NAME)
                app_state.workitems = store
    assert isinstance(store, WorkitemStore)
    return store
