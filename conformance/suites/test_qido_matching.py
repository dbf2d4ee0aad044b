"""QIDO-RS matching (PS3.18 10.6.1.2, PS3.4 C.2.2.2; behaviours QIDO-07, QIDO-11..21).

The module stores the fixed corpus of ``conformance.testdata.studies_for_search`` (four studies,
each of a patient of its own, all under one AccessionNumber nobody else has, which scopes the
searches of the "all" resources) and compares each answer with the oracle
(``conformance.oracle``), the documented matching rules as a model: so the expected matches
below are the model's, and the model's unit tests pin it to the documents' own examples.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.checks import expect, expect_status
from conformance.checks.attribution import checking
from conformance.checks.search import expect_as_modelled, expect_found, send_query, uids_of
from conformance.client.responses import JsonDatasetsResponse
from conformance.core.dicom_json import json_values
from conformance.oracle import SEARCHABLE, STANDARD_REQUIRED, Level, MatchKind, Resource, SearchQuery
from conformance.plugin import Dicomweb
from conformance.session import TargetSession
from conformance.suites._support import require_api_version, require_azure_compatible
from conformance.suites._wado_qido_support import SearchData, matching_rules, patient_of, poll, search_data, uids
from conformance.testdata import InstanceFactory
from conformance.testdata.studies_for_search import SEARCH_CORPUS, build_corpus


@pytest.fixture(scope="module")
def corpus(dicomweb_session: TargetSession) -> Iterator[SearchData]:
    yield from search_data(dicomweb_session, build_corpus(InstanceFactory(), SEARCH_CORPUS))


def _expect_modelled(
    dicomweb: Dicomweb, data: SearchData, query: SearchQuery, response: JsonDatasetsResponse, why: str
) -> None:
    expect_as_modelled(
        response,
        data.model,
        query,
        dicomweb.profile.empty_search_status,
        why=f"{why} ({query.describe()})",
        label=data.corpus.label,
    )


def _check(dicomweb: Dicomweb, data: SearchData, query: SearchQuery, why: str) -> JsonDatasetsResponse:
    data.shared.require()
    query = data.scoped(query)
    response = send_query(dicomweb.client, query)
    _expect_modelled(dicomweb, data, query, response, why)
    return response


def _studies(*params: tuple[str, str]) -> SearchQuery:
    return SearchQuery(Resource.ALL_STUDIES, params=params)


def _first_value(data: SearchData, keyword: str, level: Level) -> str:
    """The value of ``keyword`` in the corpus's first study (its first series, first instance)."""
    first = data.corpus.instances[0]
    study, series, sop = uids(first.file)
    if keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
        return {"StudyInstanceUID": study, "SeriesInstanceUID": series, "SOPInstanceUID": sop}[keyword]
    if keyword == "ModalitiesInStudy":
        return first.values["Modality"]
    return first.values[keyword]


def _path_uids(data: SearchData, resource: Resource) -> tuple[str | None, str | None]:
    study, series, _ = uids(data.corpus.instances[0].file)
    return (study if resource.needs_study else None, series if resource.needs_series else None)


@pytest.mark.behavior("QIDO-07", "QIDO-11")
@pytest.mark.parametrize("resource", list(Resource), ids=lambda r: r.name.lower())
def test_each_searchable_attribute_matches_exactly(dicomweb: Dicomweb, corpus: SearchData, resource: Resource) -> None:
    """QIDO-07 (D1, D2) / QIDO-11: every attribute of the matrix can filter the resources it is
    listed for, by keyword or tag, and single-value matching finds exactly what holds that value. A target that
    claims only the standard is held to PS3.18 Table 10.6.1-5's keys."""
    portable = not dicomweb.profile.azure_compatible
    for attribute in SEARCHABLE:
        if resource not in attribute.resources or (portable and attribute.keyword not in STANDARD_REQUIRED):
            continue
        study, series = _path_uids(corpus, resource)
        value = _first_value(corpus, attribute.keyword, attribute.level)
        for name in (attribute.keyword, attribute.key):  # GEN-05: keyword or 8 hex digits
            query = corpus.scoped(SearchQuery(resource, study, series, ((name, value),)))
            response = send_query(dicomweb.client, query)
            with checking("QIDO-07"):  # refusing the attribute breaks the matrix
                expect_status(
                    response, 200, 204, why=f"{name} ({attribute.keyword}) is searchable on /{resource.value}"
                )
            with checking("QIDO-11"):  # answering other matches breaks single-value matching
                _expect_modelled(dicomweb, corpus, query, response, f"{name}={value!r} on /{resource.value}")


@pytest.mark.behavior("QIDO-12")
@pytest.mark.parametrize(
    "value",
    ["20200110-20200115", "20200115-", "-20200115", "20200110-20200110", "19000101-19991231"],
    ids=["closed", "from", "until", "one-day", "none"],
)
def test_study_date_ranges(dicomweb: Dicomweb, corpus: SearchData, value: str) -> None:
    """QIDO-12 (D1, D2): ``a-b`` matches a..b inclusive, ``a-`` and ``-b`` are open-ended."""
    _check(dicomweb, corpus, _studies(("StudyDate", value)), "StudyDate range matching")


@pytest.mark.behavior("QIDO-12")
def test_ranges_on_other_dates(dicomweb: Dicomweb, corpus: SearchData) -> None:
    """QIDO-12 (D1, D2) / AMB-04: PatientBirthDate takes ranges too; under the implemented rule
    every date attribute does, PerformedProcedureStepStartDate included."""
    require_azure_compatible(dicomweb.profile, "range matching on PatientBirthDate")
    _check(dicomweb, corpus, _studies(("PatientBirthDate", "19800101-19900505")), "PatientBirthDate range")
    if "PerformedProcedureStepStartDate" in matching_rules(dicomweb.profile).range_keywords:
        query = SearchQuery(Resource.ALL_SERIES, params=(("PerformedProcedureStepStartDate", "20200111-20200121"),))
        _check(dicomweb, corpus, query, "PerformedProcedureStepStartDate range (AMB-04)")


@pytest.mark.behavior("QIDO-12")
@pytest.mark.parametrize("value", ["-", "2020-01-10", "20201301", "2020011", "NotADate"])
def test_invalid_dates_are_400(dicomweb: Dicomweb, corpus: SearchData, value: str) -> None:
    """QIDO-12 (D1, D2, E2E): dates are ``YYYYMMDD``; ``-`` alone is no range: 400."""
    require_azure_compatible(dicomweb.profile, "400 for an invalid date filter")
    _check(dicomweb, corpus, _studies(("StudyDate", value)), f"StudyDate={value} is invalid")


@pytest.mark.behavior("QIDO-12")
def test_reversed_range_is_400(dicomweb: Dicomweb, corpus: SearchData) -> None:
    """QIDO-12 (SRC): a range whose start is after its end is refused with 400."""
    require_azure_compatible(dicomweb.profile, "400 for a reversed range")
    _check(dicomweb, corpus, _studies(("StudyDate", "20200120-20200110")), "a reversed range is refused")


FUZZY_QUERIES = ["joh", "do", "jo do", "Doe", "John Doe", "ohn", "X", "hall", "stone", "ta", "JON"]


@pytest.mark.behavior("QIDO-13")
@pytest.mark.parametrize("value", FUZZY_QUERIES)
def test_fuzzy_person_name_matching(dicomweb: Dicomweb, corpus: SearchData, value: str) -> None:
    """QIDO-13 (D1, D2, E2E): with ``fuzzymatching=true`` a person name matches when every word
    of the value starts a word of the name, ignoring case (``joh``, ``do``, ``jo do`` find
    John^Doe, ``ohn`` does not; ``X`` finds both Stone Hall names). The full-text index behind
    it may lag a store by a few seconds, so the module's first fuzzy search is asked again until
    it agrees, within the poll timeout (at most 15 s); later ones are asked once."""
    if not matching_rules(dicomweb.profile).fuzzy_keywords:
        pytest.skip("not claimed: fuzzy matching is optional (PS3.18 8.3.4.2)")
    corpus.shared.require()
    query = corpus.scoped(_studies(("PatientName", value), ("fuzzymatching", "true")))
    expected = corpus.model.search(query)

    def settled(response: JsonDatasetsResponse) -> bool:
        return response.status in (200, 204) and sorted(uids_of(response.objects, "study")) == sorted(expected)

    timeout = 0.0 if corpus.settled else min(dicomweb.settings.poll_timeout, 15.0)
    response = poll(lambda: send_query(dicomweb.client, query), settled, timeout=timeout)
    corpus.settled = True
    expect_as_modelled(
        response,
        corpus.model,
        query,
        dicomweb.profile.empty_search_status,
        why=f"fuzzy {value!r}",
        label=corpus.corpus.label,
    )


@pytest.mark.behavior("QIDO-13")
def test_fuzzy_referring_physician_and_quotes(dicomweb: Dicomweb, corpus: SearchData) -> None:
    """QIDO-13 / AMB-05: under the implemented rule every PN attribute matches fuzzily
    (ReferringPhysicianName ``smi`` finds Smith^Anna); a double quote in a fuzzy value is 400
    (SRC)."""
    require_azure_compatible(dicomweb.profile, "fuzzy matching rules of the Azure service")
    if "ReferringPhysicianName" in matching_rules(dicomweb.profile).fuzzy_keywords:
        query = _studies(("ReferringPhysicianName", "smi"), ("fuzzymatching", "true"))
        _check(dicomweb, corpus, query, "fuzzy ReferringPhysicianName (AMB-05)")
    _check(dicomweb, corpus, _studies(("PatientName", 'Doe"'), ("fuzzymatching", "true")), "a quote is refused")


@pytest.mark.behavior("QIDO-14")
@pytest.mark.parametrize(
    ("keyword", "value"),
    [
        ("PatientName", "DOE^JOHN"),
        ("PatientName", "hall^x^ta"),
        ("ReferringPhysicianName", "MULLER^JORG"),
        ("StudyDescription", "BRAIN MRI"),
        ("StudyDescription", "TÊTE SCAN"),
        ("StudyDescription", "Tete Scan"),
    ],
)
def test_case_and_accents(dicomweb: Dicomweb, corpus: SearchData, keyword: str, value: str) -> None:
    """QIDO-14 (D1, D2, E2E): person names match ignoring case and accents (``Hall^X^Ta`` finds
    ``Hall^X^Tá``); other strings ignore case but not accents. PS3.4 C.2.2.2.1 leaves PN to the
    implementation and makes other strings case-sensitive, so only Azure-compatible targets are
    held to this."""
    require_azure_compatible(dicomweb.profile, "case- and accent-insensitive matching")
    _check(dicomweb, corpus, _studies((keyword, value)), f"{keyword}={value!r}")


@pytest.mark.behavior("QIDO-14")
def test_modality_ignores_case(dicomweb: Dicomweb, corpus: SearchData) -> None:
    """QIDO-14 (D1, D2): ``Modality=ct`` finds CT series (other string VRs are case-insensitive)."""
    require_azure_compatible(dicomweb.profile, "case-insensitive matching")
    _check(dicomweb, corpus, SearchQuery(Resource.ALL_SERIES, params=(("Modality", "ct"),)), "Modality=ct")


@pytest.mark.behavior("QIDO-15")
@pytest.mark.parametrize("value", ["Doe", "John", "Doe^John", "John^Doe", "Jonathan^X^Stone Hall", "Stone Hall"])
def test_person_names_match_as_a_whole(dicomweb: Dicomweb, corpus: SearchData, value: str) -> None:
    """QIDO-15 (SRC): without fuzzy matching a person name filter is compared with the whole
    stored value (trailing empty components aside): ``Doe`` does not find ``Doe^John``."""
    _check(dicomweb, corpus, _studies(("PatientName", value)), f"PatientName={value!r}")


@pytest.mark.behavior("QIDO-16")
def test_wildcards_and_uid_lists_are_literal(dicomweb: Dicomweb, corpus: SearchData) -> None:
    """QIDO-16 (SRC): ``*`` and ``?`` are not wildcards and UID lists are not lists: the value is
    compared literally, so none of these finds anything."""
    studies = corpus.corpus.study_uids()
    for keyword, value in (
        ("PatientName", "Doe*"),
        ("PatientName", "D?e^John"),
        ("StudyDescription", "Brain*"),
        ("StudyInstanceUID", f"{studies[0]},{studies[1]}"),
        ("StudyInstanceUID", f"{studies[0]}\\{studies[1]}"),
    ):
        _check(dicomweb, corpus, _studies((keyword, value)), f"{keyword}={value!r} is literal")


@pytest.mark.behavior("QIDO-17")
@pytest.mark.parametrize("modality", ["MR", "CT", "US", "SR"])
def test_modalities_in_study(dicomweb: Dicomweb, corpus: SearchData, modality: str) -> None:
    """QIDO-17 (SRC, E2E): ModalitiesInStudy matches a study when any of its series has the
    modality, also on the series resource; the study carries all its modalities (``CT\\MR``)."""
    response = _check(dicomweb, corpus, _studies(("ModalitiesInStudy", modality)), f"ModalitiesInStudy={modality}")
    series = SearchQuery(Resource.ALL_SERIES, params=(("ModalitiesInStudy", modality),))
    _check(dicomweb, corpus, series, f"series of studies with a {modality} series")
    first = corpus.corpus.study_uids()[0]
    for obj in response.objects if response.status == 200 else []:
        if (json_values(obj, "0020000D") or [""])[0] == first:
            values = json_values(obj, "00080061") or []
            expect(
                sorted(values) == ["CT", "MR"],
                "ModalitiesInStudy lists every modality of the study",
                response=response,
                expected="CT\\MR",
                received="\\".join(map(str, values)) or "absent",
            )


@pytest.mark.behavior("QIDO-18")
def test_only_the_first_value_is_indexed(dicomweb: Dicomweb) -> None:
    """QIDO-18 (D1, D2): of a multi-valued PatientID only the first value can be found (the
    service's choice: PS3.4 C.2.2.2 does not say how a multi-valued key is matched)."""
    require_azure_compatible(dicomweb.profile, "only the first value indexed")
    first, second = dicomweb.instances.short_id("ONE"), dicomweb.instances.short_id("TWO")
    file = dicomweb.instances.with_raw_value("PatientID", f"{first}\\{second}")
    expect_status(dicomweb.client.store_instances([file]), 200, 202, why="the instance is stored")
    study = str(file.study_uid)
    found = dicomweb.client.search_for_studies([("PatientID", first)])
    expect_found(found, dicomweb.profile.empty_search_status, "study", [study], why="the first value is indexed")
    found = dicomweb.client.search_for_studies([("PatientID", second)])
    expect_found(found, dicomweb.profile.empty_search_status, "study", [], why="the second value is not indexed")


@pytest.mark.behavior("QIDO-19")
def test_latest_stored_value_wins(dicomweb: Dicomweb) -> None:
    """QIDO-19 (D1, D2): when the instances of a study disagree on a study attribute, the value of
    the most recently stored one is the only one searchable, and the one returned (the service's
    choice for inconsistent data, which PS3.4 does not cover)."""
    require_azure_compatible(dicomweb.profile, "the latest stored study value wins")
    factory = dicomweb.instances
    early, late = factory.short_id("EARLY"), factory.short_id("LATE")
    first = factory.instance(attributes={"StudyDescription": early})
    study, series, _ = uids(first)
    second = factory.instance(
        study_uid=study,
        series_uid=series,
        patient_id=patient_of(first),
        attributes={"StudyDescription": late},
    )
    for file in (first, second):
        expect_status(dicomweb.client.store_instances([file]), 200, why="the instance is stored")
    empty = dicomweb.profile.empty_search_status
    expect_found(
        dicomweb.client.search_for_studies([("StudyDescription", early)]),
        empty,
        "study",
        [],
        why="the older value is replaced",
    )
    response = dicomweb.client.search_for_studies([("StudyDescription", late)])
    objects = expect_found(response, empty, "study", [study], why="the latest value is searchable")
    expect(
        json_values(objects[0], "00081030") == [late],
        "the study carries the latest value",
        response=response,
        expected=repr([late]),
        received=repr(json_values(objects[0], "00081030")),
    )
    response = dicomweb.client.search_for_instances([("StudyDescription", late)])
    expect_found(
        response,
        empty,
        "instance",
        [str(first.sop_instance_uid), str(second.sop_instance_uid)],
        why="both instances of the study",
    )


@pytest.mark.behavior("QIDO-20", "VER-08")
def test_invalid_values_are_not_searchable(dicomweb: Dicomweb) -> None:
    """QIDO-20 / VER-08 (D2, E2E): a StudyDate that failed validation at store time (v2 stores the
    instance without it) cannot be searched (querying the invalid value itself is 400), until
    another instance of the study supplies a valid one."""
    require_api_version(dicomweb.profile, "v2")
    factory = dicomweb.instances
    broken = factory.with_raw_value("StudyDate", "20201350")
    expect_status(dicomweb.client.store_instances([broken]), 202, why="v2 stores the instance with a warning")
    study, series, _ = uids(broken)
    patient = patient_of(broken)
    empty = dicomweb.profile.empty_search_status
    expect_status(dicomweb.client.search_for_studies([("StudyDate", "20201350")]), 400, why="20201350 is no date")
    response = dicomweb.client.search_for_studies([("PatientID", patient), ("includefield", "StudyDate")])
    objects = expect_found(response, empty, "study", [study], why="the study is found by its PatientID")
    expect(
        not json_values(objects[0], "00080020"),
        "the invalid StudyDate is not indexed",
        response=response,
        expected="no StudyDate value",
        received=repr(json_values(objects[0], "00080020")),
    )
    valid = factory.instance(study_uid=study, series_uid=series, patient_id=patient, study_date="20200101")
    expect_status(dicomweb.client.store_instances([valid]), 200, why="a valid instance is stored")
    response = dicomweb.client.search_for_studies([("PatientID", patient), ("StudyDate", "20200101")])
    expect_found(response, empty, "study", [study], why="the valid StudyDate of the later instance is searchable")


@pytest.mark.behavior("QIDO-21", "VER-08")
def test_nul_padded_values_are_found_both_ways(dicomweb: Dicomweb) -> None:
    """QIDO-21 / VER-08 (D2, E2E): a value stored with a trailing NUL is found with ``X%00`` and ``X``."""
    require_api_version(dicomweb.profile, "v2")
    accession = dicomweb.instances.short_id("NUL") + "A"  # 13 characters: with the NUL an even length
    file = dicomweb.instances.with_raw_value("AccessionNumber", accession + "\x00")
    expect_status(dicomweb.client.store_instances([file]), 200, why="NUL padding is valid")
    for value in (accession, accession + "\x00"):
        response = dicomweb.client.search_for_studies([("AccessionNumber", value)])
        expect_found(
            response,
            dicomweb.profile.empty_search_status,
            "study",
            [str(file.study_uid)],
            why=f"AccessionNumber={value!r}",
        )


@pytest.mark.behavior("QIDO-11")
@pytest.mark.parametrize("kind", [MatchKind.UID, MatchKind.DATE, MatchKind.STRING, MatchKind.PERSON_NAME])
def test_values_nobody_has_match_nothing(dicomweb: Dicomweb, corpus: SearchData, kind: MatchKind) -> None:
    """QIDO-11: a single value nobody stored matches nothing (the filter is not ignored)."""
    keyword, value = {
        MatchKind.UID: ("StudyInstanceUID", "2.25.1"),
        MatchKind.DATE: ("StudyDate", "19000101"),
        MatchKind.STRING: ("PatientID", "NOBODY-HAS-THIS"),
        MatchKind.PERSON_NAME: ("PatientName", "Nobody^Has^This"),
    }[kind]
    _check(dicomweb, corpus, _studies((keyword, value)), f"{keyword}={value} matches nothing")
