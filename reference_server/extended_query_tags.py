"""Extended query tags: ``{v}/extendedquerytags`` (DEQT; EQT-01..03, EQT-06..10).

Never partitioned (the tags apply to every partition). Adding tags answers 202 with the reindex
operation (``{id, href}`` and ``Location``); the operation (``reindex``, run by the operations
worker, idempotent so a restart resumes it) indexes every stored instance and turns the tags
ready. Bodies are JSON, enum values written camelCase and property names read
case-insensitively (GEN-11); every refused request is a plain-text 4xx (GEN-07).
"""

from __future__ import annotations

import re
from typing import Any

import anyio
from pydicom.datadict import dictionary_VR, tag_for_keyword
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from reference_server.bodies import read_json_body
from reference_server.dicomfile import is_private, is_private_creator
from reference_server.errors import HttpError
from reference_server.extended_query_tag_index import (
    MAX_TAGS,
    SUPPORTED_VRS,
    ExtendedTag,
    NewTag,
    OperationHook,
    QueryStatus,
    TagLevel,
    TagStatus,
    TooManyTags,
    add_tags,
    all_tags,
    core_attribute,
    delete_tag,
    find_tag,
    reindex,
    remove_tags,
    set_operation,
    set_query_status,
    tag_errors,
)
from reference_server.operations import OperationContext, OperationType
from reference_server.state import ServerState, api_version, base_url, server_state

_HEX_TAG = re.compile(r"[0-9A-Fa-f]{8}")
MAX_BODY_BYTES = 1024 * 1024
LIMIT_MIN, LIMIT_MAX, LIMIT_DEFAULT = 1, 200, 100
_LEVELS = "['Instance', 'Series', 'Study']"


def parse_tag_path(text: str) -> int | None:
    """GEN-05: 8 hex digits or a dictionary keyword (case-sensitive); None when neither."""
    if _HEX_TAG.fullmatch(text):
        return int(text, 16)
    value = tag_for_keyword(text)
    return int(value) if value is not None else None


def version_root(request: Request) -> str:
    return f"{base_url(request)}/{api_version(request).value}"


def _json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)


def _valid_lo(value: str) -> bool:
    return len(value) <= 64 and "\\" not in value and not any(ord(c) < 0x20 for c in value) and bool(value.strip())


def _invalid(where: str, field: str, reason: str) -> HttpError:
    return HttpError(400, f"The field '{where}.{field}' in request body is invalid: {reason}")


def parse_entry(position: int, item: Any) -> NewTag:
    """One entry of an add request (EQT-01, EQT-03, EQT-04)."""
    where = f"[{position}]"
    if not isinstance(item, dict):
        raise HttpError(400, f"The entry {where} of the request body is not a JSON object.")
    fields = {str(k).lower(): v for k, v in item.items()}
    path, level_text = fields.get("path"), fields.get("level")
    vr, creator = fields.get("vr"), fields.get("privatecreator")
    if not isinstance(path, str) or not path.strip():
        raise _invalid(where, "Path", "The Dicom Tag Property Path must be specified and must not be null or empty.")
    if not isinstance(level_text, str) or not level_text.strip():
        raise _invalid(
            where, "Level", "The Dicom Tag Property Level must be specified and must not be null, empty or whitespace"
        )
    level = next((lv for lv in TagLevel if lv.value == level_text.strip().lower()), None)
    if level is None:
        raise _invalid(where, "Level", f"Expected value '{level_text}' to be one of the following values: {_LEVELS}")
    if vr is not None and not isinstance(vr, str) or creator is not None and not isinstance(creator, str):
        raise HttpError(400, f"The fields VR and PrivateCreator of entry {where} must be strings.")
    tag = parse_tag_path(path.strip())
    if tag is None:
        raise _invalid(where, "Path", f"'{path}' is not a tag: give 8 hexadecimal digits or a DICOM keyword.")
    group, element = tag >> 16, tag & 0xFFFF
    label = f"{tag:08X}"
    if group in (0x0000, 0x0002, 0xFFFE) or element == 0 or group in (0x0001, 0x0003, 0x0005, 0x0007, 0xFFFF):
        raise HttpError(400, f"The tag {label} cannot be an extended query tag.")
    if core_attribute(tag):
        raise HttpError(400, f"The tag {label} is already supported by QIDO by default; it cannot be added.")
    vr = vr.strip().upper() if isinstance(vr, str) and vr.strip() else None
    creator = creator if isinstance(creator, str) and creator != "" else None
    if is_private(tag):
        if is_private_creator(tag):
            vr = vr or "LO"
            if vr != "LO":
                raise HttpError(400, f"The private creator element {label} has VR LO, not {vr}.")
        else:
            if vr is None:
                raise HttpError(400, f"The VR of the private tag {label} must be given.")
            if creator is None:
                raise HttpError(400, f"The private creator of the private tag {label} must be given.")
        if creator is not None and not _valid_lo(creator):
            raise HttpError(400, f"The private creator '{creator}' of tag {label} is not a valid LO value.")
    else:
        if creator is not None:
            raise HttpError(400, f"The standard tag {label} cannot have a private creator.")
        try:
            choices = [c.strip() for c in str(dictionary_VR(tag)).split(" or ")]
        except KeyError:
            raise HttpError(400, f"The tag {label} is not a known standard tag.") from None
        if vr is not None and vr not in choices:
            raise HttpError(400, f"The VR {vr} is not the dictionary VR ({' or '.join(choices)}) of tag {label}.")
        vr = vr or next((c for c in choices if c in SUPPORTED_VRS), choices[0])
    if vr == "SQ":
        raise HttpError(400, f"The tag {label} is a sequence: sequences cannot be extended query tags.")
    if vr not in SUPPORTED_VRS:
        raise HttpError(400, f"The VR {vr} of tag {label} is not supported for extended query tags.")
    return NewTag(tag=tag, vr=vr, private_creator=creator, level=level)


def _limit_offset(request: Request) -> tuple[int, int]:
    """EQT-08: ``limit`` 1..200 (default 100), ``offset`` >= 0."""
    values = {"limit": LIMIT_DEFAULT, "offset": 0}
    for name, value in request.query_params.multi_items():
        key = name.lower()
        if key not in values:
            raise HttpError(400, f"The query parameter '{name}' is not supported here: use limit and offset.")
        if not re.fullmatch(r"[+-]?[0-9]{1,18}", value.strip()):
            raise HttpError(400, f"The value '{value}' of '{name}' is not an integer.")
        number = int(value)
        low, high = (LIMIT_MIN, LIMIT_MAX) if key == "limit" else (0, None)
        if number < low or (high is not None and number > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise HttpError(400, f"The value {value} of '{name}' is invalid: it must be {bounds}.")
        values[key] = number
    return values["limit"], values["offset"]


async def _existing(request: Request) -> tuple[ServerState, ExtendedTag]:
    """EQT-07: the tag of the path; 400 when the path is no tag, 404 when it is not an extended query tag."""
    text = str(request.path_params["tag"])
    tag = parse_tag_path(text)
    if tag is None:
        raise HttpError(400, f"'{text}' is not a tag path: give 8 hexadecimal digits or a DICOM keyword.")
    state = server_state(request)
    found = await anyio.to_thread.run_sync(find_tag, state.index, tag)
    if found is None:
        raise HttpError(404, f"The extended query tag {tag:08X} does not exist.")
    return state, found


async def add(request: Request) -> Response:
    """``POST {v}/extendedquerytags`` (EQT-01..03)."""
    body = await read_json_body(request, MAX_BODY_BYTES)
    if not isinstance(body, list) or not body:
        raise HttpError(400, "The request body must be a non-empty JSON array of extended query tags.")
    entries = [parse_entry(i, item) for i, item in enumerate(body)]
    paths = [f"{e.tag:08X}" for e in entries]
    duplicates = sorted({p for p in paths if paths.count(p) > 1})
    if duplicates:
        raise HttpError(400, f"The request adds the tag(s) {', '.join(duplicates)} more than once.")
    state = server_state(request)
    root = version_root(request)
    running = state.operations.active(OperationType.REINDEX)
    if running is not None:
        raise _busy(root, running)
    try:
        added = await anyio.to_thread.run_sync(add_tags, state.index, entries)
    except TooManyTags as exc:
        raise HttpError(400, f"{exc} (at most {MAX_TAGS} extended query tags).") from None
    if added is None:
        raise HttpError(409, "One or more of the extended query tags already exist.")
    resources = [f"{root}/extendedquerytags/{p}" for p in added]
    operation_id = state.operations.submit(OperationType.REINDEX, {"paths": added}, exclusive=True, resources=resources)
    if operation_id is None:
        await anyio.to_thread.run_sync(remove_tags, state.index, added)
        raise _busy(root, state.operations.active(OperationType.REINDEX))
    await anyio.to_thread.run_sync(set_operation, state.index, added, operation_id)
    href = f"{root}/operations/{operation_id}"
    return _json_response({"id": operation_id, "href": href}, 202, headers={"Location": href})


def _busy(root: str, operation_id: str | None) -> HttpError:
    headers = {"Location": f"{root}/operations/{operation_id}"} if operation_id else {}
    return HttpError(
        409,
        f"Another reindex operation ('{operation_id}') is running; try again when it has finished.",
        headers=headers,
    )


async def list_tags(request: Request) -> Response:
    """``GET {v}/extendedquerytags`` (EQT-06, EQT-08)."""
    limit, offset = _limit_offset(request)
    state = server_state(request)
    tags = await anyio.to_thread.run_sync(all_tags, state.index)
    root = version_root(request)
    return _json_response([t.to_json(root) for t in tags[offset : offset + limit]])


async def get_tag(request: Request) -> Response:
    """``GET {v}/extendedquerytags/{tagPath}`` (EQT-06, EQT-07)."""
    _, tag = await _existing(request)
    return _json_response(tag.to_json(version_root(request)))


async def patch_tag(request: Request) -> Response:
    """``PATCH {v}/extendedquerytags/{tagPath}`` with ``{"queryStatus": ...}`` (EQT-09)."""
    state, tag = await _existing(request)
    body = await read_json_body(request, MAX_BODY_BYTES)
    fields = {str(k).lower(): v for k, v in body.items()} if isinstance(body, dict) else None
    if fields is None or "querystatus" not in fields:
        raise HttpError(400, "The request body must be a JSON object with a queryStatus (Enabled or Disabled).")
    wanted = fields["querystatus"]
    status = next((s for s in QueryStatus if isinstance(wanted, str) and s.value == wanted.strip().lower()), None)
    if status is None:
        raise HttpError(400, f"The queryStatus '{wanted}' is invalid: use Enabled or Disabled.")
    await anyio.to_thread.run_sync(set_query_status, state.index, tag, status)
    _, updated = await _existing(request)
    return _json_response(updated.to_json(version_root(request)))


async def remove_tag(request: Request) -> Response:
    """``DELETE {v}/extendedquerytags/{tagPath}`` (EQT-07): 204; 400 while the tag is being added."""
    state, tag = await _existing(request)
    if tag.status is TagStatus.ADDING:
        raise HttpError(400, f"The extended query tag {tag.path} is being added; delete it when it is ready.")
    await anyio.to_thread.run_sync(delete_tag, state.index, tag)
    return Response(status_code=204)


async def list_errors(request: Request) -> Response:
    """``GET {v}/extendedquerytags/{tagPath}/errors`` (EQT-08, EQT-10)."""
    state, tag = await _existing(request)
    limit, offset = _limit_offset(request)
    errors = await anyio.to_thread.run_sync(lambda: tag_errors(state.index, tag, limit=limit, offset=offset))
    return _json_response(errors)


def register_reindex(state: ServerState) -> None:
    """The reindex operation handler (idempotent: a restart runs it again from the start)."""

    def handler(context: OperationContext) -> None:
        paths = [str(p) for p in context.payload.get("paths", [])]
        hook: OperationHook = context.progress
        context.results.update(reindex(state.index, state.config.data_dir, paths, hook))

    state.operations.register(OperationType.REINDEX, handler, idempotent=True)


def extended_query_tag_routes(prefix: str) -> list[BaseRoute]:
    """The routes under ``prefix`` (``/{version}``): never partitioned."""
    base = prefix + "/extendedquerytags"
    tag = base + "/{tag}"
    return [
        Route(base, add, methods=["POST"]),
        Route(base, list_tags, methods=["GET"]),
        Route(tag, get_tag, methods=["GET"]),
        Route(tag, patch_tag, methods=["PATCH"]),
        Route(tag, remove_tag, methods=["DELETE"]),
        Route(tag + "/errors", list_errors, methods=["GET"]),
    ]
