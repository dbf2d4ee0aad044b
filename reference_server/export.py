"""Export: ``POST {v}[/partitions/{p}]/export`` (DEXP; EXP-01..05).

The request names its source (``identifiers``: ``study``, ``study/series`` or
``study/series/instance``) and its destination. The Azure service writes to a blob container
(``azureblob``); this server cannot, and offers its own documented destination instead:

    "destination": {"type": "localfolder", "settings": {"folder": "<name>"}}

``<name>`` is one folder name (letters, digits, ``.``, ``_``, ``-``) under the server's export
root (``--export-dir``; default ``<data>/exports``): the server never writes elsewhere. An
``azureblob`` destination is refused with 400 naming the supported one. The export runs as an
``export`` operation (202 + ``{id, href}`` + ``Location``, EXP-03) and lays its output out as the
service does (EXP-04): ``<folder>/<operation id>/results/<study>/<series>/<sop>.dcm`` and
``<folder>/<operation id>/errors.log``, one JSON object per line (``Timestamp``, ``Identifier``,
``Error``) for every identifier or file that could not be exported (EXP-05). The results are
``{exported, skipped, errorHref}``, ``errorHref`` being the ``file:`` URI of that log.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from reference_server.bodies import read_json_body
from reference_server.errors import HttpError
from reference_server.index import Index
from reference_server.operations import OperationContext, OperationType
from reference_server.partitions import partition_of, partitioned
from reference_server.state import ServerState, api_version, base_url, server_state
from reference_server.validation import is_valid_uid

MAX_BODY_BYTES = 1024 * 1024
MAX_IDENTIFIERS = 10_000
LOCAL_FOLDER = "localfolder"
_FOLDER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,63}")


def export_root(state: ServerState) -> Path:
    """Where local-folder exports go: ``--export-dir``, else ``<data>/exports``."""
    return state.config.export_dir or state.config.data_dir / "exports"


def _fields(value: Any, where: str) -> dict[str, Any]:
    """A JSON object with its property names lower-cased (read case-insensitively, GEN-11)."""
    if not isinstance(value, dict):
        raise HttpError(400, f"The export request's '{where}' must be a JSON object.")
    return {str(k).lower(): v for k, v in value.items()}


def parse_identifier(value: Any) -> list[str]:
    """``study``, ``study/series`` or ``study/series/instance`` (EXP-02); 400 otherwise."""
    parts = value.split("/") if isinstance(value, str) else []
    if not 1 <= len(parts) <= 3 or not all(is_valid_uid(p) for p in parts):
        raise HttpError(
            400, f"The export identifier {value!r} is invalid: use study, study/series or study/series/instance UIDs."
        )
    return parts


def parse_request(body: Any) -> tuple[list[str], str]:
    """EXP-02: the identifiers and the destination folder name of a request; 400 when invalid."""
    request = _fields(body, "body")
    if request.get("source") is None:
        raise HttpError(400, "The export request has no 'source'.")
    if request.get("destination") is None:
        raise HttpError(400, "The export request has no 'destination'.")
    source = _fields(request["source"], "source")
    if str(source.get("type", "")).lower() != "identifiers":
        raise HttpError(400, f"The export source type {source.get('type')!r} is not supported: use 'identifiers'.")
    values = _fields(source.get("settings"), "source.settings").get("values")
    if not isinstance(values, list) or not values:
        raise HttpError(400, "The export source has no identifiers: 'settings.values' must be a non-empty array.")
    if len(values) > MAX_IDENTIFIERS:
        raise HttpError(400, f"The export source has {len(values)} identifiers; at most {MAX_IDENTIFIERS} are allowed.")
    for value in values:
        parse_identifier(value)
    destination = _fields(request["destination"], "destination")
    kind = str(destination.get("type", "")).lower()
    if kind != LOCAL_FOLDER:
        raise HttpError(
            400,
            f"The export destination type {destination.get('type')!r} is not supported by this server: use "
            f"{{'type': '{LOCAL_FOLDER}', 'settings': {{'folder': '<name>'}}}} (a folder under its export root).",
        )
    folder = _fields(destination.get("settings"), "destination.settings").get("folder")
    if not isinstance(folder, str) or not _FOLDER.fullmatch(folder) or folder in (".", ".."):
        raise HttpError(
            400,
            "The localfolder destination needs 'settings.folder': one folder name of letters, digits, '.', '_', '-'.",
        )
    return [str(v) for v in values], folder


async def start_export(request: Request) -> Response:
    """``POST {v}[/partitions/{p}]/export`` (EXP-01..03)."""
    values, folder = parse_request(await read_json_body(request, MAX_BODY_BYTES, what="The export request"))
    state = server_state(request)
    partition = partition_of(request)
    payload = {"values": values, "folder": folder, "partition": partition.key}
    operation_id = state.operations.submit(OperationType.EXPORT, payload)
    assert operation_id is not None  # not exclusive: exports may run one after the other
    href = f"{base_url(request)}/{api_version(request).value}/operations/{operation_id}"
    return JSONResponse({"id": operation_id, "href": href}, status_code=202, headers={"Location": href})


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def run_export(index: Index, root: Path, context: OperationContext) -> None:
    """Copy the identified instances (idempotent: a rerun rewrites the same files and log)."""
    payload = context.payload
    values = [str(v) for v in payload["values"]]
    partition = int(payload["partition"])
    out = root / str(payload["folder"]) / context.operation_id
    results_dir = out / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    log_path = out / "errors.log"
    exported = skipped = 0
    with log_path.open("w", encoding="utf-8") as log:

        def failed(identifier: str, error: str) -> None:
            log.write(json.dumps({"Timestamp": _now(), "Identifier": identifier, "Error": error}) + "\n")

        for position, identifier in enumerate(values):
            study, series, sop = (parse_identifier(identifier) + [None, None])[:3]
            assert study is not None
            instances = index.instances(study, series, sop, partition=partition)
            if not instances:
                skipped += 1
                failed(identifier, "No instance matches the identifier.")
            for instance in instances:
                target = results_dir / instance.study_uid / instance.series_uid / f"{instance.sop_uid}.dcm"
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(instance.path, target)
                    exported += 1
                except OSError as exc:  # a file error skips the file, never the export (EXP-05)
                    skipped += 1
                    failed(f"{instance.study_uid}/{instance.series_uid}/{instance.sop_uid}", str(exc))
            context.results.update({"exported": exported, "skipped": skipped, "errorHref": log_path.as_uri()})
            context.progress((position + 1) * 100 // len(values))
    context.results.update({"exported": exported, "skipped": skipped, "errorHref": log_path.as_uri()})


def register_export(state: ServerState) -> None:
    """The export operation handler (idempotent: a restart runs it again)."""
    root = export_root(state)

    def handler(context: OperationContext) -> None:
        run_export(state.index, root, context)

    state.operations.register(OperationType.EXPORT, handler, idempotent=True)


def export_routes(prefix: str) -> list[BaseRoute]:
    """``{prefix}/export`` and ``{prefix}/partitions/{partition}/export``, behind the partition check."""
    endpoint = partitioned(start_export)
    return [
        Route(prefix + "/export", endpoint, methods=["POST"]),
        Route(prefix + "/partitions/{partition}/export", endpoint, methods=["POST"]),
    ]
