"""Mutants for extended query tags and export (EQT, EXP)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

from tests.quality.mutants import Answer, Mutant, Request, header_rewrite, is_json, status_map

GROUPS = {"EQT", "EXP"}
EXEMPT: dict[str, str] = {}

TAGS = re.compile(r"^/v[^/]+/extendedquerytags$")
TAG = re.compile(r"^/v[^/]+/extendedquerytags/[^/]+$")
ERRORS = re.compile(r"^/v[^/]+/extendedquerytags/[^/]+/errors$")
QIDO = re.compile(r"^/v[^/]+(/partitions/[^/]+)?(/studies/[^/]+(/series/[^/]+)?)?/(studies|series|instances)$")
EXPORT = re.compile(r"^/v[^/]+(/partitions/[^/]+)?/export$")
OPERATION = re.compile(r"^/v[^/]+/operations/[^/]+$")
PRIVATE_KEY = re.compile(r"^[0-9A-Fa-f]{3}[13579BbDdFf][0-9A-Fa-f]{4}$")  # an odd group: a private tag path


def is_add(r: Request) -> bool:
    return r.method == "POST" and bool(TAGS.match(r.path))


def is_qido(r: Request) -> bool:
    return r.method == "GET" and bool(QIDO.match(r.path))


def is_export(r: Request) -> bool:
    return r.method == "POST" and bool(EXPORT.match(r.path))


def rewrite_query(fn: Any) -> Any:
    """A request rewrite of a QIDO query string: ``fn(pairs) -> pairs``."""

    def rewrite(r: Request) -> None:
        if is_qido(r):
            r.query = urlencode(fn(parse_qsl(r.query, keep_blank_values=True)))

    return rewrite


def json_content_type_for_text(r: Request) -> None:
    """EQT-01: the server does not look at the Content-Type (a text/plain body is read as JSON)."""
    if is_add(r):
        header_rewrite(r, "content-type", lambda v: "application/json" if v and "text/plain" in v else v)


def drop_location(when: Any) -> Any:
    def rewrite(r: Request, a: Answer) -> None:
        if when(r) and a.status == 202:
            a.set_header("location", None)

    return rewrite


def tag_entries(fn: Any) -> Any:
    """An answer rewrite of each entry of ``GET {v}/extendedquerytags[/{path}]``."""

    def rewrite(r: Request, a: Answer) -> None:
        if (
            r.method in ("GET", "PATCH")
            and (TAGS.match(r.path) or TAG.match(r.path))
            and a.status == 200
            and is_json(a)
        ):
            body = a.json()
            for entry in body if isinstance(body, list) else [body]:
                fn(entry)
            a.set_json(body)

    return rewrite


def rename(old: str, new: str) -> Any:
    def fn(obj: dict[str, Any]) -> None:
        if old in obj:
            obj[new] = obj.pop(old)

    return fn


def error_entries(r: Request, a: Answer) -> None:
    """EQT-10: error entries name the message ``message`` instead of ``errorMessage``."""
    if r.method == "GET" and ERRORS.match(r.path) and a.status == 200 and is_json(a):
        body = a.json()
        for entry in body:
            entry["message"] = entry.pop("errorMessage", None)
        a.set_json(body)


def drop_limit(r: Request) -> None:
    """EQT-08: the list ignores ``limit``."""
    if r.method == "GET" and TAGS.match(r.path):
        r.query = urlencode([(k, v) for k, v in parse_qsl(r.query, keep_blank_values=True) if k.lower() != "limit"])


def second_value_indexed(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """EQT-05: every value of a multi-valued element is indexed (a query on the second value of the
    suite's instance finds it as the query on the first does)."""
    return [(k, "DWC-FIRST-VALUE" if v == "DWC-SECOND-VALUE" else v) for k, v in pairs]


def default_filter_ignored(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """EQT-12: a default attribute beside an extended query tag filter is ignored."""
    if any(PRIVATE_KEY.match(k) for k, _ in pairs):
        return [(k, v) for k, v in pairs if k != "SeriesInstanceUID"]
    return pairs


def no_fuzzy(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """EQT-04: fuzzy matching is not applied to extended query tags of VR PN."""
    if any(PRIVATE_KEY.match(k) for k, _ in pairs):
        return [(k, v) for k, v in pairs if k.lower() != "fuzzymatching"]
    return pairs


def export_results(fn: Any) -> Any:
    """An answer rewrite of the results of a finished export operation."""

    def rewrite(r: Request, a: Answer) -> None:
        if r.method == "GET" and OPERATION.match(r.path) and a.status == 200 and is_json(a):
            body = a.json()
            if str(body.get("type", "")).lower() == "export" and isinstance(body.get("results"), dict):
                fn(body["results"])
                a.set_json(body)

    return rewrite


def skipped_as_exported(results: dict[str, Any]) -> None:
    results["exported"] = results.get("exported", 0) + results.get("skipped", 0)
    results["skipped"] = 0


def log_elsewhere(results: dict[str, Any]) -> None:
    results["errorHref"] = str(results.get("errorHref", "")).replace("/errors.log", "/export-errors.txt")


def export_disabled(r: Request, a: Answer) -> None:
    if is_export(r):
        a.status = 404
        a.set_header("content-type", "text/plain; charset=utf-8")
        a.body = b"Export is not enabled.\n"


def v1_store(r: Request) -> bool:
    return r.method == "POST" and r.path == "/v1/studies"


MUTANTS = [
    Mutant("EQT-01", "add ignores the Content-Type", request=json_content_type_for_text),
    Mutant("EQT-02", "add answers without Location", answer=drop_location(is_add)),
    Mutant("EQT-03", "existing tag answered 400 not 409", answer=status_map(is_add, 409, 400)),
    Mutant("EQT-04", "no fuzzy matching on PN tags", request=rewrite_query(no_fuzzy)),
    Mutant("EQT-05", "every value of a multi-valued element indexed", request=rewrite_query(second_value_indexed)),
    Mutant("EQT-06", "entry with query_status", answer=tag_entries(rename("queryStatus", "query_status"))),
    Mutant(
        "EQT-07",
        "delete answers 200",
        answer=status_map(lambda r: r.method == "DELETE" and bool(TAG.match(r.path)), 204, 200),
    ),
    Mutant("EQT-08", "list ignores limit", request=drop_limit),
    Mutant(
        "EQT-09",
        "patch answers 204 without the entry",
        answer=status_map(lambda r: r.method == "PATCH" and bool(TAG.match(r.path)), 200, 204, b""),
    ),
    Mutant("EQT-10", "error entries without errorMessage", answer=error_entries),
    Mutant("EQT-11", "disabled tag searchable", answer=status_map(is_qido, 400, 204, b"")),
    Mutant("EQT-12", "default attribute ignored beside a tag", request=rewrite_query(default_filter_ignored)),
    Mutant("EQT-13", "v1 stores an invalid indexed value", answer=status_map(v1_store, 409, 200)),
    Mutant("EXP-01", "export disabled", answer=export_disabled),
    Mutant("EXP-02", "invalid export request accepted", answer=status_map(is_export, 400, 202)),
    Mutant("EXP-03", "export answers without Location", answer=drop_location(is_export)),
    Mutant("EXP-04", "error log elsewhere", answer=export_results(log_elsewhere)),
    Mutant("EXP-05", "skipped identifiers counted as exported", answer=export_results(skipped_as_exported)),
]
