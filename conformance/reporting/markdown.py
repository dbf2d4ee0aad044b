"""The Markdown summary of a run (``summary.md``), short enough for a pull-request comment:
the verdict, counts by group and by requirement level, the baseline, and each failure with
its message and curl line folded away."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conformance.reporting.summary import STATUS_ORDER, counts_by, failed_ids, group_title, verdict

MAX_FAILURES_SHOWN = 3  # per behaviour; the HTML report has them all
MAX_RULE_CHARS = 400


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(rows: Mapping[str, Mapping[str, int]], label: str, titles: Mapping[str, str]) -> list[str]:
    out = [f"| {label} | " + " | ".join(STATUS_ORDER) + " |", "| --- |" + " ---: |" * len(STATUS_ORDER)]
    for key, row in rows.items():
        if row.get("not run") == sum(row.values()):
            continue
        out.append(f"| {_cell(titles.get(key, key))} | " + " | ".join(str(row.get(s, 0)) for s in STATUS_ORDER) + " |")
    return out


def render_markdown(results: Mapping[str, Any]) -> str:
    target = results["target"]
    passed, line = verdict(results)
    out = [
        f"## DICOMweb conformance: {target['profile']}: {line}",
        "",
        f"Target `{target['url']}` · profile `{target['profile']}` · API {target.get('api_version') or 'unversioned'}"
        f" · suite {results['suite']['version']} · {results['finished']}",
        "",
        "Behaviours: " + ", ".join(f"{n} {s}" for s, n in results.get("summary", {}).items()),
        "",
        "### By group",
        "",
    ]
    groups = counts_by(results, "group")
    out += _table(groups, "Group", {g: f"{g} {group_title(results, g)}" for g in groups})
    out += ["", "### By requirement level", ""]
    out += _table(counts_by(results, "level"), "Level", {})
    baseline = results.get("baseline")
    if baseline:
        out += ["", f"### Baseline `{baseline['file']}`", ""]
        for label, key in (
            ("New failures", "new_failures"),
            ("Harness errors", "errors"),
            ("Known deviations", "known"),
            ("Stale entries (now pass; remove them)", "stale"),
        ):
            if baseline[key]:
                out.append(f"- {label}: {', '.join(baseline[key])}")
    failures = failed_ids(results)
    if failures:
        out += ["", "### Failures", ""]
        for behavior_id in failures:
            out += _failure(behavior_id, results["behaviors"][behavior_id])
    left = results.get("left_on_target") or []
    if left:
        out += ["", f"{len(left)} item(s) could not be deleted from the target; see `left_on_target` in results.json."]
    if not passed and not failures:
        out += ["", "The gate failed on stale baseline entries (strict baseline)."]
    return "\n".join(out) + "\n"


def _failure(behavior_id: str, entry: Mapping[str, Any]) -> list[str]:
    known = entry.get("baselined")
    label = " (known deviation)" if known else ""
    rule = " ".join(str(entry.get("statement", "")).split())
    if len(rule) > MAX_RULE_CHARS:
        rule = rule[:MAX_RULE_CHARS].rsplit(" ", 1)[0] + " …"
    out = [
        f"<details><summary><b>{behavior_id}</b> {entry['status']}{label}: {_cell(entry['title'])}</summary>",
        "",
        f"Rule ({entry['level']}; {', '.join(entry['sources']) or 'catalogue'}): {rule}",
        "",
    ]
    if known:
        out += [f"Baseline reason: {known}", ""]
    failures = entry.get("failures") or []
    for failure in failures[:MAX_FAILURES_SHOWN]:
        out.append(f"- `{failure.get('test', '')}`: {failure.get('message') or 'error'}")
        if failure.get("expected") or failure.get("received"):
            out.append(f"  - Expected: {_cell(failure.get('expected'))}; received: {_cell(failure.get('received'))}")
        exchange = failure.get("exchange") or {}
        curl = (exchange.get("request") or {}).get("curl")
        if curl:
            out += ["", "  ```sh", *(f"  {line}" for line in str(curl).splitlines()), "  ```", ""]
        elif failure.get("text") and not failure.get("message"):
            out += ["", "  ```", *("  " + x for x in str(failure["text"]).splitlines()[-12:]), "  ```", ""]
    if len(failures) > MAX_FAILURES_SHOWN:
        out.append(f"- and {len(failures) - MAX_FAILURES_SHOWN} more in the HTML report")
    out += ["", "</details>", ""]
    return out
