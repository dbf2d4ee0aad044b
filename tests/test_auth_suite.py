"""The suite proves GEN-08 against the reference server with authentication, and catches a server
that leaves one route open or answers 401 without a challenge.

The reference server runs in-process (uvicorn in a thread) with ``--auth basic`` or ``bearer``
settings; the suite runs in pytester with the ``reference-auth`` profile and the matching
credentials in its environment, restricted to GEN-08.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pydicom
import pytest

from reference_server import ServerConfig, create_app
from reference_server.auth import AuthMode, AuthSettings
from tests.serving import serving

USER, PASSWORD, TOKEN = "dwc-user", "s3cret pass:word", "dwc-token-5e1b"
App = Any


@pytest.fixture
def auth_app(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[App]:
    mode = AuthMode(request.param)
    settings = (
        AuthSettings(mode, user=USER, password=PASSWORD) if mode is AuthMode.BASIC else AuthSettings(mode, token=TOKEN)
    )
    reading_mode = pydicom.config.settings.reading_validation_mode
    yield create_app(ServerConfig(data_dir=tmp_path / "data", auth=settings))
    pydicom.config.settings.reading_validation_mode = reading_mode


def run_gen08(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, url: str, mode: str
) -> tuple[int, dict[str, Any]]:
    monkeypatch.setenv("DICOMWEB_USER", USER)
    monkeypatch.setenv("DICOMWEB_PASSWORD", PASSWORD)
    monkeypatch.setenv("DICOMWEB_TOKEN", TOKEN)
    result = pytester.runpytest_inprocess(
        "--pyargs",
        "conformance.suites",
        "-p",
        "no:cacheprovider",
        "-q",
        "--dicomweb-url",
        url,
        "--dicomweb-profile",
        "reference-auth",
        "--dicomweb-auth",
        mode,
        "--dicomweb-report-dir",
        "out",
        "--dicomweb-behavior",
        "GEN-08",
    )
    results = json.loads((pytester.path / "out" / "results.json").read_text("utf-8"))
    return result.ret, results["behaviors"]["GEN-08"]


@pytest.mark.parametrize("auth_app", ["basic", "bearer"], indirect=True)
def test_gen08_passes_against_the_reference_server(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, auth_app: App
) -> None:
    mode = "basic" if auth_app.state.server.config.auth.mode is AuthMode.BASIC else "bearer"
    with serving(auth_app) as url:
        status, gen08 = run_gen08(pytester, monkeypatch, url, mode)
    assert status == pytest.ExitCode.OK, gen08
    assert gen08["status"] == "passed"
    assert "test_every_route_refuses_missing_and_wrong_credentials" in json.dumps(gen08)


def _leave_open(app: App, method: str, matches: Callable[[str], bool]) -> App:
    """A server bug: some route answers without credentials (the request gets valid ones added)."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == method and matches(scope["path"]):
            headers = [(k, v) for k, v in scope["headers"] if k != b"authorization"]
            scope = {**scope, "headers": [*headers, (b"authorization", f"Bearer {TOKEN}".encode())]}
        await app(scope, receive, send)

    return wrapped


def _no_challenge(app: App) -> App:
    """A server bug: 401 without WWW-Authenticate."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        async def strip(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [(k, v) for k, v in message["headers"] if k != b"www-authenticate"]}
            await send(message)

        await app(scope, receive, strip)

    return wrapped


BUGS: dict[str, Callable[[App], App]] = {
    "search-for-series-left-open": lambda app: _leave_open(app, "GET", lambda path: path == "/v2/series"),
    "instance-deletion-left-open": lambda app: _leave_open(app, "DELETE", lambda path: "/instances/" in path),
    "workitem-update-left-open": lambda app: _leave_open(
        app, "POST", lambda path: "/workitems/" in path and not path.endswith("cancelrequest")
    ),
    "401-without-a-challenge": _no_challenge,
}


@pytest.mark.parametrize("auth_app", ["bearer"], indirect=True)
@pytest.mark.parametrize("bug", sorted(BUGS))
def test_gen08_catches_a_broken_server(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, auth_app: App, bug: str
) -> None:
    with serving(BUGS[bug](auth_app)) as url:
        status, gen08 = run_gen08(pytester, monkeypatch, url, "bearer")
    assert status == pytest.ExitCode.TESTS_FAILED, bug
    assert gen08["status"] == "failed", bug
    text = json.dumps(gen08["failures"])
    assert "Expected:" in text
    assert "curl -X" in text
