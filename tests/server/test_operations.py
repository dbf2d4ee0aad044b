"""The operations worker of the reference server (OP-01..03): queue, outcome, persistence, recovery."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from reference_server.index import Index
from reference_server.operations import (
    INTERRUPTED,
    OperationContext,
    Operations,
    OperationStatus,
    OperationType,
)

from .harness import Client


@pytest.fixture
def index(tmp_path: Path) -> Any:
    opened = Index(tmp_path / "index.sqlite3", tmp_path)
    yield opened
    opened.close()


def finished(operations: Operations, operation_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        body = operations.get(operation_id)
        assert body is not None
        if OperationStatus(body["status"]).is_finished:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.005)


def test_a_handler_runs_and_reports_its_results(index: Index) -> None:
    operations = Operations(index)
    seen: list[dict[str, Any]] = []

    def handler(context: OperationContext) -> None:
        seen.append(context.payload)
        context.results["count"] = 3
        context.progress(50)

    operations.register(OperationType.REINDEX, handler)
    operation_id = operations.submit(OperationType.REINDEX, {"tags": ["00101010"]}, resources=["http://x/tags/1"])
    assert operation_id is not None
    assert len(operation_id) == 32
    body = finished(operations, operation_id)
    assert seen == [{"tags": ["00101010"]}]
    assert body["operationId"] == operation_id
    assert body["type"] == "reindex"
    assert body["status"] == "succeeded"
    assert body["percentComplete"] == 100
    assert body["resources"] == ["http://x/tags/1"]
    assert body["results"] == {"count": 3}
    assert body["lastUpdatedTime"] >= body["createdTime"]
    assert operations.get("0" * 32) is None
    operations.close()


def test_an_exception_or_fail_fails_the_operation(index: Index) -> None:
    operations = Operations(index)

    def broken(context: OperationContext) -> None:
        raise ValueError("the export folder is not writable")

    def refusing(context: OperationContext) -> None:
        context.results["errors"] = ["first problem"]
        context.fail("first problem")

    operations.register(OperationType.EXPORT, broken)
    operations.register(OperationType.UPDATE, refusing)
    failed = finished(operations, str(operations.submit(OperationType.EXPORT, {})))
    assert failed["status"] == "failed"
    assert failed["percentComplete"] == 100
    assert failed["results"]["errors"] == ["the export folder is not writable"]
    refused = finished(operations, str(operations.submit(OperationType.UPDATE, {})))
    assert refused["status"] == "failed"
    assert refused["results"]["errors"] == ["first problem"]  # not repeated
    operations.close()


def test_exclusive_refuses_a_second_operation_of_the_type_until_the_first_ends(index: Index) -> None:
    operations = Operations(index)
    release = threading.Event()
    operations.register(OperationType.UPDATE, lambda context: release.wait(10) and None)
    operations.register(OperationType.EXPORT, lambda context: None)
    first = operations.submit(OperationType.UPDATE, {}, exclusive=True)
    assert first is not None
    assert operations.submit(OperationType.UPDATE, {}, exclusive=True) is None
    assert operations.active(OperationType.UPDATE) == first
    assert operations.submit(OperationType.EXPORT, {}, exclusive=True) is not None  # another type
    release.set()
    finished(operations, first)
    assert operations.active(OperationType.UPDATE) is None
    assert operations.submit(OperationType.UPDATE, {}, exclusive=True) is not None
    operations.close()


def test_start_fails_what_a_killed_process_left_running_and_resumes_idempotent_work(tmp_path: Path) -> None:
    index = Index(tmp_path / "index.sqlite3", tmp_path)
    before = Operations(index)
    release = threading.Event()
    before.register(OperationType.UPDATE, lambda context: release.wait(10) and None)
    before.register(OperationType.REINDEX, lambda context: release.wait(10) and None)
    update = str(before.submit(OperationType.UPDATE, {}))
    reindex = str(before.submit(OperationType.REINDEX, {"tag": 1}))  # queued behind the update
    deadline = time.monotonic() + 10
    while (before.get(update) or {}).get("status") != "running":
        assert time.monotonic() < deadline
        time.sleep(0.005)
    # The process "dies": nothing more is written by it; a new server opens the same database.
    after = Operations(index)
    resumed: list[dict[str, Any]] = []
    after.register(OperationType.UPDATE, lambda context: None)
    after.register(OperationType.REINDEX, lambda context: resumed.append(context.payload), idempotent=True)
    after.start()
    failed = after.get(update)
    assert failed is not None
    assert failed["status"] == "failed"
    assert failed["percentComplete"] == 100
    assert failed["results"]["errors"] == [INTERRUPTED]
    assert finished(after, reindex)["status"] == "succeeded"
    assert resumed == [{"tag": 1}]
    release.set()
    before.close()
    after.close()
    index.close()


def test_operations_route(client: Client) -> None:
    assert client.get(f"/v2/operations/{'a' * 32}").status_code == 404
    response = client.get("/v2/partitions/p/operations/" + "a" * 32)
    assert response.status_code == 404  # never partitioned
