"""Negative input: malformed multipart/related STOW bodies (STOW-03, STOW-12, STOW-13, STOW-15).

Generated damage to the framing of a valid request (RFC 2046 5.1.1: delimiters are CRLF "--"
boundary, the body ends with the close delimiter; part headers are ``name: value`` lines):
truncated bodies, a missing close delimiter, another boundary in the header than in the body,
bare LF line breaks, text after a delimiter, a header line without a colon (up to 64 KiB), a part
without Content-Type after the first, empty parts, each sent with Content-Length or chunked. The
answer is a 4xx with a message (never a 5xx, never a hang), the damaged instance is not stored,
and the instances stored before are intact.

Which damage a target is held to: every target must refuse a truncated body, one without its
close delimiter and one whose boundary never occurs (PS3.18 10.5.3 400 "formed incorrectly");
a target held to PS3.18 alone may answer 409 instead of 400 when it got as far as reading a part
(Table 10.5.3-1). The stricter parsing rules (bare LF, text after a delimiter, a header line
without a colon, a part without Content-Type) are the service's (STOW-03, SRC), so only
Azure-compatible targets are held to them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.checks import (
    checking,
    expect_not_stored,
    expect_referenced,
    expect_status,
    expect_stored,
    store_result,
)
from conformance.client.responses import StoreResponse
from conformance.core.instances import DicomFile
from conformance.core.media_types import DICOM, DICOM_JSON
from conformance.core.multipart import encode_multipart_related, new_boundary
from conformance.plugin import Dicomweb
from conformance.profile import Profile
from conformance.suites._bad_input import bounded, expect_intact, expect_refused, send_chunked, store_before
from conformance.suites._support import expect_nothing_stored

PORTABLE = ("truncated", "no-close-delimiter", "boundary-mismatch")
SERVICE_RULES = ("bare-lf", "text-after-delimiter", "header-without-colon", "part-without-content-type")


@dataclass(frozen=True)
class Damage:
    """One way of breaking a valid multipart body; ``at`` places it (0..1), ``size`` sizes it."""

    kind: str
    at: float
    size: int
    chunk: int | None  # None: sent with Content-Length; else Transfer-Encoding: chunked in chunks of this size

    def apply(self, files: list[DicomFile], boundary: str) -> tuple[bytes, str]:
        """The damaged body and its Content-Type."""
        content_type = f'multipart/related; type="{DICOM}"; boundary={boundary}'
        parts = [([("Content-Type", DICOM)], file.data) for file in files]
        if self.kind == "part-without-content-type":
            parts[-1] = ([], files[-1].data)
        body = encode_multipart_related(parts, boundary=boundary)
        close = b"\r\n--" + boundary.encode() + b"--"
        end_of_parts = body.rindex(close)
        if self.kind == "truncated":  # cut anywhere before the close delimiter
            return body[: 1 + int(self.at * (end_of_parts - 1))], content_type
        if self.kind == "no-close-delimiter":
            return body[:end_of_parts] + b"\r\n", content_type
        if self.kind == "boundary-mismatch":
            return body, f'multipart/related; type="{DICOM}"; boundary={new_boundary()}'
        dash = b"--" + boundary.encode()
        if self.kind == "bare-lf":  # every CRLF of the framing (not of the data) a bare LF
            framing = b"\n" + dash + b"\nContent-Type: " + DICOM.encode() + b"\n\n"
            out = b"".join(framing + file.data for file in files)
            return out.removeprefix(b"\n") + b"\n" + dash + b"--\n", content_type
        if self.kind == "text-after-delimiter":
            return body.replace(dash + b"\r\n", dash + b" not-padding\r\n", 1), content_type
        if self.kind == "header-without-colon":
            line = b"X" * self.size
            return body.replace(b"\r\n\r\n", b"\r\n" + line + b"\r\n\r\n", 1), content_type
        assert self.kind == "part-without-content-type"
        return body, content_type

    def statuses(self, profile: Profile) -> tuple[int, ...]:
        if self.kind == "part-without-content-type":
            return (415,)  # STOW-03: only a first part may omit it
        return (400,) if profile.azure_compatible else (400, 409)


def damages(profile: Profile) -> st.SearchStrategy[Damage]:
    kinds = PORTABLE + (SERVICE_RULES if profile.azure_compatible else ())
    return st.builds(
        Damage,
        kind=st.sampled_from(kinds),
        at=st.floats(0, 1),
        size=st.integers(1, 64 * 1024),
        chunk=st.one_of(st.none(), st.sampled_from([1, 7, 1000, 65536])),
    )


def send(
    dicomweb: Dicomweb, body: bytes, content_type: str, files: list[DicomFile], chunk: int | None
) -> StoreResponse:
    """POST ``body`` to ``studies``, with Content-Length or chunked; ``files`` go to the cleanup first."""
    if chunk is None:
        return dicomweb.client.store_body(body, content_type, sent=files)
    headers = {"Content-Type": content_type, "Accept": DICOM_JSON}
    response = send_chunked(dicomweb.client, "POST", "studies", body, headers, chunk=chunk, sent=files)
    return StoreResponse(exchange=response.exchange, raw=response.raw)


@pytest.mark.behavior("STOW-13", "STOW-03", "GEN-07")
def test_malformed_multipart_is_refused_and_changes_nothing(dicomweb: Dicomweb) -> None:
    """STOW-13 (D1, D2, SRC), STOW-03 (SRC): generated framing damage (see the module docstring)
    is refused with 400 (415 for a later part without Content-Type), with a message (GEN-07),
    whether the body comes with Content-Length or chunked; neither instance of the request is
    stored, and the instances stored before are intact."""
    before = store_before(dicomweb)
    profile = dicomweb.profile

    @bounded(dicomweb)
    @given(damage=damages(profile))
    def check(damage: Damage) -> None:
        files = [dicomweb.instances.instance(), dicomweb.instances.instance()]
        body, content_type = damage.apply(files, new_boundary())
        response = send(dicomweb, body, content_type, files, damage.chunk)
        sent = "chunked" if damage.chunk else "with Content-Length"
        with checking("STOW-03" if damage.kind in SERVICE_RULES else "STOW-13"):
            expect_refused(response, profile, *damage.statuses(profile), why=f"a {damage.kind} multipart body ({sent})")
            for file in files:
                expect_not_stored(dicomweb.client, file, why=f"nothing of a {damage.kind} request is stored")

    check()
    expect_intact(dicomweb.client, before)


@pytest.mark.behavior("STOW-12", "STOW-15", "GEN-07")
def test_empty_parts_fail_on_their_own(dicomweb: Dicomweb) -> None:
    """STOW-12 (E2E), STOW-15 (E2E): any number of zero-byte parts, alone or around one valid
    instance: alone nothing is stored (409 with a FailedSOPSequence; 400 allowed from a target held
    to PS3.18 alone), beside a valid instance that one is stored and the answer is 202. Sent with
    Content-Length or chunked; the instances stored before are intact."""
    before = store_before(dicomweb)
    profile = dicomweb.profile

    @bounded(dicomweb)
    @given(
        empty=st.integers(1, 30),
        valid_at=st.one_of(st.none(), st.integers(0, 30)),
        chunk=st.one_of(st.none(), st.sampled_from([1, 7, 1000])),
    )
    def check(empty: int, valid_at: int | None, chunk: int | None) -> None:
        files = [dicomweb.instances.empty() for _ in range(empty)]
        good = None
        if valid_at is not None:
            good = dicomweb.instances.instance()
            files.insert(min(valid_at, len(files)), good)
        boundary = new_boundary()
        body = encode_multipart_related([([("Content-Type", DICOM)], f.data) for f in files], boundary=boundary)
        content_type = f'multipart/related; type="{DICOM}"; boundary={boundary}'
        response = send(dicomweb, body, content_type, [good] if good else [], chunk)
        if good is None:
            with checking("STOW-12"):
                expect_nothing_stored(response, profile, None, None, why=f"{empty} empty part(s) and nothing else")
            return
        with checking("STOW-15"):
            expect_status(response, 202, why=f"one valid instance among {empty} empty part(s) is a partial success")
            store_result(response)
            expect_referenced(response, good, why="the valid instance among the empty parts is stored")
            expect_stored(dicomweb.client, good, why="the valid instance among the empty parts is retrievable")

    check()
    expect_intact(dicomweb.client, before)


@pytest.mark.behavior("STOW-01")
def test_chunked_request_body_is_stored(dicomweb: Dicomweb) -> None:
    """STOW-01 (D1, D2, DTUT): an accepted request form stays accepted when its body is sent with
    ``Transfer-Encoding: chunked`` (which every HTTP/1.1 recipient must parse, RFC 9112 7.1):
    200 and every instance stored, byte for byte. A server once answered such a STOW with
    success and stored nothing (interop pitfalls 1 and 2)."""
    files = [dicomweb.instances.instance(), dicomweb.instances.multiframe(frames=3)]
    boundary = new_boundary()
    body = encode_multipart_related([([("Content-Type", DICOM)], f.data) for f in files], boundary=boundary)
    response = send(dicomweb, body, f'multipart/related; type="{DICOM}"; boundary={boundary}', files, 1000)
    expect_status(response, 200, why="every instance of the chunked request is valid")
    store_result(response)
    for file in files:
        expect_referenced(response, file, why="each instance of the chunked request is listed as stored")
    expect_intact(dicomweb.client, files)
