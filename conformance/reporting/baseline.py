"""Baselines of known deviations, for CI gating (``--dicomweb-baseline FILE``).

A baseline lists behaviours a target is known to break, each with the reason::

    # TOML (or the same as JSON: {"deviations": {"STOW-11": "..."}})
    [deviations]
    STOW-11 = "answers 200 to an empty request; vendor ticket 1234"

With a baseline, a run fails only on *new* failures: behaviours that failed and are not listed.
Listed behaviours that failed are reported as known; listed behaviours that now pass are
reported as *stale* entries (remove them), which fails the run only with
``--dicomweb-strict-baseline``. Harness errors always fail the run: they are no verdict on
the target. Listed behaviours that were not checked (skipped, not run, deselected) are
reported as unchecked and change nothing.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.core.errors import ConfigurationError
from conformance.registry import BehaviorRegistry


@dataclass(frozen=True, slots=True)
class Baseline:
    """Known deviations: behaviour ID -> reason."""

    deviations: Mapping[str, str]
    source: str = "<memory>"

    @classmethod
    def load(cls, path: str | Path, registry: BehaviorRegistry) -> Baseline:
        path = Path(path)
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            raise ConfigurationError(f"baseline {path}: cannot be read: {exc.strerror or exc}") from None
        try:
            data: Any = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
        except (ValueError, tomllib.TOMLDecodeError) as exc:
            kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
            raise ConfigurationError(f"baseline {path}: not valid {kind}: {exc}") from None
        return cls.from_mapping(data, registry, source=str(path))

    @classmethod
    def from_mapping(cls, data: Any, registry: BehaviorRegistry, *, source: str) -> Baseline:
        if not isinstance(data, dict) or set(data) - {"deviations"}:
            raise ConfigurationError(f"baseline {source}: expected one table [deviations] of behaviour ID = reason")
        table = data.get("deviations", {})
        if not isinstance(table, dict):
            raise ConfigurationError(f"baseline {source}: [deviations] must be a table of behaviour ID = reason")
        deviations: dict[str, str] = {}
        for key, reason in table.items():
            if key not in registry or registry.get(key).is_ambiguity:
                raise ConfigurationError(f"baseline {source}: {key!r} is not a behaviour ID of the registry")
            if not isinstance(reason, str) or not reason.strip():
                raise ConfigurationError(f"baseline {source}: {key} needs a reason (a non-empty string)")
            deviations[key] = reason.strip()
        return cls(deviations, source)


@dataclass(frozen=True, slots=True)
class BaselineVerdict:
    """How a run's results compare with a baseline."""

    source: str
    strict: bool
    known: tuple[str, ...] = ()
    new_failures: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    stale: tuple[str, ...] = ()
    unchecked: tuple[str, ...] = ()
    reasons: Mapping[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when the run passes the gate."""
        return not self.new_failures and not self.errors and not (self.strict and self.stale)

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.source,
            "strict": self.strict,
            "passed": self.passed,
            "known": list(self.known),
            "new_failures": list(self.new_failures),
            "errors": list(self.errors),
            "stale": list(self.stale),
            "unchecked": list(self.unchecked),
            "reasons": dict(self.reasons),
        }

    def lines(self) -> list[str]:
        """A short account for the terminal."""
        verdict = "passes" if self.passed else "fails"
        lines = [
            f"baseline {self.source}: {len(self.known)} known deviation(s), {len(self.new_failures)} new "
            f"failure(s), {len(self.stale)} stale entr{'y' if len(self.stale) == 1 else 'ies'}: the run {verdict}"
        ]
        if self.new_failures:
            lines.append(f"  new failures (not in the baseline): {', '.join(self.new_failures)}")
        if self.errors:
            lines.append(f"  harness errors (never baselined): {', '.join(self.errors)}")
        if self.stale:
            note = "" if self.strict else " (not fatal without --strict-baseline)"
            stale = ", ".join(self.stale)
            lines.append(f"  stale entries, these now pass; remove them from the baseline{note}: {stale}")
        return lines


def evaluate(baseline: Baseline, behaviors: Mapping[str, Mapping[str, Any]], *, strict: bool) -> BaselineVerdict:
    """Compare per-behaviour results (``results.json`` ``behaviors``) with ``baseline``."""
    status = {bid: str(entry.get("status")) for bid, entry in behaviors.items()}
    listed = baseline.deviations
    return BaselineVerdict(
        source=baseline.source,
        strict=strict,
        known=tuple(b for b, s in status.items() if s == "failed" and b in listed),
        new_failures=tuple(b for b, s in status.items() if s == "failed" and b not in listed),
        errors=tuple(b for b, s in status.items() if s == "error"),
        stale=tuple(b for b in listed if status.get(b) == "passed"),
        unchecked=tuple(b for b in listed if status.get(b) not in ("passed", "failed", "error")),
        reasons=dict(listed),
    )


def baseline_toml(results: Mapping[str, Any], *, title: str = "") -> str:
    """A baseline listing every failed behaviour of a results document, each with its first
    failure message as the reason (to be reviewed and edited before it is committed)."""
    target = results.get("target", {})
    lines = [
        f"# Known deviations{f' of {title}' if title else ''}: a run with --baseline fails only on failures",
        "# not listed here. Generated from a results file; replace each reason with why the",
        f"# deviation is accepted. Target: {target.get('url')} (profile {target.get('profile')}).",
        "",
        "[deviations]",
    ]
    for behavior_id, entry in results.get("behaviors", {}).items():
        if entry.get("status") != "failed":
            continue
        failures = entry.get("failures") or [{}]
        message = str(failures[0].get("message") or failures[0].get("text") or entry.get("title", ""))
        reason = " ".join(message.split())[:300]
        lines.append(f"{behavior_id} = {json.dumps(reason, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"
