"""The HTML conformance report (``report.html``): one self-contained page, no network access.

Sections: the verdict; counts by group and by requirement level; the behaviour matrix with
filters (status, group, level, text; plain inline script, every row shows without it); each
failure with the rule it breaks, its evidence (Expected / Received, the request as a curl
line, the response); the draft conformance statement; skip reasons; cleanup. The stylesheet
and the script are package files inlined at build time. Everything shown is escaped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from html import escape
from importlib import resources
from typing import Any

from conformance.reporting.summary import LEVELS, STATUS_ORDER, counts_by, failed_ids, group_title, verdict


def _e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CODE = re.compile(r"`([^`]+)`")


def _prose(text: object) -> str:
    """Escaped text with the catalogue's ``**bold**`` and backtick code spans rendered."""
    return _CODE.sub(r"<code>\1</code>", _BOLD.sub(r"<b>\1</b>", _e(text)))


def _asset(name: str) -> str:
    return resources.files("conformance.reporting").joinpath(name).read_text("utf-8")


def _badge(status: str) -> str:
    return f'<span class="badge s-{status.replace(" ", "-")}">{_e(status)}</span>'


def _bar(row: Mapping[str, int]) -> str:
    total = sum(row.values()) or 1
    spans = "".join(
        f'<span class="s-{s.replace(" ", "-")}" style="width:{100 * n / total:.2f}%" title="{n} {s}"></span>'
        for s, n in row.items()
        if n
    )
    return f'<div class="bar">{spans}</div>'


def _table(headers: Iterable[str], rows: Iterable[Iterable[str]], cls: str = "") -> str:
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def render_html(results: Mapping[str, Any]) -> str:
    """The whole page as a string."""
    target = results["target"]
    title = f"DICOMweb conformance report: {target['profile']}"
    sections = [
        _header(results),
        _summary(results),
        _baseline(results),
        _matrix(results),
        _failures(results),
        _statement(results),
        _skips(results),
        _cleanup(results),
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_asset('report.css')}</style></head>\n<body>\n"
        + "\n".join(s for s in sections if s)
        + f"\n<script>{_asset('report.js')}</script>\n</body></html>\n"
    )


def _header(results: Mapping[str, Any]) -> str:
    target = results["target"]
    passed, line = verdict(results)
    selection = ", ".join(results.get("selection") or []) or "all behaviours"
    counts = ", ".join(
        f'<a href="#matrix" data-filter-status="{_e(s)}">{n} {_e(s)}</a>' for s, n in results["summary"].items()
    )
    return (
        f"<header><h1>DICOMweb conformance report: {_e(target['profile'])}</h1>"
        f'<p class="meta">Target <code>{_e(target["url"])}</code>'
        f"{' (embedded reference server)' if target.get('embedded') else ''}; profile {_e(target['profile_source'])}"
        f"; API {_e(target.get('api_version') or 'unversioned')}; authentication {_e(target.get('auth'))}</p>"
        f'<p class="meta">{_e(results["suite"]["name"])} {_e(results["suite"]["version"])}, Python '
        f"{_e(results['suite']['python'])}; run {_e(results['started'])} to {_e(results['finished'])}; "
        f"selection: {_e(selection)}</p>"
        f'<div class="verdict {"ok" if passed else "ko"}">{_e(line)}</div>'
        f"<p>Behaviours: {counts}</p>"
        '<nav><a href="#groups">By group</a><a href="#levels">By level</a><a href="#matrix">Behaviour matrix</a>'
        '<a href="#failures">Failures</a><a href="#statement">Draft conformance statement</a>'
        '<a href="#skips">Skip reasons</a></nav></header>'
    )


def _count_rows(table: Mapping[str, Mapping[str, int]], label: Mapping[str, str]) -> list[list[str]]:
    rows = []
    for key, row in table.items():
        if row.get("not run") == sum(row.values()):
            continue
        rows.append(
            [label.get(key, _e(key))]
            + [f'<span class="num">{row.get(s, 0) or ""}</span>' for s in STATUS_ORDER]
            + [_bar(row)]
        )
    return rows


def _summary(results: Mapping[str, Any]) -> str:
    headers = ["", *(_badge(s) for s in STATUS_ORDER), ""]
    groups = counts_by(results, "group")
    group_labels = {g: f"<b>{_e(g)}</b> {_e(group_title(results, g))}" for g in groups}
    idle = [g for g, row in groups.items() if row.get("not run") == sum(row.values())]
    levels = counts_by(results, "level")
    level_labels = {k: f"<b>{_e(k)}</b> <span class='note'>{_e(LEVELS.get(k, ''))}</span>" for k in levels}
    note = f'<p class="note">Groups with no test in this run: {_e(", ".join(idle))}.</p>' if idle else ""
    return (
        '<h2 id="groups">Summary by group</h2>'
        + _table(headers, _count_rows(groups, group_labels))
        + note
        + '<h2 id="levels">Summary by requirement level</h2>'
        + _table(headers, _count_rows(levels, level_labels))
    )


def _baseline(results: Mapping[str, Any]) -> str:
    baseline = results.get("baseline")
    if not baseline:
        return ""
    items = []
    for label, key in (
        ("New failures (not in the baseline)", "new_failures"),
        ("Harness errors (never baselined)", "errors"),
        ("Known deviations (baselined)", "known"),
        ("Stale entries: these now pass, remove them from the baseline", "stale"),
        ("Listed but not checked in this run", "unchecked"),
    ):
        if baseline[key]:
            links = ", ".join(f'<a href="#B-{_e(b)}">{_e(b)}</a>' for b in baseline[key])
            items.append(f"<li>{_e(label)}: {links}</li>")
    strict = "strict: stale entries fail the run" if baseline["strict"] else "stale entries are reported only"
    return (
        f'<h2 id="baseline">Baseline</h2><p class="meta">File <code>{_e(baseline["file"])}</code> ({strict}).</p>'
        f"<ul>{''.join(items) or '<li>No listed behaviour was checked.</li>'}</ul>"
    )


def _matrix(results: Mapping[str, Any]) -> str:
    behaviors: Mapping[str, Mapping[str, Any]] = results["behaviors"]
    rows = []
    for bid, e in behaviors.items():
        note = e.get("reason") or ""
        if e.get("baselined"):
            note = f"known deviation: {e['baselined']}"
        link = f'<a href="#B-{_e(bid)}">{_e(bid)}</a>' if e["status"] in ("failed", "error") else _e(bid)
        rows.append(
            f'<tr id="M-{_e(bid)}" data-status="{_e(e["status"])}" data-group="{_e(e["group"])}" '
            f'data-level="{_e(e["level"])}"><td>{link}</td><td>{_e(e["group"])}</td><td>{_e(e["level"])}</td>'
            f"<td>{_e(e['title'])}</td><td>{_badge(e['status'])}</td><td class='num'>{len(e['tests'])}</td>"
            f'<td class="note">{_e(note)}</td></tr>'
        )

    def options(values: Iterable[str]) -> str:
        return '<option value="">all</option>' + "".join(f'<option value="{_e(v)}">{_e(v)}</option>' for v in values)

    order = list(results.get("groups", {}))
    groups = sorted(
        {e["group"] for e in behaviors.values()}, key=lambda g: (g not in order, order.index(g) if g in order else 0)
    )
    filters = (
        '<div class="filters">'
        f'<label>Status <select id="f-status">{options(STATUS_ORDER)}</select></label>'
        f'<label>Group <select id="f-group">{options(groups)}</select></label>'
        f'<label>Level <select id="f-level">{options(LEVELS)}</select></label>'
        '<label>Text <input id="f-text" type="search" placeholder="ID, title, reason"></label>'
        f'<span id="f-shown" class="note">{len(rows)} behaviours</span></div>'
    )
    head = "".join(f"<th>{h}</th>" for h in ("ID", "Group", "Level", "Behaviour", "Status", "Tests", "Note"))
    return (
        '<h2 id="behaviours">Behaviour matrix</h2>'
        + filters
        + f'<table id="matrix"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def _failures(results: Mapping[str, Any]) -> str:
    ids = failed_ids(results)
    if not ids:
        return '<h2 id="failures">Failures</h2><p>No behaviour failed.</p>'
    parts = ['<h2 id="failures">Failures</h2>']
    for bid in ids:
        e = results["behaviors"][bid]
        known = f'<p class="known">Known deviation (baseline): {_e(e["baselined"])}</p>' if e.get("baselined") else ""
        evidence = "".join(_evidence(f) for f in e.get("failures") or [])
        parts.append(
            f'<section class="failure{" is-error" if e["status"] == "error" else ""}" id="B-{_e(bid)}">'
            f"<h3>{_badge(e['status'])} {_e(bid)}: {_e(e['title'])}</h3>"
            f'<p class="rule">{_prose(e.get("statement", ""))}</p>'
            f'<p class="meta">Requirement level {_e(e["level"])}; sources {_e(", ".join(e["sources"]) or "catalogue")}'
            f"; {len(e['tests'])} test(s)</p>{known}{evidence}</section>"
        )
    return "".join(parts)


def _evidence(failure: Mapping[str, Any]) -> str:
    out = [f'<div class="evidence"><p class="test">{_e(failure.get("test", ""))}</p>']
    if failure.get("message"):
        out.append(f'<p class="message">{_e(failure["message"])}</p>')
        out.append(
            f'<dl class="er"><dt>Expected</dt><dd>{_e(failure.get("expected") or "(see message)")}</dd>'
            f"<dt>Received</dt><dd>{_e(failure.get('received') or '(see message)')}</dd></dl>"
        )
    exchange = failure.get("exchange")
    if exchange:
        request = exchange.get("request") or {}
        out.append(f'<h4>Request</h4><pre class="curl">{_e(request.get("curl", ""))}</pre>')
        out.append(f"<h4>Response</h4><pre>{_e(_response_text(exchange))}</pre>")
    elif failure.get("text"):
        phase = f" ({failure['phase']})" if failure.get("phase") else ""
        out.append(f"<h4>Output{_e(phase)}</h4><pre>{_e(failure['text'])}</pre>")
    out.append("</div>")
    return "".join(out)


def _response_text(exchange: Mapping[str, Any]) -> str:
    response = exchange.get("response")
    if not response:
        return f"no response: {exchange.get('error')}"
    lines = [str(response.get("status"))]
    lines += [f"{k}: {v}" for k, v in (response.get("headers") or {}).items()]
    lines += ["", str(response.get("body", ""))]
    return "\n".join(lines)


def _statement(results: Mapping[str, Any]) -> str:
    st = results.get("statement")
    if not st:
        return ""
    rows = [
        [_e(t["service"]), _e(t["transaction"]), _e(", ".join(t["methods"])), _e(", ".join(map(str, t["statuses"])))]
        + [str(t["tests"])]
        for t in st["transactions"]
    ]
    transactions = _table(["Service", "Transaction", "Methods", "Statuses", "Passed tests"], rows, "statement")
    media = [
        [_e(r["transaction"]), direction, "<br>".join(f"<code>{_e(m)}</code>" for m in r["media_types"])]
        for direction, key in (("request", "request_media_types"), ("response", "response_media_types"))
        for r in st[key]
    ]
    syntaxes = [
        [f"<code>{_e(t['uid'])}</code>", _e(t["name"]), _e(", ".join(t["transactions"]))]
        for t in st["transfer_syntaxes"]
    ]
    opts = [[_e(o["option"]), _e(o["state"]), str(o["passed"]), str(o["failed"])] for o in st["options"]]
    not_claimed = "".join(f"<li><b>{_e(k)}</b>: {_e(v)}</li>" for k, v in sorted(st["not_claimed"].items()))
    claimed = st.get("transcoding_claimed") or []
    return (
        f'<h2 id="statement">Draft conformance statement</h2><p class="note">{_e(st["note"])}</p>'
        f"<h3>Transactions</h3>{transactions}"
        f"<h3>Media types</h3>{_table(['Transaction', 'Direction', 'Media types'], media, 'statement')}"
        f"<h3>Transfer syntaxes returned</h3>{_table(['UID', 'Name', 'Transactions'], syntaxes, 'statement')}"
        + (f"<p>Transcoding claimed by the profile: {_e(', '.join(claimed))}.</p>" if claimed else "")
        + f"<h3>Options</h3>{_table(['Option', 'State', 'Tests passed', 'Tests failed'], opts, 'statement')}"
        + (f"<h3>Behaviours the profile does not claim</h3><ul>{not_claimed}</ul>" if not_claimed else "")
    )


def _skips(results: Mapping[str, Any]) -> str:
    by_reason: dict[str, list[str]] = {}
    for bid, e in results["behaviors"].items():
        if e["status"] in ("skipped", "not applicable"):
            by_reason.setdefault(str(e.get("reason", "")), []).append(bid)
    if not by_reason:
        return ""
    rows = [[_e(reason), _e(", ".join(ids))] for reason, ids in sorted(by_reason.items())]
    return '<h2 id="skips">Skip reasons</h2>' + _table(["Reason", "Behaviours"], rows)


def _cleanup(results: Mapping[str, Any]) -> str:
    left, problems = results.get("left_on_target") or [], results.get("cleanup_problems") or []
    if not left and not problems:
        return '<h2 id="cleanup">Cleanup</h2><p>Everything the suite stored was removed from the target.</p>'
    items = "".join(f"<li><code>{_e(x)}</code></li>" for x in left)
    issues = "".join(f"<li>{_e(x)}</li>" for x in problems)
    return f'<h2 id="cleanup">Cleanup</h2><p>{len(left)} item(s) left on the target:</p><ul>{items}</ul>' + (
        f"<p>Problems:</p><ul>{issues}</ul>" if issues else ""
    )
