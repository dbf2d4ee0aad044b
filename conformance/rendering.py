"""How a conformance failure reads: behaviour, Expected / Received, the request as a curl
line, the response (status, headers, a cut body)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from conformance.client.exchange import Exchange
from conformance.core.errors import ConformanceFailure
from conformance.registry import Behavior


def _indent(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def render_failure(
    failure: ConformanceFailure,
    behaviors: Sequence[Behavior],
    exchange: Exchange | None,
    *,
    scrub: Callable[[str], str] = lambda s: s,
) -> str:
    """The full text of a failed test, as printed by pytest and kept in the results."""
    lines: list[str] = []
    primary = failure.behavior or (behaviors[0] if behaviors else None)
    others = [b for b in behaviors if primary is None or b.id != primary.id]
    if primary is not None:
        ids = ", ".join([primary.id] + [b.id for b in others])
        lines.append(f"{ids} [{primary.level.value}; source {primary.source}] {primary.title}")
    lines.append(f"Failure: {failure.message}")
    if failure.detail.expected is not None or failure.detail.received is not None:
        lines.append(f"Expected: {failure.detail.expected or '(see message)'}")
        lines.append(f"Received: {failure.detail.received or '(see message)'}")
    if exchange is not None:
        lines.append("Request:")
        lines.append(_indent(exchange.curl()))
        lines.append("Response:")
        lines.append(_indent(exchange.describe_response()))
    return scrub("\n".join(lines))
