"""Fixtures shared by the extended query tag tests: the test's own tags and private block."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.checks import expect
from conformance.checks.extended_query_tags import PrivateBlock, TagLedger, free_private_block
from conformance.checks.operations import succeeded_status
from conformance.plugin import Dicomweb


@pytest.fixture
def tags(dicomweb: Dicomweb) -> Iterator[TagLedger]:
    """The tags this test adds, deleted when it ends (before its instances are)."""
    ledger = TagLedger(dicomweb.client, dicomweb.settings.poll_timeout)
    yield ledger
    ledger.remove_all()


@pytest.fixture
def block(dicomweb: Dicomweb) -> PrivateBlock:
    """A private block (group and creator) no extended query tag of the target uses."""
    return free_private_block(dicomweb.client, why="the extended query tags are listed")


def added(dicomweb: Dicomweb, tags: TagLedger, entries: list[dict[str, str]], *, why: str) -> None:
    """Add ``entries`` and wait (bounded) for their reindex to succeed (EQT-02)."""
    body = tags.add_and_wait(entries, why=why)
    wanted = succeeded_status(dicomweb.profile, dicomweb.profile.api_version)
    expect(
        str(body.get("status", "")).lower() in wanted,
        f"{why}: the reindex operation succeeds",
        expected=f"status {' or '.join(sorted(wanted))}",
        received=f"status {body.get('status')!r}, results {body.get('results')!r}",
    )
