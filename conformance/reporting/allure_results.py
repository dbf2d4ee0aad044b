"""Allure results for conformance tests (active with pytest's ``--alluredir``).

Each test is labelled epic = the service (STOW-RS, WADO-RS, QIDO-RS, ...), feature = the
transaction it exercises (Store Instances, Search for Studies, ...; see ``transactions``) and
one story per behaviour ID it carries, plus the requirement level as a tag. The request and
the response of the failing exchange (or the last one) are attached, and the whole exchange
log, all with secrets scrubbed and patient fields masked. Runs in the process that runs the
test (xdist workers included); the run-level files are written by ``outputs``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import allure
import pytest

from conformance.client.exchange import Exchange
from conformance.registry import Behavior
from conformance.reporting.masking import mask_patient_fields
from conformance.reporting.transactions import primary_transaction


def allure_active(config: pytest.Config) -> bool:
    return bool(getattr(config.option, "allure_report_dir", None))


def label_test(behaviors: Sequence[Behavior], summaries: Sequence[Mapping[str, Any]]) -> None:
    """Label the running test (call from ``pytest_runtest_makereport``)."""
    transaction = primary_transaction(behaviors[0].group, summaries)
    allure.dynamic.epic(transaction.service)  # type: ignore[no-untyped-call]
    allure.dynamic.feature(transaction.name)  # type: ignore[no-untyped-call]
    allure.dynamic.story(*(b.id for b in behaviors))  # type: ignore[no-untyped-call]
    allure.dynamic.tag(*sorted({b.level.value for b in behaviors}))  # type: ignore[no-untyped-call]


def request_text(exchange: Exchange) -> str:
    lines = [exchange.curl(), "", f"{exchange.request.method} {exchange.request.url}"]
    lines += [f"{k}: {v}" for k, v in exchange.request.headers]
    lines.append(f"(body: {exchange.request.body_size} bytes)")
    return "\n".join(lines)


def attach_exchanges(
    exchanges: Sequence[Exchange], evidence: Exchange | None, scrub: Callable[[str], str] = lambda s: s
) -> None:
    """Attach the evidence exchange's request and response, and the test's exchange log."""

    def clean(text: str) -> str:
        return mask_patient_fields(scrub(text))

    shown = evidence or (exchanges[-1] if exchanges else None)
    if shown is None:
        return
    allure.attach(clean(request_text(shown)), "request", allure.attachment_type.TEXT)
    allure.attach(clean(shown.describe_response()), "response", allure.attachment_type.TEXT)
    if len(exchanges) > 1:
        log = "\n\n".join(f"#{n} {x.curl()}\n{x.describe_response()}" for n, x in enumerate(exchanges, 1))
        allure.attach(clean(log), "exchanges", allure.attachment_type.TEXT)
