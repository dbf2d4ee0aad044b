"""``BaseClient``: addressing, and the one place requests are sent.

Every exchange goes through ``_send``, which records it in the test's ``ExchangeLog`` and
turns transport problems (timeout, reset, refused) into a ``NoResponse`` failure with the
request as evidence. Instances are announced to ``on_store`` *before* they are sent, so the
cleanup knows about them even when the answer never arrives.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Literal, Self, TypeVar
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import httpx

from conformance.client.exchange import Exchange, ExchangeLog, record_request, record_response
from conformance.client.responses import (
    DicomwebResponse,
)
from conformance.core.errors import NoResponse
from conformance.core.instances import DicomFile
from conformance.profile import API_VERSIONS

R = TypeVar("R", bound=DicomwebResponse)
QueryParams = Mapping[str, str] | Sequence[tuple[str, str]]
TypeParam = Literal["quoted", "unquoted", "absent"]

MULTIPART_DICOM_ANY = 'multipart/related; type="application/dicom"; transfer-syntax=*'


def make_http_client(*, timeout: float, authorization: str | None) -> httpx.Client:
    """The shared connection pool. No default Accept: tests decide whether one is sent."""
    client = httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False)
    del client.headers["accept"]
    client.headers["user-agent"] = "dicomweb-conformance"
    if authorization:
        client.headers["authorization"] = authorization
    return client


def _uid(value: str) -> str:
    # Path segments are percent-encoded so deliberately invalid UIDs reach the server intact.
    return quote(value, safe="")


class BaseClient:
    """A client bound to one base URL (including the API version) and one exchange log.

    The transactions live in one mixin per service (``stow``, ``wado``, ``qido``, ...);
    ``DicomwebClient`` combines them."""

    def __init__(
        self,
        http: httpx.Client,
        base_url: str,
        *,
        log: ExchangeLog | None = None,
        on_store: Callable[[DicomFile, str], None] | None = None,
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.log = log if log is not None else ExchangeLog()
        self.on_store = on_store

    def bound_to(self, log: ExchangeLog, on_store: Callable[[DicomFile, str], None] | None = None) -> Self:
        """The same target and connection pool, recording into another log."""
        return type(self)(self.http, self.base_url, log=log, on_store=on_store or self.on_store)

    def at(self, base_url: str) -> Self:
        """The same log, pool and ledger, addressing another base URL."""
        return type(self)(self.http, base_url, log=self.log, on_store=self.on_store)

    def in_partition(self, name: str) -> Self:
        """The routes of partition ``name``: ``{version}/partitions/{name}/...`` (PART-03), whatever
        partition this client addresses. The name is percent-encoded, so invalid names reach the
        target as they are."""
        return self.at(f"{self.version_root}/partitions/{quote(name, safe='')}")

    def in_version(self, version: str) -> Self:
        """The same routes (partition included) under API version ``version`` (``v1``, ``v2``)."""
        return self.at(f"{self.service_root}/{version}{self.partition_path}")

    # -- addressing -------------------------------------------------------------------------

    @property
    def partition_path(self) -> str:
        """``/partitions/{name}`` when this client addresses a data partition, else ``""``."""
        marker = "/partitions/"
        return marker + self.base_url.split(marker, 1)[1] if marker in self.base_url else ""

    @property
    def partition(self) -> str | None:
        """The name of the data partition this client addresses, if any (decoded)."""
        return unquote(self.partition_path.removeprefix("/partitions/")) if self.partition_path else None

    @property
    def service_root(self) -> str:
        """The base URL without its trailing API version segment (where /health/check lives)."""
        parts = urlsplit(self.version_root)
        segments = parts.path.rstrip("/").split("/")
        if segments and segments[-1] in API_VERSIONS:
            segments = segments[:-1]
        return urlunsplit((parts.scheme, parts.netloc, "/".join(segments), "", ""))

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def study_path(self, study: str) -> str:
        return f"studies/{_uid(study)}"

    def series_path(self, study: str, series: str) -> str:
        return f"{self.study_path(study)}/series/{_uid(series)}"

    def instance_path(self, study: str, series: str, instance: str) -> str:
        return f"{self.series_path(study, series)}/instances/{_uid(instance)}"

    # -- the one place requests are sent -----------------------------------------------------

    def request(
        self,
        method: str,
        url_or_path: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        params: QueryParams | None = None,
    ) -> DicomwebResponse:
        """Send any request; a path is resolved against the base URL."""
        return self._send(method, url_or_path, DicomwebResponse, headers=headers, content=content, params=params)

    def _send(
        self,
        method: str,
        url_or_path: str,
        response_type: type[R],
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        params: QueryParams | None = None,
    ) -> R:
        url = url_or_path if "://" in url_or_path else self.url(url_or_path)
        query: list[tuple[str, str | int | float | bool | None]] = list(
            params.items() if isinstance(params, Mapping) else params or []
        )
        request = self.http.build_request(method, url, headers=headers, content=content, params=query or None)
        return self.send_request(request, content or b"", response_type)

    def send_request(self, request: httpx.Request, body: bytes, response_type: type[R]) -> R:
        """Send a request built on ``self.http`` (e.g. with a streamed body), recorded like any other
        with ``body`` as what was sent; a transport problem is a ``NoResponse`` failure."""
        method = request.method
        recorded = record_request(request, body)
        started = time.monotonic()
        try:
            response = self.http.send(request)
            response.read()
        except httpx.TimeoutException as exc:
            exchange = Exchange(recorded, None, error=f"no answer within the timeout ({type(exc).__name__})")
            self.log.append(exchange)
            raise NoResponse(f"{method} {request.url} got no answer in time", exchange=exchange) from None
        except httpx.TransportError as exc:
            exchange = Exchange(recorded, None, error=f"{type(exc).__name__}: {exc}")
            self.log.append(exchange)
            raise NoResponse(f"{method} {request.url} failed: {type(exc).__name__}: {exc}", exchange=exchange) from None
        exchange = Exchange(recorded, record_response(response, time.monotonic() - started))
        self.log.append(exchange)
        return response_type(exchange=exchange, raw=response)

    def _announce(self, files: Iterable[DicomFile]) -> None:
        if self.on_store is not None:
            for file in files:
                self.on_store(file, self.base_url)

    @property
    def version_root(self) -> str:
        """The base URL without a partition segment (where operations, change feed, extended
        query tags and the partition list live: PART-04)."""
        marker = "/partitions/"
        return self.base_url.split(marker, 1)[0] if marker in self.base_url else self.base_url

    def _get(
        self,
        path: str,
        accept: str | None,
        response_type: type[R],
        headers: Mapping[str, str] | None = None,
        params: QueryParams | None = None,
    ) -> R:
        all_headers = dict(headers or {})
        if accept is not None:
            all_headers["Accept"] = accept
        return self._send("GET", path, response_type, headers=all_headers, params=params)
