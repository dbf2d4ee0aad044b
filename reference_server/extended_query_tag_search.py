"""QIDO filters on extended query tags (EQT-04, EQT-11, EQT-12, QIDO-28).

``qido`` hands a filter whose attribute is not one of the default searchable ones to
``extended_filter``: the tag must be ready (EQT-12) and its query status enabled (EQT-11), and
its level must be searchable on the resource (the same matrix as the default attributes,
QIDO-07). ``filter_sql`` turns it into a condition over ``extended_query_tag_values``: exact
match for every supported VR, ranges for DA/DT/TM, fuzzy matching for PN (EQT-04).
"""

from __future__ import annotations

from typing import Any

from reference_server.attributes import Resource
from reference_server.errors import HttpError
from reference_server.extended_query_tag_index import (
    NUMBER_VRS,
    RANGE_VRS,
    ExtendedTag,
    QueryStatus,
    TagLevel,
    TagStatus,
    normalize_value,
)
from reference_server.matching import QueryValueError, normalize_person_name, parse_date_filter

_SEARCHABLE_ON = {
    TagLevel.STUDY: frozenset({Resource.ALL_STUDIES, Resource.ALL_SERIES, Resource.ALL_INSTANCES}),
    TagLevel.SERIES: frozenset(
        {Resource.ALL_SERIES, Resource.ALL_INSTANCES, Resource.STUDY_SERIES, Resource.STUDY_INSTANCES}
    ),
    TagLevel.INSTANCE: frozenset({Resource.ALL_INSTANCES, Resource.STUDY_INSTANCES, Resource.STUDY_SERIES_INSTANCES}),
}
_SCOPE = {
    TagLevel.STUDY: "vi.study_key = st.study_key",
    TagLevel.SERIES: "vi.series_key = se.series_key",
    TagLevel.INSTANCE: "vi.instance_key = i.instance_key",
}


def extended_filter(
    name: str, value: str, tag: ExtendedTag, resource: Resource, seen: set[int]
) -> tuple[ExtendedTag, str]:
    """A filter ``name=value`` on the extended query tag ``tag``; 400 when it cannot be used."""
    if tag.status is not TagStatus.READY:
        raise HttpError(
            400, f"The extended query tag '{name}' ({tag.path}) is {tag.status.value}: it can be searched once ready."
        )
    if tag.query_status is QueryStatus.DISABLED:
        raise HttpError(
            400,
            f"The extended query tag '{name}' ({tag.path}) is disabled for query: indexing found errors. "
            "Enable it (PATCH queryStatus) to search it anyway.",
        )
    if resource not in _SEARCHABLE_ON[tag.level]:
        raise HttpError(
            400,
            f"The {tag.level.value}-level extended query tag '{name}' cannot be searched"
            f" on the {resource.value} resource.",
        )
    if tag.tag in seen:
        raise HttpError(400, f"The attribute '{name}' is given more than once.")
    seen.add(tag.tag)
    if value == "":
        raise HttpError(400, f"The query parameter '{name}' has an empty value; empty filters are not supported.")
    return tag, value


def _compared(tag: ExtendedTag, value: str, fuzzy: bool) -> tuple[str, list[Any]]:
    if tag.vr == "PN" and fuzzy:
        return "fuzzy_pn(v.value, ?)", [normalize_person_name(value)]
    if tag.vr in RANGE_VRS and "-" in value:
        if tag.vr == "DA":
            try:
                bounds = parse_date_filter(value, tag.path)
            except QueryValueError as exc:
                raise HttpError(400, str(exc)) from exc
            low, high = bounds.low, bounds.high
        else:
            low_text, _, high_text = value.strip().partition("-")
            low, high = low_text or None, high_text or None
            if low is None and high is None:
                raise HttpError(400, f"The range '{value}' of attribute '{tag.path}' has no bounds.")
        clauses, params = [], []
        if low is not None:
            clauses.append("v.value >= ?")
            params.append(low)
        if high is not None:
            clauses.append("v.value <= ?")
            params.append(high)
        return " AND ".join(clauses), params
    try:
        normalized = normalize_value(tag.vr, value)
    except ValueError:
        raise HttpError(400, f"The value '{value}' of attribute '{tag.path}' is not a valid {tag.vr} value.") from None
    if tag.vr in NUMBER_VRS or normalized is not None:
        return "v.value = ?", [normalized]
    raise HttpError(400, f"The value '{value}' of attribute '{tag.path}' is empty.")


def filter_sql(tag: ExtendedTag, value: str, fuzzy: bool) -> tuple[str, list[Any]]:
    """The SQL condition (over the QIDO aliases st / se / i) of one extended query tag filter."""
    compared, params = _compared(tag, value, fuzzy)
    condition = (
        "EXISTS (SELECT 1 FROM extended_query_tag_values v JOIN instances vi ON vi.instance_key = v.instance_key"
        f" WHERE v.tag_key = ? AND {_SCOPE[tag.level]} AND {compared})"
    )
    return condition, [tag.key, *params]


def erroneous_attributes(filters: list[tuple[ExtendedTag, str]]) -> dict[str, str]:
    """QIDO-28: the ``erroneous-dicom-attributes`` header when a filter uses an enabled tag with errors."""
    paths = [tag.path for tag, _ in filters if tag.error_count]
    return {"erroneous-dicom-attributes": ",".join(paths)} if paths else {}
