"""Settings from options, ini and environment; profiles from TOML."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.core.errors import ConfigurationError
from conformance.profile import Capability, CleanupMethod, Profile, Rule, bundled_profile_names
from conformance.settings import AuthKind, Secret, Settings

NO_OPTIONS: dict[str, object | None] = {}


def build(
    options: dict[str, object | None] | None = None,
    ini: dict[str, str | None] | None = None,
    env: dict[str, str] | None = None,
) -> Settings:
    return Settings.from_sources(options or NO_OPTIONS, ini or {}, env or {})


def test_defaults_mean_embedded_reference_server() -> None:
    settings = build()
    assert settings.embedded
    assert settings.url is None
    assert settings.profile.name == "dicomweb-conformance reference server"
    assert settings.credentials.kind is AuthKind.NONE
    assert settings.timeout == 30.0
    assert settings.report_dir == Path("reports")


def test_precedence_option_then_environment_then_ini() -> None:
    ini = {"dicomweb_url": "http://ini.example/v2", "dicomweb_timeout": "5"}
    env = {"DICOMWEB_URL": "http://env.example/v2"}
    assert build(ini=ini).url == "http://ini.example/v2"
    assert build(ini=ini, env=env).url == "http://env.example/v2"
    assert build({"dicomweb_url": "http://cli.example/v2/"}, ini, env).url == "http://cli.example/v2"
    assert build(ini=ini).timeout == 5.0


def test_url_without_profile_uses_generic() -> None:
    assert build(env={"DICOMWEB_URL": "https://h/v2"}).profile.name == "generic DICOMweb server"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://h/v2", "not an http(s) URL"),
        ("http:///v2", "not an http(s) URL"),
        ("http://h/v2?x=1", "query or fragment"),
        ("http://user:pw@h/v2", "DICOMWEB_USER"),
    ],
)
def test_bad_urls_name_the_setting(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(message)) as info:
        build({"dicomweb_url": url})
    assert "--dicomweb-url" in str(info.value)


def test_basic_and_bearer_credentials_come_from_the_environment() -> None:
    env = {"DICOMWEB_URL": "https://h/v2", "DICOMWEB_AUTH": "basic", "DICOMWEB_USER": "u", "DICOMWEB_PASSWORD": "pw"}
    settings = build(env=env)
    assert settings.credentials.kind is AuthKind.BASIC
    assert settings.credentials.authorization_header() == "Basic dTpwdw=="
    assert "pw" not in repr(settings)
    assert "dTpwdw" not in repr(settings)
    bearer = build(env={"DICOMWEB_URL": "https://h/v2", "DICOMWEB_AUTH": "bearer", "DICOMWEB_TOKEN": "tok"})
    assert bearer.credentials.authorization_header() == "Bearer tok"
    assert bearer.scrub("header Bearer tok here") == "header Bearer *** here"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DICOMWEB_AUTH": "basic"}, "DICOMWEB_USER and DICOMWEB_PASSWORD"),
        ({"DICOMWEB_AUTH": "bearer"}, "DICOMWEB_TOKEN"),
        ({"DICOMWEB_AUTH": "kerberos"}, "none, basic or bearer"),
    ],
)
def test_incomplete_credentials(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        build(env={"DICOMWEB_URL": "https://h/v2", **env})


def test_auth_without_url_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="embedded reference server runs without it"):
        build(env={"DICOMWEB_AUTH": "bearer", "DICOMWEB_TOKEN": "t"})


@pytest.mark.parametrize("value", ["abc", "0", "-1", "nan", "inf"])
def test_timeouts_must_be_positive_numbers(value: str) -> None:
    with pytest.raises(ConfigurationError, match="--dicomweb-timeout"):
        build({"dicomweb_timeout": value})


def test_selection_is_split_and_upper_cased() -> None:
    assert build({"dicomweb_behavior": ["stow-07,DEL", " gen "]}).selection == ("STOW-07", "DEL", "GEN")


def test_secret_never_shows() -> None:
    secret = Secret("hunter2")
    assert "hunter2" not in repr(secret)
    assert "hunter2" not in str(secret)
    assert secret.reveal() == "hunter2"


def test_bundled_profiles_load_and_are_consistent() -> None:
    assert {"reference", "azure-v1", "azure-v2", "generic"} <= set(bundled_profile_names())
    reference = Profile.load("reference")
    assert reference.claims(Capability.DELETE)
    assert not reference.claims("partitions")
    assert reference.follows("AMB-01") is Rule.DOCUMENTED
    assert Profile.load("azure-v1").is_v1
    assert not Profile.load("azure-v2").is_v1
    assert Profile.load("azure-v2").claims("bulk_update")
    assert not Profile.load("azure-v1").claims("bulk_update")
    generic = Profile.load("generic")
    assert generic.cleanup is CleanupMethod.NONE
    assert not generic.azure_compatible
    assert generic.follows("AMB-05") is Rule.EITHER


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[target]\nname = 'x'\n[bogus]\n", "unknown key(s) bogus in the top level"),
        ("[target]\nname = 'x'\n[capabilities]\nteleport = true\n", "unknown key(s) teleport in [capabilities]"),
        ("[target]\nname = 'x'\n[capabilities]\ndelete = 'yes'\n", "capabilities.delete must be true or false"),
        ("[target]\nname = 'x'\n[ambiguities]\nAMB-01 = 'maybe'\n", "must be documented, implemented or either"),
        ("[target]\nname = 'x'\n[ambiguities]\nAMB-99 = 'either'\n", "unknown key(s) AMB-99"),
        ("[target]\nname = 'x'\n[responses]\nempty_search = 404\n", "200 or 204"),
        ("[target]\nname = 'x'\napi_version = 'v7'\n", "api_version must be one of"),
        ("[target]\n", "target.name must be a string"),
        ("not toml = = =", "not valid TOML"),
    ],
)
def test_invalid_profiles_name_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigurationError, match=re.escape(message)) as info:
        Profile.load(path)
    assert path in str(info.value)


def test_unknown_profile_lists_bundled_names() -> None:
    with pytest.raises(ConfigurationError, match="neither a bundled profile .*reference"):
        Profile.load("no-such-profile")


def test_custom_profile(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[target]
name = "mine"
api_version = "v1"
azure_compatible = true
[capabilities]
delete = true
[not_claimed]
"STOW-22" = "we do not warn"
[cleanup]
method = "orthanc-rest"
""",
    )
    profile = Profile.load(path)
    assert profile.is_v1
    assert profile.claims("delete")
    assert profile.not_claimed == {"STOW-22": "we do not warn"}
    assert profile.cleanup is CleanupMethod.ORTHANC_REST


def test_a_profile_extends_another_table_by_table(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
extends = "reference"
[target]
name = "reference, v1, no delete"
api_version = "v1"
[capabilities]
delete = false
[ambiguities]
AMB-01 = "implemented"
""",
    )
    base, profile = Profile.load("reference"), Profile.load(path)
    assert profile.name == "reference, v1, no delete"
    assert profile.is_v1
    assert not profile.claims("delete")
    assert profile.claims("workitems")  # inherited
    assert profile.azure_compatible == base.azure_compatible
    assert profile.limits == base.limits
    assert profile.ambiguities["AMB-01"] is Rule.IMPLEMENTED
    assert base.ambiguities["AMB-01"] is Rule.DOCUMENTED
    assert profile.ambiguities["AMB-02"] == base.ambiguities["AMB-02"]


def test_bundled_reference_variants_differ_from_reference_only_where_they_say() -> None:
    base = Profile.load("reference")
    assert Profile.load("reference-v1").is_v1
    assert Profile.load("reference-partitions").claims(Capability.PARTITIONS)
    assert Profile.load("reference-auth").claims(Capability.AUTHENTICATION)
    for name in ("reference-v1", "reference-partitions", "reference-auth"):
        variant = Profile.load(name)
        assert variant.limits == base.limits, name
        assert variant.ambiguities == base.ambiguities, name


@pytest.mark.parametrize(
    ("text", "message"),
    [('extends = "no-such-base"\n', "neither a bundled profile nor a file"), ("extends = 3\n", "profile name or path")],
)
def test_bad_extends_is_a_configuration_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Profile.load(write(tmp_path, text))


def test_profiles_extending_each_other_in_a_cycle_are_refused(tmp_path: Path) -> None:
    first, second = tmp_path / "first.toml", tmp_path / "second.toml"
    first.write_text(f'extends = "{second}"\n', "utf-8")
    second.write_text(f'extends = "{first}"\n', "utf-8")
    with pytest.raises(ConfigurationError, match="cycle"):
        Profile.load(str(first))


def test_the_embedded_server_with_an_authentication_profile_gets_fresh_credentials() -> None:
    first, second = build({"dicomweb_profile": "reference-auth"}), build({"dicomweb_profile": "reference-auth"})
    assert first.credentials.kind is AuthKind.BASIC
    assert first.credentials.password is not None
    assert second.credentials.password is not None
    assert first.credentials.password.reveal() != second.credentials.password.reveal()
    assert first.credentials.password.reveal() not in repr(first)


def test_credentials_for_the_embedded_server_need_an_authentication_profile() -> None:
    with pytest.raises(ConfigurationError, match="reference-auth"):
        build({"dicomweb_auth": "bearer"}, env={"DICOMWEB_TOKEN": "t"})
    settings = build({"dicomweb_auth": "bearer", "dicomweb_profile": "reference-auth"}, env={"DICOMWEB_TOKEN": "t"})
    assert settings.credentials.kind is AuthKind.BEARER
