"""Addressing data partitions and API versions in the client (httpx.MockTransport): where each
route goes, and that workitems created in another partition are finished there."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest

from conformance.client.client import DicomwebClient
from conformance.client.exchange import ExchangeLog
from conformance.client.partitions import PARTITION_PREFIX, fresh_partition_name
from conformance.testdata.workitems import new_workitem

ROOT = "http://dicom.test"
IN_A = f"{ROOT}/v2/partitions/a"

Handler = Callable[[httpx.Request], httpx.Response]


def client_at(base_url: str, handler: Handler) -> tuple[DicomwebClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def recording(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return handler(request)

    http = httpx.Client(transport=httpx.MockTransport(recording))
    return DicomwebClient(http, base_url, log=ExchangeLog()), seen


def test_partition_and_version_addressing() -> None:
    client, _ = client_at(IN_A, lambda r: httpx.Response(200))
    assert client.partition == "a"
    assert client.partition_path == "/partitions/a"
    assert client.version_root == f"{ROOT}/v2"
    assert client.service_root == ROOT
    assert client.in_partition("b").base_url == f"{ROOT}/v2/partitions/b"  # not .../a/partitions/b
    assert client.in_version("v1").base_url == f"{ROOT}/v1/partitions/a"
    assert client.in_version("v1").in_partition("c").base_url == f"{ROOT}/v1/partitions/c"
    spaced = client.in_partition("a b@")
    assert spaced.base_url == f"{ROOT}/v2/partitions/a%20b%40"
    assert spaced.partition == "a b@"
    plain, _ = client_at(f"{ROOT}/v2", lambda r: httpx.Response(200))
    assert plain.partition is None
    assert plain.partition_path == ""
    assert plain.in_version("v1").base_url == f"{ROOT}/v1"


def test_unpartitioned_routes_go_to_the_version_root() -> None:
    client, seen = client_at(IN_A, lambda r: httpx.Response(200, json=[]))
    client.list_partitions()
    client.change_feed([("limit", "1")])
    client.get_operation("op-1")
    client.health_check()
    client.search_for_studies()
    assert [str(r.url) for r in seen] == [
        f"{ROOT}/v2/partitions",
        f"{ROOT}/v2/changefeed?limit=1",
        f"{ROOT}/v2/operations/op-1",
        f"{ROOT}/health/check",
        f"{IN_A}/studies",
    ]
    assert seen[0].headers["accept"] == "application/json"


def test_workitems_created_in_another_partition_are_finished_there() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/cancelrequest"):
            return httpx.Response(202)
        if request.method == "POST":
            return httpx.Response(201)
        state = {"00741000": {"vr": "CS", "Value": ["SCHEDULED"]}}
        return httpx.Response(200, json=state)

    client, seen = client_at(IN_A, answer)
    item = new_workitem("partitions")
    client.in_partition("b").create_workitem(item.json(with_uid=False), item.uid)
    client.create_workitem(item.json(with_uid=False), item.uid)  # the same UID in the run's partition
    assert client.workitem_tracker.items() == [(item.uid, None), (item.uid, None)]
    outcome = client.finish_workitems()
    assert len(outcome.finished) == 2
    cancels = sorted(str(r.url) for r in seen if r.url.path.endswith("/cancelrequest"))
    assert cancels == [
        f"{IN_A}/workitems/{item.uid}/cancelrequest",
        f"{ROOT}/v2/partitions/b/workitems/{item.uid}/cancelrequest",
    ]


def test_fresh_partition_names() -> None:
    names = {fresh_partition_name() for _ in range(50)}
    assert len(names) == 50
    for name in names:
        assert re.fullmatch(rf"{PARTITION_PREFIX}[0-9a-f]{{12}}", name)
    assert len(fresh_partition_name(64)) == 64
    assert re.fullmatch(r"[A-Za-z0-9_.-]{64}", fresh_partition_name(64))
    for length in (4, 65):
        with pytest.raises(ValueError, match="cannot be fresh and valid"):
            fresh_partition_name(length)
