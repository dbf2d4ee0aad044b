"""CI gating with a baseline of known deviations.

The scenario of the issue, against a reference server broken in one behaviour (STOW-11: it
answers 200 instead of 204 to a request without instances): with a baseline listing STOW-11
``dicomweb-conformance run`` passes; without it, it fails; against the fixed (unbroken)
server the baseline entry is reported as stale, which fails the run only with
``--strict-baseline``. Harness errors are never baselined.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest

from conformance.core.errors import ConfigurationError
from conformance.profile import Profile
from conformance.registry import load_registry
from conformance.reporting.baseline import Baseline, baseline_toml, evaluate
from reference_server import ServerConfig, create_app
from tests.quality.mutants import ASGIApp, is_stow, mutate, status_map
from tests.serving import serving
from tests.test_report_samples import sample_results

BASELINE = '[deviations]\nSTOW-11 = "answers 200 to an empty STOW request; vendor ticket 42"\n'


@pytest.fixture
def reference_app(tmp_path: Path) -> Iterator[ASGIApp]:
    reading_mode = pydicom.config.settings.reading_validation_mode
    limit = Profile.load("reference").limits.part_max_bytes
    yield create_app(ServerConfig(data_dir=tmp_path / "data", max_part_bytes=limit))
    pydicom.config.settings.reading_validation_mode = reading_mode


def run_cli(tmp_path: Path, url: str, *extra: str) -> tuple[int, dict[str, object], str]:
    reports = tmp_path / "reports"
    result = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--url", url, "--profile", "reference", "--behavior", "STOW-11"]
        + ["--report-dir", str(reports), "--no-allure", "-q", *extra],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    results = json.loads((reports / "results.json").read_text("utf-8"))
    return result.returncode, results, result.stdout


def test_a_baselined_deviation_passes_a_new_one_fails_a_fixed_one_is_stale(
    tmp_path: Path, reference_app: ASGIApp
) -> None:
    baseline = tmp_path / "known-deviations.toml"
    baseline.write_text(BASELINE, encoding="utf-8")
    broken = mutate(reference_app, answer=status_map(is_stow, 204, 200, b"{}"))
    with serving(broken) as url:
        status, results, out = run_cli(tmp_path, url, "--baseline", str(baseline))
        assert status == 0, out[-3000:]
        assert results["behaviors"]["STOW-11"]["status"] == "failed"  # type: ignore[index]
        assert results["behaviors"]["STOW-11"]["baselined"].endswith("vendor ticket 42")  # type: ignore[index]
        assert results["baseline"]["known"] == ["STOW-11"]  # type: ignore[index]
        assert "1 known deviation(s), 0 new failure(s)" in out
        summary = (tmp_path / "reports" / "summary.md").read_text("utf-8")
        assert "PASSED: 0 new failure(s), 1 known deviation(s)" in summary

        status, results, out = run_cli(tmp_path, url)
        assert status == 1, out[-3000:]
        assert "baseline" not in results

    with serving(reference_app) as url:
        status, results, out = run_cli(tmp_path, url, "--baseline", str(baseline))
        assert status == 0, out[-3000:]
        assert results["behaviors"]["STOW-11"]["status"] == "passed"  # type: ignore[index]
        assert results["baseline"]["stale"] == ["STOW-11"]  # type: ignore[index]
        assert "stale entries, these now pass; remove them from the baseline" in out
        status, results, out = run_cli(tmp_path, url, "--baseline", str(baseline), "--strict-baseline")
        assert status == 1, out[-3000:]
        assert results["baseline"]["passed"] is False  # type: ignore[index]


def test_only_the_listed_behaviors_are_forgiven(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Plain marked tests, no target: a failure of an unlisted behaviour, or of a test that
    carries one unlisted behaviour besides listed ones, fails the run; errors always do."""
    pytester.makefile(".toml", known='[deviations]\nSTOW-07 = "known"\nSTOW-09 = "known"\n')
    pytester.makepyfile(
        """
        import os
        import pytest

        @pytest.fixture
        def broken():
            if os.environ.get("BREAK_SETUP"):
                raise RuntimeError("harness problem")

        @pytest.mark.behavior("STOW-07")
        def test_listed(broken):
            assert False

        @pytest.mark.behavior("STOW-09", "STOW-10")
        def test_partly_listed():
            assert not os.environ.get("FAIL_UNLISTED")
        """
    )
    args = ["-p", "no:cacheprovider", "--dicomweb-baseline", "known.toml", "--dicomweb-report-dir", "out"]
    assert pytester.runpytest(*args).ret == pytest.ExitCode.OK
    monkeypatch.setenv("FAIL_UNLISTED", "1")
    assert pytester.runpytest(*args).ret == pytest.ExitCode.TESTS_FAILED
    results = json.loads((pytester.path / "out" / "results.json").read_text())
    assert results["baseline"]["new_failures"] == ["STOW-10"]
    assert results["baseline"]["known"] == ["STOW-07", "STOW-09"]
    monkeypatch.delenv("FAIL_UNLISTED")
    monkeypatch.setenv("BREAK_SETUP", "1")
    assert pytester.runpytest(*args).ret == pytest.ExitCode.TESTS_FAILED
    results = json.loads((pytester.path / "out" / "results.json").read_text())
    assert results["baseline"]["errors"] == ["STOW-07"]


def test_a_bad_baseline_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", bad='[deviations]\nSTOW-99 = "no such behaviour"\n')
    pytester.makepyfile("import pytest\n\n@pytest.mark.behavior('STOW-07')\ndef test_x():\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--dicomweb-baseline", "bad.toml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*baseline bad.toml: 'STOW-99' is not a behaviour ID of the registry*"])


def test_loading_toml_and_json(tmp_path: Path) -> None:
    registry = load_registry()
    toml = tmp_path / "b.toml"
    toml.write_text(BASELINE, encoding="utf-8")
    as_json = tmp_path / "b.json"
    as_json.write_text(json.dumps({"deviations": {"STOW-11": "answers 200"}}), encoding="utf-8")
    assert Baseline.load(toml, registry).deviations == {
        "STOW-11": "answers 200 to an empty STOW request; vendor ticket 42"
    }
    assert Baseline.load(as_json, registry).deviations == {"STOW-11": "answers 200"}
    for text, message in [
        ('[deviations]\nSTOW-11 = ""\n', "STOW-11 needs a reason"),
        ('[deviations]\nAMB-01 = "x"\n', "'AMB-01' is not a behaviour ID"),
        ('[known]\nSTOW-11 = "x"\n', "expected one table [deviations]"),
        ("[deviations\n", "not valid TOML"),
    ]:
        toml.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigurationError, match=message.replace("[", r"\[")):
            Baseline.load(toml, registry)
    with pytest.raises(ConfigurationError, match="cannot be read"):
        Baseline.load(tmp_path / "missing.toml", registry)


def test_a_baseline_written_from_results_lists_the_failures_and_loads(tmp_path: Path) -> None:
    results = sample_results()
    path = tmp_path / "generated.toml"
    path.write_text(baseline_toml(results, title="sample"), encoding="utf-8")
    baseline = Baseline.load(path, load_registry())
    assert set(baseline.deviations) == {"STOW-07", "WADO-18"}  # failed; DEL-02 errored and is not listed
    verdict = evaluate(baseline, results["behaviors"], strict=True)
    assert verdict.known == ("STOW-07", "WADO-18")
    assert verdict.errors == ("DEL-02",)
    assert not verdict.passed
