"""The difference between two results files."""

from __future__ import annotations

import copy

from conformance.reporting.diff import diff_markdown, diff_results
from tests.test_report_samples import sample_results


def test_new_failures_fixed_changed_and_still_failing() -> None:
    old = sample_results()
    new = copy.deepcopy(old)
    new["behaviors"]["STOW-09"]["status"] = "failed"  # passed -> failed
    new["behaviors"]["WADO-18"]["status"] = "passed"  # failed -> passed
    new["behaviors"]["UPS-04"]["status"] = "passed"  # skipped -> passed
    new["behaviors"]["QIDO-01"]["status"] = "error"  # not run -> error
    del new["behaviors"]["VER-03"]  # gone from the new file
    difference = diff_results(old, new)
    assert difference.new_failures == [("STOW-09", "passed", "failed"), ("QIDO-01", "not run", "error")]
    assert difference.fixed == [("WADO-18", "failed", "passed")]
    assert ("UPS-04", "skipped", "passed") in difference.changed
    assert ("VER-03", "not applicable", "absent") in difference.changed
    assert difference.still_failing == ["STOW-07", "DEL-02"]
    text = diff_markdown(difference, old, new)
    assert "2 new failure(s), 1 fixed, 2 other change(s), 2 still failing." in text
    assert "- **STOW-09** passed -> failed: STOW returns 200" in text


def test_identical_results_have_no_difference() -> None:
    results = sample_results()
    difference = diff_results(results, results)
    assert (difference.new_failures, difference.fixed, difference.changed) == ([], [], [])
    assert difference.to_json()["still_failing"] == ["STOW-07", "WADO-18", "DEL-02"]
