"""Negative input: malformed DICOM files in STOW requests (STOW-12, STOW-15).

Generated damage to a valid Part-10 file: cut off inside the value of any element (File Meta
Information included), an element whose length field runs past the end of the file, text in
place of the File Meta Information after the preamble, bytes that are not DICOM at all. Such a
file holds no instance the server could store: alone in a request nothing is stored (409 with a
FailedSOPSequence; 400 allowed from a target held to PS3.18 alone, STOW-12), beside a valid
instance that one is stored (202, STOW-15), whether sent as a multipart part or as the
single-part body. Never a 5xx, never a hang, and the instances stored before are intact.

Element positions are found by reading the file's own bytes (``pydicom``'s raw element reader),
so every cut lands strictly inside a value: a cut on an element boundary would leave a shorter
but valid file.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydicom.dataelem import RawDataElement
from pydicom.filereader import data_element_generator

from conformance.checks import (
    checking,
    expect_not_stored,
    expect_referenced,
    expect_status,
    expect_stored,
    store_result,
)
from conformance.core.instances import DicomFile
from conformance.plugin import Dicomweb
from conformance.suites._bad_input import bounded, expect_intact, store_before
from conformance.suites._support import expect_nothing_stored
from conformance.testdata.part10 import PREAMBLE_LENGTH, PREFIX

LONG_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}


@dataclass(frozen=True, slots=True)
class Element:
    """Where one element of an Explicit VR Little Endian file lies: its length field and value."""

    tag: int
    vr: str
    length_at: int
    length_size: int
    value_at: int
    length: int


def elements(data: bytes) -> list[Element]:
    """Every top-level element after the ``DICM`` prefix (the builders write Explicit VR LE)."""
    stream = io.BytesIO(data)
    stream.seek(PREAMBLE_LENGTH + len(PREFIX))
    found = []
    for raw in data_element_generator(stream, is_implicit_VR=False, is_little_endian=True):
        assert isinstance(raw, RawDataElement)  # values are never decoded here
        vr = str(raw.VR)
        size = 4 if vr in LONG_VRS else 2
        found.append(Element(int(raw.tag), vr, raw.value_tell - size, size, raw.value_tell, raw.length))
    return found


@dataclass(frozen=True)
class Damage:
    kind: str  # "cut", "length-past-end", "garbage-after-preamble", "not-dicom"
    element: int  # which element (modulo their number)
    at: float  # where in the value a cut lands (0..1)
    extra: int  # how far past the end a length points

    def apply(self, file: DicomFile) -> DicomFile:
        data = file.data
        if self.kind == "garbage-after-preamble":
            garbage = b"This is no File Meta Information, just text. " * (1 + self.extra % 20)
            return replace(file, data=data[: PREAMBLE_LENGTH + len(PREFIX)] + garbage, label="DICM then text")
        if self.kind == "not-dicom":
            return replace(file, data=(b"Not a DICOM file. " * (1 + self.extra))[:4096], label="not DICOM")
        candidates = [e for e in elements(data) if e.length > 1 and e.length != 0xFFFFFFFF]
        element = candidates[self.element % len(candidates)]
        if self.kind == "cut":
            cut = element.value_at + 1 + int(self.at * (element.length - 2))
            label = f"cut inside ({element.tag >> 16:04X},{element.tag & 0xFFFF:04X}) at byte {cut}"
            return replace(file, data=data[:cut], label=label)
        assert self.kind == "length-past-end"
        limit = 0xFFFF if element.length_size == 2 else 0xFFFFFFFE
        length = min(len(data) - element.value_at + 1 + self.extra, limit)
        if length <= len(data) - element.value_at:
            length = len(data) - element.value_at + 1  # a 2-byte length cannot reach past a big file
        patched = (
            data[: element.length_at]
            + length.to_bytes(element.length_size, "little")
            + data[element.length_at + element.length_size :]
        )
        label = f"({element.tag >> 16:04X},{element.tag & 0xFFFF:04X}) {element.vr} length {length} past the end"
        return replace(file, data=patched, label=label)


DAMAGES = st.builds(
    Damage,
    kind=st.sampled_from(["cut", "cut", "length-past-end", "garbage-after-preamble", "not-dicom"]),
    element=st.integers(0, 200),
    at=st.floats(0, 1),
    extra=st.integers(0, 5000),
)


def _spoilt(dicomweb: Dicomweb, damage: Damage) -> DicomFile:
    valid = dicomweb.instances.multiframe(frames=2)
    assert len(valid.data) < 0xFFFF, "a 2-byte length must be able to reach past the end of the test file"
    return damage.apply(valid)


@pytest.mark.behavior("STOW-12", "STOW-15")
def test_malformed_dicom_files_store_nothing(dicomweb: Dicomweb) -> None:
    """STOW-12 (D1, D2, E2E), STOW-15 (E2E): a generated malformed file (see the module docstring)
    fails on its own: alone in a multipart request nothing is stored (409, or 400 from a target
    held to PS3.18 alone), beside a valid instance that one is stored (202); the instances stored
    before are intact."""
    before = store_before(dicomweb)
    profile = dicomweb.profile

    @bounded(dicomweb)
    @given(damage=DAMAGES, with_valid=st.booleans())
    def check(damage: Damage, with_valid: bool) -> None:
        bad = _spoilt(dicomweb, damage)
        if not with_valid:
            response = dicomweb.client.store_instances([bad])
            with checking("STOW-12"):
                expect_nothing_stored(response, profile, None, None, why=f"the only part is malformed: {bad.label}")
        else:
            good = dicomweb.instances.instance()
            response = dicomweb.client.store_instances([bad, good])
            with checking("STOW-15"):
                expect_status(response, 202, why=f"a valid instance beside a malformed one ({bad.label})")
                store_result(response)
                expect_referenced(response, good, why="the valid instance beside the malformed one is stored")
                expect_stored(dicomweb.client, good, why="the valid instance beside the malformed one is retrievable")
        if bad.identifies_instance:
            with checking("STOW-12"):
                expect_not_stored(dicomweb.client, bad, why=f"nothing of a malformed file is stored ({bad.label})")

    check()
    expect_intact(dicomweb.client, before)


@pytest.mark.behavior("STOW-12")
@pytest.mark.requires("store_single_part")
def test_malformed_single_part_body_stores_nothing(dicomweb: Dicomweb) -> None:
    """STOW-12 (D1, D2, E2E): the same malformed files as the single-part ``application/dicom``
    body: nothing is stored (409, or 400 from a target held to PS3.18 alone); the instances
    stored before are intact."""
    before = store_before(dicomweb)
    profile = dicomweb.profile

    @bounded(dicomweb)
    @given(damage=DAMAGES)
    def check(damage: Damage) -> None:
        bad = _spoilt(dicomweb, damage)
        response = dicomweb.client.store_single_part(bad)
        expect_nothing_stored(response, profile, None, None, why=f"the body is a malformed file: {bad.label}")
        if bad.identifies_instance:
            expect_not_stored(dicomweb.client, bad, why=f"nothing of a malformed file is stored ({bad.label})")

    check()
    expect_intact(dicomweb.client, before)
