"""What the data-partition tests share: the partitionable routes, the documented refusals and the
partition list (behaviour catalogue section 7; DDP, SRC, SW).

The messages are matched loosely where the sources word them differently: DDP prints "Data
partitions feature is disabled" and the service's pages "capability is disabled"; DDP prints
"Specified PartitionName {name} does not exist" and the pages "doesn't exist", SRC without the
name. The status is always 400 (AMB-16: a missing partition is 400, not 404).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from conformance.checks import expect, expect_status, expect_text_error
from conformance.client.base import MULTIPART_DICOM_ANY
from conformance.client.client import DicomwebClient
from conformance.client.responses import DicomwebResponse
from conformance.core.media_types import DICOM_JSON
from conformance.core.uids import new_uid
from conformance.profile import Profile
from conformance.suites._support import empty_multipart

DEFAULT_PARTITION = "Microsoft.Default"
DISABLED = re.compile(r"data partitions (feature|capability) is disabled", re.IGNORECASE)
MISSING = re.compile(r"partitionname value is missing in the route segment", re.IGNORECASE)
INVALID = re.compile(r"the specified partitionname is invalid", re.IGNORECASE)
_DOES_NOT_EXIST = r"specified partitionname (['\"]?{name}['\"]? )?(does not|doesn't|doesn’t) exist"


def does_not_exist(name: str) -> re.Pattern[str]:
    """PART-05: the refusal of a partition that does not exist, with or without its name."""
    return re.compile(_DOES_NOT_EXIST.format(name=re.escape(name)), re.IGNORECASE)


def expect_partition_refusal(response: DicomwebResponse, message: re.Pattern[str] | None, *, why: str) -> None:
    """PART-05: 400 with a plain-text message matching ``message`` (None: any message)."""
    expect_status(response, 400, why=why)
    text = expect_text_error(response, why=f"{why}: the 400 answer says why")
    if message is not None:
        expect(
            message.search(text) is not None,
            f"{why}: the message is the documented one",
            response=response,
            expected=f"a message matching /{message.pattern}/",
            received=text.strip()[:200],
        )


def invalid_name_message(profile: Profile) -> re.Pattern[str] | None:
    """PART-02: the invalid-name message is known only from the implementation (SRC)."""
    return INVALID if profile.azure_compatible else None


# -- the partition list (PART-09) -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListedPartition:
    key: int
    name: str
    created_date: str


def listed_partitions(response: DicomwebResponse, *, why: str) -> list[ListedPartition]:
    """PART-09: 200 with a JSON array of ``{partitionKey (int), partitionName (string),
    createdDate (date-time string)}`` (camelCase, GEN-11); the partitions listed."""
    expect_status(response, 200, why=why)
    body: Any = response.json()  # not JSON: a MalformedResponse failure
    expect(
        isinstance(body, list),
        f"{why}: the answer is a JSON array",
        response=response,
        expected="a JSON array of partitions",
        received=response.text()[:120] if response.content else "an empty body",
    )
    problems: list[str] = []
    found: list[ListedPartition] = []
    for item in body:
        if not isinstance(item, dict):
            problems.append(f"{item!r} is not an object")
            continue
        key, name, created = item.get("partitionKey"), item.get("partitionName"), item.get("createdDate")
        if not isinstance(key, int) or isinstance(key, bool):
            problems.append(f"partitionKey {key!r} is not an integer")
        if not isinstance(name, str) or not name:
            problems.append(f"partitionName {name!r} is not a name")
        if not isinstance(created, str) or not _is_date_time(created):
            problems.append(f"createdDate {created!r} is not a date and time")
        if not problems and isinstance(key, int):
            found.append(ListedPartition(key, str(name), str(created)))
    keys = [p.key for p in found]
    names = [p.name for p in found]
    if len(set(keys)) != len(keys):
        problems.append(f"partitionKey values repeat: {sorted(keys)}")
    if len(set(names)) != len(names):
        problems.append("a partitionName is listed twice")
    expect(
        not problems,
        f"{why}: every item is a partition with partitionKey, partitionName and createdDate",
        response=response,
        expected="items {partitionKey: int, partitionName: string, createdDate: date-time}, each once",
        received="; ".join(problems[:4]),
    )
    return found


def _is_date_time(value: str) -> bool:
    # .NET writes up to 7 fractional digits, Python's parser takes at most 6.
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip()).replace("Z", "+00:00")
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def expect_listed(client: DicomwebClient, name: str, *, listed: bool, why: str) -> list[ListedPartition]:
    """The partition list does (or does not) name ``name``."""
    response = client.list_partitions()
    found = listed_partitions(response, why="the partitions are listed")
    names = [p.name for p in found]
    expect(
        (name in names) == listed,
        why,
        response=response,
        expected=f"{name} {'among' if listed else 'not among'} the partitions",
        received=", ".join(names[:10]) + (" ..." if len(names) > 10 else ""),
    )
    return found


# -- the partitionable routes (PART-03) -----------------------------------------------------------

Send = Callable[[DicomwebClient], DicomwebResponse]


@dataclass(frozen=True)
class PartitionedRoute:
    """One route that takes ``/partitions/{name}`` (PART-03), and a harmless request to it.

    The requests store and create nothing even on a target that ignores the partition segment:
    STOW sends zero parts, the worklist gets an empty dataset, the UIDs are fresh."""

    label: str
    send: Send
    creates: bool = False  # STOW and workitem create make an unknown partition (PART-06)


def _get(path: str, accept: str) -> Send:
    return lambda client: client.request("GET", path.format(**_uids()), headers={"Accept": accept})


def _post(path: str, content_type: str, body: bytes, method: str = "POST") -> Send:
    headers = {"Content-Type": content_type, "Accept": DICOM_JSON}
    return lambda client: client.request(method, path.format(**_uids()), headers=headers, content=body)


def _stow(path: str) -> Send:
    def send(client: DicomwebClient) -> DicomwebResponse:
        body, content_type = empty_multipart()
        headers = {"Content-Type": content_type, "Accept": DICOM_JSON}
        return client.request("POST", path.format(**_uids()), headers=headers, content=body)

    return send


def _uids() -> dict[str, str]:
    return {"study": new_uid(), "series": new_uid(), "instance": new_uid(), "workitem": new_uid()}


_INSTANCE = "studies/{study}/series/{series}/instances/{instance}"
_EMPTY_DATASET = b"[{}]"
FRAMES = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'

PARTITIONED_ROUTES: tuple[PartitionedRoute, ...] = (
    PartitionedRoute("STOW studies", _stow("studies"), creates=True),
    PartitionedRoute("STOW studies/{study}", _stow("studies/{study}"), creates=True),
    PartitionedRoute("WADO study", _get("studies/{study}", MULTIPART_DICOM_ANY)),
    PartitionedRoute("WADO series", _get("studies/{study}/series/{series}", MULTIPART_DICOM_ANY)),
    PartitionedRoute("WADO instance", _get(_INSTANCE, MULTIPART_DICOM_ANY)),
    PartitionedRoute("WADO study metadata", _get("studies/{study}/metadata", DICOM_JSON)),
    PartitionedRoute("WADO series metadata", _get("studies/{study}/series/{series}/metadata", DICOM_JSON)),
    PartitionedRoute("WADO instance metadata", _get(_INSTANCE + "/metadata", DICOM_JSON)),
    PartitionedRoute("WADO frames", _get(_INSTANCE + "/frames/1", FRAMES)),
    PartitionedRoute("WADO rendered", _get(_INSTANCE + "/rendered", "image/jpeg")),
    PartitionedRoute("QIDO studies", _get("studies?StudyInstanceUID={study}", DICOM_JSON)),
    PartitionedRoute("QIDO series", _get("series?StudyInstanceUID={study}", DICOM_JSON)),
    PartitionedRoute("QIDO instances", _get("instances?StudyInstanceUID={study}", DICOM_JSON)),
    PartitionedRoute("QIDO study series", _get("studies/{study}/series", DICOM_JSON)),
    PartitionedRoute("QIDO study instances", _get("studies/{study}/instances", DICOM_JSON)),
    PartitionedRoute("QIDO series instances", _get("studies/{study}/series/{series}/instances", DICOM_JSON)),
    PartitionedRoute("DELETE study", lambda c: c.delete_study(new_uid())),
    PartitionedRoute("DELETE series", lambda c: c.delete_series(new_uid(), new_uid())),
    PartitionedRoute("DELETE instance", lambda c: c.delete_instance(new_uid(), new_uid(), new_uid())),
    PartitionedRoute("UPS create", _post("workitems", DICOM_JSON, _EMPTY_DATASET), creates=True),
    PartitionedRoute("UPS search", _get("workitems?PatientID={study}", DICOM_JSON)),
    PartitionedRoute("UPS retrieve", _get("workitems/{workitem}", DICOM_JSON)),
    PartitionedRoute("UPS update", _post("workitems/{workitem}", DICOM_JSON, _EMPTY_DATASET)),
    PartitionedRoute("UPS change state", _post("workitems/{workitem}/state", DICOM_JSON, _EMPTY_DATASET, "PUT")),
    PartitionedRoute("UPS cancel request", _post("workitems/{workitem}/cancelrequest", DICOM_JSON, _EMPTY_DATASET)),
)


def route_applies(route: PartitionedRoute, profile: Profile) -> str | None:
    """Why ``route`` does not apply to the target (a capability it does not claim), or None."""
    for prefix, capability in (("UPS", "workitems"), ("DELETE", "delete"), ("WADO rendered", "rendered")):
        if route.label.startswith(prefix) and not profile.claims(capability):
            return f"not supported: profile {profile.name!r} does not claim capability {capability!r}"
    return None
