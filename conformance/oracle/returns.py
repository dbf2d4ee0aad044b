"""Which attributes each QIDO-RS match carries (QIDO-24..27; PS3.18 10.6.3.3).

Every match holds its level's default set (v1 and v2 differ, VER-07) or, with
``includefield=all``, the level's "all" set; plus the sets of the levels above it for the
"all series" and "all instances" resources, the series set for a study's instances; plus the
UIDs of the path, the attributes used as filters and the ``includefield`` attributes. An
attribute the stored data does not have is simply absent (QIDO-27).
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.oracle.attributes import Level, Resource

STUDY_V1 = frozenset(
    {
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
    }
)
STUDY_V2 = frozenset(
    {
        "StudyDate",
        "AccessionNumber",
        "StudyDescription",
        "ReferringPhysicianName",
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "StudyInstanceUID",
    }
)
STUDY_ALL = STUDY_V1 | {
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
}
SERIES_V1 = frozenset(
    {
        "SpecificCharacterSet",
        "Modality",
        "TimezoneOffsetFromUTC",
        "SeriesDescription",
        "SeriesInstanceUID",
        "PerformedProcedureStepStartDate",
        "PerformedProcedureStepStartTime",
        "RequestAttributesSequence",
    }
)
SERIES_V2 = frozenset({"SeriesInstanceUID", "Modality", "PerformedProcedureStepStartDate", "ManufacturerModelName"})
SERIES_ALL = SERIES_V1 | {"SeriesNumber", "Laterality", "SeriesDate", "SeriesTime"}
INSTANCE_V1 = frozenset(
    {
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
    }
)
INSTANCE_V2 = frozenset({"SOPInstanceUID"})
INSTANCE_ALL = INSTANCE_V1

#: Attributes the service fills in itself "if known" (PS3.18 Table 10.6.3-3): may be absent.
SERVER_KNOWN = frozenset({"InstanceAvailability"})
#: v2's series default ManufacturerModelName is not in the documented "all" list; whether
#: ``includefield=all`` adds it is not said, so it may or may not be there.
UNSAID_WITH_ALL = frozenset({"ManufacturerModelName"})


def level_set(level: Level, *, v1: bool, include_all: bool) -> frozenset[str]:
    """QIDO-25..27: the default (or "all") set of one level."""
    if include_all:
        return {Level.STUDY: STUDY_ALL, Level.SERIES: SERIES_ALL, Level.INSTANCE: INSTANCE_ALL}[level]
    if v1:
        return {Level.STUDY: STUDY_V1, Level.SERIES: SERIES_V1, Level.INSTANCE: INSTANCE_V1}[level]
    return {Level.STUDY: STUDY_V2, Level.SERIES: SERIES_V2, Level.INSTANCE: INSTANCE_V2}[level]


#: QIDO-24: the levels whose sets each resource returns, and the UIDs its path carries.
_LEVELS = {
    Resource.ALL_STUDIES: (Level.STUDY,),
    Resource.ALL_SERIES: (Level.SERIES, Level.STUDY),
    Resource.ALL_INSTANCES: (Level.INSTANCE, Level.SERIES, Level.STUDY),
    Resource.STUDY_SERIES: (Level.SERIES,),
    Resource.STUDY_INSTANCES: (Level.INSTANCE, Level.SERIES),
    Resource.STUDY_SERIES_INSTANCES: (Level.INSTANCE,),
}
_PATH_UIDS = {
    Resource.ALL_STUDIES: (),
    Resource.ALL_SERIES: (),
    Resource.ALL_INSTANCES: (),
    Resource.STUDY_SERIES: ("StudyInstanceUID",),
    Resource.STUDY_INSTANCES: ("StudyInstanceUID",),
    Resource.STUDY_SERIES_INSTANCES: ("StudyInstanceUID", "SeriesInstanceUID"),
}


@dataclass(frozen=True, slots=True)
class ReturnSet:
    """``required``: must be there when the stored data has a value; ``optional``: may be."""

    required: frozenset[str]
    optional: frozenset[str]

    @property
    def allowed(self) -> frozenset[str]:
        return self.required | self.optional


def return_set(
    resource: Resource,
    *,
    v1: bool,
    include_all: bool = False,
    includes: frozenset[str] = frozenset(),
    filters: frozenset[str] = frozenset(),
) -> ReturnSet:
    """QIDO-24: what each match of ``resource`` carries (keywords)."""
    wanted: set[str] = set()
    for level in _LEVELS[resource]:
        wanted |= level_set(level, v1=v1, include_all=include_all)
    wanted |= set(_PATH_UIDS[resource]) | includes | filters
    optional = (wanted & SERVER_KNOWN) - filters - includes
    if include_all and Level.SERIES in _LEVELS[resource]:
        optional |= UNSAID_WITH_ALL - wanted
    return ReturnSet(required=frozenset(wanted - optional), optional=frozenset(optional))
