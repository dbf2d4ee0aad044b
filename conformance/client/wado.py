"""Retrieve Transaction (WADO-RS, PS3.18 10.4): instances, frames, metadata, rendered images."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from conformance.client.base import MULTIPART_DICOM_ANY, BaseClient, QueryParams
from conformance.client.responses import JsonDatasetsResponse, RetrieveResponse
from conformance.core.media_types import DICOM_JSON

MULTIPART_OCTETS_ANY = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'


def _frame_list(frames: Sequence[int] | str) -> str:
    return frames if isinstance(frames, str) else ",".join(str(f) for f in frames)


class RetrieveMixin(BaseClient):
    """Retrieve Transaction (WADO-RS, PS3.18 10.4): instances, frames, metadata, rendered images.

    ``accept=None`` sends no Accept header at all; ``headers`` adds any other request header
    (``If-None-Match``, ``msdicom-request-original``)."""

    def retrieve_study(
        self, study: str, *, accept: str | None = MULTIPART_DICOM_ANY, headers: Mapping[str, str] | None = None
    ) -> RetrieveResponse:
        return self._get(self.study_path(study), accept, RetrieveResponse, headers)

    def retrieve_series(
        self,
        study: str,
        series: str,
        *,
        accept: str | None = MULTIPART_DICOM_ANY,
        headers: Mapping[str, str] | None = None,
    ) -> RetrieveResponse:
        return self._get(self.series_path(study, series), accept, RetrieveResponse, headers)

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
        accept: str | None = MULTIPART_OCTETS_ANY,
        headers: Mapping[str, str] | None = None,
    ) -> RetrieveResponse:
        """``.../frames/{list}``; ``frames`` as numbers or as the literal path segment."""
        path = f"{self.instance_path(study, series, instance)}/frames/{_frame_list(frames)}"
        return self._get(path, accept, RetrieveResponse, headers)

    def retrieve_rendered(
        self,
        study: str,
        series: str,
        instance: str,
        *,
        frame: int | str | None = None,
        accept: str | None = None,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> RetrieveResponse:
        """``.../instances/{instance}/rendered`` or ``.../frames/{frame}/rendered`` (WADO-22..25)."""
        path = self.instance_path(study, series, instance)
        if frame is not None:
            path += f"/frames/{frame}"
        return self._get(f"{path}/rendered", accept, RetrieveResponse, headers, params)

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

    def retrieve_bulkdata(
        self, url: str, *, accept: str | None = MULTIPART_OCTETS_ANY, headers: Mapping[str, str] | None = None
    ) -> RetrieveResponse:
        """A ``BulkDataURI`` of a metadata answer (absolute, or relative to the base URL)."""
        return self._get(url, accept, RetrieveResponse, headers)
