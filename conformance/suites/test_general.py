"""Cross-cutting behaviours: API versions, UIDs, attribute names, Accept negotiation, error
bodies, authentication, health, size limits.

Behaviour catalogue section 1 (GEN-01..13); DVER, DHC, D1/D2.
"""

from __future__ import annotations

import json
import os
import re

import pytest

from conformance.checks import (
    expect,
    expect_empty_body,
    expect_header,
    expect_media_type,
    expect_schema,
    expect_status,
    expect_stored,
    expect_text_error,
    store_result,
)
from conformance.client.client import DicomwebClient, make_http_client
from conformance.core.instances import DicomFile
from conformance.core.media_types import DICOM_JSON
from conformance.core.uids import new_uid, uid_of_length
from conformance.plugin import Dicomweb
from conformance.suites._support import require_azure_compatible

UNACCEPTABLE = ["application/dicom", "application/data", "application/dicom+json+something"]
ACCEPTABLE = [
    "application/dicom+json",
    "*/*",
    "application/*",
    "APPLICATION/DICOM+JSON",
    "application/dicom+json; charset=utf-8",
    "text/html, application/dicom+json;q=0.5",
]


def _stored(dicomweb: Dicomweb) -> DicomFile:
    file = dicomweb.instances.instance()
    expect_status(dicomweb.client.store_instances([file]), 200, why="a valid instance is stored")
    return file


def _normalised_versions(header: str) -> set[str]:
    return {item.strip().lower().removeprefix("v").removesuffix(".0") for item in header.split(",") if item.strip()}


@pytest.mark.behavior("GEN-01", "VER-01")
@pytest.mark.requires("api_versioning")
def test_routes_without_version_are_not_served(dicomweb: Dicomweb) -> None:
    """GEN-01 (DVER): routes without a version segment are no longer supported; the documents
    give no status, so any 400 or 404 is accepted, never a success. An unknown version
    (``/v999``) is not served either."""
    root = dicomweb.client.service_root
    for path in ("studies", "v999/studies"):
        response = dicomweb.client.request("GET", f"{root}/{path}", headers={"Accept": DICOM_JSON})
        expect_status(response, 400, 404, why=f"/{path} lacks a supported version segment")


@pytest.mark.behavior("GEN-01", "VER-01")
@pytest.mark.requires("api_versioning")
def test_each_claimed_version_serves_the_api(dicomweb: Dicomweb) -> None:
    """GEN-01 (DVER, SRC): every version the target claims answers a search (in the run's data
    partition, when there is one)."""
    empty = dicomweb.profile.empty_search_status
    for version in dicomweb.profile.versions_served:
        response = dicomweb.client.in_version(version).request(
            "GET", "studies", headers={"Accept": DICOM_JSON}, params=[("limit", "1")]
        )
        expect_status(response, 200, empty, why=f"API {version} is served")


@pytest.mark.behavior("GEN-02")
@pytest.mark.requires("api_versioning")
def test_supported_versions_header(dicomweb: Dicomweb) -> None:
    """GEN-02 (DVER): versioned endpoints report ``api-supported-versions``, listing the
    version in use."""
    response = dicomweb.client.search_for_studies([("limit", "1")])
    value = expect_header(response, "api-supported-versions", why="a versioned endpoint reports its versions")
    version = dicomweb.profile.api_version.removeprefix("v").removesuffix(".0")
    expect(
        version in _normalised_versions(value),
        "the version in use is listed",
        response=response,
        expected=f"{dicomweb.profile.api_version} among the versions",
        received=value,
    )


@pytest.mark.behavior("GEN-03")
@pytest.mark.requires("openapi")
def test_openapi_document_per_version(dicomweb: Dicomweb) -> None:
    """GEN-03 (DVER): ``/{version}/api.yaml`` is the OpenAPI document of that version."""
    for version in dicomweb.profile.versions_served:
        response = dicomweb.client.api_document(version)
        expect_status(response, 200, why=f"the OpenAPI document of {version} is served")
        text = response.text()
        expect(
            re.search(r"^(openapi|swagger)\s*:", text, re.MULTILINE) is not None,
            "the document is an OpenAPI (or Swagger) YAML document",
            response=response,
            expected="a top-level openapi: or swagger: key",
            received=text[:80],
        )
        expect(
            "/studies" in text,
            "the document describes the studies routes",
            response=response,
            expected="/studies among the paths",
            received="no /studies",
        )


@pytest.mark.behavior("GEN-04", "WADO-11")
@pytest.mark.parametrize("bad", [uid_of_length(65), "1.2.3_4", "1.2.abc"], ids=["65-chars", "underscore", "letters"])
def test_invalid_uid_in_path_is_400(dicomweb: Dicomweb, bad: str) -> None:
    """GEN-04 (D1, D2, SRC): an invalid study, series or instance UID in a path gives 400 (with
    a text message, GEN-07). Letters are invalid only under the implemented rule (AMB-02)."""
    if bad == "1.2.abc" and dicomweb.profile.follows("AMB-02").value != "implemented":
        pytest.skip("not claimed: letters in UIDs are allowed by the documents (AMB-02)")
    good = new_uid()
    client = dicomweb.client
    # PS3.18 names no status for a malformed UID; a target without the service's conventions
    # may answer 404 (no such resource) instead of 400.
    allowed = (400,) if dicomweb.profile.azure_compatible else (400, 404)
    for label, response in (
        ("study", client.retrieve_study_metadata(bad)),
        ("series", client.retrieve_series_metadata(good, bad)),
        ("instance", client.retrieve_instance_metadata(good, good, bad)),
    ):
        expect_status(response, *allowed, why=f"{bad!r} is not a valid {label} UID")
        if dicomweb.profile.azure_compatible:
            expect_text_error(response, why="the 400 answer explains the invalid identifier")


@pytest.mark.behavior("GEN-04")
def test_64_character_uids_are_accepted(dicomweb: Dicomweb) -> None:
    """GEN-04 (D1, D2): a UID of exactly 64 characters is valid, in the dataset and the path."""
    study = uid_of_length(64)
    file = dicomweb.instances.instance(study_uid=study, sop_instance_uid=uid_of_length(64))
    response = dicomweb.client.store_instances([file], study_uid=study)
    expect_status(response, 200, why="64-character UIDs are within the limit")
    expect_stored(dicomweb.client, file, why="the instance with 64-character UIDs is retrievable")


@pytest.mark.behavior("GEN-04", "WADO-12")
def test_trailing_space_in_path_uid_is_tolerated(dicomweb: Dicomweb) -> None:
    """GEN-04 (SRC, E2E): trailing spaces after a path UID are ignored (``uid%20`` works)."""
    require_azure_compatible(dicomweb.profile, "trailing spaces in path UIDs")
    file = _stored(dicomweb)
    assert file.study_uid is not None
    response = dicomweb.client.retrieve_study_metadata(file.study_uid + " ")
    expect_status(response, 200, why="a study UID followed by a space names the same study")


@pytest.mark.behavior("GEN-05", "QIDO-01")
def test_attribute_as_keyword_or_hex_tag(dicomweb: Dicomweb) -> None:
    """GEN-05 (D1, D2): a query attribute may be a keyword or 8 hex digits; keywords are
    case-sensitive, so a wrongly cased one is unknown: 400 (SRC message text)."""
    file = _stored(dicomweb)
    uid = str(file.study_uid)
    for name in ("StudyInstanceUID", "0020000D", "0020000d"):
        if name == "0020000d" and not dicomweb.profile.azure_compatible:
            continue
        response = dicomweb.client.search_for_studies([(name, uid)])
        expect_status(response, 200, why=f"{name}={uid} finds the stored study")
        found = [str(ds.get("StudyInstanceUID", "")) for ds in response.datasets]
        expect(
            found == [uid],
            f"{name} matches exactly the stored study",
            response=response,
            expected=f"[{uid}]",
            received=repr(found),
        )
    if dicomweb.profile.azure_compatible:
        # PS3.18 8.3.4 has unknown parameters ignored; the 400 is the service's own rule (SRC).
        response = dicomweb.client.search_for_studies([("studyinstanceuid", uid)])
        expect_status(response, 400, why="keywords are case-sensitive: studyinstanceuid is not an attribute")


def _json_endpoints(client: DicomwebClient, file: DicomFile) -> list[tuple[str, object]]:
    assert file.study_uid
    assert file.series_uid
    assert file.sop_instance_uid
    study, series, sop = file.study_uid, file.series_uid, file.sop_instance_uid
    return [
        ("search for studies", lambda accept: client.search_for_studies([("StudyInstanceUID", study)], accept=accept)),
        ("search for instances", lambda accept: client.search_for_instances(study=study, accept=accept)),
        ("study metadata", lambda accept: client.retrieve_study_metadata(study, accept=accept)),
        ("instance metadata", lambda accept: client.retrieve_instance_metadata(study, series, sop, accept=accept)),
    ]


@pytest.mark.behavior("GEN-06", "WADO-17", "QIDO-22")
@pytest.mark.parametrize("accept", UNACCEPTABLE + [None])
def test_dicom_json_endpoints_refuse_other_accept(dicomweb: Dicomweb, accept: str | None) -> None:
    """GEN-06 (SRC, E2E): DICOM JSON endpoints need an Accept that matches
    application/dicom+json; otherwise, or without Accept (AMB-25), 406 with an empty body."""
    if accept is None and dicomweb.profile.follows("AMB-25").value == "documented":
        pytest.skip("not claimed: the documents do not say what a missing Accept gives (AMB-25)")
    if accept is not None:
        # PS3.18 8.7.5 lets a server fall back to its default media type; the 406 is the service's.
        require_azure_compatible(dicomweb.profile, f"406 for Accept {accept}")
    file = _stored(dicomweb)
    for label, call in _json_endpoints(dicomweb.client, file):
        response = call(accept)  # type: ignore[operator]
        expect_status(response, 406, why=f"{label} cannot answer Accept {accept or '(none)'}")
        expect_empty_body(response, why="a 406 answer has an empty body")


@pytest.mark.behavior("GEN-06")
@pytest.mark.parametrize("accept", ACCEPTABLE)
def test_dicom_json_endpoints_accept_matching_ranges(dicomweb: Dicomweb, accept: str) -> None:
    """GEN-06 (SRC): the exact type, ``*/*``, ``application/*``, any case, with parameters, or
    in a list all match application/dicom+json."""
    file = _stored(dicomweb)
    for label, call in _json_endpoints(dicomweb.client, file):
        response = call(accept)  # type: ignore[operator]
        expect_status(response, 200, why=f"{label} accepts Accept {accept}")
        expect_media_type(response, DICOM_JSON, why="the answer is application/dicom+json")
        expect_schema(response, "dicom-json-array", why="the answer is an array of DICOM JSON datasets")


@pytest.mark.behavior("GEN-07")
def test_error_bodies(dicomweb: Dicomweb) -> None:
    """GEN-07 (SRC, E2E): failures other than STOW carry a plain-text message; a STOW failure
    carries a DICOM JSON dataset."""
    response = dicomweb.client.search_for_studies([("limit", "0")])
    expect_status(response, 400, why="limit=0 is outside 1..200")
    expect_text_error(response, why="the 400 answer of a search is a text message")
    response = dicomweb.client.retrieve_study_metadata("1.2.3_4")
    expect_status(response, 400, why="1.2.3_4 is not a UID")
    expect_text_error(response, why="the 400 answer of a retrieval is a text message")
    other = dicomweb.instances.instance()
    stow = dicomweb.client.store_instances([other], study_uid=new_uid())
    expect_status(stow, 409, why="the instance belongs to another study")
    expect_media_type(stow, DICOM_JSON, why="a STOW failure is answered in DICOM JSON")
    store_result(stow)


def _anonymous_client(dicomweb: Dicomweb) -> DicomwebClient:
    http = make_http_client(timeout=dicomweb.settings.timeout, authorization=None)
    return DicomwebClient(http, dicomweb.client.base_url, log=dicomweb.client.log)


@pytest.mark.behavior("GEN-08")
@pytest.mark.requires("authentication")
def test_requests_without_credentials_are_401(dicomweb: Dicomweb) -> None:
    """GEN-08 (D1, D2): an unauthenticated client gets 401 on every transaction."""
    anonymous = _anonymous_client(dicomweb)
    file = dicomweb.instances.instance()
    uid = str(file.study_uid)
    try:
        for label, response in (
            ("store", anonymous.store_instances([file])),
            ("search", anonymous.search_for_studies([("limit", "1")])),
            ("retrieve", anonymous.retrieve_study(uid)),
            ("metadata", anonymous.retrieve_study_metadata(uid)),
            ("delete", anonymous.delete_study(uid)),
        ):
            expect_status(response, 401, why=f"{label} without credentials is not authenticated")
    finally:
        anonymous.http.close()


@pytest.mark.behavior("GEN-08")
@pytest.mark.requires("authentication", "read_only_credentials")
def test_read_only_credentials_cannot_store(dicomweb: Dicomweb) -> None:
    """GEN-08 (E2E): a token whose role lacks the write data action gets 403 on STOW. The token
    comes from ``DICOMWEB_READONLY_TOKEN``."""
    token = os.environ.get("DICOMWEB_READONLY_TOKEN")
    if not token:
        pytest.skip("not configured: DICOMWEB_READONLY_TOKEN is not set")
    http = make_http_client(timeout=dicomweb.settings.timeout, authorization=f"Bearer {token}")
    reader = DicomwebClient(http, dicomweb.client.base_url, log=dicomweb.client.log, on_store=dicomweb.ledger.record)
    try:
        response = reader.store_instances([dicomweb.instances.instance()])
        expect_status(response, 403, why="a read-only role may not store")
    finally:
        http.close()


@pytest.mark.behavior("GEN-11")
@pytest.mark.requires("change_feed")
def test_json_payloads_use_camel_case(dicomweb: Dicomweb) -> None:
    """GEN-11 (SRC, SW): non-DICOM JSON payloads use camelCase names and omit nulls (checked on
    the change feed; ``metadata`` holds DICOM JSON and is not inspected)."""
    _stored(dicomweb)
    response = dicomweb.client.change_feed([("limit", "5"), ("includeMetadata", "false")])  # never partitioned
    expect_status(response, 200, why="the change feed is readable")
    entries = response.json()
    expect(
        isinstance(entries, list) and bool(entries),
        "the change feed lists entries",
        response=response,
        expected="a non-empty JSON array",
        received=json.dumps(entries)[:120],
    )
    problems = []
    for entry in entries:
        for key, value in entry.items():
            if not re.fullmatch(r"[a-z][A-Za-z0-9]*", key):
                problems.append(f"property {key!r} is not camelCase")
            if value is None:
                problems.append(f"property {key!r} is null")
    expect(
        not problems,
        "property names are camelCase and nulls are omitted",
        response=response,
        expected="camelCase names, no null values",
        received="; ".join(sorted(set(problems))[:5]),
    )


@pytest.mark.behavior("GEN-12")
@pytest.mark.requires("health_check")
def test_health_check(dicomweb: Dicomweb) -> None:
    """GEN-12 (DHC): ``GET /health/check`` answers 200 with ``{overallStatus, details[]}`` and
    ``Healthy`` when every dependency is healthy (the suite can reach the service, so it is)."""
    response = dicomweb.client.health_check()
    expect_status(response, 200, why="a running service reports itself healthy")
    expect_media_type(response, "application/json", why="the health answer is JSON")
    body = expect_schema(response, "health", why="the health answer has overallStatus and details")
    expect(
        body["overallStatus"] == "Healthy",
        "the overall status is Healthy",
        response=response,
        expected="overallStatus Healthy",
        received=str(body["overallStatus"]),
    )


@pytest.mark.behavior("GEN-13", "WADO-10")
@pytest.mark.requires("large_instances")
def test_transcoding_a_file_over_the_limit_is_406(dicomweb: Dicomweb) -> None:
    """GEN-13 (SRC) / WADO-10 (D1, D2): transcoding a file larger than the service limit
    (100 MiB) is refused with 406; the same file with ``transfer-syntax=*`` is returned.

    The file is stored in Implicit VR Little Endian so that Explicit VR Little Endian needs
    transcoding. The 2 GiB part limit (413) is not exercised: it needs a 2 GiB upload."""
    limit = dicomweb.profile.limits.transcode_max_bytes
    side = 1024
    frames = limit // (side * side) + 1
    file = dicomweb.instances.multiframe(frames=frames, rows=side, columns=side, transfer_syntax="1.2.840.10008.1.2")
    expect(file.size > limit, "the test file exceeds the limit", expected=f"> {limit} bytes", received=f"{file.size}")
    response = dicomweb.client.store_instances([file])
    expect_status(response, 200, 202, why="a file over the transcoding limit can still be stored")
    assert file.study_uid
    assert file.series_uid
    assert file.sop_instance_uid
    accept = 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1'
    refused = dicomweb.client.retrieve_instance(file.study_uid, file.series_uid, file.sop_instance_uid, accept=accept)
    expect_status(refused, 406, why=f"transcoding a file over {limit} bytes is refused")
    original = dicomweb.client.retrieve_instance(file.study_uid, file.series_uid, file.sop_instance_uid)
    expect_status(original, 200, why="the same file is returned as stored with transfer-syntax=*")


@pytest.mark.behavior("GEN-04")
def test_leading_zeros_in_uid_components_are_accepted(dicomweb: Dicomweb) -> None:
    """GEN-04 (SRC; AMB-02): the service accepts leading zeros in UID components (its regex is
    ``^[0-9.]*[0-9]$``) although its 400 message says components start with a non-zero digit.
    PS3.5 9.1 forbids them, so only Azure-compatible targets are held to this."""
    require_azure_compatible(dicomweb.profile, "leading zeros in UID components")
    study = "2.25.0" + new_uid().removeprefix("2.25.")[:30]
    # Written as raw bytes: pydicom rightly warns about a UID that breaks PS3.5 9.1.
    file = dicomweb.instances.with_raw_value("StudyInstanceUID", study)
    response = dicomweb.client.store_instances([file], study_uid=study)
    expect_status(response, 200, why=f"{study} matches the implemented UID rule")
    expect_stored(dicomweb.client, file, why="the instance is retrievable under that study UID")


@pytest.mark.behavior("GEN-13", "STOW-03")
@pytest.mark.requires("large_instances")
def test_part_over_the_size_limit_is_413(dicomweb: Dicomweb) -> None:
    """GEN-13 (SRC) / STOW-03 / AMB-23: a part larger than the target's per-part limit is refused
    with 413. Run only when the profile's ``part_max_bytes`` is small enough to upload (at most
    256 MiB; the Azure default of 2 GiB is not)."""
    limit = dicomweb.profile.limits.part_max_bytes
    if limit > 256 * 1024 * 1024:
        pytest.skip(
            f"not supported: profile {dicomweb.profile.name!r} documents a part limit of {limit} bytes, "
            "more than the suite uploads"
        )
    if dicomweb.profile.follows("AMB-23").value == "documented":
        pytest.skip("not claimed: the documents give no status for an over-large part (AMB-23)")
    oversized = dicomweb.instances.non_dicom(size=limit + 1)
    response = dicomweb.client.store_instances([oversized])
    expect_status(response, 413, why=f"a part of {limit + 1} bytes exceeds the limit of {limit} bytes")
