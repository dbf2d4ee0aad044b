"""The difference between two results files (``dicomweb-conformance diff OLD NEW``).

``new failures``  behaviours that fail (or error) in NEW and did not in OLD
``fixed``         behaviours that failed (or errored) in OLD and pass in NEW
``changed``       every other change of status (skipped -> passed, passed -> not run, ...),
                  including behaviours present in only one of the files
``still failing`` behaviours that fail in both
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

BAD = ("failed", "error")
ABSENT = "absent"

Change = tuple[str, str, str]  # behaviour ID, status in OLD, status in NEW


@dataclass(frozen=True, slots=True)
class ResultsDiff:
    new_failures: list[Change] = field(default_factory=list)
    fixed: list[Change] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    still_failing: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        def rows(changes: list[Change]) -> list[dict[str, str]]:
            return [{"behavior": b, "before": old, "after": new} for b, old, new in changes]

        return {
            "new_failures": rows(self.new_failures),
            "fixed": rows(self.fixed),
            "changed": rows(self.changed),
            "still_failing": self.still_failing,
        }


def _statuses(results: Mapping[str, Any]) -> dict[str, str]:
    return {bid: str(entry.get("status")) for bid, entry in results.get("behaviors", {}).items()}


def diff_results(old: Mapping[str, Any], new: Mapping[str, Any]) -> ResultsDiff:
    before, after = _statuses(old), _statuses(new)
    result = ResultsDiff()
    for behavior_id in list(before) + [b for b in after if b not in before]:
        was, now = before.get(behavior_id, ABSENT), after.get(behavior_id, ABSENT)
        if was == now:
            if now in BAD:
                result.still_failing.append(behavior_id)
            continue
        change = (behavior_id, was, now)
        if now in BAD and was not in BAD:
            result.new_failures.append(change)
        elif was in BAD and now == "passed":
            result.fixed.append(change)
        else:
            result.changed.append(change)
    return result


def _describe(results: Mapping[str, Any], label: str) -> str:
    target = results.get("target", {})
    return f"{label}: {target.get('url')} (profile {target.get('profile')}), {results.get('finished', '?')}"


def diff_markdown(diff: ResultsDiff, old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """A Markdown account of the difference, readable on a terminal as well."""
    titles = {bid: e.get("title", "") for r in (old, new) for bid, e in r.get("behaviors", {}).items()}
    out = [
        "## Conformance results: difference",
        "",
        f"- {_describe(old, 'old')}",
        f"- {_describe(new, 'new')}",
        "",
        f"{len(diff.new_failures)} new failure(s), {len(diff.fixed)} fixed, {len(diff.changed)} other change(s), "
        f"{len(diff.still_failing)} still failing.",
    ]
    for heading, changes in (("New failures", diff.new_failures), ("Fixed", diff.fixed), ("Changed", diff.changed)):
        if changes:
            out += ["", f"### {heading}", ""]
            out += [f"- **{b}** {was} -> {now}: {titles.get(b, '')}" for b, was, now in changes]
    if diff.still_failing:
        out += ["", "### Still failing", "", ", ".join(diff.still_failing)]
    return "\n".join(out) + "\n"
