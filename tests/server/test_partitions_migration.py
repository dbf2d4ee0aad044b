"""A data directory written before data partitions existed is converted when the server opens it
(PART-01): its studies and workitems land in Microsoft.Default, and the same UIDs may then be
stored in other partitions."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from anyio.from_thread import BlockingPortal

from conformance.client.workitems import encode_body
from conformance.testdata.workitems import new_workitem
from reference_server import ServerConfig, create_app
from reference_server.migrations import columns

from .dicom_factory import build, multipart, related
from .harness import Client

JSON = {"Accept": "application/dicom+json"}
STOW = {**JSON, "Content-Type": related()}
UPS = {"Accept": "application/dicom+json", "Content-Type": "application/dicom+json"}

# The two tables as the server wrote them before partitions: the UID unique on its own.
LEGACY = {
    "studies": """CREATE TABLE studies (
        study_key INTEGER PRIMARY KEY AUTOINCREMENT, study_uid TEXT NOT NULL UNIQUE, patient_name TEXT,
        patient_id TEXT, patient_birth_date TEXT, accession_number TEXT, referring_physician_name TEXT,
        study_date TEXT, study_description TEXT, attributes TEXT NOT NULL)""",
    "workitems": """CREATE TABLE workitems (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, uid TEXT NOT NULL UNIQUE, state TEXT NOT NULL,
        transaction_uid TEXT, attributes TEXT NOT NULL, created_at TEXT NOT NULL)""",
}


def _make_legacy(database: Path, table: str) -> None:
    """Rewrite ``table`` of ``database`` as the server wrote it before partitions."""
    conn = sqlite3.connect(database, isolation_level=None)
    try:
        kept = [c for c in columns(conn, table) if c != "partition_key"]
        conn.execute(LEGACY[table].replace(f"TABLE {table} (", f"TABLE {table}_legacy (", 1))
        conn.execute(f"INSERT INTO {table}_legacy ({', '.join(kept)}) SELECT {', '.join(kept)} FROM {table}")
        conn.execute(f"DROP TABLE {table}")
        conn.execute(f"ALTER TABLE {table}_legacy RENAME TO {table}")
        conn.execute("DROP TABLE IF EXISTS partitions")
    finally:
        conn.close()


@pytest.fixture
def opened(portal: BlockingPortal) -> Iterator[list[Client]]:
    clients: list[Client] = []
    reading_mode = pydicom.config.settings.reading_validation_mode
    yield clients
    for client in clients:
        client.close()
    pydicom.config.settings.reading_validation_mode = reading_mode


def test_a_legacy_data_directory_moves_to_the_default_partition(
    tmp_path: Path, portal: BlockingPortal, opened: list[Client]
) -> None:
    data = tmp_path / "data"
    instance = build()
    item = new_workitem("migration")
    before = Client(portal, create_app(ServerConfig(data_dir=data)))
    assert before.post("/v2/studies", content=multipart([instance.data]), headers=STOW).status_code == 200
    assert before.post(f"/v2/workitems?{item.uid}", content=encode_body(item.json()), headers=UPS).status_code == 201
    before.close()
    _make_legacy(data / "index.sqlite3", "studies")
    _make_legacy(data / "workitems.sqlite3", "workitems")

    client = Client(portal, create_app(ServerConfig(data_dir=data, partitions=True)))
    opened.append(client)
    default = "/v2/partitions/Microsoft.Default"
    url = f"/studies/{instance.study}/series/{instance.series}/instances/{instance.sop}/metadata"
    assert client.get(default + url, headers=JSON).status_code == 200
    assert client.get(f"{default}/workitems/{item.uid}", headers=JSON).status_code == 200
    # The UIDs are unique per partition now: the same instance and workitem go into another one.
    other = "/v2/partitions/other"
    assert client.post(f"{other}/studies", content=multipart([instance.data]), headers=STOW).status_code == 200
    assert (
        client.post(f"{other}/workitems?{item.uid}", content=encode_body(item.json()), headers=UPS).status_code == 201
    )
    assert client.get(other + url, headers=JSON).status_code == 200
    with sqlite3.connect(data / "index.sqlite3") as conn:
        assert "partition_key" in columns(conn, "studies")
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"studies_by_uid", "studies_by_patient_id"} <= names  # the indexes came back
