"""The change feed (behaviour catalogue section 9: CF-01..10, VER-10, PART-10; DCF, SRC).

An ordered, append-only log of instance creates, deletes and (bulk) updates. Writers call
``record_change`` inside their own open transaction of the index, so an instance change and
its entry commit (or roll back) together::

    with index.transaction() as conn:           # Index.add_instance, Index.delete, bulk update
        ...change the instance rows...
        record_change(conn, partition=key, study=s, series=se, sop=i, action="update")

The table is created with the index (``create_changes_table``); an index written before the
feed existed gets a ``create`` entry for each instance it holds.

Sequence numbers come from ``AUTOINCREMENT``: strictly increasing, never reused (CF-10). The
timestamp of an entry never goes below the previous entry's, so ordering by (timestamp,
sequence) (v2) and by sequence (v1) agree even when the clock steps back. Entries are never
changed except for ``current_sequence``: the instance's newest create/update entry, or NULL
once it is deleted, from which the state is computed (CF-03, CF-09): ``deleted`` when NULL,
``current`` when it is the entry itself, ``replaced`` otherwise.

Routes, never partitioned (PART-04): ``GET /{v}/changefeed`` and ``GET /{v}/changefeed/latest``.
v1 and v2 read differently (CF-04, CF-05, VER-10):

* v2: ``startTime`` (inclusive) and ``endTime`` (exclusive), both with a time zone;
  ``offset`` = entries to skip in that window (>= 0); ``limit`` 1..200, default 100; ordered
  by timestamp then sequence.
* v1: ``offset`` = exclusive starting sequence number; ``limit`` = width of the sequence
  window (entries with sequence in (offset, offset + limit]), 1..100, default 10.

Both take ``includeMetadata`` (``true``/``false``, default true): the DICOM JSON of the
instance's current version, never on a deleted entry (CF-09). Names are camelCase, the enum
values lowercase as DCF and the OpenAPI files write them (GEN-11, CF-08 / AMB-19), nulls are
omitted; every entry carries ``partitionName`` (PART-10). ``latest`` answers the newest entry,
or 204 when the feed is empty (CF-07).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from reference_server.errors import HttpError
from reference_server.versions import ApiVersion

if TYPE_CHECKING:  # state imports index, which imports this module
    from reference_server.index import Index

ACTIONS = ("create", "update", "delete")
MAX_LONG = 2**63 - 1
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MICROSECOND = timedelta(microseconds=1)

CHANGES_SCHEMA = """
CREATE TABLE IF NOT EXISTS changes (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
    timestamp_us INTEGER NOT NULL,
    action TEXT NOT NULL,
    partition_key INTEGER NOT NULL,
    study_uid TEXT NOT NULL,
    series_uid TEXT NOT NULL,
    sop_uid TEXT NOT NULL,
    current_sequence INTEGER
);
CREATE INDEX IF NOT EXISTS changes_by_instance ON changes (partition_key, sop_uid, series_uid, study_uid);
CREATE INDEX IF NOT EXISTS changes_by_time ON changes (timestamp_us, sequence);
"""


def create_changes_table(conn: sqlite3.Connection) -> None:
    """Create the ``changes`` table when missing (an autocommit connection, at start-up).

    An index written before the change feed existed gets one ``create`` entry per stored
    instance, in the order they were stored and with their storage time, so the feed starts
    as a complete log (CF-01) instead of silently missing the older instances."""
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'changes'").fetchone()
    if exists:
        conn.executescript(CHANGES_SCHEMA)  # indexes added since the table was created
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in filter(str.strip, CHANGES_SCHEMA.split(";")):
            conn.execute(statement)
        rows = conn.execute(
            """SELECT st.partition_key, st.study_uid, se.series_uid, i.sop_uid, i.stored_at FROM instances i
               JOIN series se ON se.series_key = i.series_key JOIN studies st ON st.study_key = i.study_key
               ORDER BY i.instance_key"""
        ).fetchall()
        previous = 0
        for row in rows:
            sequence = record_change(conn, partition=row[0], study=row[1], series=row[2], sop=row[3], action="create")
            # The time it was stored, never below the entry before (v1 and v2 orders agree).
            previous = max(_stored_at(row[4]) or previous, previous)
            conn.execute("UPDATE changes SET timestamp_us = ? WHERE sequence = ?", (previous, sequence))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _stored_at(value: object) -> int | None:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return (moment - EPOCH) // ONE_MICROSECOND if moment.tzinfo is not None else None


def record_change(conn: sqlite3.Connection, *, partition: int, study: str, series: str, sop: str, action: str) -> int:
    """Append an entry for an instance of ``partition``; the new sequence number.

    ``action``: ``create``, ``update`` or ``delete``. Must run inside the caller's open
    transaction of the index (``BEGIN IMMEDIATE``), which serialises writers."""
    if action not in ACTIONS:
        raise ValueError(f"change-feed action must be one of {', '.join(ACTIONS)}, not {action!r}")
    last = conn.execute("SELECT timestamp_us FROM changes ORDER BY sequence DESC LIMIT 1").fetchone()
    timestamp = max(time.time_ns() // 1000, int(last[0]) if last else 0)
    cursor = conn.execute(
        """INSERT INTO changes (timestamp_us, action, partition_key, study_uid, series_uid, sop_uid)
           VALUES (?, ?, ?, ?, ?, ?)""",
        (timestamp, action, partition, study, series, sop),
    )
    sequence = int(cursor.lastrowid or 0)
    # Every entry of the instance now points at its current version, or at none once deleted.
    conn.execute(
        """UPDATE changes SET current_sequence = ?
           WHERE partition_key = ? AND sop_uid = ? AND series_uid = ? AND study_uid = ?""",
        (None if action == "delete" else sequence, partition, sop, series, study),
    )
    return sequence


# -- reading -------------------------------------------------------------------------------------

_SELECT = """
SELECT c.sequence, c.timestamp_us, c.action, c.study_uid, c.series_uid, c.sop_uid, c.current_sequence,
       p.partition_name, {metadata} AS metadata
FROM changes c JOIN partitions p ON p.partition_key = c.partition_key
"""
_METADATA = """
CASE WHEN c.current_sequence IS NULL THEN NULL ELSE (
    SELECT i.metadata FROM instances i
    JOIN series se ON se.series_key = i.series_key
    JOIN studies st ON st.study_key = i.study_key
    WHERE st.partition_key = c.partition_key AND st.study_uid = c.study_uid
      AND se.series_uid = c.series_uid AND i.sop_uid = c.sop_uid
    LIMIT 1) END
"""


def format_timestamp(microseconds: int) -> str:
    """ISO 8601 with microseconds and the UTC offset (``2024-05-01T10:20:30.123456+00:00``)."""
    return (EPOCH + microseconds * ONE_MICROSECOND).isoformat(timespec="microseconds")


def _entry(row: sqlite3.Row) -> dict[str, Any]:
    current = row["current_sequence"]
    state = "deleted" if current is None else "current" if current == row["sequence"] else "replaced"
    entry: dict[str, Any] = {
        "sequence": int(row["sequence"]),
        "partitionName": row["partition_name"],
        "studyInstanceUid": row["study_uid"],
        "seriesInstanceUid": row["series_uid"],
        "sopInstanceUid": row["sop_uid"],
        "action": row["action"],
        "timestamp": format_timestamp(int(row["timestamp_us"])),
        "state": state,
    }
    if row["metadata"] is not None:
        entry["metadata"] = json.loads(row["metadata"])
    return entry


def _read(index: Index, where: str, order: str, params: Sequence[Any], include_metadata: bool) -> list[dict[str, Any]]:
    sql = _SELECT.format(metadata=_METADATA if include_metadata else "NULL") + f" {where} ORDER BY {order}"
    return [_entry(row) for row in index.query(sql, params)]


def read_v2(
    index: Index, *, start: int | None, end: int | None, offset: int, limit: int, include_metadata: bool
) -> list[dict[str, Any]]:
    """CF-04: ``limit`` entries after skipping ``offset`` in the window [start, end)."""
    clauses, params = ["1 = 1"], []
    if start is not None:
        clauses.append("c.timestamp_us >= ?")
        params.append(start)
    if end is not None:
        clauses.append("c.timestamp_us < ?")
        params.append(end)
    where = "WHERE " + " AND ".join(clauses) + " "
    order = "c.timestamp_us, c.sequence LIMIT ? OFFSET ?"
    return _read(index, where, order, [*params, limit, offset], include_metadata)


def read_v1(index: Index, *, offset: int, limit: int, include_metadata: bool) -> list[dict[str, Any]]:
    """CF-05: the entries whose sequence lies in (offset, offset + limit]."""
    upper = min(offset + limit, MAX_LONG)
    return _read(index, "WHERE c.sequence > ? AND c.sequence <= ?", "c.sequence", [offset, upper], include_metadata)


def read_latest(index: Index, *, by_time: bool, include_metadata: bool) -> dict[str, Any] | None:
    """CF-07: the newest entry (v2: by timestamp then sequence; v1: highest sequence)."""
    order = "c.timestamp_us DESC, c.sequence DESC" if by_time else "c.sequence DESC"
    found = _read(index, "", order + " LIMIT 1", [], include_metadata)
    return found[0] if found else None


# -- parameters ----------------------------------------------------------------------------------


def _single(request: Request, name: str) -> str | None:
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise HttpError(400, f"The query parameter '{name}' is given more than once.")
    return values[0] if values else None


def _integer(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = _single(request, name)
    if text is None:
        return default
    try:
        value = int(text.strip())
    except ValueError:
        raise HttpError(400, f"The value '{text}' of '{name}' is not an integer.") from None
    if not low <= value <= high:
        raise HttpError(400, f"The value {value} of '{name}' is out of range: it must be within {low}..{high}.")
    return value


def _boolean(request: Request, name: str) -> bool:
    text = _single(request, name)
    if text is None:
        return True
    value = text.strip().lower()
    if value not in ("true", "false"):
        raise HttpError(400, f"The value '{text}' of '{name}' is not a boolean: use true or false.")
    return value == "true"


def _time(request: Request, name: str) -> int | None:
    text = _single(request, name)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise HttpError(400, f"The value '{text}' of '{name}' is not an ISO 8601 date-time.") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise HttpError(400, f"The value '{text}' of '{name}' has no time zone: add 'Z' or an offset such as +02:00.")
    return (moment - EPOCH) // ONE_MICROSECOND


# -- endpoints -----------------------------------------------------------------------------------


def _index(request: Request) -> Index:
    index: Index = request.app.state.server.index
    return index


async def change_feed(request: Request) -> Response:
    """``GET /{v}/changefeed`` (CF-04 on v2, CF-05 on v1; invalid values 400, CF-06)."""
    version: ApiVersion = request.path_params["version"]
    index = _index(request)
    include_metadata = _boolean(request, "includeMetadata")
    if version is ApiVersion.V1:
        offset = _integer(request, "offset", 0, 0, MAX_LONG)
        limit = _integer(request, "limit", 10, 1, 100)
        entries = await anyio.to_thread.run_sync(
            lambda: read_v1(index, offset=offset, limit=limit, include_metadata=include_metadata)
        )
        return JSONResponse(entries)
    start, end = _time(request, "startTime"), _time(request, "endTime")
    if start is not None and end is not None and end <= start:
        raise HttpError(400, "The endTime must be after the startTime.")
    offset = _integer(request, "offset", 0, 0, MAX_LONG)
    limit = _integer(request, "limit", 100, 1, 200)
    entries = await anyio.to_thread.run_sync(
        lambda: read_v2(index, start=start, end=end, offset=offset, limit=limit, include_metadata=include_metadata)
    )
    return JSONResponse(entries)


async def change_feed_latest(request: Request) -> Response:
    """``GET /{v}/changefeed/latest`` (CF-07): the newest entry, 204 when there is none."""
    version: ApiVersion = request.path_params["version"]
    index = _index(request)
    include_metadata = _boolean(request, "includeMetadata")
    by_time = version is not ApiVersion.V1
    entry = await anyio.to_thread.run_sync(
        lambda: read_latest(index, by_time=by_time, include_metadata=include_metadata)
    )
    if entry is None:
        return Response(status_code=204)
    return JSONResponse(entry)


def changefeed_routes() -> list[BaseRoute]:
    """The change-feed routes, at the version root only (PART-04)."""
    version = "/{version:apiversion}"
    return [
        Route(version + "/changefeed", change_feed, methods=["GET"]),
        Route(version + "/changefeed/latest", change_feed_latest, methods=["GET"]),
    ]
