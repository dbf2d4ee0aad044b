"""Worklist Service (UPS-RS, PS3.18 chapter 11; behaviour catalogue section 6).

Workitems live in their own SQLite database (``workitems.sqlite3`` in the data directory,
``store``); the state machine (``states``) decides every change inside the write transaction
that makes it, so concurrent requests cannot both win. ``requirements`` holds what PS3.4 Table
CC.2.5-3 asks of a workitem, ``search`` the query rules, ``endpoints`` the HTTP side.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from reference_server.partitions import partitioned
from reference_server.workitems.endpoints import cancel_request, change_state, create, retrieve, search, update


def workitem_routes(prefix: str) -> list[BaseRoute]:
    """The workitem routes under ``prefix`` (the version segment, and the partition segment when
    there is one). Each is behind the partition check; creating a workitem in an unknown
    partition creates the partition (PART-03, PART-06)."""
    item = prefix + "/workitems/{workitem}"
    return [
        Route(prefix + "/workitems", partitioned(create, creates=True), methods=["POST"]),
        Route(prefix + "/workitems", partitioned(search), methods=["GET"]),
        Route(item, partitioned(retrieve), methods=["GET"]),
        Route(item, partitioned(update), methods=["POST"]),
        Route(item + "/state", partitioned(change_state), methods=["PUT"]),
        Route(item + "/cancelrequest", partitioned(cancel_request), methods=["POST"]),
    ]
