"""A structural walk over a stored Part-10 file (PS3.10 7.1, PS3.5 7.1-7.5).

pydicom reads truncated files without complaint (a value cut short, a sequence without its
delimiter), so every upload is walked element by element here first: each value length must
fit in the file and every undefined-length sequence must be closed. The walk also finds where
the top-level Pixel Data value lies, so frames can later be read straight from the file.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

PREAMBLE_LENGTH = 128
MAGIC = b"DICM"
UNDEFINED_LENGTH = 0xFFFFFFFF
PIXEL_DATA = 0x7FE00010
ITEM = 0xFFFEE000
ITEM_DELIMITER = 0xFFFEE00D
SEQUENCE_DELIMITER = 0xFFFEE0DD
MAX_NESTING = 64

IMPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2"
EXPLICIT_VR_BIG_ENDIAN = "1.2.840.10008.1.2.2"
DEFLATED = frozenset({"1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.8.1"})

# PS3.5 7.1.2: explicit VRs with a 2-byte reserved field and a 4-byte length.
_LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"})
_KNOWN_VRS = _LONG_VRS | frozenset(
    {b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FD", b"FL", b"IS", b"LO", b"LT", b"PN", b"SH", b"SL"}
    | {b"SS", b"ST", b"TM", b"UI", b"UL", b"US"}
)


class StructureError(ValueError):
    """The file is not a complete, well-formed Part-10 file."""


@dataclass(frozen=True, slots=True)
class PixelLocation:
    """Where the top-level Pixel Data value starts and how long it is (None: undefined length)."""

    offset: int
    length: int | None


class _Walker:
    def __init__(self, fp: BinaryIO, size: int, *, implicit: bool, little: bool) -> None:
        self.fp = fp
        self.size = size
        self.implicit = implicit
        self.endian = "<" if little else ">"
        self.pixel: PixelLocation | None = None

    def _read(self, pos: int, count: int) -> bytes:
        if pos + count > self.size:
            raise StructureError(f"file ends inside an element header at byte {pos}")
        self.fp.seek(pos)
        data = self.fp.read(count)
        if len(data) != count:
            raise StructureError(f"file ends inside an element header at byte {pos}")
        return data

    def _tag(self, pos: int) -> int:
        group, element = struct.unpack(self.endian + "HH", self._read(pos, 4))
        return int(group) << 16 | int(element)

    def dataset(self, pos: int, end: int, depth: int, *, until_item_delimiter: bool) -> int:
        """Walk elements from ``pos``; return the position after the dataset."""
        if depth > MAX_NESTING:
            raise StructureError("sequences nested too deeply")
        while pos < end:
            tag = self._tag(pos)
            if tag == ITEM_DELIMITER:
                if not until_item_delimiter:
                    raise StructureError(f"unexpected item delimiter at byte {pos}")
                return pos + 8
            if tag in (ITEM, SEQUENCE_DELIMITER):
                raise StructureError(f"unexpected item tag at byte {pos}")
            pos = self._element(pos, tag, end, depth)
        if until_item_delimiter:
            raise StructureError("sequence item is not closed before the end of the file")
        return pos

    def _element(self, pos: int, tag: int, end: int, depth: int) -> int:
        implicit_items = self.implicit
        if self.implicit:
            (length,) = struct.unpack(self.endian + "I", self._read(pos + 4, 4))
            value_pos = pos + 8
        else:
            vr = self._read(pos + 4, 2)
            if vr not in _KNOWN_VRS:
                raise StructureError(f"unknown VR {vr!r} at byte {pos}")
            # PS3.5 6.2.2: an undefined-length UN holds implicit VR little endian items.
            implicit_items = vr == b"UN"
            if vr in _LONG_VRS:
                (length,) = struct.unpack(self.endian + "I", self._read(pos + 8, 4))
                value_pos = pos + 12
            else:
                (length,) = struct.unpack(self.endian + "H", self._read(pos + 6, 2))
                value_pos = pos + 8
        if tag == PIXEL_DATA and depth == 0:
            self.pixel = PixelLocation(value_pos, None if length == UNDEFINED_LENGTH else int(length))
        if length == UNDEFINED_LENGTH:
            if implicit_items and not self.implicit:
                return _Walker(self.fp, self.size, implicit=True, little=True)._items(value_pos, end, depth + 1)
            return self._items(value_pos, end, depth + 1)
        value_end = value_pos + int(length)
        if value_end > end:
            raise StructureError(f"value of ({tag >> 16:04X},{tag & 0xFFFF:04X}) runs past the end of the file")
        return value_end

    def _items(self, pos: int, end: int, depth: int) -> int:
        """Items of an undefined-length sequence (or encapsulated fragments), up to the delimiter."""
        while True:
            tag = self._tag(pos)
            (length,) = struct.unpack(self.endian + "I", self._read(pos + 4, 4))
            pos += 8
            if tag == SEQUENCE_DELIMITER:
                return pos
            if tag != ITEM:
                raise StructureError(f"expected an item tag at byte {pos - 8}")
            if length == UNDEFINED_LENGTH:
                pos = self.dataset(pos, end, depth, until_item_delimiter=True)
            else:
                pos += int(length)
                if pos > end:
                    raise StructureError("sequence item runs past the end of the file")


def dataset_start(fp: BinaryIO, size: int) -> int:
    """Position of the first data set element after the File Meta Information (always explicit LE)."""
    pos = PREAMBLE_LENGTH + len(MAGIC)
    walker = _Walker(fp, size, implicit=False, little=True)
    while pos + 4 <= size:
        if walker._tag(pos) >> 16 != 0x0002:
            return pos
        pos = walker._element(pos, walker._tag(pos), size, 0)
    return pos


def check_structure(fp: BinaryIO, size: int, transfer_syntax: str) -> PixelLocation | None:
    """Walk the whole file; raise StructureError when it is truncated or malformed.

    Returns the location of top-level Pixel Data (None when absent). Deflated data sets cannot
    be walked in place; they are only checked through pydicom and report no location.
    """
    start = dataset_start(fp, size)
    if transfer_syntax in DEFLATED:
        return None
    walker = _Walker(
        fp,
        size,
        implicit=transfer_syntax == IMPLICIT_VR_LITTLE_ENDIAN,
        little=transfer_syntax != EXPLICIT_VR_BIG_ENDIAN,
    )
    walker.dataset(start, size, 0, until_item_delimiter=False)
    return walker.pixel
