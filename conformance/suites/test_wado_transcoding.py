"""Transcoding on retrieval (WADO-09, WADO-27; PS3.18 8.7.3.5, Tables 8.7.3-2 and -5).

An instance asked for in another transfer syntax than the stored one is transcoded when the
target supports that syntax (the profile's ``[transcoding] to``), else refused with 406, never
500. A transcoded answer is judged by its pixels: decoded on both sides with pydicom and its
codec plugins, equal exactly for lossless syntaxes.
"""

from __future__ import annotations

import pytest
from pydicom.uid import UID

from conformance.checks import expect, expect_status
from conformance.checks.retrieve import (
    expect_instances_as_stored,
    expect_multipart,
    expect_parts,
    expect_same_pixels,
    read_part10,
    transfer_syntax_of,
)
from conformance.client.responses import RetrieveResponse
from conformance.core.instances import DicomFile
from conformance.core.media_types import DICOM
from conformance.plugin import Dicomweb
from conformance.profile import Capability
from conformance.suites._support import require_azure_compatible
from conformance.suites._wado_qido_support import (
    EXPLICIT_VR_BIG_ENDIAN,
    EXPLICIT_VR_LITTLE_ENDIAN,
    IMPLICIT_VR_LITTLE_ENDIAN,
    JPEG_2000_LOSSLESS,
    JPEG_BASELINE,
    MPEG2,
    MULTIPART_DICOM,
    MULTIPART_DICOM_ANY,
    RLE_LOSSLESS,
    encoded,
    larger_than,
    require_transcoding,
    uids,
)

UNCOMPRESSED_SOURCES = (IMPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN)
COMPRESSED_SOURCES = (RLE_LOSSLESS, JPEG_2000_LOSSLESS, JPEG_BASELINE)
# A decoder may round differently from the encoder's reference decoder (ISO/IEC 10918-2 allows
# it); the stored pixels of a lossy source are what any decoder gives, within a few levels.
LOSSY_TOLERANCE = {JPEG_BASELINE: 8}


def _store(dicomweb: Dicomweb, file: DicomFile) -> None:
    expect_status(dicomweb.client.store_instances([file]), 200, 202, why=f"the {file.label} is stored")


def _retrieve_as(dicomweb: Dicomweb, file: DicomFile, syntax: str) -> RetrieveResponse:
    return dicomweb.client.retrieve_instance(*uids(file), accept=f"{MULTIPART_DICOM}; transfer-syntax={syntax}")


def _expect_transcoded(dicomweb: Dicomweb, response: RetrieveResponse, file: DicomFile, syntax: str) -> None:
    message = expect_multipart(response, why="the instance is answered as multipart/related")
    part_syntax = syntax if dicomweb.profile.azure_compatible else None
    expect_parts(response, message, DICOM, [part_syntax], why=f"the part is labelled {syntax}")
    returned = read_part10(response, message.parts[0].body, "the returned instance")
    expect(
        transfer_syntax_of(returned) == syntax,
        f"the returned file is encoded in {UID(syntax).name}",
        response=response,
        expected=f"TransferSyntaxUID {syntax}",
        received=f"TransferSyntaxUID {transfer_syntax_of(returned) or 'absent'}",
    )
    expect(
        str(returned.get("SOPInstanceUID", "")) == file.sop_instance_uid,
        "the returned file is the requested instance",
        response=response,
        expected=f"SOPInstanceUID {file.sop_instance_uid}",
        received=f"SOPInstanceUID {returned.get('SOPInstanceUID')}",
    )
    tolerance = LOSSY_TOLERANCE.get(str(file.transfer_syntax), 0)
    expect_same_pixels(response, returned, file, tolerance=tolerance, why="the transcoded pixels equal the stored ones")


@pytest.mark.behavior("WADO-09")
@pytest.mark.parametrize("source", UNCOMPRESSED_SOURCES, ids=lambda ts: UID(ts).keyword)
def test_uncompressed_sources_to_explicit_little_endian(dicomweb: Dicomweb, source: str) -> None:
    """WADO-09 (D1, D2; PS3.18 Table 8.7.3-2): an instance stored in another uncompressed syntax
    is transcoded to Explicit VR Little Endian when asked; pixels unchanged."""
    require_transcoding(dicomweb.profile, EXPLICIT_VR_LITTLE_ENDIAN)
    file = encoded(dicomweb.instances, source)
    _store(dicomweb, file)
    response = _retrieve_as(dicomweb, file, EXPLICIT_VR_LITTLE_ENDIAN)
    expect_status(response, 200, why=f"{UID(source).name} can be transcoded to Explicit VR Little Endian")
    _expect_transcoded(dicomweb, response, file, EXPLICIT_VR_LITTLE_ENDIAN)


@pytest.mark.behavior("WADO-09")
@pytest.mark.parametrize("source", COMPRESSED_SOURCES, ids=lambda ts: UID(ts).keyword)
def test_compressed_sources_to_explicit_little_endian(dicomweb: Dicomweb, source: str) -> None:
    """WADO-09 (D1, D2): RLE, JPEG 2000 and JPEG baseline are among the sources the service
    decompresses to Explicit VR Little Endian. A target that does not follow the service may
    refuse (406), but never fail with 5xx or send other pixels."""
    require_transcoding(dicomweb.profile, EXPLICIT_VR_LITTLE_ENDIAN)
    file = encoded(dicomweb.instances, source)
    _store(dicomweb, file)
    response = _retrieve_as(dicomweb, file, EXPLICIT_VR_LITTLE_ENDIAN)
    allowed = (200,) if dicomweb.profile.azure_compatible else (200, 406)
    expect_status(response, *allowed, why=f"{UID(source).name} can be decompressed")
    if response.status == 200:
        _expect_transcoded(dicomweb, response, file, EXPLICIT_VR_LITTLE_ENDIAN)


@pytest.mark.behavior("WADO-09")
@pytest.mark.parametrize(
    "source", [EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN, RLE_LOSSLESS], ids=lambda ts: UID(ts).keyword
)
def test_to_jpeg_2000_lossless(dicomweb: Dicomweb, source: str) -> None:
    """WADO-09 (D1, D2): JPEG 2000 lossless (1.2.840.10008.1.2.4.90) may be requested; the answer
    decodes to exactly the stored pixels."""
    require_transcoding(dicomweb.profile, JPEG_2000_LOSSLESS)
    file = encoded(dicomweb.instances, source, rows=64, columns=64)
    _store(dicomweb, file)
    response = _retrieve_as(dicomweb, file, JPEG_2000_LOSSLESS)
    expect_status(response, 200, why=f"{UID(source).name} can be transcoded to JPEG 2000 lossless")
    _expect_transcoded(dicomweb, response, file, JPEG_2000_LOSSLESS)


@pytest.mark.behavior("WADO-09", "WADO-27")
@pytest.mark.parametrize(
    "target", [JPEG_BASELINE, EXPLICIT_VR_BIG_ENDIAN, "1.2.3.4"], ids=["jpeg", "big-endian", "unknown"]
)
def test_syntaxes_the_target_does_not_produce_are_406(dicomweb: Dicomweb, target: str) -> None:
    """WADO-09 / WADO-27 / AMB-10: a transfer syntax the target does not transcode to gives 406
    (the documents' status table says 400; the implementation and PS3.18 8.7.5 say 406)."""
    require_azure_compatible(dicomweb.profile, "the service's list of requestable transfer syntaxes")
    if target in dicomweb.profile.transcode_to:
        pytest.skip(f"not applicable: the target transcodes to {target}")
    file = encoded(dicomweb.instances, IMPLICIT_VR_LITTLE_ENDIAN, frames=1)
    _store(dicomweb, file)
    response = _retrieve_as(dicomweb, file, target)
    rule = dicomweb.profile.follows("AMB-10").value
    allowed = {"documented": (400,), "implemented": (406,)}.get(rule, (400, 406))
    expect_status(response, *allowed, why=f"the target does not produce {target} (AMB-10: {rule})")


@pytest.mark.behavior("WADO-09", "WADO-27")
def test_undecodable_source_is_406_but_retrievable_as_stored(dicomweb: Dicomweb) -> None:
    """WADO-09 (E2E): an MPEG-2 encoded instance asked for as Explicit VR Little Endian gives 406
    (never 500); with ``transfer-syntax=*`` its original bytes come back."""
    require_transcoding(dicomweb.profile, EXPLICIT_VR_LITTLE_ENDIAN)
    file = encoded(dicomweb.instances, MPEG2)
    _store(dicomweb, file)
    response = _retrieve_as(dicomweb, file, EXPLICIT_VR_LITTLE_ENDIAN)
    expect_status(response, 406, why="MPEG-2 video cannot be transcoded to Explicit VR Little Endian")
    response = dicomweb.client.retrieve_instance(*uids(file), accept=MULTIPART_DICOM_ANY)
    expect_status(response, 200, why="the instance is retrievable as stored")
    message = expect_multipart(response, why="the instance is answered as multipart/related")
    expect_instances_as_stored(response, [message.parts[0].body], [file], why="the original bytes come back")


@pytest.mark.behavior("WADO-10")
@pytest.mark.requires("large_instances")
def test_files_over_the_limit_are_neither_transcoded_nor_rendered(dicomweb: Dicomweb) -> None:
    """WADO-10 (D1, D2 status table; SRC limit 100 MiB): an instance larger than the service's
    limit is not transcoded (406, the message pointing at ``transfer-syntax=*``) and, where the
    target renders, not rendered either (406)."""
    limit = dicomweb.profile.limits.transcode_max_bytes
    file = larger_than(dicomweb.instances, limit)
    expect(file.size > limit, "the test file exceeds the limit", expected=f"> {limit} bytes", received=f"{file.size}")
    _store(dicomweb, file)
    response = _retrieve_as(dicomweb, file, EXPLICIT_VR_LITTLE_ENDIAN)
    expect_status(response, 406, why=f"an instance of {file.size} bytes is over the {limit}-byte transcoding limit")
    if dicomweb.profile.claims(Capability.RENDERED):
        response = dicomweb.client.retrieve_rendered(*uids(file), accept="image/jpeg")
        expect_status(response, 406, why=f"an instance of {file.size} bytes is over the {limit}-byte rendering limit")
