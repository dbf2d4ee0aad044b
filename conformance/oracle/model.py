"""A model of a QIDO-RS target: what it stored, and what each search must answer.

``SearchModel`` keeps the instances in the order they were stored and answers a
``SearchQuery`` the way the documented rules say a target must (no I/O):

* a query the target must refuse raises ``InvalidQuery`` (400) naming the behaviour;
* otherwise the UIDs of the matching studies, series or instances, newest first (QIDO-23),
  after ``offset`` and ``limit`` (QIDO-03, QIDO-04).

Study and series attributes are those of the most recently stored instance that has a value
(QIDO-19); ModalitiesInStudy matches when any series of the study has the modality (QIDO-17).
"Newest" is the order in which studies, series and instances were first stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from conformance.oracle.attributes import Level, MatchKind, Resource, searchable
from conformance.oracle.matching import InvalidFilter, MatchingRules, check_filter, unpad, value_matches

LIMIT_MIN, LIMIT_MAX, LIMIT_DEFAULT = 1, 200, 100
OPTION_NAMES = ("limit", "offset", "fuzzymatching", "includefield")


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """One stored instance: its UIDs and the searchable values it carries (keyword -> text)."""

    study_uid: str
    series_uid: str
    sop_uid: str
    values: Mapping[str, str] = field(default_factory=dict)

    def value(self, keyword: str) -> str | None:
        text = self.values.get(keyword)
        return None if text is None or unpad(text) == "" else text


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """One QIDO-RS request: resource, path UIDs and query parameters in the order sent."""

    resource: Resource
    study_uid: str | None = None
    series_uid: str | None = None
    params: tuple[tuple[str, str], ...] = ()

    def with_params(self, *extra: tuple[str, str]) -> SearchQuery:
        return SearchQuery(self.resource, self.study_uid, self.series_uid, self.params + extra)

    def describe(self) -> str:
        path = self.resource.value.replace("{study}", self.study_uid or "?").replace("{series}", self.series_uid or "?")
        query = "&".join(f"{k}={v}" for k, v in self.params)
        return f"GET /{path}" + (f"?{query}" if query else "")


class InvalidQuery(ValueError):
    """The target must answer 400; ``behavior`` is the ID of the rule that says so."""

    def __init__(self, message: str, behavior: str) -> None:
        super().__init__(message)
        self.behavior = behavior


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    filters: tuple[tuple[str, str], ...]  # (keyword, value)
    fuzzy: bool
    limit: int
    offset: int


def _integer(name: str, value: str, low: int, high: int | None, behavior: str) -> int:
    text = value.strip()
    if not text.lstrip("+-").isdigit():
        raise InvalidQuery(f"{name}={value!r} is not an integer", behavior)
    number = int(text)
    if number < low or (high is not None and number > high):
        raise InvalidQuery(f"{name}={number} is out of range", behavior)
    return number


def parse(query: SearchQuery, rules: MatchingRules) -> ParsedQuery:
    """Validate the parameters (QIDO-01..10, QIDO-12, QIDO-13); InvalidQuery for a 400."""
    filters: list[tuple[str, str]] = []
    seen: set[str] = set()
    fuzzy, limit, offset = False, LIMIT_DEFAULT, 0
    for name, value in query.params:
        option = name.lower()  # QIDO-06: option names are case-insensitive
        if option == "includefield":
            continue
        if option == "limit":
            limit = _integer(name, value, LIMIT_MIN, LIMIT_MAX, "QIDO-03")
        elif option == "offset":
            offset = _integer(name, value, 0, None, "QIDO-04")
        elif option == "fuzzymatching":
            if value.strip().lower() not in ("true", "false"):
                raise InvalidQuery(f"fuzzymatching={value!r} is neither true nor false", "QIDO-05")
            fuzzy = value.strip().lower() == "true"
        else:
            attribute = searchable(name)
            if attribute is None or query.resource not in attribute.resources:
                raise InvalidQuery(f"{name} is not searchable on /{query.resource.value}", "QIDO-08")
            if attribute.keyword in seen:
                raise InvalidQuery(f"{attribute.keyword} is given more than once", "QIDO-01")
            seen.add(attribute.keyword)
            filters.append((attribute.keyword, value))
    for keyword, value in filters:
        attribute = searchable(keyword)
        assert attribute is not None
        try:
            check_filter(keyword, attribute.kind, value, fuzzy, rules)
        except InvalidFilter as exc:
            raise InvalidQuery(str(exc), exc.behavior) from None
    return ParsedQuery(tuple(filters), fuzzy, limit, offset)


class SearchModel:
    """The stored instances, oldest first, and the answers the rules require."""

    def __init__(self, rules: MatchingRules | None = None, records: Iterable[StoredRecord] = ()) -> None:
        self.rules = rules or MatchingRules()
        self.records: list[StoredRecord] = []
        for record in records:
            self.store(record)

    def store(self, record: StoredRecord) -> None:
        self.records.append(record)

    # -- the merged view of each study and series (QIDO-19) -----------------------------

    def studies(self) -> list[str]:
        """Study UIDs in the order they were first stored."""
        return list(dict.fromkeys(r.study_uid for r in self.records))

    def series(self) -> list[tuple[str, str]]:
        return list(dict.fromkeys((r.study_uid, r.series_uid) for r in self.records))

    def study_value(self, study_uid: str, keyword: str) -> str | None:
        """QIDO-19: the value of the most recently stored instance of the study that has one."""
        for record in reversed(self.records):
            if record.study_uid == study_uid and record.value(keyword) is not None:
                return record.value(keyword)
        return None

    def series_value(self, study_uid: str, series_uid: str, keyword: str) -> str | None:
        for record in reversed(self.records):
            if (record.study_uid, record.series_uid) == (study_uid, series_uid) and record.value(keyword) is not None:
                return record.value(keyword)
        return None

    def modalities(self, study_uid: str) -> list[str]:
        """QIDO-17: the modality of each series of the study, once each."""
        values = (self.series_value(study, series, "Modality") for study, series in self.series() if study == study_uid)
        return list(dict.fromkeys(unpad(v) for v in values if v is not None))

    # -- answering ----------------------------------------------------------------------

    def search(self, query: SearchQuery) -> list[str]:
        """The UIDs a conforming target answers with, newest first, paged; InvalidQuery for 400."""
        parsed = parse(query, self.rules)
        matches = [uid for uid, keys in self._candidates(query) if self._matches(keys, parsed)]
        if self.rules.newest_first:
            matches.reverse()
        return matches[parsed.offset : parsed.offset + parsed.limit]

    def _candidates(self, query: SearchQuery) -> list[tuple[str, tuple[str, str, str | None]]]:
        """(UID, (study, series, sop)) of every entity of the resource's level, oldest first."""
        level = query.resource.level
        if level is Level.STUDY:
            keys: Sequence[tuple[str, str, str | None]] = [(s, "", None) for s in self.studies()]
        elif level is Level.SERIES:
            keys = [(s, se, None) for s, se in self.series()]
        else:
            keys = [(r.study_uid, r.series_uid, r.sop_uid) for r in self.records]
        out = []
        for study, series, sop in keys:
            if query.study_uid is not None and study != unpad(query.study_uid):
                continue
            if query.series_uid is not None and series != unpad(query.series_uid):
                continue
            uid = {Level.STUDY: study, Level.SERIES: series, Level.INSTANCE: sop}[level]
            assert uid is not None
            out.append((uid, (study, series, sop)))
        return out

    def _matches(self, keys: tuple[str, str, str | None], parsed: ParsedQuery) -> bool:
        return all(self._filter_matches(keys, keyword, value, parsed.fuzzy) for keyword, value in parsed.filters)

    def _filter_matches(self, keys: tuple[str, str, str | None], keyword: str, value: str, fuzzy: bool) -> bool:
        study, series, sop = keys
        attribute = searchable(keyword)
        assert attribute is not None
        if attribute.kind is MatchKind.MODALITIES:
            return any(
                value_matches("Modality", MatchKind.STRING, m, value, False, self.rules) for m in self.modalities(study)
            )
        stored = self._stored_value(keyword, attribute.level, study, series, sop)
        return value_matches(keyword, attribute.kind, stored, value, fuzzy, self.rules)

    def _stored_value(self, keyword: str, level: Level, study: str, series: str, sop: str | None) -> str | None:
        if keyword == "StudyInstanceUID":
            return study
        if keyword == "SeriesInstanceUID":
            return series
        if keyword == "SOPInstanceUID":
            return sop
        if level is Level.STUDY:
            return self.study_value(study, keyword)
        return self.series_value(study, series, keyword)
