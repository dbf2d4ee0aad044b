"""Search Transaction (QIDO-RS, PS3.18 10.6) at the study, series and instance levels."""

from __future__ import annotations

from collections.abc import Mapping

from conformance.client.base import BaseClient, QueryParams
from conformance.client.responses import JsonDatasetsResponse
from conformance.core.media_types import DICOM_JSON


class SearchMixin(BaseClient):
    """Search Transaction (QIDO-RS, PS3.18 10.6) at the study, series and instance levels.

    ``params`` are sent in the order given (repeated keys included), so a test can send exactly
    the query it means."""

    def search_for_studies(
        self, params: QueryParams = (), *, accept: str | None = DICOM_JSON, headers: Mapping[str, str] | None = None
    ) -> JsonDatasetsResponse:
        return self._get("studies", accept, JsonDatasetsResponse, headers, params=params)

    def search_for_series(
        self,
        params: QueryParams = (),
        *,
        study: str | None = None,
        accept: str | None = DICOM_JSON,
        headers: Mapping[str, str] | None = None,
    ) -> JsonDatasetsResponse:
        path = f"{self.study_path(study)}/series" if study else "series"
        return self._get(path, accept, JsonDatasetsResponse, headers, params=params)

    def search_for_instances(
        self,
        params: QueryParams = (),
        *,
        study: str | None = None,
        series: str | None = None,
        accept: str | None = DICOM_JSON,
        headers: Mapping[str, str] | None = None,
    ) -> JsonDatasetsResponse:
        if series is not None and study is not None:
            path = f"{self.series_path(study, series)}/instances"
        elif study is not None:
            path = f"{self.study_path(study)}/instances"
        else:
            path = "instances"
        return self._get(path, accept, JsonDatasetsResponse, headers, params=params)
