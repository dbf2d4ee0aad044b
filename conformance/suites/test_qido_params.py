"""QIDO-RS query parameters (PS3.18 8.3.4; behaviours QIDO-01..10).

Filters given once and by keyword or tag, ``includefield`` in its three forms, ``limit`` and
``offset`` bounds, ``fuzzymatching`` values, parameter name case, attributes that are not
searchable where they are used, and empty values. The module stores the fixed search corpus.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.checks import expect, expect_status, expect_text_error
from conformance.checks.search import expect_found, expect_keys, expect_some, send_query
from conformance.client.responses import JsonDatasetsResponse
from conformance.oracle import Resource, SearchQuery, level_set
from conformance.plugin import Dicomweb
from conformance.session import TargetSession
from conformance.suites._support import require_azure_compatible
from conformance.suites._wado_qido_support import SearchData, search_data, uids
from conformance.testdata import InstanceFactory
from conformance.testdata.studies_for_search import SEARCH_CORPUS, build_corpus


@pytest.fixture(scope="module")
def corpus(dicomweb_session: TargetSession) -> Iterator[SearchData]:
    yield from search_data(dicomweb_session, build_corpus(InstanceFactory(), SEARCH_CORPUS))


def _studies(dicomweb: Dicomweb, data: SearchData, *params: tuple[str, str]) -> JsonDatasetsResponse:
    data.shared.require()
    return send_query(dicomweb.client, data.scoped(SearchQuery(Resource.ALL_STUDIES, params=params)))


def _expect_400(response: JsonDatasetsResponse, dicomweb: Dicomweb, why: str) -> None:
    expect_status(response, 400, why=why)
    if dicomweb.profile.azure_compatible:
        expect_text_error(response, why="the 400 answer says what is wrong (GEN-07)")


@pytest.mark.behavior("QIDO-01")
@pytest.mark.parametrize(
    "params",
    [
        (("PatientID", "A"), ("PatientID", "B")),
        (("PatientID", "A"), ("00100020", "A")),
        (("00080020", "20200110"),) * 2,
    ],
    ids=["same-keyword", "keyword-and-tag", "same-tag"],
)
def test_an_attribute_is_given_once(
    dicomweb: Dicomweb, corpus: SearchData, params: tuple[tuple[str, str], ...]
) -> None:
    """QIDO-01 (SRC): each attribute at most once; repeated, or spelled as keyword and tag: 400."""
    corpus.shared.require()
    response = dicomweb.client.search_for_studies(list(params))
    _expect_400(response, dicomweb, "an attribute is given twice")


@pytest.mark.behavior("QIDO-02", "QIDO-24")
@pytest.mark.parametrize(
    "params",
    [
        (("includefield", "StudyTime"), ("includefield", "00201208")),
        (("includefield", "StudyTime,00201208"),),
        (("includefield", "00080030"), ("includefield", "NumberOfStudyRelatedInstances")),
    ],
    ids=["repeated", "comma-separated", "tag-and-keyword"],
)
def test_includefield_forms(dicomweb: Dicomweb, corpus: SearchData, params: tuple[tuple[str, str], ...]) -> None:
    """QIDO-02 (D1, D2, E2E) / QIDO-24: ``includefield`` may be repeated or comma-separated, by
    keyword or tag; the attributes come back (StudyTime, and NumberOfStudyRelatedInstances with
    the study's instance count)."""
    response = _studies(dicomweb, corpus, ("StudyDate", "20200110"), *params)
    objects = expect_some(response, why="the study is found")
    expect_keys(response, objects, required={"StudyTime", "NumberOfStudyRelatedInstances"}, why="included fields")
    count = objects[0]["00201208"].get("Value", [None])[0] if objects else None
    expect(
        count is not None and int(count) == 3,
        "NumberOfStudyRelatedInstances counts the study's instances",
        response=response,
        expected="3",
        received=repr(count),
    )


@pytest.mark.behavior("QIDO-02", "QIDO-25")
def test_includefield_all(dicomweb: Dicomweb, corpus: SearchData) -> None:
    """QIDO-02 / QIDO-25: ``includefield=all`` returns the study level's "all" set: at least the
    attributes of it that the stored instances have (the service's list)."""
    require_azure_compatible(dicomweb.profile, "the service's includefield=all set")
    response = _studies(dicomweb, corpus, ("StudyDate", "20200110"), ("includefield", "all"))
    objects = expect_some(response, why="the study is found")
    present = {"StudyDate", "StudyTime", "AccessionNumber", "PatientName", "PatientID", "StudyID", "StudyDescription"}
    wanted = present & level_set(Resource.ALL_STUDIES.level, v1=False, include_all=True)
    expect_keys(response, objects, required=wanted, why="includefield=all returns the whole study set")


@pytest.mark.behavior("QIDO-02")
def test_includefield_all_with_others(dicomweb: Dicomweb, corpus: SearchData) -> None:
    """QIDO-02 / AMB-03: ``all`` mixed with attribute IDs: the documents say ``all`` wins (200);
    the implementation refuses it (400). The profile picks."""
    response = _studies(dicomweb, corpus, ("StudyDate", "20200110"), ("includefield", "all,StudyTime"))
    rule = dicomweb.profile.follows("AMB-03").value
    expect_status(response, *{"documented": (200,), "implemented": (400,)}.get(rule, (200, 400)), why=f"AMB-03: {rule}")


@pytest.mark.behavior("QIDO-02")
@pytest.mark.parametrize("value", ["NotAnAttribute", "0010001", "studytime"])
def test_unparsable_includefield_is_400(dicomweb: Dicomweb, corpus: SearchData, value: str) -> None:
    """QIDO-02 (SRC): an includefield value that is no keyword (case-sensitive) or tag: 400."""
    require_azure_compatible(dicomweb.profile, "400 for an unknown includefield attribute")
    _expect_400(_studies(dicomweb, corpus, ("includefield", value)), dicomweb, f"includefield={value}")


@pytest.mark.behavior("QIDO-03")
@pytest.mark.parametrize("value", ["0", "201", "500", "-1", "ten", "1.5", ""])
def test_limit_out_of_range_is_400(dicomweb: Dicomweb, corpus: SearchData, value: str) -> None:
    """QIDO-03 (D1, D2, E2E): ``limit`` is an integer from 1 to 200; anything else is 400 (never
    413)."""
    limits = dicomweb.profile.limits
    if value.lstrip("-").isdigit() and limits.qido_limit_min <= int(value) <= limits.qido_limit_max:
        pytest.skip(f"not applicable: limit={value} is within the target's range")
    if value.isdigit():
        # PS3.18 8.3.4.4 lets a server cap limit itself; the 1..200 range is the Azure service's.
        require_azure_compatible(dicomweb.profile, "400 for a limit outside 1..200")
    _expect_400(_studies(dicomweb, corpus, ("limit", value)), dicomweb, f"limit={value} is out of range")


@pytest.mark.behavior("QIDO-03")
def test_limit_cuts_the_results(dicomweb: Dicomweb, corpus: SearchData) -> None:
    """QIDO-03: ``limit=n`` returns at most n matches; the maximum is accepted."""
    limits = dicomweb.profile.limits
    response = _studies(dicomweb, corpus, ("limit", "1"))
    objects = expect_some(response, why="four studies match")
    expect(len(objects) == 1, "limit=1 returns one match", response=response, expected="1", received=f"{len(objects)}")
    response = _studies(dicomweb, corpus, ("limit", str(limits.qido_limit_max)))
    objects = expect_some(response, why=f"limit={limits.qido_limit_max} is the documented maximum")
    expect(len(objects) == 4, "every study comes back", response=response, expected="4", received=f"{len(objects)}")


@pytest.mark.behavior("QIDO-03")
def test_default_limit(dicomweb: Dicomweb) -> None:
    """QIDO-03 (D1, D2): without ``limit`` at most the default (100) matches come back; the
    maximum returns them all when there are fewer."""
    require_azure_compatible(dicomweb.profile, "a default limit of 100 matches")
    default, maximum = dicomweb.profile.limits.qido_limit_default, dicomweb.profile.limits.qido_limit_max
    if maximum <= default:
        pytest.skip("not applicable: the target's maximum limit is its default")
    files = dicomweb.instances.study(series=1, instances_per_series=default + 1)
    expect_status(dicomweb.client.store_instances(files), 200, why=f"{default + 1} instances are stored")
    study = str(files[0].study_uid)
    response = dicomweb.client.search_for_instances(study=study)
    objects = expect_some(response, why="the study's instances are found")
    expect(
        len(objects) == default,
        f"the default limit is {default}",
        response=response,
        expected=f"{default}",
        received=f"{len(objects)}",
    )
    response = dicomweb.client.search_for_instances([("limit", str(maximum))], study=study)
    objects = expect_some(response, why="the study's instances are found")
    expect(
        len(objects) == default + 1,
        "limit=max returns every match",
        response=response,
        expected=f"{default + 1}",
        received=f"{len(objects)}",
    )


@pytest.mark.behavior("QIDO-04")
def test_offset(dicomweb: Dicomweb, corpus: SearchData) -> None:
    """QIDO-04 (D1, D2, SRC): ``offset`` skips matches; beyond the matches the answer is empty
    (204); a negative offset is 400."""
    empty = dicomweb.profile.empty_search_status
    everything = expect_some(_studies(dicomweb, corpus), why="the corpus is found")
    for offset in (1, 3):
        response = _studies(dicomweb, corpus, ("offset", str(offset)))
        objects = expect_some(response, why=f"offset={offset} leaves matches")
        expect(
            len(objects) == len(everything) - offset,
            f"offset={offset} skips {offset} match(es)",
            response=response,
            expected=f"{len(everything) - offset}",
            received=f"{len(objects)}",
        )
    response = _studies(dicomweb, corpus, ("offset", "4"))
    expect_found(response, empty, "study", [], why="offset=4 is beyond the 4 matches")
    if dicomweb.profile.azure_compatible:
        _expect_400(_studies(dicomweb, corpus, ("offset", "-1")), dicomweb, "a negative offset")


@pytest.mark.behavior("QIDO-05")
@pytest.mark.parametrize(("value", "status"), [("true", 200), ("false", 200), ("TRUE", 200), ("yes", 400), ("1", 400)])
def test_fuzzymatching_values(dicomweb: Dicomweb, corpus: SearchData, value: str, status: int) -> None:
    """QIDO-05 (SRC): ``fuzzymatching`` is true or false (any case); anything else is 400."""
    response = _studies(dicomweb, corpus, ("PatientName", "Doe^John"), ("fuzzymatching", value))
    if status == 400:
        _expect_400(response, dicomweb, f"fuzzymatching={value}")
    else:
        expect_found(response, 200, "study", corpus.corpus.study_uids()[:1], why=f"fuzzymatching={value}")


@pytest.mark.behavior("QIDO-06")
def test_option_names_ignore_case(dicomweb: Dicomweb, corpus: SearchData) -> None:
    """QIDO-06 (E2E, SRC): ``limit``, ``offset``, ``includefield`` and ``fuzzymatching`` are
    recognised in any case; attribute keywords are not (``patientname`` is unknown: 400)."""
    response = _studies(dicomweb, corpus, ("LIMIT", "1"), ("Offset", "1"), ("IncludeField", "StudyTime"))
    objects = expect_some(response, why="the options are understood")
    expect(len(objects) == 1, "LIMIT=1 limits", response=response, expected="1 match", received=f"{len(objects)}")
    expect_keys(response, objects, required={"StudyTime"}, why="IncludeField includes")
    response = _studies(dicomweb, corpus, ("PatientName", "do"), ("FuzzyMatching", "true"))
    expect_found(response, 200, "study", corpus.corpus.study_uids()[:1], why="FuzzyMatching=true matches fuzzily")
    _expect_400(_studies(dicomweb, corpus, ("patientname", "Doe^John")), dicomweb, "keywords are case-sensitive")


@pytest.mark.behavior("QIDO-08")
@pytest.mark.parametrize(
    ("resource", "name"),
    [
        (Resource.ALL_STUDIES, "Modality"),
        (Resource.ALL_STUDIES, "SOPInstanceUID"),
        (Resource.ALL_SERIES, "SOPInstanceUID"),
        (Resource.STUDY_SERIES, "StudyInstanceUID"),
        (Resource.STUDY_SERIES, "PatientName"),
        (Resource.STUDY_SERIES_INSTANCES, "Modality"),
        (Resource.ALL_STUDIES, "NotAnAttribute"),
        (Resource.ALL_STUDIES, "StudyTime"),
    ],
)
def test_attribute_not_searchable_there_is_400(
    dicomweb: Dicomweb, corpus: SearchData, resource: Resource, name: str
) -> None:
    """QIDO-08 (E2E, SRC): an attribute not searchable on the resource (``Modality`` on
    /studies; the path's own StudyInstanceUID), or no searchable attribute at all, is 400 with a
    message naming it. (PS3.18 8.3.4 would have unknown parameters ignored instead.)"""
    corpus.shared.require()
    study, series, _ = uids(corpus.corpus.instances[0].file)
    query = SearchQuery(
        resource, study if resource.needs_study else None, series if resource.needs_series else None, ((name, "X"),)
    )
    response = send_query(dicomweb.client, query)
    _expect_400(response, dicomweb, f"{name} cannot filter /{resource.value}")
    text = response.text()
    expect(
        name in text,
        "the message names the attribute",
        response=response,
        expected=f"{name} in the text",
        received=text[:200],
    )


@pytest.mark.behavior("QIDO-09")
def test_timezone_offset_cannot_be_queried(dicomweb: Dicomweb, corpus: SearchData) -> None:
    """QIDO-09 (D1, D2): TimezoneOffsetFromUTC (0008,0201) is not a query key (400)."""
    require_azure_compatible(dicomweb.profile, "TimezoneOffsetFromUTC refused as a query key")
    for name in ("TimezoneOffsetFromUTC", "00080201"):
        _expect_400(_studies(dicomweb, corpus, (name, "+0100")), dicomweb, f"{name} cannot be queried")


@pytest.mark.behavior("QIDO-10")
@pytest.mark.parametrize("name", ["PatientName", "StudyDate", "StudyInstanceUID", "00100020"])
def test_empty_filter_value_is_400(dicomweb: Dicomweb, corpus: SearchData, name: str) -> None:
    """QIDO-10 (D2, SRC) / AMB-26: an empty filter value (``PatientName=``) is 400; the documents
    say so for v2 only, the implementation in every version."""
    rule = dicomweb.profile.follows("AMB-26").value
    if dicomweb.profile.is_v1 and rule != "implemented":
        pytest.skip("not claimed: empty filter values are documented as unsupported in v2 only (AMB-26)")
    if not dicomweb.profile.azure_compatible:
        pytest.skip("not claimed: PS3.4 C.2.2.2.3 makes an empty value universal matching")
    corpus.shared.require()
    response = dicomweb.client.search_for_studies([(name, "")])
    _expect_400(response, dicomweb, f"{name}= has an empty value")
