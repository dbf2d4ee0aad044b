"""The attribute catalogue: what is indexed, searchable where, and returned by default.

Sources: QIDO-07 (searchable matrix), QIDO-24..27 (return sets per level and version),
STOW-06 (required attributes), STOW-25 / VER-03 (v1 validates indexed attributes).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from pydicom.datadict import tag_for_keyword


def tag(keyword: str) -> int:
    """The tag of a dictionary keyword; fails loudly on a typo at import time."""
    value = tag_for_keyword(keyword)
    if value is None:
        raise KeyError(keyword)
    return int(value)


def tags(*keywords: str) -> tuple[int, ...]:
    return tuple(tag(k) for k in keywords)


def json_key(value: int) -> str:
    """DICOM JSON key of a tag: 8 upper-case hex digits (PS3.18 F.2.1)."""
    return f"{value:08X}"


SPECIFIC_CHARACTER_SET = tag("SpecificCharacterSet")
STUDY_INSTANCE_UID = tag("StudyInstanceUID")
SERIES_INSTANCE_UID = tag("SeriesInstanceUID")
SOP_INSTANCE_UID = tag("SOPInstanceUID")
SOP_CLASS_UID = tag("SOPClassUID")
PATIENT_ID = tag("PatientID")
PATIENT_NAME = tag("PatientName")
MODALITY = tag("Modality")
MODALITIES_IN_STUDY = tag("ModalitiesInStudy")
NUMBER_OF_STUDY_RELATED_INSTANCES = tag("NumberOfStudyRelatedInstances")
NUMBER_OF_SERIES_RELATED_INSTANCES = tag("NumberOfSeriesRelatedInstances")
NUMBER_OF_FRAMES = tag("NumberOfFrames")
TIMEZONE_OFFSET_FROM_UTC = tag("TimezoneOffsetFromUTC")
PIXEL_DATA = tag("PixelData")

# STOW-06: the five required attributes; the three UIDs plus SOP Class UID must be valid UIDs.
REQUIRED_UIDS = (STUDY_INSTANCE_UID, SERIES_INSTANCE_UID, SOP_INSTANCE_UID, SOP_CLASS_UID)
REQUIRED = (*REQUIRED_UIDS, PATIENT_ID)


class Level(Enum):
    """The level an attribute belongs to in the index."""

    STUDY = "study"
    SERIES = "series"
    INSTANCE = "instance"


class MatchKind(Enum):
    """How a filter on an indexed attribute matches (QIDO-11..17)."""

    UID = "uid"
    PERSON_NAME = "pn"
    STRING = "string"
    DATE = "date"
    MODALITIES = "modalities"


class Resource(Enum):
    """The six QIDO resources of behaviors.md section 4."""

    ALL_STUDIES = "all studies"
    ALL_SERIES = "all series"
    ALL_INSTANCES = "all instances"
    STUDY_SERIES = "study's series"
    STUDY_INSTANCES = "study's instances"
    STUDY_SERIES_INSTANCES = "study series' instances"

    @property
    def level(self) -> Level:
        if self in (Resource.ALL_STUDIES,):
            return Level.STUDY
        if self in (Resource.ALL_SERIES, Resource.STUDY_SERIES):
            return Level.SERIES
        return Level.INSTANCE


@dataclass(frozen=True, slots=True)
class IndexedAttribute:
    """An attribute kept in an index column (``column`` None: computed from other rows)."""

    tag: int
    keyword: str
    level: Level
    column: str | None
    kind: MatchKind
    searchable_on: frozenset[Resource]


_STUDY_SEARCH = frozenset({Resource.ALL_STUDIES, Resource.ALL_SERIES, Resource.ALL_INSTANCES})
_SERIES_SEARCH = frozenset(
    {Resource.ALL_SERIES, Resource.ALL_INSTANCES, Resource.STUDY_SERIES, Resource.STUDY_INSTANCES}
)
_INSTANCE_SEARCH = frozenset({Resource.ALL_INSTANCES, Resource.STUDY_INSTANCES, Resource.STUDY_SERIES_INSTANCES})


def _indexed(keyword: str, level: Level, column: str | None, kind: MatchKind) -> IndexedAttribute:
    searchable = {Level.STUDY: _STUDY_SEARCH, Level.SERIES: _SERIES_SEARCH, Level.INSTANCE: _INSTANCE_SEARCH}
    return IndexedAttribute(tag(keyword), keyword, level, column, kind, searchable[level])


# QIDO-07: the searchable attributes and the index column that serves each.
INDEXED: tuple[IndexedAttribute, ...] = (
    _indexed("StudyInstanceUID", Level.STUDY, "study_uid", MatchKind.UID),
    _indexed("PatientName", Level.STUDY, "patient_name", MatchKind.PERSON_NAME),
    _indexed("PatientID", Level.STUDY, "patient_id", MatchKind.STRING),
    _indexed("PatientBirthDate", Level.STUDY, "patient_birth_date", MatchKind.DATE),
    _indexed("AccessionNumber", Level.STUDY, "accession_number", MatchKind.STRING),
    _indexed("ReferringPhysicianName", Level.STUDY, "referring_physician_name", MatchKind.PERSON_NAME),
    _indexed("StudyDate", Level.STUDY, "study_date", MatchKind.DATE),
    _indexed("StudyDescription", Level.STUDY, "study_description", MatchKind.STRING),
    _indexed("ModalitiesInStudy", Level.STUDY, None, MatchKind.MODALITIES),
    _indexed("SeriesInstanceUID", Level.SERIES, "series_uid", MatchKind.UID),
    _indexed("Modality", Level.SERIES, "modality", MatchKind.STRING),
    _indexed("PerformedProcedureStepStartDate", Level.SERIES, "pps_start_date", MatchKind.DATE),
    _indexed("ManufacturerModelName", Level.SERIES, "manufacturer_model_name", MatchKind.STRING),
    _indexed("SOPInstanceUID", Level.INSTANCE, "sop_uid", MatchKind.UID),
)
INDEXED_BY_TAG = {attribute.tag: attribute for attribute in INDEXED}
# Attributes with a value in a stored file that lands in the index (v1 validates all of them).
STORED_INDEXED_TAGS = frozenset(a.tag for a in INDEXED if a.column is not None)
INDEX_COLUMNS = {level: tuple(a for a in INDEXED if a.level is level and a.column) for level in Level}

# QIDO-25..27: return sets.
STUDY_V1_DEFAULT = tags(
    "SpecificCharacterSet",
    "StudyDate",
    "StudyTime",
    "AccessionNumber",
    "InstanceAvailability",
    "ReferringPhysicianName",
    "TimezoneOffsetFromUTC",
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyID",
    "StudyInstanceUID",
)
STUDY_V2_DEFAULT = tags(
    "StudyDate",
    "AccessionNumber",
    "StudyDescription",
    "ReferringPhysicianName",
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "StudyInstanceUID",
)
STUDY_ALL = STUDY_V1_DEFAULT + tags(
    "StudyDescription",
    "AnatomicRegionsInStudyCodeSequence",
    "ProcedureCodeSequence",
    "NameOfPhysiciansReadingStudy",
    "AdmittingDiagnosesDescription",
    "ReferencedStudySequence",
    "PatientAge",
    "PatientSize",
    "PatientWeight",
    "Occupation",
    "AdditionalPatientHistory",
)
SERIES_V1_DEFAULT = tags(
    "SpecificCharacterSet",
    "Modality",
    "TimezoneOffsetFromUTC",
    "SeriesDescription",
    "SeriesInstanceUID",
    "PerformedProcedureStepStartDate",
    "PerformedProcedureStepStartTime",
    "RequestAttributesSequence",
)
SERIES_V2_DEFAULT = tags("SeriesInstanceUID", "Modality", "PerformedProcedureStepStartDate", "ManufacturerModelName")
SERIES_ALL = SERIES_V1_DEFAULT + tags("SeriesNumber", "Laterality", "SeriesDate", "SeriesTime")
INSTANCE_V1_DEFAULT = tags(
    "SpecificCharacterSet",
    "SOPClassUID",
    "SOPInstanceUID",
    "InstanceAvailability",
    "TimezoneOffsetFromUTC",
    "InstanceNumber",
    "Rows",
    "Columns",
    "BitsAllocated",
    "NumberOfFrames",
)
INSTANCE_V2_DEFAULT = tags("SOPInstanceUID")
INSTANCE_ALL = INSTANCE_V1_DEFAULT

# Attributes kept per study / series row, merged from the instances stored (QIDO-19).
STUDY_ROW_TAGS = frozenset(STUDY_ALL) | frozenset(STUDY_V2_DEFAULT)
SERIES_ROW_TAGS = frozenset(SERIES_ALL) | frozenset(SERIES_V2_DEFAULT)
# Computed attributes (QIDO-17, QIDO-24).
COMPUTED_STUDY = frozenset({MODALITIES_IN_STUDY, NUMBER_OF_STUDY_RELATED_INSTANCES})
COMPUTED_SERIES = frozenset({NUMBER_OF_SERIES_RELATED_INSTANCES})


def level_of(value: int) -> Level:
    """Which row a returned attribute is read from."""
    if value in STUDY_ROW_TAGS or value in COMPUTED_STUDY:
        return Level.STUDY
    if value in SERIES_ROW_TAGS or value in COMPUTED_SERIES:
        return Level.SERIES
    return Level.INSTANCE
