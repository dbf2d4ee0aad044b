"""Change feed (DCF): the log of creates, deletes and updates, never partitioned."""

from __future__ import annotations

from conformance.client.base import BaseClient, QueryParams
from conformance.client.responses import DicomwebResponse


class ChangeFeedMixin(BaseClient):
    """Change feed (DCF): the log of creates, deletes and updates, never partitioned."""

    def change_feed(self, params: QueryParams = ()) -> DicomwebResponse:
        """``GET {v}/changefeed`` (never partitioned: always at the version root)."""
        return self.request("GET", f"{self.version_root}/changefeed", params=params or None)

    def change_feed_latest(self, params: QueryParams = ()) -> DicomwebResponse:
        return self.request("GET", f"{self.version_root}/changefeed/latest", params=params or None)
