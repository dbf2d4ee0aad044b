"""Authentication of the reference server (GEN-08): every route but the health check refuses
missing, wrong or malformed credentials with 401 and a challenge, and a refused request
changes nothing."""

from __future__ import annotations

import base64
import logging
import re

import pytest
from starlette.routing import Route

from reference_server.auth import AuthConfigError, AuthMode, AuthSettings, Verifier, challenge
from reference_server.cli import auth_settings, build_parser, is_loopback

from .dicom_factory import build, multipart, new_uid, related
from .harness import Client, ClientFactory

USER, PASSWORD, TOKEN = "reader", "pa:ss wörd", "tok-3f1c2b"
JSON = {"Accept": "application/dicom+json"}
STOW = {**JSON, "Content-Type": related()}


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


GOOD_BASIC = {"Authorization": basic(USER, PASSWORD)}
GOOD_BEARER = {"Authorization": f"Bearer {TOKEN}"}
WRONG = [
    None,
    "",
    basic(USER, "wrong"),
    basic("other", PASSWORD),
    basic(USER, PASSWORD + "x"),
    basic(USER.upper(), PASSWORD),
    "Basic !!!not-base64!!!",
    "Basic " + base64.b64encode(b"no-colon").decode(),
    "Basic " + base64.b64encode(b"\xff\xfe:\x00").decode(),
    "Basic",
    f"Bearer {TOKEN}",
    f"Bearer {TOKEN}x",
    "Bearer",
    "Digest username=reader",
    "Basic " + "A" * 20_000,
]


@pytest.fixture
def basic_client(make_client: ClientFactory) -> Client:
    return make_client(auth=AuthSettings(AuthMode.BASIC, user=USER, password=PASSWORD))


@pytest.fixture
def bearer_client(make_client: ClientFactory) -> Client:
    return make_client(auth=AuthSettings(AuthMode.BEARER, token=TOKEN))


def concrete_routes(client: Client) -> list[tuple[str, str]]:
    """(method, path) of every route of the application, with valid values in its parameters."""
    values = {"version": "v2", "frames": "1", "frame": "1"}
    found = []
    for route in client.app.routes:
        assert isinstance(route, Route)
        path = re.sub(
            r"{(\w+)(?::\w+)?}", lambda m: values.get(m.group(1), f"2.25.{abs(hash(m.group(1))) % 10**9}"), route.path
        )
        found += [(method, path) for method in sorted(route.methods or ()) if method != "HEAD"]
    return found


@pytest.mark.parametrize("header", WRONG, ids=[f"wrong-{n}" for n in range(len(WRONG))])
def test_basic_refuses_missing_wrong_and_malformed_credentials(basic_client: Client, header: str | None) -> None:
    headers = {**JSON, **({"Authorization": header} if header is not None else {})}
    response = basic_client.get("/v2/studies", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Basic realm="dicomweb", charset="UTF-8"'
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text.startswith("Authentication required")
    assert response.headers["api-supported-versions"] == "1.0, 2.0"  # GEN-02 on refusals too
    assert PASSWORD not in response.text
    assert TOKEN not in response.text


def test_basic_accepts_the_configured_credentials(basic_client: Client) -> None:
    assert basic_client.get("/v2/studies", headers={**JSON, **GOOD_BASIC}).status_code == 204
    # Scheme names are case-insensitive (RFC 9110 11.1).
    lower = {"Authorization": GOOD_BASIC["Authorization"].replace("Basic", "basic")}
    assert basic_client.get("/v2/studies", headers={**JSON, **lower}).status_code == 204


@pytest.mark.parametrize(
    "header", [None, f"Bearer {TOKEN}x", "Bearer " + TOKEN[:-1], basic(USER, PASSWORD), f"Token {TOKEN}"]
)
def test_bearer_refuses_anything_but_the_token(bearer_client: Client, header: str | None) -> None:
    headers = {**JSON, **({"Authorization": header} if header is not None else {})}
    response = bearer_client.get("/v2/studies", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('Bearer realm="dicomweb"')
    assert bearer_client.get("/v2/studies", headers={**JSON, **GOOD_BEARER}).status_code == 204


def test_wrong_token_is_an_invalid_token_challenge() -> None:
    assert challenge(AuthMode.BEARER, "wrong credentials") == 'Bearer realm="dicomweb", error="invalid_token"'
    assert challenge(AuthMode.BEARER, "no credentials") == 'Bearer realm="dicomweb"'


def test_every_route_refuses_a_request_without_credentials(basic_client: Client) -> None:
    routes = concrete_routes(basic_client)
    assert len(routes) > 25  # STOW, QIDO, WADO, delete, workitems, api.yaml
    for method, path in routes:
        for headers in ({}, {"Authorization": basic(USER, "wrong")}):
            response = basic_client.request(method, path, headers={**JSON, **headers}, content=b"[{}]")
            expected = 200 if path == "/health/check" else 401
            assert response.status_code == expected, (method, path, headers)


def test_health_check_stays_open(bearer_client: Client) -> None:
    assert bearer_client.get("/health/check").status_code == 200


def test_refused_requests_change_nothing(basic_client: Client) -> None:
    kept = build()
    assert (
        basic_client.post("/v2/studies", content=multipart([kept.data]), headers={**STOW, **GOOD_BASIC}).status_code
        == 200
    )
    refused = build(study=kept.study)
    response = basic_client.post("/v2/studies", content=multipart([refused.data]), headers=STOW)
    assert response.status_code == 401
    response = basic_client.delete(f"/v2/studies/{kept.study}", headers={"Authorization": basic(USER, "guess")})
    assert response.status_code == 401
    found = basic_client.get(f"/v2/studies/{kept.study}/instances", headers={**JSON, **GOOD_BASIC})
    assert [item["00080018"]["Value"][0] for item in found.json()] == [kept.sop]


def test_a_large_refused_body_is_drained_and_answered(basic_client: Client) -> None:
    body = multipart([build().data, b"\0" * (4 * 1024 * 1024)])
    response = basic_client.post(f"/v2/studies/{new_uid()}", content=body, headers=STOW)
    assert response.status_code == 401


def test_refusals_are_logged_without_secrets(basic_client: Client, caplog: pytest.LogCaptureFixture) -> None:
    guess = "guessed-secret-7781"
    with caplog.at_level(logging.DEBUG):
        basic_client.get("/v2/studies", headers={**JSON, "Authorization": basic(USER, guess)})
        basic_client.get("/v2/studies", headers={**JSON, **GOOD_BASIC})
    text = caplog.text
    assert "refused GET /v2/studies: wrong credentials" in text
    for secret in (guess, PASSWORD, basic(USER, guess).split()[1], GOOD_BASIC["Authorization"].split()[1]):
        assert secret not in text


def test_settings_never_show_their_secrets() -> None:
    settings = AuthSettings(AuthMode.BASIC, user=USER, password=PASSWORD, token=TOKEN)
    assert PASSWORD not in repr(settings)
    assert TOKEN not in repr(settings)


def test_verifier_compares_whole_values() -> None:
    verifier = Verifier(AuthSettings(AuthMode.BEARER, token=TOKEN))
    assert verifier.problem(f"Bearer {TOKEN}".encode()) is None
    assert verifier.problem(f"Bearer  {TOKEN} ".encode()) is None  # surrounding spaces are not credentials
    for sent in (TOKEN[:3], TOKEN + TOKEN, "", TOKEN.upper()):
        assert verifier.problem(f"Bearer {sent}".encode()) is not None


def test_secrets_come_from_the_environment() -> None:
    env = {"DICOMWEB_SERVER_USER": USER, "DICOMWEB_SERVER_PASSWORD": PASSWORD, "DICOMWEB_SERVER_TOKEN": TOKEN}
    assert AuthSettings.from_environment("basic", env) == AuthSettings(AuthMode.BASIC, user=USER, password=PASSWORD)
    assert AuthSettings.from_environment("bearer", env) == AuthSettings(AuthMode.BEARER, token=TOKEN)
    for mode, missing in (("basic", "DICOMWEB_SERVER_PASSWORD"), ("basic", "DICOMWEB_SERVER_USER")):
        with pytest.raises(AuthConfigError, match=missing):
            AuthSettings.from_environment(mode, {k: v for k, v in env.items() if k != missing})
    with pytest.raises(AuthConfigError, match="DICOMWEB_SERVER_TOKEN"):
        AuthSettings.from_environment("bearer", {})
    with pytest.raises(AuthConfigError, match="':'"):
        AuthSettings.from_environment("basic", {**env, "DICOMWEB_SERVER_USER": "a:b"})


def test_command_line_has_no_secret_options_and_guards_public_addresses() -> None:
    options = {action.dest for action in build_parser()._actions}
    assert "auth" in options
    assert not options & {"password", "token", "user", "auth_password", "auth_token"}
    assert build_parser().parse_args(["--data", "x"]).auth is None
    assert auth_settings(None, "127.0.0.1").mode is AuthMode.NONE
    assert auth_settings(None, "localhost").mode is AuthMode.NONE
    assert auth_settings("none", "0.0.0.0").mode is AuthMode.NONE  # an explicit choice
    with pytest.raises(AuthConfigError, match="--auth"):
        auth_settings(None, "0.0.0.0")
    assert is_loopback("::1")
    assert not is_loopback("192.0.2.1")
    assert not is_loopback("example.org")
