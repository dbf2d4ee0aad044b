"""STOW-RS request handling: media types, multipart framing, Accept, path UIDs.

Behaviour catalogue section 2 (STOW-01..05, 13, 14); PS3.18 10.5.1 and 8.6-8.7.
"""

from __future__ import annotations

import pytest

from conformance.checks import (
    expect_empty_body,
    expect_media_type,
    expect_not_stored,
    expect_referenced,
    expect_status,
    expect_stored,
    store_result,
)
from conformance.core.media_types import DICOM_JSON
from conformance.core.multipart import encode_multipart_related, new_boundary
from conformance.core.uids import uid_of_length
from conformance.plugin import Dicomweb
from conformance.suites._support import require_azure_compatible


@pytest.mark.behavior("STOW-01")
@pytest.mark.parametrize("type_param", ["quoted", "unquoted", "absent"])
def test_multipart_related_forms_are_accepted(dicomweb: Dicomweb, type_param: str) -> None:
    """STOW-01 (D1, D2, DTUT): ``type="application/dicom"`` quoted, unquoted, or left out.
    RFC 2387 makes ``type`` mandatory, so leaving it out is the service's own convenience and
    only Azure-compatible targets are held to accepting it."""
    if type_param == "absent":
        require_azure_compatible(dicomweb.profile, "multipart/related without a type parameter")
    file = dicomweb.instances.instance()
    response = dicomweb.client.store_instances([file], type_param=type_param)  # type: ignore[arg-type]
    expect_status(response, 200, why=f"multipart/related with type {type_param} is an accepted STOW request")
    store_result(response)
    expect_referenced(response, file, why="the stored instance is listed in ReferencedSOPSequence")
    expect_stored(dicomweb.client, file, why="an instance acknowledged by STOW is retrievable")


@pytest.mark.behavior("STOW-01")
def test_several_instances_in_one_request(dicomweb: Dicomweb) -> None:
    """STOW-01 (DTUT): several Part-10 files, one part each, are all stored."""
    files = dicomweb.instances.study(series=2, instances_per_series=2)
    response = dicomweb.client.store_instances(files)
    expect_status(response, 200, why="every instance of the request was valid")
    store_result(response)
    for file in files:
        expect_referenced(response, file, why="each stored instance is listed in ReferencedSOPSequence")
        expect_stored(dicomweb.client, file, why="each acknowledged instance is retrievable")


@pytest.mark.behavior("STOW-01")
@pytest.mark.requires("store_single_part")
def test_single_part_application_dicom(dicomweb: Dicomweb) -> None:
    """STOW-01 (D1, D2, DTUT): the non-standard single-part form, body = one Part-10 file."""
    file = dicomweb.instances.instance()
    response = dicomweb.client.store_single_part(file)
    expect_status(response, 200, why="Content-Type application/dicom with one Part-10 file is accepted")
    store_result(response)
    expect_referenced(response, file, why="the stored instance is listed in ReferencedSOPSequence")
    expect_stored(dicomweb.client, file, why="an instance acknowledged by STOW is retrievable")


@pytest.mark.behavior("STOW-02", "STOW-14")
@pytest.mark.parametrize(
    "content_type",
    [
        'multipart/form-data; type="application/dicom"; boundary={b}',
        "multipart/form-data; boundary={b}",
        "application/json",
    ],
)
def test_unsupported_media_type_is_415(dicomweb: Dicomweb, content_type: str) -> None:
    """STOW-02 (E2E, D1/D2 table): another request media type gives 415 and stores nothing.
    PS3.18 10.5.3 asks for 415 only for media types the server does not support, so a target
    that also accepts multipart/form-data is held to this only when it claims the service's
    conventions."""
    require_azure_compatible(dicomweb.profile, "415 for other request media types")
    file = dicomweb.instances.instance()
    boundary = new_boundary()
    body = encode_multipart_related([([("Content-Type", "application/dicom")], file.data)], boundary=boundary)
    response = dicomweb.client.store_body(body, content_type.format(b=boundary), sent=[file])
    expect_status(response, 415, why=f"Content-Type {content_type.split(';')[0]} is not a STOW media type")
    expect_not_stored(dicomweb.client, file, why="a request refused with 415 stores nothing")


@pytest.mark.behavior("STOW-03")
def test_multipart_without_boundary_is_415(dicomweb: Dicomweb) -> None:
    """STOW-03 (SRC): ``multipart/related`` without a boundary parameter gives 415."""
    require_azure_compatible(dicomweb.profile, "415 for a missing boundary")
    file = dicomweb.instances.instance()
    body = encode_multipart_related([([("Content-Type", "application/dicom")], file.data)], boundary=new_boundary())
    response = dicomweb.client.store_body(body, 'multipart/related; type="application/dicom"', sent=[file])
    expect_status(response, 415, why="a multipart/related Content-Type without boundary is not supported")
    expect_not_stored(dicomweb.client, file, why="a refused request stores nothing")


@pytest.mark.behavior("STOW-03")
def test_start_parameter_is_400(dicomweb: Dicomweb) -> None:
    """STOW-03 (SRC): a ``start`` parameter on the multipart Content-Type is not supported: 400."""
    require_azure_compatible(dicomweb.profile, "400 for a start parameter")
    file = dicomweb.instances.instance()
    boundary = new_boundary()
    body = encode_multipart_related(
        [([("Content-Type", "application/dicom"), ("Content-ID", "<root>")], file.data)], boundary=boundary
    )
    content_type = f'multipart/related; type="application/dicom"; start="<root>"; boundary={boundary}'
    response = dicomweb.client.store_body(body, content_type, sent=[file])
    expect_status(response, 400, why="the start parameter of multipart/related is refused with 400")
    expect_not_stored(dicomweb.client, file, why="a refused request stores nothing")


@pytest.mark.behavior("STOW-03")
@pytest.mark.parametrize(
    "part_type",
    ["application/dicom+json", "application/octet-stream", "application/dicom; transfer-syntax=1.2.840.10008.1.2.1"],
)
def test_part_other_than_application_dicom_is_415(dicomweb: Dicomweb, part_type: str) -> None:
    """STOW-03 (SRC): every part must be exactly ``application/dicom``; any other part type,
    parameters included, fails the whole request with 415."""
    require_azure_compatible(dicomweb.profile, "415 for a non-application/dicom part")
    good, odd = dicomweb.instances.instance(), dicomweb.instances.instance()
    response = dicomweb.client.store_instances(
        [good, odd],
        part_headers=lambda f: [("Content-Type", part_type if f is odd else "application/dicom")],
    )
    expect_status(response, 415, why=f"a part of type {part_type!r} fails the whole request")
    expect_not_stored(dicomweb.client, good, why="a request refused with 415 stores none of its parts")


@pytest.mark.behavior("STOW-03")
def test_first_part_without_content_type_is_accepted_with_type_parameter(dicomweb: Dicomweb) -> None:
    """STOW-03 (SRC, E2E): a first part without Content-Type is read as the request's ``type``."""
    require_azure_compatible(dicomweb.profile, "a first part without Content-Type")
    file = dicomweb.instances.instance()
    response = dicomweb.client.store_instances([file], type_param="quoted", part_headers=lambda f: [])
    expect_status(response, 200, why="the first part defaults to type=application/dicom")
    expect_stored(dicomweb.client, file, why="the acknowledged instance is retrievable")


@pytest.mark.behavior("STOW-03")
@pytest.mark.requires("store_single_part")
def test_single_part_with_parameters_is_415(dicomweb: Dicomweb) -> None:
    """STOW-03 (SRC): the single-part form compares the whole Content-Type with application/dicom."""
    require_azure_compatible(dicomweb.profile, "415 for single-part parameters")
    file = dicomweb.instances.instance()
    response = dicomweb.client.store_single_part(
        file, content_type="application/dicom; transfer-syntax=1.2.840.10008.1.2.1"
    )
    expect_status(response, 415, why="application/dicom with parameters is not the single-part form")
    expect_not_stored(dicomweb.client, file, why="a refused request stores nothing")


@pytest.mark.behavior("STOW-13", "STOW-03")
def test_truncated_multipart_is_400(dicomweb: Dicomweb) -> None:
    """STOW-03 (SRC) / STOW-13 (D1, D2): a body cut before its close delimiter is malformed: 400."""
    file = dicomweb.instances.instance()
    boundary = new_boundary()
    body = encode_multipart_related([([("Content-Type", "application/dicom")], file.data)], boundary=boundary)
    cut = body[: len(body) // 2]
    response = dicomweb.client.store_body(
        cut, f'multipart/related; type="application/dicom"; boundary={boundary}', sent=[file]
    )
    expect_status(response, 400, why="a truncated multipart body is a malformed request")
    expect_not_stored(dicomweb.client, file, why="the truncated instance is not stored")


@pytest.mark.behavior("STOW-13")
def test_body_without_delimiters_is_400(dicomweb: Dicomweb) -> None:
    """STOW-13 (D1, D2): a multipart body in which the boundary never occurs is malformed."""
    file = dicomweb.instances.instance()
    response = dicomweb.client.store_body(
        file.data, f'multipart/related; type="application/dicom"; boundary={new_boundary()}', sent=[file]
    )
    expect_status(response, 400, why="a multipart body without any delimiter is malformed")
    expect_not_stored(dicomweb.client, file, why="nothing of a malformed request is stored")


@pytest.mark.behavior("STOW-04", "STOW-14")
def test_response_is_dicom_json(dicomweb: Dicomweb) -> None:
    """STOW-04 (D1, D2): the response media type is application/dicom+json."""
    file = dicomweb.instances.instance()
    response = dicomweb.client.store_instances([file], accept=DICOM_JSON)
    expect_status(response, 200, why="a valid instance is stored")
    expect_media_type(response, DICOM_JSON, why="STOW answers in application/dicom+json")


@pytest.mark.behavior("STOW-04", "STOW-14")
@pytest.mark.parametrize("accept", ["application/dicom", "application/data", None])
def test_unacceptable_accept_is_406(dicomweb: Dicomweb, accept: str | None) -> None:
    """STOW-04 (E2E) / GEN-06 (SRC): only application/dicom+json is produced; another Accept, or
    none (AMB-25, implementation), gives 406 with an empty body. Against an Azure-compatible
    target nothing is stored (the Accept check runs before the request is processed)."""
    if accept is None and dicomweb.profile.follows("AMB-25").value == "documented":
        pytest.skip("not claimed: the documents do not say what a missing Accept gives (AMB-25)")
    if accept is not None:
        # PS3.18 8.7.5 lets a server fall back to its default media type; the 406 is the service's.
        require_azure_compatible(dicomweb.profile, f"406 for Accept {accept}")
    file = dicomweb.instances.instance()
    response = dicomweb.client.store_instances([file], accept=accept)
    shown = "no Accept header" if accept is None else f"Accept {accept}"
    expect_status(response, 406, why=f"STOW with {shown} cannot be answered in application/dicom+json")
    if dicomweb.profile.azure_compatible:
        expect_empty_body(response, why="406 answers carry no body (GEN-06)")
        expect_not_stored(dicomweb.client, file, why="a request refused with 406 stores nothing")


@pytest.mark.behavior("STOW-05", "STOW-13", "GEN-04")
@pytest.mark.parametrize(
    "study_uid", [uid_of_length(65), "1.2.abc", "1.2.3_4"], ids=["65-chars", "letters", "underscore"]
)
def test_invalid_study_uid_in_path_is_400(dicomweb: Dicomweb, study_uid: str) -> None:
    """STOW-05 (E2E), GEN-04: an invalid study UID in the path gives 400 before any part is read.

    ``1.2.abc`` is invalid only under the implemented rule (AMB-02: the documents allow
    letters); the others are invalid under both rules."""
    if study_uid == "1.2.abc" and dicomweb.profile.follows("AMB-02").value != "implemented":
        pytest.skip("not claimed: letters in UIDs are allowed by the documents (AMB-02)")
    file = dicomweb.instances.instance()
    response = dicomweb.client.store_instances([file], study_uid=study_uid)
    # A target without the service's conventions may treat the path UID as a study the
    # instance does not belong to (409, STOW-08) rather than refuse the path (400).
    allowed = (400,) if dicomweb.profile.azure_compatible else (400, 409)
    expect_status(response, *allowed, why=f"study UID {study_uid!r} in the path is not a valid UID")
    expect_not_stored(dicomweb.client, file, why="nothing is read or stored when the path UID is invalid")
