"""Checks: small functions that compare an answer with a documented requirement.

Each check either returns (often the parsed value it verified) or raises a
``ConformanceFailure`` carrying the exchange as evidence and an Expected / Received pair.
Checks do not know which behaviour ID a test is about; the plugin adds it.
"""

from conformance.checks.attribution import checking
from conformance.checks.http import (
    expect,
    expect_empty_body,
    expect_header,
    expect_header_absent,
    expect_media_type,
    expect_schema,
    expect_status,
    expect_text_error,
    parse_warning_header,
)
from conformance.checks.store import (
    StoreExpectation,
    expect_failed,
    expect_not_listed,
    expect_referenced,
    store_result,
)
from conformance.checks.stored import expect_not_stored, expect_stored, stored_bytes_match

__all__ = [
    "StoreExpectation",
    "checking",
    "expect",
    "expect_empty_body",
    "expect_failed",
    "expect_header",
    "expect_header_absent",
    "expect_media_type",
    "expect_not_listed",
    "expect_not_stored",
    "expect_referenced",
    "expect_schema",
    "expect_status",
    "expect_stored",
    "expect_text_error",
    "parse_warning_header",
    "store_result",
    "stored_bytes_match",
]
