"""Worklist Service (UPS-RS, PS3.18 chapter 11): workitems and their state machine."""

from __future__ import annotations

from conformance.client.base import BaseClient


class WorklistMixin(BaseClient):
    """Worklist Service (UPS-RS)."""
