"""The Markdown summary for pull requests and the draft conformance statement in Markdown."""

from __future__ import annotations

from conformance.reporting.baseline import Baseline, evaluate
from conformance.reporting.markdown import render_markdown
from conformance.reporting.statement import statement_markdown
from tests.test_report_samples import SECRET, sample_results


def test_summary_has_verdict_tables_and_failures() -> None:
    text = render_markdown(sample_results())
    first = text.splitlines()[0]
    assert first.startswith("## DICOMweb conformance: dicomweb-conformance reference server: FAILED: 3 behaviour(s)")
    assert "| WADO WADO-RS (retrieve) | 0 | 1 | 0 | 0 | 0 |" in text
    assert "| documented |" in text
    assert "<details><summary><b>WADO-18</b> failed: Metadata is a JSON array" in text
    assert "  curl -X GET 'http://target.test/v2/studies/" in text
    assert "<b>DEL-02</b> error" in text
    assert "CF Change feed" not in text  # a group whose behaviours all went unrun is left out
    assert SECRET not in text
    assert "Doe^Jane" not in text


def test_summary_with_a_baseline() -> None:
    results = sample_results()
    baseline = Baseline({"WADO-18": "ticket 12", "STOW-07": "ticket 12", "STOW-09": "fixed since"}, "b.toml")
    results["baseline"] = evaluate(baseline, results["behaviors"], strict=False).to_json()
    results["behaviors"]["WADO-18"]["baselined"] = "ticket 12"
    text = render_markdown(results)
    assert "FAILED: 0 new failure(s)" not in text  # DEL-02 errored: never baselined
    assert "- Harness errors: DEL-02" in text
    assert "- Known deviations: STOW-07, WADO-18" in text
    assert "- Stale entries (now pass; remove them): STOW-09" in text
    assert "<b>WADO-18</b> failed (known deviation)" in text
    assert "Baseline reason: ticket 12" in text


def test_statement_markdown() -> None:
    results = sample_results()
    text = statement_markdown(results["statement"], results["target"])
    assert text.startswith("# Draft DICOMweb conformance statement: dicomweb-conformance reference server")
    assert "| STOW-RS | Store Instances | POST | 200 | 1 |" in text
    assert '| Store Instances | request | `multipart/related; type="application/dicom"` |' in text
    assert "| workitems | claimed, not exercised | 0 | 0 |" in text
    assert "Draft, derived from the exchanges of passed tests" in text
