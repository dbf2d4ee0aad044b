"""The operations endpoint: ``GET {v}/operations/{operationId}`` (OP-01..03, VER-12).

Behaviour catalogue section 8; DBU, DEQT, DEXP, SW, SRC. The endpoint is never partitioned. It
answers 200 once the operation is finished, 202 while it is ``notStarted``/``running`` (see
``test_bulk_update_concurrency``), 404 for an unknown id. The body has ``operationId``,
``type``, ``createdTime``, ``lastUpdatedTime``, ``status``, ``percentComplete`` and
``results``. Status values are compared case-insensitively (AMB-18); a succeeded operation is
``succeeded`` through v2 and ``completed`` through v1 in the implementation (OP-03, VER-12), the
rule Azure-compatible profiles follow. An update operation serves as the example.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from conformance.checks import expect, expect_status
from conformance.checks.attribution import checking
from conformance.checks.operations import (
    expect_consistent,
    expect_operation_body,
    expect_succeeded,
    run_update,
    succeeded_status,
)
from conformance.plugin import Dicomweb
from conformance.suites._support import require_api_version

pytestmark = pytest.mark.requires("bulk_update")


def finished_update(dicomweb: Dicomweb) -> tuple[Any, dict[str, Any], str]:
    file = dicomweb.instances.instance()
    expect_status(dicomweb.client.store_instances([file]), 200, why="the test instance is stored")
    change = {"00081030": {"vr": "LO", "Value": [f"Operations {dicomweb.instances.short_id('O')}"]}}
    return run_update(
        dicomweb.client, [str(file.study_uid)], change, timeout=dicomweb.settings.poll_timeout, why="a bulk update"
    )


@pytest.mark.behavior("OP-01")
def test_unknown_operation_is_404(dicomweb: Dicomweb) -> None:
    """OP-01 (DBU, DEQT): an operation id nothing was started under is answered 404."""
    response = dicomweb.client.get_operation(uuid.uuid4().hex)
    expect_status(response, 404, why="an unknown operation id")


@pytest.mark.behavior("OP-01", "OP-02", "OP-03")
def test_finished_operation_is_200_with_its_status(dicomweb: Dicomweb) -> None:
    """OP-01: a finished operation is answered 200. OP-02: its body has every member, its own id,
    type ``update``, percentComplete 100, ISO 8601 times. OP-03: its status is the succeeded value
    of the API version (AMB-18)."""
    require_api_version(dicomweb.profile, "v2")
    final, body, operation_id = finished_update(dicomweb)
    with checking("OP-01"):
        expect_status(final, 200, why="a finished operation")
        expect_consistent(final, why="a finished operation")
    with checking("OP-02"):
        expect_operation_body(final, body, why="a finished update")
        expect(
            str(body.get("operationId", "")).lower() == operation_id.lower()
            and str(body.get("type", "")).lower() == "update"
            and body.get("percentComplete") == 100
            and isinstance(body.get("results"), dict),
            "the body describes this finished update",
            response=final,
            expected=f"operationId {operation_id}, type update, percentComplete 100, a results object",
            received=f"operationId {body.get('operationId')!r}, type {body.get('type')!r}, "
            f"percentComplete {body.get('percentComplete')!r}, results {body.get('results')!r}",
        )
    with checking("OP-03"):
        expect_succeeded(final, body, succeeded_status(dicomweb.profile, "v2"), why="a succeeded update on v2")


@pytest.mark.behavior("VER-12", "OP-03")
def test_v1_reports_completed_where_v2_reports_succeeded(dicomweb: Dicomweb) -> None:
    """VER-12 (SRC): the same succeeded operation reads ``completed`` through v1 and ``succeeded``
    through v2 (compared case-insensitively, AMB-18)."""
    served = dicomweb.profile.versions_served
    if not {"v1", "v2"} <= set(served):
        pytest.skip(f"not applicable: profile {dicomweb.profile.name!r} does not serve both v1 and v2")
    v2 = dicomweb.client.in_version("v2")
    file = dicomweb.instances.instance()
    expect_status(v2.store_instances([file]), 200, why="the test instance is stored")
    change = {"00081030": {"vr": "LO", "Value": ["Versions"]}}
    _, _, operation_id = run_update(
        v2, [str(file.study_uid)], change, timeout=dicomweb.settings.poll_timeout, why="a bulk update on v2"
    )
    for version in ("v2", "v1"):
        response = dicomweb.client.in_version(version).get_operation(operation_id)
        expect_status(response, 200, why=f"the finished operation read through {version}")
        body = response.json()
        assert isinstance(body, dict)
        expect_succeeded(response, body, succeeded_status(dicomweb.profile, version), why=f"read through {version}")
