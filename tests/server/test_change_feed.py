"""The reference server's change feed (CF-01..10, DEL-08, PART-10, VER-10)."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from reference_server.changefeed import CHANGES_SCHEMA, read_v1, record_change
from reference_server.index import Index

from .dicom_factory import Instance, build, multipart, related
from .harness import Client, ClientFactory

JSON = {"Accept": "application/dicom+json"}


def store(client: Client, *instances: Instance, root: str = "/v2") -> None:
    response = client.post(
        f"{root}/studies", content=multipart([i.data for i in instances]), headers={**JSON, "Content-Type": related()}
    )
    assert response.status_code == 200, response.text


def feed(client: Client, version: str = "v2", **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"/{version}/changefeed", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert isinstance(body, list)
    return body


def summary(entries: list[dict[str, Any]]) -> list[tuple[int, str, str, str]]:
    return [(e["sequence"], e["sopInstanceUid"], e["action"], e["state"]) for e in entries]


def test_empty_feed(client: Client) -> None:
    assert feed(client) == []
    assert feed(client, "v1") == []
    assert client.get("/v2/changefeed/latest").status_code == 204
    assert client.get("/v1/changefeed/latest").status_code == 204


def test_lifecycle_create_delete_restore(client: Client) -> None:
    first = build()
    sibling = build(study=first.study, series=first.series)
    store(client, first, sibling)
    entries = feed(client)
    assert summary(entries) == [(1, first.sop, "create", "current"), (2, sibling.sop, "create", "current")]
    entry = entries[0]
    assert entry["partitionName"] == "Microsoft.Default"
    assert (entry["studyInstanceUid"], entry["seriesInstanceUid"]) == (first.study, first.series)
    assert entry["metadata"]["00080018"]["Value"] == [first.sop]
    assert entry["timestamp"].endswith("+00:00")
    assert "metadata" not in feed(client, includeMetadata="false")[0]

    assert client.delete(f"/v2/studies/{first.study}").status_code == 204  # one delete entry per instance
    assert summary(feed(client)) == [
        (1, first.sop, "create", "deleted"),
        (2, sibling.sop, "create", "deleted"),
        (3, first.sop, "delete", "deleted"),
        (4, sibling.sop, "delete", "deleted"),
    ]
    assert all("metadata" not in e for e in feed(client))

    store(client, first)
    entries = feed(client)
    assert summary(entries) == [
        (1, first.sop, "create", "replaced"),
        (2, sibling.sop, "create", "deleted"),
        (3, first.sop, "delete", "replaced"),
        (4, sibling.sop, "delete", "deleted"),
        (5, first.sop, "create", "current"),
    ]
    # Replaced entries show the instance's current version; deleted ones never have metadata.
    assert [("metadata" in e) for e in entries] == [True, False, True, False, True]
    latest = client.get("/v2/changefeed/latest").json()
    assert latest == entries[-1]
    assert "metadata" not in client.get("/v1/changefeed/latest", params={"includeMetadata": "False"}).json()


def test_v2_time_window_offset_and_limit(client: Client) -> None:
    instances = [build() for _ in range(4)]
    store(client, *instances)
    entries = feed(client)
    stamps = [e["timestamp"] for e in entries]
    assert stamps == sorted(stamps)
    assert feed(client, startTime=stamps[1]) == entries[1:]  # inclusive
    assert feed(client, endTime=stamps[2])[-1]["sequence"] < entries[2]["sequence"]  # exclusive
    assert feed(client, offset=1, limit=2) == entries[1:3]
    assert feed(client, offset=10) == []
    zulu = stamps[0].replace("+00:00", "Z")
    assert feed(client, startTime=zulu)[0] == entries[0]


def test_v1_sequence_window(client: Client) -> None:
    store(client, *[build() for _ in range(12)])
    assert [e["sequence"] for e in feed(client, "v1")] == list(range(1, 11))  # default limit 10
    assert [e["sequence"] for e in feed(client, "v1", offset=3, limit=2)] == [4, 5]
    assert [e["sequence"] for e in feed(client, "v1", offset=10, limit=100)] == [11, 12]
    assert feed(client, "v1", offset=2**63 - 1) == []
    # v1 has no time window: the parameters are not part of its API and change nothing.
    assert len(feed(client, "v1", startTime="bad")) == 10


@pytest.mark.parametrize(
    ("version", "params"),
    [
        ("v2", {"limit": "0"}),
        ("v2", {"limit": "201"}),
        ("v2", {"limit": "blah"}),
        ("v2", {"offset": "-1"}),
        ("v2", {"offset": str(2**63)}),
        ("v2", {"includeMetadata": "0"}),
        ("v2", {"includeMetadata": ""}),
        ("v2", {"startTime": "foo"}),
        ("v2", {"endTime": "2024-01-01T00:00:00"}),
        ("v2", {"startTime": "2024-01-01T00:00:00Z", "endTime": "2024-01-01T00:00:00Z"}),
        ("v2", {"startTime": "2024-01-02T00:00:00Z", "endTime": "2024-01-01T00:00:00+00:00"}),
        ("v1", {"limit": "101"}),
        ("v1", {"offset": "-1"}),
        ("v1", {"includeMetadata": "yes"}),
    ],
)
def test_invalid_parameters_are_400(client: Client, version: str, params: dict[str, str]) -> None:
    response = client.get(f"/{version}/changefeed", params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text.strip()


def test_latest_refuses_bad_include_metadata_and_repeated_parameters(client: Client) -> None:
    assert client.get("/v2/changefeed/latest", params={"includeMetadata": "asdf"}).status_code == 400
    assert client.get("/v2/changefeed?limit=1&limit=2").status_code == 400


def test_feed_is_read_only_and_not_partitioned(make_client: ClientFactory) -> None:
    client = make_client(partitions=True)
    one = build()
    store(client, one, root="/v2/partitions/alpha")
    store(client, one, root="/v2/partitions/beta")  # the same UIDs in another partition
    assert client.delete(f"/v2/partitions/alpha/studies/{one.study}").status_code == 204
    entries = feed(client)
    assert [(e["partitionName"], e["action"], e["state"]) for e in entries] == [
        ("alpha", "create", "deleted"),
        ("beta", "create", "current"),
        ("alpha", "delete", "deleted"),
    ]
    assert client.post("/v2/changefeed", content=b"{}").status_code == 405
    assert client.get("/v2/partitions/alpha/changefeed").status_code == 404


def test_record_change_rolls_back_with_its_transaction() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.executescript(CHANGES_SCHEMA)
    conn.execute("BEGIN")
    assert record_change(conn, partition=1, study="1", series="2", sop="3", action="create") == 1
    conn.execute("ROLLBACK")
    conn.execute("BEGIN")
    assert record_change(conn, partition=1, study="1", series="2", sop="3", action="update") == 1
    assert record_change(conn, partition=1, study="1", series="2", sop="3", action="update") == 2
    conn.execute("COMMIT")
    rows = conn.execute("SELECT sequence, current_sequence, timestamp_us FROM changes ORDER BY sequence").fetchall()
    assert [(r[0], r[1]) for r in rows] == [(1, 2), (2, 2)]
    assert rows[0][2] <= rows[1][2]
    with pytest.raises(ValueError, match="action"):
        record_change(conn, partition=1, study="1", series="2", sop="3", action="created")


def test_an_index_without_the_table_gets_create_entries(client: Client, tmp_path: Path) -> None:
    """An index written before the change feed existed: one create entry per stored instance."""
    first, second = build(), build()
    store(client, first, second)
    assert client.delete(f"/v2/studies/{first.study}").status_code == 204
    data = tmp_path / "data0"
    with sqlite3.connect(data / "index.sqlite3") as conn:
        stored_at = conn.execute("SELECT stored_at FROM instances").fetchone()[0]
        conn.execute("DROP TABLE changes")
    reopened = Index(data / "index.sqlite3", data)
    try:
        entries = read_v1(reopened, offset=0, limit=10, include_metadata=True)
    finally:
        reopened.close()
    assert summary(entries) == [(1, second.sop, "create", "current")]
    assert entries[0]["timestamp"] == datetime.fromisoformat(stored_at).isoformat(timespec="microseconds")
    assert entries[0]["metadata"]["00080018"]["Value"] == [second.sop]
