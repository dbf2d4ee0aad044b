"""The suite catches servers that break one documented behaviour at a time.

For every behaviour of the groups a mutant module covers, a mutant of the reference server
breaks exactly that behaviour (see ``mutants/``); the suite, restricted to the tests carrying
that ID, must report the behaviour as failed. Each mutant names the server options and the
profile it runs with (the plain server and ``reference`` unless it says otherwise, e.g. data
partitions on and ``reference-partitions``). The unmutated server, through the same harness and
in every such set-up, must pass everything (no false failures).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pydicom
import pytest

from conformance.profile import Profile
from conformance.registry import load_registry
from reference_server import ServerConfig, create_app
from tests.quality.mutants import ASGIApp, Mutant, all_modules, all_mutants
from tests.serving import serving

#: The set-ups the mutants use: (profile, server options). The unmutated server passes in each.
SETUPS: list[tuple[str, tuple[tuple[str, Any], ...]]] = sorted({(m.profile, m.server_options) for m in all_mutants()})

AppFactory = Callable[..., ASGIApp]


@pytest.fixture
def make_reference_app(tmp_path: Path) -> Iterator[AppFactory]:
    """Builds the reference app with the given ``ServerConfig`` options, over a fresh data folder."""
    reading_mode = pydicom.config.settings.reading_validation_mode
    limit = Profile.load("reference").limits.part_max_bytes
    made: list[Any] = []

    def factory(**options: Any) -> ASGIApp:
        app = create_app(ServerConfig(data_dir=tmp_path / f"data{len(made)}", max_part_bytes=limit, **options))
        made.append(app)
        return app  # type: ignore[return-value]

    yield factory
    pydicom.config.settings.reading_validation_mode = reading_mode


def run_suite(
    pytester: pytest.Pytester, url: str, *selection: str, profile: str = "reference"
) -> tuple[pytest.RunResult, dict[str, object]]:
    args = [
        "--pyargs",
        "conformance.suites",
        "-p",
        "no:cacheprovider",
        "-q",
        "--dicomweb-url",
        url,
        "--dicomweb-profile",
        profile,
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
def test_suite_catches_the_mutant(pytester: pytest.Pytester, make_reference_app: AppFactory, mutant: Mutant) -> None:
    app = make_reference_app(**dict(mutant.server_options))
    with serving(mutant.wrap(app)) as url:
        result, results = run_suite(pytester, url, mutant.behavior, profile=mutant.profile)
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()[-3000:]
    behaviors = results["behaviors"]
    assert isinstance(behaviors, dict)
    assert behaviors[mutant.behavior]["status"] == "failed", f"{mutant.behavior} ({mutant.bug}) was not caught"
    # The failure text names the behaviour and shows the exchange.
    texts = [f["text"] for f in behaviors[mutant.behavior]["failures"] if "text" in f]
    assert any(mutant.behavior in t.splitlines()[0] for t in texts), texts[:1]
    assert any("Expected:" in t and "Received:" in t and "curl -X" in t for t in texts), texts[:1]


@pytest.mark.parametrize("setup", SETUPS, ids=lambda s: s[0])
def test_unmutated_server_passes_everything(
    pytester: pytest.Pytester, make_reference_app: AppFactory, setup: tuple[str, tuple[tuple[str, Any], ...]]
) -> None:
    profile, options = setup
    with serving(make_reference_app(**dict(options))) as url:
        result, results = run_suite(pytester, url, profile=profile)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    behaviors = results["behaviors"]
    assert isinstance(behaviors, dict)
    for behavior_id, entry in behaviors.items():
        assert entry["status"] != "failed", behavior_id
        if entry["status"] == "skipped":
            assert entry["reason"].startswith("not supported: profile"), (behavior_id, entry["reason"])
