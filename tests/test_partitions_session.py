"""The run's data partition (``TargetSession``): a fresh partition per run when the profile
claims partitions, created by one STOW whose instance is deleted at once; a URL that names a
partition is kept; a target that refuses is a configuration error, reported once."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from conformance.core.errors import ConfigurationError
from conformance.profile import Profile
from conformance.session import TargetSession
from conformance.settings import Settings
from tests.conftest import FakeTarget, Handler

Answer = tuple[int, dict[str, str], bytes]


def partition_target(stow: Answer = (200, {"Content-Type": "application/dicom+json"}, b"{}")) -> Handler:
    def handler(method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        if method == "POST":
            return stow
        if method == "DELETE":
            return 204, {}, b""
        return 400, {"Content-Type": "text/plain"}, b"Specified PartitionName does not exist."

    return handler


def open_session(target: FakeTarget, profile: str, url: str | None = None) -> TargetSession:
    session = TargetSession(Settings(url=url or target.url, profile=Profile.load(profile)))
    session.open()
    return session


def test_a_fresh_partition_per_run(fake_target: Callable[[Handler], FakeTarget]) -> None:
    target = fake_target(partition_target())
    sessions = [open_session(target, "reference-partitions") for _ in range(2)]
    try:
        names = [s.client.partition for s in sessions]
        assert all(n is not None and re.fullmatch(r"dwc-[0-9a-f]{12}", n) for n in names), names
        assert names[0] != names[1]
        first = sessions[0].base_url
        assert first == f"{target.url}/partitions/{names[0]}"
        requests = [(m, p.split("?")[0]) for m, p, _ in target.requests if names[0] in p]
        assert [m for m, _ in requests] == ["GET", "POST", "DELETE"]  # probe, create, delete the instance
        assert requests[1][1] == f"/v2/partitions/{names[0]}/studies"
        assert requests[2][1].startswith(f"/v2/partitions/{names[0]}/studies/2.25.")
        assert sessions[0].cleanup.deleted
        assert not sessions[0].cleanup.problems
        assert len(sessions[0].ledger) == 0
    finally:
        for session in sessions:
            session.close()


def test_a_url_naming_a_partition_is_kept(fake_target: Callable[[Handler], FakeTarget]) -> None:
    target = fake_target(partition_target())
    session = open_session(target, "reference-partitions", url=f"{target.url}/partitions/mine")
    try:
        assert session.base_url == f"{target.url}/partitions/mine"
        assert session.client.partition == "mine"
    finally:
        session.close()


def test_without_partitions_nothing_is_stored(fake_target: Callable[[Handler], FakeTarget]) -> None:
    target = fake_target(partition_target())
    session = open_session(target, "reference")
    try:
        assert session.base_url == target.url
        assert [m for m, _, _ in target.requests] == ["GET"]
    finally:
        session.close()


def test_a_target_without_partitions_is_a_configuration_error(fake_target: Callable[[Handler], FakeTarget]) -> None:
    refused = (400, {"Content-Type": "text/plain"}, b"Data partitions feature is disabled.")
    target = fake_target(partition_target(stow=refused))
    session = TargetSession(Settings(url=target.url, profile=Profile.load("reference-partitions")))
    try:
        with pytest.raises(
            ConfigurationError, match="claims data partitions.*400: Data partitions feature is disabled"
        ):
            session.open()
    finally:
        session.close()
