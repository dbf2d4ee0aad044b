"""JSON Schema validation of response bodies against the schemas in ``schemas/``.

Schemas reference each other by file name (``dicom-json.schema.json``); all of them are
loaded once into a ``referencing`` registry. Validation returns messages; deciding whether a
violation fails a behaviour is the caller's policy.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from conformance.core.resources import data_dir


@cache
def _registry() -> tuple[Registry, dict[str, dict[str, Any]]]:
    schemas: dict[str, dict[str, Any]] = {}
    resources = []
    for path in sorted(data_dir("schemas").glob("*.schema.json")):
        schema = json.loads(path.read_text("utf-8"))
        schemas[path.name.removesuffix(".schema.json")] = schema
        resource = Resource.from_contents(schema)
        resources.append((schema["$id"], resource))
        resources.append((path.name, resource))
    return Registry().with_resources(resources), schemas


def schema_names() -> list[str]:
    return sorted(_registry()[1])


@cache
def _validator(name: str) -> Draft202012Validator:
    registry, schemas = _registry()
    if name not in schemas:
        raise KeyError(f"no schema named {name!r} in schemas/ (have: {', '.join(sorted(schemas))})")
    return Draft202012Validator(schemas[name], registry=registry)


def schema_errors(instance: Any, name: str, *, limit: int = 5) -> list[str]:
    """Up to ``limit`` violations of schema ``name``, each as ``at <json path>: <message>``."""
    errors = sorted(_validator(name).iter_errors(instance), key=lambda e: list(e.absolute_path))
    return [f"at {e.json_path}: {e.message[:300]}" for e in errors[:limit]]
