"""Native (uncompressed) pixel data: frames with distinct bytes, and reading frame *n* back.

PS3.5 8.1.1: native pixel data is the frames one after another, each Rows x Columns x
SamplesPerPixel x BitsAllocated / 8 bytes, the whole value padded to an even length. Frames that
differ byte for byte let a test tell whether a server returns frame 2 when asked for frame 2.
"""

from __future__ import annotations

from io import BytesIO
from typing import Final

import numpy as np
from pydicom import dcmread

from conformance.core.instances import DicomFile

#: Frames stay distinct for up to this many frames (the start values below are a permutation of 0..255).
MAX_DISTINCT_FRAMES: Final = 256

# Odd, hence invertible modulo 256: frame k starts at (1 + 67 k) mod 256, distinct for k < 256.
_FRAME_STEP: Final = 67


def monochrome_frames(frames: int, rows: int, columns: int) -> bytes:
    """``frames`` 8-bit MONOCHROME2 frames of ``rows`` x ``columns``, each a different byte ramp.

    Frame k (0-based) holds ``(1 + 67 k + i) mod 256`` at pixel i: a ramp so the image is not flat,
    shifted per frame so that no two of the first 256 frames are equal. Not padded.
    """
    if frames < 1 or rows < 1 or columns < 1:
        raise ValueError(f"need at least one frame, row and column (got {frames}, {rows}, {columns})")
    if frames > MAX_DISTINCT_FRAMES:
        raise ValueError(f"at most {MAX_DISTINCT_FRAMES} frames can have distinct byte patterns, not {frames}")
    starts = (1 + _FRAME_STEP * np.arange(frames, dtype=np.int64))[:, np.newaxis]
    ramp = np.arange(rows * columns, dtype=np.int64)[np.newaxis, :]
    return ((starts + ramp) % 256).astype(np.uint8).tobytes()


def pad_even(value: bytes) -> bytes:
    """``value`` with one NUL byte appended if its length is odd (PS3.5 7.1.1, 8.1.1)."""
    return value + b"\x00" if len(value) % 2 else value


def frame_bytes(file: DicomFile, n: int) -> bytes:
    """Frame ``n`` (1-based, as in WADO-RS ``/frames/{n}``) of an uncompressed file, as stored.

    Raises ``ValueError`` for encapsulated (compressed) pixel data, bit-packed 1-bit data or a
    file without pixel data, and ``IndexError`` if there is no frame ``n``.
    """
    ds = dcmread(BytesIO(file.data))
    if ds.file_meta.TransferSyntaxUID.is_compressed:
        raise ValueError(
            f"{file.label}: frame_bytes reads native pixel data only, not {ds.file_meta.TransferSyntaxUID.name}"
        )
    if "PixelData" not in ds:
        raise ValueError(f"{file.label}: no PixelData")
    bits_allocated = int(ds.BitsAllocated)
    if bits_allocated % 8:
        raise ValueError(f"{file.label}: BitsAllocated {bits_allocated} frames are bit-packed, not byte-aligned")
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if not 1 <= n <= frames:
        raise IndexError(f"{file.label}: frame {n} requested, the file has frames 1 to {frames}")
    length = int(ds.Rows) * int(ds.Columns) * int(ds.get("SamplesPerPixel", 1)) * bits_allocated // 8
    pixel_data: bytes = ds.PixelData
    return pixel_data[(n - 1) * length : n * length]
