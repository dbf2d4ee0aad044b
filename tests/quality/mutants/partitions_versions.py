"""Mutants for data partitions and API versions (PART, VER).

Most PART mutants break the reference server run with data partitions (``--partitions``) and are
judged with the ``reference-partitions`` profile; those about a server without partitions, and
the VER mutants, use the plain server and ``reference``. Some bugs need more than one rewrite of
a request or an answer (a server whose searches fall back to other partitions, whose deletes
reach every partition, that forgets which partitions a STOW created): those mutants build their
own ASGI wrapper, with fresh state for every server they wrap.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio

from tests.quality.mutants import (
    Answer,
    ASGIApp,
    Message,
    Mutant,
    Receive,
    Request,
    Scope,
    Send,
    drop_warning_reason,
    is_json,
    metadata_rewrite,
    mutate,
    walk_items,
)
from tests.quality.mutants.change_feed import each_entry, is_feed

GROUPS = {"PART", "VER"}
EXEMPT: dict[str, str] = {}

PARTITIONED_PROFILE = "reference-partitions"
PARTITIONS_ON = (("partitions", True),)
DEFAULT = "Microsoft.Default"
#: ``/{version}/partitions/{name}{rest}``
IN_PARTITION = re.compile(r"^/(?P<version>v[^/]+)/partitions/(?P<name>[^/]+)(?P<rest>/.*)?$")
DATA_ROUTE = re.compile(r"^/(studies|series|instances|workitems)(/|$)")
VALID_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def partitioned(behavior: str, bug: str, **rewrites: Any) -> Mutant:
    """A mutant of the reference server with data partitions on, judged by ``reference-partitions``."""
    return Mutant(behavior, bug, profile=PARTITIONED_PROFILE, server_options=PARTITIONS_ON, **rewrites)


@dataclass(frozen=True)
class WrappingMutant(Mutant):
    """A mutant whose bug needs its own ASGI wrapper; ``make`` builds it for each server."""

    make: Callable[[ASGIApp], ASGIApp] | None = None

    def wrap(self, app: ASGIApp) -> ASGIApp:
        assert self.make is not None
        return self.make(app)


def wrapping(behavior: str, bug: str, make: Callable[[ASGIApp], ASGIApp]) -> Mutant:
    return WrappingMutant(behavior, bug, profile=PARTITIONED_PROFILE, server_options=PARTITIONS_ON, make=make)


def partition_of(path: str) -> str | None:
    match = IN_PARTITION.match(path)
    return match.group("name") if match else None


def in_partition(path: str, name: str) -> str:
    """``path`` addressed to partition ``name`` instead of its own."""
    match = IN_PARTITION.match(path)
    assert match
    return f"/{match.group('version')}/partitions/{name}{match.group('rest') or ''}"


def refuse(a: Answer, status: int, message: str) -> None:
    a.status, a.body = status, message.encode()
    a.set_header("content-type", "text/plain; charset=utf-8")


def rest_of(path: str) -> str:
    """What follows the version and the partition segment, if any: ``/studies/...``."""
    match = IN_PARTITION.match(path) or re.match(r"^/v[^/]+(?P<rest>/.*)?$", path)
    return (match.group("rest") or "") if match else ""


def is_stow(r: Request) -> bool:
    return r.method == "POST" and bool(re.fullmatch(r"/studies(/[^/]+)?", rest_of(r.path)))


def is_search(r: Request) -> bool:
    searched = r"/(studies|series|instances|studies/[^/]+/(series|instances)|studies/[^/]+/series/[^/]+/instances)"
    return r.method == "GET" and bool(re.fullmatch(searched, rest_of(r.path)))


def stow_body(fn: Callable[[dict[str, Any]], None]) -> Callable[[Request, Answer], None]:
    def answer(r: Request, a: Answer) -> None:
        if is_stow(r) and a.body and is_json(a):
            body = a.json()
            fn(body)
            a.set_json(body)

    return answer


# -- whole-server wrappers (fresh state per server) -----------------------------------------------


async def _capture(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[Message, bytes]:
    started: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            started.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return started, b"".join(chunks)


def _no_body() -> Receive:
    """The ``receive`` of a request without a body: the empty body once, then nothing until the
    app stops listening (a response that watches for a disconnect must not see one)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    return receive


def _at(scope: Scope, path: str) -> Scope:
    moved = dict(scope)
    moved["path"], moved["raw_path"] = path, path.encode()
    return moved


async def _replay(send: Send, started: Message, body: bytes) -> None:
    await send(dict(started))
    await send({"type": "http.response.body", "body": body})


def searches_see_every_partition(app: ASGIApp) -> ASGIApp:
    """A GET that finds nothing (404, 204) in its partition is answered from another partition."""
    known: set[str] = set()

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        name = partition_of(scope.get("path", "")) if scope["type"] == "http" else None
        if name is None:
            await app(scope, receive, send)
            return
        known.add(name)
        started, body = await _capture(app, scope, receive)
        if scope["method"] == "GET" and started.get("status") in (204, 404):
            for other in sorted(known - {name}):
                alt_started, alt_body = await _capture(app, _at(scope, in_partition(scope["path"], other)), _no_body())
                if alt_started.get("status") == 200:
                    started, body = alt_started, alt_body
                    break
        await _replay(send, started, body)

    return wrapped


def deletes_reach_every_partition(app: ASGIApp) -> ASGIApp:
    """A DELETE in one partition also deletes the same UIDs in every other partition it has seen."""
    known: set[str] = set()

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        name = partition_of(scope.get("path", "")) if scope["type"] == "http" else None
        if name is not None:
            known.add(name)
            if scope["method"] == "DELETE":
                for other in sorted(known - {name}):
                    await _capture(app, _at(scope, in_partition(scope["path"], other)), _no_body())
        await app(scope, receive, send)

    return wrapped


def forgets_created_partitions(route: str) -> Callable[[ASGIApp], ASGIApp]:
    """A create on ``route`` (a regex of what follows the partition) into a partition nobody used
    successfully before is answered 400 "does not exist": the server does not create it."""

    def make(app: ASGIApp) -> ASGIApp:
        known: set[str] = set()

        def answer(r: Request, a: Answer) -> None:
            name = partition_of(r.path)
            match = IN_PARTITION.match(r.path)
            if name is None or match is None:
                return
            creating = r.method == "POST" and re.fullmatch(route, match.group("rest") or "")
            if creating and name not in known:
                refuse(a, 400, f"Specified PartitionName {name} does not exist.")
            elif a.status < 400 or a.status == 404:
                known.add(name)

        return mutate(app, answer=answer)

    return make


# -- request and answer rewrites -------------------------------------------------------------------


def _default_partition_missing(r: Request) -> None:
    if partition_of(r.path) == DEFAULT:
        r.path = in_partition(r.path, DEFAULT + ".gone")


def _sanitize_invalid_names(r: Request) -> None:
    name = partition_of(r.path)
    if name is not None and not VALID_NAME.fullmatch(name):
        r.path = in_partition(r.path, re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:64] or "x")


def _refuse_names(when: Callable[[str], bool]) -> Callable[[Request, Answer], None]:
    def answer(r: Request, a: Answer) -> None:
        name = partition_of(r.path)
        if name is not None and name != DEFAULT and when(name):
            refuse(a, 400, "The specified PartitionName is invalid.")

    return answer


def _plain_routes_in_default(r: Request) -> None:
    match = re.match(r"^/(v[^/]+)(/.*)$", r.path)
    if match and DATA_ROUTE.match(match.group(2)):
        r.path = f"/{match.group(1)}/partitions/{DEFAULT}{match.group(2)}"


def _frames_not_partitioned(r: Request, a: Answer) -> None:
    if partition_of(r.path) is not None and ("/frames/" in r.path or r.path.endswith("/rendered")):
        refuse(a, 404, "No resource here.")


def _missing_segment_on(paths: Callable[[str], bool]) -> Callable[[Request, Answer], None]:
    def answer(r: Request, a: Answer) -> None:
        if paths(r.path):
            refuse(a, 400, "PartitionName value is missing in the route segment.")

    return answer


def _unknown_partition_404(r: Request, a: Answer) -> None:
    if a.status == 400 and b"does not exist" in a.body:
        a.status = 404


def _reword(old: bytes, new: bytes) -> Callable[[Request, Answer], None]:
    def answer(r: Request, a: Answer) -> None:
        if old in a.body:
            a.body = a.body.replace(old, new)

    return answer


def _disabled_is_404(r: Request, a: Answer) -> None:
    if a.status == 400 and b"Data partitions feature is disabled" in a.body:
        refuse(a, 404, "Not found.")


def _everything_in_default(r: Request) -> None:
    if partition_of(r.path) is not None:
        r.path = in_partition(r.path, DEFAULT)


def _workitems_in_default(r: Request) -> None:
    match = IN_PARTITION.match(r.path)
    if match and (match.group("rest") or "").startswith("/workitems"):
        r.path = in_partition(r.path, DEFAULT)


def _retrieve_urls_without_partition(r: Request, a: Answer) -> None:
    if partition_of(r.path) is None or not is_stow(r) or not a.body or not is_json(a):
        return
    body = a.json()
    elements = [body.get("00081190")] + [item.get("00081190") for item in walk_items(body, "00081199")]
    for element in elements:
        if element and element.get("Value"):
            element["Value"] = [re.sub(r"/partitions/[^/]+", "", v) for v in element["Value"]]
    a.set_json(body)


def _partition_list(fn: Callable[[list[dict[str, Any]]], Any]) -> Callable[[Request, Answer], None]:
    def answer(r: Request, a: Answer) -> None:
        if r.method == "GET" and re.fullmatch(r"/v[^/]+/partitions", r.path) and a.status == 200:
            a.set_json(fn(a.json()))

    return answer


def _without(key: str) -> Callable[[list[dict[str, Any]]], Any]:
    return lambda items: [{k: v for k, v in item.items() if k != key} for item in items]


def _key_as_text(items: list[dict[str, Any]]) -> Any:
    return [{**item, "partitionKey": str(item["partitionKey"])} for item in items]


def _disabled_list_is_empty(r: Request, a: Answer) -> None:
    if r.method == "GET" and re.fullmatch(r"/v[^/]+/partitions", r.path) and a.status == 400:
        a.status, a.body = 200, b"[]"
        a.set_header("content-type", "application/json")


def _without_partition_name(entry: dict[str, Any]) -> None:
    entry.pop("partitionName", None)


# -- API versions ----------------------------------------------------------------------------------


def _version_to(old: str, new: str, when: Callable[[Request], bool] = lambda r: True) -> Callable[[Request], None]:
    def request(r: Request) -> None:
        if r.path.startswith(f"/{old}/") and when(r):
            r.path = f"/{new}/" + r.path[len(old) + 2 :]

    return request


def _v2_stow_status(old: int, new: int, when: Callable[[dict[str, Any]], bool]) -> Callable[[Request, Answer], None]:
    def answer(r: Request, a: Answer) -> None:
        if is_stow(r) and r.path.startswith("/v2/") and a.status == old and a.body and is_json(a) and when(a.json()):
            a.status = new

    return answer


def _warned(body: dict[str, Any], code: int = 1, about: str | None = None) -> bool:
    for item in walk_items(body, "00081199"):
        if item.get("00081196", {}).get("Value") == [code]:
            comments = json.dumps(item.get("00741048", {}))
            if about is None or about in comments:
                return True
    return False


def _fully_stored_with_warning(body: dict[str, Any]) -> bool:
    return "00081198" not in body and _warned(body)


def _nul_padding_needed(r: Request, a: Answer) -> None:
    if is_search(r) and re.search(r"AccessionNumber=NUL-[0-9A-F]{8}A(&|$)", r.query):
        a.status, a.body = 204, b""
        a.set_header("content-type", None)


def _strip_nul(obj: dict[str, Any]) -> None:
    for element in obj.values():
        if isinstance(element.get("Value"), list):
            element["Value"] = [v.rstrip("\x00") if isinstance(v, str) else v for v in element["Value"]]


MUTANTS: list[Mutant] = [
    partitioned("PART-01", "has no Microsoft.Default partition", request=_default_partition_missing),
    partitioned("PART-02", "accepts invalid partition names", request=_sanitize_invalid_names),
    partitioned(
        "PART-02", "refuses names with dots or underscores", answer=_refuse_names(lambda n: bool(set(n) & {".", "_"}))
    ),
    partitioned("PART-02", "refuses names of 64 characters", answer=_refuse_names(lambda n: len(n) == 64)),
    partitioned(
        "PART-03", "serves partitionable routes without the partition segment", request=_plain_routes_in_default
    ),
    partitioned("PART-03", "serves no frames or rendered images in a partition", answer=_frames_not_partitioned),
    partitioned(
        "PART-04",
        "wants a partition segment on the health check",
        answer=_missing_segment_on(lambda p: p == "/health/check"),
    ),
    partitioned(
        "PART-04",
        "wants a partition segment on the partition list",
        answer=_missing_segment_on(lambda p: bool(re.fullmatch(r"/v[^/]+/partitions", p))),
    ),
    partitioned("PART-05", "answers 404 for an unknown partition", answer=_unknown_partition_404),
    partitioned(
        "PART-05",
        "words the missing-segment refusal differently",
        answer=_reword(b"PartitionName value is missing in the route segment.", b"A partition is required."),
    ),
    Mutant("PART-05", "answers 404 to partition routes with the feature off", answer=_disabled_is_404),
    wrapping(
        "PART-06", "does not create a partition on STOW studies/{study}", forgets_created_partitions(r"/studies/[^/]+")
    ),
    wrapping("PART-06", "does not create a partition on workitem create", forgets_created_partitions(r"/workitems")),
    partitioned("PART-07", "keeps every partition in one store", request=_everything_in_default),
    partitioned("PART-07", "shares the workitems of all partitions", request=_workitems_in_default),
    wrapping("PART-07", "answers reads from other partitions", searches_see_every_partition),
    wrapping("PART-07", "deletes in every partition", deletes_reach_every_partition),
    partitioned("PART-08", "leaves the partition out of RetrieveURLs", answer=_retrieve_urls_without_partition),
    partitioned("PART-09", "lists partitions without createdDate", answer=_partition_list(_without("createdDate"))),
    partitioned("PART-09", "lists partitionKey as text", answer=_partition_list(_key_as_text)),
    partitioned(
        "PART-09",
        "leaves Microsoft.Default out of the list",
        answer=_partition_list(lambda items: [i for i in items if i.get("partitionName") != DEFAULT]),
    ),
    partitioned(
        "PART-09",
        "lists only Microsoft.Default",
        answer=_partition_list(lambda items: [i for i in items if i.get("partitionName") == DEFAULT]),
    ),
    Mutant("PART-09", "lists no partitions instead of refusing with the feature off", answer=_disabled_list_is_empty),
    Mutant("VER-01", "no longer serves API v1", request=_version_to("v1", "v1.1")),
    Mutant("VER-02", "serves v2's rules under /v1", request=_version_to("v1", "v2")),
    Mutant("VER-03", "stores through v1 like v2", request=_version_to("v1", "v2", is_stow)),
    Mutant("VER-03", "fails through v2 like v1", answer=_v2_stow_status(202, 409, _fully_stored_with_warning)),
    Mutant(
        "VER-04",
        "answers 200 in v2 when a stored instance has warnings",
        answer=_v2_stow_status(202, 200, _fully_stored_with_warning),
    ),
    Mutant("VER-05", "leaves WarningReason 1 out in v2", answer=stow_body(drop_warning_reason(1))),
    Mutant(
        "VER-06",
        "refuses an empty PatientID in v2",
        answer=_v2_stow_status(202, 409, lambda body: _warned(body, about="0010,0020")),
    ),
    Mutant("VER-07", "answers v2 searches with v1's attributes", request=_version_to("v2", "v1", is_search)),
    Mutant("VER-08", "finds NUL-padded values only with the NUL", answer=_nul_padding_needed),
    Mutant("VER-09", "strips NUL padding from v2 metadata", answer=metadata_rewrite(_strip_nul)),
    Mutant(
        "VER-11",
        "serves bulk update on v1",
        request=_version_to("v1", "v2", lambda r: r.method == "POST" and r.path.endswith("/studies/$bulkUpdate")),
    ),
    Mutant(
        "VER-12",
        "reports v2's succeeded through v1",
        answer=lambda r, a: (
            r.path.startswith("/v1/operations/")
            and a.status == 200
            and setattr(a, "body", a.body.replace(b'"completed"', b'"succeeded"'))
        ),
    ),
    Mutant("PART-10", "leaves partitionName out of change-feed entries", answer=each_entry(_without_partition_name)),
    partitioned(
        "PART-10",
        "names Microsoft.Default in every change-feed entry",
        answer=each_entry(lambda e: e.update(partitionName=DEFAULT)),
    ),
    Mutant("VER-10", "reads the v2 change feed with v1 rules", request=_version_to("v2", "v1", is_feed)),
]
