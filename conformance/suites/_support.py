"""Small helpers shared by the conformance test modules: rules that depend on the profile."""

from __future__ import annotations

import pytest

from conformance.checks import expect, expect_failed, expect_status, store_result
from conformance.client.responses import StoreResponse
from conformance.core.instances import DicomFile
from conformance.core.multipart import new_boundary
from conformance.profile import Profile, Rule

# Failure reasons of the service (STOW-20).
PROCESSING_FAILURE = 272
VALIDATION_FAILED = 43264
STUDY_MISMATCH = 43265
ALREADY_EXISTS = 45070
# Warning reasons (STOW-21).
VALIDATION_WARNINGS = 1
DATASET_DOES_NOT_MATCH_SOP_CLASS = 45063

MULTIPLE_VALUES_WARNING = "One or more indexed Dicom tag(s) have multiple values, only first value is indexed."


def per_rule(profile: Profile, ambiguity: str, documented: set[int], implemented: set[int]) -> set[int]:
    """The answers allowed for ``ambiguity`` under the rule the profile says the target follows."""
    rule = profile.follows(ambiguity)
    if rule is Rule.DOCUMENTED:
        return documented
    if rule is Rule.IMPLEMENTED:
        return implemented
    return documented | implemented


def mismatch_reasons(profile: Profile) -> set[int] | None:
    """STOW-08 / AMB-01: FailureReason for an instance of another study than the URL's (any
    code for a target that does not claim the service's codes)."""
    if not profile.azure_compatible:
        return None
    return per_rule(profile, "AMB-01", {STUDY_MISMATCH}, {VALIDATION_FAILED})


def require_azure_compatible(profile: Profile, what: str) -> None:
    """Skip unless the target claims the behaviours known from the Azure implementation."""
    if not profile.azure_compatible:
        pytest.skip(f"not claimed: {what} is known only from the Azure implementation")


def require_api_version(profile: Profile, *versions: str) -> None:
    if profile.api_version not in versions:
        pytest.skip(
            f"not applicable: applies to API {' / '.join(versions)}, target is {profile.api_version or 'unversioned'}"
        )


def empty_multipart(boundary: str | None = None) -> tuple[bytes, str]:
    """A multipart/related body with zero parts (only the close delimiter) and its type."""
    boundary = boundary or new_boundary()
    return f"--{boundary}--\r\n".encode("ascii"), f'multipart/related; type="application/dicom"; boundary={boundary}'


def uses_v1_rules(profile: Profile) -> bool:
    """Whether the Azure API v1 rules apply (else v2). The two versions differ in store
    validation and warnings (VER-03..06); a target without an API version follows neither, so
    a test that depends on them does not apply."""
    if not profile.api_version:
        pytest.skip("not applicable: depends on the Azure API v1 / v2 rules; the target has no API version")
    return profile.is_v1


def azure_codes(profile: Profile, codes: set[int]) -> set[int] | None:
    """FailureReason codes to require: the service's own codes (STOW-20) from an
    Azure-compatible target; any code from a target held to PS3.18 alone, whose Annex I leaves
    the choice of code to the implementation."""
    return codes if profile.azure_compatible else None


def nothing_stored_statuses(profile: Profile) -> tuple[int, ...]:
    """When no instance was stored: the service answers 409 with a FailedSOPSequence (STOW-12);
    PS3.18 Table 10.5.3-1 also allows 400 for a request it could not process at all."""
    return (409,) if profile.azure_compatible else (400, 409)


def expect_nothing_stored(
    response: StoreResponse, profile: Profile, file: DicomFile | None, codes: set[int] | None, *, why: str
) -> None:
    """STOW-12: the request stored nothing. The service answers 409 with a FailedSOPSequence
    item for ``file`` (``None``: the part could not be parsed) carrying one of ``codes``; a
    target held to PS3.18 alone may answer 400 instead, and use any FailureReason."""
    expect_status(response, *nothing_stored_statuses(profile), why=why)
    if response.status != 409:
        return
    result = store_result(response)
    expect(
        not result.referenced,
        "no instance is listed as stored",
        response=response,
        expected="no ReferencedSOPSequence",
        received=f"{len(result.referenced)} referenced item(s)",
    )
    wanted = azure_codes(profile, codes) if codes is not None else None
    expect_failed(response, file, wanted, why=f"{why}: the instance is listed as failed")
