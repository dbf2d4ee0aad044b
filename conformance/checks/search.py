"""Checks on QIDO-RS answers: status and body shape, which entities matched, which attributes
each match carries (QIDO-22..27; PS3.18 10.6.3)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pydicom.datadict import keyword_for_tag, tag_for_keyword

from conformance.checks.http import expect_empty_body, expect_media_type, expect_schema, expect_status
from conformance.client.client import DicomwebClient
from conformance.client.responses import JsonDatasetsResponse
from conformance.core.dicom_json import json_values
from conformance.core.errors import ConformanceFailure
from conformance.core.media_types import DICOM_JSON
from conformance.oracle import InvalidQuery, Resource, SearchModel, SearchQuery

UID_KEYS = {"study": "0020000D", "series": "0020000E", "instance": "00080018"}


def key_of(keyword: str) -> str:
    tag = tag_for_keyword(keyword)
    if tag is None:
        raise KeyError(keyword)
    return f"{tag:08X}"


def keyword_of(key: str) -> str:
    return keyword_for_tag(int(key, 16)) or key


def expect_matches(
    response: JsonDatasetsResponse, empty_status: int, *, why: str, empty: bool | None = None
) -> list[dict[str, Any]]:
    """QIDO-22: 200 with a JSON array of DICOM JSON datasets, or for no match the profile's
    empty answer (204 without a body, or 200 with ``[]``). ``empty`` says which one is due
    (None: either). Returns the datasets."""
    allowed = {True: (empty_status,), False: (200,), None: (200, empty_status)}[empty]
    expect_status(response, *allowed, why=why)
    if response.status == 204:
        expect_empty_body(response, why="a 204 answer has no body")
        return []
    expect_media_type(response, DICOM_JSON, why="search results are application/dicom+json")
    expect_schema(response, "dicom-json-array", why="search results are an array of DICOM JSON datasets")
    objects = response.objects
    if empty is not None and bool(objects) == empty:
        raise ConformanceFailure(
            why,
            expected="no match" if empty else "at least one match",
            received=f"{len(objects)} match(es)",
            exchange=response.exchange,
        )
    return objects


def expect_some(response: JsonDatasetsResponse, *, why: str) -> list[dict[str, Any]]:
    """200 with at least one match (QIDO-22); returns the datasets."""
    return expect_matches(response, 200, why=why, empty=False)


def uids_of(objects: Sequence[dict[str, Any]], level: str) -> list[str]:
    """The UID of each match at ``level`` (study, series, instance); '' where it is missing."""
    key = UID_KEYS[level]
    out = []
    for obj in objects:
        values = json_values(obj, key) or []
        out.append(str(values[0]).rstrip("\0 ") if values else "")
    return out


def expect_found(
    response: JsonDatasetsResponse,
    empty_status: int,
    level: str,
    expected: Sequence[str],
    *,
    ordered: bool = False,
    why: str,
    label: Callable[[str], str] = str,
) -> list[dict[str, Any]]:
    """The matches are exactly ``expected`` (UIDs of ``level``), in that order when ``ordered``."""
    objects = expect_matches(response, empty_status, why=why)
    found = uids_of(objects, level)
    same = found == list(expected) if ordered else sorted(found) == sorted(expected) and len(set(found)) == len(found)
    if not same:
        raise ConformanceFailure(
            why,
            expected=_listing(expected, label, ordered),
            received=_listing(found, label, ordered),
            exchange=response.exchange,
        )
    if not expected:
        expect_status(response, empty_status, why=f"{why}: no match is answered {empty_status}")
    return objects


def _listing(uids: Sequence[str], label: Callable[[str], str], ordered: bool) -> str:
    if not uids:
        return "no match"
    items = [label(u) for u in uids] if ordered else sorted(label(u) for u in uids)
    return ("in this order: " if ordered and len(uids) > 1 else "") + ", ".join(items)


def expect_keys(
    response: JsonDatasetsResponse,
    objects: Iterable[dict[str, Any]],
    *,
    required: Iterable[str],
    allowed: Iterable[str] | None = None,
    why: str,
) -> None:
    """Each dataset holds every ``required`` keyword and (when ``allowed`` is given) nothing else."""
    need = {key_of(k) for k in required}
    permit = None if allowed is None else {key_of(k) for k in allowed} | need
    for index, obj in enumerate(objects, start=1):
        missing = sorted(need - set(obj))
        extra = sorted(set(obj) - permit) if permit is not None else []
        if missing or extra:
            problems = []
            if missing:
                problems.append("missing " + ", ".join(keyword_of(k) for k in missing))
            if extra:
                problems.append("unexpected " + ", ".join(keyword_of(k) for k in extra))
            raise ConformanceFailure(
                why,
                expected=f"match {index} with exactly the documented attributes",
                received="; ".join(problems),
                exchange=response.exchange,
            )


def send_query(client: DicomwebClient, query: SearchQuery) -> JsonDatasetsResponse:
    """Send a modelled query to the target: its resource, path UIDs and parameters as given."""
    resource, params = query.resource, list(query.params)
    if resource is Resource.ALL_STUDIES:
        return client.search_for_studies(params)
    if resource in (Resource.ALL_SERIES, Resource.STUDY_SERIES):
        return client.search_for_series(params, study=query.study_uid)
    return client.search_for_instances(params, study=query.study_uid, series=query.series_uid)


def expect_as_modelled(
    response: JsonDatasetsResponse,
    model: SearchModel,
    query: SearchQuery,
    empty_status: int,
    *,
    why: str,
    label: Callable[[str], str] = str,
) -> list[dict[str, Any]]:
    """The target answered ``query`` as the model of the documented rules says: 400 for a query
    the rules refuse, else exactly the modelled matches (in order when the rules fix one)."""
    try:
        expected = model.search(query)
    except InvalidQuery as exc:
        expect_status(response, 400, why=f"{why}: the query must be refused ({exc})")
        return []
    level = query.resource.level.value
    return expect_found(response, empty_status, level, expected, ordered=model.rules.newest_first, why=why, label=label)
