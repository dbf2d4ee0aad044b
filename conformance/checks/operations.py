"""Long-running operations (OP-01..03) and bulk update answers (BULK-03, BULK-12, BULK-13).

``wait_for_operation`` polls ``operations/{id}`` until the operation is finished, for at most
``timeout`` seconds (``settings.poll_timeout``), with a short, growing interval so that a fast
target costs little time. Every answer it reads must be consistent (OP-01): 200 with a finished
status, 202 with ``notStarted``/``running``. Status values are compared case-insensitively: the
documents spell them ``completed``, ``Running``, ``succeeded`` (AMB-18).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from conformance.checks.http import expect, expect_schema, expect_status
from conformance.client.client import DicomwebClient
from conformance.client.responses import DicomwebResponse
from conformance.core.errors import ConformanceFailure
from conformance.profile import Profile, Rule

FINISHED = {"succeeded", "completed", "failed", "canceled"}
UNFINISHED = {"notstarted", "running"}
# OP-03 (SW): every value the service may report, lowercased.
STATUS_VALUES = FINISHED | UNFINISHED | {"unknown"}
TYPES = {"reindex", "export", "update", "unknown"}
UPDATE_RESULT_COUNTS = ("studyProcessed", "studyUpdated", "studyFailed", "instanceUpdated")


def status_of(body: dict[str, Any]) -> str:
    """The status, lowercased (AMB-18)."""
    return str(body.get("status", "")).lower()


def succeeded_status(profile: Profile, version: str) -> set[str]:
    """The status a succeeded operation reports (lowercased): ``succeeded`` on v2 and ``completed``
    on v1 in the implementation (OP-03, VER-12); DBU/DEXP examples show ``completed`` everywhere
    (AMB-18). A target outside the Azure family may use either."""
    if not profile.azure_compatible:
        return {"succeeded", "completed"}
    rule = profile.follows("AMB-18")
    implemented = {"completed"} if version == "v1" else {"succeeded"}
    if rule is Rule.IMPLEMENTED:
        return implemented
    if rule is Rule.DOCUMENTED:
        return {"completed"}
    return implemented | {"completed"}


def operation_reference(response: DicomwebResponse, *, why: str) -> tuple[str, str]:
    """BULK-03: a 202 answer's ``{id, href}``: a 32-hex id and an href ending in ``operations/{id}``."""
    expect_status(response, 202, why=why)
    body = expect_schema(response, "operation-reference", why=f"{why}: the body is an operation reference")
    operation_id, href = str(body["id"]), str(body["href"])
    expect(
        href.rstrip("/").endswith(f"operations/{operation_id}"),
        f"{why}: the href points to the operation",
        response=response,
        expected=f"an href ending in operations/{operation_id}",
        received=href,
    )
    return operation_id, href


def expect_operation_body(response: DicomwebResponse, body: dict[str, Any], *, why: str) -> None:
    """OP-02 / OP-03: the members, a known status and type, percentComplete 0..100, ISO 8601
    timestamps with lastUpdatedTime not before createdTime."""
    expect_schema(response, "operation", why=f"{why}: the body is an operation status (OP-02)", body=body)
    expect(
        status_of(body) in STATUS_VALUES,
        f"{why}: the status is one of the documented values (OP-03)",
        response=response,
        expected=", ".join(sorted(STATUS_VALUES)) + " (any case)",
        received=repr(body.get("status")),
    )
    expect(
        str(body.get("type", "")).lower() in TYPES,
        f"{why}: the type is one of the documented values (OP-02)",
        response=response,
        expected=", ".join(sorted(TYPES)),
        received=repr(body.get("type")),
    )
    created, updated = _timestamp(body, "createdTime", response), _timestamp(body, "lastUpdatedTime", response)
    expect(
        updated >= created,
        f"{why}: lastUpdatedTime is not before createdTime (OP-02)",
        response=response,
        expected=f"lastUpdatedTime >= {body['createdTime']}",
        received=str(body["lastUpdatedTime"]),
    )


def _timestamp(body: dict[str, Any], name: str, response: DicomwebResponse) -> datetime:
    text = str(body.get(name, ""))
    try:
        parsed = datetime.fromisoformat(_seven_digits_to_six(text.replace("Z", "+00:00")))
    except ValueError:
        raise ConformanceFailure(
            f"{name} is an ISO 8601 date-time (OP-02)",
            expected="e.g. 2023-05-08T05:01:30.1441374Z",
            received=repr(text),
            exchange=response.exchange,
        ) from None
    if parsed.tzinfo is None:
        raise ConformanceFailure(
            f"{name} carries its time zone (OP-02)",
            expected="Z or an offset",
            received=text,
            exchange=response.exchange,
        )
    return parsed


def _seven_digits_to_six(text: str) -> str:
    """.NET writes 7 fractional digits; Python reads at most 6."""
    head, dot, tail = text.partition(".")
    if not dot:
        return text
    digits = len(tail) - len(tail.lstrip("0123456789"))
    return f"{head}.{tail[: min(digits, 6)]}{tail[digits:]}"


def timestamp(body: dict[str, Any], name: str) -> datetime:
    """An already checked timestamp of an operation body."""
    return datetime.fromisoformat(_seven_digits_to_six(str(body[name]).replace("Z", "+00:00")))


def expect_consistent(response: DicomwebResponse, *, why: str) -> dict[str, Any]:
    """OP-01: 200 with a finished status, 202 with notStarted/running; the JSON body."""
    expect_status(response, 200, 202, why=why)
    body = response.json()
    if not isinstance(body, dict):
        raise response.malformed("the operation status is not a JSON object")
    status = status_of(body)
    if response.status == 200:
        expect(
            status in FINISHED | {"unknown"},
            f"{why}: 200 means the operation is finished (OP-01)",
            response=response,
            expected="a finished status with 200",
            received=f"status {body.get('status')!r} with 200",
        )
    else:
        expect(
            status in UNFINISHED,
            f"{why}: 202 means the operation is not finished (OP-01)",
            response=response,
            expected="notStarted or running with 202",
            received=f"status {body.get('status')!r} with 202",
        )
    return body


def wait_for_operation(
    client: DicomwebClient, reference: str, *, timeout: float, interval: float = 0.02
) -> tuple[DicomwebResponse, dict[str, Any]]:
    """Poll until the operation is finished (200) or ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get_operation(reference)
        body = expect_consistent(response, why="the operation is readable while it is polled")
        if response.status == 200:
            return response, body
        if time.monotonic() >= deadline:
            raise ConformanceFailure(
                f"the operation did not finish within {timeout:g} s",
                expected="a finished status",
                received=f"status {body.get('status')!r}",
                exchange=response.exchange,
            )
        time.sleep(interval)
        interval = min(interval * 1.5, 1.0)


def expect_update_results(
    response: DicomwebResponse, body: dict[str, Any], *, why: str, **counts: int
) -> dict[str, Any]:
    """BULK-12: ``results`` holds the four counts, each equal to what ``counts`` says."""
    results = body.get("results")
    expect(
        isinstance(results, dict),
        f"{why}: the operation has a results object (BULK-12)",
        response=response,
        expected="results: {studyProcessed, studyUpdated, studyFailed, instanceUpdated, errors}",
        received=repr(results),
    )
    assert isinstance(results, dict)
    for name, wanted in counts.items():
        value = next((v for k, v in results.items() if k.lower() == name.lower()), None)
        expect(
            value == wanted,
            f"{why}: results.{name} is exact (BULK-12)",
            response=response,
            expected=f"{name} = {wanted}",
            received=f"{name} = {value!r}",
        )
    return results


def expect_failed_update(response: DicomwebResponse, body: dict[str, Any], *, why: str) -> None:
    """BULK-13 (DBU): a failed update reports percentComplete 100, studyFailed >= 1 and errors."""
    results = body.get("results") if isinstance(body.get("results"), dict) else {}
    assert isinstance(results, dict)
    failed = results.get("studyFailed")
    errors = results.get("errors")
    expect(
        body.get("percentComplete") == 100 and isinstance(failed, int) and failed >= 1 and bool(errors),
        f"{why}: a failed update says what failed (BULK-13)",
        response=response,
        expected="percentComplete 100, results.studyFailed >= 1, results.errors not empty",
        received=f"percentComplete {body.get('percentComplete')!r}, studyFailed {failed!r}, errors {errors!r}",
    )


def run_update(
    client: DicomwebClient, studies: list[str], change: dict[str, Any], *, timeout: float, why: str
) -> tuple[DicomwebResponse, dict[str, Any], str]:
    """Start a bulk update (202 with a reference, BULK-03), wait for it; (final answer, body, id)."""
    started = client.bulk_update(studies, change)
    operation_id, href = operation_reference(started, why=why)
    response, body = wait_for_operation(client, href, timeout=timeout)
    return response, body, operation_id


def expect_succeeded(response: DicomwebResponse, body: dict[str, Any], wanted: set[str], *, why: str) -> None:
    """The finished operation reports success (``succeeded`` on v2, ``completed`` on v1: OP-03)."""
    expect(
        status_of(body) in wanted,
        f"{why}: the operation succeeds",
        response=response,
        expected=f"status {' or '.join(sorted(wanted))}",
        received=f"status {body.get('status')!r}, results {body.get('results')!r}",
    )
