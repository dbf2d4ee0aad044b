"""Delete (the Azure service's non-standard extension): studies, series, instances."""

from __future__ import annotations

from collections.abc import Mapping

from conformance.client.base import BaseClient
from conformance.client.responses import DicomwebResponse


class DeleteMixin(BaseClient):
    """Delete (the Azure service's non-standard extension): studies, series, instances."""

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
