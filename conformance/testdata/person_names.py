"""Person names with several components, accents and ideographic / phonetic groups.

The names live in ``fixtures/person-names.json``; each comes with the Specific Character Set
(0008,0005) that encodes it (PS3.5 6.1.2.5). A PN value is up to three component groups separated
by ``=`` - alphabetic, ideographic, phonetic (PS3.5 6.2.1) - each of up to five components
separated by ``^``; PS3.18 F.2.2 maps the groups to the ``Alphabetic``, ``Ideographic`` and
``Phonetic`` members of a DICOM JSON PN value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from conformance.testdata.fixture_data import load_json, require

PERSON_NAMES_FIXTURE = "person-names.json"

_GROUP_NAMES = ("Alphabetic", "Ideographic", "Phonetic")


@dataclass(frozen=True, slots=True)
class PersonNameSample:
    """One name of the fixture. An empty ``specific_character_set`` means the attribute is absent."""

    id: str
    value: str
    specific_character_set: tuple[str, ...]
    note: str

    @property
    def groups(self) -> dict[str, str]:
        """The non-empty component groups by their DICOM JSON name (PS3.18 F.2.2)."""
        return {name: group for name, group in zip(_GROUP_NAMES, self.value.split("="), strict=False) if group}


def _sample(item: object) -> PersonNameSample:
    source = f"fixtures/{PERSON_NAMES_FIXTURE}"
    if not isinstance(item, Mapping):
        raise ValueError(f"{source}: a name is an object, not {item!r}")
    charset = require(item, "specific_character_set", list, source)
    if not all(isinstance(term, str) for term in charset):
        raise ValueError(f"{source}: specific_character_set holds strings: {charset!r}")
    value = require(item, "value", str, source)
    if value.count("=") > 2:
        raise ValueError(f"{source}: {value!r} has more than three component groups (PS3.5 6.2.1)")
    return PersonNameSample(
        id=require(item, "id", str, source),
        value=value,
        specific_character_set=tuple(str(term) for term in charset),
        note=require(item, "note", str, source),
    )


@cache
def person_names() -> tuple[PersonNameSample, ...]:
    """All names of ``fixtures/person-names.json``, in file order."""
    names = require(load_json(PERSON_NAMES_FIXTURE), "names", list, f"fixtures/{PERSON_NAMES_FIXTURE}")
    samples = tuple(_sample(item) for item in names)
    ids = [sample.id for sample in samples]
    if len(set(ids)) != len(ids):
        raise ValueError(f"fixtures/{PERSON_NAMES_FIXTURE}: duplicate ids")
    return samples


def person_name_sample(name_id: str) -> PersonNameSample:
    """The name with id ``name_id`` (``KeyError`` if there is none)."""
    for sample in person_names():
        if sample.id == name_id:
            return sample
    raise KeyError(f"no person name {name_id!r} in fixtures/{PERSON_NAMES_FIXTURE}")
