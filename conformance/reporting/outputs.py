"""Writing a results document and the reports built from it.

``write_reports`` puts into one folder: ``results.json`` (the document), ``report.html`` (the
self-contained HTML report), ``summary.md`` (for a pull request) and
``conformance-statement.md`` (the draft statement). ``write_allure_extras`` adds the
run-level files of an Allure results folder (``environment.properties``, ``categories.json``).
Every text goes through ``scrub`` (secrets) on its way to disk.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from conformance.reporting.html import render_html
from conformance.reporting.markdown import render_markdown
from conformance.reporting.statement import statement_markdown

HTML_FILE = "report.html"
MARKDOWN_FILE = "summary.md"
STATEMENT_FILE = "conformance-statement.md"
RESULTS_FILE = "results.json"

# First match wins (Allure categories): skips by reason, then failures, then harness errors.
ALLURE_CATEGORIES: list[dict[str, Any]] = [
    {
        "name": "Not claimed by the profile",
        "matchedStatuses": ["skipped"],
        "messageRegex": "(?s).*not claimed:.*",
    },
    {
        "name": "Capability not supported by the profile",
        "matchedStatuses": ["skipped"],
        "messageRegex": "(?s).*not supported:.*",
    },
    {
        "name": "Not applicable to the target (API version)",
        "matchedStatuses": ["skipped"],
        "messageRegex": "(?s).*not applicable:.*",
    },
    {"name": "Conformance failures: the target broke a behaviour", "matchedStatuses": ["failed"]},
    {"name": "Harness errors: no verdict on the target", "matchedStatuses": ["broken"]},
]


def report_texts(results: Mapping[str, Any]) -> dict[str, str]:
    """The derived reports of a results document, by file name (no statement for results
    files written before the suite derived one)."""
    texts = {HTML_FILE: render_html(results), MARKDOWN_FILE: render_markdown(results)}
    if results.get("statement"):
        texts[STATEMENT_FILE] = statement_markdown(results["statement"], results["target"])
    return texts


def write_reports(
    results: Mapping[str, Any], folder: Path, *, scrub: Callable[[str], str] = lambda s: s, with_json: bool = True
) -> list[Path]:
    """Write the results file (unless ``with_json`` is false) and every report; return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    texts = report_texts(results)
    if with_json:
        texts = {RESULTS_FILE: json.dumps(results, indent=1, ensure_ascii=False), **texts}
    written = []
    for name, text in texts.items():
        path = folder / name
        path.write_text(scrub(text), encoding="utf-8")
        written.append(path)
    return written


def write_allure_extras(results: Mapping[str, Any], folder: Path, *, scrub: Callable[[str], str] = lambda s: s) -> None:
    """``environment.properties`` (target, profile, versions) and ``categories.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    target = results["target"]
    environment = {
        "target.url": target.get("url"),
        "target.embedded": target.get("embedded"),
        "profile": target.get("profile"),
        "profile.source": target.get("profile_source"),
        "api.version": target.get("api_version") or "unversioned",
        "auth": target.get("auth"),
        "suite.version": results["suite"]["version"],
        "python": results["suite"]["python"],
        "selection": ",".join(results.get("selection") or []) or "all",
    }
    lines = [f"{key}={_property(value)}" for key, value in environment.items()]
    (folder / "environment.properties").write_text(scrub("\n".join(lines) + "\n"), encoding="utf-8")
    (folder / "categories.json").write_text(json.dumps(ALLURE_CATEGORIES, indent=1), encoding="utf-8")


def _property(value: object) -> str:
    # Java properties: backslash escapes; ':' and '=' are fine in values but '\' is not.
    return str(value).replace("\\", "\\\\").replace("\n", " ")
