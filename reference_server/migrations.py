"""Converting SQLite files written before data partitions existed (PART-01).

Those files keep their rows in tables whose UID is unique on its own (``study_uid UNIQUE``,
``uid UNIQUE``). SQLite cannot change a table constraint in place, so the table is rebuilt
with a ``partition_key`` column (every old row in ``Microsoft.Default``, key 1) and the UID
unique per partition, following SQLite's documented procedure (create, copy, drop, rename) in
one transaction. Indexes of the old table go with it; the caller's schema recreates them.
"""

from __future__ import annotations

import sqlite3

from reference_server.records import DEFAULT_PARTITION_KEY


def columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [str(row[1]) for row in conn.execute(f"PRAGMA table_info({table})")]


def add_partition_key(conn: sqlite3.Connection, table: str, create_sql: str) -> bool:
    """Rebuild ``table`` with ``create_sql`` when it exists without ``partition_key``; whether it did.

    ``create_sql`` is the current ``CREATE TABLE IF NOT EXISTS {table} (...)`` statement.
    """
    old = columns(conn, table)
    if not old or "partition_key" in old:
        return False
    staging = f"{table}_with_partitions"
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(create_sql.replace(f"EXISTS {table} (", f"EXISTS {staging} (", 1))
        listed = ", ".join(old)
        conn.execute(
            f"INSERT INTO {staging} (partition_key, {listed}) SELECT {DEFAULT_PARTITION_KEY}, {listed} FROM {table}"
        )
        conn.execute(f"DROP TABLE {table}")
        conn.execute(f"ALTER TABLE {staging} RENAME TO {table}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return True
