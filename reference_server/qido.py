"""QIDO-RS search (PS3.18 10.6; behaviors.md section 4, QIDO-01..30).

The query string is parsed into a ``Query`` (every problem is a 400 naming the parameter),
turned into SQL over the index columns, and each matching row is answered with the return
set of its resource: the level's default (or ``all``) set for the API version, higher levels'
sets, the filters, the path UIDs and the ``includefield`` attributes (QIDO-24..27).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from starlette.requests import Request
from starlette.responses import Response

from reference_server import attributes as attrs
from reference_server.attributes import IndexedAttribute, Level, MatchKind, Resource, json_key
from reference_server.dicom_json import JsonObject, dataset_json, element
from reference_server.errors import HttpError
from reference_server.extended_query_tag_index import ExtendedTag, searchable_tags
from reference_server.extended_query_tag_search import erroneous_attributes, extended_filter, filter_sql
from reference_server.index import Index
from reference_server.matching import (
    QueryValueError,
    normalize,
    normalize_person_name,
    parse_date_filter,
)
from reference_server.negotiation import DICOM_JSON, accepts_dicom_json
from reference_server.partitions import partition_of
from reference_server.paths import path_uid
from reference_server.state import api_version, server_state
from reference_server.versions import ApiVersion

LIMIT_MIN, LIMIT_MAX, LIMIT_DEFAULT = 1, 200, 100
_HEX_TAG = re.compile(r"[0-9A-Fa-f]{8}")
_TABLE_ALIAS = {Level.STUDY: "st", Level.SERIES: "se", Level.INSTANCE: "i"}


@dataclass(slots=True)
class Query:
    """A parsed QIDO request."""

    resource: Resource
    version: ApiVersion
    partition: int  # the key of the data partition searched (PART-07: never across partitions)
    study_uid: str | None = None
    series_uid: str | None = None
    filters: list[tuple[IndexedAttribute, str]] = field(default_factory=list)
    include_all: bool = False
    include: list[int] = field(default_factory=list)
    limit: int = LIMIT_DEFAULT
    offset: int = 0
    fuzzy: bool = False
    # EQT-12: the extended query tags (by tag) a filter may name, and the filters on them.
    extended: dict[int, ExtendedTag] = field(default_factory=dict)
    extended_filters: list[tuple[ExtendedTag, str]] = field(default_factory=list)


def parse_attribute(name: str) -> int | None:
    """GEN-05: a keyword (case-sensitive) or 8 hex digits; None when neither."""
    if _HEX_TAG.fullmatch(name):
        return int(name, 16)
    value = tag_for_keyword(name)
    return int(value) if value is not None else None


def _integer(name: str, value: str, low: int, high: int | None) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+", value.strip()):
        raise HttpError(400, f"The value '{value}' of '{name}' is not an integer.")
    # Beyond 18 digits a value is past every bound (and past SQLite's integers, and Python refuses
    # int() of thousands of digits): an offset that large matches nothing (QIDO-04), a limit is 400.
    huge = len(value.strip().lstrip("+-").lstrip("0")) > 18
    number = (-1 if value.strip().startswith("-") else 1) * 10**18 if huge else int(value)
    if number < low or (high is not None and number > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise HttpError(400, f"The value {value.strip()} of '{name}' is invalid: it must be {bounds}.")
    return number


def parse_query(items: list[tuple[str, str]], query: Query) -> Query:
    """Fill ``query`` from the query string (QIDO-01..10); 400 on any problem."""
    seen_options: set[str] = set()
    seen_tags: set[int] = set()
    for name, value in items:
        lowered = name.lower()
        if lowered in ("limit", "offset", "fuzzymatching"):
            if lowered in seen_options:
                raise HttpError(400, f"The query parameter '{name}' is given more than once.")
            seen_options.add(lowered)
            if lowered == "limit":
                query.limit = _integer(name, value, LIMIT_MIN, LIMIT_MAX)
            elif lowered == "offset":
                query.offset = _integer(name, value, 0, None)
            elif value.strip().lower() in ("true", "false"):
                query.fuzzy = value.strip().lower() == "true"
            else:
                raise HttpError(400, f"The value '{value}' of '{name}' is invalid: use true or false.")
        elif lowered == "includefield":
            _parse_includefield(value, query)
        else:
            _parse_filter(name, value, query, seen_tags)
    if query.include_all and query.include:
        raise HttpError(400, "The includefield parameter cannot specify included fields in addition to 'all'.")
    return query


def _parse_includefield(value: str, query: Query) -> None:
    for piece in value.split(","):
        piece = piece.strip()
        if piece.lower() == "all":
            query.include_all = True
            continue
        tag = parse_attribute(piece)
        if tag is None:
            raise HttpError(400, f"The includefield value '{piece}' is not a known attribute keyword or tag.")
        query.include.append(tag)


def _parse_filter(name: str, value: str, query: Query, seen: set[int]) -> None:
    tag = parse_attribute(name)
    indexed = attrs.INDEXED_BY_TAG.get(tag) if tag is not None else None
    if tag is not None and indexed is None and tag in query.extended:
        query.extended_filters.append(extended_filter(name, value, query.extended[tag], query.resource, seen))
        return
    if tag is None or indexed is None:
        raise HttpError(400, f"The query parameter '{name}' is not supported: it is not a searchable attribute.")
    if query.resource not in indexed.searchable_on:
        raise HttpError(
            400,
            f"The attribute '{name}' ({indexed.keyword}) cannot be searched on the {query.resource.value} resource.",
        )
    if tag in seen:
        raise HttpError(400, f"The attribute '{name}' ({indexed.keyword}) is given more than once.")
    seen.add(tag)
    if value == "":
        raise HttpError(400, f"The query parameter '{name}' has an empty value; empty filters are not supported.")
    query.filters.append((indexed, value))


def _filter_sql(attribute: IndexedAttribute, value: str, fuzzy: bool) -> tuple[str, list[Any]]:
    """The SQL condition of one filter (QIDO-11..17)."""
    if attribute.kind is MatchKind.MODALITIES:
        condition = "EXISTS (SELECT 1 FROM series ms WHERE ms.study_key = st.study_key AND ms.modality = ?)"
        return condition, [normalize(MatchKind.STRING, value)]
    column = f"{_TABLE_ALIAS[attribute.level]}.{attribute.column}"
    if attribute.kind is MatchKind.DATE:
        try:
            bounds = parse_date_filter(value, attribute.keyword)
        except QueryValueError as exc:
            raise HttpError(400, str(exc)) from exc
        clauses, params = [], []
        if bounds.low is not None:
            clauses.append(f"{column} >= ?")
            params.append(bounds.low)
        if bounds.high is not None:
            clauses.append(f"{column} <= ?")
            params.append(bounds.high)
        return " AND ".join(clauses), params
    if attribute.kind is MatchKind.PERSON_NAME and fuzzy:
        if '"' in value:
            raise HttpError(400, f"The fuzzy matching value of '{attribute.keyword}' must not contain '\"'.")
        return f"fuzzy_pn({column}, ?)", [normalize_person_name(value)]
    return f"{column} = ?", [normalize(attribute.kind, value)]


_SELECT = {
    Level.STUDY: "SELECT st.study_key, st.study_uid, st.attributes AS study_attributes FROM studies st",
    Level.SERIES: (
        "SELECT st.study_key, st.study_uid, st.attributes AS study_attributes, se.series_key, se.series_uid,"
        " se.attributes AS series_attributes FROM series se JOIN studies st ON st.study_key = se.study_key"
    ),
    Level.INSTANCE: (
        "SELECT st.study_key, st.study_uid, st.attributes AS study_attributes, se.series_key, se.series_uid,"
        " se.attributes AS series_attributes, i.instance_key, i.metadata FROM instances i"
        " JOIN series se ON se.series_key = i.series_key JOIN studies st ON st.study_key = i.study_key"
    ),
}
_ORDER = {Level.STUDY: "st.study_key", Level.SERIES: "se.series_key", Level.INSTANCE: "i.instance_key"}


def run_search(index: Index, query: Query) -> list[JsonObject]:
    """Execute ``query``; newest first (QIDO-23); JSON objects of the matches."""
    level = query.resource.level
    clauses: list[str] = ["st.partition_key = ?"]
    params: list[Any] = [query.partition]
    if query.study_uid is not None:
        clauses.append("st.study_uid = ?")
        params.append(query.study_uid)
    if query.series_uid is not None:
        clauses.append("se.series_uid = ?")
        params.append(query.series_uid)
    for attribute, value in query.filters:
        condition, values = _filter_sql(attribute, value, query.fuzzy)
        clauses.append(condition)
        params.extend(values)
    for tag, value in query.extended_filters:
        condition, values = filter_sql(tag, value, query.fuzzy)
        clauses.append(condition)
        params.extend(values)
    where = f" WHERE {' AND '.join(clauses)}"
    sql = f"{_SELECT[level]}{where} ORDER BY {_ORDER[level]} DESC LIMIT ? OFFSET ?"
    rows = index.query(sql, [*params, query.limit, query.offset])
    wanted = return_tags(query)
    computed = _Computed.fetch(index, rows, level, wanted)
    return [_result(index, row, level, wanted, computed) for row in rows]


def return_tags(query: Query) -> set[int]:
    """QIDO-24..27: what each match carries."""
    v2 = query.version.is_v2_or_later
    if query.include_all:
        study = set(attrs.STUDY_ALL) | set(attrs.STUDY_V2_DEFAULT)
        series = set(attrs.SERIES_ALL) | set(attrs.SERIES_V2_DEFAULT)
        instance = set(attrs.INSTANCE_ALL)
    else:
        study = set(attrs.STUDY_V2_DEFAULT if v2 else attrs.STUDY_V1_DEFAULT)
        series = set(attrs.SERIES_V2_DEFAULT if v2 else attrs.SERIES_V1_DEFAULT)
        instance = set(attrs.INSTANCE_V2_DEFAULT if v2 else attrs.INSTANCE_V1_DEFAULT)
    wanted: set[int] = {
        Resource.ALL_STUDIES: study,
        Resource.ALL_SERIES: series | study,
        Resource.STUDY_SERIES: series | {attrs.STUDY_INSTANCE_UID},
        Resource.ALL_INSTANCES: instance | series | study,
        Resource.STUDY_INSTANCES: instance | series | {attrs.STUDY_INSTANCE_UID},
        Resource.STUDY_SERIES_INSTANCES: instance | {attrs.STUDY_INSTANCE_UID, attrs.SERIES_INSTANCE_UID},
    }[query.resource]
    wanted |= {attribute.tag for attribute, _ in query.filters}
    wanted |= {tag.tag for tag, _ in query.extended_filters}
    wanted |= set(query.include)
    return wanted


@dataclass(slots=True)
class _Computed:
    """ModalitiesInStudy and the instance counts of every matched row, fetched with one query
    each for the whole page of results rather than one per row (QIDO-17, QIDO-24)."""

    modalities: dict[int, list[str]] = field(default_factory=dict)  # study key -> in series order
    study_counts: dict[int, int] = field(default_factory=dict)
    series_counts: dict[int, int] = field(default_factory=dict)

    @classmethod
    def fetch(cls, index: Index, rows: list[sqlite3.Row], level: Level, wanted: set[int]) -> _Computed:
        computed = cls()
        if not rows:
            return computed
        studies = sorted({int(row["study_key"]) for row in rows})
        marks = ", ".join("?" for _ in studies)
        if attrs.MODALITIES_IN_STUDY in wanted:
            found = index.query(
                f"SELECT study_key, attributes FROM series WHERE study_key IN ({marks}) ORDER BY series_key", studies
            )
            for series_row in found:
                modalities = computed.modalities.setdefault(int(series_row["study_key"]), [])
                value = json.loads(series_row["attributes"]).get(json_key(attrs.MODALITY), {}).get("Value") or []
                modality = str(value[0]).rstrip("\0 ") if value else ""
                if modality and modality not in modalities:
                    modalities.append(modality)
        if attrs.NUMBER_OF_STUDY_RELATED_INSTANCES in wanted:
            sql = f"SELECT study_key, COUNT(*) AS n FROM instances WHERE study_key IN ({marks}) GROUP BY study_key"
            computed.study_counts = {int(r["study_key"]): int(r["n"]) for r in index.query(sql, studies)}
        if attrs.NUMBER_OF_SERIES_RELATED_INSTANCES in wanted and level is not Level.STUDY:
            series = sorted({int(row["series_key"]) for row in rows})
            marks = ", ".join("?" for _ in series)
            sql = f"SELECT series_key, COUNT(*) AS n FROM instances WHERE series_key IN ({marks}) GROUP BY series_key"
            computed.series_counts = {int(r["series_key"]): int(r["n"]) for r in index.query(sql, series)}
        return computed

    def value(self, row: sqlite3.Row, tag: int, level: Level) -> JsonObject | None:
        if tag == attrs.MODALITIES_IN_STUDY:
            modalities = self.modalities.get(int(row["study_key"]))
            return element(tag, "CS", modalities).to_json_dict(None, 0) if modalities else None
        if tag == attrs.NUMBER_OF_STUDY_RELATED_INSTANCES:
            return element(tag, "IS", self.study_counts.get(int(row["study_key"]), 0)).to_json_dict(None, 0)
        if tag == attrs.NUMBER_OF_SERIES_RELATED_INSTANCES and level is not Level.STUDY:
            return element(tag, "IS", self.series_counts.get(int(row["series_key"]), 0)).to_json_dict(None, 0)
        return None


def _latest_instance_metadata(index: Index, row: sqlite3.Row, level: Level) -> JsonObject:
    column, key = ("study_key", row["study_key"]) if level is Level.STUDY else ("series_key", row["series_key"])
    found = index.query(f"SELECT metadata FROM instances WHERE {column} = ? ORDER BY instance_key DESC LIMIT 1", [key])
    return json.loads(found[0]["metadata"]) if found else {}


def _result(index: Index, row: sqlite3.Row, level: Level, wanted: set[int], computed: _Computed) -> JsonObject:
    sources: dict[Level, JsonObject] = {Level.STUDY: json.loads(row["study_attributes"])}
    if level is not Level.STUDY:
        sources[Level.SERIES] = json.loads(row["series_attributes"])
    if level is Level.INSTANCE:
        sources[Level.INSTANCE] = json.loads(row["metadata"])
    out: JsonObject = {}
    fallback: JsonObject | None = None
    for tag in sorted(wanted):
        key = json_key(tag)
        if tag in attrs.COMPUTED_STUDY or tag in attrs.COMPUTED_SERIES:
            value = computed.value(row, tag, level)
        else:
            source = sources.get(attrs.level_of(tag))
            if source is None:  # an attribute below the level of this row: from its newest instance
                if fallback is None:
                    fallback = _latest_instance_metadata(index, row, level)
                source = fallback
            value = source.get(key)
        if value is not None:
            out[key] = value
    # The UIDs of the row itself are always there, even if a file lacked them in metadata.
    uids = [(attrs.STUDY_INSTANCE_UID, row["study_uid"])]
    if level is not Level.STUDY:
        uids.append((attrs.SERIES_INSTANCE_UID, row["series_uid"]))
    for tag, uid in uids:
        if tag in wanted and json_key(tag) not in out:
            out[json_key(tag)] = dataset_json(_single(tag, "UI", uid))[json_key(tag)]
    return dict(sorted(out.items()))


def _single(tag: int, vr: str, value: Any) -> Dataset:
    dataset = Dataset()
    dataset.add(element(tag, vr, value))
    return dataset


_RESOURCE_PATH_UIDS = {
    Resource.ALL_STUDIES: (),
    Resource.ALL_SERIES: (),
    Resource.ALL_INSTANCES: (),
    Resource.STUDY_SERIES: ("study",),
    Resource.STUDY_INSTANCES: ("study",),
    Resource.STUDY_SERIES_INSTANCES: ("study", "series"),
}


async def search(request: Request, resource: Resource) -> Response:
    """The six QIDO routes (section 4 table)."""
    query = Query(resource=resource, version=api_version(request), partition=partition_of(request).key)
    names = _RESOURCE_PATH_UIDS[resource]
    if "study" in names:
        query.study_uid = path_uid(request, "study")  # QIDO-30: invalid 400, unknown 204
    if "series" in names:
        query.series_uid = path_uid(request, "series")
    if not accepts_dicom_json(request.headers.get("accept")):
        raise HttpError(406, empty_body=True)
    index = server_state(request).index
    query.extended = await anyio.to_thread.run_sync(searchable_tags, index)
    parse_query(request.query_params.multi_items(), query)
    results = await anyio.to_thread.run_sync(run_search, index, query)
    headers = erroneous_attributes(query.extended_filters)  # QIDO-28
    if not results:
        return Response(status_code=204, headers=headers)
    body = json.dumps(results, ensure_ascii=False).encode("utf-8")
    return Response(body, media_type=DICOM_JSON, headers=headers)


def endpoint(resource: Resource) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint function for one resource."""

    async def handler(request: Request) -> Response:
        return await search(request, resource)

    handler.__name__ = f"search_{resource.name.lower()}"
    return handler
