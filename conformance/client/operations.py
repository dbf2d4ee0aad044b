"""Bulk update (DBU, API v2) and long-running operations (OP)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from conformance.client.base import BaseClient
from conformance.client.responses import DicomwebResponse


class OperationsMixin(BaseClient):
    """Bulk update (DBU, API v2) and long-running operations (OP)."""

    def bulk_update(self, study_uids: Sequence[str], change_dataset: Mapping[str, object]) -> DicomwebResponse:
        """``POST {v}{p}/studies/$bulkUpdate`` (API v2)."""
        body = json.dumps({"studyInstanceUids": list(study_uids), "changeDataset": change_dataset}).encode()
        return self.request("POST", "studies/$bulkUpdate", headers={"Content-Type": "application/json"}, content=body)

    def get_operation(self, href_or_id: str) -> DicomwebResponse:
        """``GET {v}/operations/{id}`` (never partitioned); accepts the ``href`` of a 202 answer."""
        url = href_or_id if "://" in href_or_id else f"{self.version_root}/operations/{href_or_id}"
        return self.request("GET", url)
