"""``DicomwebClient``: one typed method per DICOMweb transaction (PS3.18 10.4-10.6, chapter 11)
and per extension of the Azure DICOM service; each service lives in its own module."""

from __future__ import annotations

from conformance.client.base import MULTIPART_DICOM_ANY, BaseClient, QueryParams, make_http_client
from conformance.client.changefeed import ChangeFeedMixin
from conformance.client.delete import DeleteMixin
from conformance.client.export import ExportMixin
from conformance.client.extended_query_tags import ExtendedQueryTagsMixin
from conformance.client.operations import OperationsMixin
from conformance.client.partitions import PartitionsMixin
from conformance.client.qido import SearchMixin
from conformance.client.service import ServiceMixin
from conformance.client.stow import StoreMixin
from conformance.client.wado import RetrieveMixin
from conformance.client.workitems import WorklistMixin

__all__ = ["MULTIPART_DICOM_ANY", "DicomwebClient", "QueryParams", "make_http_client"]


class DicomwebClient(
    StoreMixin,
    RetrieveMixin,
    SearchMixin,
    DeleteMixin,
    WorklistMixin,
    ChangeFeedMixin,
    OperationsMixin,
    ExtendedQueryTagsMixin,
    ExportMixin,
    PartitionsMixin,
    ServiceMixin,
    BaseClient,
):
    """A client bound to one base URL (API version and partition included) and one exchange log."""
