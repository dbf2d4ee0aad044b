"""The workitem store: one SQLite table in its own database file (``workitems.sqlite3``).

Every change is one ``BEGIN IMMEDIATE`` transaction that reads the workitem, lets the state
machine decide (``states.decide_*``) and writes the result before it commits. SQLite admits one
writer at a time, so the decision always sees the latest state: of two concurrent claims of one
workitem exactly one finds it SCHEDULED and wins; the other finds it IN PROGRESS and is refused.

Each operation opens its own connection and closes it when done: nothing is shared between
threads, and nothing is left open when the server stops.

A store object works in one data partition (PART-06, PART-07): every row carries its
``partition_key`` and a workitem UID is unique per partition, so the same UID may name one
workitem in each partition. ``store_of`` hands out the store of the request's partition.
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

from reference_server.migrations import add_partition_key
from reference_server.partitions import partition_of
from reference_server.records import DEFAULT_PARTITION_KEY
from reference_server.state import server_state
from reference_server.workitems.dataset import JsonObject
from reference_server.workitems.states import Outcome, Stored

SCHEMA = """
CREATE TABLE IF NOT EXISTS workitems (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    partition_key INTEGER NOT NULL DEFAULT 1,
    uid TEXT NOT NULL,
    state TEXT NOT NULL,
    transaction_uid TEXT,
    attributes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (partition_key, uid)
);
"""
DATABASE_NAME = "workitems.sqlite3"
_COLUMNS = "uid, state, transaction_uid, attributes"
_WHERE = "partition_key = ? AND uid = ?"


def _stored(row: sqlite3.Row) -> Stored:
    return Stored(row["uid"], row["state"], row["transaction_uid"], json.loads(row["attributes"]))


class WorkitemStore:
    """The workitems of one data partition (by default Microsoft.Default) of one data directory."""

    def __init__(self, path: Path, partition: int = DEFAULT_PARTITION_KEY) -> None:
        self.path = path
        self.partition = partition
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            add_partition_key(conn, "workitems", SCHEMA)
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
            if conn.execute(f"SELECT 1 FROM workitems WHERE {_WHERE}", (self.partition, uid)).fetchone():
                return False
            conn.execute(
                "INSERT INTO workitems (partition_key, uid, state, transaction_uid, attributes, created_at)"
                " VALUES (?, ?, ?, NULL, ?, ?)",
                (self.partition, uid, state, json.dumps(attributes, ensure_ascii=False), datetime.now(UTC).isoformat()),
            )
            return True

    def get(self, uid: str) -> Stored | None:
        with self._connect() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM workitems WHERE {_WHERE}", (self.partition, uid)).fetchone()
        return _stored(row) if row else None

    def apply(self, uid: str, decide: Callable[[Stored | None], Outcome]) -> Outcome:
        """Read the workitem, decide, and write the decision, all in one write transaction."""
        with self._write() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM workitems WHERE {_WHERE}", (self.partition, uid)).fetchone()
            outcome = decide(_stored(row) if row else None)
            changed = outcome.changed
            if changed is not None:
                conn.execute(
                    f"UPDATE workitems SET state = ?, transaction_uid = ?, attributes = ? WHERE {_WHERE}",
                    (
                        changed.state,
                        changed.transaction_uid,
                        json.dumps(changed.attributes, ensure_ascii=False),
                        self.partition,
                        uid,
                    ),
                )
            return outcome

    def newest_first(self) -> list[Stored]:
        """Every workitem, the most recently created first (UPS-32)."""
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM workitems WHERE partition_key = ? ORDER BY seq DESC", (self.partition,)
            )
            return [_stored(row) for row in rows]


_STORES_LOCK = threading.Lock()


def store_of(request: Request) -> WorkitemStore:
    """The store of the request's partition in the app serving ``request``, opened on first use
    and kept on ``app.state``."""
    app_state = request.app.state
    partition = partition_of(request).key
    with _STORES_LOCK:
        stores: dict[int, WorkitemStore] = getattr(app_state, "workitems", None) or {}
        store = stores.get(partition)
        if store is None:
            store = WorkitemStore(server_state(request).config.data_dir / DATABASE_NAME, partition)
            app_state.workitems = {**stores, partition: store}
    return store
