"""Mutants for the worklist behaviours (UPS): servers that allow an illegal transition, ignore
the Transaction UID lock, return the Transaction UID, or answer the wrong status.

Some of these bugs live in request bodies (a server that ignores an attribute, or records its
own Transaction UID), so besides the toolkit's request and answer rewrites a ``WorkitemMutant``
may rewrite the request body, with state kept per server it wraps (what was claimed with which
UID).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.quality.mutants import (
    Answer,
    AnswerRewrite,
    ASGIApp,
    Message,
    Mutant,
    Receive,
    Request,
    RequestRewrite,
    Scope,
    Send,
    mutate,
    status_map,
)

GROUPS = {"UPS"}
# Every UPS behaviour has a mutant. (UPS-31's 206 for a workitem canceled while being searched
# needs concurrency the suite cannot provoke; UPS-31 is caught through its 204 and 400 answers.)
EXEMPT: dict[str, str] = {}

BodyRewrite = Callable[[Request, bytes], bytes]
Hooks = tuple[BodyRewrite | None, RequestRewrite | None, AnswerRewrite | None]

_ITEM = re.compile(r"^/v\d/workitems/(?P<uid>[^/]+)$")
_STATE = re.compile(r"^/v\d/workitems/(?P<uid>[^/]+)/state$")
_CANCEL = re.compile(r"^/v\d/workitems/[^/]+/cancelrequest$")
_ALL = re.compile(r"^/v\d/workitems$")
TRANSACTION_UID, STATE, SOP_INSTANCE_UID = "00081195", "00741000", "00080018"
SERVER_TRANSACTION_UID = "2.25.271828182845904523536028747135266249775"


def is_create(r: Request) -> bool:
    return r.method == "POST" and bool(_ALL.match(r.path))


def is_search(r: Request) -> bool:
    return r.method == "GET" and bool(_ALL.match(r.path))


def is_retrieve(r: Request) -> bool:
    return r.method == "GET" and bool(_ITEM.match(r.path))


def is_update(r: Request) -> bool:
    return r.method == "POST" and bool(_ITEM.match(r.path))


def is_state(r: Request) -> bool:
    return r.method == "PUT" and bool(_STATE.match(r.path))


def is_cancel(r: Request) -> bool:
    return r.method == "POST" and bool(_CANCEL.match(r.path))


def _uid(r: Request) -> str:
    match = _ITEM.match(r.path) or _STATE.match(r.path)
    return match.group("uid") if match else ""


def with_body(app: ASGIApp, rewrite: BodyRewrite) -> ASGIApp:
    """Wrap ``app``: read the whole request body, rewrite it, hand the new one on."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body", False))
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        seen = Request(scope["method"], scope["path"], scope["query_string"].decode("latin-1"), headers)
        body = rewrite(seen, b"".join(chunks))
        scope = dict(scope)
        kept = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
        scope["headers"] = [*kept, (b"content-length", str(len(body)).encode())]
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await app(scope, replay, send)

    return wrapped


@dataclass(frozen=True)
class WorkitemMutant(Mutant):
    """A mutant whose hooks (body, request, answer) are made afresh for each server it wraps."""

    make: Callable[[], Hooks] | None = None

    def wrap(self, app: ASGIApp) -> ASGIApp:
        body, request, answer = self.make() if self.make else (None, self.request, self.answer)
        wrapped = mutate(app, request=request, answer=answer)
        return with_body(wrapped, body) if body else wrapped


def dataset_rewrite(when: Callable[[Request], bool], fn: Callable[[Request, dict[str, Any]], None]) -> BodyRewrite:
    """Rewrite the dataset (first element of the JSON array) of matching requests."""

    def rewrite(r: Request, body: bytes) -> bytes:
        if not when(r):
            return body
        try:
            document = json.loads(body)
        except ValueError:
            return body
        if isinstance(document, list) and document and isinstance(document[0], dict):
            fn(r, document[0])
        return json.dumps(document).encode()

    return rewrite


def drop_params(r: Request, *names: str) -> None:
    kept = [p for p in r.query.split("&") if p and p.split("=", 1)[0].lower() not in names]
    r.query = "&".join(kept)


def _value(dataset: dict[str, Any], key: str) -> Any:
    values = (dataset.get(key) or {}).get("Value") or [None]
    return values[0]


# -- the stateful ones ------------------------------------------------------------------------------


def _leaks_transaction_uid() -> Hooks:
    """UPS-11: remembers each claim's Transaction UID and returns it with the workitem."""
    claimed: dict[str, str] = {}

    def body(r: Request, raw: bytes) -> bytes:
        def note(r: Request, dataset: dict[str, Any]) -> None:
            if _value(dataset, STATE) == "IN PROGRESS" and _value(dataset, TRANSACTION_UID):
                claimed.setdefault(_uid(r), str(_value(dataset, TRANSACTION_UID)))

        return dataset_rewrite(is_state, note)(r, raw)

    def answer(r: Request, a: Answer) -> None:
        if is_retrieve(r) and a.status == 200 and _uid(r) in claimed:
            obj = a.json()
            obj[TRANSACTION_UID] = {"vr": "UI", "Value": [claimed[_uid(r)]]}
            a.set_json(obj)

    return body, None, answer


def _ignores_the_update_lock() -> Hooks:
    """UPS-13: an update of a claimed workitem succeeds whatever Transaction UID it carries."""
    claimed: dict[str, str] = {}

    def body(r: Request, raw: bytes) -> bytes:
        def note(r: Request, dataset: dict[str, Any]) -> None:
            if _value(dataset, STATE) == "IN PROGRESS" and _value(dataset, TRANSACTION_UID):
                claimed.setdefault(_uid(r), str(_value(dataset, TRANSACTION_UID)))

        return dataset_rewrite(is_state, note)(r, raw)

    def request(r: Request) -> None:
        if is_update(r) and _uid(r) in claimed:
            r.query = claimed[_uid(r)]

    return body, request, None


def _own_transaction_uid(r: Request, dataset: dict[str, Any]) -> None:
    """UPS-19: the server records a Transaction UID of its own instead of the client's."""
    if _value(dataset, STATE) == "IN PROGRESS":
        dataset[TRANSACTION_UID] = {"vr": "UI", "Value": [SERVER_TRANSACTION_UID]}


def _fills_in_the_action(r: Request, dataset: dict[str, Any]) -> None:
    """UPS-18: a change of state without a Transaction UID or a valid state is completed."""
    if not _value(dataset, TRANSACTION_UID):
        dataset[TRANSACTION_UID] = {"vr": "UI", "Value": [SERVER_TRANSACTION_UID]}
    if _value(dataset, STATE) not in ("IN PROGRESS", "COMPLETED", "CANCELED"):
        dataset[STATE] = {"vr": "CS", "Value": ["IN PROGRESS"]}


def _drop(*keys: str) -> Callable[[Request, dict[str, Any]], None]:
    def fn(r: Request, dataset: dict[str, Any]) -> None:
        for key in keys:
            dataset.pop(key, None)

    return fn


def _blank_empty_type_3(r: Request, dataset: dict[str, Any]) -> None:
    for key in ("00404011", "00404008"):
        if key in dataset and not dataset[key].get("Value"):
            del dataset[key]


def _blank_transaction_uid(r: Request, dataset: dict[str, Any]) -> None:
    if TRANSACTION_UID in dataset:
        dataset[TRANSACTION_UID] = {"vr": "UI"}


def _ignore_query_uid_mismatch(r: Request, dataset: dict[str, Any]) -> None:
    if r.query:
        dataset.pop(SOP_INSTANCE_UID, None)


def _body_mutant(
    behavior: str, bug: str, when: Callable[[Request], bool], fn: Callable[[Request, dict[str, Any]], None]
) -> WorkitemMutant:
    rewrite = dataset_rewrite(when, fn)
    return WorkitemMutant(behavior, bug, make=lambda: (rewrite, None, None))


# -- answer rewrites ------------------------------------------------------------------------------


def _answer_json(when: Callable[[Request], bool], fn: Callable[[Any], Any]) -> AnswerRewrite:
    def rewrite(r: Request, a: Answer) -> None:
        if when(r) and a.status == 200 and a.body:
            a.set_json(fn(a.json()))

    return rewrite


def _without_sop_class(obj: dict[str, Any]) -> dict[str, Any]:
    obj.pop("00080016", None)
    return obj


def _drop_header(when: Callable[[Request], bool], status: Callable[[int], bool], name: str) -> AnswerRewrite:
    def rewrite(r: Request, a: Answer) -> None:
        if when(r) and status(a.status):
            a.set_header(name, None)

    return rewrite


def _accepts_when(when: Callable[[Request], bool], marker: bytes) -> AnswerRewrite:
    """A refusal whose message holds ``marker`` becomes a bodiless 200 (the server lets it pass)."""

    def rewrite(r: Request, a: Answer) -> None:
        if when(r) and a.status == 400 and marker in a.body:
            a.status, a.body = 200, b""
            a.set_header("warning", None)
            a.set_header("content-type", None)

    return rewrite


def _ignore_cancellation(r: Request) -> None:
    if is_cancel(r):
        r.path += "-ignored"


def _acknowledge_ignored(r: Request, a: Answer) -> None:
    if r.path.endswith("/cancelrequest-ignored"):
        a.status, a.body = 202, b""
        a.set_header("content-type", None)


def _hex_paths_unknown(r: Request, a: Answer) -> None:
    if is_search(r) and "0040A370." in r.query.upper():
        a.status, a.body = 400, b"unknown attribute 0040A370.00080050"
        a.set_header("content-type", "text/plain")


def _invalid_uid_path(r: Request) -> bool:
    match = _ITEM.match(r.path) or _STATE.match(r.path)
    return bool(match) and not re.fullmatch(r"[0-9.]+", match.group("uid") if match else "")


MUTANTS: list[Mutant] = [
    Mutant(
        "UPS-01",
        "accepts any Content-Type on workitem requests",
        request=lambda r: (
            (is_create(r) or is_update(r) or is_state(r) or is_cancel(r))
            and r.headers.update({"content-type": "application/dicom+json"})
        ),
    ),
    Mutant("UPS-02", "answers 404 for invalid workitem UIDs", answer=status_map(_invalid_uid_path, 400, 404)),
    _body_mutant("UPS-03", "accepts an empty type 3 attribute", is_create, _blank_empty_type_3),
    Mutant(
        "UPS-04",
        "ignores Accept on create",
        request=lambda r: is_create(r) and r.headers.update({"accept": "application/dicom+json"}),
    ),
    Mutant(
        "UPS-05",
        "omits Content-Location on create",
        answer=_drop_header(is_create, lambda s: s == 201, "content-location"),
    ),
    _body_mutant(
        "UPS-06", "ignores a SOPInstanceUID that differs from the query", is_create, _ignore_query_uid_mismatch
    ),
    Mutant("UPS-07", "answers 400 for an existing workitem", answer=status_map(is_create, 409, 400)),
    Mutant("UPS-08", "does not set the SOP Class UID", answer=_answer_json(is_retrieve, _without_sop_class)),
    _body_mutant("UPS-09", "accepts a valued Transaction UID at creation", is_create, _blank_transaction_uid),
    Mutant("UPS-10", "returns the workitem in an array", answer=_answer_json(is_retrieve, lambda obj: [obj])),
    WorkitemMutant("UPS-11", "returns the Transaction UID of a claimed workitem", make=_leaks_transaction_uid),
    Mutant(
        "UPS-12",
        "ignores a transaction UID given as a bare query key",
        request=lambda r: is_update(r) and "=" not in r.query and drop_params(r, r.query.lower()),
    ),
    WorkitemMutant("UPS-13", "does not check the transaction UID of an update", make=_ignores_the_update_lock),
    _body_mutant(
        "UPS-14",
        "silently drops attributes an update may not set",
        is_update,
        _drop("00741000", "00080018", "00080016", "00100010", "00100020", "0040A370"),
    ),
    Mutant(
        "UPS-15",
        "omits Content-Location on update",
        answer=_drop_header(is_update, lambda s: s == 200, "content-location"),
    ),
    Mutant(
        "UPS-16", "drops the Warning of refused updates", answer=_drop_header(is_update, lambda s: s >= 400, "warning")
    ),
    Mutant("UPS-17", "answers 400 to a wrong Content-Type on change-state", answer=status_map(is_state, 415, 400)),
    _body_mutant("UPS-18", "fills in a missing transaction UID or state", is_state, _fills_in_the_action),
    _body_mutant("UPS-19", "records its own transaction UID instead of the client's", is_state, _own_transaction_uid),
    Mutant("UPS-20", "answers 204 to a successful change of state", answer=status_map(is_state, 200, 204)),
    Mutant(
        "UPS-21",
        "lets a second claim take over a workitem",
        answer=_accepts_when(is_state, b"can not transition to 'IN PROGRESS' state: C30"),
    ),
    Mutant("UPS-21", "answers 409 to refused changes of state", answer=status_map(is_state, 400, 409)),
    Mutant("UPS-22", "completes workitems without the final-state attributes", answer=_accepts_when(is_state, b"C304")),
    Mutant("UPS-23", "answers 400 to a wrong Content-Type on cancelrequest", answer=status_map(is_cancel, 415, 400)),
    Mutant(
        "UPS-24",
        "acknowledges a cancellation request without canceling",
        request=_ignore_cancellation,
        answer=_acknowledge_ignored,
    ),
    Mutant("UPS-25", "answers 202 to a cancellation of a CANCELED workitem", answer=status_map(is_cancel, 409, 202)),
    Mutant("UPS-26", "answers 400 for an unknown workitem on cancelrequest", answer=status_map(is_cancel, 404, 400)),
    Mutant("UPS-27", "answers 409 for IN PROGRESS and COMPLETED workitems", answer=status_map(is_cancel, 400, 409)),
    Mutant("UPS-28", "ignores limit and offset", request=lambda r: is_search(r) and drop_params(r, "limit", "offset")),
    Mutant("UPS-29", "does not understand hex sequence paths", answer=_hex_paths_unknown),
    Mutant("UPS-30", "ignores fuzzymatching", request=lambda r: is_search(r) and drop_params(r, "fuzzymatching")),
    Mutant(
        "UPS-31", "answers 200 with an empty array when nothing matches", answer=status_map(is_search, 204, 200, b"[]")
    ),
    Mutant("UPS-32", "ignores includefield", request=lambda r: is_search(r) and drop_params(r, "includefield")),
]
