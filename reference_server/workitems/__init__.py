"""Worklist Service (UPS-RS, PS3.18 chapter 11; behaviour catalogue section 6).

Workitems live in their own SQLite database (``workitems.sqlite3`` in the data directory,
``store``); the state machine (``states``) decides every change inside the write transaction
that makes it, so concurrent requests cannot both win. ``requirements`` holds what PS3.4 Table
CC.2.5-3 asks of a workitem, ``search`` the query rules, ``endpoints`` the HTTP side.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from reference_server.workitems.endpoints import cancel_request, change_state, create, retrieve, search, update


def workitem_routes(prefix: str) -> list[BaseRoute]:
    """The workitem routes under ``prefix`` (the version segment)."""
    item = prefix + "/workitems/{workitem}"
    return [
        Route(prefix + "/workitems", create, methods=["POST"]),
        Route(prefix + "/workitems", search, methods=["GET"]),
        Route(item, retrieve, methods=["GET"]),
        Route(item, update, methods=["POST"]),
        Route(item + "/state", change_state, methods=["PUT"]),
        Route(item + "/cancelrequest", cancel_request, methods=["POST"]),
    ]
