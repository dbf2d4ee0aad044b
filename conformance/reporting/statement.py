"""A draft conformance statement, derived from what passed.

Which transactions the target answered successfully, which request and response media types
and which transfer syntaxes it used, and which optional capabilities (options) were exercised,
all taken from the exchanges of *passed* tests only: a failed test's answers prove nothing.
It is a draft for a person to review, never a substitute for the vendor's own statement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydicom.uid import UID

NOTE = (
    "Draft, derived from the exchanges of passed tests of this run only; what the run did not exercise is "
    "not listed. Review it before publishing."
)


def _ok(summary: Mapping[str, Any]) -> bool:
    status = summary.get("status")
    return isinstance(status, int) and 200 <= status < 300


def transfer_syntax_name(uid: str) -> str:
    name = UID(uid).name
    return name if name != uid else "unknown transfer syntax"


def draft_statement(tests: Iterable[Mapping[str, Any]], claims: Mapping[str, Any]) -> dict[str, Any]:
    """Build the statement from test records (``outcome``, ``exchanges``, ``requires``) and the
    profile's claims (``capabilities``, ``transcode_to`` ...)."""
    transactions: dict[tuple[str, str], dict[str, Any]] = {}
    request_types: dict[tuple[str, str], set[str]] = {}
    response_types: dict[tuple[str, str], set[str]] = {}
    syntaxes: dict[str, set[str]] = {}
    capability_tests: dict[str, dict[str, int]] = {}
    for test in tests:
        outcome = str(test.get("outcome"))
        for capability in test.get("requires") or ():
            counts = capability_tests.setdefault(capability, {"passed": 0, "failed": 0})
            if outcome in counts:
                counts[outcome] += 1
        if outcome != "passed":
            continue
        for summary in test.get("exchanges") or ():
            if not _ok(summary):
                continue
            key = (str(summary["service"]), str(summary["transaction"]))
            entry = transactions.setdefault(key, {"methods": set(), "statuses": set(), "tests": 0})
            entry["methods"].add(str(summary["method"]))
            entry["statuses"].add(int(summary["status"]))
            if summary.get("content_type") and summary["method"] in ("POST", "PUT"):
                request_types.setdefault(key, set()).add(str(summary["content_type"]))
            answered = [summary.get("response_type"), *(summary.get("part_types") or [])]
            response_types.setdefault(key, set()).update(str(t) for t in answered if t)
            for uid in summary.get("transfer_syntaxes") or ():
                syntaxes.setdefault(str(uid), set()).add(key[1])
        for key in {(str(s["service"]), str(s["transaction"])) for s in test.get("exchanges") or () if _ok(s)}:
            transactions[key]["tests"] += 1
    claimed = set(claims.get("capabilities") or ())
    options = []
    for capability in sorted(claimed | set(capability_tests)):
        counts = capability_tests.get(capability, {"passed": 0, "failed": 0})
        if capability not in claimed:
            state = "not claimed"
        elif counts["passed"] and not counts["failed"]:
            state = "supported"
        elif counts["failed"]:
            state = "claimed, with failures"
        else:
            state = "claimed, not exercised"
        options.append({"option": capability, "state": state, **counts})
    return {
        "note": NOTE,
        "transactions": [
            {
                "service": service,
                "transaction": name,
                "methods": sorted(entry["methods"]),
                "statuses": sorted(entry["statuses"]),
                "tests": entry["tests"],
            }
            for (service, name), entry in sorted(transactions.items())
        ],
        "request_media_types": _flatten(request_types),
        "response_media_types": _flatten(response_types),
        "transfer_syntaxes": [
            {"uid": uid, "name": transfer_syntax_name(uid), "transactions": sorted(names)}
            for uid, names in sorted(syntaxes.items())
        ],
        "transcoding_claimed": list(claims.get("transcode_to") or ()),
        "options": options,
        "not_claimed": dict(claims.get("not_claimed") or {}),
    }


def _flatten(table: Mapping[tuple[str, str], set[str]]) -> list[dict[str, Any]]:
    return [
        {"service": service, "transaction": name, "media_types": sorted(types)}
        for (service, name), types in sorted(table.items())
        if types
    ]


def statement_markdown(statement: Mapping[str, Any], target: Mapping[str, Any]) -> str:
    """The statement as a Markdown document (``conformance-statement.md``)."""
    out = [
        f"# Draft DICOMweb conformance statement: {target.get('profile', '')}",
        "",
        f"Target `{target.get('url')}`, API version {target.get('api_version') or 'none'}. {statement['note']}",
        "",
        "## Transactions answered successfully",
        "",
        "| Service | Transaction | Methods | Statuses | Passed tests |",
        "| --- | --- | --- | --- | --- |",
    ]
    for t in statement["transactions"]:
        statuses = ", ".join(str(s) for s in t["statuses"])
        out.append(f"| {t['service']} | {t['transaction']} | {', '.join(t['methods'])} | {statuses} | {t['tests']} |")
    out += ["", "## Media types", "", "| Transaction | Direction | Media types |", "| --- | --- | --- |"]
    for direction, key in (("request", "request_media_types"), ("response", "response_media_types")):
        for row in statement[key]:
            types = "<br>".join(f"`{m}`" for m in row["media_types"])
            out.append(f"| {row['transaction']} | {direction} | {types} |")
    out += ["", "## Transfer syntaxes returned", "", "| UID | Name | Transactions |", "| --- | --- | --- |"]
    for ts in statement["transfer_syntaxes"]:
        out.append(f"| `{ts['uid']}` | {ts['name']} | {', '.join(ts['transactions'])} |")
    if statement["transcoding_claimed"]:
        out += ["", f"Transcoding claimed by the profile: {', '.join(statement['transcoding_claimed'])}."]
    out += ["", "## Options", "", "| Option | State | Tests passed | Tests failed |", "| --- | --- | --- | --- |"]
    for o in statement["options"]:
        out.append(f"| {o['option']} | {o['state']} | {o['passed']} | {o['failed']} |")
    if statement["not_claimed"]:
        out += ["", "## Behaviours the profile does not claim", ""]
        out += [f"- **{bid}**: {reason}" for bid, reason in sorted(statement["not_claimed"].items())]
    return "\n".join(out) + "\n"
