"""The pytest plugin, exercised with pytester: markers, skips, failure text, harness errors."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable

import pytest

from tests.conftest import FakeTarget, Handler

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unknown_behavior_id_is_a_collection_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.behavior("STOW-99")
        def test_x():
            pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*test_x: unknown behaviour ID(s) STOW-99*behaviour registry*"])


def test_markers_are_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.behavior(*ids)*", "@pytest.mark.requires(*capabilities)*"])


def test_unclaimed_capability_and_azure_only_behaviors_are_skipped(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.behavior("UPS-04")
        @pytest.mark.requires("workitems")
        def test_needs_workitems():
            raise AssertionError("must not run")

        @pytest.mark.behavior("STOW-03")
        def test_azure_only():
            raise AssertionError("must not run")

        @pytest.mark.behavior("STOW-07")
        def test_documented():
            pass
        """
    )
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "-rs", "--dicomweb-profile", "generic", "--dicomweb-url", "http://127.0.0.1:9/v2"
    )
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines(
        [
            "*not supported: profile 'generic DICOMweb server' does not claim capability 'workitems'*",
            "*not claimed: STOW-03 known only from the Azure implementation*",
        ]
    )


def test_selection_by_id_and_group(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.behavior("STOW-07")
        def test_a(): pass

        @pytest.mark.behavior("DEL-01")
        def test_b(): pass

        @pytest.mark.behavior("GEN-04")
        def test_c(): pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--dicomweb-behavior", "stow,GEN-04")
    result.assert_outcomes(passed=2, deselected=1)
    bad = pytester.runpytest("-p", "no:cacheprovider", "--dicomweb-behavior", "NOPE")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR


def test_unreachable_target_is_one_clear_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.behavior("STOW-01")
        def test_one(dicomweb): pass

        @pytest.mark.behavior("STOW-02")
        def test_two(dicomweb): pass
        """
    )
    url = f"http://127.0.0.1:{closed_port()}/v2"
    result = pytester.runpytest("-p", "no:cacheprovider", "--dicomweb-url", url, "--dicomweb-timeout", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str() + result.stderr.str()
    assert f"target {url} is unreachable" in output
    assert "FAILED" not in output


def test_configuration_errors_are_reported_not_failed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.behavior("STOW-01")
        def test_one(dicomweb): pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--dicomweb-profile", "does-not-exist")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*configuration error: profile 'does-not-exist' is neither a bundled profile*"])


def _lying_target(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
    """Says it stored every instance, stores nothing."""
    if method == "POST":
        return 200, {"Content-Type": "application/dicom+json"}, b"{}"
    if "/studies/" in path and method == "GET":
        return 404, {"Content-Type": "text/plain"}, b"not found"
    return 204, {}, b""


def test_a_broken_target_fails_with_behavior_expected_received_and_curl(
    pytester: pytest.Pytester, fake_target: Callable[[Handler], FakeTarget], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = fake_target(_lying_target)
    monkeypatch.setenv("DICOMWEB_TOKEN", "very-secret-token")
    pytester.makepyfile(
        """
        import pytest
        from conformance.checks import expect_status, expect_stored

        @pytest.mark.behavior("STOW-01")
        def test_store(dicomweb):
            file = dicomweb.instances.instance()
            expect_status(dicomweb.client.store_instances([file]), 200, why="valid instance")
            expect_stored(dicomweb.client, file, why="an acknowledged instance is retrievable")
        """
    )
    result = pytester.runpytest(
        "-p",
        "no:cacheprovider",
        "--dicomweb-url",
        target.url,
        "--dicomweb-auth",
        "bearer",
        "--dicomweb-profile",
        "azure-v2",
        "--dicomweb-report-dir",
        "out",
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "STOW-01 [[]documented; source D1, D2, DTUT, SRC[]] STOW accepts multipart/related*",
            "Failure: an acknowledged instance is retrievable",
            "Expected: instance * retrievable (WADO-RS 200)",
            "Received: status 404",
            "Request:",
            "  curl -X GET http://127.0.0.1:*/v2/studies/2.25.*/series/2.25.*/instances/2.25.* "
            '-H "Authorization: Bearer $DICOMWEB_TOKEN" -H \'Accept: multipart/related; type=*',
            "Response:",
            "  404 Not Found",
            "*body: not found",
        ]
    )
    assert "very-secret-token" not in result.stdout.str()
    results = json.loads((pytester.path / "out" / "results.json").read_text())
    entry = results["behaviors"]["STOW-01"]
    assert entry["status"] == "failed"
    assert entry["failures"][0]["exchange"]["response"]["status"] == 404
    assert results["target"]["auth"] == "bearer"
    assert "very-secret-token" not in json.dumps(results)
    # the cleanup deleted exactly the study the test stored
    deletes = [path for method, path, _ in target.requests if method == "DELETE"]
    assert len(deletes) == 1
    assert deletes[0].startswith("/v2/studies/2.25.")


def test_garbage_answer_is_a_named_failure_not_a_crash(
    pytester: pytest.Pytester, fake_target: Callable[[Handler], FakeTarget]
) -> None:
    def garbage(method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        if method == "POST":
            return 200, {"Content-Type": "application/dicom+json"}, b"<html>oops</html>"
        return 204, {}, b""

    target = fake_target(garbage)
    pytester.makepyfile(
        """
        import pytest
        from conformance.checks import store_result

        @pytest.mark.behavior("STOW-16")
        def test_store(dicomweb):
            store_result(dicomweb.client.store_instances([dicomweb.instances.instance()]))
        """
    )
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--dicomweb-url", target.url, "--dicomweb-profile", "azure-v2"
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["STOW-16 *", "Failure: body is not valid UTF-8 JSON*", "*body: <html>oops</html>"])
