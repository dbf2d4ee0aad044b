"""``ServerConfig``: everything the reference server needs to know to run, frozen."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from reference_server.auth import AuthSettings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
# GEN-13 / AMB-23: a part larger than the limit is refused with 413. The Azure service allows
# 2,147,483,647 bytes; this small server documents 128 MiB (its profile says so), which keeps
# the limit testable with an upload a CI machine can afford. --max-part-bytes raises it.
DEFAULT_MAX_PART_BYTES = 128 * 1024 * 1024
# GEN-13 / WADO-10: transcoding refuses files over 100 MiB.
DEFAULT_TRANSCODE_MAX_BYTES = 104_857_600
# Part headers of a multipart request: generous, but a bound (a header block is never megabytes).
DEFAULT_MAX_HEADER_BYTES = 16 * 1024
DEFAULT_MAX_PARTS = 10_000


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Settings of one server instance.

    ``data_dir`` holds the SQLite index, the stored files and the spill area of uploads;
    it is created when missing.
    """

    data_dir: Path
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    max_part_bytes: int = DEFAULT_MAX_PART_BYTES
    transcode_max_bytes: int = DEFAULT_TRANSCODE_MAX_BYTES
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    max_parts: int = DEFAULT_MAX_PARTS
    log_level: str = "info"
    # PART-01..09: data partitions; partitionable routes then need /partitions/{name}.
    partitions: bool = False
    # GEN-08: none, basic or bearer, with the secrets from the environment (reference_server.auth).
    auth: AuthSettings = field(default_factory=AuthSettings)
    # EXP-01..05: the root of the server's own export destination (``localfolder``); None means
    # ``<data_dir>/exports``. Exports never write outside it.
    export_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.max_part_bytes < 1:
            raise ValueError(f"max_part_bytes must be positive, got {self.max_part_bytes}")
        if self.transcode_max_bytes < 0:
            raise ValueError(f"transcode_max_bytes must not be negative, got {self.transcode_max_bytes}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be within 0..65535, got {self.port}")
