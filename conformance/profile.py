"""Target profiles: what a DICOMweb target claims (TOML, ``--dicomweb-profile``).

A profile says which optional capabilities a target offers, which API version its base URL
carries, which limits it documents and, for every point where the Azure service's documents
and its implementation disagree (the ``AMB-xx`` items of the registry), which side it
follows. A behaviour whose capability is not claimed is skipped with that reason; it is never
a failure.

Bundled profiles live in ``conformance/profiles/`` and are named without the extension
(``reference``, ``azure-v1``, ``azure-v2``, ``generic``); any other value is a file path.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn, cast

from conformance.core.errors import ConfigurationError


class Rule(StrEnum):
    """Which source a target follows where the documents and the implementation disagree."""

    DOCUMENTED = "documented"
    IMPLEMENTED = "implemented"
    EITHER = "either"


class Capability(StrEnum):
    """Optional capabilities a profile may claim (``[capabilities]`` table)."""

    API_VERSIONING = "api_versioning"
    OPENAPI = "openapi"
    HEALTH_CHECK = "health_check"
    STORE_SINGLE_PART = "store_single_part"
    DELETE = "delete"
    PARTITIONS = "partitions"
    WORKITEMS = "workitems"
    BULK_UPDATE = "bulk_update"
    CHANGE_FEED = "change_feed"
    EXTENDED_QUERY_TAGS = "extended_query_tags"
    EXPORT = "export"
    RENDERED = "rendered"
    LARGE_INSTANCES = "large_instances"
    AUTHENTICATION = "authentication"
    READ_ONLY_CREDENTIALS = "read_only_credentials"


class CleanupMethod(StrEnum):
    DICOMWEB = "dicomweb"
    ORTHANC_REST = "orthanc-rest"
    NONE = "none"


AMBIGUITY_IDS = tuple(f"AMB-{n:02d}" for n in range(1, 29))
API_VERSIONS = ("v1.0-prerelease", "v1", "v2")

_TOP_LEVEL = {
    "extends",
    "target",
    "capabilities",
    "transcoding",
    "limits",
    "responses",
    "ambiguities",
    "not_claimed",
    "cleanup",
    "export",
}


@dataclass(frozen=True, slots=True)
class Limits:
    qido_limit_min: int = 1
    qido_limit_max: int = 200
    qido_limit_default: int = 100
    transcode_max_bytes: int = 104_857_600
    part_max_bytes: int = 2_147_483_647


@dataclass(frozen=True, slots=True)
class Profile:
    """What a target claims; built only through ``from_mapping`` / ``load``.

    ``azure_compatible``: the target follows the Azure DICOM service's conventions where they go
    beyond PS3.18 -- the behaviours known only from the service's implementation (registry
    level ``azure-compatible``) and the service's own documented choices (its FailureReason
    codes, 409 rather than 400 when nothing was stored, 204 for an empty request, 406 for an
    unsupported Accept, ...). Without it the suite holds the target to what PS3.18 requires
    and skips those conventions.
    """

    name: str
    description: str = ""
    api_version: str = "v2"
    versions_served: tuple[str, ...] = ("v1", "v2")
    azure_compatible: bool = True
    capabilities: frozenset[Capability] = field(default_factory=frozenset)
    transcode_to: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)
    empty_search_status: int = 204
    ambiguities: Mapping[str, Rule] = field(default_factory=dict)
    not_claimed: Mapping[str, str] = field(default_factory=dict)
    cleanup: CleanupMethod = CleanupMethod.DICOMWEB
    #: EXP-02..05: the ``destination`` object of an export request the target can write to
    #: (``[export] destination``); None when the profile gives none, and a completed export is
    #: then not attempted.
    export_destination: Mapping[str, Any] | None = None
    source: str = "<built-in>"

    def claims(self, capability: Capability | str) -> bool:
        return Capability(capability) in self.capabilities

    def follows(self, ambiguity: str) -> Rule:
        """The rule the target follows for ``AMB-xx`` (``either`` when the profile is silent)."""
        if ambiguity not in AMBIGUITY_IDS:
            raise KeyError(f"{ambiguity!r} is not an ambiguity ID")
        return self.ambiguities.get(ambiguity, Rule.EITHER)

    @property
    def is_v1(self) -> bool:
        return self.api_version in ("v1", "v1.0-prerelease")

    @classmethod
    def load(cls, name_or_path: str) -> Profile:
        """Load a bundled profile by name, or a TOML file by path."""
        bundled = resources.files("conformance").joinpath("profiles", f"{name_or_path}.toml")
        if bundled.is_file():
            text, source = bundled.read_text("utf-8"), f"bundled profile {name_or_path!r}"
        else:
            path = Path(name_or_path)
            if not path.is_file():
                names = ", ".join(bundled_profile_names())
                raise ConfigurationError(f"profile {name_or_path!r} is neither a bundled profile ({names}) nor a file")
            text, source = path.read_text("utf-8"), str(path)
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"{source}: not valid TOML: {exc}") from exc
        return cls.from_mapping(_resolve_extends(data, source, seen=(name_or_path,)), source=source)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str) -> Profile:
        """Validate a parsed profile; unknown keys and wrong types are configuration errors."""
        reader = _Reader(source)
        reader.only(data, _TOP_LEVEL, "")
        target = reader.table(data, "target")
        reader.only(target, {"name", "description", "api_version", "versions_served", "azure_compatible"}, "target")
        caps_table = reader.table(data, "capabilities")
        reader.only(caps_table, {c.value for c in Capability}, "capabilities")
        transcoding = reader.table(data, "transcoding")
        reader.only(transcoding, {"to"}, "transcoding")
        limits_table = reader.table(data, "limits")
        reader.only(limits_table, set(Limits.__dataclass_fields__), "limits")
        responses_table = reader.table(data, "responses")
        reader.only(responses_table, {"empty_search"}, "responses")
        amb_table = reader.table(data, "ambiguities")
        reader.only(amb_table, set(AMBIGUITY_IDS), "ambiguities")
        not_claimed = reader.table(data, "not_claimed")
        cleanup_table = reader.table(data, "cleanup")
        reader.only(cleanup_table, {"method"}, "cleanup")
        export_table = reader.table(data, "export")
        reader.only(export_table, {"destination"}, "export")
        destination = export_table.get("destination")
        if destination is not None and not (isinstance(destination, dict) and isinstance(destination.get("type"), str)):
            reader.fail(
                "export.destination must be a table with a type (and settings), e.g. {type = ..., settings = {...}}"
            )

        api_version = reader.str_(target, "api_version", "target", default="v2")
        if api_version not in API_VERSIONS and api_version != "":
            reader.fail(f'target.api_version must be one of {", ".join(API_VERSIONS)} or ""')
        capabilities = frozenset(
            Capability(k) for k, v in caps_table.items() if reader.bool_(caps_table, k, "capabilities")
        )
        ambiguities = {}
        for key in amb_table:
            value = reader.str_(amb_table, key, "ambiguities")
            try:
                ambiguities[key] = Rule(value)
            except ValueError:
                reader.fail(f"ambiguities.{key} must be documented, implemented or either, not {value!r}")
        reasons = {str(k): reader.str_(not_claimed, k, "not_claimed") for k in not_claimed}
        empty_search = reader.int_(responses_table, "empty_search", "responses", default=204)
        if empty_search not in (200, 204):
            reader.fail("responses.empty_search must be 200 or 204")
        method = reader.str_(cleanup_table, "method", "cleanup", default="dicomweb")
        try:
            cleanup = CleanupMethod(method)
        except ValueError:
            reader.fail(f"cleanup.method must be dicomweb, orthanc-rest or none, not {method!r}")
        limits = Limits(**{k: reader.int_(limits_table, k, "limits") for k in limits_table})
        return cls(
            name=reader.str_(target, "name", "target"),
            description=reader.str_(target, "description", "target", default=""),
            api_version=api_version,
            versions_served=tuple(reader.str_list(target, "versions_served", "target", default=[api_version])),
            azure_compatible=reader.bool_(target, "azure_compatible", "target", default=False),
            capabilities=capabilities,
            transcode_to=tuple(reader.str_list(transcoding, "to", "transcoding", default=[])),
            limits=limits,
            empty_search_status=empty_search,
            ambiguities=ambiguities,
            not_claimed=reasons,
            cleanup=cleanup,
            export_destination=destination,
            source=source,
        )


def bundled_profile_names() -> list[str]:
    folder = resources.files("conformance").joinpath("profiles")
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


class _Reader:
    """Typed access to a parsed TOML table with messages that name the file and the key."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, message: str) -> NoReturn:
        raise ConfigurationError(f"{self.source}: {message}")

    def only(self, table: Mapping[str, Any], allowed: set[str], where: str) -> None:
        unknown = sorted(set(table) - allowed)
        if unknown:
            place = f"[{where}]" if where else "the top level"
            self.fail(f"unknown key(s) {', '.join(unknown)} in {place}; allowed: {', '.join(sorted(allowed))}")

    def table(self, data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            self.fail(f"[{key}] must be a table")
        return cast(Mapping[str, Any], value)

    def str_(self, table: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
        value = table.get(key, default)
        if not isinstance(value, str):
            self.fail(f"{where}.{key} must be a string")
        return value

    def bool_(self, table: Mapping[str, Any], key: str, where: str, default: bool | None = None) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            self.fail(f"{where}.{key} must be true or false")
        return value

    def int_(self, table: Mapping[str, Any], key: str, where: str, default: int | None = None) -> int:
        value = table.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(f"{where}.{key} must be an integer")
        return value

    def str_list(self, table: Mapping[str, Any], key: str, where: str, default: list[str]) -> list[str]:
        value = table.get(key, default)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(f"{where}.{key} must be a list of strings")
        return cast(list[str], value)


def _load_table(name_or_path: str, source: str) -> dict[str, Any]:
    bundled = resources.files("conformance").joinpath("profiles", f"{name_or_path}.toml")
    if bundled.is_file():
        text = bundled.read_text("utf-8")
    elif Path(name_or_path).is_file():
        text = Path(name_or_path).read_text("utf-8")
    else:
        raise ConfigurationError(f"{source}: extends {name_or_path!r}, which is neither a bundled profile nor a file")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{name_or_path}: not valid TOML: {exc}") from exc


def _resolve_extends(data: Mapping[str, Any], source: str, *, seen: tuple[str, ...]) -> dict[str, Any]:
    """``extends = "profile"``: the named profile's tables, each key overridden by this file's.

    Keeps a variant profile (another API version, partitions on, authentication) to the lines
    that differ, so the variants cannot drift apart from their base.
    """
    resolved = dict(data)
    base_name = resolved.pop("extends", None)
    if base_name is None:
        return resolved
    if not isinstance(base_name, str):
        raise ConfigurationError(f"{source}: extends must be a profile name or path")
    if base_name in seen:
        raise ConfigurationError(f"{source}: profiles extend each other in a cycle: {' -> '.join((*seen, base_name))}")
    base = _resolve_extends(_load_table(base_name, source), base_name, seen=(*seen, base_name))
    for key, value in resolved.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), Mapping):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return base
