"""Authentication: every route refuses missing or wrong credentials (GEN-08).

Run only against a target whose profile claims ``authentication`` (and with credentials
configured: ``--dicomweb-auth basic|bearer``). Every DICOMweb route the profile claims (store,
the six searches, retrieve and metadata at each level, frames, rendered, delete, the six
workitem transactions, change feed, extended query tags, partitions) is asked without
credentials and with wrong ones (a wrong password or token in the configured scheme, the other
scheme): each answer is 401 with a ``WWW-Authenticate`` challenge (RFC 9110 11.6.1, 15.5.2: a
401 must carry one). A malformed ``Authorization`` header may also be answered 400 (RFC 6750
3.1 ``invalid_request``). None of the refused requests stores, changes or deletes anything.
The health check and the OpenAPI documents are not DICOMweb transactions and are not asked.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from conformance.checks import expect, expect_header, expect_not_stored, expect_status
from conformance.client.client import DicomwebClient, make_http_client
from conformance.client.responses import DicomwebResponse
from conformance.core.instances import DicomFile
from conformance.core.media_types import DICOM, DICOM_JSON
from conformance.core.multipart import encode_multipart_related, new_boundary
from conformance.core.uids import new_uid
from conformance.plugin import Dicomweb
from conformance.profile import Capability
from conformance.settings import AuthKind
from conformance.suites._bad_input import expect_intact, store_before
from conformance.testdata.workitems import new_workitem

MULTIPART_DICOM = 'multipart/related; type="application/dicom"; transfer-syntax=*'
MULTIPART_OCTETS = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'


@dataclass(frozen=True)
class Route:
    label: str
    method: str
    url: str  # relative to the base URL, or absolute
    accept: str | None = DICOM_JSON
    content_type: str | None = None
    body: bytes | None = None


def _stow(study: str | None, file: DicomFile) -> Route:
    boundary = new_boundary()
    body = encode_multipart_related([([("Content-Type", DICOM)], file.data)], boundary=boundary)
    content_type = f'multipart/related; type="{DICOM}"; boundary={boundary}'
    if study is None:
        return Route("store", "POST", "studies", DICOM_JSON, content_type, body)
    return Route("store to a study", "POST", f"studies/{study}", DICOM_JSON, content_type, body)


def routes(dicomweb: Dicomweb, stored: DicomFile, fresh: DicomFile, workitem: str | None) -> list[Route]:
    """Every route of the claimed transactions, naming data that exists (deletes last)."""
    profile = dicomweb.profile
    root = dicomweb.client.version_root
    st, se, sop = stored.study_uid, stored.series_uid, stored.sop_instance_uid
    instance = f"studies/{st}/series/{se}/instances/{sop}"
    found = [
        _stow(None, fresh),
        _stow(str(fresh.study_uid), fresh),
        Route("search for studies", "GET", "studies"),
        Route("search for series", "GET", "series"),
        Route("search for instances", "GET", "instances"),
        Route("search for a study's series", "GET", f"studies/{st}/series"),
        Route("search for a study's instances", "GET", f"studies/{st}/instances"),
        Route("search for a series' instances", "GET", f"studies/{st}/series/{se}/instances"),
        Route("retrieve a study", "GET", f"studies/{st}", MULTIPART_DICOM),
        Route("retrieve a series", "GET", f"studies/{st}/series/{se}", MULTIPART_DICOM),
        Route("retrieve an instance", "GET", instance, MULTIPART_DICOM),
        Route("study metadata", "GET", f"studies/{st}/metadata"),
        Route("series metadata", "GET", f"studies/{st}/series/{se}/metadata"),
        Route("instance metadata", "GET", f"{instance}/metadata"),
        Route("retrieve frames", "GET", f"{instance}/frames/1", MULTIPART_OCTETS),
    ]
    if profile.claims(Capability.RENDERED):
        found += [
            Route("rendered instance", "GET", f"{instance}/rendered", "image/jpeg"),
            Route("rendered frame", "GET", f"{instance}/frames/1/rendered", "image/jpeg"),
        ]
    if workitem is not None:
        body = b"[{}]"
        found += [
            Route("create a workitem", "POST", f"workitems?{new_uid()}", DICOM_JSON, DICOM_JSON, body),
            Route("search for workitems", "GET", "workitems"),
            Route("retrieve a workitem", "GET", f"workitems/{workitem}"),
            Route("update a workitem", "POST", f"workitems/{workitem}", DICOM_JSON, DICOM_JSON, body),
            Route("change a workitem's state", "PUT", f"workitems/{workitem}/state", DICOM_JSON, DICOM_JSON, body),
            Route("request cancellation", "POST", f"workitems/{workitem}/cancelrequest", DICOM_JSON, DICOM_JSON, body),
        ]
    if profile.claims(Capability.CHANGE_FEED):
        found.append(Route("change feed", "GET", f"{root}/changefeed", "application/json"))
    if profile.claims(Capability.EXTENDED_QUERY_TAGS):
        found.append(Route("extended query tags", "GET", f"{root}/extendedquerytags", "application/json"))
    if profile.claims(Capability.PARTITIONS):
        found.append(Route("partitions", "GET", f"{root}/partitions", "application/json"))
    if profile.claims(Capability.DELETE):
        found += [
            Route("delete an instance", "DELETE", instance, None),
            Route("delete a series", "DELETE", f"studies/{st}/series/{se}", None),
            Route("delete a study", "DELETE", f"studies/{st}", None),
        ]
    return found


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def wrong_credentials(dicomweb: Dicomweb) -> list[tuple[str, str]]:
    """(what, Authorization value): credentials the target must refuse with 401."""
    credentials = dicomweb.settings.credentials
    guess = secrets.token_urlsafe(24)
    wrong = [("a wrong bearer token", f"Bearer {guess}")]
    if credentials.kind is AuthKind.BASIC:
        wrong += [
            ("a wrong password", _basic(str(credentials.user), guess)),
            ("an unknown user", _basic(f"dwc-{guess[:8]}", guess)),
        ]
    else:
        wrong.append(("basic credentials where a token is expected", _basic("dwc-user", guess)))
    return wrong


MALFORMED = [("Basic credentials that are not base64", "Basic !!!not-base64!!!"), ("a scheme alone", "Bearer")]


@contextmanager
def client_with(dicomweb: Dicomweb, authorization: str | None) -> Iterator[DicomwebClient]:
    """A client of the same target sending ``authorization`` (None: no Authorization header)."""
    http = make_http_client(timeout=dicomweb.settings.timeout, authorization=authorization)
    try:
        yield DicomwebClient(http, dicomweb.client.base_url, log=dicomweb.client.log, on_store=dicomweb.ledger.record)
    finally:
        http.close()


def _ask(client: DicomwebClient, route: Route) -> DicomwebResponse:
    headers = {k: v for k, v in (("Accept", route.accept), ("Content-Type", route.content_type)) if v is not None}
    return client.request(route.method, route.url, headers=headers, content=route.body)


@pytest.mark.behavior("GEN-08")
@pytest.mark.requires("authentication")
def test_every_route_refuses_missing_and_wrong_credentials(dicomweb: Dicomweb) -> None:
    """GEN-08 (D1, D2): every route of every claimed transaction answers 401 with a
    ``WWW-Authenticate`` challenge to a request without credentials and to one with wrong
    credentials, 401 or 400 to a malformed ``Authorization`` header; afterwards nothing the
    refused requests named was stored, changed or deleted."""
    before = store_before(dicomweb)
    fresh = dicomweb.instances.instance()
    workitem = None
    created = None
    if dicomweb.profile.claims(Capability.WORKITEMS):
        item = new_workitem("authentication")
        expect_status(dicomweb.client.create_workitem(item.dataset, item.uid), 201, why="a workitem is created first")
        workitem = item.uid
        created = dicomweb.client.retrieve_workitem(workitem)
    asked: list[tuple[str | None, str, tuple[int, ...]]] = [(None, "no credentials", (401,))]
    asked += [(value, what, (401,)) for what, value in wrong_credentials(dicomweb)]
    asked += [(value, what, (400, 401)) for what, value in MALFORMED]
    for authorization, what, allowed in asked:
        with client_with(dicomweb, authorization) as client:
            for route in routes(dicomweb, before[0], fresh, workitem):
                response = _ask(client, route)
                expect_status(response, *allowed, why=f"{route.label} ({route.method}) with {what}")
                if response.status == 401:
                    expect_header(
                        response,
                        "WWW-Authenticate",
                        why=f"a 401 to {route.label} carries a challenge (RFC 9110 15.5.2)",
                    )
    expect_not_stored(dicomweb.client, fresh, why="a store without valid credentials stores nothing")
    expect_intact(dicomweb.client, before)
    if workitem is not None and created is not None:
        after = dicomweb.client.retrieve_workitem(workitem)
        expect(
            after.status == 200 and after.json() == created.json(),
            "requests without valid credentials leave a workitem unchanged",
            response=after,
            expected="the workitem as created",
            received=f"status {after.status}, other attributes" if after.status == 200 else f"status {after.status}",
        )
