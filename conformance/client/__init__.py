"""The DICOMweb client: one typed method per transaction, every exchange recorded."""

from conformance.client.client import DicomwebClient
from conformance.client.exchange import Exchange, ExchangeLog
from conformance.client.responses import (
    DicomwebResponse,
    FailedInstance,
    ReferencedInstance,
    StoreResult,
)

__all__ = [
    "DicomwebClient",
    "DicomwebResponse",
    "Exchange",
    "ExchangeLog",
    "FailedInstance",
    "ReferencedInstance",
    "StoreResult",
]
