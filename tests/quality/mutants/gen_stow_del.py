"""Mutants for the cross-cutting, STOW and delete behaviours (GEN, STOW, DEL)."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.quality.mutants import (
    STUDY_PATH,
    Answer,
    Mutant,
    Request,
    drop_warning_reason,
    header_rewrite,
    is_json,
    is_stow,
    metadata_rewrite,
    replace_reason,
    status_map,
    stow_body,
    walk_items,
)
from tests.quality.mutants.bulk_operations import original_survives_delete
from tests.quality.mutants.change_feed import each_entry, feed_entries
from tests.quality.mutants.partitions_versions import deletes_reach_every_partition, wrapping

GROUPS = {"GEN", "STOW", "DEL"}
# Behaviours whose capability the reference profile does not claim: no mutant can be caught.
EXEMPT = {
    # tests/test_auth_suite.py runs the suite against servers with broken authentication.
    "GEN-08": "the reference profile does not claim authentication",
}


def _uppercase_names(obj: dict[str, Any]) -> None:
    for element in obj.values():
        if element.get("vr") == "PN":
            for value in element.get("Value", []):
                if isinstance(value, dict) and "Alphabetic" in value:
                    value["Alphabetic"] = value["Alphabetic"].upper()


def _strip_nul(obj: dict[str, Any]) -> None:
    for element in obj.values():
        if isinstance(element.get("Value"), list):
            element["Value"] = [v.rstrip("\x00") if isinstance(v, str) else v for v in element["Value"]]


def _corrupt_preamble(r: Request, a: Answer) -> None:
    if r.method == "GET" and "/instances/" in r.path and a.status == 200 and b"DICM" in a.body:
        index = a.body.index(b"DICM")
        a.body = a.body[: index - 128] + b"\xff" * 128 + a.body[index:]


def _corrupt_large(r: Request, a: Answer) -> None:
    if r.method == "GET" and "/instances/" in r.path and a.status == 200 and len(a.body) > 10_000_000:
        middle = len(a.body) // 2
        a.body = a.body[:middle] + bytes([a.body[middle] ^ 0xFF]) + a.body[middle + 1 :]


def _relative_retrieve_url(body: dict[str, Any]) -> None:
    for item in walk_items(body, "00081199"):
        url = item.get("00081190", {}).get("Value", [""])[0]
        item["00081190"]["Value"] = [re.sub(r"^https?://[^/]+", "", url)]


def _drop_comment_prefix(body: dict[str, Any]) -> None:
    for key in ("00081198", "00081199"):
        for item in walk_items(body, key):
            for sub in walk_items(item, "00741048"):
                values = sub.get("00000902", {}).get("Value", [])
                sub["00000902"]["Value"] = [v.replace("DICOM100: ", "") for v in values]


def _drop_failed_class(body: dict[str, Any]) -> None:
    for item in walk_items(body, "00081198"):
        item.pop("00081150", None)


def _add_private(obj: dict[str, Any]) -> None:
    obj["00091001"] = {"vr": "LO", "Value": ["leaked"]}


def _unquote_warning(r: Request, a: Answer) -> None:
    value = a.header("warning")
    if value:
        a.set_header("warning", value.replace('"', ""))


def _stow_without_path_study(r: Request) -> None:
    if r.method == "POST" and STUDY_PATH.match(r.path):
        r.path = r.path.rsplit("/", 1)[0]


def _versionless_routes(r: Request) -> None:
    if r.path.startswith("/studies") or r.path.startswith("/v999/"):
        r.path = "/v2/" + r.path.split("/", 2)[-1] if r.path.startswith("/v999/") else "/v2" + r.path


def _hex_tags_unknown(r: Request, a: Answer) -> None:
    if r.method == "GET" and "0020000D=" in r.query.upper():
        a.status, a.body = 400, b"unknown attribute 0020000D"
        a.set_header("content-type", "text/plain")


def _json_errors(r: Request, a: Answer) -> None:
    if a.status == 400 and r.method == "GET":
        a.body = json.dumps({"error": a.body.decode("utf-8", "replace")}).encode()
        a.set_header("content-type", "application/json")


def _lowercase_health(r: Request, a: Answer) -> None:
    if r.path == "/health/check" and a.status == 200:
        a.body = a.body.replace(b'"overallStatus"', b'"OverallStatus"')


def _remove_empty_parts(r: Request) -> None:
    # A server that refuses a whole request when one part is empty.
    if is_stow(r):
        r.headers["content-type"] = "application/x-empty-part-refused"


def _refuse_empty_parts(r: Request, a: Answer) -> None:
    if is_stow(r) and a.status == 202 and a.body and is_json(a):
        body = a.json()
        unparsable = [i for i in walk_items(body, "00081198") if "00081155" not in i]
        if unparsable:
            a.status = 400
            a.body = b"empty part"
            a.set_header("content-type", "text/plain")


def _delete_nothing(r: Request) -> None:
    if r.method == "DELETE":
        r.path = "/v2/nothing-to-delete"


def _acknowledge_delete(r: Request, a: Answer) -> None:
    if r.path == "/v2/nothing-to-delete":
        a.status, a.body = 204, b""
        a.set_header("content-type", None)


def _delete_whole_series(r: Request) -> None:
    if r.method == "DELETE" and "/instances/" in r.path:
        r.path = r.path.split("/instances/")[0]


def _v2_fails_like_v1(r: Request, a: Answer) -> None:
    if is_stow(r) and a.status == 202 and a.body and is_json(a):
        items = walk_items(a.json(), "00081199")
        if any(i.get("00081196", {}).get("Value") == [1] for i in items):
            a.status = 409


MUTANTS: list[Mutant] = [
    wrapping("DEL-07", "deletes in every partition", deletes_reach_every_partition),
    Mutant("GEN-01", "serves routes without a version segment", request=_versionless_routes),
    Mutant(
        "GEN-02",
        "drops the api-supported-versions header",
        answer=lambda r, a: a.set_header("api-supported-versions", None),
    ),
    Mutant(
        "GEN-03",
        "has no OpenAPI document",
        answer=lambda r, a: status_map(lambda r: r.path.endswith("/api.yaml"), 200, 404, b"no")(r, a),
    ),
    Mutant(
        "GEN-04",
        "answers 404 for invalid UIDs in paths",
        answer=status_map(lambda r: r.method == "GET" and r.path.endswith("/metadata"), 400, 404),
    ),
    Mutant("GEN-05", "does not accept attributes as hex tags", answer=_hex_tags_unknown),
    Mutant(
        "GEN-06",
        "ignores Accept on GET requests",
        request=lambda r: r.method == "GET" and r.headers.update({"accept": "application/dicom+json"}),
    ),
    Mutant("GEN-07", "answers errors in JSON", answer=_json_errors),
    Mutant("GEN-09", "keeps the preamble", answer=_corrupt_preamble),
    Mutant("GEN-10", "writes the Warning text without quotes", answer=_unquote_warning),
    Mutant("GEN-12", "spells overallStatus in PascalCase", answer=_lowercase_health),
    Mutant(
        "GEN-13",
        "transcodes files over the size limit",
        answer=status_map(lambda r: r.method == "GET" and "/instances/" in r.path, 406, 200, b""),
    ),
    Mutant(
        "STOW-01",
        "refuses an unquoted type parameter",
        answer=lambda r, a: status_map(
            lambda r: is_stow(r) and "type=application/dicom" in r.headers.get("content-type", ""), 200, 415
        )(r, a),
    ),
    Mutant(
        "STOW-02",
        "accepts multipart/form-data",
        request=lambda r: (
            is_stow(r)
            and header_rewrite(
                r, "content-type", lambda v: (v or "").replace("multipart/form-data", "multipart/related")
            )
        ),
    ),
    Mutant(
        "STOW-03",
        "ignores a start parameter",
        request=lambda r: (
            is_stow(r) and header_rewrite(r, "content-type", lambda v: re.sub(r';\s*start="[^"]*"', "", v or ""))
        ),
    ),
    Mutant(
        "STOW-04",
        "ignores Accept on STOW",
        request=lambda r: is_stow(r) and r.headers.update({"accept": "application/dicom+json"}),
    ),
    Mutant(
        "STOW-05",
        "answers 409 for an invalid study UID in the path",
        answer=status_map(lambda r: r.method == "POST" and bool(STUDY_PATH.match(r.path)), 400, 409),
    ),
    Mutant(
        "STOW-06",
        "reports validation failures as processing failures (272)",
        answer=stow_body(replace_reason(43264, 272)),
    ),
    Mutant("STOW-07", "upper-cases person names", answer=metadata_rewrite(_uppercase_names)),
    Mutant("STOW-08", "ignores the study UID in the path", request=_stow_without_path_study),
    Mutant("STOW-09", "answers 202 when everything was stored", answer=status_map(is_stow, 200, 202)),
    Mutant("STOW-10", "answers 200 on partial success", answer=status_map(is_stow, 202, 200)),
    Mutant("STOW-11", "answers 200 to an empty request", answer=status_map(is_stow, 204, 200, b"{}")),
    Mutant("STOW-12", "answers 400 when nothing was stored", answer=status_map(is_stow, 409, 400)),
    Mutant("STOW-13", "answers 500 to malformed requests", answer=status_map(is_stow, 400, 500)),
    Mutant("STOW-14", "answers 400 to an unsupported media type", answer=status_map(is_stow, 415, 400)),
    Mutant("STOW-15", "refuses a whole request when one part is unreadable", answer=_refuse_empty_parts),
    Mutant("STOW-16", "leaves out the study RetrieveURL", answer=stow_body(lambda b: b.pop("00081190", None))),
    Mutant("STOW-17", "leaves ReferencedSOPClassUID out of failed items", answer=stow_body(_drop_failed_class)),
    Mutant("STOW-18", "returns relative instance RetrieveURLs", answer=stow_body(_relative_retrieve_url)),
    Mutant("STOW-19", "writes error comments without the DICOM100 code", answer=stow_body(_drop_comment_prefix)),
    Mutant("STOW-20", "reports duplicates as validation failures", answer=stow_body(replace_reason(45070, 43264))),
    Mutant("STOW-21", "drops WarningReason 45063", answer=stow_body(drop_warning_reason(45063))),
    Mutant("STOW-22", "does not warn about multi-valued attributes", answer=lambda r, a: a.set_header("warning", None)),
    Mutant("STOW-23", "reports duplicates with 45071", answer=stow_body(replace_reason(45070, 45071))),
    Mutant("STOW-24", "strips NUL padding from metadata", answer=metadata_rewrite(_strip_nul)),
    Mutant("STOW-25", "fails instances with invalid optional attributes in v2", answer=_v2_fails_like_v1),
    Mutant("STOW-26", "returns private attributes of unknown VR", answer=metadata_rewrite(_add_private)),
    Mutant("STOW-27", "corrupts large files on retrieval", answer=_corrupt_large),
    Mutant("DEL-01", "acknowledges deletes without deleting", request=_delete_nothing, answer=_acknowledge_delete),
    Mutant(
        "DEL-02", "answers 204 for unknown resources", answer=status_map(lambda r: r.method == "DELETE", 404, 204, b"")
    ),
    Mutant("DEL-03", "answers 404 for invalid UIDs", answer=status_map(lambda r: r.method == "DELETE", 400, 404)),
    Mutant(
        "DEL-04",
        "refuses a DELETE with a Content-Type",
        answer=lambda r, a: r.method == "DELETE" and "content-type" in r.headers and setattr(a, "status", 415),
    ),
    Mutant("DEL-05", "deletes the whole series when asked for an instance", request=_delete_whole_series),
    Mutant("DEL-06", "keeps the original version after a delete", answer=original_survives_delete),
    Mutant(
        "DEL-08",
        "records no change-feed entry for deletes",
        answer=feed_entries(lambda r, entries: [e for e in entries if e.get("action") != "delete"]),
    ),
    Mutant(
        "GEN-11",
        "writes change-feed property names in PascalCase",
        answer=each_entry(lambda e: e.update({k[:1].upper() + k[1:]: e.pop(k) for k in list(e)})),
    ),
]
