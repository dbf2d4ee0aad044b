"""API versions in the URL (VER-01; GEN-01 in ``test_general``).

Behaviour catalogue section 12; DVER: the version is a major version in the path (``/v1``,
``/v2``), plus the label ``v1.0-prerelease`` of a version "not ready for production" that "may
experience breaking changes without notice". A target is held to the prerelease only when its
profile lists it in ``versions_served``: the Azure implementation serves it (GEN-01, AMB-20), the
reference server does not (a prerelease may go away without notice).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from conformance.checks import expect, expect_status, expect_stored, store_result
from conformance.checks.search import expect_found
from conformance.plugin import Dicomweb

PRERELEASE = "v1.0-prerelease"

pytestmark = pytest.mark.requires("api_versioning")


@pytest.mark.behavior("VER-01")
def test_prerelease_label_serves_the_api(dicomweb: Dicomweb) -> None:
    """VER-01 (DVER): ``/v1.0-prerelease`` serves the API: a store there is answered with
    RetrieveURLs under ``/v1.0-prerelease/``, and the instance is found and retrieved there."""
    if PRERELEASE not in dicomweb.profile.versions_served:
        pytest.skip(f"not claimed: profile {dicomweb.profile.name!r} does not list {PRERELEASE} among its versions")
    client = dicomweb.client.in_version(PRERELEASE)
    file = dicomweb.instances.instance()
    response = client.store_instances([file])
    expect_status(response, 200, why=f"{PRERELEASE} stores a valid instance")
    for item in store_result(response).referenced:
        path = urlsplit(item.retrieve_url or "").path
        expect(
            f"/{PRERELEASE}/" in path,
            "the RetrieveURL carries the version the request used",
            response=response,
            expected=f"/{PRERELEASE}/ in the path",
            received=item.retrieve_url or "no RetrieveURL",
        )
    found = client.search_for_studies([("StudyInstanceUID", str(file.study_uid))])
    expect_found(found, dicomweb.profile.empty_search_status, "study", [str(file.study_uid)], why="it is found")
    expect_stored(client, file, why=f"the instance is retrievable through {PRERELEASE}")
