"""Retrieving studies, series and instances (WADO-RS, PS3.18 10.4.1.1.1; behaviours WADO-01..12).

The module stores one study (series A: two instances; series B: one multi-frame instance;
series C: one instance without pixel data) and only reads it. Every instance is Explicit VR
Little Endian, so a request for that syntax needs no transcoding.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.checks import expect, expect_status, expect_stored
from conformance.checks.attribution import checking
from conformance.checks.retrieve import (
    expect_instances_as_stored,
    expect_multipart,
    expect_parts,
    expect_single_part,
)
from conformance.core.media_types import DICOM
from conformance.core.uids import new_uid
from conformance.plugin import Dicomweb
from conformance.session import TargetSession
from conformance.suites._support import require_azure_compatible
from conformance.suites._wado_qido_support import (
    EXPLICIT_VR_LITTLE_ENDIAN,
    MPEG2,
    MULTIPART_DICOM,
    MULTIPART_DICOM_ANY,
    SharedData,
    shared_data,
    uids,
)
from conformance.testdata import InstanceFactory

UNSUPPORTED_SYNTAX = f"{MULTIPART_DICOM}; transfer-syntax={MPEG2}"


@pytest.fixture(scope="module")
def study(dicomweb_session: TargetSession) -> Iterator[SharedData]:
    factory = InstanceFactory()
    study_uid, patient = factory.new_uid(), factory.short_id("DWC")
    series_a, series_b, series_c = factory.new_uid(), factory.new_uid(), factory.new_uid()
    a1 = factory.instance(study_uid=study_uid, patient_id=patient, series_uid=series_a, instance_number=1)
    a2 = factory.instance(study_uid=study_uid, patient_id=patient, series_uid=series_a, instance_number=2)
    b1 = factory.multiframe(study_uid=study_uid, patient_id=patient, series_uid=series_b, series_number=2, frames=3)
    c1 = factory.instance(
        study_uid=study_uid,
        patient_id=patient,
        series_uid=series_c,
        series_number=3,
        attributes={"PixelData": None},
        label="no pixel data",
    )
    yield from shared_data(dicomweb_session, [[a1, a2, b1, c1]], a1=a1, a2=a2, b1=b1, c1=c1)


@pytest.mark.behavior("WADO-01")
@pytest.mark.parametrize("accept", [MULTIPART_DICOM_ANY, "*/*"], ids=["transfer-syntax-any", "any-media-type"])
@pytest.mark.parametrize("level", ["study", "series"])
def test_original_syntax_returns_every_instance_as_stored(
    dicomweb: Dicomweb, study: SharedData, level: str, accept: str
) -> None:
    """WADO-01 (D1, D2): ``transfer-syntax=*`` (and ``*/*``, which means the same) returns every
    instance of the study or series, as stored (PS3.18 8.7.3.5: ``*`` means no transcoding)."""
    a1 = study["a1"]
    s, se, _ = uids(a1)
    wanted = study.files if level == "study" else [study["a1"], study["a2"]]
    client = dicomweb.client
    response = (
        client.retrieve_study(s, accept=accept) if level == "study" else client.retrieve_series(s, se, accept=accept)
    )
    expect_status(response, 200, why=f"the {level} is retrievable with Accept {accept}")
    message = expect_multipart(response, why=f"a {level} is answered as multipart/related")
    expect_parts(response, message, DICOM, [None] * len(wanted), why="one application/dicom part per instance")
    expect_instances_as_stored(
        response, [p.body for p in message.parts], wanted, why="each part is one stored instance, unchanged"
    )


@pytest.mark.behavior("WADO-04")
def test_part_headers_name_each_transfer_syntax(dicomweb: Dicomweb, study: SharedData) -> None:
    """WADO-04 (SRC): 200, ``multipart/related`` with a boundary, and every part
    ``application/dicom; transfer-syntax=<uid>`` naming the syntax that part is in (the stored one
    for ``transfer-syntax=*``); the close delimiter ends the body (strict parser)."""
    s, _, _ = uids(study["a1"])
    response = dicomweb.client.retrieve_study(s, accept=MULTIPART_DICOM_ANY)
    expect_status(response, 200, why="the study is retrievable as stored")
    message = expect_multipart(response, why="a study is answered as multipart/related")
    expect(
        bool(message.boundary),
        "the answer names its boundary",
        response=response,
        expected="a boundary parameter",
        received=str(response.header("content-type")),
    )
    syntaxes = [EXPLICIT_VR_LITTLE_ENDIAN] * len(study.files)
    expect_parts(response, message, DICOM, syntaxes, why="each part names the transfer syntax it is in")


@pytest.mark.behavior("WADO-01")
def test_default_syntax_for_a_single_instance_series(dicomweb: Dicomweb, study: SharedData) -> None:
    """WADO-01 (D1, D2; PS3.18 Table 8.7.3-2): ``type="application/dicom"`` without a transfer
    syntax means Explicit VR Little Endian; a series of one instance is answered in it."""
    s, se, _ = uids(study["b1"])
    label = EXPLICIT_VR_LITTLE_ENDIAN if dicomweb.profile.azure_compatible else None  # WADO-04: the Azure form
    for accept in (MULTIPART_DICOM, f"{MULTIPART_DICOM}; transfer-syntax={EXPLICIT_VR_LITTLE_ENDIAN}"):
        response = dicomweb.client.retrieve_series(s, se, accept=accept)
        expect_status(response, 200, why=f"a one-instance series is retrievable with Accept {accept}")
        message = expect_multipart(response, why="a series is answered as multipart/related")
        expect_parts(response, message, DICOM, [label], why="the part is Explicit VR Little Endian")
        expect_instances_as_stored(response, [message.parts[0].body], [study["b1"]], why="the instance as stored")


@pytest.mark.behavior("WADO-03")
@pytest.mark.parametrize("syntax", [None, EXPLICIT_VR_LITTLE_ENDIAN], ids=["default", "explicit"])
@pytest.mark.parametrize("level", ["study", "series"])
def test_several_instances_need_the_original_syntax(
    dicomweb: Dicomweb, study: SharedData, level: str, syntax: str | None
) -> None:
    """WADO-03 (SRC, E2E) / AMB-07: when several instances match, any transfer syntax but ``*``
    (the default one included) is refused with 406 under the implemented rule; the documents
    list these Accept values as supported (200, Explicit VR Little Endian parts)."""
    s, se, _ = uids(study["a1"])
    accept = MULTIPART_DICOM + (f"; transfer-syntax={syntax}" if syntax else "")
    client = dicomweb.client
    response = (
        client.retrieve_study(s, accept=accept) if level == "study" else client.retrieve_series(s, se, accept=accept)
    )
    rule = dicomweb.profile.follows("AMB-07").value
    allowed = {"implemented": (406,), "documented": (200,)}.get(rule, (200, 406))
    expect_status(response, *allowed, why=f"several instances with Accept {accept} (AMB-07: {rule})")
    if response.status == 200:
        message = expect_multipart(response, why="the instances are answered as multipart/related")
        count = len(study.files) if level == "study" else 2
        expect_parts(response, message, DICOM, [EXPLICIT_VR_LITTLE_ENDIAN] * count, why="every part is transcoded")


@pytest.mark.behavior("WADO-02", "WADO-27")
@pytest.mark.parametrize(
    "accept",
    [DICOM, f"{DICOM}; transfer-syntax=*", 'multipart/related; type="application/octet-stream"', UNSUPPORTED_SYNTAX],
    ids=["single-part", "single-part-any", "octet-stream", "mpeg2-syntax"],
)
@pytest.mark.parametrize("level", ["study", "series"])
def test_unacceptable_study_and_series_media_types(
    dicomweb: Dicomweb, study: SharedData, level: str, accept: str
) -> None:
    """WADO-02 (E2E, D1, D2) / WADO-27 / AMB-10: a study or series is only sent as multipart
    ``application/dicom``; single-part, octet-stream parts or an unsupported transfer syntax give
    406 (the documents' status table says 400 for the syntax; the implementation 406). PS3.18
    8.7.5 lets other servers fall back to a default, so only Azure-compatible targets are held
    to these statuses."""
    require_azure_compatible(dicomweb.profile, "406 for an unacceptable retrieval media type")
    s, se, _ = uids(study["a1"])
    client = dicomweb.client
    response = (
        client.retrieve_study(s, accept=accept) if level == "study" else client.retrieve_series(s, se, accept=accept)
    )
    allowed: tuple[int, ...] = (406,)
    if accept == UNSUPPORTED_SYNTAX:
        allowed = {"documented": (400,), "implemented": (406,)}.get(
            dicomweb.profile.follows("AMB-10").value, (400, 406)
        )
    expect_status(response, *allowed, why=f"a {level} cannot be sent as {accept}")


@pytest.mark.behavior("WADO-05")
def test_unknown_study_or_series_is_404_and_pixel_less_instances_are_returned(
    dicomweb: Dicomweb, study: SharedData
) -> None:
    """WADO-05 (E2E): an unknown study, or an unknown series of a known study, gives 404; a
    series whose instance has no pixel data is returned normally."""
    s, _, _ = uids(study["a1"])
    client = dicomweb.client
    expect_status(client.retrieve_study(new_uid()), 404, why="the study does not exist")
    expect_status(client.retrieve_series(s, new_uid()), 404, why="the series does not exist in the study")
    _, se, _ = uids(study["c1"])
    response = client.retrieve_series(s, se)
    expect_status(response, 200, why="an instance without pixel data is retrievable")
    message = expect_multipart(response, why="a series is answered as multipart/related")
    expect_instances_as_stored(response, [p.body for p in message.parts], [study["c1"]], why="the instance as stored")


@pytest.mark.behavior("WADO-06")
@pytest.mark.parametrize(
    ("accept", "syntax"),
    [
        (MULTIPART_DICOM_ANY, EXPLICIT_VR_LITTLE_ENDIAN),
        (MULTIPART_DICOM, EXPLICIT_VR_LITTLE_ENDIAN),
        (f"{MULTIPART_DICOM}; transfer-syntax={EXPLICIT_VR_LITTLE_ENDIAN}", EXPLICIT_VR_LITTLE_ENDIAN),
    ],
    ids=["any", "default", "explicit-little-endian"],
)
def test_instance_as_multipart(dicomweb: Dicomweb, study: SharedData, accept: str, syntax: str) -> None:
    """WADO-06 (D1, D2): an instance is retrievable with every multipart form of WADO-01."""
    file = study["a1"]
    response = dicomweb.client.retrieve_instance(*uids(file), accept=accept)
    expect_status(response, 200, why=f"the instance is retrievable with Accept {accept}")
    message = expect_multipart(response, why="a multipart Accept is answered with multipart/related")
    expect_parts(response, message, DICOM, [None], why="one application/dicom part")
    expect_instances_as_stored(response, [message.parts[0].body], [file], why="the instance as stored")


@pytest.mark.behavior("WADO-06", "WADO-07")
@pytest.mark.parametrize(
    "accept",
    [f"{DICOM}; transfer-syntax=*", DICOM, f"{DICOM}; transfer-syntax={EXPLICIT_VR_LITTLE_ENDIAN}"],
    ids=["any", "default", "explicit-little-endian"],
)
def test_instance_as_single_part(dicomweb: Dicomweb, study: SharedData, accept: str) -> None:
    """WADO-06 (D1, D2) / WADO-07 (SRC, E2E): single-part ``application/dicom`` is answered with
    ``Content-Type: application/dicom; transfer-syntax=<uid>`` and the Part-10 file as body
    (the default syntax is Explicit VR Little Endian; ``*`` the stored one, here the same).
    Single-part retrieval is the Azure service's extension, not PS3.18's."""
    require_azure_compatible(dicomweb.profile, "single-part instance retrieval")
    file = study["a1"]
    response = dicomweb.client.retrieve_instance(*uids(file), accept=accept)
    expect_status(response, 200, why=f"the instance is retrievable with Accept {accept}")
    with checking("WADO-07"):
        expect_single_part(response, DICOM, EXPLICIT_VR_LITTLE_ENDIAN, why="a single-part answer names its syntax")
        expect_instances_as_stored(response, [response.content], [file], why="the body is the stored Part-10 file")


@pytest.mark.behavior("WADO-06")
def test_any_media_type_for_an_instance(dicomweb: Dicomweb, study: SharedData) -> None:
    """WADO-06 / AMB-08: ``*/*`` gives the instance as stored; the documents say single-part
    ``application/dicom``, the implementation answers multipart. The profile picks."""
    file = study["a1"]
    response = dicomweb.client.retrieve_instance(*uids(file), accept="*/*")
    expect_status(response, 200, why="*/* accepts the instance")
    media = response.media_type()
    essence = media.essence if media else None
    rule = dicomweb.profile.follows("AMB-08").value
    allowed = {"documented": {DICOM}, "implemented": {"multipart/related"}}.get(rule, {DICOM, "multipart/related"})
    expect(
        essence in allowed,
        f"*/* is answered as the profile's rule says (AMB-08: {rule})",
        response=response,
        expected=" or ".join(sorted(allowed)),
        received=f"Content-Type: {response.header('content-type')}",
    )
    bodies = [p.body for p in response.multipart().parts] if essence == "multipart/related" else [response.content]
    expect_instances_as_stored(response, bodies, [file], why="the instance as stored")


@pytest.mark.behavior("WADO-08", "WADO-27")
@pytest.mark.parametrize(
    "accept",
    [
        "application/octet-stream",
        f"{DICOM}; transfer-syntax={MPEG2}",
        'multipart/related; type="application/octet-stream"',
    ],
    ids=["octet-stream", "mpeg2-syntax", "multipart-octet-stream"],
)
def test_unacceptable_instance_media_types(dicomweb: Dicomweb, study: SharedData, accept: str) -> None:
    """WADO-08 (E2E) / WADO-27: an instance is not sent as octet-stream, nor in a syntax the
    service does not transcode to: 406."""
    require_azure_compatible(dicomweb.profile, "406 for an unacceptable retrieval media type")
    response = dicomweb.client.retrieve_instance(*uids(study["a1"]), accept=accept)
    expect_status(response, 406, why=f"the instance cannot be sent as {accept}")


@pytest.mark.behavior("WADO-11", "WADO-27")
def test_unknown_instance_is_404_and_invalid_uids_400(dicomweb: Dicomweb, study: SharedData) -> None:
    """WADO-11 (E2E, D1, D2) / WADO-27: an unknown instance of a known series gives 404; a
    malformed UID at any level of the path gives 400. PS3.18 itself does not say how a malformed
    UID in the path is answered (no such resource exists, so 404 is also sound): a target that
    does not follow the Azure service may answer either."""
    s, se, _ = uids(study["a1"])
    client = dicomweb.client
    expect_status(client.retrieve_instance(s, se, new_uid()), 404, why="the instance does not exist")
    bad = "1.2.3_4"
    for label, response in (
        ("study", client.retrieve_study(bad)),
        ("series", client.retrieve_series(s, bad)),
        ("instance", client.retrieve_instance(s, se, bad)),
    ):
        if dicomweb.profile.azure_compatible:
            expect_status(response, 400, why=f"{bad!r} is not a valid {label} UID")
        else:
            expect_status(response, 400, 404, why=f"{bad!r} is not a valid {label} UID, so no such resource exists")


@pytest.mark.behavior("WADO-12")
def test_padded_study_uid_is_retrievable_both_ways(dicomweb: Dicomweb) -> None:
    """WADO-12 (E2E): an instance whose StudyInstanceUID was stored followed by a space is
    retrievable with the padded and with the unpadded UID in the path."""
    require_azure_compatible(dicomweb.profile, "padded UIDs in paths")
    file = dicomweb.instances.with_trailing_space_study_uid()
    expect_status(dicomweb.client.store_instances([file]), 200, 202, why="the instance is stored")
    s, se, sop = uids(file)
    expect_stored(dicomweb.client, file, why="the instance is retrievable with the unpadded study UID")
    for study_uid in (s, s + " "):
        response = dicomweb.client.retrieve_instance(study_uid, se, sop)
        expect_status(response, 200, why=f"the instance is retrievable with study UID {study_uid!r}")
        response = dicomweb.client.retrieve_study(study_uid)
        expect_status(response, 200, why=f"the study is retrievable with study UID {study_uid!r}")


@pytest.mark.behavior("WADO-26")
@pytest.mark.requires("bulk_update")
def test_original_version_of_a_never_updated_instance(dicomweb: Dicomweb, study: SharedData) -> None:
    """WADO-26 (D2, DBU, SRC): ``msdicom-request-original: true`` asks the six study, series and
    instance routes (retrieval and metadata) for the version before any bulk update; for data
    never updated that is the single version stored. The header value is case-insensitive."""
    file = study["a1"]
    s, se, sop = uids(file)
    client = dicomweb.client
    headers = {"msdicom-request-original": "True"}
    response = client.retrieve_instance(s, se, sop, headers=headers)
    expect_status(response, 200, why="the original version of a never-updated instance is the stored one")
    message = expect_multipart(response, why="the instance is answered as multipart/related")
    expect_instances_as_stored(response, [message.parts[0].body], [file], why="the original version is as stored")
    for label, answer in (
        ("study", client.retrieve_study(s, headers=headers)),
        ("series", client.retrieve_series(s, se, headers=headers)),
    ):
        expect_status(answer, 200, why=f"the original version of the {label} is retrievable")
    for label, metadata, plain in (
        ("study", client.retrieve_study_metadata(s, headers=headers), client.retrieve_study_metadata(s)),
        ("series", client.retrieve_series_metadata(s, se, headers=headers), client.retrieve_series_metadata(s, se)),
        (
            "instance",
            client.retrieve_instance_metadata(s, se, sop, headers=headers),
            client.retrieve_instance_metadata(s, se, sop),
        ),
    ):
        expect_status(metadata, 200, why=f"the original {label} metadata is retrievable")
        expect(
            sorted(map(str, metadata.objects)) == sorted(map(str, plain.objects)),
            f"the original {label} metadata is the stored metadata",
            response=metadata,
            expected="the same objects as without the header",
            received="different objects",
        )
