"""Model-based QIDO-RS testing: generated studies and searches, judged by the oracle.

Hypothesis generates a few small studies (names, dates, modalities, descriptions; sometimes
instances of a study that disagree on a study attribute) and a few searches over them (every
resource, exact / case / accent / word / prefix / wildcard / list / range / fuzzy filters,
paging). The studies are stored with fresh ``2.25.`` UIDs, each study with a PatientID of its
own, all under an AccessionNumber nobody else has; every search is scoped to that
AccessionNumber or to the fresh path UIDs, so data already on the target cannot change an
answer. Each answer is compared with ``conformance.oracle``.

A mismatch is shrunk by hypothesis to a minimal set of studies and one search, and reported
with what was stored, the search, and the expected and received matches. Runs are
deterministic (``derandomize``); ``--dicomweb-hypothesis-examples`` sets how many examples are
tried. Shrinking is bounded: past a budget of target round trips, only examples already
observed are replayed (from a cache), so a failing run against a slow target still ends.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, Phase, given, reject, settings
from hypothesis import strategies as st

from conformance.checks.search import expect_as_modelled, send_query
from conformance.client.responses import JsonDatasetsResponse
from conformance.core.errors import ConformanceFailure
from conformance.oracle import (
    SEARCHABLE,
    STANDARD_REQUIRED,
    MatchingRules,
    MatchKind,
    Resource,
    SearchModel,
    SearchQuery,
)
from conformance.oracle.matching import strip_accents
from conformance.plugin import Dicomweb
from conformance.profile import Capability
from conformance.registry import load_registry
from conformance.suites._wado_qido_support import matching_rules, records_of
from conformance.testdata.studies_for_search import SCOPE_KEYWORD, Corpus, SeriesSpec, StudySpec, build_corpus

NAMES = ("Doe^John", "Doe^Jon", "Hall^X^Tá", "Jonathan^X^Stone Hall", "Jon^X^StoneHall", "Smith^Anna", "Müller^Jörg")
DATES = ("20200110", "20200115", "20200120", "20210101")
BIRTH_DATES = ("19750310", "19800101", "19900505")
DESCRIPTIONS = ("Brain MRI", "brain mri", "Tête Scan", "Tete Scan", "Chest CT")
MODALITIES = ("CT", "MR", "US")
MODELS = ("ScannerOne", "scannerone", "EchoMaster")
POOLS: dict[str, tuple[str, ...]] = {
    "PatientName": NAMES,
    "ReferringPhysicianName": NAMES,
    "PatientBirthDate": BIRTH_DATES,
    "StudyDate": DATES,
    "StudyDescription": DESCRIPTIONS,
    "Modality": MODALITIES,
    "ModalitiesInStudy": MODALITIES,
    "PerformedProcedureStepStartDate": DATES,
    "ManufacturerModelName": MODELS,
}
#: The "other" value of a PatientID filter is another study's fresh PatientID, or this one.
NOBODY_S_PATIENT_ID = "QIDO-NOBODY"
SHRINK_BUDGET = 30  # target round trips allowed after the generated examples, for shrinking
QUERIES_PER_EXAMPLE = 10

# -- what is generated -------------------------------------------------------------------------


@dataclass(frozen=True)
class FilterSpec:
    """A filter described without UIDs: the attribute, where its value comes from, its form."""

    keyword: str
    study: int
    series: int
    form: str
    other: int


@dataclass(frozen=True)
class QuerySpec:
    resource: Resource
    study: int
    series: int
    filters: tuple[FilterSpec, ...]
    fuzzy: bool
    limit: int | None
    offset: int | None


FORMS = {
    MatchKind.UID: ("exact", "list", "other"),
    MatchKind.PERSON_NAME: ("exact", "upper", "lower", "accentless", "word", "prefix", "wildcard", "older", "other"),
    MatchKind.STRING: ("exact", "upper", "lower", "accentless", "wildcard", "older", "other"),
    MatchKind.DATE: ("exact", "older", "other"),
    MatchKind.MODALITIES: ("exact", "lower", "other"),
}
RULE_OF_FORM = {
    "exact": "QIDO-11",
    "other": "QIDO-11",
    "upper": "QIDO-14",
    "lower": "QIDO-14",
    "accentless": "QIDO-14",
    "word": "QIDO-15",
    "prefix": "QIDO-15",
    "wildcard": "QIDO-16",
    "list": "QIDO-16",
    "range": "QIDO-12",
    "from": "QIDO-12",
    "until": "QIDO-12",
    "older": "QIDO-19",
}
# The more specific a rule, the more likely it is the one a mismatch is about.
RULE_PRIORITY = ("QIDO-16", "QIDO-13", "QIDO-14", "QIDO-15", "QIDO-17", "QIDO-12", "QIDO-19", "QIDO-11")


def _pair(keyword: str) -> st.SearchStrategy[tuple[str, str]]:
    return st.tuples(st.just(keyword), st.sampled_from(POOLS[keyword]))


def _values(keywords: tuple[str, ...]) -> st.SearchStrategy[tuple[tuple[str, str], ...]]:
    return st.tuples(*(_pair(k) for k in keywords))


def corpora(*, overrides: bool) -> st.SearchStrategy[tuple[StudySpec, ...]]:
    """1-3 studies of 1-2 series of 1-2 instances; with ``overrides`` an instance may carry
    another StudyDescription or PatientName than its study (QIDO-19)."""
    override = st.one_of(_pair("StudyDescription"), _pair("PatientName")).map(lambda pair: (pair,))
    instance = st.one_of(st.just(()), override) if overrides else st.just(())
    series = st.builds(
        SeriesSpec,
        values=_values(("Modality", "PerformedProcedureStepStartDate", "ManufacturerModelName")),
        instances=st.lists(instance, min_size=1, max_size=2).map(tuple),
    )
    study = st.builds(
        StudySpec,
        values=_values(("PatientName", "ReferringPhysicianName", "PatientBirthDate", "StudyDate", "StudyDescription")),
        series=st.lists(series, min_size=1, max_size=2).map(tuple),
    )
    return st.lists(study, min_size=1, max_size=3).map(tuple)


#: Resources and attributes, repeated to weigh the draw towards the richer searches.
RESOURCE_DRAW = (Resource.ALL_STUDIES,) * 3 + (Resource.ALL_SERIES,) * 2 + tuple(Resource)
KIND_WEIGHT = {
    MatchKind.UID: 1,
    MatchKind.PERSON_NAME: 4,
    MatchKind.STRING: 2,
    MatchKind.DATE: 3,
    MatchKind.MODALITIES: 2,
}


@st.composite
def _query(draw: st.DrawFn, rules: MatchingRules, portable: bool) -> QuerySpec:
    resource = draw(st.sampled_from(RESOURCE_DRAW))
    allowed = [
        a
        for a in SEARCHABLE
        for _ in range(KIND_WEIGHT[a.kind])
        if resource in a.resources and a.keyword != SCOPE_KEYWORD and (not portable or a.keyword in STANDARD_REQUIRED)
    ]
    filters: list[FilterSpec] = []
    for _ in range(draw(st.sampled_from((1, 1, 1, 2, 2, 0)))):
        attribute = draw(st.sampled_from(allowed))
        if any(f.keyword == attribute.keyword for f in filters):
            continue
        forms: tuple[str, ...] = ("exact", "other") if portable else FORMS[attribute.kind]
        if attribute.kind is MatchKind.DATE and attribute.keyword in rules.range_keywords:
            forms = (*forms, "range", "from", "until")
        elif attribute.kind is MatchKind.DATE:  # where ranges are not documented, neither answer is wrong
            forms = tuple(f for f in forms if f not in ("range", "from", "until"))
        filters.append(
            FilterSpec(
                keyword=attribute.keyword,
                study=draw(st.integers(0, 2)),
                series=draw(st.integers(0, 1)),
                form=draw(st.sampled_from(forms)),
                other=draw(st.integers(0, 3)),
            )
        )
    # Fuzzy matching only where the rules say which names it applies to (AMB-05).
    names = [
        f.keyword
        for f in filters
        if next(a for a in SEARCHABLE if a.keyword == f.keyword).kind is MatchKind.PERSON_NAME
    ]
    fuzzy_decided = bool(names) and all(name in rules.fuzzy_keywords for name in names)
    paging = st.just(None) if portable else st.sampled_from((None, None, None, None, 1, 2))
    return QuerySpec(
        resource=resource,
        study=draw(st.integers(0, 2)),
        series=draw(st.integers(0, 1)),
        filters=tuple(filters),
        fuzzy=draw(st.booleans()) if fuzzy_decided and not portable else False,
        limit=draw(paging.map(lambda n: n or None)),
        offset=draw(paging),
    )


def queries(rules: MatchingRules, *, portable: bool) -> st.SearchStrategy[QuerySpec]:
    """Searches the rules can judge; a target held only to the standard gets exact, literal
    filters from PS3.18 Table 10.6.1-5 and no paging."""
    return _query(rules, portable)


# -- turning a spec into a concrete search -------------------------------------------------


def _pick(items: list[str], index: int) -> str:
    return items[index % len(items)]


def _concrete(spec: FilterSpec, corpus: Corpus, model: SearchModel, fuzzy: bool, portable: bool) -> tuple[str, str]:
    """(value, behaviour ID) of a filter over the stored corpus. A target held only to the
    standard is held to exact matching of ModalitiesInStudy, a PS3.18 Table 10.6.1-5 key, as
    QIDO-11; its "any series" rule as QIDO-17 is the Azure service's (SRC, E2E)."""
    attribute = next(a for a in SEARCHABLE if a.keyword == spec.keyword)
    studies = corpus.study_uids()
    study = _pick(studies, spec.study)
    series = _pick(corpus.series_uids(study), spec.series)
    form = spec.form
    if attribute.kind is MatchKind.UID:
        own = {"StudyInstanceUID": study, "SeriesInstanceUID": series}.get(spec.keyword)
        if own is None:
            own = _pick([str(i.file.sop_instance_uid) for i in corpus.instances if i.file.series_uid == series], 0)
        if form == "list":
            others = corpus.study_uids() if spec.keyword == "StudyInstanceUID" else corpus.series_uids()
            return f"{own},{_pick(others, spec.other)}", "QIDO-16"
        return ("2.25.1" if form == "other" else own), "QIDO-11"
    if attribute.kind is MatchKind.MODALITIES:
        value = model.series_value(study, series, "Modality") or "OT"
    elif form == "older":
        first = next(i for i in corpus.instances if i.file.study_uid == study and i.file.series_uid == series)
        value = first.values.get(spec.keyword, "")
    elif spec.keyword in ("Modality", "PerformedProcedureStepStartDate", "ManufacturerModelName"):
        value = model.series_value(study, series, spec.keyword) or ""
    else:
        value = model.study_value(study, spec.keyword) or ""
    pool = POOLS.get(spec.keyword) or (*corpus.patient_ids(), NOBODY_S_PATIENT_ID)
    words = [w for w in value.replace("^", " ").split() if w]
    if form == "other":
        value = _pick(list(pool), spec.other)
    elif form == "upper":
        value = value.upper()
    elif form == "lower":
        value = value.lower()
    elif form == "accentless":
        value = strip_accents(value)
    elif form == "word" and words:
        value = _pick(words, spec.other)
    elif form == "prefix" and words:
        value = _pick(words, spec.other)[:2]
    elif form == "wildcard" and not fuzzy:
        value = value[:3] + "*"
    elif form in ("range", "from", "until"):
        other = _pick(list(pool), spec.other)
        value = {"range": "-".join(sorted((value, other))), "from": f"{value}-", "until": f"-{value}"}[form]
    rule = RULE_OF_FORM.get(form, "QIDO-11")
    if attribute.kind is MatchKind.MODALITIES and form != "lower" and not portable:
        rule = "QIDO-17"
    if attribute.kind is MatchKind.PERSON_NAME and fuzzy and spec.keyword in model.rules.fuzzy_keywords:
        rule = "QIDO-13"
    return value or "NONE", rule


def concrete(spec: QuerySpec, corpus: Corpus, model: SearchModel, *, portable: bool = False) -> tuple[SearchQuery, str]:
    """The search a spec stands for over ``corpus``, and the behaviour a mismatch is about; an
    "all" resource is scoped to the corpus by its AccessionNumber."""
    studies = corpus.study_uids()
    study = _pick(studies, spec.study)
    series = _pick(corpus.series_uids(study), spec.series)
    scope = (SCOPE_KEYWORD, corpus.accession_number)
    params: list[tuple[str, str]] = [] if spec.resource.needs_study else [scope]
    rules = []
    for f in spec.filters:
        value, rule = _concrete(f, corpus, model, spec.fuzzy, portable)
        params.append((f.keyword, value))
        rules.append(rule)
    if spec.fuzzy:
        params.append(("fuzzymatching", "true"))
    if spec.limit is not None:
        params.append(("limit", str(spec.limit)))
    if spec.offset is not None:
        params.append(("offset", str(spec.offset)))
    rule = next((r for r in RULE_PRIORITY if r in rules), "QIDO-23" if spec.limit or spec.offset else "QIDO-22")
    path_study = study if spec.resource.needs_study else None
    path_series = series if spec.resource.needs_series else None
    return SearchQuery(spec.resource, path_study, path_series, tuple(params)), rule


# -- observing the target, judging its answers ---------------------------------------------------


@dataclass
class Observation:
    corpus: Corpus
    model: SearchModel
    answers: list[tuple[SearchQuery, str, JsonDatasetsResponse]]
    problem: ConformanceFailure | None = None


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedCache:
    """Memoised observations with a budget of new ones; past it, unseen examples are rejected
    (hypothesis then stops shrinking), seen ones are replayed without touching the target."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.seen: dict[Any, Any] = {}

    def get(self, key: K, make: Callable[[], V]) -> V:
        if key not in self.seen:
            if len(self.seen) >= self.budget:
                reject()
            self.seen[key] = make()
        result: V = self.seen[key]
        return result


def observe(dicomweb: Dicomweb, specs: tuple[StudySpec, ...], searches: tuple[QuerySpec, ...]) -> Observation:
    """Store the studies (one instance per request), ask the searches, remove the studies."""
    corpus = build_corpus(dicomweb.instances, specs)
    model = SearchModel(matching_rules(dicomweb.profile), records_of(corpus))
    observation = Observation(corpus, model, [])
    client = dicomweb.client
    try:
        for file in corpus.files:
            response = client.store_instances([file])
            if response.status not in (200, 202):
                observation.problem = ConformanceFailure(
                    "the generated instances are stored",
                    expected="status 200 or 202",
                    received=f"status {response.status}",
                    exchange=response.exchange,
                )
                return observation
        for spec in searches:
            query, rule = concrete(spec, corpus, model, portable=not dicomweb.profile.azure_compatible)
            observation.answers.append((query, rule, send_query(client, query)))
    except ConformanceFailure as exc:  # no answer in time: judged like any other failure
        observation.problem = exc
    finally:
        if dicomweb.profile.claims(Capability.DELETE):
            for study in corpus.study_uids():  # keeps the target small; the ledger removes the rest
                try:
                    client.delete_study(study)
                except ConformanceFailure:
                    pass
    return observation


def judge(dicomweb: Dicomweb, observation: Observation) -> None:
    """Raise a failure naming the stored studies, the search and both answers on a mismatch."""
    registry = load_registry()
    failure, rule = observation.problem, "QIDO-22"
    stored = observation.corpus.describe()
    for query, query_rule, response in observation.answers if failure is None else []:
        try:
            expect_as_modelled(
                response,
                observation.model,
                query,
                dicomweb.profile.empty_search_status,
                why="the answer follows the documented matching rules",
                label=observation.corpus.label,
            )
        except ConformanceFailure as exc:
            failure, rule = exc, query_rule
            stored += f"\nSearch: {query.describe()}"
            break
    if failure is not None:
        raise ConformanceFailure(
            f"{failure.message}\nStored (one request per instance, in this order):\n{stored}",
            expected=failure.detail.expected,
            received=failure.detail.received,
            exchange=failure.exchange,
            behavior=registry.get(rule),
        )


@pytest.mark.behavior(
    "QIDO-11", "QIDO-12", "QIDO-13", "QIDO-14", "QIDO-15", "QIDO-16", "QIDO-17", "QIDO-19", "QIDO-22", "QIDO-23"
)
def test_searches_follow_the_model(dicomweb: Dicomweb) -> None:
    """QIDO-11..17, 19, 22, 23 (D1, D2, SRC, E2E): for generated studies and searches, the
    target answers exactly what the documented rules (``conformance.oracle``) say: the same
    matches, newest first, paged; 400 where the rules refuse the search. A target claiming only
    the standard is asked exact and range searches of PS3.18 Table 10.6.1-5 keys, compared as
    sets."""
    rules = matching_rules(dicomweb.profile)
    portable = not dicomweb.profile.azure_compatible
    examples = dicomweb.settings.hypothesis_examples
    cache = BoundedCache(examples + SHRINK_BUDGET)

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        specs=corpora(overrides=not portable),
        searches=st.lists(queries(rules, portable=portable), min_size=4, max_size=QUERIES_PER_EXAMPLE).map(tuple),
    )
    def check(specs: tuple[StudySpec, ...], searches: tuple[QuerySpec, ...]) -> None:
        judge(dicomweb, cache.get((specs, searches), lambda: observe(dicomweb, specs, searches)))

    check()
