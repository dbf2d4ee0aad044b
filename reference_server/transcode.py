"""Transfer syntaxes on retrieval (WADO-09, WADO-10, WADO-16) and frame extraction (WADO-13..15).

A client may ask for Explicit VR Little Endian or JPEG 2000 lossless (besides ``*``, the
stored syntax). The server produces them from the uncompressed syntaxes and from every
compressed one pydicom has a decoder for (RLE, JPEG baseline and extended, JPEG 2000; JPEG
lossless when pylibjpeg-libjpeg is installed); anything else (video, a broken stream) cannot
be transcoded and is answered 406. A file already in the requested syntax, or asked for with
``transfer-syntax=*``, is sent as stored.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.encaps import get_frame
from pydicom.filewriter import dcmwrite
from pydicom.pixels.decoders.base import get_decoder
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
_SWAPPED_VRS = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}


class TranscodeError(ValueError):
    """The stored file cannot be delivered in the requested transfer syntax (406)."""


def delivered_syntax(stored: str, requested: str) -> str:
    """The transfer syntax a part will carry."""
    return stored if requested == ORIGINAL else requested


def needs_transcoding(stored: str, requested: str) -> bool:
    return requested != ORIGINAL and requested != stored


def decodable(stored: str) -> bool:
    """Whether the pixel data of a file stored as ``stored`` can be decoded here."""
    if stored in UNCOMPRESSED or stored == DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN:
        return True
    try:
        return bool(get_decoder(UID(stored)).is_available)
    except (NotImplementedError, ValueError):  # no decoder exists for this syntax (video, private)
        return False


def can_deliver(stored: str, requested: str) -> bool:
    """Whether a file stored as ``stored`` can be sent as ``requested`` (instances and frames)."""
    if not needs_transcoding(stored, requested):
        return True
    return requested in REQUESTABLE and decodable(stored)


def frame_syntax_ok(stored: str, requested: str) -> bool:
    """Frames follow the same rule as whole instances."""
    return can_deliver(stored, requested)


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


def transcoded_dataset(path: Path, requested: str) -> Dataset:
    """The stored file as a dataset in ``requested`` (Explicit VR Little Endian or JPEG 2000)."""
    try:
        dataset = pydicom.dcmread(str(path))
        source = UID(str(dataset.file_meta.TransferSyntaxUID))
        if source.is_encapsulated and "PixelData" in dataset:
            # The SOP Instance UID stays: the instance is the same, only its encoding changes.
            dataset.decompress(generate_instance_uid=False)
        elif source == EXPLICIT_VR_BIG_ENDIAN:
            _swap_words(dataset)
        else:
            for _ in dataset.iterall():  # convert every raw element before re-encoding
                pass
        dataset.file_meta.TransferSyntaxUID = UID(EXPLICIT_VR_LITTLE_ENDIAN)
        if requested == JPEG_2000 and "PixelData" in dataset:
            dataset.compress(JPEG_2000, generate_instance_uid=False)
        dataset.file_meta.TransferSyntaxUID = UID(requested)
    except Exception as exc:  # WADO-09 (SRC): transcoding failures map to 406
        raise TranscodeError(f"the instance could not be transcoded to {requested}: {exc}") from exc
    return dataset


def transcode(path: Path, requested: str) -> bytes:
    """The whole file in ``requested``, as a Part-10 file with a zero preamble."""
    dataset = transcoded_dataset(path, requested)
    out = io.BytesIO()
    try:
        dcmwrite(out, dataset, enforce_file_format=True)
    except Exception as exc:
        raise TranscodeError(f"the instance could not be written as {requested}: {exc}") from exc
    return out.getvalue()


def read_frames(instance: StoredInstance, numbers: list[int], requested: str) -> list[bytes]:
    """The requested frames (1-based), in request order, as raw bytes in the delivered syntax."""
    pixel = instance.pixel
    assert pixel is not None
    stored = instance.transfer_syntax
    if needs_transcoding(stored, requested) and (stored not in UNCOMPRESSED or requested != EXPLICIT_VR_LITTLE_ENDIAN):
        return _transcoded_frames(instance, numbers, requested)
    with open(instance.path, "rb") as fp:
        if pixel.length is None:
            return [_encapsulated_frame(fp, pixel, n) for n in numbers]
        frames = [_native_frame(fp, pixel, n) for n in numbers]
    if stored == EXPLICIT_VR_BIG_ENDIAN and requested == EXPLICIT_VR_LITTLE_ENDIAN:
        if pixel.bits_allocated in (16, 32):
            dtype = f"u{pixel.bits_allocated // 8}"
            frames = [np.frombuffer(f, dtype=">" + dtype).astype("<" + dtype).tobytes() for f in frames]
    return frames


def _transcoded_frames(instance: StoredInstance, numbers: list[int], requested: str) -> list[bytes]:
    """Frames of a file that must be decoded (and maybe re-encoded) first."""
    dataset = transcoded_dataset(instance.path, requested)
    count = int(dataset.get("NumberOfFrames", 1) or 1)
    data: bytes = dataset.PixelData
    if requested == JPEG_2000:
        try:
            return [bytes(get_frame(data, n - 1, number_of_frames=count)) for n in numbers]
        except Exception as exc:
            raise TranscodeError(f"the frames could not be encoded: {exc}") from exc
    size = int(dataset.Rows) * int(dataset.Columns) * int(dataset.SamplesPerPixel) * int(dataset.BitsAllocated) // 8
    return [data[(n - 1) * size : n * size] for n in numbers]


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
