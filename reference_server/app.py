"""The Starlette application: routes, error handling and the GEN-02 header.

Routes exist under ``/v1`` and ``/v2`` only (``{version:apiversion}``); anything else is a
plain-text 404 (GEN-01). Every response under a version carries ``api-supported-versions``.
The DICOMweb routes exist both plain and under ``/partitions/{partition}``; the partition check
in front of each (``partitions.partitioned``) serves one form or the other (PART-03).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reference_server.attributes import Resource
from reference_server.auth import AuthMiddleware
from reference_server.bulk_update import bulk_update_routes, register_bulk_update
from reference_server.changefeed import changefeed_routes
from reference_server.config import ServerConfig
from reference_server.delete import delete
from reference_server.dicomfile import configure_pydicom
from reference_server.errors import (
    HttpError,
    handle_http_error,
    handle_starlette_http_exception,
    handle_unexpected,
)
from reference_server.export import export_routes, register_export
from reference_server.extended_query_tags import extended_query_tag_routes, register_reindex
from reference_server.frames import retrieve_frames
from reference_server.health import health_check
from reference_server.index import Index
from reference_server.openapi import api_yaml
from reference_server.operations import Operations
from reference_server.partitions import check_can_disable, list_partitions, partitioned
from reference_server.qido import endpoint as search_endpoint
from reference_server.rendered import retrieve_rendered
from reference_server.state import ServerState
from reference_server.storage import Storage
from reference_server.stow import store_instances

# Importing versions registers the {version:apiversion} path convertor used by the routes.
from reference_server.versions import SUPPORTED_VERSIONS_HEADER, SUPPORTED_VERSIONS_VALUE, is_versioned_path
from reference_server.wado import retrieve, retrieve_metadata
from reference_server.workitems import workitem_routes

logger = logging.getLogger("reference_server")

V = "/{version:apiversion}"
PARTITION = "/partitions/{partition}"


def data_routes(prefix: str) -> list[BaseRoute]:
    """The partitionable routes under ``prefix`` (PART-03), each behind the partition check."""
    study = prefix + "/studies/{study}"
    series = study + "/series/{series}"
    instance = series + "/instances/{instance}"
    store = partitioned(store_instances, creates=True)  # PART-06: STOW creates the partition
    return [
        # STOW-RS
        Route(prefix + "/studies", store, methods=["POST"]),
        Route(study, store, methods=["POST"]),
        # QIDO-RS
        Route(prefix + "/studies", partitioned(search_endpoint(Resource.ALL_STUDIES)), methods=["GET"]),
        Route(prefix + "/series", partitioned(search_endpoint(Resource.ALL_SERIES)), methods=["GET"]),
        Route(prefix + "/instances", partitioned(search_endpoint(Resource.ALL_INSTANCES)), methods=["GET"]),
        Route(study + "/series", partitioned(search_endpoint(Resource.STUDY_SERIES)), methods=["GET"]),
        Route(study + "/instances", partitioned(search_endpoint(Resource.STUDY_INSTANCES)), methods=["GET"]),
        Route(series + "/instances", partitioned(search_endpoint(Resource.STUDY_SERIES_INSTANCES)), methods=["GET"]),
        # WADO-RS
        Route(study, partitioned(retrieve), methods=["GET"]),
        Route(series, partitioned(retrieve), methods=["GET"]),
        Route(instance, partitioned(retrieve), methods=["GET"]),
        Route(study + "/metadata", partitioned(retrieve_metadata), methods=["GET"]),
        Route(series + "/metadata", partitioned(retrieve_metadata), methods=["GET"]),
        Route(instance + "/metadata", partitioned(retrieve_metadata), methods=["GET"]),
        Route(instance + "/frames/{frames}", partitioned(retrieve_frames), methods=["GET"]),
        Route(instance + "/rendered", partitioned(retrieve_rendered), methods=["GET"]),
        Route(instance + "/frames/{frame}/rendered", partitioned(retrieve_rendered), methods=["GET"]),
        # DELETE
        Route(study, partitioned(delete), methods=["DELETE"]),
        Route(series, partitioned(delete), methods=["DELETE"]),
        Route(instance, partitioned(delete), methods=["DELETE"]),
        # UPS-RS
        *workitem_routes(prefix),
    ]


def routes() -> list[BaseRoute]:
    return [
        # Never partitioned (PART-04).
        Route("/health/check", health_check, methods=["GET"]),
        Route(V + "/api.yaml", api_yaml, methods=["GET"]),
        Route(V + "/partitions", list_partitions, methods=["GET"]),
        *changefeed_routes(),  # CF: never partitioned (PART-04)
        *bulk_update_routes(),  # BULK, OP: before data_routes, where $bulkUpdate would be a study UID
        *extended_query_tag_routes(V),  # EQT: never partitioned
        *export_routes(V),  # EXP: {v}/export and {v}/partitions/{p}/export
        *data_routes(V),
        *data_routes(V + PARTITION),
    ]


class SupportedVersionsMiddleware:
    """GEN-02: add ``api-supported-versions`` to every response of a versioned path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_versioned_path(scope["path"]):
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers[SUPPORTED_VERSIONS_HEADER] = SUPPORTED_VERSIONS_VALUE
            await send(message)

        await self.app(scope, receive, send_with_header)


def create_app(config: ServerConfig) -> Starlette:
    """A ready application over ``config.data_dir`` (created when missing)."""
    configure_pydicom()
    data_dir = config.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    index = Index(data_dir / "index.sqlite3", data_dir)
    state = ServerState(config=config, storage=Storage(data_dir), index=index, operations=Operations(index))
    register_bulk_update(state)  # before the lifespan starts the operations worker
    register_reindex(state)  # EQT-02: extended query tag reindex operations
    register_export(state)  # EXP-03: export operations
    if not config.partitions:
        try:
            check_can_disable(state.index)  # PART-01
        except ValueError:
            state.index.close()
            raise

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.operations.start()  # OP: fails or resumes what a killed process left running
        try:
            yield
        finally:
            state.operations.close()
            state.index.close()

    app = Starlette(
        routes=routes(),
        exception_handlers={
            HttpError: handle_http_error,
            HTTPException: handle_starlette_http_exception,
            Exception: handle_unexpected,
        },
        lifespan=lifespan,
    )
    app.state.server = state
    # No 307 to the path without its trailing slash: ".../series/%2F" decodes to ".../series/", and
    # a redirect would lead the client to another resource (the study's series) instead of a 404.
    app.router.redirect_slashes = False
    app.add_middleware(AuthMiddleware, settings=config.auth)  # GEN-08; inside GEN-02, so a 401 has its header
    app.add_middleware(SupportedVersionsMiddleware)
    return app
