"""``TargetSession``: the target of a run, opened once per (worker) process.

It starts the embedded reference server when no URL was given, checks that the target
answers at all (an unreachable target is a harness error, reported once, not a failure per
test), owns the connection pool and the session-wide ledger, and removes what the run
stored when it closes.
"""

from __future__ import annotations

from conformance.client.client import DicomwebClient, make_http_client
from conformance.client.exchange import ExchangeLog
from conformance.core.errors import ConfigurationError, ConformanceFailure, TargetUnreachable
from conformance.core.media_types import DICOM_JSON
from conformance.embedded import EmbeddedServer
from conformance.ledger import CleanupOutcome, Ledger, remove
from conformance.settings import AuthKind, Settings


class TargetSession:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.server: EmbeddedServer | None = None
        self.ledger = Ledger()
        self.cleanup = CleanupOutcome()
        self._client: DicomwebClient | None = None

    @property
    def client(self) -> DicomwebClient:
        if self._client is None:
            raise RuntimeError("target session is not open")
        return self._client

    @property
    def base_url(self) -> str:
        return self.client.base_url

    def open(self) -> None:
        settings = self.settings
        if settings.url is None:
            profile = settings.profile
            self.server = EmbeddedServer(profile.api_version, max_part_bytes=profile.limits.part_max_bytes)
            base_url = self.server.start()
        else:
            base_url = settings.url
        http = make_http_client(timeout=settings.timeout, authorization=settings.credentials.authorization_header())
        self._client = DicomwebClient(http, base_url, log=ExchangeLog(), on_store=self.ledger.record)
        self._probe()

    def _probe(self) -> None:
        """One request that any DICOMweb server answers; any HTTP answer means reachable."""
        try:
            response = self.client.search_for_studies([("limit", "1")], accept=DICOM_JSON)
        except ConformanceFailure as exc:
            reason = exc.exchange.error if exc.exchange is not None else exc.message
            raise TargetUnreachable(f"target {self.base_url} is unreachable: {reason}") from None
        if response.status == 401:
            if self.settings.credentials.kind is AuthKind.NONE:
                raise ConfigurationError(
                    f"target {self.base_url} requires authentication (401); set --dicomweb-auth "
                    "and DICOMWEB_USER / DICOMWEB_PASSWORD or DICOMWEB_TOKEN"
                )
            raise ConfigurationError(f"target {self.base_url} rejected the configured credentials (401)")
        if response.status == 403:
            raise ConfigurationError(f"target {self.base_url} refused the configured credentials (403)")

    def close(self) -> None:
        try:
            if self._client is not None:
                outcome = remove(self.client, self.ledger.take_all(), self.settings.profile.cleanup)
                self.cleanup.deleted += outcome.deleted
                self.cleanup.left += outcome.left
                self.cleanup.problems += outcome.problems
                self._client.http.close()
        finally:
            if self.server is not None:
                self.server.stop()
