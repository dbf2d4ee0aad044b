"""Which DICOMweb service and transaction an exchange belongs to, and what it shows about
media types and transfer syntaxes.

Used for the Allure labels (epic = service, feature = transaction) and for the draft
conformance statement (transactions, media types and transfer syntaxes seen in passed tests).
Classification goes by method and resource path (PS3.18 10.4-10.6, 11; the Azure extensions),
after the base URL's prefix, API version and partition segments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from conformance.client.exchange import Exchange

# The service of each behaviour group, for tests that made no request (skipped ones).
GROUP_SERVICES: dict[str, str] = {
    "GEN": "General",
    "STOW": "STOW-RS",
    "WADO": "WADO-RS",
    "QIDO": "QIDO-RS",
    "DEL": "Delete",
    "UPS": "UPS-RS",
    "PART": "Data partitions",
    "BULK": "Bulk update",
    "OP": "Operations",
    "CF": "Change feed",
    "EQT": "Extended query tags",
    "EXP": "Export",
    "VER": "API versions",
}
_ROOTS = (
    "studies",
    "series",
    "instances",
    "workitems",
    "changefeed",
    "extendedquerytags",
    "operations",
    "export",
    "partitions",
    "health",
)
_VERSION = re.compile(r"^v\d+(\.\d+)?(-prerelease)?$")
_TRANSFER_SYNTAX = re.compile(r"transfer-syntax\s*=\s*\"?([0-9.]+|\*)\"?", re.IGNORECASE)
_PART_TYPE = re.compile(rb"(?im)^content-type:[ \t]*([^\r\n]+)")


@dataclass(frozen=True, slots=True)
class Transaction:
    service: str
    name: str


def resource_segments(url: str) -> list[str]:
    """The path segments from the first DICOMweb resource on (``studies``, ``workitems`` ...),
    with the partition prefix removed; the whole path when no resource is recognised."""
    segments = [unquote(s) for s in urlsplit(url).path.split("/") if s]
    for index, segment in enumerate(segments):
        if segment == "partitions" and index + 2 < len(segments):
            return segments[index + 2 :]
        if segment in _ROOTS or segment == "api.yaml":
            return segments[index:]
    return [s for s in segments if not _VERSION.match(s)]


def classify(method: str, url: str) -> Transaction:
    """The service and transaction of a request (``Transaction("STOW-RS", "Store Instances")``)."""
    method = method.upper()
    seg = resource_segments(url)
    head = seg[0] if seg else ""
    if head == "api.yaml" or (seg and seg[-1] == "api.yaml"):
        return Transaction("API versions", "OpenAPI document")
    if head == "health":
        return Transaction("General", "Health check")
    if head == "workitems":
        return _workitem(method, seg)
    if head == "changefeed":
        return Transaction("Change feed", "Latest change" if seg[-1] == "latest" else "Read change feed")
    if head == "extendedquerytags":
        return Transaction("Extended query tags", f"{method.title()} extended query tags")
    if head == "operations":
        return Transaction("Operations", "Operation status")
    if head == "export":
        return Transaction("Export", "Export")
    if head == "partitions":
        return Transaction("Data partitions", "List partitions")
    if "$bulkUpdate" in seg:
        return Transaction("Bulk update", "Bulk update")
    if method == "POST" and head == "studies":
        return Transaction("STOW-RS", "Store Instances")
    if method == "DELETE":
        return Transaction("Delete", f"Delete {_level(seg)}")
    if head in ("studies", "series", "instances"):
        return _retrieve_or_search(seg)
    return Transaction("General", f"{method} {'/'.join(seg) or '/'}")


def _level(seg: list[str]) -> str:
    return {2: "Study", 4: "Series", 6: "Instance"}.get(len(seg), "Resource")


def _retrieve_or_search(seg: list[str]) -> Transaction:
    last = seg[-1]
    if len(seg) % 2 == 1 and last in ("studies", "series", "instances"):
        return Transaction("QIDO-RS", f"Search for {last.title()}")
    if "rendered" in seg or "thumbnail" in seg:
        return Transaction("WADO-RS", "Retrieve Rendered" if "rendered" in seg else "Retrieve Thumbnail")
    if "frames" in seg:
        return Transaction("WADO-RS", "Retrieve Frames")
    if last == "metadata":
        return Transaction("WADO-RS", f"Retrieve {_level(seg[:-1])} Metadata")
    if "bulkdata" in seg:
        return Transaction("WADO-RS", "Retrieve Bulkdata")
    return Transaction("WADO-RS", f"Retrieve {_level(seg)}")


def _workitem(method: str, seg: list[str]) -> Transaction:
    if "subscribers" in seg:
        if seg[-1] == "suspend":
            name = "Suspend Global Subscription"
        else:
            name = "Unsubscribe" if method == "DELETE" else "Subscribe"
        return Transaction("UPS-RS", name)
    if len(seg) == 1:
        return Transaction("UPS-RS", "Create Workitem" if method == "POST" else "Search for Workitems")
    if seg[-1] == "state":
        return Transaction("UPS-RS", "Change Workitem State")
    if seg[-1] == "cancelrequest":
        return Transaction("UPS-RS", "Request Cancellation")
    return Transaction("UPS-RS", "Update Workitem" if method == "POST" else "Retrieve Workitem")


def media_type(value: str | None) -> str | None:
    """A Content-Type or Accept value without its boundary (which changes on every request)."""
    if not value:
        return None
    parts = [p.strip() for p in value.split(";")]
    kept = [p for p in parts[1:] if p and not p.lower().startswith("boundary")]
    return "; ".join([parts[0].lower(), *kept])


def transfer_syntaxes(value: str | None) -> list[str]:
    return _TRANSFER_SYNTAX.findall(value or "")


def part_media_types(exchange: Exchange) -> list[str]:
    """The Content-Type of each part of a multipart answer, as far as the recorded preview
    reaches (the first 4 KiB)."""
    response = exchange.response
    if response is None or "multipart" not in (response.header("content-type") or "").lower():
        return []
    found = [media_type(m.decode("latin-1")) for m in _PART_TYPE.findall(response.body_preview)]
    return sorted({m for m in found if m})


def summarize(exchange: Exchange) -> dict[str, object]:
    """What the conformance statement needs of one exchange (JSON-ready, no bodies)."""
    request = exchange.request
    transaction = classify(request.method, request.url)
    response = exchange.response
    answer_type = media_type(response.header("content-type")) if response else None
    parts = part_media_types(exchange)
    syntaxes = sorted(
        {ts for value in [answer_type, *parts] for ts in transfer_syntaxes(value) if ts != "*"}
        if response is not None and 200 <= response.status < 300
        else set()
    )
    return {
        "service": transaction.service,
        "transaction": transaction.name,
        "method": request.method,
        "content_type": media_type(request.header("content-type")),
        "accept": request.header("accept"),
        "status": response.status if response else None,
        "response_type": answer_type,
        "part_types": parts,
        "transfer_syntaxes": syntaxes,
    }


def summarize_all(exchanges: list[Exchange]) -> list[dict[str, object]]:
    """Each distinct exchange summary once, in order."""
    seen: list[dict[str, object]] = []
    for exchange in exchanges:
        item = summarize(exchange)
        if item not in seen:
            seen.append(item)
    return seen


def primary_transaction(group: str, summaries: Sequence[Mapping[str, object]]) -> Transaction:
    """The transaction a test is about: the first one of its group's service it made, else
    the last request that is not a store (most tests store first), else the group's service."""
    service = GROUP_SERVICES.get(group, group)
    pairs = [Transaction(str(s["service"]), str(s["transaction"])) for s in summaries]
    for pair in pairs:
        if pair.service == service:
            return pair
    others = [p for p in pairs if p.service != "STOW-RS"]
    if others:
        return others[-1]
    if pairs:
        return pairs[0]
    return Transaction(service, service)
