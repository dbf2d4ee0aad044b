"""Negative input: malformed JSON bodies of bulk update and extended query tags (BULK-04, EQT-03).

Run only against targets that claim these features. Each generated body is one the documents
or the implementation refuse with 400: for ``studies/$bulkUpdate`` (BULK-02, BULK-04) text that
is not JSON, ``studyInstanceUids`` missing, empty, over 50 UIDs or holding an invalid UID,
``changeDataset`` missing or naming an attribute that cannot be updated (a sequence, a UID); for
``extendedquerytags`` (EQT-01, EQT-03) an empty array, a tag without ``level`` or with an empty
``path``, an unknown level (``Studys``), an unparsable tag, a core QIDO attribute, the same path
twice. Never a 5xx or a hang; the study stored before keeps its values.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from conformance.plugin import Dicomweb
from conformance.suites._bad_input import expect_intact, expect_refused, store_before
from conformance.suites._support import require_api_version

JSON = "application/json"
NEW_NAME = {"00100010": {"vr": "PN", "Value": [{"Alphabetic": "Should^NotChange"}]}}


def bulk_bodies(study: str) -> list[tuple[str, Any]]:
    """(what is wrong, the body) for ``studies/$bulkUpdate``; each names the stored study."""
    return [
        ("text that is not JSON", b"{ studyInstanceUids: "),
        ("no studyInstanceUids", {"changeDataset": NEW_NAME}),
        ("an empty studyInstanceUids", {"studyInstanceUids": [], "changeDataset": NEW_NAME}),
        ("51 study UIDs", {"studyInstanceUids": [study] + [f"2.25.{n}" for n in range(50)], "changeDataset": NEW_NAME}),
        ("an invalid study UID", {"studyInstanceUids": [study, "1.2.abc_"], "changeDataset": NEW_NAME}),
        ("no changeDataset", {"studyInstanceUids": [study]}),
        (
            "a sequence to change",
            {"studyInstanceUids": [study], "changeDataset": {"00081110": {"vr": "SQ", "Value": [{}]}}},
        ),
        (
            "a UID to change",
            {"studyInstanceUids": [study], "changeDataset": {"0020000D": {"vr": "UI", "Value": ["2.25.1"]}}},
        ),
        (
            "an invalid date",
            {"studyInstanceUids": [study], "changeDataset": {"00100030": {"vr": "DA", "Value": ["2020-01-01"]}}},
        ),
    ]


TAG_BODIES: list[tuple[str, Any]] = [
    ("text that is not JSON", b"[{path: "),
    ("an empty array", []),
    ("a tag without level", [{"path": "00101010", "vr": "AS"}]),
    ("a tag with an empty path", [{"path": "", "level": "Study"}]),
    ("an unknown level", [{"path": "00101010", "vr": "AS", "level": "Studys"}]),
    ("an unparsable tag", [{"path": "NotATag", "level": "Study"}]),
    ("a core QIDO attribute", [{"path": "PatientName", "level": "Study"}]),
    ("the same path twice", [{"path": "00101010", "level": "Study"}, {"path": "00101010", "level": "Study"}]),
    ("a sequence", [{"path": "00081110", "level": "Study"}]),
]


def _encode(body: Any) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


@pytest.mark.behavior("BULK-04")
@pytest.mark.requires("bulk_update")
def test_malformed_bulk_updates_are_400(dicomweb: Dicomweb) -> None:
    """BULK-04 (DBU, SRC): each malformed bulk update body (see the module docstring) is refused
    with 400 and a message; the stored study it names is intact afterwards (no update ran)."""
    require_api_version(dicomweb.profile, "v2")
    before = store_before(dicomweb)
    for label, body in bulk_bodies(str(before[0].study_uid)):
        response = dicomweb.client.request(
            "POST", "studies/$bulkUpdate", headers={"Content-Type": JSON, "Accept": JSON}, content=_encode(body)
        )
        expect_refused(response, dicomweb.profile, 400, why=f"a bulk update with {label}", message_behavior=None)
    expect_intact(dicomweb.client, before)


@pytest.mark.behavior("EQT-03")
@pytest.mark.requires("extended_query_tags")
@pytest.mark.parametrize(("label", "body"), TAG_BODIES, ids=[label for label, _ in TAG_BODIES])
def test_malformed_extended_query_tags_are_400(dicomweb: Dicomweb, label: str, body: Any) -> None:
    """EQT-03 (DEQT, E2E, SRC): each malformed body adding extended query tags (see the module
    docstring) is refused with 400 and a message."""
    url = f"{dicomweb.client.version_root}/extendedquerytags"
    response = dicomweb.client.request(
        "POST", url, headers={"Content-Type": JSON, "Accept": JSON}, content=_encode(body)
    )
    expect_refused(
        response, dicomweb.profile, 400, why=f"adding extended query tags with {label}", message_behavior=None
    )
