"""The reference server's QIDO index: every searchable column is served by an SQL index."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reference_server.attributes import INDEXED, IndexedAttribute, Level
from reference_server.index import Index

TABLES = {Level.STUDY: "studies", Level.SERIES: "series", Level.INSTANCE: "instances"}


@pytest.fixture
def index(tmp_path: Path) -> Iterator[Index]:
    created = Index(tmp_path / "index.sqlite3", tmp_path)
    yield created
    created.close()


@pytest.mark.parametrize("attribute", [a for a in INDEXED if a.column], ids=lambda a: a.keyword)
def test_each_searchable_column_is_indexed(index: Index, attribute: IndexedAttribute) -> None:
    """An exact filter on any searchable attribute is an index lookup, not a table scan."""
    table = TABLES[attribute.level]
    plan = index.query(f"EXPLAIN QUERY PLAN SELECT * FROM {table} WHERE {attribute.column} = ?", ["x"])
    details = " ".join(str(row["detail"]) for row in plan)
    assert "USING INDEX" in details or "USING COVERING INDEX" in details, details


def test_range_filters_use_the_index(index: Index) -> None:
    plan = index.query("EXPLAIN QUERY PLAN SELECT * FROM studies WHERE study_date >= ? AND study_date <= ?", ["a", "b"])
    assert "USING INDEX studies_by_date" in " ".join(str(row["detail"]) for row in plan)
