"""The QIDO-RS oracle (conformance.oracle): the documented matching rules as a pure model.

Each rule is pinned with the examples the documents give (D1, D2, E2E), so the property-based
suite that compares a target with this model compares it with the documents.
"""

from __future__ import annotations

import pytest

from conformance.oracle import (
    InvalidQuery,
    Level,
    MatchingRules,
    Resource,
    SearchModel,
    SearchQuery,
    StoredRecord,
    return_set,
    searchable,
)
from conformance.oracle.matching import fuzzy_name_match, parse_date_filter

RULES = MatchingRules()


def _record(study: str, series: str, sop: str, **values: str) -> StoredRecord:
    return StoredRecord(study, series, sop, values)


@pytest.fixture
def model() -> SearchModel:
    m = SearchModel(RULES)
    m.store(_record("1.1", "1.1.1", "1.1.1.1", PatientName="John^Doe", StudyDate="20200110", Modality="CT"))
    m.store(_record("1.1", "1.1.2", "1.1.2.1", PatientName="John^Doe", StudyDate="20200110", Modality="MR"))
    m.store(_record("1.2", "1.2.1", "1.2.1.1", PatientName="Jonathan^X^Stone Hall^^", StudyDate="20200115"))
    m.store(_record("1.3", "1.3.1", "1.3.1.1", PatientName="Jon^X^StoneHall", StudyDate="20200120", Modality="US"))
    m.store(_record("1.4", "1.4.1", "1.4.1.1", PatientName="Hall^X^Tá", StudyDescription="Tête"))
    return m


def _studies(model: SearchModel, *params: tuple[str, str]) -> list[str]:
    return model.search(SearchQuery(Resource.ALL_STUDIES, params=params))


@pytest.mark.parametrize(
    ("query", "matches"),
    [("joh", True), ("do", True), ("jo do", True), ("Doe", True), ("John Doe", True), ("ohn", False), ("oe", False)],
)
def test_fuzzy_examples_of_the_documents(query: str, matches: bool) -> None:
    """QIDO-13 (D1, D2): for John^Doe these match, ``ohn`` does not."""
    assert fuzzy_name_match("John^Doe", query, RULES) is matches


def test_fuzzy_e2e_example_finds_both_names(model: SearchModel) -> None:
    """QIDO-13 (E2E): ``PatientName=X&FuzzyMatching=true`` finds both Stone Hall names."""
    assert _studies(model, ("PatientName", "X"), ("FuzzyMatching", "true")) == ["1.4", "1.3", "1.2"]


def test_person_names_ignore_case_and_accents_but_match_whole(model: SearchModel) -> None:
    """QIDO-14 / QIDO-15: ``Hall^X^Ta`` finds ``Hall^X^Tá``; ``John`` alone finds nothing."""
    assert _studies(model, ("PatientName", "hall^x^ta")) == ["1.4"]
    assert _studies(model, ("PatientName", "John")) == []
    assert _studies(model, ("PatientName", "Jonathan^X^Stone Hall")) == ["1.2"]


def test_other_strings_fold_case_not_accents(model: SearchModel) -> None:
    """QIDO-14: StudyDescription is case-insensitive, accent-sensitive."""
    assert _studies(model, ("StudyDescription", "TÊTE")) == ["1.4"]
    assert _studies(model, ("StudyDescription", "Tete")) == []


def test_wildcards_and_uid_lists_are_literal(model: SearchModel) -> None:
    """QIDO-16 (SRC)."""
    assert _studies(model, ("PatientName", "John*")) == []
    assert _studies(model, ("StudyInstanceUID", "1.1,1.2")) == []


def test_date_ranges_are_inclusive_and_open_ended(model: SearchModel) -> None:
    """QIDO-12 (D1, D2)."""
    assert _studies(model, ("StudyDate", "20200110-20200115")) == ["1.2", "1.1"]
    assert _studies(model, ("StudyDate", "20200115-")) == ["1.3", "1.2"]
    assert _studies(model, ("StudyDate", "-20200110")) == ["1.1"]
    assert parse_date_filter("20200101-", "StudyDate", RULES).high is None


@pytest.mark.parametrize(
    ("params", "behavior"),
    [
        ((("StudyDate", "-"),), "QIDO-12"),
        ((("StudyDate", "20200120-20200110"),), "QIDO-12"),
        ((("StudyDate", "20201301"),), "QIDO-12"),
        ((("PatientName", ""),), "QIDO-10"),
        ((("Modality", "CT"),), "QIDO-08"),
        ((("PatientID", "a"), ("00100020", "a")), "QIDO-01"),
        ((("limit", "0"),), "QIDO-03"),
        ((("limit", "201"),), "QIDO-03"),
        ((("offset", "-1"),), "QIDO-04"),
        ((("fuzzymatching", "yes"),), "QIDO-05"),
        ((("PatientName", 'a"b'), ("fuzzymatching", "true")), "QIDO-13"),
        ((("patientname", "x"),), "QIDO-08"),
    ],
)
def test_refused_queries_name_their_rule(
    model: SearchModel, params: tuple[tuple[str, str], ...], behavior: str
) -> None:
    with pytest.raises(InvalidQuery) as info:
        model.search(SearchQuery(Resource.ALL_STUDIES, params=params))
    assert info.value.behavior == behavior


def test_range_only_where_the_rules_allow() -> None:
    """AMB-04: documented side allows ranges on StudyDate and PatientBirthDate only."""
    rules = MatchingRules(range_keywords=frozenset({"StudyDate", "PatientBirthDate"}))
    model = SearchModel(rules, [_record("1", "1.1", "1.1.1", PerformedProcedureStepStartDate="20200101")])
    with pytest.raises(InvalidQuery):
        model.search(SearchQuery(Resource.ALL_SERIES, params=(("PerformedProcedureStepStartDate", "2020-"),)))


def test_modalities_in_study_and_levels(model: SearchModel) -> None:
    """QIDO-17: a study matches when any series has the modality; series filters apply per series."""
    assert _studies(model, ("ModalitiesInStudy", "MR")) == ["1.1"]
    series = model.search(SearchQuery(Resource.ALL_SERIES, params=(("Modality", "ct"),)))
    assert series == ["1.1.1"]
    instances = model.search(SearchQuery(Resource.STUDY_INSTANCES, study_uid="1.1"))
    assert instances == ["1.1.2.1", "1.1.1.1"]
    assert model.search(SearchQuery(Resource.STUDY_SERIES_INSTANCES, "1.1", "1.1.2")) == ["1.1.2.1"]
    assert model.search(SearchQuery(Resource.STUDY_SERIES, study_uid="9.9")) == []


def test_latest_stored_value_wins() -> None:
    """QIDO-19: only the value of the most recently stored instance is searchable."""
    model = SearchModel(RULES)
    model.store(_record("1", "1.1", "1.1.1", StudyDescription="First"))
    model.store(_record("1", "1.1", "1.1.2", StudyDescription="Second"))
    assert _studies(model, ("StudyDescription", "First")) == []
    assert _studies(model, ("StudyDescription", "Second")) == ["1"]
    # Instance-level searches see the study's merged value too.
    found = model.search(SearchQuery(Resource.ALL_INSTANCES, params=(("StudyDescription", "Second"),)))
    assert found == ["1.1.2", "1.1.1"]


def test_paging_newest_first(model: SearchModel) -> None:
    """QIDO-23, QIDO-03, QIDO-04: newest first; offset and limit cut the list."""
    assert _studies(model) == ["1.4", "1.3", "1.2", "1.1"]
    assert _studies(model, ("limit", "2"), ("offset", "1")) == ["1.3", "1.2"]
    assert _studies(model, ("offset", "10")) == []
    assert _studies(model, ("LIMIT", "1")) == ["1.4"]


def test_padding_is_not_significant() -> None:
    """QIDO-21: a value stored with a trailing NUL is found with or without it."""
    model = SearchModel(RULES, [_record("1", "1.1", "1.1.1", AccessionNumber="ABC\x00")])
    assert _studies(model, ("AccessionNumber", "ABC")) == ["1"]
    assert _studies(model, ("AccessionNumber", "ABC\x00")) == ["1"]


def test_portable_rules_keep_case() -> None:
    """PS3.4 C.2.2.2.1: without the Azure rules, non-PN matching is case-sensitive."""
    rules = MatchingRules(fold_case_strings=False, newest_first=False)
    model = SearchModel(rules, [_record("1", "1.1", "1.1.1", Modality="CT"), _record("2", "2.1", "2.1.1")])
    assert model.search(SearchQuery(Resource.ALL_SERIES, params=(("Modality", "ct"),))) == []
    assert _studies(model) == ["1", "2"]


def test_searchable_names() -> None:
    """GEN-05: keywords are case-sensitive; hex tags are not."""
    attribute = searchable("0020000d")
    assert attribute is not None
    assert attribute.keyword == "StudyInstanceUID"
    assert searchable("studyinstanceuid") is None
    assert attribute.level is Level.STUDY


def test_return_sets() -> None:
    """QIDO-24..27: levels above, path UIDs, filters and includefield attributes."""
    v2 = return_set(Resource.ALL_INSTANCES, v1=False)
    assert {"SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID", "PatientName"} <= v2.required
    assert "Rows" not in v2.allowed
    v1 = return_set(Resource.STUDY_SERIES_INSTANCES, v1=True, includes=frozenset({"StudyDescription"}))
    assert {"Rows", "StudyInstanceUID", "SeriesInstanceUID", "StudyDescription"} <= v1.required
    assert "InstanceAvailability" in v1.optional
    assert "PatientName" not in v1.allowed
    every = return_set(Resource.STUDY_SERIES, v1=False, include_all=True)
    assert "SeriesNumber" in every.required
    assert "ManufacturerModelName" in every.optional


def test_bounded_cache_replays_and_then_rejects() -> None:
    """The oracle suite's shrinking budget: seen examples replay, unseen ones past it are rejected."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from conformance.suites.test_qido_oracle import BoundedCache

    cache = BoundedCache(budget=2)
    made: list[int] = []

    @settings(max_examples=20, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(st.integers(0, 1000))
    def check(n: int) -> None:
        assert cache.get(n, lambda: made.append(n) or n) == n

    check()
    assert len(made) == 2  # every later example was rejected without being observed
    assert cache.get(made[0], lambda: -1) == made[0]


def test_generated_searches_are_scoped_to_the_corpus() -> None:
    """Every generated search of an "all" resource starts with the corpus's AccessionNumber; a
    study-scoped one carries the corpus's fresh UIDs in its path, so foreign data can never match."""
    from conformance.suites._wado_qido_support import records_of
    from conformance.suites.test_qido_oracle import FilterSpec, QuerySpec, concrete
    from conformance.testdata import InstanceFactory
    from conformance.testdata.studies_for_search import SEARCH_CORPUS, build_corpus

    corpus = build_corpus(InstanceFactory(), SEARCH_CORPUS[:2])
    model = SearchModel(RULES, records_of(corpus))
    spec = QuerySpec(Resource.ALL_SERIES, 0, 0, (FilterSpec("StudyInstanceUID", 0, 0, "list", 1),), False, None, None)
    query, rule = concrete(spec, corpus, model)
    assert query.params[0] == ("AccessionNumber", corpus.accession_number)
    first, second = corpus.study_uids()
    assert query.params[1] == ("StudyInstanceUID", f"{first},{second}")
    assert rule == "QIDO-16"
    assert model.search(query) == []
    scoped = QuerySpec(Resource.STUDY_SERIES_INSTANCES, 1, 0, (), False, 1, None)
    query, _ = concrete(scoped, corpus, model)
    assert query.study_uid == second
    assert query.params == (("limit", "1"),)
    assert len(model.search(query)) == 1


def test_generated_patient_id_filters_tell_the_corpus_studies_apart() -> None:
    """Each corpus study has its own PatientID: the exact form finds that study only, the
    "other" form another study's (or nobody's)."""
    from conformance.suites._wado_qido_support import records_of
    from conformance.suites.test_qido_oracle import NOBODY_S_PATIENT_ID, FilterSpec, QuerySpec, concrete
    from conformance.testdata import InstanceFactory
    from conformance.testdata.studies_for_search import SEARCH_CORPUS, build_corpus

    corpus = build_corpus(InstanceFactory(), SEARCH_CORPUS[:2])
    model = SearchModel(RULES, records_of(corpus))
    first, second = corpus.study_uids()
    for form, other, expected in (("exact", 0, [first]), ("other", 1, [second]), ("other", 2, [])):
        spec = QuerySpec(Resource.ALL_STUDIES, 0, 0, (FilterSpec("PatientID", 0, 0, form, other),), False, None, None)
        query, rule = concrete(spec, corpus, model)
        assert rule == "QIDO-11"
        assert model.search(query) == expected, (form, other, query.describe())
    nobody = QuerySpec(Resource.ALL_STUDIES, 0, 0, (FilterSpec("PatientID", 0, 0, "other", 2),), False, None, None)
    assert concrete(nobody, corpus, model)[0].params[1] == ("PatientID", NOBODY_S_PATIENT_ID)


def test_modalities_in_study_mismatches_are_qido_11_for_a_standard_target() -> None:
    """ModalitiesInStudy's "any series" rule is QIDO-17 (the Azure service's, SRC/E2E); a target
    held only to PS3.18 is held to exact matching of the Table 10.6.1-5 key, QIDO-11."""
    from conformance.suites._wado_qido_support import records_of
    from conformance.suites.test_qido_oracle import FilterSpec, QuerySpec, concrete
    from conformance.testdata import InstanceFactory
    from conformance.testdata.studies_for_search import SEARCH_CORPUS, build_corpus

    corpus = build_corpus(InstanceFactory(), SEARCH_CORPUS[:1])
    model = SearchModel(RULES, records_of(corpus))
    spec = QuerySpec(Resource.ALL_SERIES, 0, 0, (FilterSpec("ModalitiesInStudy", 0, 0, "exact", 0),), False, None, None)
    assert concrete(spec, corpus, model)[1] == "QIDO-17"
    assert concrete(spec, corpus, model, portable=True)[1] == "QIDO-11"
