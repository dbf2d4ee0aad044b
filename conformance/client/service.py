"""Service endpoints outside DICOMweb: health check (DHC) and OpenAPI documents (DVER)."""

from __future__ import annotations

from conformance.client.base import BaseClient
from conformance.client.responses import DicomwebResponse


class ServiceMixin(BaseClient):
    """Service endpoints outside DICOMweb: health check (DHC) and OpenAPI documents (DVER)."""

    def health_check(self) -> DicomwebResponse:
        """``GET /health/check`` at the service root (unversioned)."""
        return self.request("GET", f"{self.service_root}/health/check")

    def api_document(self, version: str) -> DicomwebResponse:
        """``GET /{version}/api.yaml`` (the OpenAPI document of one API version)."""
        return self.request("GET", f"{self.service_root}/{version}/api.yaml")
