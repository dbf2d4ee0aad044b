"""Extended query tags in QIDO: matching, indexing, errors and query status (EQT-04, EQT-05,
EQT-10..13).

Behaviour catalogue section 10; DEQT (supported VRs and matching, indexing rules, query status),
E2E (v1 / v2 store, indexing errors, ``erroneous-dicom-attributes``). The tags are private tags
under a creator of the test's own (see ``test_extended_query_tags_manage``), so only the test's
instances carry them, and every search is scoped to the test's own study.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance.checks import checking, expect, expect_header, expect_schema, expect_status
from conformance.checks.extended_query_tags import PrivateBlock, TagLedger, member, tag_entry, with_private_elements
from conformance.checks.search import expect_found
from conformance.client.client import DicomwebClient
from conformance.core.instances import DicomFile
from conformance.plugin import Dicomweb
from conformance.suites._extended_query_tags_support import added, block, tags

__all__ = ["block", "tags"]  # fixtures

pytestmark = pytest.mark.requires("extended_query_tags")

FIRST, SECOND = b"DWC-FIRST-VALUE", b"DWC-SECOND-VALUE"
INVALID_IS = b"InvalidISValue"


def store(client: DicomwebClient, *files: DicomFile, why: str) -> None:
    expect_status(client.store_instances(list(files)), 200, why=why)


def search(dicomweb: Dicomweb, study: str, params: list[tuple[str, str]], wanted: list[DicomFile], *, why: str) -> None:
    """A search of the study's instances finds exactly ``wanted``."""
    response = dicomweb.client.search_for_instances(params, study=study)
    uids = [str(f.sop_instance_uid) for f in wanted]
    expect_found(response, dicomweb.profile.empty_search_status, "instance", uids, why=why)


def instance(dicomweb: Dicomweb, block: PrivateBlock, values: dict[int, tuple[str, bytes]], **kw: Any) -> DicomFile:
    """A fresh instance carrying the block's private ``values`` (offset -> (VR, bytes))."""
    return with_private_elements(dicomweb.instances.instance(**kw), block, values)


@pytest.mark.behavior("EQT-04")
def test_each_vr_matches_as_documented(dicomweb: Dicomweb, tags: TagLedger, block: PrivateBlock) -> None:
    """EQT-04 (DEQT): LO, IS and CS match exactly; DA matches exactly and by range (AMB-04: range
    on every DA/DT/TM attribute); PN matches exactly and, with ``fuzzymatching=true``, by word
    prefix. Two instances of one study carry different values; each query finds exactly its
    instance."""
    study = dicomweb.instances.new_uid()
    lo, is_, cs, da, pn = 0x10, 0x11, 0x12, 0x13, 0x14
    added(
        dicomweb,
        tags,
        [
            block.entry(lo, "LO"),
            block.entry(is_, "IS"),
            block.entry(cs, "CS"),
            block.entry(da, "DA"),
            block.entry(pn, "PN"),
        ],
        why="five private tags of different VRs are added",
    )
    one = instance(
        dicomweb,
        block,
        {
            lo: ("LO", b"Alpha One"),
            is_: ("IS", b"5"),
            cs: ("CS", b"RED"),
            da: ("DA", b"20200315"),
            pn: ("PN", b"Smith^Anna"),
        },
        study_uid=study,
    )
    two = instance(
        dicomweb,
        block,
        {
            lo: ("LO", b"Beta Two"),
            is_: ("IS", b"7"),
            cs: ("CS", b"BLUE"),
            da: ("DA", b"20210601"),
            pn: ("PN", b"Jones^Bob"),
        },
        study_uid=study,
    )
    store(dicomweb.client, one, two, why="two instances with private values are stored")
    cases: list[tuple[str, list[tuple[str, str]], list[DicomFile]]] = [
        ("LO exact", [(block.path(lo), "Alpha One")], [one]),
        ("IS exact", [(block.path(is_), "7")], [two]),
        ("CS exact", [(block.path(cs), "RED")], [one]),
        ("DA exact", [(block.path(da), "20210601")], [two]),
        ("DA range", [(block.path(da), "20200101-20201231")], [one]),
        ("DA open range", [(block.path(da), "20210101-")], [two]),
        ("PN exact", [(block.path(pn), "Jones^Bob")], [two]),
        ("PN fuzzy", [(block.path(pn), "ann"), ("fuzzymatching", "true")], [one]),
        ("PN word prefix without fuzzy matching", [(block.path(pn), "ann")], []),
    ]
    for label, params, wanted in cases:
        search(dicomweb, study, params, wanted, why=f"{label} match on an extended query tag")


@pytest.mark.behavior("EQT-05")
def test_only_first_non_empty_values_are_indexed_also_at_store_time(
    dicomweb: Dicomweb, tags: TagLedger, block: PrivateBlock
) -> None:
    """EQT-05 (DEQT): only the first value of a multi-valued element is indexed; an empty value is
    not indexed; an instance stored after the tag was added is indexed when it is stored. The
    first instance is stored before the tag is added (indexed by the reindex), the others after."""
    study, path = dicomweb.instances.new_uid(), block.path(0x10)
    before = instance(dicomweb, block, {0x10: ("LO", FIRST + b"\\" + SECOND)}, study_uid=study)
    store(dicomweb.client, before, why="an instance with two values is stored before the tag exists")
    added(dicomweb, tags, [block.entry(0x10, "LO")], why="a private LO tag is added")
    after = instance(dicomweb, block, {0x10: ("LO", b"DWC-LATER-VALUE")}, study_uid=study)
    empty = instance(dicomweb, block, {0x10: ("LO", b"")}, study_uid=study)
    store(dicomweb.client, after, empty, why="instances are stored after the tag was added")
    search(dicomweb, study, [(path, FIRST.decode())], [before], why="the first value is indexed by the reindex")
    search(dicomweb, study, [(path, SECOND.decode())], [], why="a second value is not indexed")
    search(dicomweb, study, [(path, "DWC-LATER-VALUE")], [after], why="an instance is indexed when it is stored")


@pytest.mark.behavior("EQT-12")
def test_tags_combine_with_default_attributes_while_ready(
    dicomweb: Dicomweb, tags: TagLedger, block: PrivateBlock
) -> None:
    """EQT-12 (DEQT): a filter on a ready tag combines with default attributes (all must match,
    like the DEQT example ``00081090=Microsoft&PatientName=Jo``); once the tag is deleted it is no
    longer searchable (400, like any attribute that is not searchable)."""
    study, path = dicomweb.instances.new_uid(), block.path(0x10)
    added(dicomweb, tags, [block.entry(0x10, "LO")], why="a private LO tag is added")
    one = instance(dicomweb, block, {0x10: ("LO", FIRST)}, study_uid=study, patient_id="DWC-EQT-ONE")
    two = instance(dicomweb, block, {0x10: ("LO", FIRST)}, study_uid=study, patient_id="DWC-EQT-ONE")
    other = instance(dicomweb, block, {0x10: ("LO", SECOND)}, study_uid=study, patient_id="DWC-EQT-ONE")
    store(dicomweb.client, one, two, other, why="three instances are stored")
    search(dicomweb, study, [(path, FIRST.decode())], [one, two], why="the tag alone")
    series = str(two.series_uid)
    search(
        dicomweb,
        study,
        [(path, FIRST.decode()), ("SeriesInstanceUID", series)],
        [two],
        why="the tag and a default attribute must both match",
    )
    expect_status(dicomweb.client.delete_extended_query_tag(path), 204, why="the tag is deleted")
    response = dicomweb.client.search_for_instances([(path, FIRST.decode())], study=study)
    expect_status(response, 400, why="a deleted tag is no longer searchable")


@pytest.mark.behavior("EQT-10", "EQT-11")
def test_indexing_errors_disable_the_tag_until_it_is_enabled(
    dicomweb: Dicomweb, tags: TagLedger, block: PrivateBlock
) -> None:
    """EQT-10 / EQT-11 (DEQT, E2E): two instances stored through API v1 before the tag exists carry
    an invalid IS value (v1 validates only indexed attributes, so they are stored as they are).
    Adding an IS tag on that element: the reindex records one error per instance, with the
    instance's UIDs, ``createdTime`` and ``errorMessage`` (paged with ``limit=1``, EQT-08); the tag
    reports ``errors.count`` 2 and is disabled for query: filtering on it is 400. After PATCH to
    Enabled the filter works and the answer carries ``erroneous-dicom-attributes`` naming the tag
    (QIDO-28)."""
    if "v1" not in dicomweb.profile.versions_served:
        pytest.skip("not applicable: the invalid values are stored through API v1, which the target does not serve")
    v1 = dicomweb.client.in_version("v1")
    study, path = dicomweb.instances.new_uid(), block.path(0x10)
    bad = [instance(dicomweb, block, {0x10: ("IS", INVALID_IS)}, study_uid=study) for _ in range(2)]
    good = instance(dicomweb, block, {0x10: ("IS", b"42")}, study_uid=study)
    store(v1, *bad, good, why="instances with an invalid and a valid IS value are stored through v1")
    added(dicomweb, tags, [block.entry(0x10, "IS")], why="a private IS tag is added")
    with checking("EQT-10"):
        response = dicomweb.client.extended_query_tag_errors(path)
        expect_status(response, 200, why="the indexing errors are listed")
        errors = response.json()
        expect(isinstance(errors, list), "the errors are a JSON array", response=response, expected="an array")
        for error in errors:
            expect_schema(response, "extended-query-tag-error", why="each error names the instance", body=error)
        listed = sorted((member(e, "studyInstanceUid"), member(e, "sopInstanceUid")) for e in errors)
        want = sorted((study, str(f.sop_instance_uid)) for f in bad)
        expect(
            listed == want,
            "one error per instance with an invalid value, naming it (EQT-10)",
            response=response,
            expected=str(want),
            received=str(listed),
        )
        page = dicomweb.client.extended_query_tag_errors(path, [("limit", "1")])
        expect_status(page, 200, why="the errors are paged")
        expect(
            len(page.json()) == 1,
            "limit=1 gives one error (EQT-08)",
            response=page,
            expected="1 error",
            received=f"{len(page.json())}",
        )
    with checking("EQT-11"):
        response = dicomweb.client.get_extended_query_tag(path)
        entry = tag_entry(response, why="the tag is read after its reindex")
        count = member(member(entry, "errors") or {}, "count")
        expect(
            str(member(entry, "queryStatus")).lower() == "disabled" and count == 2,
            "a tag with indexing errors is disabled for query and counts its errors",
            response=response,
            expected="queryStatus disabled, errors.count 2",
            received=f"queryStatus {member(entry, 'queryStatus')!r}, errors {member(entry, 'errors')!r}",
        )
        refused = dicomweb.client.search_for_instances([(path, "42")], study=study)
        expect_status(refused, 400, why="filtering on a disabled tag is refused")
        patched = dicomweb.client.update_extended_query_tag(path, {"queryStatus": "Enabled"})
        expect_status(patched, 200, why="the tag is enabled again")
        response = dicomweb.client.search_for_instances([(path, "42")], study=study)
        expect_found(
            response,
            dicomweb.profile.empty_search_status,
            "instance",
            [str(good.sop_instance_uid)],
            why="the enabled tag",
        )
        header = expect_header(response, "erroneous-dicom-attributes", why="the answer flags the erroneous tag")
        expect(
            path in {part.strip().upper() for part in header.split(",")},
            "erroneous-dicom-attributes names the tag (QIDO-28)",
            response=response,
            expected=path,
            received=header,
        )


@pytest.mark.behavior("EQT-13")
def test_v1_rejects_and_v2_drops_an_invalid_indexed_value(
    dicomweb: Dicomweb, tags: TagLedger, block: PrivateBlock
) -> None:
    """EQT-13 (E2E): with an IS tag indexed, an instance whose value for it is invalid
    (``InvalidISValue``) is refused by API v1 with 409 (VER-03: v1 fails on searchable attributes)
    and stored by API v2 with 202 and a warning (VER-04, VER-05), the value dropped from its
    metadata."""
    served = dicomweb.profile.versions_served
    if "v1" not in served or "v2" not in served:
        pytest.skip("not applicable: compares API v1 and v2, which the target does not both serve")
    added(dicomweb, tags, [block.entry(0x10, "IS")], why="a private IS tag is added")
    v1, v2 = dicomweb.client.in_version("v1"), dicomweb.client.in_version("v2")
    refused = instance(dicomweb, block, {0x10: ("IS", INVALID_IS)})
    expect_status(v1.store_instances([refused]), 409, why="v1 refuses an invalid value of an indexed tag")
    kept = instance(dicomweb, block, {0x10: ("IS", INVALID_IS)})
    expect_status(v2.store_instances([kept]), 202, why="v2 stores it with a warning")
    metadata = v2.retrieve_instance_metadata(str(kept.study_uid), str(kept.series_uid), str(kept.sop_instance_uid))
    expect_status(metadata, 200, why="the stored instance's metadata is readable")
    objects = metadata.json()
    attribute = objects[0].get(block.path(0x10)) if isinstance(objects, list) and objects else None
    expect(
        not (attribute or {}).get("Value"),
        "the invalid value is dropped from the metadata",
        response=metadata,
        expected=f"no value of {block.path(0x10)}",
        received=repr(attribute),
    )
