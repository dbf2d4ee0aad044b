"""Mutants for the retrieve and search behaviours (WADO, QIDO)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from tests.quality.mutants import Answer, Mutant, Request, header_rewrite, is_json, metadata_rewrite, status_map

GROUPS = {"WADO", "QIDO"}
EXEMPT: dict[str, str] = {}

_UID = r"[^/]+"
RETRIEVE = re.compile(rf"^/v\d/studies/{_UID}(/series/{_UID}(/instances/{_UID})?)?$")
INSTANCE = re.compile(rf"^/v\d/studies/{_UID}/series/{_UID}/instances/{_UID}$")
FRAMES = re.compile(rf"^/v\d/studies/{_UID}/series/{_UID}/instances/{_UID}/frames/[^/]+$")
RENDERED = re.compile(r"/rendered$")
SEARCH = re.compile(
    rf"^/v\d/(studies|series|instances|studies/{_UID}/(series|instances)|studies/{_UID}/series/{_UID}/instances)$"
)
STUDY_SCOPED_SEARCH = re.compile(rf"^/v\d/studies/{_UID}/")

Params = list[tuple[str, str]]


def is_retrieve(r: Request) -> bool:
    return r.method == "GET" and bool(RETRIEVE.match(r.path))


def is_study_or_series(r: Request) -> bool:
    return is_retrieve(r) and not INSTANCE.match(r.path)


def is_frames(r: Request) -> bool:
    return r.method == "GET" and bool(FRAMES.match(r.path))


def is_rendered(r: Request) -> bool:
    return r.method == "GET" and bool(RENDERED.search(r.path))


def is_search(r: Request) -> bool:
    return r.method == "GET" and bool(SEARCH.match(r.path))


def accept_of(r: Request) -> str:
    return r.headers.get("accept", "")


# -- query-string and result rewrites ------------------------------------------------------------


def params_of(r: Request) -> Params:
    return parse_qsl(r.query, keep_blank_values=True)


def set_params(r: Request, params: Params) -> None:
    r.query = urlencode(params, quote_via=quote, safe="")


def query_rewrite(
    fn: Callable[[Params], Params], when: Callable[[Request], bool] = is_search
) -> Callable[[Request], None]:
    def rewrite(r: Request) -> None:
        if when(r):
            set_params(r, fn(params_of(r)))

    return rewrite


def without(*names: str) -> Callable[[Params], Params]:
    lowered = {n.lower() for n in names}
    return lambda params: [(k, v) for k, v in params if k.lower() not in lowered]


def results_rewrite(
    fn: Callable[[Request, list[dict[str, Any]]], list[dict[str, Any]]],
) -> Callable[[Request, Answer], None]:
    """Rewrite the array of a successful search; an emptied array becomes 204."""

    def rewrite(r: Request, a: Answer) -> None:
        if is_search(r) and a.status == 200 and is_json(a):
            results = fn(r, a.json())
            if results:
                a.set_json(results)
            else:
                a.status, a.body = 204, b""
                a.set_header("content-type", None)

    return rewrite


def each_result(
    fn: Callable[[dict[str, Any]], None], when: Callable[[Request], bool] = lambda r: True
) -> Callable[[Request, Answer], None]:
    def apply(r: Request, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if when(r):
            for obj in results:
                fn(obj)
        return results

    return results_rewrite(apply)


def _alphabetic(obj: dict[str, Any], key: str) -> str:
    values = obj.get(key, {}).get("Value") or [{}]
    value = values[0]
    return str(value.get("Alphabetic", "")) if isinstance(value, dict) else ""


def _case_sensitive_names(r: Request, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    wanted = dict(params_of(r)).get("PatientName")
    if wanted is None or "fuzzymatching=true" in r.query.lower():
        return results
    return [o for o in results if _alphabetic(o, "00100010").rstrip("^") == wanted.rstrip("^")]


def _swap(first: str, second: str) -> Callable[[Params], Params]:
    def fn(params: Params) -> Params:
        out = []
        for k, v in params:
            if v.startswith(first):
                v = second + v[len(first) :]
            elif v.startswith(second):
                v = first + v[len(second) :]
            out.append((k, v))
        return out

    return fn


def _dedupe(params: Params) -> Params:
    seen: set[str] = set()
    out = []
    for k, v in params:
        if k not in seen:
            seen.add(k)
            out.append((k, v))
    return out


def _open_ranges_exact(params: Params) -> Params:
    return [(k, v.rstrip("-") if k == "StudyDate" and v.endswith("-") else v) for k, v in params]


def _wildcards_as_prefixes(params: Params) -> Params:
    out = [(k, v[:-1] if v.endswith("*") else v) for k, v in params]
    if any(v.endswith("*") for _, v in params):
        out.append(("fuzzymatching", "true"))
    return out


def _names_as_prefixes(params: Params) -> Params:
    names = {k.lower() for k, _ in params}
    return params + [("fuzzymatching", "true")] if "patientname" in names and "fuzzymatching" not in names else params


def _only_first_included(params: Params) -> Params:
    return [(k, v.split(",")[0] if k.lower() == "includefield" else v) for k, v in params]


def _case_sensitive_options(params: Params) -> Params:
    options = {"limit", "offset", "includefield", "fuzzymatching"}
    return [(f"X{k}" if k.lower() in options and k != k.lower() else k, v) for k, v in params]


def _nul_padding_needed(r: Request, a: Answer) -> None:
    if is_search(r) and re.search(r"AccessionNumber=NUL-[0-9A-F]{8}A(&|$)", r.query):
        a.status, a.body = 204, b""
        a.set_header("content-type", None)


def _oldest_first(r: Request, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return list(reversed(results))


def _first_modality_only(obj: dict[str, Any]) -> None:
    element = obj.get("00080061")
    if element and element.get("Value"):
        element["Value"] = element["Value"][:1]


def _add(key: str, vr: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def fn(obj: dict[str, Any]) -> None:
        obj[key] = {"vr": vr, "Value": [value]}

    return fn


def _empty_204_as_200(r: Request, a: Answer) -> None:
    if is_search(r) and a.status == 204:
        a.status, a.body = 200, b"[]"
        a.set_header("content-type", "application/dicom+json")


def _refuse_model_name(r: Request, a: Answer) -> None:
    if is_search(r) and "ManufacturerModelName=" in r.query:
        a.status, a.body = 400, b"ManufacturerModelName is not supported"
        a.set_header("content-type", "text/plain")


def _warn_on_searches(r: Request, a: Answer) -> None:
    if is_search(r) and a.status == 200:
        a.set_header("warning", '299 localhost: "There are additional results that can be requested."')


def _strip_part_syntax(r: Request, a: Answer) -> None:
    if is_retrieve(r) and a.status == 200:
        a.body = re.sub(
            rb"Content-Type: application/dicom; transfer-syntax=[0-9.]+", b"Content-Type: application/dicom", a.body
        )


def _single_part_without_syntax(r: Request, a: Answer) -> None:
    content_type = a.header("content-type") or ""
    if INSTANCE.match(r.path) and content_type.startswith("application/dicom;"):
        a.set_header("content-type", "application/dicom")


def _frames_sorted(r: Request) -> None:
    if is_frames(r):
        head, _, frames = r.path.rpartition("/")
        numbers = frames.split(",")
        if all(n.isdigit() for n in numbers):
            r.path = f"{head}/{','.join(sorted(numbers, key=int))}"


def _rendered_zero_based(r: Request) -> None:
    match = re.search(r"/frames/(\d+)/rendered$", r.path)
    if r.method == "GET" and match and int(match.group(1)) > 1:
        r.path = r.path[: match.start(1)] + str(int(match.group(1)) - 1) + "/rendered"


def _no_padded_uids(r: Request) -> None:
    if r.method == "GET" and " /" in r.path:
        r.path = r.path.replace(" /", "9/")


def _drop_description(obj: dict[str, Any]) -> None:
    obj.pop("00081030", None)


def _keep_invalid(obj: dict[str, Any]) -> None:
    obj.setdefault("00081040", {"vr": "LO", "Value": ["D" * 70]})


def _strip_nul(obj: dict[str, Any]) -> None:
    for element in obj.values():
        if isinstance(element.get("Value"), list):
            element["Value"] = [v.rstrip("\x00") if isinstance(v, str) else v for v in element["Value"]]


def _text(status: int, message: str) -> Callable[[Request, Answer], None]:
    def fn(r: Request, a: Answer) -> None:
        a.status, a.body = status, message.encode()
        a.set_header("content-type", "text/plain")

    return fn


MUTANTS: list[Mutant] = [
    # -- WADO-RS
    Mutant(
        "WADO-01",
        "refuses */* for studies and series",
        answer=lambda r, a: is_study_or_series(r) and accept_of(r) == "*/*" and _text(406, "no")(r, a),
    ),
    Mutant(
        "WADO-02",
        "sends studies as single-part application/dicom",
        request=lambda r: (
            is_study_or_series(r)
            and accept_of(r).startswith("application/dicom")
            and r.headers.update({"accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'})
        ),
    ),
    Mutant(
        "WADO-03",
        "sends several instances in the default syntax",
        request=lambda r: (
            is_study_or_series(r)
            and accept_of(r).startswith("multipart/related")
            and "transfer-syntax" not in accept_of(r)
            and r.headers.update({"accept": accept_of(r) + "; transfer-syntax=*"})
        ),
    ),
    Mutant("WADO-04", "leaves the transfer syntax out of part headers", answer=_strip_part_syntax),
    Mutant(
        "WADO-05",
        "answers 204 for unknown studies and series",
        answer=status_map(is_study_or_series, 404, 204, b""),
    ),
    Mutant(
        "WADO-06",
        "refuses single-part instance retrieval",
        answer=lambda r, a: (
            bool(INSTANCE.match(r.path))
            and accept_of(r).startswith("application/dicom")
            and _text(406, "multipart only")(r, a)
        ),
    ),
    Mutant("WADO-07", "labels single parts without their transfer syntax", answer=_single_part_without_syntax),
    Mutant(
        "WADO-08",
        "sends instances as octet-stream",
        request=lambda r: (
            bool(INSTANCE.match(r.path))
            and "octet-stream" in accept_of(r)
            and r.headers.update({"accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'})
        ),
    ),
    Mutant(
        "WADO-09",
        "sends the stored syntax when another is asked for",
        request=lambda r: (
            (is_retrieve(r) or is_frames(r))
            and header_rewrite(
                r,
                "accept",
                lambda v: re.sub(r"transfer-syntax=1\.2\.840\.10008\.1\.2\.(1|4\.90)\b", "transfer-syntax=*", v or ""),
            )
        ),
    ),
    Mutant(
        "WADO-10",
        "transcodes files over the size limit",
        answer=lambda r, a: bool(INSTANCE.match(r.path)) and b"larger than" in a.body and _text(200, "")(r, a),
    ),
    Mutant(
        "WADO-11",
        "answers 204 for unknown instances",
        answer=status_map(lambda r: r.method == "GET" and bool(INSTANCE.match(r.path)), 404, 204, b""),
    ),
    Mutant("WADO-12", "does not find padded study UIDs", request=_no_padded_uids),
    Mutant(
        "WADO-13",
        "refuses octet-stream frames without a transfer syntax",
        answer=lambda r, a: (
            is_frames(r)
            and "octet-stream" in accept_of(r)
            and "transfer-syntax" not in accept_of(r)
            and _text(406, "no")(r, a)
        ),
    ),
    Mutant("WADO-14", "answers 404 for frame 0", answer=status_map(is_frames, 400, 404)),
    Mutant("WADO-15", "sends frames in ascending order", request=_frames_sorted),
    Mutant("WADO-16", "answers 404 when frames cannot be transcoded", answer=status_map(is_frames, 406, 404)),
    Mutant(
        "WADO-17",
        "answers metadata whatever the Accept",
        request=lambda r: r.path.endswith("/metadata") and r.headers.update({"accept": "application/dicom+json"}),
    ),
    Mutant("WADO-18", "leaves StudyDescription out of metadata", answer=metadata_rewrite(_drop_description)),
    Mutant("WADO-19", "ignores If-None-Match", request=lambda r: r.headers.pop("if-none-match", None) and None),
    Mutant("WADO-20", "keeps attributes that failed validation", answer=metadata_rewrite(_keep_invalid)),
    Mutant("WADO-21", "strips NUL padding from metadata", answer=metadata_rewrite(_strip_nul)),
    Mutant(
        "WADO-22",
        "renders PNG without an Accept header",
        request=lambda r: is_rendered(r) and "accept" not in r.headers and r.headers.update({"accept": "image/png"}),
    ),
    Mutant("WADO-23", "numbers rendered frames from 0", request=_rendered_zero_based),
    Mutant("WADO-24", "ignores the quality parameter", request=query_rewrite(without("quality"), is_rendered)),
    Mutant("WADO-25", "answers 406 for instances without pixel data", answer=status_map(is_rendered, 404, 406)),
    Mutant(
        "WADO-27",
        "answers 400 when nothing acceptable can be sent",
        answer=status_map(lambda r: is_retrieve(r) or is_frames(r), 406, 400),
    ),
    # -- QIDO-RS
    Mutant("QIDO-01", "keeps the first of repeated filters", request=query_rewrite(_dedupe)),
    Mutant(
        "QIDO-02", "reads only the first of comma-separated includefields", request=query_rewrite(_only_first_included)
    ),
    Mutant("QIDO-03", "ignores limit", request=query_rewrite(without("limit"))),
    Mutant("QIDO-04", "ignores offset", request=query_rewrite(without("offset"))),
    Mutant(
        "QIDO-05",
        "takes any fuzzymatching value as false",
        request=query_rewrite(
            lambda ps: [
                (k, "false" if k.lower() == "fuzzymatching" and v.lower() not in ("true", "false") else v)
                for k, v in ps
            ]
        ),
    ),
    Mutant("QIDO-06", "reads option names case-sensitively", request=query_rewrite(_case_sensitive_options)),
    Mutant("QIDO-07", "cannot search ManufacturerModelName", answer=_refuse_model_name),
    Mutant(
        "QIDO-08",
        "ignores Modality on /studies",
        request=query_rewrite(without("Modality"), lambda r: is_search(r) and r.path.endswith("/studies")),
    ),
    Mutant(
        "QIDO-09", "ignores TimezoneOffsetFromUTC", request=query_rewrite(without("TimezoneOffsetFromUTC", "00080201"))
    ),
    Mutant("QIDO-10", "ignores empty filters", request=query_rewrite(lambda ps: [(k, v) for k, v in ps if v != ""])),
    Mutant(
        "QIDO-11",
        "ignores StudyInstanceUID on /studies",
        request=query_rewrite(without("StudyInstanceUID"), lambda r: is_search(r) and r.path.endswith("/studies")),
    ),
    Mutant("QIDO-12", "matches open-ended ranges as single dates", request=query_rewrite(_open_ranges_exact)),
    Mutant("QIDO-13", "ignores fuzzymatching", request=query_rewrite(without("fuzzymatching"))),
    Mutant("QIDO-14", "matches person names case-sensitively", answer=results_rewrite(_case_sensitive_names)),
    Mutant(
        "QIDO-15",
        "matches person names by word prefix without fuzzymatching",
        request=query_rewrite(_names_as_prefixes),
    ),
    Mutant("QIDO-16", "treats * as a wildcard", request=query_rewrite(_wildcards_as_prefixes)),
    Mutant("QIDO-17", "returns only one modality per study", answer=each_result(_first_modality_only)),
    Mutant(
        "QIDO-18", "indexes the last value of multi-valued attributes", request=query_rewrite(_swap("ONE-", "TWO-"))
    ),
    Mutant("QIDO-19", "keeps the first stored study value", request=query_rewrite(_swap("EARLY-", "LATE-"))),
    Mutant(
        "QIDO-20",
        "answers 204 to filters on invalid dates",
        answer=status_map(lambda r: is_search(r) and "Date=" in r.query, 400, 204, b""),
    ),
    Mutant("QIDO-21", "finds NUL-padded values only with the NUL", answer=_nul_padding_needed),
    Mutant("QIDO-22", "answers no match with 200 and []", answer=_empty_204_as_200),
    Mutant("QIDO-23", "returns the oldest match first", answer=results_rewrite(_oldest_first)),
    Mutant("QIDO-24", "ignores includefield", request=query_rewrite(without("includefield"))),
    Mutant(
        "QIDO-25",
        "returns PatientSex with v2 study results",
        answer=each_result(_add("00100040", "CS", "O"), lambda r: r.path.endswith("/studies")),
    ),
    Mutant(
        "QIDO-26",
        "leaves Modality out of series results",
        answer=each_result(lambda o: o.pop("00080060", None) and None, lambda r: r.path.endswith("/series")),
    ),
    Mutant(
        "QIDO-27",
        "returns Rows with v2 instance results",
        answer=each_result(_add("00280010", "US", 4), lambda r: r.path.endswith("/instances")),
    ),
    Mutant(
        "QIDO-28",
        "always sends erroneous-dicom-attributes",
        answer=lambda r, a: is_search(r) and a.set_header("erroneous-dicom-attributes", "PatientName"),
    ),
    Mutant("QIDO-29", "warns that more results exist", answer=_warn_on_searches),
    Mutant(
        "QIDO-30",
        "answers 404 for invalid UIDs in search paths",
        answer=status_map(lambda r: is_search(r) and bool(STUDY_SCOPED_SEARCH.match(r.path)), 400, 404),
    ),
    Mutant(
        "WADO-26",
        "reads msdicom-request-original case-sensitively",
        request=lambda r: header_rewrite(r, "msdicom-request-original", lambda v: v if v == "true" else None),
    ),
]
