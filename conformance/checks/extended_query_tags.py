"""Extended query tags (DEQT): adding tags safely on a shared target, and reading their entries.

Tags are server-wide state: every user of a real target sees them, and every instance the target
holds is reindexed when one is added. The suite therefore adds only **private** tags in a block of
its own (a fresh private creator in an odd group no existing tag uses, PS3.5 7.8.1), which no
other data carries, and a ``TagLedger`` removes every tag it added when the test ends (after
waiting, bounded, for the reindex: a tag being added cannot be deleted, EQT-07). Tags it did not
add are never touched.
"""

from __future__ import annotations

import copy
import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.checks.http import expect, expect_schema, expect_status
from conformance.checks.operations import operation_reference, wait_for_operation
from conformance.client.client import DicomwebClient
from conformance.client.responses import DicomwebResponse
from conformance.core.errors import SuiteError
from conformance.core.instances import DicomFile
from conformance.testdata import RawElement, write_part10
from conformance.testdata.files import dicom_file

#: EQT-08: the largest page; the service allows at most 128 tags, so one page lists them all.
PAGE = 200


def member(obj: Mapping[str, Any], name: str) -> Any:
    """A property read case-insensitively (GEN-11: the service reads and may write either case)."""
    return next((value for key, value in obj.items() if key.lower() == name.lower()), None)


def same(value: Any, expected: str) -> bool:
    """Enum values compared case-insensitively: ``Ready`` (DEQT) and ``ready`` (SRC, GEN-11)."""
    return isinstance(value, str) and value.lower() == expected.lower()


def listed_tags(client: DicomwebClient, *, why: str) -> list[dict[str, Any]]:
    """``GET {v}/extendedquerytags?limit=200``: 200 with an array of valid entries (EQT-06, EQT-08)."""
    response = client.list_extended_query_tags([("limit", str(PAGE))])
    expect_status(response, 200, why=why)
    entries = response.json()
    expect(
        isinstance(entries, list),
        f"{why}: the list is a JSON array",
        response=response,
        expected="a JSON array",
        received=type(entries).__name__,
    )
    for entry in entries:
        expect_schema(response, "extended-query-tag", why=f"{why}: each entry is an extended query tag", body=entry)
    return list(entries)


def tag_entry(response: DicomwebResponse, *, why: str) -> dict[str, Any]:
    """A 200 answer holding one valid entry (EQT-06)."""
    expect_status(response, 200, why=why)
    entry = expect_schema(response, "extended-query-tag", why=f"{why}: the body is an extended query tag")
    assert isinstance(entry, dict)
    return entry


@dataclass(frozen=True, slots=True)
class PrivateBlock:
    """Private elements ``(gggg,10xx)`` reserved by ``creator`` at ``(gggg,0010)`` (PS3.5 7.8.1)."""

    group: int
    creator: str

    def tag(self, offset: int) -> int:
        return (self.group << 16) | 0x1000 | offset

    def path(self, offset: int) -> str:
        return f"{self.tag(offset):08X}"

    def entry(self, offset: int, vr: str, level: str = "Instance") -> dict[str, str]:
        """An add-request entry (EQT-01) for element ``offset`` of this block."""
        return {"path": self.path(offset), "vr": vr, "privateCreator": self.creator, "level": level}


def free_private_block(client: DicomwebClient, *, why: str) -> PrivateBlock:
    """A block in an odd group (0x4001..0x4FFF) no extended query tag of the target uses."""
    groups = {int(str(member(e, "path"))[:4], 16) for e in listed_tags(client, why=why) if member(e, "path")}
    rng = random.SystemRandom()
    for _ in range(20):
        group = rng.randrange(0x4001, 0x4FFF, 2)
        if group not in groups:
            return PrivateBlock(group, f"DWC EQT {uuid.uuid4().hex[:12].upper()}")
    raise SuiteError("no free private group for the suite's extended query tags")


def with_private_elements(file: DicomFile, block: PrivateBlock, values: Mapping[int, tuple[str, bytes]]) -> DicomFile:
    """``file`` with the block's creator and ``values`` (element offset -> (VR, value bytes)),
    written verbatim (an invalid IS such as ``InvalidISValue`` reaches the file as it is)."""
    if file.dataset is None:
        raise ValueError(f"{file.label} has no data set")
    ds = copy.deepcopy(file.dataset)
    creator = block.creator.encode("ascii")
    raw = [RawElement((block.group << 16) | 0x0010, "LO", creator + b" " * (len(creator) % 2))]
    for offset, (vr, value) in sorted(values.items()):
        raw.append(RawElement(block.tag(offset), vr, value + (b" " if len(value) % 2 else b"")))
    meta = ds.file_meta
    data = write_part10(ds, file_meta=meta, transfer_syntax=str(meta.TransferSyntaxUID), raw_elements=raw)
    return dicom_file(
        ds, data, label=f"{file.label} + private block {block.group:04X}", transfer_syntax=file.transfer_syntax
    )


@dataclass
class TagLedger:
    """The extended query tags a test added; ``remove_all`` (a finalizer) deletes them, and only
    them: a tag is deleted only while it still carries the private creator the test gave it."""

    client: DicomwebClient
    poll_timeout: float
    added: dict[str, str | None] = field(default_factory=dict)  # path -> private creator

    def add(self, entries: list[dict[str, str]], *, why: str) -> tuple[DicomwebResponse, str, str]:
        """Add ``entries`` (recorded for removal before the request is sent); the 202 answer,
        the operation id and href (EQT-02)."""
        self.record(entries)
        response = self.client.add_extended_query_tags(entries)
        operation_id, href = operation_reference(response, why=why)
        return response, operation_id, href

    def record(self, entries: list[dict[str, str]]) -> None:
        """Remember ``entries`` for removal (also requests that should be refused: a target that
        accepts one anyway must not keep the tag)."""
        for entry in entries:
            self.added.setdefault(str(entry.get("path")), entry.get("privateCreator"))

    def add_and_wait(self, entries: list[dict[str, str]], *, why: str) -> dict[str, Any]:
        """Add ``entries`` and wait (bounded) for their reindex; the finished operation's body."""
        _, _, href = self.add(entries, why=why)
        _, body = wait_for_operation(self.client, href, timeout=self.poll_timeout)
        return body

    def remove_all(self) -> None:
        problems = [problem for path, creator in self.added.items() if (problem := self._remove(path, creator))]
        self.added.clear()
        if problems:
            raise SuiteError("extended query tags the test added could not be removed: " + "; ".join(problems))

    def _remove(self, path: str, creator: str | None) -> str | None:
        found = self.client.get_extended_query_tag(path)
        if found.status in (400, 404):  # never added (the request was refused) or already removed
            return None
        entry = found.json() if found.status == 200 else None
        if not isinstance(entry, dict) or member(entry, "privateCreator") != creator:
            return None  # not the tag this test added: never touched
        deadline = time.monotonic() + self.poll_timeout
        while True:
            response = self.client.delete_extended_query_tag(path)
            if response.status in (204, 404):
                return None
            if time.monotonic() >= deadline:
                return f"{path}: DELETE answered {response.status}"
            time.sleep(0.1)  # a tag being added cannot be deleted yet (EQT-07)
