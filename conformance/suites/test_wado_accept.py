"""Accept negotiation on WADO-RS retrieval (PS3.18 8.7.5, 8.3.3; interop pitfalls 2, 5, 6, 10).

What clients really send: the ``type`` parameter unquoted, several media ranges in one header,
q-values, no Accept at all. The module stores one single-instance study and only reads it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.checks import expect, expect_status
from conformance.checks.attribution import checking
from conformance.checks.retrieve import expect_instances_as_stored, expect_multipart, expect_parts
from conformance.client.responses import RetrieveResponse
from conformance.core.media_types import DICOM
from conformance.plugin import Dicomweb
from conformance.session import TargetSession
from conformance.suites._support import require_azure_compatible
from conformance.suites._wado_qido_support import (
    EXPLICIT_VR_LITTLE_ENDIAN,
    MPEG2,
    MULTIPART_DICOM,
    MULTIPART_DICOM_ANY,
    MULTIPART_OCTETS_ANY,
    SharedData,
    shared_data,
    uids,
)
from conformance.testdata import InstanceFactory

# A media type no DICOMweb server produces; neither a DICOM nor a rendered type (PS3.18 8.7.3).
UNKNOWN_TYPE = "application/x-dicomweb-conformance-unknown"


@pytest.fixture(scope="module")
def instance(dicomweb_session: TargetSession) -> Iterator[SharedData]:
    file = InstanceFactory().multiframe(frames=2)
    yield from shared_data(dicomweb_session, [[file]], file=file)


def _retrieve(dicomweb: Dicomweb, data: SharedData, level: str, accept: str | None) -> RetrieveResponse:
    s, se, sop = uids(data["file"])
    client = dicomweb.client
    if level == "study":
        return client.retrieve_study(s, accept=accept)
    if level == "series":
        return client.retrieve_series(s, se, accept=accept)
    return client.retrieve_instance(s, se, sop, accept=accept)


def _expect_multipart_instance(dicomweb: Dicomweb, response: RetrieveResponse, data: SharedData, why: str) -> None:
    expect_status(response, 200, why=why)
    message = expect_multipart(response, why="the answer is multipart/related")
    # The part's transfer-syntax parameter is the Azure service's (WADO-04); PS3.18 leaves it optional.
    label = EXPLICIT_VR_LITTLE_ENDIAN if dicomweb.profile.azure_compatible else None
    expect_parts(response, message, DICOM, [label], why="one Explicit VR Little Endian part")
    expect_instances_as_stored(response, [message.parts[0].body], [data["file"]], why="the instance as stored")


@pytest.mark.behavior("WADO-01", "WADO-06")
@pytest.mark.parametrize("level", ["study", "series", "instance"])
def test_unquoted_type_parameter(dicomweb: Dicomweb, instance: SharedData, level: str) -> None:
    """WADO-01 / WADO-06, interop pitfall 5: RFC 2387 wants ``type="application/dicom"`` quoted, but
    clients (OHIF, dcmjs) send it unquoted. A target may refuse that form (406), but must never
    fail on it (400, 5xx) or answer with anything but the instance."""
    with checking("WADO-06" if level == "instance" else "WADO-01"):
        response = _retrieve(dicomweb, instance, level, "multipart/related; type=application/dicom; transfer-syntax=*")
        expect_status(response, 200, 406, why="an unquoted type is accepted or refused with 406")
        if response.status == 200:
            _expect_multipart_instance(dicomweb, response, instance, "the unquoted form is understood")


@pytest.mark.behavior("WADO-01", "WADO-06")
@pytest.mark.parametrize("level", ["study", "series", "instance"])
def test_first_acceptable_range_of_a_list_is_served(dicomweb: Dicomweb, instance: SharedData, level: str) -> None:
    """WADO-01 / WADO-06, PS3.18 8.7.5, interop pitfall 6: unsupported media ranges in a list
    are ignored; the answer uses the acceptable one (not 400 or 406 for the whole list). The
    unsupported range is not a rendered media type: PS3.18 Table 10.4.3-1 lets a server answer
    400 to a list mixing DICOM and rendered types."""
    accept = f"{UNKNOWN_TYPE}, {MULTIPART_DICOM}; transfer-syntax={MPEG2}, {MULTIPART_DICOM_ANY}"
    with checking("WADO-06" if level == "instance" else "WADO-01"):
        response = _retrieve(dicomweb, instance, level, accept)
        _expect_multipart_instance(dicomweb, response, instance, f"Accept {accept} has one acceptable range")


@pytest.mark.behavior("WADO-06")
def test_highest_quality_wins(dicomweb: Dicomweb, instance: SharedData) -> None:
    """WADO-06, PS3.18 8.7.5 (RFC 9110 12.5.1): of two acceptable ranges, the one with the higher
    q-value is served, whatever the order: multipart (q=1) over single part (q=0.5)."""
    accept = f"{DICOM}; transfer-syntax=*; q=0.5, {MULTIPART_DICOM_ANY}"
    response = _retrieve(dicomweb, instance, "instance", accept)
    _expect_multipart_instance(dicomweb, response, instance, f"Accept {accept} prefers multipart")


@pytest.mark.behavior("WADO-06", "WADO-07")
def test_highest_quality_single_part(dicomweb: Dicomweb, instance: SharedData) -> None:
    """WADO-06 / WADO-07: single part (q=0.9) wins over multipart (q=0.2) for an instance. The
    single-part form is the Azure service's extension."""
    require_azure_compatible(dicomweb.profile, "single-part instance retrieval")
    accept = f"{MULTIPART_DICOM_ANY}; q=0.2, {DICOM}; transfer-syntax=*; q=0.9"
    response = _retrieve(dicomweb, instance, "instance", accept)
    expect_status(response, 200, why=f"Accept {accept} is acceptable")
    media = response.media_type()
    expect(
        media is not None and media.essence == DICOM,
        "the range with the higher q-value is served",
        response=response,
        expected=f"Content-Type {DICOM}",
        received=f"Content-Type: {response.header('content-type')}",
    )
    expect_instances_as_stored(response, [response.content], [instance["file"]], why="the body is the instance")


@pytest.mark.behavior("WADO-27")
@pytest.mark.parametrize("level", ["study", "series", "instance", "frames"])
def test_no_accept_header_is_406(dicomweb: Dicomweb, instance: SharedData, level: str) -> None:
    """WADO-27 / AMB-25 (SRC), PS3.18 8.3.3.1: a retrieval without Accept is answered 406 under the
    implemented rule; the documents do not say what a missing Accept gives."""
    if dicomweb.profile.follows("AMB-25").value != "implemented":
        pytest.skip("not claimed: the documents do not say what a missing Accept gives (AMB-25)")
    if level == "frames":
        response = dicomweb.client.retrieve_frames(*uids(instance["file"]), [1], accept=None)
    else:
        response = _retrieve(dicomweb, instance, level, None)
    expect_status(response, 406, why=f"{level} retrieval without an Accept header")


@pytest.mark.behavior("WADO-27")
@pytest.mark.parametrize(
    "accept", ["text/html", "application/dicom+json", "image/jpeg"], ids=["html", "json", "rendered-type"]
)
def test_nothing_acceptable_is_406_not_400_or_500(dicomweb: Dicomweb, instance: SharedData, accept: str) -> None:
    """WADO-27 (D1, D2), interop pitfall 10: when no offered media type can be served the answer
    is 406, never a server error. (PS3.18 8.7.5 lets a server fall back to a default instead, so
    only targets that follow the Azure service are held to 406.)"""
    require_azure_compatible(dicomweb.profile, "406 for an unacceptable retrieval media type")
    for level in ("study", "instance"):
        response = _retrieve(dicomweb, instance, level, accept)
        expect_status(response, 406, why=f"{level} retrieval cannot produce {accept}")


@pytest.mark.behavior("WADO-13")
def test_frames_accept_list_and_case(dicomweb: Dicomweb, instance: SharedData) -> None:
    """WADO-13 (D1, D2), RFC 9110 8.3.1: media type names are case-insensitive, and an
    acceptable range later in a list is served (the first is unknown, not a rendered type, which
    a server may refuse beside a bulk-data type: PS3.18 Table 10.4.3-1)."""
    accept = f"{UNKNOWN_TYPE}, {MULTIPART_OCTETS_ANY.replace('multipart/related', 'Multipart/Related')}"
    response = dicomweb.client.retrieve_frames(*uids(instance["file"]), [2], accept=accept)
    expect_status(response, 200, why=f"Accept {accept} has an acceptable range for frames")
    message = expect_multipart(response, why="frames are answered as multipart/related")
    expect_parts(response, message, "application/octet-stream", [None], why="one octet-stream part")
