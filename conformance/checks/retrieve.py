"""Checks on WADO-RS answers: multipart framing, per-part media types, Part-10 bodies, pixels.

PS3.18 8.6-8.7 and interop pitfalls 1-3: a multipart answer has a boundary, a Content-Type on
every part (with the transfer syntax it is in), and a close delimiter (the strict parser of
``conformance.core.multipart`` enforces the framing); a single-part answer says its transfer
syntax in the Content-Type. Pixel data is compared decoded, so a transcoded answer is judged
by what it shows, not by its bytes.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError
from pydicom import Dataset, dcmread

from conformance.checks.http import expect_media_type
from conformance.checks.stored import stored_bytes_match
from conformance.client.responses import DicomwebResponse
from conformance.core.errors import ConformanceFailure
from conformance.core.instances import DicomFile
from conformance.core.media_types import MediaType, MediaTypeError, parse_media_type
from conformance.core.multipart import MultipartMessage, Part

EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
JPEG_2000_LOSSLESS = "1.2.840.10008.1.2.4.90"


def expect_multipart(response: DicomwebResponse, *, why: str) -> MultipartMessage:
    """A ``multipart/related`` answer that parses strictly (boundary, delimiters, close delimiter)."""
    expect_media_type(response, "multipart/related", why=why)
    return response.multipart()


def part_media_type(response: DicomwebResponse, part: Part, index: int) -> MediaType:
    """The Content-Type of part ``index`` (1-based); a missing or malformed one is a failure."""
    value = part.content_type
    if value is None:
        raise ConformanceFailure(
            "every part of a multipart answer carries a Content-Type (PS3.18 8.6.1.2)",
            expected=f"a Content-Type header on part {index}",
            received="no Content-Type",
            exchange=response.exchange,
        )
    try:
        return parse_media_type(value)
    except MediaTypeError as exc:
        raise response.malformed(f"part {index}: Content-Type {value!r} is not a media type: {exc}") from None


def expect_parts(
    response: DicomwebResponse,
    message: MultipartMessage,
    essence: str,
    transfer_syntaxes: Sequence[str | None],
    *,
    why: str,
) -> None:
    """One part per entry of ``transfer_syntaxes``, each ``essence`` with that ``transfer-syntax``
    parameter (None: the parameter is not checked)."""
    if len(message.parts) != len(transfer_syntaxes):
        raise ConformanceFailure(
            why,
            expected=f"{len(transfer_syntaxes)} part(s)",
            received=f"{len(message.parts)} part(s)",
            exchange=response.exchange,
        )
    for index, (part, syntax) in enumerate(zip(message.parts, transfer_syntaxes, strict=True), start=1):
        media = part_media_type(response, part, index)
        received_syntax = media.param("transfer-syntax")
        if media.essence != essence or (syntax is not None and received_syntax != syntax):
            wanted = essence + (f"; transfer-syntax={syntax}" if syntax else "")
            raise ConformanceFailure(
                why,
                expected=f"part {index}: Content-Type {wanted}",
                received=f"part {index}: Content-Type {part.content_type}",
                exchange=response.exchange,
            )


def expect_single_part(response: DicomwebResponse, essence: str, transfer_syntax: str | None, *, why: str) -> None:
    """A single-part answer of ``essence`` whose ``transfer-syntax`` parameter is ``transfer_syntax``."""
    expect_media_type(response, essence, why=why)
    media = response.media_type()
    assert media is not None
    if transfer_syntax is not None and media.param("transfer-syntax") != transfer_syntax:
        raise ConformanceFailure(
            why,
            expected=f"Content-Type {essence}; transfer-syntax={transfer_syntax}",
            received=f"Content-Type {response.header('content-type')}",
            exchange=response.exchange,
        )


def read_part10(response: DicomwebResponse, body: bytes, label: str) -> Dataset:
    """A Part-10 body as a pydicom dataset; anything else is a malformed answer."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return dcmread(io.BytesIO(body))
    except Exception as exc:  # any reader error means "not a DICOM file"
        raise response.malformed(f"{label} is not a DICOM Part-10 file: {exc}") from None


def expect_instances_as_stored(
    response: DicomwebResponse, bodies: Sequence[bytes], sent: Sequence[DicomFile], *, why: str
) -> None:
    """``bodies`` are exactly the files ``sent`` (any order), byte for byte after the preamble."""
    by_uid = {f.sop_instance_uid: f for f in sent}
    seen: list[str] = []
    for index, body in enumerate(bodies, start=1):
        ds = read_part10(response, body, f"part {index}")
        uid = str(ds.get("SOPInstanceUID", ""))
        file = by_uid.get(uid)
        if file is None or uid in seen:
            raise ConformanceFailure(
                why,
                expected="one part per instance: " + ", ".join(sorted(str(u) for u in by_uid)),
                received=f"part {index} is instance {uid or '(no SOPInstanceUID)'}",
                exchange=response.exchange,
            )
        seen.append(uid)
        if not stored_bytes_match(file.data, body):
            raise ConformanceFailure(
                why,
                expected=f"instance {uid} exactly as stored ({len(file.data)} bytes)",
                received=f"{len(body)} bytes, different content",
                exchange=response.exchange,
            )
    missing = sorted(str(u) for u in by_uid if u not in seen)
    if missing:
        raise ConformanceFailure(
            why, expected="every instance of the resource", received=f"missing {missing}", exchange=response.exchange
        )


def transfer_syntax_of(ds: Dataset) -> str:
    return str(ds.file_meta.get("TransferSyntaxUID", "")) if hasattr(ds, "file_meta") else ""


def decoded_pixels(ds: Dataset) -> NDArray[np.generic]:
    """All frames of ``ds`` decoded with pydicom and its image codec plugins."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(ds.pixel_array)


def expect_same_pixels(
    response: DicomwebResponse, returned: Dataset, sent: DicomFile, *, tolerance: int = 0, why: str
) -> None:
    """The decoded pixels of ``returned`` equal those of ``sent`` (lossless: ``tolerance`` 0)."""
    original = read_part10(response, sent.data, f"the sent file {sent.label}")
    try:
        got = decoded_pixels(returned)
    except Exception as exc:  # the returned pixel data cannot be decoded
        raise ConformanceFailure(
            why, expected="decodable pixel data", received=f"not decodable: {exc}", exchange=response.exchange
        ) from None
    want = decoded_pixels(original)
    if got.shape != want.shape:
        raise ConformanceFailure(
            why, expected=f"pixels of shape {want.shape}", received=f"shape {got.shape}", exchange=response.exchange
        )
    difference = int(np.max(np.abs(got.astype(np.int64) - want.astype(np.int64)))) if got.size else 0
    if difference > tolerance:
        raise ConformanceFailure(
            why,
            expected="the stored pixel values" + (f" within {tolerance}" if tolerance else " exactly"),
            received=f"pixel values differing by up to {difference}",
            exchange=response.exchange,
        )


def decoded_image(response: DicomwebResponse, body: bytes, label: str) -> NDArray[np.generic]:
    """A JPEG, PNG or JPEG 2000 body decoded with Pillow; an undecodable one is a failure."""
    try:
        with Image.open(io.BytesIO(body)) as image:
            image.load()
            return np.asarray(image)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise response.malformed(f"{label} is not a decodable image: {exc}") from None


def expect_same_frame(
    response: DicomwebResponse, decoded: NDArray[np.generic], stored: NDArray[np.generic], *, why: str
) -> None:
    """A decoded frame equals the stored frame's pixels exactly (a lossless syntax)."""
    if decoded.shape != stored.shape or not np.array_equal(decoded.astype(np.int64), stored.astype(np.int64)):
        raise ConformanceFailure(
            why,
            expected=f"the stored frame's {stored.shape} pixel values",
            received=f"{decoded.shape} pixels, different values",
            exchange=response.exchange,
        )
