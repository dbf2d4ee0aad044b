"""The streaming multipart/related parser and its HTTP mapping (STOW-03, AMB-23)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

import anyio
import pytest

from reference_server.multipart import MultipartError, MultipartParser, PartTooLargeError

from .dicom_factory import build, multipart, related
from .harness import Client, ClientFactory

JSON = {"Accept": "application/dicom+json"}


def parse(body: bytes, chunk: int, tmp_path: Path, **options: int) -> list[tuple[dict[str, str], bytes]]:
    def new_file() -> tuple[BinaryIO, Path]:
        fd, name = tempfile.mkstemp(dir=tmp_path)
        return os.fdopen(fd, "wb"), Path(name)

    async def run() -> list[tuple[dict[str, str], bytes]]:
        parser = MultipartParser("XBOUNDARYX", new_file=new_file, max_part_bytes=options.get("limit", 10**9))
        try:
            for start in range(0, len(body), chunk):
                await parser.feed(body[start : start + chunk])
            parts = await parser.finish()
            return [(part.headers, part.path.read_bytes()) for part in parts]
        finally:
            await parser.cleanup()

    return anyio.run(run)


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 13, 64, 4096])
def test_boundary_split_across_chunks(tmp_path: Path, chunk: int) -> None:
    bodies = [b"first\r\n--XBOUNDARY", b"", b"x--XBOUNDARYX\r\n--XBOUNDAR\r\n-"]
    body = b"preamble text\r\n" + multipart(bodies) + b"epilogue"
    parsed = parse(body, chunk, tmp_path)
    assert [content for _, content in parsed] == bodies
    assert parsed[0][0] == {"content-type": "application/dicom"}


def test_quoted_transport_padding_and_no_headers(tmp_path: Path) -> None:
    body = b"--XBOUNDARYX  \r\n\r\nabc\r\n--XBOUNDARYX--"
    assert parse(body, 5, tmp_path) == [({}, b"abc")]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"--XBOUNDARYX\r\nContent-Type: application/dicom\r\n\r\nabc",
        b"--XBOUNDARYX\r\nContent-Type: application/dicom\r\n\r\nabc\r\n--XBOUNDARYX",
        b"--XBOUNDARYXjunk\r\n\r\nabc\r\n--XBOUNDARYX--",
        b"--XBOUNDARYX\r\nno colon here\r\n\r\nabc\r\n--XBOUNDARYX--",
    ],
)
def test_malformed_bodies(tmp_path: Path, body: bytes) -> None:
    with pytest.raises(MultipartError) as caught:
        parse(body, 3, tmp_path)
    assert caught.value.status == 400


def test_part_limit(tmp_path: Path) -> None:
    with pytest.raises(PartTooLargeError):
        parse(multipart([b"x" * 11]), 4, tmp_path, limit=10)
    assert parse(multipart([b"x" * 10]), 4, tmp_path, limit=10)[0][1] == b"x" * 10
    assert list(tmp_path.iterdir()) == []  # spill files are removed


def test_truncated_request_is_400(client: Client) -> None:
    body = multipart([build().data])[:-20]
    response = client.post("/v2/studies", content=body, headers={**JSON, "Content-Type": related()})
    assert response.status_code == 400
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


def test_part_over_limit_is_413_and_nothing_stored(make_client: ClientFactory) -> None:
    client = make_client(max_part_bytes=1000)
    small, large = build(), build(frames=8, rows=16, columns=16)
    response = client.post(
        "/v2/studies", content=multipart([small.data, large.data]), headers={**JSON, "Content-Type": related()}
    )
    assert response.status_code == 413
    assert client.get(f"/v2/studies/{small.study}", headers={"Accept": "*/*"}).status_code == 404
    single = client.post("/v2/studies", content=large.data, headers={**JSON, "Content-Type": "application/dicom"})
    assert single.status_code == 413


def test_chunked_upload(client: Client) -> None:
    instance = build(frames=4)
    body = multipart([instance.data])

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 97):
            yield body[start : start + 97]

    response = client.post("/v2/studies", content=chunks(), headers={**JSON, "Content-Type": related()})
    assert response.status_code == 200
