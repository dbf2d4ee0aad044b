"""The behaviour registry shipped with the package."""

from __future__ import annotations

import re

import pytest

from conformance.core.errors import UnknownBehaviorError
from conformance.registry import GROUPS, RequirementLevel, load_registry


def test_every_group_and_id_is_well_formed() -> None:
    registry = load_registry()
    assert len(registry) == 232
    for behavior in registry:
        assert re.fullmatch(r"[A-Z]+-\d{2}", behavior.id)
        assert behavior.group in GROUPS
        assert behavior.id.startswith(behavior.group + "-")
        assert behavior.title
        assert len(behavior.title) <= 90
        assert behavior.statement


def test_levels() -> None:
    registry = load_registry()
    assert registry.get("STOW-07").level is RequirementLevel.DOCUMENTED
    assert registry.get("STOW-03").level is RequirementLevel.AZURE_COMPATIBLE
    assert registry.get("AMB-01").is_ambiguity
    assert all(not b.is_ambiguity for b in registry.checkable())
    assert len(registry.in_group("STOW")) == 27


def test_unknown_id_is_a_suite_error() -> None:
    with pytest.raises(UnknownBehaviorError, match="STOW-99"):
        load_registry().get("STOW-99")
