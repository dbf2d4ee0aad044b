"""Retrieve Transaction (WADO-RS, PS3.18 10.4): instances, frames and metadata."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from conformance.client.base import MULTIPART_DICOM_ANY, BaseClient
from conformance.client.responses import JsonDatasetsResponse, RetrieveResponse
from conformance.core.media_types import DICOM_JSON


class RetrieveMixin(BaseClient):
    """Retrieve Transaction (WADO-RS, PS3.18 10.4): instances, frames and metadata."""

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
