"""API versions served (GEN-01, GEN-02, VER-01).

Every route carries a major version segment: ``/v1/...`` or ``/v2/...``. A path without a
version, or with an unknown one (``/v3/studies``), matches no route and is answered 404.
"""

from __future__ import annotations

from enum import StrEnum

from starlette.convertors import Convertor, register_url_convertor


class ApiVersion(StrEnum):
    """A major API version, written as its path segment."""

    V1 = "v1"
    V2 = "v2"

    @property
    def is_v2_or_later(self) -> bool:
        """v2 stores invalid non-required attributes with warnings instead of failing (VER-03)."""
        return self is ApiVersion.V2


# GEN-02: value of the ``api-supported-versions`` header on every versioned response.
SUPPORTED_VERSIONS_HEADER = "api-supported-versions"
SUPPORTED_VERSIONS_VALUE = "1.0, 2.0"
VERSION_PREFIXES = tuple(f"/{v.value}/" for v in ApiVersion)


def is_versioned_path(path: str) -> bool:
    """Whether ``path`` lies under a served version (so it gets the GEN-02 header)."""
    return path.startswith(VERSION_PREFIXES) or path in {f"/{v.value}" for v in ApiVersion}


class ApiVersionConvertor(Convertor[ApiVersion]):
    """Path convertor ``{version:apiversion}`` that matches only the served versions."""

    regex = "|".join(v.value for v in ApiVersion)

    def convert(self, value: str) -> ApiVersion:
        return ApiVersion(value)

    def to_string(self, value: ApiVersion) -> str:
        return value.value


register_url_convertor("apiversion", ApiVersionConvertor())
