"""Extended query tags (DEQT): ``{v}/extendedquerytags``, never partitioned (PART-04)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from urllib.parse import quote

from conformance.client.base import BaseClient, QueryParams
from conformance.client.responses import DicomwebResponse

JSON = "application/json"


class ExtendedQueryTagsMixin(BaseClient):
    """Extended query tags (DEQT): add, list, get, update, delete and the indexing errors."""

    def extended_query_tags_url(self, path: str | None = None) -> str:
        """``{v}/extendedquerytags[/{path}]``; the path is percent-encoded (invalid ones reach the target intact)."""
        root = f"{self.version_root}/extendedquerytags"
        return root if path is None else f"{root}/{quote(path, safe='')}"

    def add_extended_query_tags(self, entries: Sequence[Mapping[str, object]]) -> DicomwebResponse:
        """``POST {v}/extendedquerytags`` with a JSON array of ``{path, vr?, privateCreator?, level}`` (EQT-01)."""
        return self.add_extended_query_tags_body(json.dumps(list(entries)).encode())

    def add_extended_query_tags_body(self, content: bytes, *, content_type: str | None = JSON) -> DicomwebResponse:
        """``POST {v}/extendedquerytags`` with any body (request validation, EQT-03)."""
        headers = {"Content-Type": content_type} if content_type is not None else {}
        return self.request("POST", self.extended_query_tags_url(), headers=headers, content=content)

    def list_extended_query_tags(self, params: QueryParams = ()) -> DicomwebResponse:
        """``GET {v}/extendedquerytags`` (EQT-08: ``limit``, ``offset``)."""
        return self.request("GET", self.extended_query_tags_url(), headers={"Accept": JSON}, params=params or None)

    def get_extended_query_tag(self, path: str) -> DicomwebResponse:
        return self.request("GET", self.extended_query_tags_url(path), headers={"Accept": JSON})

    def update_extended_query_tag(self, path: str, body: Mapping[str, object]) -> DicomwebResponse:
        """``PATCH {v}/extendedquerytags/{path}`` with e.g. ``{"queryStatus": "Enabled"}`` (EQT-09)."""
        headers = {"Content-Type": JSON, "Accept": JSON}
        return self.request(
            "PATCH", self.extended_query_tags_url(path), headers=headers, content=json.dumps(body).encode()
        )

    def delete_extended_query_tag(self, path: str) -> DicomwebResponse:
        return self.request("DELETE", self.extended_query_tags_url(path))

    def extended_query_tag_errors(self, path: str, params: QueryParams = ()) -> DicomwebResponse:
        """``GET {v}/extendedquerytags/{path}/errors`` (EQT-10)."""
        url = f"{self.extended_query_tags_url(path)}/errors"
        return self.request("GET", url, headers={"Accept": JSON}, params=params or None)
