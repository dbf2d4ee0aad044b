"""The suite catches servers that break one documented behaviour at a time.

For every behaviour of the groups GEN, STOW and DEL that the reference profile claims, a
mutant of the reference server breaks exactly that behaviour (see ``mutants.py``); the suite,
restricted to the tests carrying that ID, must report the behaviour as failed. The unmutated
server, through the same harness, must pass everything (no false failures).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pydicom
import pytest
import uvicorn

from conformance.embedded import free_loopback_port
from conformance.profile import Profile
from conformance.registry import load_registry
from reference_server import ServerConfig, create_app
from tests.quality.mutants import ASGIApp, Mutant, all_modules, all_mutants


@contextmanager
def serving(app: ASGIApp) -> Iterator[str]:
    """Run ``app`` with uvicorn in a thread on a free loopback port; yield its /v2 base URL."""
    port = free_loopback_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/v2"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@pytest.fixture
def reference_app(tmp_path: Path) -> Iterator[ASGIApp]:
    reading_mode = pydicom.config.settings.reading_validation_mode
    limit = Profile.load("reference").limits.part_max_bytes
    app = create_app(ServerConfig(data_dir=tmp_path / "data", max_part_bytes=limit))
    yield app  # type: ignore[misc]
    pydicom.config.settings.reading_validation_mode = reading_mode


def run_suite(pytester: pytest.Pytester, url: str, *selection: str) -> tuple[pytest.RunResult, dict[str, object]]:
    args = [
        "--pyargs",
        "conformance.suites",
        "-p",
        "no:cacheprovider",
        "-q",
        "--dicomweb-url",
        url,
        "--dicomweb-profile",
        "reference",
        "--dicomweb-report-dir",
        "out",
    ]
    args += [f"--dicomweb-behavior={s}" for s in selection]
    result = pytester.runpytest_inprocess(*args)
    results_file = pytester.path / "out" / "results.json"
    return result, json.loads(results_file.read_text("utf-8")) if results_file.exists() else {}


def test_every_behavior_of_a_covered_group_has_a_mutant() -> None:
    registry = load_registry()
    for module in all_modules():
        wanted = {b.id for group in module.GROUPS for b in registry.in_group(group)} - set(module.EXEMPT)
        assert wanted == {m.behavior for m in module.MUTANTS}, module.__name__


@pytest.mark.parametrize("mutant", all_mutants(), ids=lambda m: f"{m.behavior}-{m.bug.replace(' ', '-')}")
def test_suite_catches_the_mutant(pytester: pytest.Pytester, reference_app: ASGIApp, mutant: Mutant) -> None:
    with serving(mutant.wrap(reference_app)) as url:
        result, results = run_suite(pytester, url, mutant.behavior)
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()[-3000:]
    behaviors = results["behaviors"]
    assert isinstance(behaviors, dict)
    assert behaviors[mutant.behavior]["status"] == "failed", f"{mutant.behavior} ({mutant.bug}) was not caught"
    # The failure text names the behaviour and shows the exchange.
    texts = [f["text"] for f in behaviors[mutant.behavior]["failures"] if "text" in f]
    assert any(mutant.behavior in t.splitlines()[0] for t in texts), texts[:1]
    assert any("Expected:" in t and "Received:" in t and "curl -X" in t for t in texts), texts[:1]


def test_unmutated_server_passes_everything(pytester: pytest.Pytester, reference_app: ASGIApp) -> None:
    with serving(reference_app) as url:
        result, results = run_suite(pytester, url)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    behaviors = results["behaviors"]
    assert isinstance(behaviors, dict)
    for behavior_id, entry in behaviors.items():
        assert entry["status"] != "failed", behavior_id
        if entry["status"] == "skipped":
            assert entry["reason"].startswith("not supported: profile"), (behavior_id, entry["reason"])
