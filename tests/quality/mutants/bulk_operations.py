"""Mutants for bulk update and the operations endpoint (BULK, OP).

Most rewrite the answer or the request on the way, like the other modules. Two things cannot be
imitated from outside the server: a server that runs two update operations at once (BULK-05)
patches the reference server's operations so that ``submit`` ignores ``exclusive``; the rest
of the server is untouched.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.quality.mutants import Answer, ASGIApp, Mutant, Request, is_json

GROUPS = {"BULK", "OP"}
EXEMPT: dict[str, str] = {}

BULK_UPDATE = "/studies/$bulkUpdate"
ORIGINAL = "msdicom-request-original"


@dataclass(frozen=True)
class ServerMutant(Mutant):
    """A mutant that also changes the reference server's objects (``app.state.server``)."""

    patch: Callable[[Any], None] | None = None

    def wrap(self, app: ASGIApp) -> ASGIApp:
        if self.patch is not None:
            self.patch(app.state.server)  # type: ignore[attr-defined]
        return super().wrap(app)


def _concurrent_updates(state: Any) -> None:
    operations = state.operations
    submit = operations.submit

    def never_exclusive(type: Any, payload: Any, *, exclusive: bool = False, resources: Any = None) -> Any:
        return submit(type, payload, exclusive=False, resources=resources)

    operations.submit = never_exclusive


def is_bulk_update(r: Request) -> bool:
    return r.method == "POST" and r.path.endswith(BULK_UPDATE)


def is_operation(r: Request) -> bool:
    return r.method == "GET" and "/operations/" in r.path


def _fake_reference(r: Request, a: Answer) -> None:
    operation_id = uuid.uuid4().hex
    a.status = 202
    a.set_header("content-type", "application/json")
    a.set_json({"id": operation_id, "href": f"http://{r.headers.get('host', '')}/v2/operations/{operation_id}"})


def accept_refused(fragment: bytes) -> Callable[[Request, Answer], None]:
    """A 400 of $bulkUpdate whose body holds ``fragment`` becomes a 202 (the check is skipped)."""

    def rewrite(r: Request, a: Answer) -> None:
        if is_bulk_update(r) and a.status == 400 and fragment in a.body:
            _fake_reference(r, a)

    return rewrite


def operation_body(fn: Callable[[Request, dict[str, Any]], None]) -> Callable[[Request, Answer], None]:
    def rewrite(r: Request, a: Answer) -> None:
        if is_operation(r) and a.status in (200, 202) and is_json(a):
            body = a.json()
            fn(r, body)
            a.set_json(body)

    return rewrite


def _finished_early(r: Request, a: Answer) -> None:
    if is_operation(r) and a.status == 202 and is_json(a):
        body = a.json()
        body.update(status="succeeded", percentComplete=100)
        a.status = 200
        a.set_json(body)


def _count_one_more(r: Request, body: dict[str, Any]) -> None:
    results = body.get("results") or {}
    if "instanceUpdated" in results:
        results["instanceUpdated"] += 1


def _hide_failed_studies(r: Request, body: dict[str, Any]) -> None:
    if body.get("status") == "failed":
        body.setdefault("results", {})["studyFailed"] = 0


def _fail_unknown_studies(r: Request, body: dict[str, Any]) -> None:
    results = body.get("results") or {}
    if body.get("status") == "succeeded" and results.get("studyUpdated") == 0:
        body["status"] = "failed"
        results["studyFailed"] = 1


def _drop_href(r: Request, a: Answer) -> None:
    if is_bulk_update(r) and a.status == 202:
        a.set_json({"id": a.json()["id"]})


def _not_found(r: Request, a: Answer) -> None:
    if is_bulk_update(r) and a.status == 202:
        a.status = 404
        a.set_header("content-type", "text/plain; charset=utf-8")
        a.body = b"Not found\n"


def _plain_text_body(r: Request) -> None:
    if is_bulk_update(r):
        r.headers["content-type"] = "text/plain"


def _always_original(r: Request) -> None:
    if r.method == "GET" and "/studies/" in r.path:
        r.headers[ORIGINAL] = "true"


def _never_original(r: Request) -> None:
    r.headers.pop(ORIGINAL, None)


def _other_implementation(r: Request, a: Answer) -> None:
    if r.method == "GET" and "/instances/" in r.path and a.status == 200:
        a.body = a.body.replace(b"1.3.6.1.4.1.311.129", b"1.3.6.1.4.1.311.128")


def _updates_as_creates(r: Request, a: Answer) -> None:
    if r.method == "GET" and "/changefeed" in r.path and a.status == 200 and is_json(a):
        a.body = a.body.replace(b'"update"', b'"create"').replace(b'"Update"', b'"Create"')


def original_survives_delete(r: Request, a: Answer) -> None:
    """After a delete, the original version is still served (DEL-06, BULK-11)."""
    if r.method == "GET" and r.headers.get(ORIGINAL, "").lower() == "true" and a.status == 404:
        a.status = 200
        a.set_header("content-type", "application/dicom")
        a.body = b"\0" * 128 + b"DICM"


def _drop_created_time(r: Request, body: dict[str, Any]) -> None:
    body.pop("createdTime", None)


def _status_done(r: Request, body: dict[str, Any]) -> None:
    if str(body.get("status")).lower() == "succeeded":
        body["status"] = "done"


MUTANTS: list[Mutant] = [
    Mutant("BULK-01", "no bulk update route on v2", answer=_not_found),
    Mutant("BULK-02", "refuses the documented JSON body", request=_plain_text_body),
    Mutant("BULK-03", "202 without href", answer=_drop_href),
    Mutant("BULK-04", "accepts 51 studies", answer=accept_refused(b"maximum length")),
    ServerMutant("BULK-05", "runs two bulk updates at once", patch=_concurrent_updates),
    Mutant("BULK-06", "accepts non-updatable attributes", answer=accept_refused(b"Updating the tag is not supported")),
    Mutant("BULK-07", "serves the original as the latest", request=_always_original),
    Mutant("BULK-08", "file meta not rewritten", answer=_other_implementation),
    Mutant("BULK-09", "an unknown study fails the operation", answer=operation_body(_fail_unknown_studies)),
    Mutant("BULK-10", "updates recorded as creates", answer=_updates_as_creates),
    Mutant("BULK-11", "original kept after delete", answer=original_survives_delete),
    Mutant("BULK-12", "instanceUpdated miscounted", answer=operation_body(_count_one_more)),
    Mutant("BULK-13", "failed update hides the failed study", answer=operation_body(_hide_failed_studies)),
    Mutant("BULK-14", "loses the original", request=_never_original),
    Mutant("OP-01", "reports an operation finished before it is", answer=_finished_early),
    Mutant("OP-02", "operation without createdTime", answer=operation_body(_drop_created_time)),
    Mutant("OP-03", "undocumented status value", answer=operation_body(_status_done)),
]
