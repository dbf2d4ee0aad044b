"""Reference servers broken one documented behaviour at a time: the toolkit.

Each mutant wraps the reference server's ASGI application in a middleware that changes the
request on its way in or the answer on its way out, imitating a real server bug (a status
code mapped wrongly, a header dropped, a check skipped, a value coerced). The quality tests
require that the suite, run against a mutant, fails a test carrying the mutant's behaviour ID.

Mutants live in the modules of this package, one per area; each module defines ``MUTANTS``
(a list of ``Mutant``), ``GROUPS`` (the behaviour groups it covers completely) and
``EXEMPT`` (behaviour IDs of those groups that no mutant can reach, with the reason).

A mutant is run against the reference server built with ``ServerConfig(**server_options)`` and
judged with the bundled ``profile``: by default the plain server and the ``reference`` profile;
the data-partition mutants, say, need ``{"partitions": True}`` and ``reference-partitions``.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name), None)

    def set_header(self, name: str, value: str | None) -> None:
        self.headers = [(k, v) for k, v in self.headers if k.lower() != name.lower()]
        if value is not None:
            self.headers.append((name, value))

    def json(self) -> Any:
        return json.loads(self.body)

    def set_json(self, value: Any) -> None:
        self.body = json.dumps(value).encode()


RequestRewrite = Callable[[Request], None]
AnswerRewrite = Callable[[Request, Answer], None]


def mutate(app: ASGIApp, *, request: RequestRewrite | None = None, answer: AnswerRewrite | None = None) -> ASGIApp:
    """Wrap ``app``: rewrite the request (method, path, query, headers), then the whole answer."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        seen = Request(scope["method"], scope["path"], scope["query_string"].decode("latin-1"), headers)
        if request is not None:
            request(seen)
            scope = dict(scope)
            scope["method"] = seen.method
            scope["path"] = seen.path
            scope["raw_path"] = seen.path.encode()
            scope["query_string"] = seen.query.encode("latin-1")
            scope["headers"] = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in seen.headers.items()]
        if answer is None:
            await app(scope, receive, send)
            return
        started: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await app(scope, receive, capture)
        raw_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in started.get("headers", [])]
        result = Answer(started["status"], raw_headers, b"".join(chunks))
        answer(seen, result)
        result.set_header("content-length", str(len(result.body)))
        await send(
            {
                "type": "http.response.start",
                "status": result.status,
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in result.headers],
            }
        )
        await send({"type": "http.response.body", "body": result.body})

    return wrapped


@dataclass(frozen=True)
class Mutant:
    behavior: str
    bug: str
    request: RequestRewrite | None = None
    answer: AnswerRewrite | None = None
    #: The bundled profile the suite judges the mutant with, and the options of the server it wraps.
    profile: str = "reference"
    server_options: tuple[tuple[str, Any], ...] = ()

    def wrap(self, app: ASGIApp) -> ASGIApp:
        return mutate(app, request=self.request, answer=self.answer)


# -- helpers for the rewrites ------------------------------------------------------------------

STUDY_PATH = re.compile(r"^/v\d/studies/[^/]+$")


def is_stow(r: Request) -> bool:
    return r.method == "POST" and (r.path.endswith("/studies") or bool(STUDY_PATH.match(r.path)))


def is_json(a: Answer) -> bool:
    return "json" in (a.header("content-type") or "")


def walk_items(obj: Any, key: str) -> list[dict[str, Any]]:
    element = obj.get(key) if isinstance(obj, dict) else None
    return [i for i in (element or {}).get("Value", []) if isinstance(i, dict)]


def stow_body(fn: Callable[[dict[str, Any]], None]) -> AnswerRewrite:
    def rewrite(r: Request, a: Answer) -> None:
        if is_stow(r) and a.body and is_json(a):
            body = a.json()
            fn(body)
            a.set_json(body)

    return rewrite


def status_map(when: Callable[[Request], bool], old: int, new: int, body: bytes | None = None) -> AnswerRewrite:
    def rewrite(r: Request, a: Answer) -> None:
        if when(r) and a.status == old:
            a.status = new
            if body is not None:
                a.body = body

    return rewrite


def replace_reason(old: int, new: int) -> Callable[[dict[str, Any]], None]:
    def fn(body: dict[str, Any]) -> None:
        for item in walk_items(body, "00081198"):
            if item.get("00081197", {}).get("Value") == [old]:
                item["00081197"]["Value"] = [new]

    return fn


def drop_warning_reason(code: int) -> Callable[[dict[str, Any]], None]:
    def fn(body: dict[str, Any]) -> None:
        for item in walk_items(body, "00081199"):
            if item.get("00081196", {}).get("Value") == [code]:
                del item["00081196"]

    return fn


def metadata_rewrite(fn: Callable[[dict[str, Any]], None]) -> AnswerRewrite:
    def rewrite(r: Request, a: Answer) -> None:
        if r.method == "GET" and r.path.endswith("/metadata") and a.status == 200:
            objects = a.json()
            for obj in objects:
                fn(obj)
            a.set_json(objects)

    return rewrite


def header_rewrite(r: Request, name: str, fn: Callable[[str | None], str | None]) -> None:
    value = fn(r.headers.get(name))
    r.headers.pop(name, None)
    if value is not None:
        r.headers[name] = value


def all_modules() -> list[ModuleType]:
    """Every mutant module of this package."""
    return [importlib.import_module(f"{__name__}.{info.name}") for info in pkgutil.iter_modules(__path__)]


def all_mutants() -> list[Mutant]:
    return [mutant for module in all_modules() for mutant in module.MUTANTS]
