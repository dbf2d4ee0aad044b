"""What QIDO-RS can search, where, and how each attribute matches (QIDO-07, QIDO-11..17).

The six resources of PS3.18 Table 10.6.1-1 and the searchable-attribute matrix of the Azure
DICOM service's conformance statements (D1, D2; behaviour QIDO-07): study-level attributes on
the three "all" resources, series-level ones wherever a series is searched, instance-level
ones wherever an instance is. ``STANDARD_REQUIRED`` is the subset PS3.18 Table 10.6.1-5 makes
every origin server support, for targets that claim nothing beyond the standard.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from pydicom.datadict import tag_for_keyword


class Level(Enum):
    """The information-entity level a resource answers with, and attributes belong to."""

    STUDY = "study"
    SERIES = "series"
    INSTANCE = "instance"

    @property
    def uid_keyword(self) -> str:
        """The attribute that identifies an entity of this level."""
        return {Level.STUDY: "StudyInstanceUID", Level.SERIES: "SeriesInstanceUID", Level.INSTANCE: "SOPInstanceUID"}[
            self
        ]


class Resource(Enum):
    """The QIDO-RS resources (PS3.18 Table 10.6.1-1) with the path UIDs each takes."""

    ALL_STUDIES = "studies"
    ALL_SERIES = "series"
    ALL_INSTANCES = "instances"
    STUDY_SERIES = "studies/{study}/series"
    STUDY_INSTANCES = "studies/{study}/instances"
    STUDY_SERIES_INSTANCES = "studies/{study}/series/{series}/instances"

    @property
    def level(self) -> Level:
        if self is Resource.ALL_STUDIES:
            return Level.STUDY
        if self in (Resource.ALL_SERIES, Resource.STUDY_SERIES):
            return Level.SERIES
        return Level.INSTANCE

    @property
    def needs_study(self) -> bool:
        return "{study}" in self.value

    @property
    def needs_series(self) -> bool:
        return "{series}" in self.value


class MatchKind(Enum):
    """How a filter on an attribute is compared with stored values."""

    UID = "uid"  # literal, no wildcard or list matching (QIDO-16)
    PERSON_NAME = "pn"  # whole value, case- and accent-insensitive; fuzzy word prefixes (QIDO-13..15)
    STRING = "string"  # case-insensitive, accent-sensitive (QIDO-14)
    DATE = "date"  # single date or inclusive range with open ends (QIDO-12)
    MODALITIES = "modalities"  # any series of the study has the modality (QIDO-17)


@dataclass(frozen=True, slots=True)
class SearchableAttribute:
    keyword: str
    level: Level
    kind: MatchKind

    @property
    def tag(self) -> int:
        value = tag_for_keyword(self.keyword)
        assert value is not None, self.keyword
        return int(value)

    @property
    def key(self) -> str:
        """The 8-hex-digit DICOM JSON key (PS3.18 F.2)."""
        return f"{self.tag:08X}"

    @property
    def resources(self) -> frozenset[Resource]:
        """QIDO-07: where the attribute may be a filter."""
        return SEARCHABLE_ON[self.level]


SEARCHABLE_ON: dict[Level, frozenset[Resource]] = {
    Level.STUDY: frozenset({Resource.ALL_STUDIES, Resource.ALL_SERIES, Resource.ALL_INSTANCES}),
    Level.SERIES: frozenset(
        {Resource.ALL_SERIES, Resource.ALL_INSTANCES, Resource.STUDY_SERIES, Resource.STUDY_INSTANCES}
    ),
    Level.INSTANCE: frozenset({Resource.ALL_INSTANCES, Resource.STUDY_INSTANCES, Resource.STUDY_SERIES_INSTANCES}),
}

#: QIDO-07: the searchable attributes (extended query tags aside).
SEARCHABLE: tuple[SearchableAttribute, ...] = (
    SearchableAttribute("StudyInstanceUID", Level.STUDY, MatchKind.UID),
    SearchableAttribute("PatientName", Level.STUDY, MatchKind.PERSON_NAME),
    SearchableAttribute("PatientID", Level.STUDY, MatchKind.STRING),
    SearchableAttribute("PatientBirthDate", Level.STUDY, MatchKind.DATE),
    SearchableAttribute("AccessionNumber", Level.STUDY, MatchKind.STRING),
    SearchableAttribute("ReferringPhysicianName", Level.STUDY, MatchKind.PERSON_NAME),
    SearchableAttribute("StudyDate", Level.STUDY, MatchKind.DATE),
    SearchableAttribute("StudyDescription", Level.STUDY, MatchKind.STRING),
    SearchableAttribute("ModalitiesInStudy", Level.STUDY, MatchKind.MODALITIES),
    SearchableAttribute("SeriesInstanceUID", Level.SERIES, MatchKind.UID),
    SearchableAttribute("Modality", Level.SERIES, MatchKind.STRING),
    SearchableAttribute("PerformedProcedureStepStartDate", Level.SERIES, MatchKind.DATE),
    SearchableAttribute("ManufacturerModelName", Level.SERIES, MatchKind.STRING),
    SearchableAttribute("SOPInstanceUID", Level.INSTANCE, MatchKind.UID),
)
BY_KEYWORD = {attribute.keyword: attribute for attribute in SEARCHABLE}
BY_KEY = {attribute.key: attribute for attribute in SEARCHABLE}

#: PS3.18 Table 10.6.1-5: matching keys every origin server supports (those of QIDO-07 among them).
STANDARD_REQUIRED = frozenset(
    {
        "StudyInstanceUID",
        "PatientName",
        "PatientID",
        "AccessionNumber",
        "ReferringPhysicianName",
        "StudyDate",
        "ModalitiesInStudy",
        "SeriesInstanceUID",
        "Modality",
        "SOPInstanceUID",
    }
)

#: The attributes the model keeps per level; ModalitiesInStudy is computed from the series.
STUDY_KEYWORDS = tuple(a.keyword for a in SEARCHABLE if a.level is Level.STUDY and a.kind is not MatchKind.MODALITIES)
SERIES_KEYWORDS = tuple(a.keyword for a in SEARCHABLE if a.level is Level.SERIES)


def searchable(name: str) -> SearchableAttribute | None:
    """The searchable attribute named by a keyword (case-sensitive, GEN-05) or 8 hex digits."""
    if len(name) == 8 and all(c in "0123456789abcdefABCDEF" for c in name):
        return BY_KEY.get(name.upper())
    return BY_KEYWORD.get(name)
