"""The OpenAPI documents (GEN-03) describe exactly the routes each version serves.

Both directions are checked against the live route table of ``create_app``: every route the
application serves under a version is a documented path with that method, and every documented
path and method is served (no stale entries). Partitioned variants (``/partitions/{partition}/...``)
are described once, in the documents' descriptions (PART-03), so they are folded onto their
plain path; routes that exist in the router but are refused outright by one version (v1
``$bulkUpdate``, BULK-01 / VER-11) are checked to answer 404 there instead.

PyYAML is not installed (and the project does not depend on it), so ``parse_yaml`` below reads
the subset of YAML the documents are written in: block mappings and sequences, flow ``{...}`` /
``[...]`` collections, plain / single- / double-quoted scalars, ``|`` literal blocks and comments.
It refuses what it does not understand (and duplicate keys) rather than guessing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from importlib import resources
from typing import Any

import pytest
from starlette.routing import Route

from reference_server.versions import ApiVersion

from .harness import Client

# -- a YAML subset reader ------------------------------------------------------------------------


class YamlSubsetError(ValueError):
    pass


_INT = re.compile(r"[-+]?[0-9]+")
_CONSTANTS: dict[str, Any] = {"true": True, "false": False, "null": None, "~": None}


def _plain(text: str) -> Any:
    text = text.strip()
    if text in _CONSTANTS:
        return _CONSTANTS[text]
    return int(text) if _INT.fullmatch(text) else text


def _quoted(text: str, start: int) -> tuple[str, int]:
    """The quoted scalar starting at ``text[start]``, and the index after it."""
    quote = text[start]
    i = start + 1
    while i < len(text):
        if quote == "'" and text[i] == "'":
            if text[i + 1 : i + 2] == "'":
                i += 2
                continue
            return text[start + 1 : i].replace("''", "'"), i + 1
        if quote == '"' and text[i] == "\\":
            i += 2
            continue
        if quote == '"' and text[i] == '"':
            return str(json.loads(text[start : i + 1])), i + 1
        i += 1
    raise YamlSubsetError(f"unterminated string: {text!r}")


def _flow(text: str, i: int, stops: str) -> tuple[Any, int]:
    """A flow value at ``text[i]`` ending before one of ``stops``."""
    while i < len(text) and text[i] == " ":
        i += 1
    if i < len(text) and text[i] in "{[":
        closing = "}" if text[i] == "{" else "]"
        mapping: dict[str, Any] = {}
        items: list[Any] = []
        i += 1
        while True:
            while i < len(text) and text[i] in " ,":
                i += 1
            if i >= len(text):
                raise YamlSubsetError(f"unterminated flow collection: {text!r}")
            if text[i] == closing:
                return (mapping if closing == "}" else items), i + 1
            if closing == "}":
                key, i = _flow(text, i, ":")
                if i >= len(text) or text[i] != ":" or str(key) in mapping:
                    raise YamlSubsetError(f"bad or duplicate flow key {key!r}: {text!r}")
                mapping[str(key)], i = _flow(text, i + 1, ",}")
            else:
                item, i = _flow(text, i, ",]")
                items.append(item)
    if i < len(text) and text[i] in "'\"":
        value, i = _quoted(text, i)
        while i < len(text) and text[i] == " ":
            i += 1
        return value, i
    end = i
    while end < len(text) and text[end] not in stops:
        end += 1
    return _plain(text[i:end]), end


def _scalar(text: str) -> Any:
    text = text.strip()
    text = re.sub(r"(^| )#.*$", "", text) if text[:1] not in "'\"{[" else text
    value, end = _flow(text, 0, "")
    if text[end:].strip():
        raise YamlSubsetError(f"trailing text after a value: {text!r}")
    return value


def _split_key(content: str) -> tuple[str, str] | None:
    """``(key, rest)`` of a ``key: value`` line, or None when the line is no mapping entry."""
    if content[:1] in "'\"":
        key, end = _quoted(content, 0)
        return (key, content[end + 1 :]) if content[end : end + 1] == ":" else None
    if content[:1] in "{[":
        return None
    match = re.match(r"([^ #][^#]*?):(?: +(.*)|$)", content)
    return (match.group(1), match.group(2) or "") if match else None


class _Reader:
    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.pos = 0

    def _peek(self) -> tuple[int, str] | None:
        while self.pos < len(self.lines):
            raw = self.lines[self.pos]
            if "\t" in raw[: len(raw) - len(raw.lstrip())]:
                raise YamlSubsetError(f"line {self.pos + 1}: tab in indentation")
            content = raw.strip()
            if content and not content.startswith("#"):
                return len(raw) - len(raw.lstrip(" ")), content
            self.pos += 1
        return None

    def block(self, indent: int) -> Any:
        line = self._peek()
        assert line is not None
        assert line[0] == indent
        value = self._sequence(indent) if line[1] == "-" or line[1].startswith("- ") else self._mapping(indent)
        after = self._peek()
        if after is not None and after[0] > indent:
            raise YamlSubsetError(f"line {self.pos + 1}: unexpected indentation")
        return value

    def _mapping(self, indent: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        while (line := self._peek()) is not None and line[0] == indent and not line[1].startswith("- "):
            entry = _split_key(line[1])
            if entry is None or entry[0] in result:
                raise YamlSubsetError(f"line {self.pos + 1}: not a new mapping key: {line[1]!r}")
            self.pos += 1
            result[entry[0]] = self._value(entry[1], indent)
        return result

    def _sequence(self, indent: int) -> list[Any]:
        items: list[Any] = []
        while (line := self._peek()) is not None and line[0] == indent and (line[1] == "-" or line[1][:2] == "- "):
            rest = line[1][1:].lstrip(" ")
            if not rest:
                self.pos += 1
                items.append(self._value("", indent))
            elif _split_key(rest) is not None:  # "- key: value" opens a mapping one level in
                inner = indent + len(line[1]) - len(rest)
                self.lines[self.pos] = " " * inner + rest
                items.append(self._mapping(inner))
            else:
                self.pos += 1
                items.append(_scalar(rest))
        return items

    def _value(self, rest: str, indent: int) -> Any:
        if rest.strip() in ("|", "|-"):
            return self._literal(indent, keep_last=rest.strip() == "|")
        if rest.strip() and not rest.strip().startswith("#"):
            return _scalar(rest)
        line = self._peek()
        if line is None or line[0] < indent or (line[0] == indent and not line[1].startswith("- ")):
            return None
        return self.block(line[0])

    def _literal(self, indent: int, *, keep_last: bool) -> str:
        collected: list[str] = []
        block_indent: int | None = None
        while self.pos < len(self.lines):
            raw = self.lines[self.pos]
            if raw.strip():
                current = len(raw) - len(raw.lstrip(" "))
                if current <= indent:
                    break
                block_indent = current if block_indent is None else block_indent
                if current < block_indent:
                    raise YamlSubsetError(f"line {self.pos + 1}: literal block dedented")
                collected.append(raw[block_indent:])
            else:
                collected.append("")
            self.pos += 1
        text = "\n".join(collected).rstrip("\n")
        return text + "\n" if keep_last and text else text


def parse_yaml(text: str) -> Any:
    """The document ``text`` as Python values (mappings, lists, str, int, bool, None)."""
    reader = _Reader(text)
    first = reader._peek()
    if first is None or first[0] != 0:
        raise YamlSubsetError("the document must start at column 0")
    return reader.block(0)


def test_parser_reads_the_constructs_the_documents_use() -> None:
    text = (
        "a:\n  b: 1\n  'c d': \"x: y #z\"\n  e: { f: [g, 'h,i'], j: {} }\n  k:\n  - name: n\n    in: path\n"
        '  - $ref: "#/r"\n  l: |\n    one\n      two\n\n    three\n  m: plain text # comment\nn: true\n'
    )
    assert parse_yaml(text) == {
        "a": {
            "b": 1,
            "c d": "x: y #z",
            "e": {"f": ["g", "h,i"], "j": {}},
            "k": [{"name": "n", "in": "path"}, {"$ref": "#/r"}],
            "l": "one\n  two\n\nthree\n",
            "m": "plain text",
        },
        "n": True,
    }
    for broken in ("a: 1\na: 2\n", "a: {b: 1\n", "a:\n  b: 1\n    c: 2\n", "a: 'x\n"):
        with pytest.raises(YamlSubsetError):
            parse_yaml(broken)


# -- the documents and the routes ----------------------------------------------------------------

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
# Starlette parameter name -> the document's (the names the Azure DICOM documents use).
DOCUMENT_PARAMETER = {"operation": "operationId", "tag": "tagPath"}
PARTITION_PREFIX = "/partitions/{partition}"
# In the router for every version, refused with 404 before any other check by these versions.
REFUSED_BY_VERSION = {ApiVersion.V1: {("POST", "/studies/$bulkUpdate")}}


def document(version: ApiVersion) -> dict[str, Any]:
    text = resources.files("reference_server").joinpath("openapi", f"{version.value}.yaml").read_text("utf-8")
    parsed = parse_yaml(text)
    assert isinstance(parsed, dict)
    return parsed


def documented(version: ApiVersion) -> set[tuple[str, str]]:
    paths = document(version)["paths"]
    return {(method.upper(), path) for path, item in paths.items() for method in item if method in METHODS}


def served(client: Client, version: ApiVersion) -> set[tuple[str, str]]:
    """(METHOD, path) of every route under ``version``, in the document's spelling (relative to
    its server URL ``/vN``, partitioned variants folded onto their plain path)."""
    found: set[tuple[str, str]] = set()
    partitioned: set[tuple[str, str]] = set()
    for route in client.app.routes:
        assert isinstance(route, Route)
        if not route.path.startswith("/{version:apiversion}"):
            assert route.path == "/health/check", route.path  # the only route outside the versions
            continue
        path = re.sub(
            r"{(\w+)(?::\w+)?}",
            lambda m: "{" + DOCUMENT_PARAMETER.get(m.group(1), m.group(1)) + "}",
            route.path.removeprefix("/{version:apiversion}"),
        )
        for method in sorted(route.methods or ()):
            if method == "HEAD":
                continue
            if path.startswith(PARTITION_PREFIX + "/"):
                partitioned.add((method, path.removeprefix(PARTITION_PREFIX)))
            else:
                found.add((method, path))
    # A partitioned variant always has its plain twin, which the document describes (PART-03).
    assert partitioned <= found, sorted(partitioned - found)
    return found - REFUSED_BY_VERSION.get(version, set())


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield str(value)
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def resolve(doc: dict[str, Any], node: Any) -> Any:
    """``node``, or what its ``$ref`` (``#/a/b/c``) points to."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = doc
        for part in str(node["$ref"]).removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


VERSIONS = pytest.mark.parametrize("version", list(ApiVersion), ids=[v.value for v in ApiVersion])


@VERSIONS
def test_served_document_parses_and_names_its_version(client: Client, version: ApiVersion) -> None:
    response = client.get(f"/{version.value}/api.yaml")
    assert response.status_code == 200
    doc = parse_yaml(response.text)
    assert doc == document(version)
    assert doc["openapi"] == "3.0.3"
    assert doc["info"]["version"] == f"{version.value[1:]}.0"
    assert doc["servers"] == [{"url": f"/{version.value}"}]


@VERSIONS
def test_every_served_route_is_documented(client: Client, version: ApiVersion) -> None:
    missing = served(client, version) - documented(version)
    assert not missing, f"served by {version.value} but not in its document: {sorted(missing)}"


@VERSIONS
def test_every_documented_route_is_served(client: Client, version: ApiVersion) -> None:
    stale = documented(version) - served(client, version)
    assert not stale, f"in the {version.value} document but not served: {sorted(stale)}"


def test_routes_refused_by_a_version_answer_404_there(client: Client) -> None:
    """BULK-01 / VER-11: v1 has no bulk update (the route answers 404 before reading the body);
    v2 serves it (an empty body is a 400 about the body, not a 404)."""
    for version, routes in REFUSED_BY_VERSION.items():
        for method, path in routes:
            response = client.request(method, f"/{version.value}{path}", json={})
            assert response.status_code == 404, (version, path)
            assert (method, path) in documented(ApiVersion.V2)
            assert client.request(method, f"/v2{path}", json={}).status_code == 400


@VERSIONS
def test_references_resolve_and_path_parameters_are_declared(version: ApiVersion) -> None:
    doc = document(version)
    for ref in refs(doc):
        assert ref.startswith("#/"), ref
        resolve(doc, {"$ref": ref})  # KeyError when dangling
    tags = {tag["name"] for tag in doc["tags"]}
    operation_ids: list[str] = []
    for path, item in doc["paths"].items():
        in_template = set(re.findall(r"{(\w+)}", path))
        shared = [resolve(doc, p) for p in item.get("parameters") or []]
        for method in (m for m in item if m in METHODS):
            operation = item[method]
            own = [resolve(doc, p) for p in operation.get("parameters") or []]
            declared = {p["name"] for p in shared + own if p["in"] == "path"}
            assert declared == in_template, (method, path, declared)
            assert all(p["required"] is True for p in shared + own if p["in"] == "path"), (method, path)
            assert set(operation["tags"]) <= tags, (method, path)
            assert operation["responses"], (method, path)
            operation_ids.append(operation["operationId"])
    assert len(operation_ids) == len(set(operation_ids)), "operationIds must be unique"


def query_parameter(version: ApiVersion, path: str, name: str) -> dict[str, Any]:
    doc = document(version)
    parameters = [resolve(doc, p) for p in doc["paths"][path]["get"].get("parameters") or []]
    found = [p for p in parameters if p["in"] == "query" and p["name"] == name]
    assert len(found) == 1, (version, path, name)
    parameter: dict[str, Any] = found[0]
    return parameter


@VERSIONS
@pytest.mark.parametrize("path", ["/changefeed", "/extendedquerytags", "/workitems", "/studies"])
def test_documented_limit_bounds_are_the_servers(client: Client, version: ApiVersion, path: str) -> None:
    """CF-04 / CF-05 (v2 1..200, v1 1..100), EQT-08, UPS and QIDO: the documented ``limit`` range
    is the one the server enforces (its maximum answers, one more is 400)."""
    schema = query_parameter(version, path, "limit")["schema"]
    headers = {"Accept": "application/dicom+json, application/json"}
    for value, accepted in ((schema["minimum"], True), (schema["maximum"], True), (schema["maximum"] + 1, False)):
        response = client.get(f"/{version.value}{path}?limit={value}", headers=headers)
        assert (response.status_code != 400) is accepted, (path, value, response.status_code, response.text)


def test_change_feed_parameters_differ_by_version() -> None:
    """VER-10: v2 has the time window, v1 a sequence window whose limit defaults to 10."""
    v1, v2 = document(ApiVersion.V1), document(ApiVersion.V2)
    names = {
        version: {resolve(doc, p)["name"] for p in doc["paths"]["/changefeed"]["get"]["parameters"]}
        for version, doc in ((ApiVersion.V1, v1), (ApiVersion.V2, v2))
    }
    assert names[ApiVersion.V1] == {"offset", "limit", "includeMetadata"}
    assert names[ApiVersion.V2] == {"startTime", "endTime", "offset", "limit", "includeMetadata"}
    assert query_parameter(ApiVersion.V1, "/changefeed", "limit")["schema"]["default"] == 10
    assert query_parameter(ApiVersion.V2, "/changefeed", "limit")["schema"]["default"] == 100


@VERSIONS
def test_every_response_declares_the_supported_versions_header(version: ApiVersion) -> None:
    """GEN-02: every response under a version carries ``api-supported-versions``."""
    doc = document(version)
    for path, item in doc["paths"].items():
        for method in (m for m in item if m in METHODS):
            for status, response in item[method]["responses"].items():
                headers = resolve(doc, response).get("headers") or {}
                assert "api-supported-versions" in headers, (method, path, status)
