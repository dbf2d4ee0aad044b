"""``TargetSession``: the target of a run, opened once per (worker) process.

It starts the embedded reference server when no URL was given, checks that the target
answers at all (an unreachable target is a harness error, reported once, not a failure per
test), owns the connection pool and the session-wide ledger, and removes what the run
stored when it closes.

Data partitions. When the profile claims ``partitions``, every partitionable route of the
target needs ``/partitions/{name}`` after the version (PART-03). The run then works in a
partition of its own: ``{url}/partitions/dwc-<12 hex digits>``, a fresh name per run, so every
test (written for plain routes) addresses it through its client's base URL, and nothing the
run does can meet data of another partition. The partition is created the only way there is
(PART-06): a STOW of one fresh instance, deleted again at once. A URL that already names a
partition (``.../v2/partitions/mine``) is used as it is. Routes that are never partitioned
(operations, change feed, extended query tags, ``/partitions``, health, OpenAPI) are reached
through the client's ``version_root`` and ``service_root``.
"""

from __future__ import annotations

from conformance.client.client import DicomwebClient, make_http_client
from conformance.client.exchange import ExchangeLog
from conformance.client.partitions import fresh_partition_name
from conformance.core.errors import ConfigurationError, ConformanceFailure, TargetUnreachable
from conformance.core.media_types import DICOM_JSON
from conformance.embedded import EmbeddedServer
from conformance.ledger import CleanupOutcome, Ledger, remove
from conformance.profile import Capability
from conformance.settings import AuthKind, Credentials, Settings
from conformance.testdata import InstanceFactory


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
        profile = settings.profile
        partitioned = profile.claims(Capability.PARTITIONS)
        if settings.url is None:
            self.server = EmbeddedServer(
                profile.api_version,
                max_part_bytes=profile.limits.part_max_bytes,
                partitions=partitioned,
                auth=_server_auth(settings.credentials),
            )
            base_url = self.server.start()
        else:
            base_url = settings.url.rstrip("/")
        if partitioned and "/partitions/" not in base_url:
            base_url = f"{base_url}/partitions/{fresh_partition_name()}"
        http = make_http_client(timeout=settings.timeout, authorization=settings.credentials.authorization_header())
        self._client = DicomwebClient(http, base_url, log=ExchangeLog(), on_store=self.ledger.record)
        self._probe()
        if partitioned:
            self._create_partition()

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

    def _create_partition(self) -> None:
        """PART-06: a STOW into an unknown partition creates it; the instance goes again at once."""
        response = self.client.store_instances([InstanceFactory().instance()])
        outcome = remove(self.client, self.ledger.take_all(), self.settings.profile.cleanup)
        self.cleanup.deleted += outcome.deleted
        self.cleanup.left += outcome.left
        self.cleanup.problems += outcome.problems
        if response.status not in (200, 202):
            answer = response.text()[:200].strip() if response.content else "(no body)"
            raise ConfigurationError(
                f"profile {self.settings.profile.name!r} claims data partitions, but storing into the run's "
                f"partition {self.base_url} answered {response.status}: {answer}"
            )

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


def _server_auth(credentials: Credentials) -> tuple[str, dict[str, str]] | None:
    """The embedded server's ``--auth`` mode and secret variables for the run's credentials."""
    if credentials.kind is AuthKind.BASIC and credentials.user and credentials.password is not None:
        return "basic", {
            "DICOMWEB_SERVER_USER": credentials.user,
            "DICOMWEB_SERVER_PASSWORD": credentials.password.reveal(),
        }
    if credentials.kind is AuthKind.BEARER and credentials.token is not None:
        return "bearer", {"DICOMWEB_SERVER_TOKEN": credentials.token.reveal()}
    return None
