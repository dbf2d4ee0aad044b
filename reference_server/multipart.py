"""Streaming ``multipart/related`` (RFC 2046 5.1, RFC 2387; PS3.18 8.6.1.2).

Requests: ``MultipartParser`` consumes the body chunk by chunk (as ``request.stream()`` yields
it) and spills each part to its own temporary file, so memory stays bounded whatever the
request size. A delimiter split across chunks is found because the tail of the buffer that
could be the start of one is always kept back. Limits are explicit: part size (413), header
block size and number of parts. A body that ends before the closing delimiter is malformed.

Responses: ``part_head`` / ``closing`` frame parts with a random boundary (interop pitfall 4).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import BinaryIO

import anyio

CRLF = b"\r\n"
FLUSH_BYTES = 1024 * 1024
MAX_BOUNDARY_LINE_PADDING = 1024


class MultipartError(Exception):
    """A malformed multipart body (400) or one over a limit (413)."""

    status = 400


class PartTooLargeError(MultipartError):
    """A part larger than the configured limit (STOW-03, AMB-23)."""

    status = 413


@dataclass(slots=True)
class Part:
    """One received part: its headers (names lower-cased) and the file holding its body."""

    headers: dict[str, str]
    path: Path
    size: int = 0

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")


class _State(enum.Enum):
    PREAMBLE = enum.auto()
    BOUNDARY_LINE = enum.auto()
    HEADERS = enum.auto()
    BODY = enum.auto()
    EPILOGUE = enum.auto()


HeaderCheck = Callable[[int, dict[str, str]], None]
FileFactory = Callable[[], tuple[BinaryIO, Path]]


@dataclass(slots=True)
class _OpenPart:
    """A part being received: its body stays in memory until FLUSH_BYTES, then goes to a file."""

    headers: dict[str, str]
    size: int = 0
    file: BinaryIO | None = None
    path: Path | None = None
    pending: list[bytes] = field(default_factory=list)
    pending_size: int = 0


class MultipartParser:
    """Incremental parser; ``feed`` every chunk, then ``finish``; ``cleanup`` on any failure."""

    def __init__(
        self,
        boundary: str,
        *,
        new_file: FileFactory,
        max_part_bytes: int,
        max_header_bytes: int = 16 * 1024,
        max_parts: int = 10_000,
        check_headers: HeaderCheck | None = None,
    ) -> None:
        if not boundary or len(boundary) > 200:
            raise MultipartError("the multipart boundary must be 1 to 200 characters long")
        self._delimiter = CRLF + b"--" + boundary.encode("latin-1")
        self._new_file = new_file
        self._max_part_bytes = max_part_bytes
        self._max_header_bytes = max_header_bytes
        self._max_parts = max_parts
        self._check_headers = check_headers
        # The first delimiter may open the body without a CRLF before it; a virtual CRLF
        # in front of the body lets one search handle both cases.
        self._buffer = bytearray(CRLF)
        self._state = _State.PREAMBLE
        self._open: _OpenPart | None = None
        self._count = 0  # parts started, the open one included
        self.parts: list[Part] = []

    async def feed(self, chunk: bytes) -> None:
        """Consume one chunk of the body."""
        if self._state is _State.EPILOGUE:
            return  # the epilogue is ignored (RFC 2046)
        self._buffer += chunk
        while await self._step():
            pass

    async def finish(self) -> list[Part]:
        """End of the body: the closing delimiter must have been seen."""
        if self._state is not _State.EPILOGUE:
            raise MultipartError("the multipart body is truncated: it ends before the closing boundary")
        return self.parts

    async def cleanup(self) -> None:
        """Close and delete every spill file (after a failure, or once the parts are used)."""
        paths = [part.path for part in self.parts]
        current, self._open = self._open, None
        if current is not None and current.file is not None and current.path is not None:
            await anyio.to_thread.run_sync(current.file.close)
            paths.append(current.path)
        if paths:
            await anyio.to_thread.run_sync(_unlink_all, paths)

    async def _step(self) -> bool:
        """Advance the state machine once; False when more input is needed."""
        state = self._state
        if state is _State.PREAMBLE:
            return self._skip_preamble()
        if state is _State.BOUNDARY_LINE:
            return self._boundary_line()
        if state is _State.HEADERS:
            return await self._headers()
        if state is _State.BODY:
            return await self._body()
        return False

    def _skip_preamble(self) -> bool:
        index = self._buffer.find(self._delimiter)
        if index < 0:
            keep = len(self._delimiter) - 1
            if len(self._buffer) > keep:
                del self._buffer[: len(self._buffer) - keep]
            return False
        del self._buffer[: index + len(self._delimiter)]
        self._state = _State.BOUNDARY_LINE
        return True

    def _boundary_line(self) -> bool:
        """After a delimiter: ``--`` closes the body, else optional padding then CRLF."""
        if len(self._buffer) < 2:
            return False
        if self._buffer.startswith(b"--"):
            self._state = _State.EPILOGUE
            self._buffer.clear()
            return False
        end = self._buffer.find(CRLF)
        if end < 0:
            if len(self._buffer) > MAX_BOUNDARY_LINE_PADDING:
                raise MultipartError("a multipart boundary line is not followed by CRLF")
            return False
        if self._buffer[:end].strip(b" \t"):
            raise MultipartError("a multipart boundary is followed by unexpected characters")
        del self._buffer[: end + 2]
        self._state = _State.HEADERS
        return True

    async def _headers(self) -> bool:
        if self._buffer.startswith(CRLF):
            raw = b""
            del self._buffer[:2]
        else:
            end = self._buffer.find(CRLF + CRLF)
            # The limit holds whether the header block came in one chunk or in many.
            if (end < 0 and len(self._buffer) > self._max_header_bytes) or end > self._max_header_bytes:
                raise MultipartError(f"the headers of a part exceed {self._max_header_bytes} bytes")
            if end < 0:
                return False
            raw = bytes(self._buffer[:end])
            del self._buffer[: end + 4]
        if self._count >= self._max_parts:
            raise PartTooLargeError(f"the request has more than {self._max_parts} parts")
        headers = _parse_headers(raw)
        if self._check_headers is not None:
            self._check_headers(self._count, headers)
        self._count += 1
        # No file yet: a small part is written in one go when it ends (one thread hop, not three).
        self._open = _OpenPart(headers)
        self._state = _State.BODY
        return True

    async def _body(self) -> bool:
        assert self._open is not None
        index = self._buffer.find(self._delimiter)
        if index < 0:
            # Keep back what could be the beginning of a delimiter split across chunks.
            safe = len(self._buffer) - (len(self._delimiter) - 1)
            if safe > 0:
                await self._write(bytes(self._buffer[:safe]))
                del self._buffer[:safe]
            return False
        await self._write(bytes(self._buffer[:index]))
        del self._buffer[: index + len(self._delimiter)]
        await self._close_part()
        self._state = _State.BOUNDARY_LINE
        return True

    async def _write(self, data: bytes) -> None:
        assert self._open is not None
        if not data:
            return
        current = self._open
        current.size += len(data)
        if current.size > self._max_part_bytes:
            raise PartTooLargeError(f"a part is larger than the limit of {self._max_part_bytes} bytes")
        current.pending.append(data)
        current.pending_size += len(data)
        if current.pending_size >= FLUSH_BYTES:
            await self._flush()

    async def _flush(self) -> None:
        assert self._open is not None
        current = self._open
        data = b"".join(current.pending)
        current.pending.clear()
        current.pending_size = 0
        if current.file is None:
            current.file, current.path = await anyio.to_thread.run_sync(_open_with, self._new_file, data)
        elif data:
            await anyio.to_thread.run_sync(current.file.write, data)

    async def _close_part(self) -> None:
        assert self._open is not None
        current = self._open
        if current.file is None:
            path = await anyio.to_thread.run_sync(_write_new, self._new_file, b"".join(current.pending))
        else:
            await self._flush()
            await anyio.to_thread.run_sync(current.file.close)
            assert current.path is not None
            path = current.path
        self.parts.append(Part(headers=current.headers, path=path, size=current.size))
        self._open = None


def _open_with(new_file: FileFactory, data: bytes) -> tuple[BinaryIO, Path]:
    """A new spill file holding ``data``, left open for more."""
    file, path = new_file()
    try:
        file.write(data)
    except BaseException:
        file.close()
        path.unlink(missing_ok=True)
        raise
    return file, path


def _write_new(new_file: FileFactory, data: bytes) -> Path:
    """A new spill file holding ``data``, closed."""
    file, path = _open_with(new_file, data)
    file.close()
    return path


def _unlink_all(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _parse_headers(raw: bytes) -> dict[str, str]:
    """Part headers (RFC 5322 style); names lower-cased, folded lines joined."""
    headers: dict[str, str] = {}
    last: str | None = None
    for line in raw.decode("latin-1").split("\r\n"):
        if not line:
            continue
        if line[0] in " \t" and last is not None:
            headers[last] += " " + line.strip()
            continue
        name, colon, value = line.partition(":")
        name = name.strip().lower()
        if not colon or not name:
            raise MultipartError(f"malformed part header line {line[:80]!r}")
        headers[name] = value.strip()
        last = name
    return headers


async def spill_body(stream: AsyncIterator[bytes], new_file: FileFactory, *, max_bytes: int) -> tuple[Path, int]:
    """Write a whole single-part body to a spill file (STOW single-part form); 413 over the limit."""
    file, path = await anyio.to_thread.run_sync(new_file)
    size = 0
    pending: list[bytes] = []
    pending_size = 0
    try:
        async for chunk in stream:
            size += len(chunk)
            if size > max_bytes:
                raise PartTooLargeError(f"the DICOM file is larger than the limit of {max_bytes} bytes")
            pending.append(chunk)
            pending_size += len(chunk)
            if pending_size >= FLUSH_BYTES:
                await anyio.to_thread.run_sync(file.write, b"".join(pending))
                pending.clear()
                pending_size = 0
        if pending:
            await anyio.to_thread.run_sync(file.write, b"".join(pending))
    except BaseException:
        await anyio.to_thread.run_sync(file.close)
        await anyio.to_thread.run_sync(partial(path.unlink, missing_ok=True))
        raise
    await anyio.to_thread.run_sync(file.close)
    return path, size


async def drain(stream: AsyncIterator[bytes], limit: int) -> None:
    """Read and discard the rest of a refused body, up to ``limit`` bytes.

    Answering before the client has finished sending makes many clients fail with a broken
    pipe instead of reading the answer; a bounded drain avoids that without risking a hang.
    """
    seen = 0
    try:
        async for chunk in stream:
            seen += len(chunk)
            if seen > limit:
                return
    except Exception:  # the client went away, or the body was already consumed
        return


def new_boundary() -> str:
    """A random boundary for a response (never a fixed word that could occur in the data)."""
    return uuid.uuid4().hex


def part_head(boundary: str, headers: list[tuple[str, str]], *, first: bool) -> bytes:
    """Delimiter line and headers of one response part, up to the empty line."""
    lines = [f"{name}: {value}" for name, value in headers]
    prefix = b"" if first else CRLF
    return prefix + b"--" + boundary.encode("ascii") + CRLF + "\r\n".join(lines).encode("latin-1") + CRLF + CRLF


def closing(boundary: str) -> bytes:
    return CRLF + b"--" + boundary.encode("ascii") + b"--" + CRLF
