"""Negative input: hostile QIDO-RS query strings (QIDO-03, QIDO-04, QIDO-05, QIDO-08, QIDO-10,
QIDO-12).

Generated bad parameters, each added to a search that would otherwise find a stored study
(``StudyInstanceUID={stored}``), so a server that ignored the bad parameter would answer 200 with
that study: ``limit`` that is no integer or outside 1..200 (huge ones included), a negative or
non-integer ``offset``, a non-boolean ``fuzzymatching``, attributes that do not exist or cannot
be searched at that level, empty filter values, malformed dates and ranges. Each is answered 400
with a message (GEN-07), never a 5xx or a hang, and the stored study is intact afterwards.

Which of them a target is held to: a ``limit`` that is not an integer is refused by every
target (QIDO-03, documented); the rest are the service's rules (SRC, E2E; PS3.18 8.3.4 has a
server ignore parameters it does not know and lets it cap ``limit``), so only Azure-compatible
targets are held to them; empty values only under AMB-26's rule for the target's version.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydicom.datadict import tag_for_keyword

from conformance.checks import checking
from conformance.plugin import Dicomweb
from conformance.profile import Profile, Rule
from conformance.suites._bad_input import bounded, expect_intact, expect_refused, store_before

OPTIONS = {"limit", "offset", "fuzzymatching", "includefield"}
NOT_INTEGERS = ["", "ten", "1.5", "1e3", "0x10", "1,2", "--1", "NaN", "½", "1\x00", "\u0661"]
SEARCHABLE = ["PatientName", "PatientID", "StudyDate", "AccessionNumber", "StudyDescription", "00100020", "00080020"]
NOT_ON_STUDIES = ["Modality", "SeriesInstanceUID", "SOPInstanceUID", "ManufacturerModelName", "00080060", "7FE00010"]
BAD_DATES = ["-", "--", "20201301", "20200230", "2020-01-01", "2020010", "abcdefgh", "20200102-20200101", "1-2-3"]


@dataclass(frozen=True)
class BadParameter:
    behavior: str
    name: str
    value: str

    def describe(self) -> str:
        return f"{self.name}={self.value!r}"


def _case(name: str, profile: Profile) -> st.SearchStrategy[str]:
    # The service reads option names case-insensitively (QIDO-06, SRC); PS3.18 names them in lower
    # case, and a target held to it alone may ignore ``LIMIT`` as an unknown parameter.
    return st.sampled_from([name, name.upper(), name.capitalize()] if profile.azure_compatible else [name])


def bad_parameters(profile: Profile) -> st.SearchStrategy[BadParameter]:
    limit_text = st.sampled_from(NOT_INTEGERS)
    choices = [st.builds(BadParameter, st.just("QIDO-03"), _case("limit", profile), limit_text)]
    if profile.azure_compatible:
        out_of_range = st.one_of(st.integers(-(10**30), 0), st.integers(201, 10**30)).map(str)
        unknown = st.from_regex(r"[A-Z][A-Za-z]{3,20}", fullmatch=True).filter(
            lambda n: tag_for_keyword(n) is None and n.lower() not in OPTIONS
        )
        wrong_case = st.sampled_from(["patientname", "studyinstanceuid", "PATIENTID", "studyDate"])
        malformed_tags = st.sampled_from(["0010001", "001000100", "0010001G", "(0010,0010)", "0x00100010"])
        choices += [
            st.builds(BadParameter, st.just("QIDO-03"), _case("limit", profile), out_of_range),
            st.builds(BadParameter, st.just("QIDO-04"), _case("offset", profile), st.integers(-(10**30), -1).map(str)),
            st.builds(BadParameter, st.just("QIDO-04"), _case("offset", profile), limit_text),
            st.builds(
                BadParameter,
                st.just("QIDO-05"),
                _case("fuzzymatching", profile),
                st.sampled_from(["", "yes", "no", "1", "0", "t", "truee", "on", "\x00"]),
            ),
            st.builds(
                BadParameter,
                st.just("QIDO-08"),
                st.one_of(unknown, wrong_case, malformed_tags, st.sampled_from(NOT_ON_STUDIES)),
                st.just("x"),
            ),
            st.builds(
                BadParameter,
                st.just("QIDO-12"),
                st.sampled_from(["StudyDate", "PatientBirthDate"]),
                st.sampled_from(BAD_DATES),
            ),
        ]
        if not profile.is_v1 or profile.follows("AMB-26") is Rule.IMPLEMENTED:
            choices.append(st.builds(BadParameter, st.just("QIDO-10"), st.sampled_from(SEARCHABLE), st.just("")))
    return st.one_of(*choices)


@pytest.mark.behavior("QIDO-03", "QIDO-04", "QIDO-05", "QIDO-08", "QIDO-10", "QIDO-12")
def test_hostile_query_strings_are_400(dicomweb: Dicomweb) -> None:
    """QIDO-03 (D1, D2, E2E), QIDO-04 (SRC), QIDO-05 (SRC), QIDO-08 (E2E, SRC), QIDO-10 (D2, SRC;
    AMB-26), QIDO-12 (D1, D2, E2E, SRC): a generated bad parameter (see the module docstring)
    added before or after a filter that finds a stored study is refused with 400 and a message,
    never answered with the study; the stored study is intact afterwards. (The message is
    GEN-07's, but a search's refusal speaks for the search behaviour it breaks.)"""
    before = store_before(dicomweb)
    study = str(before[0].study_uid)
    profile = dicomweb.profile

    @bounded(dicomweb)
    @given(bad=bad_parameters(profile), first=st.booleans())
    def check(bad: BadParameter, first: bool) -> None:
        decoy = ("StudyInstanceUID", study)
        params = [(bad.name, bad.value), decoy] if first else [decoy, (bad.name, bad.value)]
        response = dicomweb.client.search_for_studies(params)
        with checking(bad.behavior):
            expect_refused(
                response, profile, 400, why=f"{bad.describe()} is not a valid search parameter", message_behavior=None
            )

    check()
    expect_intact(dicomweb.client, before)
