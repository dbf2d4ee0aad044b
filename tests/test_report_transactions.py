"""Which service and transaction an exchange belongs to (Allure feature, conformance statement)."""

from __future__ import annotations

import pytest

from conformance.reporting.transactions import Transaction, classify, media_type, primary_transaction

BASE = "http://h:8042/dicom-web"


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/v2/studies", Transaction("STOW-RS", "Store Instances")),
        ("POST", "/v2/partitions/p1/studies/2.25.1", Transaction("STOW-RS", "Store Instances")),
        ("GET", "/v2/studies", Transaction("QIDO-RS", "Search for Studies")),
        ("GET", "/studies/2.25.1/series", Transaction("QIDO-RS", "Search for Series")),
        ("GET", "/studies/2.25.1/series/2.25.2/instances", Transaction("QIDO-RS", "Search for Instances")),
        ("GET", "/instances", Transaction("QIDO-RS", "Search for Instances")),
        ("GET", "/studies/2.25.1", Transaction("WADO-RS", "Retrieve Study")),
        ("GET", "/studies/2.25.1/series/2.25.2/instances/2.25.3", Transaction("WADO-RS", "Retrieve Instance")),
        ("GET", "/studies/2.25.1/metadata", Transaction("WADO-RS", "Retrieve Study Metadata")),
        ("GET", "/studies/1/series/2/instances/3/metadata", Transaction("WADO-RS", "Retrieve Instance Metadata")),
        ("GET", "/studies/1/series/2/instances/3/frames/1,2", Transaction("WADO-RS", "Retrieve Frames")),
        ("GET", "/studies/1/series/2/instances/3/rendered", Transaction("WADO-RS", "Retrieve Rendered")),
        ("DELETE", "/v2/studies/2.25.1/series/2.25.2", Transaction("Delete", "Delete Series")),
        ("POST", "/workitems", Transaction("UPS-RS", "Create Workitem")),
        ("GET", "/workitems", Transaction("UPS-RS", "Search for Workitems")),
        ("PUT", "/workitems/2.25.9/state", Transaction("UPS-RS", "Change Workitem State")),
        ("POST", "/workitems/2.25.9/cancelrequest", Transaction("UPS-RS", "Request Cancellation")),
        ("POST", "/workitems/1.2.840.10008.5.1.4.34.5/subscribers/AE", Transaction("UPS-RS", "Subscribe")),
        ("GET", "/v2/changefeed/latest", Transaction("Change feed", "Latest change")),
        ("POST", "/v2/studies/$bulkUpdate", Transaction("Bulk update", "Bulk update")),
        ("GET", "/v2/api.yaml", Transaction("API versions", "OpenAPI document")),
        ("GET", "/health/check", Transaction("General", "Health check")),
    ],
)
def test_classify(method: str, path: str, expected: Transaction) -> None:
    assert classify(method, BASE + path) == expected


def test_media_types_drop_the_boundary() -> None:
    assert media_type('multipart/related; type="application/dicom"; boundary=abc') == (
        'multipart/related; type="application/dicom"'
    )
    assert media_type("Application/DICOM+json") == "application/dicom+json"
    assert media_type(None) is None


def test_primary_transaction_prefers_the_group_service_then_the_last_non_store() -> None:
    store = {"service": "STOW-RS", "transaction": "Store Instances"}
    search = {"service": "QIDO-RS", "transaction": "Search for Studies"}
    meta = {"service": "WADO-RS", "transaction": "Retrieve Study Metadata"}
    assert primary_transaction("QIDO", [store, meta, search]) == Transaction("QIDO-RS", "Search for Studies")
    assert primary_transaction("GEN", [store, search, meta]) == Transaction("WADO-RS", "Retrieve Study Metadata")
    assert primary_transaction("GEN", [store]) == Transaction("STOW-RS", "Store Instances")
    assert primary_transaction("UPS", []) == Transaction("UPS-RS", "UPS-RS")
