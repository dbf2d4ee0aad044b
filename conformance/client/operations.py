"""Bulk update (DBU, API v2) and long-running operations (OP)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from urllib.parse import urljoin

from conformance.client.base import BaseClient
from conformance.client.responses import DicomwebResponse

BULK_UPDATE = "studies/$bulkUpdate"
ORIGINAL_HEADER = "msdicom-request-original"


class OperationsMixin(BaseClient):
    """Bulk update (DBU, API v2) and long-running operations (OP)."""

    def bulk_update(self, study_uids: Sequence[str], change_dataset: Mapping[str, object]) -> DicomwebResponse:
        """``POST {v}{p}/studies/$bulkUpdate`` (API v2) with the DBU body (BULK-02)."""
        body = {"studyInstanceUids": list(study_uids), "changeDataset": change_dataset}
        return self.bulk_update_body(json.dumps(body).encode())

    def bulk_update_body(self, content: bytes, *, content_type: str | None = "application/json") -> DicomwebResponse:
        """``POST {v}{p}/studies/$bulkUpdate`` with any body (request validation, BULK-04)."""
        headers = {"Content-Type": content_type} if content_type is not None else {}
        return self.request("POST", BULK_UPDATE, headers=headers, content=content)

    def operation_url(self, href_or_id: str) -> str:
        """The operation's URL: an absolute ``href`` as is, a relative one resolved against the
        bulk update URL it answered (the DBU example is ``../v1/operations/<id>``), an id under
        ``{v}/operations`` (never partitioned)."""
        if "/" not in href_or_id:
            return f"{self.version_root}/operations/{href_or_id}"
        return urljoin(self.url(BULK_UPDATE), href_or_id)

    def get_operation(self, href_or_id: str) -> DicomwebResponse:
        """``GET {v}/operations/{id}`` (OP-01); accepts the ``href`` of a 202 answer or the id."""
        return self.request("GET", self.operation_url(href_or_id))
