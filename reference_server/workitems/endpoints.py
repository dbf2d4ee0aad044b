"""The six UPS-RS transactions over HTTP (PS3.18 chapter 11; behaviours UPS-01..32).

Statuses follow the reference profile's choices where the Azure documents and implementation
differ: an update of a CANCELED workitem is 400 (AMB-12 documented), of an unknown one 404
(AMB-13 documented); change-state refusals are 400, its success has no body and its Accept is
not checked (AMB-14 implemented); a cancellation request is refused with 400 for IN PROGRESS
and COMPLETED workitems and 409 for CANCELED ones (AMB-15 implemented).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

import anyio
from starlette.requests import Request
from starlette.responses import Response

from reference_server.bodies import read_body
from reference_server.errors import HttpError
from reference_server.negotiation import DICOM_JSON, accepts_dicom_json, parse_media_type
from reference_server.paths import path_uid
from reference_server.state import resource_root
from reference_server.validation import invalid_uid_message, is_valid_uid
from reference_server.workitems import states
from reference_server.workitems.dataset import JsonObject, check_structure, key, now_dt, present, put, text
from reference_server.workitems.requirements import creation_problem, update_problem
from reference_server.workitems.search import parse_query, run_search
from reference_server.workitems.states import Outcome
from reference_server.workitems.store import store_of

UPS_PUSH_SOP_CLASS = "1.2.840.10008.5.1.4.34.6.1"
DEFAULT_WORKLIST_LABEL = "worklist"
JSON = "application/json"
# A workitem is kilobytes: the bounds keep memory and recursion bounded whatever is sent (413 / 400).
MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_JSON_NESTING = 64
TOO_DEEP = f"The request body nests JSON arrays and objects deeper than {MAX_JSON_NESTING} levels."


def warning(request: Request, message: str) -> dict[str, str]:
    """GEN-10: ``Warning: 299 {host}: "{message}"``. The message may echo what the client sent:
    it is cut down to printable ASCII without double quotes (a header value is latin-1, a quote
    would end the quoted text, a line break would end the header)."""
    host = request.headers.get("host") or request.url.netloc
    text = "".join(c if " " <= c <= "~" and c != '"' else "'" if c == '"' else "?" for c in message)
    return {"Warning": f'299 {host}: "{text}"'}


def workitem_url(request: Request, uid: str) -> str:
    return f"{resource_root(request)}/workitems/{uid}"


def _require_dicom_json_body(request: Request) -> None:
    """UPS-01: create, update, change-state and cancel-request take ``application/dicom+json``."""
    value = request.headers.get("content-type")
    try:
        essence = parse_media_type(value).essence if value else None
    except ValueError:
        essence = None
    if essence != DICOM_JSON:
        raise HttpError(415, f"The Content-Type must be {DICOM_JSON}, not '{value or 'none'}'.")


def _query_key(request: Request, what: str) -> str | None:
    """UPS-04, UPS-12: the UID given as the name of the first query parameter (AMB-27)."""
    query = request.url.query
    if not query:
        return None
    name = unquote(query.split("&", 1)[0].split("=", 1)[0].replace("+", " "))
    if not is_valid_uid(name):
        raise HttpError(400, f"The {what} in the query is invalid. {invalid_uid_message(name)}")
    return name.rstrip(" ")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value (RFC 8259 6)")


def _too_deep(document: Any) -> bool:
    """Whether JSON arrays and objects nest deeper than MAX_JSON_NESTING (checked without recursion)."""
    stack = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_NESTING:
            return True
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


async def _dataset(request: Request, *, optional: bool = False) -> JsonObject:
    """UPS-01: the body is a JSON array whose first element is the dataset."""
    body = await read_body(request, MAX_BODY_BYTES)
    if optional and not body.strip():
        return {}
    try:
        document: Any = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise HttpError(400, f"The request body is not valid UTF-8 JSON: {exc}") from None
    except RecursionError:
        raise HttpError(400, TOO_DEEP) from None
    if _too_deep(document):
        raise HttpError(400, TOO_DEEP)
    if not isinstance(document, list) or not document:
        raise HttpError(400, "The request body must be a JSON array whose first element is the DICOM JSON dataset.")
    problem = check_structure(document[0])
    if problem:
        raise HttpError(400, f"The dataset is not valid DICOM JSON: {problem}")
    dataset: JsonObject = document[0]
    return dataset


async def create(request: Request) -> Response:
    """Create Workitem (UPS-04..09)."""
    if not accepts_dicom_json(request.headers.get("accept")):
        raise HttpError(406, empty_body=True)
    _require_dicom_json_body(request)
    query_uid = _query_key(request, "workitem UID")
    dataset = await _dataset(request)
    dataset_uid = text(dataset, "SOPInstanceUID")
    if query_uid is not None and dataset_uid is not None and dataset_uid != query_uid:
        raise HttpError(400, "The SOPInstanceUID in the payload does not match the workitem query parameter.")
    uid = query_uid or dataset_uid
    if not uid:
        raise HttpError(400, "The workitem UID is missing: give it in the query or as SOPInstanceUID (00080018).")
    if not is_valid_uid(uid):
        raise HttpError(400, invalid_uid_message(uid))
    # UPS-08: what the server sets, whatever the client sent.
    put(dataset, "SOPInstanceUID", "UI", uid)
    put(dataset, "SOPClassUID", "UI", UPS_PUSH_SOP_CLASS)
    put(dataset, "ScheduledProcedureStepModificationDateTime", "DT", now_dt())
    put(dataset, "WorklistLabel", "LO", DEFAULT_WORKLIST_LABEL)
    put(dataset, "ProcedureStepState", "CS", states.SCHEDULED)
    problem = creation_problem(dataset)
    if problem:
        raise HttpError(400, problem)
    store = store_of(request)
    if not await anyio.to_thread.run_sync(store.create, uid, states.SCHEDULED, dataset):
        raise HttpError(409, f"The workitem instance '{uid}' already exists.")
    url = workitem_url(request, uid)
    return Response(status_code=201, headers={"Location": url, "Content-Location": url})


async def retrieve(request: Request) -> Response:
    """Retrieve Workitem (UPS-10, UPS-11)."""
    uid = path_uid(request, "workitem")
    if not accepts_dicom_json(request.headers.get("accept")):
        raise HttpError(406, empty_body=True)
    stored = await anyio.to_thread.run_sync(store_of(request).get, uid)
    if stored is None:
        raise HttpError(404, f"The workitem instance '{uid}' was not found.")
    obj = {k: v for k, v in sorted(stored.attributes.items()) if k != key("TransactionUID")}
    return Response(json.dumps(obj, ensure_ascii=False).encode("utf-8"), media_type=DICOM_JSON)


async def update(request: Request) -> Response:
    """Update Workitem (UPS-12..16): every refusal also carries a Warning header (SRC)."""
    try:
        uid = path_uid(request, "workitem")
        _require_dicom_json_body(request)
        transaction_uid = _query_key(request, "transaction UID")
        changes = await _dataset(request)
        problem = update_problem(changes)
        if problem:
            raise HttpError(400, problem)
        now = now_dt()
        outcome = await anyio.to_thread.run_sync(
            store_of(request).apply,
            uid,
            lambda current: states.decide_update(current, uid, transaction_uid, changes, now),
        )
    except HttpError as exc:
        exc.headers.update(warning(request, exc.message))
        raise
    if outcome.success:
        return Response(status_code=200, headers={"Content-Location": workitem_url(request, uid)})
    status = 404 if outcome.code == "C307" else 400
    raise HttpError(status, outcome.message, headers=warning(request, outcome.message))


def _action(dataset: JsonObject) -> tuple[str, str]:
    """UPS-18: the two attributes of the Change UPS State action information."""
    transaction_uid = text(dataset, "TransactionUID")
    if not transaction_uid:
        raise HttpError(400, "The TransactionUID (00081195) is missing: it is required to change the state.")
    if not is_valid_uid(transaction_uid):
        raise HttpError(400, f"The TransactionUID '{transaction_uid}' is not a valid UID.")
    requested = text(dataset, "ProcedureStepState")
    if not requested or not present(dataset, "ProcedureStepState"):
        raise HttpError(400, "The ProcedureStepState (00741000) is missing.")
    if requested == states.SCHEDULED:
        raise HttpError(400, "A workitem can become SCHEDULED only by its creation: C303.")
    if requested not in states.REQUESTABLE:
        raise HttpError(400, f"'{requested}' is not a state to change to: IN PROGRESS, COMPLETED or CANCELED.")
    return requested, transaction_uid.rstrip(" ")


async def change_state(request: Request) -> Response:
    """Change Workitem State (UPS-17..22); success answers 200 without a body."""
    try:
        uid = path_uid(request, "workitem")
        _require_dicom_json_body(request)
        requested, transaction_uid = _action(await _dataset(request))
    except HttpError as exc:
        exc.headers.update(warning(request, exc.message))
        raise
    outcome: Outcome = await anyio.to_thread.run_sync(
        store_of(request).apply,
        uid,
        lambda current: states.decide_change_state(current, uid, requested, transaction_uid),
    )
    if outcome.success:
        return Response(status_code=200)
    if outcome.warning:
        return Response(status_code=200, headers=warning(request, outcome.message))
    status = 404 if outcome.code == "C307" else 400
    raise HttpError(status, outcome.message, headers=warning(request, outcome.message))


def _json_string(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(message).encode("utf-8"), status_code=status, headers=headers, media_type=JSON)


async def cancel_request(request: Request) -> Response:
    """Request Cancellation (UPS-23..27)."""
    uid = path_uid(request, "workitem")
    _require_dicom_json_body(request)
    info = await _dataset(request, optional=True)
    now = now_dt()
    outcome = await anyio.to_thread.run_sync(
        store_of(request).apply, uid, lambda current: states.decide_cancel_request(current, uid, info, now)
    )
    if outcome.success:
        return Response(status_code=202)
    if outcome.code == "C307":
        return _json_string(outcome.message, 404)
    if outcome.code == "B304":
        return _json_string(outcome.message, 409, warning(request, outcome.message))
    raise HttpError(400, outcome.message, headers=warning(request, outcome.message))


async def search(request: Request) -> Response:
    """Search for Workitems (UPS-28..32)."""
    if not accepts_dicom_json(request.headers.get("accept")):
        raise HttpError(406, empty_body=True)
    query = parse_query(request.query_params.multi_items())
    workitems = await anyio.to_thread.run_sync(store_of(request).newest_first)
    results = run_search(workitems, query)
    if not results:
        return Response(status_code=204)
    return Response(json.dumps(results, ensure_ascii=False).encode("utf-8"), media_type=DICOM_JSON)
