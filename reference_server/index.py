"""The SQLite index (WAL mode): studies, series and instances, with the QIDO attributes.

Every searchable attribute (QIDO-07) has a column holding its normalised first value
(matching.py) and a B-tree index, so an exact or range filter is an index lookup; fuzzy
person-name matching (QIDO-13) is a function over the name column.

Each thread has its own connection (SQLite objects are not shared across threads); writes
are serialised by one lock and run as ``BEGIN IMMEDIATE`` transactions, so readers never see
half an instance. Study and series rows keep a DICOM JSON object of their level's attributes,
merged from the instances stored: the latest valid value wins (QIDO-19, QIDO-20).

Data partitions (PART-06, PART-07): the ``partitions`` table names them, and every study row
belongs to one (``studies.partition_key``; series and instances hang below their study), so the
same UIDs may be stored in several partitions and every lookup is scoped to one. With the
feature off, everything lives in ``Microsoft.Default`` (key 1, PART-01). An index written before
partitions existed is converted when it is opened (``migrations``).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reference_server.attributes import (
    INDEX_COLUMNS,
    SERIES_ROW_TAGS,
    STUDY_ROW_TAGS,
    IndexedAttribute,
    Level,
    json_key,
)
from reference_server.changefeed import create_changes_table, record_change
from reference_server.extended_query_tag_index import refresh_values
from reference_server.matching import fuzzy_person_name_match, index_value
from reference_server.migrations import add_partition_key
from reference_server.records import (
    DEFAULT_PARTITION_KEY,
    DEFAULT_PARTITION_NAME,
    JsonObject,
    NewInstance,
    Partition,
    PixelInfo,
    StoredInstance,
)

PARTITIONS_SCHEMA = """
CREATE TABLE IF NOT EXISTS partitions (
    partition_key INTEGER PRIMARY KEY AUTOINCREMENT,
    partition_name TEXT NOT NULL UNIQUE,
    created_date TEXT NOT NULL
);
"""
STUDIES_TABLE = """
CREATE TABLE IF NOT EXISTS studies (
    study_key INTEGER PRIMARY KEY AUTOINCREMENT,
    partition_key INTEGER NOT NULL DEFAULT 1 REFERENCES partitions (partition_key),
    study_uid TEXT NOT NULL,
    patient_name TEXT,
    patient_id TEXT,
    patient_birth_date TEXT,
    accession_number TEXT,
    referring_physician_name TEXT,
    study_date TEXT,
    study_description TEXT,
    attributes TEXT NOT NULL,
    UNIQUE (partition_key, study_uid)
);
"""
SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    series_key INTEGER PRIMARY KEY AUTOINCREMENT,
    study_key INTEGER NOT NULL REFERENCES studies (study_key),
    series_uid TEXT NOT NULL,
    modality TEXT,
    pps_start_date TEXT,
    manufacturer_model_name TEXT,
    attributes TEXT NOT NULL,
    UNIQUE (study_key, series_uid)
);
CREATE TABLE IF NOT EXISTS instances (
    instance_key INTEGER PRIMARY KEY AUTOINCREMENT,
    series_key INTEGER NOT NULL REFERENCES series (series_key),
    study_key INTEGER NOT NULL REFERENCES studies (study_key),
    sop_uid TEXT NOT NULL,
    sop_class_uid TEXT NOT NULL,
    file_path TEXT NOT NULL,
    file_size INTEGER NOT NULL,
    transfer_syntax TEXT NOT NULL,
    frame_count INTEGER NOT NULL,
    pixel TEXT,
    metadata TEXT NOT NULL,
    dropped TEXT NOT NULL,
    stored_at TEXT NOT NULL,
    UNIQUE (series_key, sop_uid)
);
CREATE INDEX IF NOT EXISTS instances_by_study ON instances (study_key);
CREATE INDEX IF NOT EXISTS instances_by_sop ON instances (sop_uid);
CREATE INDEX IF NOT EXISTS series_by_study ON series (study_key);
CREATE INDEX IF NOT EXISTS series_by_uid ON series (series_uid);
CREATE INDEX IF NOT EXISTS series_by_modality ON series (modality);
CREATE INDEX IF NOT EXISTS studies_by_uid ON studies (study_uid);
CREATE INDEX IF NOT EXISTS studies_by_patient_id ON studies (patient_id);
CREATE INDEX IF NOT EXISTS studies_by_date ON studies (study_date);
CREATE INDEX IF NOT EXISTS studies_by_patient_name ON studies (patient_name);
CREATE INDEX IF NOT EXISTS studies_by_birth_date ON studies (patient_birth_date);
CREATE INDEX IF NOT EXISTS studies_by_accession ON studies (accession_number);
CREATE INDEX IF NOT EXISTS studies_by_referring_physician ON studies (referring_physician_name);
CREATE INDEX IF NOT EXISTS studies_by_description ON studies (study_description);
CREATE INDEX IF NOT EXISTS series_by_pps_date ON series (pps_start_date);
CREATE INDEX IF NOT EXISTS series_by_model ON series (manufacturer_model_name);
CREATE INDEX IF NOT EXISTS instances_by_series ON instances (series_key);
"""

_INSTANCE_COLUMNS = """
    i.instance_key, st.study_uid, se.series_uid, i.sop_uid, i.sop_class_uid, i.file_path,
    i.file_size, i.transfer_syntax, i.frame_count, i.pixel
"""
_JOIN = """
    FROM instances i
    JOIN series se ON se.series_key = i.series_key
    JOIN studies st ON st.study_key = i.study_key
"""


def _level_attributes(metadata: JsonObject, tags: frozenset[int], *, with_value_only: bool) -> JsonObject:
    keys = (json_key(t) for t in tags)
    return {k: metadata[k] for k in keys if k in metadata and (not with_value_only or metadata[k].get("Value"))}


def _scope(partition: int, study: str, series: str | None, sop: str | None) -> tuple[str, list[Any]]:
    clauses = ["st.partition_key = ?", "st.study_uid = ?"]
    params: list[Any] = [partition, study]
    if series is not None:
        clauses.append("se.series_uid = ?")
        params.append(series)
    if sop is not None:
        clauses.append("i.sop_uid = ?")
        params.append(sop)
    return " AND ".join(clauses), params


# BULK-07, BULK-14, WADO-26: an updated instance keeps its original file (as first stored) beside
# the latest one; NULL for an instance never updated.
VERSION_COLUMNS = {"original_path": "TEXT", "original_size": "INTEGER", "original_metadata": "TEXT"}


def _add_version_columns(conn: sqlite3.Connection) -> None:
    """Add the original-version columns to an index written before bulk update existed."""
    present = {str(row[1]) for row in conn.execute("PRAGMA table_info(instances)")}
    for name, kind in VERSION_COLUMNS.items():
        if name not in present:
            conn.execute(f"ALTER TABLE instances ADD COLUMN {name} {kind}")


@dataclass(frozen=True, slots=True)
class UpdatedInstance:
    """The latest version of an instance rewritten by a bulk update; ``file_path`` is relative."""

    key: int
    new: NewInstance
    file_path: str


def _partition(row: sqlite3.Row) -> Partition:
    return Partition(int(row["partition_key"]), str(row["partition_name"]), str(row["created_date"]))


class Index:
    """The index of one data directory."""

    def __init__(self, db_path: Path, data_dir: Path) -> None:
        self._db_path = db_path
        self._data_dir = data_dir
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._partitions: dict[str, Partition] = {}
        with self._write_lock:
            conn = self._connection()
            conn.executescript(PARTITIONS_SCHEMA)
            add_partition_key(conn, "studies", STUDIES_TABLE)
            conn.executescript(STUDIES_TABLE + SCHEMA)
            _add_version_columns(conn)
            create_changes_table(conn)  # the change feed (CF-01), written with the instances
            conn.execute(
                "INSERT OR IGNORE INTO partitions (partition_key, partition_name, created_date) VALUES (?, ?, ?)",
                (DEFAULT_PARTITION_KEY, DEFAULT_PARTITION_NAME, datetime.now(UTC).isoformat()),
            )

    # -- connections ---------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE ... COMMIT).
            conn = sqlite3.connect(self._db_path, isolation_level=None, check_same_thread=False, timeout=30.0)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.create_function("fuzzy_pn", 2, fuzzy_person_name_match, deterministic=True)
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    def close(self) -> None:
        """Close every connection opened by any thread (at shutdown)."""
        with self._connections_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._write_lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``, serialised with every other write) for the
        tables other modules keep in this database (operations)."""
        return self._transaction()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """A read-only query (QIDO builds its own SQL from the attribute catalogue)."""
        return list(self._connection().execute(sql, params))

    def ping(self) -> None:
        """GEN-12: raises when the database cannot be read."""
        self._connection().execute("SELECT 1").fetchone()

    # -- partitions ------------------------------------------------------------------------

    def known_partition(self, name: str) -> Partition | None:
        """The partition called ``name`` if this index has met it before (no database access:
        partitions are never renamed or deleted, so a partition once found stays valid)."""
        return self._partitions.get(name)

    def partition(self, name: str) -> Partition | None:
        """The partition called ``name`` (names are compared exactly), or None."""
        found = self._partitions.get(name)
        if found is None:
            rows = self.query("SELECT * FROM partitions WHERE partition_name = ?", [name])
            if rows:
                found = self._partitions.setdefault(name, _partition(rows[0]))
        return found

    def add_partition(self, name: str) -> Partition:
        """The partition called ``name``, created when missing (PART-06: STOW, workitem create)."""
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO partitions (partition_name, created_date) VALUES (?, ?)",
                (name, datetime.now(UTC).isoformat()),
            )
            row = conn.execute("SELECT * FROM partitions WHERE partition_name = ?", [name]).fetchone()
        return self._partitions.setdefault(name, _partition(row))

    def partitions(self) -> list[Partition]:
        """Every partition, in the order they were created (PART-09)."""
        return [_partition(row) for row in self.query("SELECT * FROM partitions ORDER BY partition_key")]

    # -- store ---------------------------------------------------------------------------

    def contains(self, study: str, series: str, sop: str, *, partition: int) -> bool:
        where, params = _scope(partition, study, series, sop)
        return bool(self.query(f"SELECT 1 {_JOIN} WHERE {where} LIMIT 1", params))

    def add_instance(self, new: NewInstance, place_file: Callable[[], str], *, partition: int) -> bool:
        """Index ``new`` in ``partition``; ``place_file`` moves its file into place and returns
        the relative path.

        Returns False, without calling ``place_file``, when the Study/Series/SOP triple is
        already stored in that partition (STOW-23: FailureReason 45070).
        """
        with self._transaction() as conn:
            where, params = _scope(partition, new.study_uid, new.series_uid, new.sop_uid)
            if conn.execute(f"SELECT 1 {_JOIN} WHERE {where} LIMIT 1", params).fetchone():
                return False
            study_key = self._upsert_level(conn, Level.STUDY, new, partition)
            series_key = self._upsert_level(conn, Level.SERIES, new, study_key)
            relative_path = place_file()
            conn.execute(
                """INSERT INTO instances (series_key, study_key, sop_uid, sop_class_uid, file_path, file_size,
                       transfer_syntax, frame_count, pixel, metadata, dropped, stored_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    series_key,
                    study_key,
                    new.sop_uid,
                    new.sop_class_uid,
                    relative_path,
                    new.file_size,
                    new.transfer_syntax,
                    new.frame_count,
                    json.dumps(new.pixel.to_json()) if new.pixel else None,
                    json.dumps(new.metadata, ensure_ascii=False),
                    json.dumps([json_key(t) for t in new.dropped]),
                    datetime.now(UTC).isoformat(),
                ),
            )
            record_change(
                conn, partition=partition, study=new.study_uid, series=new.series_uid, sop=new.sop_uid, action="create"
            )
            return True

    def _upsert_level(self, conn: sqlite3.Connection, level: Level, new: NewInstance, parent_key: int) -> int:
        """Insert or update the study or series row, merging its attributes (QIDO-19).

        ``parent_key``: the partition of a study row, the study of a series row."""
        lookup_params: list[Any]
        if level is Level.STUDY:
            table, key_column, tags = "studies", "study_key", STUDY_ROW_TAGS
            lookup, lookup_params = "partition_key = ? AND study_uid = ?", [parent_key, new.study_uid]
            uid_column, uid = "study_uid", new.study_uid
            parent_column = "partition_key"
        else:
            table, key_column, tags = "series", "series_key", SERIES_ROW_TAGS
            lookup, lookup_params = "study_key = ? AND series_uid = ?", [parent_key, new.series_uid]
            uid_column, uid = "series_uid", new.series_uid
            parent_column = "study_key"
        row = conn.execute(f"SELECT {key_column}, attributes FROM {table} WHERE {lookup}", lookup_params).fetchone()
        if row is None:
            attributes = _level_attributes(new.metadata, tags, with_value_only=False)
        else:
            attributes = json.loads(row["attributes"])
            # A later instance only replaces values it has and that passed validation (QIDO-20).
            attributes.update(_level_attributes(new.metadata, tags, with_value_only=True))
        columns: list[IndexedAttribute] = [a for a in INDEX_COLUMNS[level] if a.column != uid_column]
        values = [index_value(a.kind, attributes.get(json_key(a.tag))) for a in columns]
        encoded = json.dumps(attributes, ensure_ascii=False)
        if row is None:
            names = [parent_column, uid_column, *(str(a.column) for a in columns), "attributes"]
            placeholders = ", ".join("?" for _ in names)
            cursor = conn.execute(
                f"INSERT INTO {table} ({', '.join(names)}) VALUES ({placeholders})",
                [parent_key, uid, *values, encoded],
            )
            return int(cursor.lastrowid or 0)
        assignments = ", ".join(f"{a.column} = ?" for a in columns)
        conn.execute(
            f"UPDATE {table} SET {assignments}, attributes = ? WHERE {key_column} = ?",
            [*values, encoded, row[key_column]],
        )
        return int(row[key_column])

    # -- retrieve ------------------------------------------------------------------------

    def instances(
        self, study: str, series: str | None = None, sop: str | None = None, *, partition: int
    ) -> list[StoredInstance]:
        """The instances under a study, series or instance of ``partition``, in the order they were stored."""
        where, params = _scope(partition, study, series, sop)
        rows = self.query(f"SELECT {_INSTANCE_COLUMNS} {_JOIN} WHERE {where} ORDER BY i.instance_key", params)
        return [self._stored(row) for row in rows]

    def _stored(self, row: sqlite3.Row) -> StoredInstance:
        pixel = PixelInfo.from_json(json.loads(row["pixel"])) if row["pixel"] else None
        return StoredInstance(
            key=int(row["instance_key"]),
            study_uid=row["study_uid"],
            series_uid=row["series_uid"],
            sop_uid=row["sop_uid"],
            sop_class_uid=row["sop_class_uid"],
            path=self._data_dir / row["file_path"],
            file_size=int(row["file_size"]),
            transfer_syntax=row["transfer_syntax"],
            frame_count=int(row["frame_count"]),
            pixel=pixel,
        )

    def metadata(
        self, study: str, series: str | None = None, sop: str | None = None, *, partition: int
    ) -> tuple[list[str], str]:
        """The stored metadata objects (JSON text) and the ETag of the resource (WADO-19).

        Study and series: ``{max instance key}-{count}``; instance: ``{instance key}``. Keys only
        grow, so any addition or deletion changes the tag.
        """
        where, params = _scope(partition, study, series, sop)
        rows = self.query(f"SELECT i.instance_key, i.metadata {_JOIN} WHERE {where} ORDER BY i.instance_key", params)
        if not rows:
            return [], ""
        newest = max(int(r["instance_key"]) for r in rows)
        etag = str(newest) if sop is not None else f"{newest}-{len(rows)}"
        return [str(r["metadata"]) for r in rows], etag

    # -- delete --------------------------------------------------------------------------

    def delete(
        self, study: str, series: str | None = None, sop: str | None = None, *, partition: int
    ) -> list[Path] | None:
        """Remove the index rows under the target in ``partition``; the files to remove, or None
        when not found (DEL-02)."""
        with self._transaction() as conn:
            where, params = _scope(partition, study, series, sop)
            rows = conn.execute(
                f"SELECT i.instance_key, i.file_path, i.original_path, st.study_uid, se.series_uid, i.sop_uid"
                f" {_JOIN} WHERE {where}",
                params,
            ).fetchall()
            if not rows:
                return None
            for row in rows:  # DEL-08: one change-feed entry per deleted instance
                record_change(
                    conn,
                    partition=partition,
                    study=row["study_uid"],
                    series=row["series_uid"],
                    sop=row["sop_uid"],
                    action="delete",
                )
            conn.executemany("DELETE FROM instances WHERE instance_key = ?", [(r["instance_key"],) for r in rows])
            conn.execute("DELETE FROM series WHERE series_key NOT IN (SELECT DISTINCT series_key FROM instances)")
            conn.execute("DELETE FROM studies WHERE study_key NOT IN (SELECT DISTINCT study_key FROM series)")
            # DEL-06 / BULK-11: an updated instance goes with both its versions.
            originals = [self._data_dir / r["original_path"] for r in rows if r["original_path"]]
            return [self._data_dir / r["file_path"] for r in rows] + originals

    # -- versions (bulk update: BULK-07, BULK-14, WADO-26) ---------------------------------

    def update_sources(self, study: str, *, partition: int) -> list[sqlite3.Row]:
        """The latest version of every instance of a study: key, UIDs, file path and dropped tags."""
        where, params = _scope(partition, study, None, None)
        return self.query(
            f"""SELECT i.instance_key, st.study_uid, se.series_uid, i.sop_uid, i.sop_class_uid, i.file_path,
                       i.dropped, i.pixel, i.original_path {_JOIN} WHERE {where} ORDER BY i.instance_key""",
            params,
        )

    def switch_versions(self, updated: Sequence[UpdatedInstance], *, partition: int) -> list[Path]:
        """Make each instance's rewritten file its latest version, all in one transaction, so a
        study is either fully old or fully new. The first update keeps the file stored until then
        as the original; a later one replaces only the latest (no intermediate versions, BULK-07).

        Returns the files no version refers to any more; raises LookupError (nothing switched)
        when an instance was deleted meanwhile."""
        superseded: list[Path] = []
        with self._transaction() as conn:
            for item in updated:
                row = conn.execute(
                    "SELECT file_path, file_size, metadata, original_path FROM instances WHERE instance_key = ?",
                    (item.key,),
                ).fetchone()
                if row is None:
                    raise LookupError(f"instance {item.new.sop_uid} was deleted during the update")
                if row["original_path"]:
                    superseded.append(self._data_dir / row["file_path"])
                new = item.new
                conn.execute(
                    """UPDATE instances SET file_path = ?, file_size = ?, pixel = ?, metadata = ?, dropped = ?,
                           original_path = COALESCE(original_path, ?), original_size = COALESCE(original_size, ?),
                           original_metadata = COALESCE(original_metadata, ?)
                       WHERE instance_key = ?""",
                    (
                        item.file_path,
                        new.file_size,
                        json.dumps(new.pixel.to_json()) if new.pixel else None,
                        json.dumps(new.metadata, ensure_ascii=False),
                        json.dumps([json_key(t) for t in new.dropped]),
                        row["file_path"],
                        row["file_size"],
                        row["metadata"],
                        item.key,
                    ),
                )
                study_key = self._upsert_level(conn, Level.STUDY, new, partition)
                self._upsert_level(conn, Level.SERIES, new, study_key)
                refresh_values(conn, item.key, new.metadata)  # EQT: the tags' values follow the update
                record_change(  # BULK-10: one update entry per instance, committed with the switch
                    conn,
                    partition=partition,
                    study=new.study_uid,
                    series=new.series_uid,
                    sop=new.sop_uid,
                    action="update",
                )
        return superseded

    def original_instances(
        self, study: str, series: str | None = None, sop: str | None = None, *, partition: int
    ) -> list[StoredInstance]:
        """Like ``instances``, with the original file of each updated instance (WADO-26)."""
        found = self.instances(study, series, sop, partition=partition)
        where, params = _scope(partition, study, series, sop)
        rows = self.query(
            f"SELECT i.instance_key, i.original_path, i.original_size {_JOIN}"
            f" WHERE {where} AND i.original_path IS NOT NULL",
            params,
        )
        originals = {int(r["instance_key"]): r for r in rows}
        return [
            replace(
                i,
                path=self._data_dir / originals[i.key]["original_path"],
                file_size=int(originals[i.key]["original_size"]),
            )
            if i.key in originals
            else i
            for i in found
        ]

    def original_metadata(
        self, study: str, series: str | None = None, sop: str | None = None, *, partition: int
    ) -> tuple[list[str], str]:
        """Like ``metadata``, with the original metadata of each updated instance (WADO-26)."""
        objects, etag = self.metadata(study, series, sop, partition=partition)
        where, params = _scope(partition, study, series, sop)
        rows = self.query(
            f"SELECT COALESCE(i.original_metadata, i.metadata) AS metadata {_JOIN}"
            f" WHERE {where} ORDER BY i.instance_key",
            params,
        )
        if len(rows) != len(objects):  # changed between the two reads: the latest answer stands
            return objects, etag
        return [str(r["metadata"]) for r in rows], f"original-{etag}" if etag else etag
