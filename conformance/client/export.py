"""Export (DEXP): ``POST {v}{p}/export`` to a destination the target can write to."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from conformance.client.base import BaseClient
from conformance.client.responses import DicomwebResponse


def export_request(identifiers: Sequence[str], destination: Mapping[str, object]) -> dict[str, object]:
    """The DEXP body: identifiers (``study``, ``study/series``, ``study/series/instance``) and a destination."""
    return {
        "source": {"type": "identifiers", "settings": {"values": list(identifiers)}},
        "destination": dict(destination),
    }


class ExportMixin(BaseClient):
    """Export (DEXP): copy identified instances to a destination, as an operation."""

    def export(self, identifiers: Sequence[str], destination: Mapping[str, object]) -> DicomwebResponse:
        """``POST {v}{p}/export`` (partitioned like STOW: EXP-01)."""
        return self.export_body(json.dumps(export_request(identifiers, destination)).encode())

    def export_body(self, content: bytes, *, content_type: str | None = "application/json") -> DicomwebResponse:
        """``POST {v}{p}/export`` with any body (request validation, EXP-02)."""
        headers = {"Content-Type": content_type} if content_type is not None else {}
        headers["Accept"] = "application/json"
        return self.request("POST", "export", headers=headers, content=content)
