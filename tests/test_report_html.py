"""The HTML report: self-contained, escaped, every behaviour in the matrix, every failure with
its rule, evidence and curl line, and the draft conformance statement."""

from __future__ import annotations

import re

from conformance.registry import load_registry
from conformance.reporting.baseline import Baseline, evaluate
from conformance.reporting.html import render_html
from tests.test_report_samples import SECRET, sample_results


def test_page_is_self_contained() -> None:
    page = render_html(sample_results())
    assert page.startswith("<!DOCTYPE html>")
    # no resource is fetched: no external script, stylesheet, image, font or frame
    assert not re.search(r"<(script|link|img|iframe)[^>]*\b(src|href)=", page)
    assert "@import" not in page
    assert "url(" not in page
    assert "<style>" in page
    assert "<script>" in page


def test_matrix_lists_every_behavior_with_filters() -> None:
    results = sample_results()
    page = render_html(results)
    rows = re.findall(r'<tr id="M-([A-Z]+-\d+)" data-status="([a-z ]+)" data-group="([A-Z]+)"', page)
    assert len(rows) == len(results["behaviors"]) == len(load_registry().checkable())
    assert ("WADO-18", "failed", "WADO") in rows
    assert ("VER-03", "not applicable", "VER") in rows
    for control in ('id="f-status"', 'id="f-group"', 'id="f-level"', 'id="f-text"'):
        assert control in page


def test_failures_show_rule_evidence_and_curl() -> None:
    page = render_html(sample_results())
    section = page.split('id="B-WADO-18"', 1)[1].split("</section>", 1)[0]
    assert "Metadata is a JSON array" in section  # the behaviour's title
    assert "the person name keeps its component groups" in section
    assert '<pre class="curl">curl -X GET' in section
    assert "PatientID=***" in section
    assert "$DICOMWEB_TOKEN" in section
    assert 'id="B-DEL-02"' in page  # the error, with its output
    assert "boom" in page


def test_everything_is_escaped_and_nothing_secret_or_personal_is_shown() -> None:
    page = render_html(sample_results())
    assert "<b>bold</b>" not in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page
    assert SECRET not in page
    assert "Doe^Jane" not in page
    assert "PID-4711" not in page


def test_summaries_by_group_and_level_and_the_statement() -> None:
    page = render_html(sample_results())
    assert '<h2 id="groups">Summary by group</h2>' in page
    assert "<b>WADO</b> WADO-RS (retrieve)" in page
    assert "<b>documented</b>" in page
    assert "<b>azure-compatible</b>" not in page  # no azure-compatible behaviour ran in the sample
    assert "Groups with no test in this run: GEN, QIDO, PART" in page
    statement = page.split('id="statement"', 1)[1]
    assert "Store Instances" in statement
    assert "<code>multipart/related; type=&quot;application/dicom&quot;</code>" in statement
    assert "FAILED: 3 behaviour(s) failed or errored" in page


def test_baseline_section_and_known_deviations() -> None:
    results = sample_results()
    baseline = Baseline({"WADO-18": "vendor ticket 12", "STOW-09": "was broken"}, "known.toml")
    results["baseline"] = evaluate(baseline, results["behaviors"], strict=False).to_json()
    results["behaviors"]["WADO-18"]["baselined"] = "vendor ticket 12"
    page = render_html(results)
    assert '<h2 id="baseline">Baseline</h2>' in page
    assert "Known deviation (baseline): vendor ticket 12" in page
    assert re.search(r"Stale entries[^<]*: <a href=\"#B-STOW-09\">STOW-09</a>", page)
    assert re.search(r"New failures[^<]*: <a href=\"#B-STOW-07\">STOW-07</a>", page)
