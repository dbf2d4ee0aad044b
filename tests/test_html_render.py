"""The HTML report of a real run renders in headless Chromium (Debian's ``chromium``), offline.

The page comes from ``dicomweb-conformance run`` against the embedded reference server; a
second page, built from the sample results of ``test_report_samples`` (failures, an error,
skips), shows the failure sections. Each
is rendered from disk with every network feature of Chromium off; the screenshots are kept
in the test's temporary folder as artefacts (their path is a ``screenshot`` property of the
test in JUnit XML).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from conformance.reporting.outputs import write_reports
from tests.test_report_samples import sample_results

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")


def chromium(page: Path, profile: Path, *mode: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--window-size=1280,2000",
            *mode,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def render(page: Path, folder: Path) -> tuple[str, Path]:
    """The DOM after the page's script ran, and a screenshot."""
    dom = chromium(page, folder / "chromium-profile", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    shot = folder / f"{page.stem}.png"
    taken = chromium(page, folder / "chromium-profile", f"--screenshot={shot}")
    assert taken.returncode == 0, taken.stderr[-2000:]
    return dom.stdout, shot


def assert_not_blank(shot: Path) -> None:
    with Image.open(shot) as image:
        assert image.size == (1280, 2000)
        grey = image.convert("L")
        stat = ImageStat.Stat(grey)
        assert stat.stddev[0] > 10, "the screenshot is blank"
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
        assert colours is not None
        assert len(colours) > 50  # text, badges and bars, not a flat page


def test_report_of_a_run_renders(tmp_path: Path, record_property: Callable[[str, object], None]) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--behavior", "STOW-01,STOW-09,DEL", "--report-dir", "reports"]
        + ["--no-allure", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    dom, shot = render(tmp_path / "reports" / "report.html", tmp_path)
    assert '<table id="matrix">' in dom
    assert dom.count('<tr id="M-') > 200  # every behaviour of the registry
    # the filter script ran: it replaced the static count
    assert "of " in dom.split('id="f-shown"', 1)[1].split("</span>", 1)[0]
    assert "behaviours shown" in dom
    assert "Draft conformance statement" in dom
    assert_not_blank(shot)
    record_property("screenshot", str(shot))


def test_failures_render(tmp_path: Path, record_property: Callable[[str, object], None]) -> None:
    write_reports(sample_results(), tmp_path / "sample")
    dom, shot = render(tmp_path / "sample" / "report.html", tmp_path)
    assert 'id="B-WADO-18"' in dom
    assert '<pre class="curl">curl -X GET' in dom
    assert "FAILED: 3 behaviour(s) failed or errored" in dom
    assert_not_blank(shot)
    record_property("screenshot", str(shot))
