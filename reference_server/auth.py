"""Authentication of every request: none, HTTP Basic or Bearer tokens (GEN-08; RFC 9110 11.6.1,
RFC 7617, RFC 6750).

``AuthMiddleware`` wraps the whole application. With ``--auth basic`` or ``--auth bearer`` every
route except the health check answers **401** with a ``WWW-Authenticate`` challenge unless the
request carries the configured credentials. The credentials come from the environment only
(``DICOMWEB_SERVER_USER`` / ``DICOMWEB_SERVER_PASSWORD``, ``DICOMWEB_SERVER_TOKEN``), never from the
command line, where any local user could read them in the process list.

Comparisons use ``hmac.compare_digest`` on fixed-length digests, so neither the time of a refusal
nor the length of what matched says anything about the secret; user and password are both always
compared. Nothing secret is logged: a refusal is logged with the method, the path and the reason
only, never with the header.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("reference_server.auth")

USER_VARIABLE = "DICOMWEB_SERVER_USER"
PASSWORD_VARIABLE = "DICOMWEB_SERVER_PASSWORD"
TOKEN_VARIABLE = "DICOMWEB_SERVER_TOKEN"
REALM = "dicomweb"
# GEN-12: a load balancer or orchestrator probes health without credentials.
OPEN_PATHS = frozenset({"/health/check"})
# A refused request body is read (up to this much) before the 401 is sent: a client still
# writing when the connection closes sees a broken pipe instead of the answer. A bound, so an
# anonymous client cannot keep the server reading.
DRAIN_LIMIT = 16 * 1024 * 1024
# A header longer than this cannot hold a valid credential of ours; it is refused unread.
MAX_AUTHORIZATION_LENGTH = 8 * 1024


class AuthMode(StrEnum):
    NONE = "none"
    BASIC = "basic"
    BEARER = "bearer"


class AuthConfigError(ValueError):
    """The authentication settings are incomplete (a missing environment variable)."""


@dataclass(frozen=True, slots=True)
class AuthSettings:
    """The mode and its secrets; ``repr`` never shows the secrets."""

    mode: AuthMode = AuthMode.NONE
    user: str = ""
    password: str = field(default="", repr=False)
    token: str = field(default="", repr=False)

    @classmethod
    def from_environment(cls, mode: AuthMode | str, env: Mapping[str, str] | None = None) -> AuthSettings:
        """The settings for ``mode`` with the secrets read from ``env`` (default: the process environment)."""
        env = os.environ if env is None else env
        mode = AuthMode(mode)
        if mode is AuthMode.BASIC:
            user, password = env.get(USER_VARIABLE, ""), env.get(PASSWORD_VARIABLE, "")
            if not user or not password:
                raise AuthConfigError(f"--auth basic needs {USER_VARIABLE} and {PASSWORD_VARIABLE} in the environment")
            if ":" in user:
                raise AuthConfigError(f"{USER_VARIABLE} must not contain ':' (RFC 7617 2)")
            return cls(mode, user=user, password=password)
        if mode is AuthMode.BEARER:
            token = env.get(TOKEN_VARIABLE, "")
            if not token:
                raise AuthConfigError(f"--auth bearer needs {TOKEN_VARIABLE} in the environment")
            return cls(mode, token=token)
        return cls()


def _digest(value: bytes) -> bytes:
    # Comparing digests gives compare_digest inputs of equal length whatever was sent.
    return hashlib.sha256(value).digest()


class Verifier:
    """Checks an ``Authorization`` header value against the configured credentials."""

    def __init__(self, settings: AuthSettings) -> None:
        self.mode = settings.mode
        self._user = _digest(settings.user.encode("utf-8"))
        self._password = _digest(settings.password.encode("utf-8"))
        self._token = _digest(settings.token.encode("utf-8"))

    def problem(self, header: bytes | None) -> str | None:
        """Why ``header`` does not authenticate the request, or None when it does."""
        if header is None or not header.strip():
            return "no credentials"
        if len(header) > MAX_AUTHORIZATION_LENGTH:
            return "malformed credentials"
        scheme, _, credentials = header.strip().partition(b" ")
        credentials = credentials.strip()
        expected = b"basic" if self.mode is AuthMode.BASIC else b"bearer"
        if scheme.lower() != expected:
            return "another authentication scheme"
        if self.mode is AuthMode.BASIC:
            return self._basic(credentials)
        return None if hmac.compare_digest(_digest(credentials), self._token) else "wrong credentials"

    def _basic(self, credentials: bytes) -> str | None:
        try:
            decoded = base64.b64decode(credentials, validate=True)
        except (binascii.Error, ValueError):
            return "malformed credentials"
        user, colon, password = decoded.partition(b":")
        if not colon:
            return "malformed credentials"
        # Both are always compared: which one was wrong takes no different time.
        user_ok = hmac.compare_digest(_digest(user), self._user)
        password_ok = hmac.compare_digest(_digest(password), self._password)
        return None if user_ok and password_ok else "wrong credentials"


def challenge(mode: AuthMode, problem: str) -> str:
    """The ``WWW-Authenticate`` value of a 401 (RFC 7617 2, RFC 6750 3)."""
    if mode is AuthMode.BASIC:
        return f'Basic realm="{REALM}", charset="UTF-8"'
    if problem in ("wrong credentials", "malformed credentials"):
        return f'Bearer realm="{REALM}", error="invalid_token"'
    return f'Bearer realm="{REALM}"'


class AuthMiddleware:
    """Refuses unauthenticated HTTP requests with 401; passes everything else through."""

    def __init__(self, app: ASGIApp, settings: AuthSettings) -> None:
        self.app = app
        self.verifier = Verifier(settings) if settings.mode is not AuthMode.NONE else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.verifier is None or scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        header = next((v for k, v in scope["headers"] if k == b"authorization"), None)
        problem = self.verifier.problem(header)
        if problem is None:
            await self.app(scope, receive, send)
            return
        logger.info("refused %s %s: %s", scope["method"], scope["path"], problem)
        await _drain(receive)
        body = f"Authentication required: {problem}. Send HTTP {self.verifier.mode.value.title()} credentials.\n"
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode("ascii")),
                    (b"www-authenticate", challenge(self.verifier.mode, problem).encode("ascii")),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body.encode("utf-8")})


async def _drain(receive: Receive) -> None:
    """Read what the client sends of a refused body, up to ``DRAIN_LIMIT`` bytes."""
    seen = 0
    while seen <= DRAIN_LIMIT:
        message: Message = await receive()
        if message["type"] != "http.request":
            return  # the client went away
        seen += len(message.get("body", b""))
        if not message.get("more_body", False):
            return
