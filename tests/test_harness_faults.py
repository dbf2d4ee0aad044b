"""The harness against misbehaving targets: it reports named failures with evidence, honours
its timeouts, always reaches its cleanup, and never deletes data it did not create."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import FakeTarget, Handler

Answer = tuple[int, dict[str, str], bytes]
STORED_OK = (200, {"Content-Type": "application/dicom+json"}, b"{}")


def probe_or(rest: Callable[[str, str, dict[str, str], bytes], Answer]) -> Handler:
    """Answer the suite's reachability probe (GET .../studies?limit=1) with 204, the rest as told."""

    def handler(method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        if method == "GET" and path.endswith("/studies?limit=1"):
            return 204, {}, b""
        return rest(method, path, headers, body)

    return handler


def run(pytester: pytest.Pytester, url: str, *args: str) -> tuple[pytest.RunResult, dict[str, object]]:
    result = pytester.runpytest(
        "--pyargs",
        "conformance.suites",
        "-p",
        "no:cacheprovider",
        "--dicomweb-url",
        url,
        "--dicomweb-profile",
        "azure-v2",
        "--dicomweb-report-dir",
        "out",
        *args,
    )
    path = pytester.path / "out" / "results.json"
    return result, json.loads(path.read_text("utf-8")) if path.exists() else {}


def failure_texts(results: dict[str, object], behavior: str) -> list[str]:
    entry = results["behaviors"][behavior]  # type: ignore[index]
    return [f.get("text", "") for f in entry.get("failures", [])]


def deleted_study_uids(target: FakeTarget) -> set[str]:
    return {
        m.group(1)
        for method, path, _ in target.requests
        if method == "DELETE"
        for m in [re.match(r"/v2/studies/([0-9.]+)$", path)]
        if m
    }


def test_a_hanging_target_gives_a_timeout_failure_and_cleanup_still_runs(
    pytester: pytest.Pytester, fake_target: Callable[[Handler], FakeTarget]
) -> None:
    sent: list[bytes] = []

    def hang_on_store(method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        if method == "POST":
            sent.append(body)
            time.sleep(3)
            return STORED_OK
        return 204, {}, b""

    target = fake_target(probe_or(hang_on_store))
    result, results = run(pytester, target.url, "--dicomweb-behavior", "STOW-09", "--dicomweb-timeout", "0.5")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) >= 1
    assert outcomes.get("error", 0) == 0
    texts = failure_texts(results, "STOW-09")
    assert texts
    assert all("got no answer in time" in t and "no response: no answer within the timeout" in t for t in texts)
    # The instances whose STOW timed out were recorded before sending and deleted afterwards.
    deleted = deleted_study_uids(target)
    assert deleted
    assert all(uid.encode() in b"".join(sent) for uid in deleted)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ((500, {"Content-Type": "text/plain"}, b"boom"), "Received: status 500"),
        ((200, {"Content-Type": "application/dicom+json"}, b"\x00\xff garbage"), "body is not valid UTF-8 JSON"),
        ((200, {"Content-Type": "application/dicom+json"}, b'{"00081199": 7}'), "valid against store-response"),
        ((200, {"Content-Type": "text/html"}, b"<html></html>"), "Expected: Content-Type application/dicom+json"),
    ],
    ids=["500", "garbage", "not-dicom-json", "wrong-content-type"],
)
def test_bad_answers_are_named_failures(
    pytester: pytest.Pytester, fake_target: Callable[[Handler], FakeTarget], answer: Answer, expected: str
) -> None:
    target = fake_target(probe_or(lambda m, p, h, b: answer if m == "POST" else (204, {}, b"")))
    result, results = run(pytester, target.url, "--dicomweb-behavior", "STOW-04,STOW-09")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) >= 1
    assert outcomes.get("error", 0) == 0, result.stdout.str()[-2000:]
    texts = failure_texts(results, "STOW-09") + failure_texts(results, "STOW-04")
    assert any(expected in t for t in texts), texts[:2]
    assert all("Request:" in t and "curl -X POST" in t for t in texts)


def test_connection_resets_are_named_failures(pytester: pytest.Pytester, tmp_path: Path) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Resetting(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_DELETE = do_GET

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.close_connection = True
            self.connection.shutdown(2)  # no status line at all

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Resetting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v2"
        result, results = run(pytester, url, "--dicomweb-behavior", "STOW-09")
    finally:
        server.shutdown()
        server.server_close()
    assert result.parseoutcomes().get("error", 0) == 0
    texts = failure_texts(results, "STOW-09")
    assert texts
    assert all("no response: RemoteProtocolError" in t for t in texts)


def test_foreign_data_is_never_deleted(pytester: pytest.Pytester, fake_target: Callable[[Handler], FakeTarget]) -> None:
    """A target already holding someone else's studies: every DELETE the suite sends names a
    study whose UID the suite itself sent in a STOW body; the foreign studies are never touched."""
    foreign = ["1.2.826.0.1.3680043.8.498.13230779778012324449356534479549187420", "2.25.1234567890"]
    sent: list[bytes] = []

    def holder(method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        if method == "POST":
            sent.append(body)
            return STORED_OK
        if method == "GET" and "/studies" in path and "metadata" not in path and "/instances/" not in path:
            listing = [{"0020000D": {"vr": "UI", "Value": [uid]}} for uid in foreign]
            return 200, {"Content-Type": "application/dicom+json"}, json.dumps(listing).encode()
        if method == "DELETE":
            return 204, {}, b""
        return 404, {"Content-Type": "text/plain"}, b"not found"

    target = fake_target(probe_or(holder))
    result, _ = run(pytester, target.url, "--dicomweb-behavior", "STOW,DEL")
    assert result.parseoutcomes().get("error", 0) == 0
    deleted = [path for method, path, _ in target.requests if method == "DELETE"]
    assert deleted, "the suite stored data and so must have cleaned it up"
    sent_bytes = b"".join(sent)
    for path in deleted:
        uids = re.findall(r"/(?:studies|series|instances)/([^/]+)", path)
        assert not set(uids) & set(foreign), path
        # a cleanup DELETE names a study the suite sent; a test's own DELETE may name a fresh
        # unknown UID (DEL-02) or an invalid one (DEL-03), never a foreign one
    cleanup_studies = deleted_study_uids(target)
    assert all(uid.startswith("2.25.") for uid in cleanup_studies)
    assert any(uid.encode() in sent_bytes for uid in cleanup_studies)


def _raw_target(handler: type) -> tuple[object, str]:
    from http.server import ThreadingHTTPServer

    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v2"


def test_a_target_that_stops_mid_body_gives_a_timeout_failure(pytester: pytest.Pytester) -> None:
    """The status line and headers come, then the body stalls: the per-request timeout still
    ends the wait with a named failure, and the cleanup runs."""
    from http.server import BaseHTTPRequestHandler

    deletes: list[str] = []

    class MidBody(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_DELETE(self) -> None:
            deletes.append(self.path)
            self.do_GET()

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", "application/dicom+json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b'{"00081199": ')
            self.wfile.flush()
            time.sleep(3)

        def log_message(self, *args: object) -> None:
            pass

    server, url = _raw_target(MidBody)
    try:
        result, results = run(pytester, url, "--dicomweb-behavior", "STOW-09", "--dicomweb-timeout", "0.5")
    finally:
        server.shutdown()  # type: ignore[attr-defined]
        server.server_close()  # type: ignore[attr-defined]
    assert result.parseoutcomes().get("error", 0) == 0
    texts = failure_texts(results, "STOW-09")
    assert texts
    assert all("got no answer in time" in t for t in texts)
    assert deletes, "the cleanup ran although every store timed out"


def test_a_huge_answer_is_a_named_failure(
    pytester: pytest.Pytester, fake_target: Callable[[Handler], FakeTarget]
) -> None:
    """A search answered with 32 MiB of bytes that are not JSON: a named failure whose evidence
    shows a cut preview and the size, not the whole body; the run goes on."""
    huge = b"\x00\xff" * (16 * 1024 * 1024)

    def answer(method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        if method == "POST":
            return STORED_OK
        if method == "GET" and "/studies?" in path:
            return 200, {"Content-Type": "application/dicom+json"}, huge
        return 204, {}, b""

    target = fake_target(probe_or(answer))
    result, results = run(pytester, target.url, "--dicomweb-behavior", "GEN-05")
    assert result.parseoutcomes().get("failed", 0) >= 1
    assert result.parseoutcomes().get("error", 0) == 0
    texts = failure_texts(results, "GEN-05")
    assert any("not valid UTF-8 JSON" in t for t in texts), texts[:1]
    assert all(len(t) < 20_000 for t in texts)
    assert any(f"{len(huge)} bytes" in t for t in texts)


def test_cleanup_is_reached_and_reported_when_deletes_hang(
    pytester: pytest.Pytester, fake_target: Callable[[Handler], FakeTarget]
) -> None:
    """Every DELETE hangs past the timeout: the run still ends, each cleanup DELETE was sent, and
    what could not be removed is listed as left on the target with the reason."""

    def hang_on_delete(method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        if method == "DELETE":
            time.sleep(2)
            return 204, {}, b""
        if method == "POST":
            return STORED_OK
        return 404, {"Content-Type": "text/plain"}, b"not found"

    target = fake_target(probe_or(hang_on_delete))
    result, results = run(pytester, target.url, "--dicomweb-behavior", "STOW-09", "--dicomweb-timeout", "0.5")
    assert result.parseoutcomes().get("error", 0) == 0
    deleted = deleted_study_uids(target)
    assert deleted, "the cleanup sent its DELETEs"
    left = results["left_on_target"]
    problems = results["cleanup_problems"]
    assert left
    assert all("got no answer in time" in p for p in problems)
    assert {uid for uid in deleted if any(uid in item for item in left)} == deleted


def test_polling_is_bounded() -> None:
    """An operation that never finishes, and a search that never settles: the waits end at their
    timeout with a failure naming it (operations) or the last answer (searches)."""
    import httpx

    from conformance.checks.operations import wait_for_operation
    from conformance.client.client import DicomwebClient
    from conformance.core.errors import ConformanceFailure
    from conformance.suites._wado_qido_support import poll

    asked: list[str] = []

    def running(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        return httpx.Response(202, json={"id": "op", "status": "running"})

    client = DicomwebClient(httpx.Client(transport=httpx.MockTransport(running)), "http://target/v2")
    with pytest.raises(ConformanceFailure, match="did not finish within 0.2 s"):
        wait_for_operation(client, "op", timeout=0.2, interval=0.05)
    assert asked
    assert all(path == "/v2/operations/op" for path in asked)
    answers = iter(range(1_000_000))
    last = poll(lambda: next(answers), lambda n: False, timeout=0.2, interval=0.05)
    assert 1 <= last < 1_000_000
