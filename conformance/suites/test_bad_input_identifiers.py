"""Negative input: invalid identifiers in URL paths and path traversal (GEN-04, WADO-11, WADO-14,
DEL-03, STOW-05, UPS-02, PART-02).

Generated invalid UIDs (too long, or with a character no UID rule allows) at every level of the
retrieve, metadata, frames, search and delete routes, the other levels naming real stored data,
so a server that ignored the bad segment would answer (or delete) someone else's data;
percent-encoded traversal (``%2e%2e``, ``%2F``, ``..%5C``) in place of a UID; invalid frame
lists; invalid workitem UIDs and partition names. Every answer is the documented 4xx (never 200,
never 5xx, never a hang) and the data stored before is intact.

Which strings are invalid depends on the rule the target follows (AMB-02): the documents allow
letters and ``-``, the implementation only digits and dots. The generated UIDs are invalid under
both (over 64 characters, or a character outside letters, digits, ``.`` and ``-``), plus letters
when the profile follows the implemented rule. Trailing spaces are left out (tolerated, GEN-04)
and so are segments made of dots alone (an HTTP client normalises ``..`` away before sending).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.checks import checking, expect, expect_not_stored, expect_status
from conformance.client.client import DicomwebClient
from conformance.client.responses import DicomwebResponse, JsonDatasetsResponse
from conformance.core.media_types import DICOM_JSON
from conformance.core.uids import new_uid
from conformance.plugin import Dicomweb
from conformance.profile import Capability, Profile, Rule
from conformance.suites._bad_input import bounded, expect_intact, expect_refused, store_before
from conformance.testdata.workitems import new_workitem

# Characters no UID rule allows (neither PS3.5 9.1 nor the documents' letters, digits, "." and "-").
# "/" is left to the traversal test: once decoded it is a path separator.
NEVER_IN_UIDS = "_\\?#%:;,+*'\"<>{}|^~`@!$&()[]= \x00\t\u00e9\u2024"
DIGITS = "0123456789."
TRAVERSAL = [
    "%2e%2e",
    "%2E%2E",
    ".%2e",
    "%2e.",
    "%2e%2e%2f%2e%2e",
    "..%2F..%2F..%2Fetc%2Fpasswd",
    "%2F",
    "1.2%2F3",
    "..%5C..%5C",
    "%2e%2e%5c",
    "%252e%252e",
    "..%00",
    "%00",
    "%c0%ae%c0%ae",
]


def invalid_uids(profile: Profile) -> st.SearchStrategy[str]:
    """UIDs that are invalid under the rule the profile follows (see the module docstring)."""
    too_long = st.integers(65, 128).map(lambda n: "1." + "2" * (n - 2))
    bad_char = st.tuples(
        st.text(DIGITS, max_size=20), st.sampled_from(NEVER_IN_UIDS), st.text(DIGITS, max_size=20)
    ).map(lambda parts: f"{parts[0]}{parts[1]}{parts[2]}1")
    choices = [too_long, bad_char]
    if profile.follows("AMB-02") is Rule.IMPLEMENTED:
        choices.append(st.from_regex(r"[0-9.]{0,10}[A-Za-z-][0-9A-Za-z.-]{0,10}[0-9]", fullmatch=True))
    return st.one_of(*choices).filter(lambda uid: uid.strip(".") != "")


def uid_statuses(profile: Profile) -> tuple[int, ...]:
    # PS3.18 names no status for a malformed UID: a target without the service's conventions may
    # answer 404 (no such resource) instead of 400 (GEN-04).
    return (400,) if profile.azure_compatible else (400, 404)


Call = Callable[[DicomwebClient, str, str, str], DicomwebResponse]
MULTIPART_OCTETS = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'
STUDY, SERIES, INSTANCE = ("study",), ("study", "series"), ("study", "series", "instance")
# name: (behaviour it speaks for, the path levels it has, the call)
CALLS: dict[str, tuple[str, tuple[str, ...], Call]] = {
    "study metadata": ("WADO-11", STUDY, lambda c, a, b, i: c.retrieve_study_metadata(a)),
    "series metadata": ("WADO-11", SERIES, lambda c, a, b, i: c.retrieve_series_metadata(a, b)),
    "instance metadata": ("WADO-11", INSTANCE, lambda c, a, b, i: c.retrieve_instance_metadata(a, b, i)),
    "study retrieval": ("WADO-11", STUDY, lambda c, a, b, i: c.retrieve_study(a)),
    "series retrieval": ("WADO-11", SERIES, lambda c, a, b, i: c.retrieve_series(a, b)),
    "instance retrieval": ("WADO-11", INSTANCE, lambda c, a, b, i: c.retrieve_instance(a, b, i)),
    "frame retrieval": (
        "WADO-11",
        INSTANCE,
        lambda c, a, b, i: c.retrieve_frames(a, b, i, [1], accept=MULTIPART_OCTETS),
    ),
    "search of a study's series": ("GEN-04", STUDY, lambda c, a, b, i: c.search_for_series(study=a)),
    "search of a series' instances": ("GEN-04", SERIES, lambda c, a, b, i: c.search_for_instances(study=a, series=b)),
}
DELETES: dict[str, tuple[str, tuple[str, ...], Call]] = {
    "study deletion": ("DEL-03", STUDY, lambda c, a, b, i: c.delete_study(a)),
    "series deletion": ("DEL-03", SERIES, lambda c, a, b, i: c.delete_series(a, b)),
    "instance deletion": ("DEL-03", INSTANCE, lambda c, a, b, i: c.delete_instance(a, b, i)),
}


@pytest.mark.behavior("GEN-04", "WADO-11", "DEL-03", "GEN-07")
def test_invalid_uids_in_paths_are_400_and_reach_nothing(dicomweb: Dicomweb) -> None:
    """GEN-04 (D1, D2, SRC), WADO-11 (D1, D2), DEL-03 (E2E): a generated invalid UID at one level
    of a retrieve, metadata, frames, search or delete route, the other levels naming stored data,
    is refused with 400 and a message (GEN-07; 400 or 404 from a target held to PS3.18 alone);
    afterwards the stored data is intact: nothing was returned or deleted in its place."""
    before = store_before(dicomweb)
    file = before[1]
    stored = {"study": str(file.study_uid), "series": str(file.series_uid), "instance": str(file.sop_instance_uid)}
    profile = dicomweb.profile
    calls = dict(CALLS)
    if profile.claims(Capability.DELETE):
        calls.update(DELETES)

    @bounded(dicomweb)
    @given(name=st.sampled_from(sorted(calls)), level=st.integers(0, 2), bad=invalid_uids(profile))
    def check(name: str, level: int, bad: str) -> None:
        behavior, levels, call = calls[name]
        where = levels[min(level, len(levels) - 1)]
        uids = {**stored, where: bad}
        response = call(dicomweb.client, uids["study"], uids["series"], uids["instance"])
        # DEL-03 is the service's (E2E); a target held to PS3.18 alone answers for GEN-04.
        with checking(behavior if profile.azure_compatible else "GEN-04"):
            if isinstance(response, JsonDatasetsResponse) and response.status in (200, 204):
                if not profile.azure_compatible:
                    # PS3.18 names no status for a malformed UID: a search under one may just match nothing.
                    found = len(response.objects)
                    expect(found == 0, f"a search under {bad!r} finds nothing", response=response, received=str(found))
                    return
            expect_refused(response, profile, *uid_statuses(profile), why=f"{bad!r} as the {where} UID of the {name}")

    check()
    expect_intact(dicomweb.client, before)


@pytest.mark.behavior("GEN-04", "GEN-07")
@pytest.mark.parametrize("segment", TRAVERSAL)
def test_path_traversal_reaches_nothing(dicomweb: Dicomweb, segment: str) -> None:
    """GEN-04 (D1, D2, SRC): a percent-encoded traversal in place of a UID, sent as it is, is not
    a UID: 400 or 404 with a message (GEN-07), never 200 with other data, never a 5xx. It is sent
    in place of the study, of the series under a stored study (a server that resolved ``..``
    would answer that study's metadata) and, where the target deletes, of the instance of a
    DELETE under a stored series. The stored data is intact afterwards."""
    before = store_before(dicomweb)
    file = before[0]
    profile = dicomweb.profile
    client = dicomweb.client
    json_accept = {"Accept": DICOM_JSON}
    targets = [
        ("GET", f"studies/{segment}/metadata"),
        ("GET", f"studies/{file.study_uid}/series/{segment}/metadata"),
        ("GET", f"studies/{file.study_uid}/series/{segment}"),
        ("GET", f"studies/{file.study_uid}/series/{file.series_uid}/instances/{segment}/metadata"),
    ]
    if profile.claims(Capability.DELETE):
        targets.append(("DELETE", f"studies/{file.study_uid}/series/{file.series_uid}/instances/{segment}"))
    # RFC 3986 2.3 / 6.2.2: %2E is an unreserved ".", so a segment of encoded dots alone is "..";
    # a server that normalises it and answers the parent resource is conformant. Only the Azure
    # service's rule (a segment that is not a UID is refused) goes further.
    dot_segment = unquote(segment) in (".", "..")
    for method, path in targets:
        response = client.request(method, path, headers=json_accept if method == "GET" else None)
        with checking("GEN-04"):
            if dot_segment and not profile.azure_compatible:
                expect(
                    response.status < 500,
                    f"{segment!r} is answered without a server error ({method} {path})",
                    response=response,
                    received=str(response.status),
                )
            else:
                expect_refused(response, profile, 400, 404, why=f"{segment!r} names no resource ({method} {path})")
    expect_intact(client, before)


@pytest.mark.behavior("WADO-14")
def test_invalid_frame_lists_are_400(dicomweb: Dicomweb) -> None:
    """WADO-14 (E2E, SRC): a frame list holding 0, a negative number or something that is not a
    number is refused with 400; a list of positive numbers past the frame count with 404. The
    multi-frame instance stored before (3 frames) is intact afterwards."""
    before = store_before(dicomweb)
    frames = before[1]
    uids = (str(frames.study_uid), str(frames.series_uid), str(frames.sop_instance_uid))
    profile = dicomweb.profile
    invalid_piece = st.one_of(st.integers(-1000, 0).map(str), st.sampled_from(["a", "x1", "1x", "1.5", "one"]))
    invalid = st.tuples(st.lists(st.integers(1, 3).map(str), max_size=3), invalid_piece, st.integers(0, 3)).map(
        lambda t: ",".join([*t[0][: t[2]], t[1], *t[0][t[2] :]])
    )
    beyond = st.lists(st.integers(1, 3), max_size=3).flatmap(
        lambda ok: st.integers(4, 10**6).map(lambda big: ",".join(map(str, [*ok, big])))
    )

    @bounded(dicomweb)
    @given(frame_list=st.one_of(invalid, beyond))
    def check(frame_list: str) -> None:
        past_the_end = all(p.isdigit() and int(p) >= 1 for p in frame_list.split(","))
        response = dicomweb.client.retrieve_frames(*uids, frame_list, accept=MULTIPART_OCTETS)
        if past_the_end:
            expect_refused(
                response, profile, 404, why=f"frames {frame_list}: the instance has 3 frames", message_behavior=None
            )
        else:
            expect_refused(
                response, profile, 400, why=f"frames {frame_list}: frames are numbered from 1", message_behavior=None
            )

    check()
    expect_intact(dicomweb.client, before)


@pytest.mark.behavior("STOW-05", "GEN-04", "GEN-07")
def test_invalid_study_uid_in_stow_path_stores_nothing(dicomweb: Dicomweb) -> None:
    """STOW-05 (E2E), GEN-04: a generated invalid study UID in the STOW path is refused with 400
    before any part is read (400 or 409 from a target held to PS3.18 alone), and the instance of
    the request is not stored."""
    before = store_before(dicomweb)
    profile = dicomweb.profile

    @bounded(dicomweb)
    @given(bad=invalid_uids(profile))
    def check(bad: str) -> None:
        file = dicomweb.instances.instance()
        response = dicomweb.client.store_instances([file], study_uid=bad)
        allowed = (400,) if profile.azure_compatible else (400, 409)
        expect_refused(response, profile, *allowed, why=f"study UID {bad!r} in the STOW path")
        expect_not_stored(dicomweb.client, file, why="nothing is stored when the path UID is invalid")

    check()
    expect_intact(dicomweb.client, before)


@pytest.mark.behavior("UPS-02")
@pytest.mark.requires("workitems")
def test_invalid_workitem_uids_are_400(dicomweb: Dicomweb) -> None:
    """UPS-02 (SRC): a generated invalid workitem UID in the path of retrieve, update, change
    state or cancellation request is refused with 400 and a message; a workitem created
    before is unchanged afterwards."""
    profile = dicomweb.profile
    client = dicomweb.client
    item = new_workitem("bad identifiers")
    expect_status(client.create_workitem(item.dataset, item.uid), 201, why="a valid workitem is created")
    created = client.retrieve_workitem(item.uid)
    expect_status(created, 200, why="the workitem created before the bad requests is readable")
    calls: dict[str, Callable[[str], DicomwebResponse]] = {
        "retrieve": lambda uid: client.retrieve_workitem(uid),
        "update": lambda uid: client.update_workitem(uid, {}),
        "change state": lambda uid: client.change_workitem_state(uid, "IN PROGRESS", new_uid()),
        "cancellation request": lambda uid: client.request_cancellation(uid, {}),
    }

    @bounded(dicomweb)
    @given(name=st.sampled_from(sorted(calls)), bad=invalid_uids(profile))
    def check(name: str, bad: str) -> None:
        expect_refused(
            calls[name](bad), profile, 400, why=f"{bad!r} as the workitem UID of {name}", message_behavior=None
        )

    check()
    after = client.retrieve_workitem(item.uid)
    expect_status(after, 200, why="the workitem created before the bad requests is still there")
    expect(
        after.json() == created.json(),
        "the workitem created before the bad requests is unchanged",
        response=after,
        expected="the attributes it had",
        received="other attributes",
    )


PARTITION_NAME = r"[A-Za-z0-9_.-]"


@pytest.mark.behavior("PART-02")
@pytest.mark.requires("partitions")
def test_invalid_partition_names_are_400(dicomweb: Dicomweb) -> None:
    """PART-02 (DDP, SRC): a partition name of more than 64 characters, or with a character other
    than ``A-Z a-z 0-9 . - _`` (``@``, ``!``, a space, ...), is refused with 400 and a message on
    search, retrieve and store; nothing is stored, and the data stored before is intact."""
    before = store_before(dicomweb)
    file = before[0]
    assert file.study_uid
    profile = dicomweb.profile
    too_long = st.from_regex(PARTITION_NAME + "{65,80}", fullmatch=True)
    bad_char = st.tuples(
        st.from_regex(PARTITION_NAME + "{0,10}", fullmatch=True),
        st.sampled_from("@!#$%^&*()+=[]{}|\\:;'\"<>?,~` \u00e9"),
        st.from_regex(PARTITION_NAME + "{0,10}", fullmatch=True),
    ).map("".join)

    @bounded(dicomweb)
    @given(name=st.one_of(too_long, bad_char), action=st.sampled_from(["search", "retrieve", "store"]))
    def check(name: str, action: str) -> None:
        partition = dicomweb.client.in_partition(name)
        response: DicomwebResponse
        if action == "search":
            response = partition.search_for_studies([("StudyInstanceUID", str(file.study_uid))])
        elif action == "retrieve":
            response = partition.retrieve_study_metadata(str(file.study_uid))
        else:
            fresh = dicomweb.instances.instance()
            response = partition.store_instances([fresh])
        expect_refused(response, profile, 400, why=f"partition name {name!r} ({action})", message_behavior=None)

    check()
    expect_intact(dicomweb.client, before)
