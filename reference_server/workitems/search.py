"""Search for workitems (UPS-28..32; PS3.18 11.9).

The query names attributes by keyword or tag, sequence attributes as ``Sequence.Attribute``
(at most two levels), and only those of UPS-29 can be matched. Matching is exact (strings
case-insensitive, person names also accent-insensitive), a range on the scheduled start
date-time, and prefix-word (fuzzy) on the patient's name. Each match carries the default return
attributes (return key type 1 or 2), the matched ones and the ``includefield`` ones, never the
Transaction UID; the newest workitem comes first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from pydicom.datadict import tag_for_keyword

from reference_server.errors import HttpError
from reference_server.matching import (
    fuzzy_person_name_match,
    normalize_person_name,
    normalize_string,
    person_name_text,
)
from reference_server.workitems.dataset import JsonObject, key
from reference_server.workitems.states import Stored

LIMIT_MIN, LIMIT_MAX, LIMIT_DEFAULT = 1, 200, 100
LIMIT_MESSAGE = f"The field Limit must be between {LIMIT_MIN} and {LIMIT_MAX}."
_HEX = re.compile(r"[0-9A-Fa-f]{8}")
_DT = re.compile(r"\d{4}(\d{2}){0,5}(\.\d{1,6})?([+-]\d{4})?")


class Kind(Enum):
    TEXT = "text"
    PERSON_NAME = "person name"
    DATE_TIME = "date-time"


# UPS-29: the searchable attributes, as key paths.
SEARCHABLE: dict[tuple[str, ...], Kind] = {
    (key("PatientName"),): Kind.PERSON_NAME,
    (key("PatientID"),): Kind.TEXT,
    (key("ReferencedRequestSequence"), key("AccessionNumber")): Kind.TEXT,
    (key("ReferencedRequestSequence"), key("RequestedProcedureID")): Kind.TEXT,
    (key("ScheduledProcedureStepStartDateTime"),): Kind.DATE_TIME,
    (key("ScheduledStationNameCodeSequence"), key("CodeValue")): Kind.TEXT,
    (key("ScheduledStationClassCodeSequence"), key("CodeValue")): Kind.TEXT,
    (key("ScheduledStationGeographicLocationCodeSequence"), key("CodeValue")): Kind.TEXT,
    (key("ProcedureStepState"),): Kind.TEXT,
    (key("StudyInstanceUID"),): Kind.TEXT,
}
# UPS-32: attributes of PS3.4 Table CC.2.5-3 with return key type 1 or 2.
DEFAULT_RETURN = frozenset(
    key(k)
    for k in (
        "SpecificCharacterSet",
        "SOPClassUID",
        "SOPInstanceUID",
        "ScheduledProcedureStepPriority",
        "ScheduledProcedureStepModificationDateTime",
        "ProcedureStepLabel",
        "WorklistLabel",
        "ScheduledProcessingParametersSequence",
        "ScheduledStationNameCodeSequence",
        "ScheduledStationClassCodeSequence",
        "ScheduledStationGeographicLocationCodeSequence",
        "ScheduledHumanPerformersSequence",
        "ScheduledProcedureStepStartDateTime",
        "ScheduledWorkitemCodeSequence",
        "CommentsOnTheScheduledProcedureStep",
        "InputReadinessState",
        "InputInformationSequence",
        "StudyInstanceUID",
        "PatientName",
        "PatientID",
        "IssuerOfPatientID",
        "OtherPatientIDsSequence",
        "PatientBirthDate",
        "PatientSex",
        "AdmissionID",
        "IssuerOfAdmissionIDSequence",
        "AdmittingDiagnosesDescription",
        "AdmittingDiagnosesCodeSequence",
        "ReferencedRequestSequence",
        "ReplacedProcedureStepSequence",
        "ProcedureStepState",
        "ProcedureStepProgressInformationSequence",
        "UnifiedProcedureStepPerformedProcedureSequence",
    )
)
TRANSACTION_UID = key("TransactionUID")


@dataclass(slots=True)
class WorkitemQuery:
    filters: list[tuple[tuple[str, ...], Kind, str]] = field(default_factory=list)
    include: set[str] = field(default_factory=set)
    include_all: bool = False
    limit: int = LIMIT_DEFAULT
    offset: int = 0
    fuzzy: bool = False


def _attribute_key(name: str, parameter: str) -> str:
    if _HEX.fullmatch(name):
        return name.upper()
    tag = tag_for_keyword(name)
    if tag is None:
        raise HttpError(400, f"The query parameter '{parameter}' is not supported: '{name}' is not a known attribute.")
    return f"{tag:08X}"


def _integer(name: str, value: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+", value.strip()):
        raise HttpError(400, f"The value '{value}' of '{name}' is not an integer.")
    # Past 18 digits a value is beyond every bound (int() refuses thousands of digits): an offset
    # that large matches nothing, a limit is refused by the range check.
    huge = len(value.strip().lstrip("+-").lstrip("0")) > 18
    return (-1 if value.strip().startswith("-") else 1) * 10**18 if huge else int(value)


def _check_date_time(value: str, name: str) -> None:
    low, dash, high = value.partition("-")
    bounds = [low, high] if dash else [value]
    if (dash and not low and not high) or not all(_DT.fullmatch(b) for b in bounds if b):
        raise HttpError(400, f"The value '{value}' of '{name}' is not a date-time (YYYYMMDDHHMMSS) or a range of them.")


def parse_query(items: list[tuple[str, str]]) -> WorkitemQuery:
    """UPS-28, UPS-29: the query string; every problem is a 400 naming the parameter."""
    query = WorkitemQuery()
    seen: set[tuple[str, ...]] = set()
    for name, value in items:
        lowered = name.lower()
        if lowered == "limit":
            query.limit = _integer(name, value)
            if not LIMIT_MIN <= query.limit <= LIMIT_MAX:
                raise HttpError(400, LIMIT_MESSAGE)
        elif lowered == "offset":
            query.offset = _integer(name, value)
            if query.offset < 0:
                raise HttpError(400, f"The value {query.offset} of '{name}' is invalid: it must be at least 0.")
        elif lowered == "fuzzymatching":
            if value.strip().lower() not in ("true", "false"):
                raise HttpError(400, f"The value '{value}' of '{name}' is invalid: use true or false.")
            query.fuzzy = value.strip().lower() == "true"
        elif lowered == "includefield":
            for piece in (p.strip() for p in value.split(",")):
                if piece.lower() == "all":
                    query.include_all = True
                elif "." in piece:
                    raise HttpError(400, f"The includefield value '{piece}' is not a top-level attribute.")
                else:
                    query.include.add(_attribute_key(piece, name))
        else:
            path = tuple(_attribute_key(part, name) for part in name.split("."))
            if len(path) > 2:
                raise HttpError(400, f"The query parameter '{name}' is nested too deeply: at most two levels.")
            kind = SEARCHABLE.get(path)
            if kind is None:
                raise HttpError(400, f"The query parameter '{name}' is not supported: it cannot be searched on.")
            if path in seen:
                raise HttpError(400, f"The attribute '{name}' is given more than once.")
            if value == "":
                raise HttpError(400, f"The query parameter '{name}' is empty; empty filters are not supported.")
            if kind is Kind.DATE_TIME:
                _check_date_time(value, name)
            seen.add(path)
            query.filters.append((path, kind, value))
    if query.include_all and query.include:
        raise HttpError(400, "The includefield parameter cannot specify included fields in addition to 'all'.")
    return query


def _candidates(obj: JsonObject, path: tuple[str, ...]) -> list[object]:
    element = obj.get(path[0])
    found = element.get("Value") if isinstance(element, dict) else None
    values = found if isinstance(found, list) else []
    if len(path) == 1:
        return values
    return [v for item in values if isinstance(item, dict) for v in _candidates(item, path[1:])]


def _date_time_digits(value: str, pad: str) -> str:
    digits = value.split(".")[0].split("+")[0][:14]
    return digits + pad * (14 - len(digits))


def _matcher(kind: Kind, value: str, fuzzy: bool) -> Callable[[object], bool]:
    if kind is Kind.PERSON_NAME:
        wanted = normalize_person_name(value)
        if fuzzy:
            return lambda v: fuzzy_person_name_match(normalize_person_name(person_name_text(v)), wanted)
        return lambda v: normalize_person_name(person_name_text(v)) == wanted
    if kind is Kind.DATE_TIME:
        low, dash, high = value.partition("-")
        if not dash:
            exact = _date_time_digits(value, "0")
            return lambda v: isinstance(v, str) and _date_time_digits(v, "0") == exact
        low_bound = _date_time_digits(low, "0") if low else "0" * 14
        high_bound = _date_time_digits(high, "9") if high else "9" * 14
        return lambda v: isinstance(v, str) and low_bound <= _date_time_digits(v, "0") <= high_bound
    wanted_text = normalize_string(value)
    return lambda v: isinstance(v, str | int | float) and normalize_string(str(v)) == wanted_text


def run_search(workitems: list[Stored], query: WorkitemQuery) -> list[JsonObject]:
    """The page of matches, newest first, each with its return attributes."""
    matchers = [(path, _matcher(kind, value, query.fuzzy)) for path, kind, value in query.filters]
    matches = [w for w in workitems if all(any(m(v) for v in _candidates(w.attributes, p)) for p, m in matchers)]
    page = matches[query.offset : query.offset + query.limit]
    wanted = set(DEFAULT_RETURN) | query.include | {path[0] for path, _, _ in query.filters}
    results = []
    for workitem in page:
        keys = set(workitem.attributes) if query.include_all else wanted & set(workitem.attributes)
        keys.discard(TRANSACTION_UID)  # UPS-11: never returned, whatever is asked
        results.append({k: workitem.attributes[k] for k in sorted(keys)})
    return results
