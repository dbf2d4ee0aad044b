"""Unique identifiers (PS3.5 9.1, Annex B) and the suite's own UID namespace.

Every UID the suite creates on a target is ``2.25.<decimal of a random UUID>`` (PS3.5 B.2),
so it cannot collide with anyone else's data.
"""

from __future__ import annotations

import re
import uuid

MAX_UID_LENGTH = 64
SUITE_ROOT = "2.25."

# PS3.5 9.1: components of digits without leading zeros, separated by single dots.
_DICOM_UID = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")


def new_uid() -> str:
    """A fresh UID under ``2.25.`` (at most 44 characters)."""
    return SUITE_ROOT + str(uuid.uuid4().int)


def is_valid_uid(value: str) -> bool:
    """Whether ``value`` is a UID under PS3.5 9.1 (digits, dots, no leading zeros, <= 64)."""
    return len(value) <= MAX_UID_LENGTH and _DICOM_UID.fullmatch(value) is not None


def is_suite_uid(value: str) -> bool:
    """Whether ``value`` lies in the namespace this suite creates UIDs in."""
    return value.startswith(SUITE_ROOT) and is_valid_uid(value)


def uid_of_length(length: int) -> str:
    """A valid-looking UID under ``2.25.`` padded with digits to exactly ``length`` characters.

    Lengths above 64 give deliberately over-long identifiers for negative tests.
    """
    base = new_uid()
    if length <= len(base):
        raise ValueError(f"cannot build a UID of {length} characters from {base!r}")
    return base + "1" * (length - len(base))
