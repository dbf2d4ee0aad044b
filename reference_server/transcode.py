"""Transfer syntaxes on retrieval (WADO-09, WADO-10, WADO-16) and frame extraction (WADO-13..15).

The server transcodes only to Explicit VR Little Endian, and only from the other
uncompressed syntaxes (implicit little endian, explicit big endian, deflated). A file already
in the requested syntax, or asked for with ``transfer-syntax=*``, is sent as stored.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.encaps import get_frame
from pydicom.filewriter import dcmwrite
from pydicom.uid import UID

from reference_server.records import PixelInfo, StoredInstance

ORIGINAL = "*"
IMPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2"
EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
EXPLICIT_VR_BIG_ENDIAN = "1.2.840.10008.1.2.2"
DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1.99"
JPEG_2000 = "1.2.840.10008.1.2.4.90"
UNCOMPRESSED = frozenset({IMPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN})
# WADO-09: transfer syntaxes a client may ask for (besides "*").
REQUESTABLE = frozenset({EXPLICIT_VR_LITTLE_ENDIAN, JPEG_2000})
# Sources this server can turn into Explicit VR Little Endian.
TRANSCODABLE_TO_EXPLICIT_LE = frozenset(
    {IMPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN}
)
_SWAPPED_VRS = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}


class TranscodeError(ValueError):
    """The stored file cannot be delivered in the requested transfer syntax (406)."""


def delivered_syntax(stored: str, requested: str) -> str:
    """The transfer syntax a part will carry."""
    return stored if requested == ORIGINAL else requested


def needs_transcoding(stored: str, requested: str) -> bool:
    return requested != ORIGINAL and requested != stored


def can_deliver(stored: str, requested: str) -> bool:
    """Whether a file stored as ``stored`` can be sent as ``requested``."""
    if not needs_transcoding(stored, requested):
        return True
    return requested == EXPLICIT_VR_LITTLE_ENDIAN and stored in TRANSCODABLE_TO_EXPLICIT_LE


def _swap_words(dataset: Dataset) -> None:
    """Big endian source: OW/OF/OL/OD/OV values are raw words and must be byte-swapped."""
    for elem in dataset:  # iterating converts every element from its raw form
        if elem.VR == "SQ":
            for item in elem.value or []:
                _swap_words(item)
        elif elem.VR in _SWAPPED_VRS and isinstance(elem.value, bytes) and elem.value:
            size = _SWAPPED_VRS[elem.VR]
            if len(elem.value) % size == 0:
                elem.value = np.frombuffer(elem.value, dtype=f">u{size}").astype(f"<u{size}").tobytes()


def to_explicit_little_endian(path: Path) -> bytes:
    """Transcode an uncompressed file to Explicit VR Little Endian (whole file, zero preamble)."""
    try:
        dataset = pydicom.dcmread(str(path))
        source = str(dataset.file_meta.TransferSyntaxUID)
        if source == EXPLICIT_VR_BIG_ENDIAN:
            _swap_words(dataset)
        else:
            for _ in dataset.iterall():  # convert every raw element before re-encoding
                pass
        dataset.file_meta.TransferSyntaxUID = UID(EXPLICIT_VR_LITTLE_ENDIAN)
        out = io.BytesIO()
        dcmwrite(out, dataset, implicit_vr=False, little_endian=True, enforce_file_format=True)
    except Exception as exc:  # WADO-09 (SRC): transcoding failures map to 406
        raise TranscodeError(f"the instance could not be transcoded: {exc}") from exc
    return out.getvalue()


def frame_syntax_ok(stored: str, requested: str) -> bool:
    """Frames: original bytes always; Explicit VR LE only from uncompressed sources."""
    if requested == ORIGINAL or requested == stored:
        return True
    return requested == EXPLICIT_VR_LITTLE_ENDIAN and stored in UNCOMPRESSED


def read_frames(instance: StoredInstance, numbers: list[int], requested: str) -> list[bytes]:
    """The requested frames (1-based), in request order, as raw bytes."""
    pixel = instance.pixel
    assert pixel is not None
    with open(instance.path, "rb") as fp:
        if pixel.length is None:
            return [_encapsulated_frame(fp, pixel, n) for n in numbers]
        frames = [_native_frame(fp, pixel, n) for n in numbers]
    if instance.transfer_syntax == EXPLICIT_VR_BIG_ENDIAN and requested == EXPLICIT_VR_LITTLE_ENDIAN:
        if pixel.bits_allocated in (16, 32):
            dtype = f"u{pixel.bits_allocated // 8}"
            frames = [np.frombuffer(f, dtype=">" + dtype).astype("<" + dtype).tobytes() for f in frames]
    return frames


def _native_frame(fp: io.BufferedReader, pixel: PixelInfo, number: int) -> bytes:
    assert pixel.length is not None
    bits = pixel.frame_bits
    if bits % 8 == 0:
        size = bits // 8
        start = (number - 1) * size
        if start + size > pixel.length:
            raise TranscodeError(f"frame {number} lies beyond the pixel data")
        fp.seek(pixel.offset + start)
        return fp.read(size)
    # Single-bit data whose frames do not end on a byte boundary (PS3.5 8.1.1).
    fp.seek(pixel.offset)
    packed = np.frombuffer(fp.read(pixel.length), dtype=np.uint8)
    unpacked = np.unpackbits(packed, bitorder="little")
    start = (number - 1) * bits
    if start + bits > unpacked.size:
        raise TranscodeError(f"frame {number} lies beyond the pixel data")
    return bytes(np.packbits(unpacked[start : start + bits], bitorder="little").tobytes())


def _encapsulated_frame(fp: io.BufferedReader, pixel: PixelInfo, number: int) -> bytes:
    fp.seek(pixel.offset)
    try:
        return bytes(get_frame(fp, number - 1, number_of_frames=pixel.number_of_frames))
    except Exception as exc:  # a malformed fragment table
        raise TranscodeError(f"frame {number} could not be read: {exc}") from exc
