"""Export: ``POST {v}{p}/export`` (EXP-01..05).

Behaviour catalogue section 11; DEXP (body, 202 answer, output layout, results), SW and SRC.
Request validation and the route run wherever the profile claims ``export``. A completed export
needs a destination the target can write to and the suite cannot provide (the service writes to
an Azure Blob Storage container); it runs only when the profile gives one (``[export]
destination``, e.g. ``{type = "azureblob", settings = {blobContainerUri = "..."}}``, or the
reference server's own ``{type = "localfolder", settings = {folder = "..."}}``), and is skipped
with that reason otherwise. The output itself lives in the destination, out of the suite's
reach: the layout is checked through what the operation reports (``errorHref`` is
``<operation id>/errors.log``, EXP-04).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import pytest

from conformance.checks import checking, expect, expect_header, expect_schema, expect_status, expect_text_error
from conformance.checks.operations import (
    expect_operation_body,
    expect_succeeded,
    operation_reference,
    succeeded_status,
    wait_for_operation,
)
from conformance.client.export import export_request
from conformance.client.responses import DicomwebResponse
from conformance.core.errors import ConformanceFailure, SuiteError
from conformance.core.schemas import schema_errors
from conformance.plugin import Dicomweb

pytestmark = pytest.mark.requires("export")

#: For requests the target must refuse anyway, when the profile names no destination (never written to).
PLACEHOLDER = {"type": "azureblob", "settings": {"blobContainerUri": "https://dicomweb-conformance.invalid/none"}}


def destination_of(dicomweb: Dicomweb) -> Mapping[str, Any]:
    """The profile's destination; without one, a completed export does not apply."""
    destination = dicomweb.profile.export_destination
    if destination is None:
        pytest.skip(
            "not applicable: a completed export needs a destination the target can write to; "
            "the profile gives none ([export] destination)"
        )
    return destination


def send(dicomweb: Dicomweb, body: Any) -> DicomwebResponse:
    return dicomweb.client.export_body(json.dumps(body).encode())


def valid_body(dicomweb: Dicomweb, identifiers: list[str]) -> dict[str, Any]:
    """A valid request (export-request schema) to the profile's destination, else a placeholder."""
    body = export_request(identifiers, dicomweb.profile.export_destination or PLACEHOLDER)
    errors = schema_errors(body, "export-request")
    if errors:
        raise SuiteError(f"the export request the suite built is invalid (check [export] destination): {errors}")
    return body


def results_of(response: DicomwebResponse, body: dict[str, Any]) -> dict[str, Any]:
    results = body.get("results")
    if not isinstance(results, dict):
        raise ConformanceFailure(
            "a finished export reports its results",
            expected="results {exported, skipped, errorHref}",
            received=repr(results),
            exchange=response.exchange,
        )
    checked: dict[str, Any] = expect_schema(response, "export-results", why="the export results (EXP-05)", body=results)
    return checked


@pytest.mark.behavior("EXP-01")
def test_the_export_route_exists(dicomweb: Dicomweb) -> None:
    """EXP-01 (DEXP, SRC): where export is enabled (the profile claims it), ``POST {v}{p}/export``
    exists: an empty request object is answered 400 (a validation answer), not 404 (the answer of
    a service with the feature disabled) or 405."""
    response = send(dicomweb, {})
    expect_status(response, 400, why="the export route answers an empty request with a validation error")


@pytest.mark.behavior("EXP-02")
@pytest.mark.parametrize(
    ("case", "change"),
    [
        ("no source", lambda body: body.pop("source")),
        ("no destination", lambda body: body.pop("destination")),
        ("no identifiers", lambda body: body["source"]["settings"].update(values=[])),
        ("an identifier that is no UID path", lambda body: body["source"]["settings"].update(values=["not-a-uid"])),
        ("the doc example's 'sources' (AMB-22)", lambda body: body.update(sources=body.pop("source"))),
    ],
)
def test_invalid_export_requests_are_refused(dicomweb: Dicomweb, case: str, change: Any) -> None:
    """EXP-02 (DEXP, SW, SRC): the body needs ``source`` (type ``identifiers``, non-empty
    ``settings.values`` of ``study``, ``study/series`` or ``study/series/instance``) and
    ``destination``; without either, with no identifier or an identifier that is not a UID path,
    the request is refused with 400 and a text message. The doc example's ``"sources"`` is not the
    schema's name (AMB-22, implemented rule: a request without ``source``). Sent with the profile's
    destination when it has one, so that only the broken part is wrong."""
    body = valid_body(dicomweb, [dicomweb.instances.new_uid()])
    change(body)
    response = send(dicomweb, body)
    expect_status(response, 400, why=f"an export request with {case} is refused")
    expect_text_error(response, why="the refusal says why (GEN-07)")


@pytest.mark.behavior("EXP-03", "EXP-04", "EXP-05")
def test_an_export_copies_the_identified_instances(dicomweb: Dicomweb) -> None:
    """EXP-03 (DEXP): an export answers 202 with ``{id, href}`` and ``Location`` equal to the href;
    the operation is of type ``export`` and succeeds (200 once finished). EXP-05 (DEXP): its
    results count the exported files exactly (a study of two instances and one instance of
    another study: 3) and skip an identifier that matches nothing (1, logged, not fatal). EXP-04
    (DEXP): the error log is ``<operation id>/errors.log`` in the destination (``errorHref``)."""
    destination_of(dicomweb)
    study = dicomweb.instances.study(series=1, instances_per_series=2)
    single = dicomweb.instances.instance()
    expect_status(dicomweb.client.store_instances([*study, single]), 200, why="the instances to export are stored")
    unknown = f"{dicomweb.instances.new_uid()}/{dicomweb.instances.new_uid()}"
    identifiers = [
        str(study[0].study_uid),
        f"{single.study_uid}/{single.series_uid}/{single.sop_instance_uid}",
        unknown,
    ]
    started = send(dicomweb, valid_body(dicomweb, identifiers))
    with checking("EXP-03"):
        operation_id, href = operation_reference(started, why="an export is started")
        location = expect_header(started, "location", why="the 202 answer points to the operation")
        expect(location == href, "Location is the href", response=started, expected=href, received=location)
        response, body = wait_for_operation(dicomweb.client, href, timeout=dicomweb.settings.poll_timeout)
        expect_operation_body(response, body, why="the export operation")
        expect(
            str(body.get("type", "")).lower() == "export",
            "the operation is an export",
            response=response,
            expected="type export",
            received=repr(body.get("type")),
        )
    with checking("EXP-05"):
        expect_succeeded(
            response,
            body,
            succeeded_status(dicomweb.profile, dicomweb.profile.api_version),
            why="an export with one unknown identifier",
        )
        results = results_of(response, body)
        counts = {"exported": results.get("exported"), "skipped": results.get("skipped")}
        expect(
            counts == {"exported": 3, "skipped": 1},
            "the results count the exported and skipped files exactly",
            response=response,
            expected="exported 3, skipped 1",
            received=f"exported {counts['exported']!r}, skipped {counts['skipped']!r}",
        )
    with checking("EXP-04"):
        error_path = urlsplit(str(results.get("errorHref"))).path
        expect(
            error_path.endswith(f"/{operation_id}/errors.log"),
            "the error log is <operation id>/errors.log in the destination",
            response=response,
            expected=f".../{operation_id}/errors.log",
            received=str(results.get("errorHref")),
        )
