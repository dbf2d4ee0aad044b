"""Extended query tags in the index: the tag catalogue, the values indexed per instance, the
indexing errors, and the reindex operation (EQT-02, EQT-04, EQT-05, EQT-10..13).

Three tables live beside the index's own: ``extended_query_tags`` (one row per tag),
``extended_query_tag_values`` (the normalised first value of a tag in one instance) and
``extended_query_tag_errors`` (an instance whose value could not be indexed). A trigger removes
an instance's values and errors with the instance, so a delete never leaves a stale match.

Values are read from the stored file, validated against the tag's VR and normalised the way
QIDO compares them (``matching``): strings case-folded, person names also accent-free (fuzzy
matching works on them), numbers canonical, dates/times kept for range comparison. Only the
first value counts; empty values are not indexed (EQT-05).
"""

from __future__ import annotations

import json
import sqlite3
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pydicom
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag

from reference_server.attributes import INDEXED_BY_TAG, Level, json_key
from reference_server.dicomfile import element_text, element_vr, encodings_of, is_private, is_private_creator
from reference_server.matching import first_json_value, normalize_person_name, normalize_string, person_name_text
from reference_server.records import NewInstance
from reference_server.validation import NUMERIC_VR_SIZES, check_text, split_values, strip_uid

if TYPE_CHECKING:  # index.py calls refresh_values: imported for the annotations only
    from reference_server.index import Index

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS extended_query_tags (
    tag_key INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL UNIQUE,
    vr TEXT NOT NULL,
    private_creator TEXT,
    level TEXT NOT NULL,
    status TEXT NOT NULL,
    query_status TEXT NOT NULL,
    operation_id TEXT
)""",
    """CREATE TABLE IF NOT EXISTS extended_query_tag_values (
    tag_key INTEGER NOT NULL,
    instance_key INTEGER NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (tag_key, instance_key)
)""",
    "CREATE INDEX IF NOT EXISTS extended_query_tag_values_by_value ON extended_query_tag_values (tag_key, value)",
    """CREATE TABLE IF NOT EXISTS extended_query_tag_errors (
    error_key INTEGER PRIMARY KEY AUTOINCREMENT,
    tag_key INTEGER NOT NULL,
    instance_key INTEGER NOT NULL,
    partition_name TEXT NOT NULL,
    study_uid TEXT NOT NULL,
    series_uid TEXT NOT NULL,
    sop_uid TEXT NOT NULL,
    created_time TEXT NOT NULL,
    error_message TEXT NOT NULL,
    UNIQUE (tag_key, instance_key)
)""",
    """CREATE TRIGGER IF NOT EXISTS extended_query_tag_rows_follow_instances AFTER DELETE ON instances BEGIN
    DELETE FROM extended_query_tag_values WHERE instance_key = OLD.instance_key;
    DELETE FROM extended_query_tag_errors WHERE instance_key = OLD.instance_key;
END""",
)

# EQT-04: the VRs an extended query tag may have, and how each matches.
EXACT_VRS = frozenset({"AE", "AS", "CS", "DS", "FD", "FL", "IS", "LO", "SH", "SL", "SS", "UI", "UL", "US"})
RANGE_VRS = frozenset({"DA", "DT", "TM"})
FUZZY_VRS = frozenset({"PN"})
SUPPORTED_VRS = EXACT_VRS | RANGE_VRS | FUZZY_VRS
NUMBER_VRS = frozenset({"DS", "IS", "FD", "FL", "SL", "SS", "UL", "US"})
# DEQT: at most 128 extended query tags.
MAX_TAGS = 128


class TagStatus(StrEnum):
    """EQT-06 ``status``; written camelCase like the service (GEN-11)."""

    ADDING = "adding"
    READY = "ready"
    DELETING = "deleting"


class QueryStatus(StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"


class TagLevel(StrEnum):
    STUDY = "study"
    SERIES = "series"
    INSTANCE = "instance"

    @property
    def index_level(self) -> Level:
        return {TagLevel.STUDY: Level.STUDY, TagLevel.SERIES: Level.SERIES, TagLevel.INSTANCE: Level.INSTANCE}[self]


@dataclass(frozen=True, slots=True)
class ExtendedTag:
    """One row of ``extended_query_tags``."""

    key: int
    tag: int
    vr: str
    private_creator: str | None
    level: TagLevel
    status: TagStatus
    query_status: QueryStatus
    error_count: int
    operation_id: str | None

    @property
    def path(self) -> str:
        return json_key(self.tag)

    def to_json(self, root: str) -> dict[str, Any]:
        """EQT-06: ``root`` is ``scheme://host/{version}``; null members are omitted (GEN-11)."""
        body: dict[str, Any] = {"path": self.path, "vr": self.vr}
        if self.private_creator is not None:
            body["privateCreator"] = self.private_creator
        body.update({"level": self.level.value, "status": self.status.value, "queryStatus": self.query_status.value})
        if self.error_count:
            body["errors"] = {"count": self.error_count, "href": f"{root}/extendedquerytags/{self.path}/errors"}
        if self.operation_id is not None and self.status is TagStatus.ADDING:
            body["operation"] = {"id": self.operation_id, "href": f"{root}/operations/{self.operation_id}"}
        return body


@dataclass(frozen=True, slots=True)
class NewTag:
    """A validated entry of an add request."""

    tag: int
    vr: str
    private_creator: str | None
    level: TagLevel


_ready: weakref.WeakSet[Index] = weakref.WeakSet()


def ensure_schema(index: Index) -> None:
    """Create the tables (once per index object; ``IF NOT EXISTS`` makes it safe anywhere)."""
    if index in _ready:
        return
    with index.transaction() as conn:
        for statement in SCHEMA:
            conn.execute(statement)
    _ready.add(index)


_SELECT_TAGS = """
SELECT t.*, (SELECT COUNT(*) FROM extended_query_tag_errors e WHERE e.tag_key = t.tag_key) AS error_count
FROM extended_query_tags t
"""


def _tag(row: sqlite3.Row) -> ExtendedTag:
    return ExtendedTag(
        key=int(row["tag_key"]),
        tag=int(row["path"], 16),
        vr=str(row["vr"]),
        private_creator=row["private_creator"],
        level=TagLevel(row["level"]),
        status=TagStatus(row["status"]),
        query_status=QueryStatus(row["query_status"]),
        error_count=int(row["error_count"]),
        operation_id=row["operation_id"],
    )


def all_tags(index: Index) -> list[ExtendedTag]:
    ensure_schema(index)
    return [_tag(row) for row in index.query(_SELECT_TAGS + " ORDER BY t.tag_key")]


def find_tag(index: Index, tag: int) -> ExtendedTag | None:
    ensure_schema(index)
    rows = index.query(_SELECT_TAGS + " WHERE t.path = ?", [json_key(tag)])
    return _tag(rows[0]) if rows else None


def searchable_tags(index: Index) -> dict[int, ExtendedTag]:
    """The tags a QIDO filter may name, whatever their status (QIDO refuses those not ready)."""
    return {t.tag: t for t in all_tags(index)}


def add_tags(index: Index, tags: list[NewTag]) -> list[str] | None:
    """Insert ``tags`` in status adding; None when one already exists (nothing inserted).

    Returns the paths; raises ``TooManyTags`` past ``MAX_TAGS``."""
    ensure_schema(index)
    with index.transaction() as conn:
        paths = [json_key(t.tag) for t in tags]
        marks = ", ".join("?" for _ in paths)
        if conn.execute(f"SELECT 1 FROM extended_query_tags WHERE path IN ({marks})", paths).fetchone():
            return None
        count = int(conn.execute("SELECT COUNT(*) FROM extended_query_tags").fetchone()[0])
        if count + len(tags) > MAX_TAGS:
            raise TooManyTags(count, len(tags))
        for new in tags:
            conn.execute(
                """INSERT INTO extended_query_tags (path, vr, private_creator, level, status, query_status)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                (
                    json_key(new.tag),
                    new.vr,
                    new.private_creator,
                    new.level.value,
                    TagStatus.ADDING.value,
                    QueryStatus.ENABLED.value,
                ),
            )
    return paths


class TooManyTags(Exception):
    def __init__(self, existing: int, added: int) -> None:
        super().__init__(
            f"The number of extended query tags would be {existing + added}, over the maximum of {MAX_TAGS}."
        )


def set_operation(index: Index, paths: Iterable[str], operation_id: str | None) -> None:
    with index.transaction() as conn:
        conn.executemany(
            "UPDATE extended_query_tags SET operation_id = ? WHERE path = ?", [(operation_id, p) for p in paths]
        )


def remove_tags(index: Index, paths: Iterable[str]) -> None:
    """Forget tags whose reindex could not even be queued."""
    with index.transaction() as conn:
        for path in paths:
            _delete(conn, path)


def _delete(conn: sqlite3.Connection, path: str) -> None:
    row = conn.execute("SELECT tag_key FROM extended_query_tags WHERE path = ?", [path]).fetchone()
    if row is None:
        return
    for table in ("extended_query_tag_values", "extended_query_tag_errors", "extended_query_tags"):
        conn.execute(f"DELETE FROM {table} WHERE tag_key = ?", [row["tag_key"]])


def delete_tag(index: Index, tag: ExtendedTag) -> None:
    """EQT-07: the tag goes through ``deleting`` and disappears with its values and errors."""
    with index.transaction() as conn:
        conn.execute("UPDATE extended_query_tags SET status = ? WHERE tag_key = ?", (TagStatus.DELETING.value, tag.key))
        _delete(conn, tag.path)


def set_query_status(index: Index, tag: ExtendedTag, status: QueryStatus) -> None:
    with index.transaction() as conn:
        conn.execute("UPDATE extended_query_tags SET query_status = ? WHERE tag_key = ?", (status.value, tag.key))


def tag_errors(index: Index, tag: ExtendedTag, *, limit: int, offset: int) -> list[dict[str, Any]]:
    """EQT-10: the error entries of ``tag``, oldest first."""
    rows = index.query(
        "SELECT * FROM extended_query_tag_errors WHERE tag_key = ? ORDER BY error_key LIMIT ? OFFSET ?",
        [tag.key, limit, offset],
    )
    return [
        {
            "studyInstanceUid": row["study_uid"],
            "seriesInstanceUid": row["series_uid"],
            "sopInstanceUid": row["sop_uid"],
            "createdTime": row["created_time"],
            "errorMessage": row["error_message"],
            "partitionName": row["partition_name"],
        }
        for row in rows
    ]


# -- values ---------------------------------------------------------------------------------


def normalize_value(vr: str, text: str) -> str | None:
    """How a stored first value and a QIDO filter value are compared; None: nothing to index."""
    text = text.rstrip("\0 ").lstrip(" ")
    if not text:
        return None
    if vr in NUMBER_VRS:
        return repr(float(text))
    if vr == "PN":
        return normalize_person_name(text) or None
    if vr == "UI":
        return strip_uid(text)
    if vr in RANGE_VRS:
        return text
    return normalize_string(text)


def _located(dataset: Dataset, tag: ExtendedTag) -> int | None:
    """The element of ``tag`` in ``dataset``: a private one only under its own private creator."""
    if not is_private(tag.tag) or is_private_creator(tag.tag):
        return tag.tag
    group, element = tag.tag >> 16, tag.tag & 0xFFFF
    creator_tag = (group << 16) | (element >> 8)
    creator = element_text(dataset, creator_tag, encodings_of(dataset))
    if creator is None or creator.rstrip("\0 ").strip() != (tag.private_creator or ""):
        return None
    return tag.tag


def extract(dataset: Dataset, tag: ExtendedTag) -> tuple[str | None, str | None]:
    """``(normalised first value, None)`` or ``(None, why it is invalid)``; (None, None) when absent."""
    location = _located(dataset, tag)
    if location is None or BaseTag(location) not in dataset:
        return None, None
    vr = element_vr(dataset, location)
    if vr != tag.vr and tag.vr not in vr.split(" or "):
        return None, f"The attribute has VR {vr} but the extended query tag has VR {tag.vr}."
    if tag.vr in NUMERIC_VR_SIZES:
        try:
            value = dataset[BaseTag(location)].value
        except Exception:  # unreadable binary value: an indexing error, not a crash
            return None, f"The value of VR {tag.vr} cannot be read."
        first = value[0] if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue" else value
        if first is None or first == b"" or first == []:
            return None, None
        return repr(float(first)), None
    text = element_text(dataset, location, encodings_of(dataset))
    if text is None:
        return None, None
    text = text.rstrip("\0")
    reason = check_text(tag.vr, text)
    if reason is not None:
        return None, reason
    values = split_values(tag.vr, text)
    return (normalize_value(tag.vr, values[0]) if values else None), None


def invalid_values(index: Index, dataset: Dataset) -> dict[int, str]:
    """EQT-13: the extended query tags (being added or ready) whose value in an upload is invalid,
    with the reason: v1 fails the instance on them, v2 drops them with a warning."""
    problems: dict[int, str] = {}
    for tag in all_tags(index):
        if tag.status is not TagStatus.DELETING:
            _, problem = extract(dataset, tag)
            if problem is not None:
                problems[tag.tag] = problem
    return problems


def _metadata_value(metadata: Mapping[str, Any], tag: ExtendedTag) -> str | None:
    if is_private(tag.tag) and not is_private_creator(tag.tag):
        creator_key = json_key(((tag.tag >> 16) << 16) | ((tag.tag & 0xFFFF) >> 8))
        creator = first_json_value(metadata.get(creator_key))
        if not isinstance(creator, str) or creator.rstrip("\0 ").strip() != tag.private_creator:
            return None
    attribute = metadata.get(tag.path)
    if not isinstance(attribute, dict) or attribute.get("vr") != tag.vr:
        return None
    first = first_json_value(attribute)
    if first is None:
        return None
    try:
        return normalize_value(tag.vr, person_name_text(first) if tag.vr == "PN" else str(first))
    except ValueError:  # not a number after all: not indexed
        return None


def index_stored_instance(index: Index, new: NewInstance, partition: int) -> None:
    """EQT-05: index an instance just stored for every tag being added or ready, from its
    metadata (where a v2 STOW already dropped the invalid values)."""
    tags = [t for t in all_tags(index) if t.status is not TagStatus.DELETING]
    values = [(t.key, v) for t in tags if (v := _metadata_value(new.metadata, t)) is not None]
    if not values:
        return
    with index.transaction() as conn:
        row = conn.execute(
            """SELECT i.instance_key FROM instances i JOIN series se ON se.series_key = i.series_key
               JOIN studies st ON st.study_key = i.study_key
               WHERE st.partition_key = ? AND st.study_uid = ? AND se.series_uid = ? AND i.sop_uid = ?""",
            (partition, new.study_uid, new.series_uid, new.sop_uid),
        ).fetchone()
        if row is not None:
            conn.executemany(
                "INSERT OR REPLACE INTO extended_query_tag_values (tag_key, instance_key, value) VALUES (?, ?, ?)",
                [(key, row["instance_key"], value) for key, value in values],
            )


def refresh_values(conn: sqlite3.Connection, instance_key: int, metadata: Mapping[str, Any]) -> None:
    """Re-index an instance whose metadata changed (bulk update, BULK-07), inside the caller's
    transaction: its values follow the new metadata."""
    exists = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'extended_query_tags'"
    if conn.execute(exists).fetchone() is None:
        return  # no extended query tag was ever added
    for row in conn.execute(_SELECT_TAGS).fetchall():
        tag = _tag(row)
        if tag.status is TagStatus.DELETING:
            continue
        value = _metadata_value(metadata, tag)
        if value is None:
            conn.execute(
                "DELETE FROM extended_query_tag_values WHERE tag_key = ? AND instance_key = ?", (tag.key, instance_key)
            )
        else:
            conn.execute(
                "INSERT OR REPLACE INTO extended_query_tag_values (tag_key, instance_key, value) VALUES (?, ?, ?)",
                (tag.key, instance_key, value),
            )


# -- the reindex operation (EQT-02, EQT-11) ---------------------------------------------------

BATCH = 200
OperationHook = Callable[[int], None]  # reports percent complete


def reindex(index: Index, data_dir: Path, paths: list[str], progress: OperationHook | None = None) -> dict[str, Any]:
    """Index every stored instance for the tags ``paths``, then mark them ready (disabled when an
    instance's value was invalid). Idempotent: run again, it writes the same rows."""
    ensure_schema(index)
    tags = [t for t in all_tags(index) if t.path in set(paths) and t.status is TagStatus.ADDING]
    if not tags:
        return {}
    total = int(index.query("SELECT COUNT(*) AS n FROM instances")[0]["n"]) or 1
    done, after = 0, 0
    while True:
        rows = index.query(
            f"""SELECT i.instance_key, i.file_path, i.dropped, st.study_uid, se.series_uid, i.sop_uid, p.partition_name
                FROM instances i JOIN series se ON se.series_key = i.series_key
                JOIN studies st ON st.study_key = i.study_key JOIN partitions p ON p.partition_key = st.partition_key
                WHERE i.instance_key > ? ORDER BY i.instance_key LIMIT {BATCH}""",
            [after],
        )
        if not rows:
            break
        _index_batch(index, data_dir, tags, rows)
        after = int(rows[-1]["instance_key"])
        done += len(rows)
        if progress is not None:
            progress(min(99, done * 100 // total))
    with index.transaction() as conn:
        for tag in tags:
            errors = conn.execute("SELECT COUNT(*) FROM extended_query_tag_errors WHERE tag_key = ?", [tag.key])
            disabled = int(errors.fetchone()[0]) > 0
            conn.execute(
                """UPDATE extended_query_tags SET status = ?, operation_id = NULL,
                       query_status = CASE WHEN ? THEN ? ELSE query_status END WHERE tag_key = ?""",
                (TagStatus.READY.value, disabled, QueryStatus.DISABLED.value, tag.key),
            )
    return {}


def _index_batch(index: Index, data_dir: Path, tags: list[ExtendedTag], rows: list[sqlite3.Row]) -> None:
    values: list[tuple[int, int, str]] = []
    errors: list[tuple[Any, ...]] = []
    stamp = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    for row in rows:
        try:
            dataset = pydicom.dcmread(str(data_dir / row["file_path"]), stop_before_pixels=True)
        except Exception:  # a file that vanished under a concurrent delete: nothing to index
            continue
        # Attributes a v2 STOW dropped as invalid are not indexed and not errors (EQT-13).
        dropped = set(json.loads(row["dropped"] or "[]"))
        for tag in tags:
            if tag.path in dropped:
                continue
            value, problem = extract(dataset, tag)
            if problem is not None:
                errors.append(
                    (
                        tag.key,
                        row["instance_key"],
                        row["partition_name"],
                        row["study_uid"],
                        row["series_uid"],
                        row["sop_uid"],
                        stamp,
                        problem,
                    )
                )
            elif value is not None:
                values.append((tag.key, int(row["instance_key"]), value))
    with index.transaction() as conn:
        conn.executemany(
            "INSERT OR REPLACE INTO extended_query_tag_values (tag_key, instance_key, value) VALUES (?, ?, ?)", values
        )
        conn.executemany(
            """INSERT OR IGNORE INTO extended_query_tag_errors (tag_key, instance_key, partition_name, study_uid,
                   series_uid, sop_uid, created_time, error_message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
            errors,
        )


def core_attribute(tag: int) -> bool:
    """EQT-03: the attributes QIDO supports by default cannot be added."""
    return tag in INDEXED_BY_TAG
