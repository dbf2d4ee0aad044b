"""The behaviour registry: every behaviour the suite checks, keyed by its ID.

The catalogue numbers each documented behaviour of the Azure DICOM service and of the DICOM
standard it implements (``STOW-07``, ``UPS-21``, ...). Each test carries one or more IDs with
``@pytest.mark.behavior(...)``; reports are keyed by them. ``AMB-xx`` entries are not
behaviours but recorded disagreements between sources; a profile says which side a target
follows.

Requirement levels:

``documented``
    Stated in the service's published documents (conformance statements, concept pages,
    OpenAPI files) or the DICOM standard.
``azure-compatible``
    Known only from the reference implementation's code or its end-to-end tests. A profile
    that does not claim Azure compatibility skips these.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources

from conformance.core.errors import UnknownBehaviorError

GROUPS: dict[str, str] = {
    "GEN": "Cross-cutting",
    "STOW": "STOW-RS (store)",
    "WADO": "WADO-RS (retrieve)",
    "QIDO": "QIDO-RS (search)",
    "DEL": "Delete",
    "UPS": "UPS-RS worklist",
    "PART": "Data partitions",
    "BULK": "Bulk update",
    "OP": "Operations",
    "CF": "Change feed",
    "EQT": "Extended query tags",
    "EXP": "Export",
    "VER": "API versions",
    "AMB": "Ambiguities between sources",
}


class RequirementLevel(StrEnum):
    DOCUMENTED = "documented"
    AZURE_COMPATIBLE = "azure-compatible"
    AMBIGUITY = "ambiguity"


@dataclass(frozen=True, slots=True)
class Behavior:
    id: str
    group: str
    title: str
    level: RequirementLevel
    sources: tuple[str, ...]
    statement: str

    @property
    def source(self) -> str:
        """Source tags as printed in failures, e.g. ``D1, D2, E2E``."""
        return ", ".join(self.sources) or "catalogue"

    @property
    def is_ambiguity(self) -> bool:
        return self.level is RequirementLevel.AMBIGUITY


class BehaviorRegistry:
    """Read-only lookup of behaviours by ID."""

    def __init__(self, behaviors: list[Behavior]) -> None:
        self._by_id = {b.id: b for b in behaviors}

    def __contains__(self, behavior_id: object) -> bool:
        return behavior_id in self._by_id

    def __iter__(self) -> Iterator[Behavior]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, behavior_id: str) -> Behavior:
        try:
            return self._by_id[behavior_id]
        except KeyError:
            raise UnknownBehaviorError(f"unknown behaviour ID {behavior_id!r}: not in the behaviour registry") from None

    def in_group(self, group: str) -> list[Behavior]:
        return [b for b in self if b.group == group]

    def checkable(self) -> list[Behavior]:
        """Every behaviour a test must carry (the AMB entries excluded)."""
        return [b for b in self if not b.is_ambiguity]


@cache
def load_registry() -> BehaviorRegistry:
    """The registry shipped with the package (``conformance/behaviors.json``)."""
    raw = json.loads(resources.files("conformance").joinpath("behaviors.json").read_text("utf-8"))
    return BehaviorRegistry(
        [
            Behavior(
                id=item["id"],
                group=item["group"],
                title=item["title"],
                level=RequirementLevel(item["level"]),
                sources=tuple(item["sources"]),
                statement=item["statement"],
            )
            for item in raw["behaviors"]
        ]
    )
