"""Worklist Service (UPS-RS, PS3.18 chapter 11; behaviour catalogue section 6)."""

from __future__ import annotations

from starlette.routing import BaseRoute


def workitem_routes(prefix: str) -> list[BaseRoute]:
    """The workitem routes under ``prefix`` (the version segment)."""
    return []
