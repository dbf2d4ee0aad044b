"""Waiting for a long-running operation (OP-01): bounded polling of ``operations/{id}``."""

from __future__ import annotations

import time
from typing import Any

from conformance.client.client import DicomwebClient
from conformance.client.responses import DicomwebResponse
from conformance.core.errors import ConformanceFailure

TERMINAL = {"succeeded", "completed", "failed", "canceled"}


def wait_for_operation(
    client: DicomwebClient, reference: str, *, timeout: float, interval: float = 0.5
) -> tuple[DicomwebResponse, dict[str, Any]]:
    """Poll until the operation is terminal (200) or ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get_operation(reference)
        if response.status not in (200, 202):
            raise ConformanceFailure(
                "the operation is readable",
                expected="status 200 or 202",
                received=f"status {response.status}",
                exchange=response.exchange,
            )
        body = response.json()
        if not isinstance(body, dict):
            raise response.malformed("the operation status is not a JSON object")
        status = str(body.get("status", "")).lower()
        if response.status == 200 or status in TERMINAL:
            return response, body
        if time.monotonic() >= deadline:
            raise ConformanceFailure(
                f"the operation did not finish within {timeout:g} s",
                expected="a terminal status",
                received=f"status {status!r}",
                exchange=response.exchange,
            )
        time.sleep(interval)
