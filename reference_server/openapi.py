"""``GET /vN/api.yaml`` (GEN-03): the hand-written OpenAPI document of each version."""

from __future__ import annotations

from functools import cache
from importlib import resources

from starlette.requests import Request
from starlette.responses import Response

from reference_server.state import api_version
from reference_server.versions import ApiVersion


@cache
def document(version: ApiVersion) -> bytes:
    return resources.files("reference_server").joinpath("openapi", f"{version.value}.yaml").read_bytes()


async def api_yaml(request: Request) -> Response:
    return Response(document(api_version(request)), media_type="application/yaml")
