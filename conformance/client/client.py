"""``DicomwebClient``: one typed method per DICOMweb transaction (PS3.18 10.4-10.6) plus the
service's non-standard delete and health check.

Every exchange goes through ``_send``, which records it in the test's ``ExchangeLog`` and
turns transport problems (timeout, reset, refused) into a ``NoResponse`` failure with the
request as evidence. Instances are announced to ``on_store`` *before* they are sent, so the
cleanup knows about them even when the answer never arrives.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Literal, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from conformance.client.exchange import Exchange, ExchangeLog, record_request, record_response
from conformance.client.responses import (
    DicomwebResponse,
    JsonDatasetsResponse,
    RetrieveResponse,
    StoreResponse,
)
from conformance.core.errors import NoResponse
from conformance.core.instances import DicomFile
from conformance.core.media_types import DICOM, DICOM_JSON, multipart_related
from conformance.core.multipart import encode_multipart_related, new_boundary
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


class DicomwebClient:
    """A client bound to one base URL (including the API version) and one exchange log."""

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

    def bound_to(self, log: ExchangeLog, on_store: Callable[[DicomFile, str], None] | None = None) -> DicomwebClient:
        """The same target and connection pool, recording into another log."""
        return DicomwebClient(self.http, self.base_url, log=log, on_store=on_store or self.on_store)

    def at(self, base_url: str) -> DicomwebClient:
        """The same log, pool and ledger, addressing another base URL."""
        return DicomwebClient(self.http, base_url, log=self.log, on_store=self.on_store)

    def in_partition(self, name: str) -> DicomwebClient:
        """The partitioned routes ``{version}/partitions/{name}/...`` (data partitions)."""
        return self.at(f"{self.base_url}/partitions/{quote(name, safe='')}")

    # -- addressing -------------------------------------------------------------------------

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
        body = content or b""
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

    # -- STOW-RS (PS3.18 10.5) ---------------------------------------------------------------

    def store_instances(
        self,
        files: Sequence[DicomFile],
        study_uid: str | None = None,
        *,
        accept: str | None = DICOM_JSON,
        type_param: TypeParam = "quoted",
        part_headers: Callable[[DicomFile], Sequence[tuple[str, str]]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> StoreResponse:
        """Store Instances: one ``application/dicom`` part per file."""
        boundary = new_boundary()
        body = encode_multipart_related(
            ((part_headers(f) if part_headers else [("Content-Type", DICOM)], f.data) for f in files),
            boundary=boundary,
        )
        if type_param == "absent":
            content_type = f"multipart/related; boundary={boundary}"
        else:
            content_type = multipart_related(DICOM, boundary, quote_type=type_param == "quoted")
        return self.store_body(body, content_type, study_uid, accept=accept, headers=headers, sent=files)

    def store_single_part(
        self,
        file: DicomFile,
        study_uid: str | None = None,
        *,
        content_type: str = DICOM,
        accept: str | None = DICOM_JSON,
    ) -> StoreResponse:
        """The non-standard single-part upload: the body is one Part-10 file."""
        return self.store_body(file.data, content_type, study_uid, accept=accept, sent=[file])

    def store_body(
        self,
        body: bytes,
        content_type: str | None,
        study_uid: str | None = None,
        *,
        accept: str | None = DICOM_JSON,
        headers: Mapping[str, str] | None = None,
        sent: Iterable[DicomFile] = (),
    ) -> StoreResponse:
        """Store a hand-made body; ``sent`` names the files it contains, for the cleanup."""
        self._announce(sent)
        all_headers = dict(headers or {})
        if content_type is not None:
            all_headers["Content-Type"] = content_type
        if accept is not None:
            all_headers["Accept"] = accept
        path = self.study_path(study_uid) if study_uid is not None else "studies"
        return self._send("POST", path, StoreResponse, headers=all_headers, content=body)

    # -- WADO-RS (PS3.18 10.4) ---------------------------------------------------------------

    def retrieve_study(self, study: str, *, accept: str | None = MULTIPART_DICOM_ANY) -> RetrieveResponse:
        return self._get(self.study_path(study), accept, RetrieveResponse)

    def retrieve_series(self, study: str, series: str, *, accept: str | None = MULTIPART_DICOM_ANY) -> RetrieveResponse:
        return self._get(self.series_path(study, series), accept, RetrieveResponse)

    def retrieve_instance(
        self,
        study: str,
        series: str,
        instance: str,
        *,
        accept: str | None = MULTIPART_DICOM_ANY,
        headers: Mapping[str, str] | None = None,
    ) -> RetrieveResponse:
        return self._get(self.instance_path(study, series, instance), accept, RetrieveResponse, headers)

    def retrieve_frames(
        self,
        study: str,
        series: str,
        instance: str,
        frames: Sequence[int] | str,
        *,
        accept: str | None = 'multipart/related; type="application/octet-stream"; transfer-syntax=*',
    ) -> RetrieveResponse:
        frame_list = frames if isinstance(frames, str) else ",".join(str(f) for f in frames)
        path = f"{self.instance_path(study, series, instance)}/frames/{frame_list}"
        return self._get(path, accept, RetrieveResponse)

    def retrieve_study_metadata(
        self, study: str, *, accept: str | None = DICOM_JSON, headers: Mapping[str, str] | None = None
    ) -> JsonDatasetsResponse:
        return self._get(f"{self.study_path(study)}/metadata", accept, JsonDatasetsResponse, headers)

    def retrieve_series_metadata(
        self, study: str, series: str, *, accept: str | None = DICOM_JSON, headers: Mapping[str, str] | None = None
    ) -> JsonDatasetsResponse:
        return self._get(f"{self.series_path(study, series)}/metadata", accept, JsonDatasetsResponse, headers)

    def retrieve_instance_metadata(
        self,
        study: str,
        series: str,
        instance: str,
        *,
        accept: str | None = DICOM_JSON,
        headers: Mapping[str, str] | None = None,
    ) -> JsonDatasetsResponse:
        path = f"{self.instance_path(study, series, instance)}/metadata"
        return self._get(path, accept, JsonDatasetsResponse, headers)

    # -- QIDO-RS (PS3.18 10.6) ---------------------------------------------------------------

    def search_for_studies(self, params: QueryParams = (), *, accept: str | None = DICOM_JSON) -> JsonDatasetsResponse:
        return self._get("studies", accept, JsonDatasetsResponse, params=params)

    def search_for_series(
        self, params: QueryParams = (), *, study: str | None = None, accept: str | None = DICOM_JSON
    ) -> JsonDatasetsResponse:
        path = f"{self.study_path(study)}/series" if study else "series"
        return self._get(path, accept, JsonDatasetsResponse, params=params)

    def search_for_instances(
        self,
        params: QueryParams = (),
        *,
        study: str | None = None,
        series: str | None = None,
        accept: str | None = DICOM_JSON,
    ) -> JsonDatasetsResponse:
        if series is not None and study is not None:
            path = f"{self.series_path(study, series)}/instances"
        elif study is not None:
            path = f"{self.study_path(study)}/instances"
        else:
            path = "instances"
        return self._get(path, accept, JsonDatasetsResponse, params=params)

    # -- Delete (the service's non-standard extension) ----------------------------------------

    def delete_study(
        self, study: str, *, headers: Mapping[str, str] | None = None, content: bytes | None = None
    ) -> DicomwebResponse:
        return self.request("DELETE", self.study_path(study), headers=headers, content=content)

    def delete_series(
        self, study: str, series: str, *, headers: Mapping[str, str] | None = None, content: bytes | None = None
    ) -> DicomwebResponse:
        return self.request("DELETE", self.series_path(study, series), headers=headers, content=content)

    def delete_instance(
        self,
        study: str,
        series: str,
        instance: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> DicomwebResponse:
        return self.request("DELETE", self.instance_path(study, series, instance), headers=headers, content=content)

    # -- change feed, bulk update, operations (the service's extensions) ---------------------

    def change_feed(self, params: QueryParams = ()) -> DicomwebResponse:
        """``GET {v}/changefeed`` (never partitioned: always at the version root)."""
        return self.request("GET", f"{self.version_root}/changefeed", params=params or None)

    def change_feed_latest(self, params: QueryParams = ()) -> DicomwebResponse:
        return self.request("GET", f"{self.version_root}/changefeed/latest", params=params or None)

    def bulk_update(self, study_uids: Sequence[str], change_dataset: Mapping[str, object]) -> DicomwebResponse:
        """``POST {v}{p}/studies/$bulkUpdate`` (API v2)."""
        body = json.dumps({"studyInstanceUids": list(study_uids), "changeDataset": change_dataset}).encode()
        return self.request("POST", "studies/$bulkUpdate", headers={"Content-Type": "application/json"}, content=body)

    def get_operation(self, href_or_id: str) -> DicomwebResponse:
        """``GET {v}/operations/{id}`` (never partitioned); accepts the ``href`` of a 202 answer."""
        url = href_or_id if "://" in href_or_id else f"{self.version_root}/operations/{href_or_id}"
        return self.request("GET", url)

    @property
    def version_root(self) -> str:
        """The base URL without a partition segment (where operations and change feed live)."""
        marker = "/partitions/"
        return self.base_url.split(marker, 1)[0] if marker in self.base_url else self.base_url

    # -- service endpoints ---------------------------------------------------------------------

    def health_check(self) -> DicomwebResponse:
        """``GET /health/check`` at the service root (unversioned)."""
        return self.request("GET", f"{self.service_root}/health/check")

    def api_document(self, version: str) -> DicomwebResponse:
        """``GET /{version}/api.yaml`` (the OpenAPI document of one API version)."""
        return self.request("GET", f"{self.service_root}/{version}/api.yaml")

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
