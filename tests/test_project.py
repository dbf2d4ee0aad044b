"""Project-level checks: packaging metadata, lint, types, and the README's documented options."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.core.resources import data_dir
from conformance.core.schemas import schema_names
from conformance.plugin import _OPTIONS

ROOT = Path(__file__).resolve().parent.parent


def test_data_folders_are_found() -> None:
    assert (data_dir("schemas") / "dicom-json.schema.json").is_file()
    assert (data_dir("fixtures") / "tutorial-samples.json").is_file()
    assert {"dicom-json", "dicom-json-array", "store-response", "health"} <= set(schema_names())


def test_readme_documents_every_option() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    for name, _, ini in _OPTIONS:
        assert f"--{name}" in readme, name
        assert ini is None or ini in readme, ini
    assert "--dicomweb-behavior" in readme


def test_readme_commands_match_ci() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    test_command = next(line for line in ci.splitlines() if line.startswith("python3 -m venv"))
    assert test_command in readme


def test_no_module_reads_the_shared_folder() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("conformance", "reference_server", "tests")
        for path in (ROOT / folder).rglob("*.py")
        if path != Path(__file__).resolve() and re.search(r"\.\./shared|/work/shared", path.read_text("utf-8"))
    ]
    assert offenders == []


def test_server_does_not_import_the_suite() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "reference_server").rglob("*.py")
        if re.search(r"^\s*(from|import) conformance\b", path.read_text("utf-8"), re.MULTILINE)
    ]
    assert offenders == []


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return found


def test_ruff_lint_and_format() -> None:
    ruff = _tool("ruff")
    lint = subprocess.run(
        [ruff, "check", "conformance", "reference_server", "tests"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout[-3000:]
    fmt = subprocess.run(
        [ruff, "format", "--check", "conformance", "reference_server", "tests"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert fmt.returncode == 0, fmt.stdout[-3000:]


def test_mypy_strict_on_the_packages() -> None:
    mypy = _tool("mypy")
    result = subprocess.run([mypy], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-3000:]
