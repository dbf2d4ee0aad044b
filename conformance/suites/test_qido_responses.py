"""QIDO-RS answers (PS3.18 10.6.3; behaviours QIDO-22..30): status and body, order and paging,
and which attributes each match carries per level and API version."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydicom import Dataset

from conformance.checks import expect, expect_header_absent, expect_status, expect_text_error
from conformance.checks.attribution import checking
from conformance.checks.search import expect_found, expect_keys, expect_some, keyword_of, send_query
from conformance.core.instances import DicomFile
from conformance.core.uids import new_uid
from conformance.oracle import Resource, SearchQuery, return_set
from conformance.oracle.returns import (
    INSTANCE_ALL,
    INSTANCE_V1,
    INSTANCE_V2,
    SERIES_ALL,
    SERIES_V1,
    SERIES_V2,
    STUDY_ALL,
    STUDY_V1,
    STUDY_V2,
)
from conformance.plugin import Dicomweb
from conformance.session import TargetSession
from conformance.suites._support import require_azure_compatible, uses_v1_rules
from conformance.suites._wado_qido_support import SharedData, shared_data, uids
from conformance.testdata import InstanceFactory


def _item(**values: object) -> list[Dataset]:
    item = Dataset()
    for keyword, value in values.items():
        setattr(item, keyword, value)
    return [item]


def rich_instance(factory: InstanceFactory, **kw: str) -> DicomFile:
    """A multi-frame instance with a value for every attribute of every default and "all" set
    of QIDO-25..27 that a stored file can hold."""
    attributes: dict[str, object] = {
        "TimezoneOffsetFromUTC": "+0100",
        "StudyDescription": "Return sets",
        "AnatomicRegionsInStudyCodeSequence": _item(
            CodeValue="T-A0100", CodingSchemeDesignator="SRT", CodeMeaning="Brain"
        ),
        "ProcedureCodeSequence": _item(CodeValue="P1", CodingSchemeDesignator="99DWC", CodeMeaning="Procedure"),
        "NameOfPhysiciansReadingStudy": "Reader^Rita",
        "AdmittingDiagnosesDescription": "Headache",
        "ReferencedStudySequence": _item(
            ReferencedSOPClassUID="1.2.840.10008.3.1.2.3.1", ReferencedSOPInstanceUID=factory.new_uid()
        ),
        "PatientAge": "044Y",
        "PatientSize": "1.80",
        "PatientWeight": "72.5",
        "Occupation": "Tester",
        "AdditionalPatientHistory": "None",
        "SeriesDescription": "Axial",
        "PerformedProcedureStepStartDate": "20240102",
        "PerformedProcedureStepStartTime": "120000",
        "RequestAttributesSequence": _item(ScheduledProcedureStepID="SPS1", RequestedProcedureID="RP1"),
        "ManufacturerModelName": "ScannerOne",
        "Laterality": "L",
        "SeriesDate": "20240102",
        "SeriesTime": "120000",
    }
    return factory.multiframe(frames=2, attributes=attributes, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def rich(dicomweb_session: TargetSession) -> Iterator[SharedData]:
    file = rich_instance(InstanceFactory())
    yield from shared_data(dicomweb_session, [[file]], file=file)


def _query(file: DicomFile, resource: Resource, *params: tuple[str, str]) -> SearchQuery:
    study, series, _ = uids(file)
    path_study = study if resource.needs_study else None
    path_series = series if resource.needs_series else None
    scope = () if resource.needs_study else (("StudyInstanceUID", study),)
    return SearchQuery(resource, path_study, path_series, (*scope, *params))


@pytest.mark.behavior("QIDO-22", "QIDO-29")
def test_matches_are_a_dicom_json_array(dicomweb: Dicomweb, rich: SharedData) -> None:
    """QIDO-22 (D1, D2) / QIDO-29 (E2E): matches come back 200 as a JSON array of DICOM JSON
    datasets, ``Content-Type: application/dicom+json``."""
    response = send_query(dicomweb.client, _query(rich["file"], Resource.ALL_STUDIES))
    expect_found(response, 200, "study", [str(rich["file"].study_uid)], why="the study is found")


@pytest.mark.behavior("QIDO-22")
def test_no_match_is_empty(dicomweb: Dicomweb) -> None:
    """QIDO-22 (D1, D2): no match gives 204 with no body (or, where the profile says so, 200 with
    an empty array)."""
    client, empty = dicomweb.client, dicomweb.profile.empty_search_status
    for level, response in (
        ("study", client.search_for_studies([("StudyInstanceUID", new_uid())])),
        ("series", client.search_for_series([("SeriesInstanceUID", new_uid())])),
        ("instance", client.search_for_instances([("SOPInstanceUID", new_uid())])),
    ):
        expect_found(response, empty, level, [], why=f"no {level} has a fresh UID")


@pytest.mark.behavior("QIDO-22")
def test_invalid_query_is_400_with_a_reason(dicomweb: Dicomweb) -> None:
    """QIDO-22 (D1, D2, E2E): an invalid query is 400 with a text reason."""
    response = dicomweb.client.search_for_studies([("StudyDate", "yesterday")])
    expect_status(response, 400, why="yesterday is not a date")
    if dicomweb.profile.azure_compatible:
        expect_text_error(response, why="the 400 answer says why")


@pytest.mark.behavior("QIDO-23")
def test_newest_first_and_stable_pages(dicomweb: Dicomweb) -> None:
    """QIDO-23 (D1, D2): results are ordered newest first, at every level; paging with ``limit``
    and ``offset`` walks that order without repeating or losing a match. (PS3.18 leaves the order
    to the server, so only Azure-compatible targets are held to it.)"""
    require_azure_compatible(dicomweb.profile, "newest-first ordering")
    factory = dicomweb.instances
    patient = factory.short_id("ORDER")
    studies: list[DicomFile] = []
    for _ in range(3):
        studies.append(factory.instance(patient_id=patient))
        expect_status(dicomweb.client.store_instances([studies[-1]]), 200, why="the study is stored")
    study, series, _ = uids(studies[0])
    extra = [factory.instance(study_uid=study, series_uid=series, patient_id=patient) for _ in range(2)]
    for file in extra:
        expect_status(dicomweb.client.store_instances([file]), 200, why="the instance is stored")
    empty = dicomweb.profile.empty_search_status
    newest = [str(f.study_uid) for f in reversed(studies)]
    response = dicomweb.client.search_for_studies([("PatientID", patient)])
    expect_found(response, empty, "study", newest, ordered=True, why="studies newest first")
    in_study = [str(f.sop_instance_uid) for f in reversed([studies[0], *extra])]
    response = dicomweb.client.search_for_instances(study=study)
    expect_found(response, empty, "instance", in_study, ordered=True, why="instances newest first")
    pages = []
    for offset in range(3):
        page = dicomweb.client.search_for_studies([("PatientID", patient), ("limit", "1"), ("offset", str(offset))])
        pages += [str((o.get("0020000D", {}).get("Value") or [""])[0]) for o in expect_some(page, why="a page")]
    expect(pages == newest, "pages of one walk the same order", expected=", ".join(newest), received=", ".join(pages))


RESOURCES = list(Resource)
#: The behaviour whose list names an attribute: QIDO-25 study, QIDO-26 series, QIDO-27 instance.
_SET_BEHAVIOR = (
    (STUDY_ALL | STUDY_V1 | STUDY_V2, "QIDO-25"),
    (SERIES_ALL | SERIES_V1 | SERIES_V2, "QIDO-26"),
    (INSTANCE_ALL | INSTANCE_V1 | INSTANCE_V2, "QIDO-27"),
)


def _set_behavior(objects: list[dict[str, object]], required: frozenset[str], allowed: frozenset[str]) -> str:
    """The behaviour a wrong attribute set is about: the level list naming the first attribute
    that is missing or unexpected (QIDO-25..27), else the composition rule (QIDO-24)."""
    for obj in objects:
        keywords = {keyword_of(k) for k in obj}
        for keyword in sorted((required - keywords) | (keywords - allowed)):
            if keyword in ("StudyInstanceUID", "SeriesInstanceUID"):
                return "QIDO-24"  # path UIDs and higher levels: how the sets are combined
            for names, behavior in _SET_BEHAVIOR:
                if keyword in names:
                    return behavior
    return "QIDO-24"


@pytest.mark.behavior("QIDO-24", "QIDO-25", "QIDO-26", "QIDO-27")
@pytest.mark.parametrize("include_all", [False, True], ids=["defaults", "all"])
@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.name.lower())
def test_returned_attributes(dicomweb: Dicomweb, rich: SharedData, resource: Resource, include_all: bool) -> None:
    """QIDO-24 (D1, D2): each match carries its level's set, the sets of the levels above it
    (all series: study; all instances: study and series; study's instances: series), the path
    UIDs and the filters; QIDO-25..27: the sets themselves, per API version (v2's are smaller,
    VER-07), or the "all" sets with ``includefield=all``. Exactly those attributes: nothing
    documented is missing, nothing else is there (InstanceAvailability may be, "if known")."""
    v1 = uses_v1_rules(dicomweb.profile)
    file = rich["file"]
    params = (("includefield", "all"),) if include_all else ()
    query = _query(file, resource, *params)
    response = send_query(dicomweb.client, query)
    objects = expect_some(response, why="the rich instance is found")
    filters = frozenset(name for name, _ in query.params if name != "includefield")
    expected = return_set(resource, v1=v1, include_all=include_all, filters=filters)
    form = "includefield=all" if include_all else "defaults"
    with checking(_set_behavior(objects, expected.required, expected.allowed)):
        expect_keys(
            response,
            objects,
            required=expected.required,
            allowed=expected.allowed,
            why=f"/{resource.value}, {form}, API {dicomweb.profile.api_version}",
        )


@pytest.mark.behavior("QIDO-24")
def test_filters_and_includefield_come_back(dicomweb: Dicomweb, rich: SharedData) -> None:
    """QIDO-24 (D1, D2): an attribute used as a filter, or named in includefield, is returned even
    when it is not in the default set; NumberOfSeriesRelatedInstances may be requested for
    series."""
    file = rich["file"]
    query = _query(
        file,
        Resource.ALL_SERIES,
        ("ManufacturerModelName", "ScannerOne"),
        ("includefield", "SeriesDate"),
        ("includefield", "NumberOfSeriesRelatedInstances"),
    )
    response = send_query(dicomweb.client, query)
    objects = expect_some(response, why="the series is found")
    wanted = {"ManufacturerModelName", "SeriesDate", "NumberOfSeriesRelatedInstances", "StudyInstanceUID"}
    expect_keys(response, objects, required=wanted, why="filters and included fields come back")
    count = (objects[0].get("00201209", {}).get("Value") or [None])[0]
    expect(
        count is not None and int(count) == 1,
        "the series has 1 instance",
        response=response,
        expected="1",
        received=repr(count),
    )


@pytest.mark.behavior("QIDO-28", "QIDO-29")
def test_no_warning_or_error_attribute_headers(dicomweb: Dicomweb, rich: SharedData) -> None:
    """QIDO-29 (SRC): QIDO never sets a Warning header, even when ``limit`` cuts the matches;
    QIDO-28 (DEQT): ``erroneous-dicom-attributes`` lists erroneous extended query tags used as
    filters, so without one it is absent."""
    file = rich["file"]
    for query in (_query(file, Resource.ALL_STUDIES), _query(file, Resource.STUDY_INSTANCES, ("limit", "1"))):
        response = send_query(dicomweb.client, query)
        expect_some(response, why="the rich instance is found")
        expect_header_absent(response, "erroneous-dicom-attributes", why="no erroneous extended query tag is used")
        if dicomweb.profile.azure_compatible:
            with checking("QIDO-29"):
                expect_header_absent(response, "warning", why="QIDO answers carry no Warning header")


@pytest.mark.behavior("QIDO-30")
def test_path_uids(dicomweb: Dicomweb, rich: SharedData) -> None:
    """QIDO-30 (SRC): an invalid UID in the path of a study-scoped search is 400; a valid UID of
    a study that does not exist is just a filter that matches nothing (204)."""
    require_azure_compatible(dicomweb.profile, "400 for invalid path UIDs of a search")
    study, series, _ = uids(rich["file"])
    client = dicomweb.client
    for label, response in (
        ("study's series", client.search_for_series(study="1.2.3_4")),
        ("study's instances", client.search_for_instances(study="1.2.abc")),
        ("series' instances", client.search_for_instances(study=study, series="1.2.3_4")),
    ):
        expect_status(response, 400, why=f"the {label} path holds an invalid UID")
    empty = dicomweb.profile.empty_search_status
    expect_found(client.search_for_series(study=new_uid()), empty, "series", [], why="an unknown study has no series")
    expect_found(
        client.search_for_instances(study=study, series=new_uid()), empty, "instance", [], why="an unknown series"
    )
