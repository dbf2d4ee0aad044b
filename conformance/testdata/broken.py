"""Byte-level damage: inputs that are not DICOM, or Part-10 files spoilt after they were written.

Damage to individual attribute values is done while writing (see
:class:`~conformance.testdata.factory.InstanceFactory`); what is here works on bytes alone.
Each function returns a :class:`DicomFile` carrying the identifiers that survive in the bytes.
"""

from __future__ import annotations

import dataclasses
from typing import Final

from conformance.core.instances import DicomFile
from conformance.testdata.part10 import PREAMBLE_LENGTH, PREFIX, ZERO_PREAMBLE

_TEXT: Final = b"This is not a DICOM file. "

#: What follows ``DICM`` in :func:`garbage_after_preamble`: text, so the first "element" read is
#: (6854,7369) with VR "s " - neither group 0002 nor a valid VR (PS3.10 7.1 requires group 0002).
GARBAGE: Final = b"This is no File Meta Information, just text after the DICM prefix. " * 4


def non_dicom(size: int = 1024) -> DicomFile:
    """``size`` bytes of plain text: no preamble, no ``DICM`` prefix, no data set."""
    if size < 1:
        raise ValueError("non_dicom needs at least one byte; use empty() for none")
    data = (_TEXT * (size // len(_TEXT) + 1))[:size]
    return DicomFile(data=data, label=f"non-DICOM bytes ({size} bytes of text)")


def empty() -> DicomFile:
    """Zero bytes."""
    return DicomFile(data=b"", label="empty (0 bytes)")


def garbage_after_preamble() -> DicomFile:
    """A zero preamble and the ``DICM`` prefix followed by text instead of File Meta Information."""
    return DicomFile(data=ZERO_PREAMBLE + PREFIX + GARBAGE, label="preamble and DICM followed by garbage")


def replace_preamble(file: DicomFile, preamble: bytes) -> DicomFile:
    """``file`` with its 128-byte preamble replaced.

    PS3.10 7.1 leaves the preamble's content to applications (all zero when unused); since it can
    hide another format's header, servers may zero it before storing or returning the file.
    """
    if len(preamble) != PREAMBLE_LENGTH:
        raise ValueError(f"a preamble is {PREAMBLE_LENGTH} bytes, not {len(preamble)}")
    if file.data[PREAMBLE_LENGTH : PREAMBLE_LENGTH + len(PREFIX)] != PREFIX:
        raise ValueError(f"{file.label} is not a Part-10 file (no DICM prefix at byte {PREAMBLE_LENGTH})")
    label = f"{file.label}, preamble starting {preamble[:8].hex(' ')}"
    return dataclasses.replace(file, data=preamble + file.data[PREAMBLE_LENGTH:], label=label)


def truncate(file: DicomFile, keep: int | None = None) -> DicomFile:
    """The first ``keep`` bytes of ``file`` (default: half of it).

    An identifier survives when its value is still whole in the kept bytes; the SOP instance UID
    may survive in the File Meta Information even when the data set's copy is cut off.
    """
    keep = len(file.data) // 2 if keep is None else keep
    if not 0 < keep < len(file.data):
        raise ValueError(f"keep must be between 1 and {len(file.data) - 1} bytes, not {keep}")
    data = file.data[:keep]

    def survives(uid: str | None) -> str | None:
        return uid if uid and uid.encode("ascii", "replace") in data else None

    return dataclasses.replace(
        file,
        data=data,
        label=f"{file.label}, truncated to {keep} of {len(file.data)} bytes",
        study_uid=survives(file.study_uid),
        series_uid=survives(file.series_uid),
        sop_instance_uid=survives(file.sop_instance_uid),
        sop_class_uid=survives(file.sop_class_uid),
    )
