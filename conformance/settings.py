"""One frozen settings object, built from command-line options, ini keys and the environment.

Precedence: command-line option, then environment variable, then ini key, then default.
Secrets (passwords, tokens) are read from the environment only and are wrapped in ``Secret``
so that no ``repr``, log line or report can print them.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from conformance.core.errors import ConfigurationError
from conformance.profile import Capability, Profile

DEFAULT_TIMEOUT = 30.0
DEFAULT_POLL_TIMEOUT = 60.0
DEFAULT_REPORT_DIR = "reports"
DEFAULT_HYPOTHESIS_EXAMPLES = 20


class AuthKind(StrEnum):
    NONE = "none"
    BASIC = "basic"
    BEARER = "bearer"


class Secret:
    """A string that never shows itself in ``str`` or ``repr``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, slots=True)
class Credentials:
    kind: AuthKind = AuthKind.NONE
    user: str | None = None
    password: Secret | None = None
    token: Secret | None = None

    def authorization_header(self) -> str | None:
        """The Authorization header value, or None for ``none``."""
        import base64

        if self.kind is AuthKind.BASIC:
            assert self.user is not None
            assert self.password is not None
            raw = f"{self.user}:{self.password.reveal()}".encode()
            return "Basic " + base64.b64encode(raw).decode("ascii")
        if self.kind is AuthKind.BEARER:
            assert self.token is not None
            return f"Bearer {self.token.reveal()}"
        return None

    def secrets(self) -> tuple[str, ...]:
        """Every secret string, for scrubbing text that might quote one."""
        found = [s.reveal() for s in (self.password, self.token) if s is not None]
        header = self.authorization_header()
        if header:
            found.append(header.split(" ", 1)[1])
        return tuple(s for s in found if s)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a run needs to know about its target, immutable once built."""

    url: str | None
    profile: Profile
    credentials: Credentials = field(default_factory=Credentials)
    timeout: float = DEFAULT_TIMEOUT
    poll_timeout: float = DEFAULT_POLL_TIMEOUT
    report_dir: Path = Path(DEFAULT_REPORT_DIR)
    selection: tuple[str, ...] = ()
    hypothesis_examples: int = DEFAULT_HYPOTHESIS_EXAMPLES

    @property
    def embedded(self) -> bool:
        """True when the suite starts its own reference server."""
        return self.url is None

    def scrub(self, text: str) -> str:
        """Replace any secret that made its way into ``text``."""
        for secret in self.credentials.secrets():
            text = text.replace(secret, "***")
        return text

    @classmethod
    def from_sources(
        cls,
        options: Mapping[str, object | None],
        ini: Mapping[str, str | None],
        env: Mapping[str, str],
    ) -> Settings:
        """Build settings; raise ``ConfigurationError`` naming the setting and its origin.

        ``options`` holds the command-line values (None when not given), ``ini`` the ini
        values (None or empty when not set), ``env`` the process environment.
        """

        def pick(option: str, env_name: str | None, ini_name: str) -> tuple[str | None, str]:
            value = options.get(option)
            if value is not None:
                return str(value), f"--{option.replace('_', '-')}"
            if env_name and env.get(env_name):
                return env[env_name], f"environment variable {env_name}"
            if ini.get(ini_name):
                return str(ini[ini_name]), f"ini key {ini_name}"
            return None, "default"

        url, url_origin = pick("dicomweb_url", "DICOMWEB_URL", "dicomweb_url")
        if url is not None:
            url = _validate_url(url, url_origin)

        profile_name, _ = pick("dicomweb_profile", "DICOMWEB_PROFILE", "dicomweb_profile")
        if profile_name is None:
            profile_name = "reference" if url is None else "generic"
        profile = Profile.load(profile_name)

        credentials = _credentials(*pick("dicomweb_auth", "DICOMWEB_AUTH", "dicomweb_auth"), env)
        if url is None and profile.claims(Capability.AUTHENTICATION):
            # The embedded server is started with these credentials; without configured ones, a
            # fresh random pair per run (each xdist worker has its own server and its own pair).
            if credentials.kind is AuthKind.NONE:
                credentials = Credentials(
                    AuthKind.BASIC, user=f"dwc-{secrets.token_hex(4)}", password=Secret(secrets.token_urlsafe(24))
                )
        elif url is None and credentials.kind is not AuthKind.NONE:
            raise ConfigurationError(
                "authentication was configured but no --dicomweb-url was given, and the profile "
                f"{profile.name!r} does not claim authentication: the embedded reference server runs without it "
                "(use --dicomweb-profile reference-auth)"
            )
        timeout = _positive_float(*pick("dicomweb_timeout", "DICOMWEB_TIMEOUT", "dicomweb_timeout"), DEFAULT_TIMEOUT)
        poll = _positive_float(
            *pick("dicomweb_poll_timeout", "DICOMWEB_POLL_TIMEOUT", "dicomweb_poll_timeout"), DEFAULT_POLL_TIMEOUT
        )
        report_dir, _ = pick("dicomweb_report_dir", "DICOMWEB_REPORT_DIR", "dicomweb_report_dir")
        examples = _positive_int(
            *pick("dicomweb_hypothesis_examples", "DICOMWEB_HYPOTHESIS_EXAMPLES", "dicomweb_hypothesis_examples"),
            DEFAULT_HYPOTHESIS_EXAMPLES,
        )
        raw = options.get("dicomweb_behavior") or ()
        chunks = [raw] if isinstance(raw, str) else list(raw) if isinstance(raw, list | tuple) else []
        selection = tuple(item.strip().upper() for chunk in chunks for item in str(chunk).split(",") if item.strip())
        return cls(
            url=url,
            profile=profile,
            credentials=credentials,
            timeout=timeout,
            poll_timeout=poll,
            report_dir=Path(report_dir or DEFAULT_REPORT_DIR),
            selection=selection,
            hypothesis_examples=examples,
        )


def _validate_url(url: str, origin: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(f"{origin}: {url!r} is not an http(s) URL with a host")
    if parts.query or parts.fragment:
        raise ConfigurationError(f"{origin}: the base URL must not carry a query or fragment")
    if parts.username or parts.password:
        raise ConfigurationError(f"{origin}: put credentials in DICOMWEB_USER / DICOMWEB_PASSWORD, not in the URL")
    return url.rstrip("/")


def _credentials(kind_text: str | None, origin: str, env: Mapping[str, str]) -> Credentials:
    try:
        kind = AuthKind((kind_text or "none").lower())
    except ValueError:
        raise ConfigurationError(f"{origin}: authentication must be none, basic or bearer, not {kind_text!r}") from None
    if kind is AuthKind.BASIC:
        user, password = env.get("DICOMWEB_USER"), env.get("DICOMWEB_PASSWORD")
        if not user or password is None:
            raise ConfigurationError(
                "basic authentication needs DICOMWEB_USER and DICOMWEB_PASSWORD in the environment"
            )
        return Credentials(kind, user=user, password=Secret(password))
    if kind is AuthKind.BEARER:
        token = env.get("DICOMWEB_TOKEN")
        if not token:
            raise ConfigurationError("bearer authentication needs DICOMWEB_TOKEN in the environment")
        return Credentials(kind, token=Secret(token))
    return Credentials()


def _positive_int(text: str | None, origin: str, default: int) -> int:
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ConfigurationError(f"{origin}: {text!r} is not a whole number") from None
    if value <= 0:
        raise ConfigurationError(f"{origin}: {text!r} must be a positive number")
    return value


def _positive_float(text: str | None, origin: str, default: float) -> float:
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ConfigurationError(f"{origin}: {text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise ConfigurationError(f"{origin}: {text!r} must be a positive number of seconds")
    return value
