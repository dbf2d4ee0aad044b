"""Command line: ``python -m reference_server --host 127.0.0.1 --port 8080 --data DIR``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import uvicorn

from reference_server.app import create_app
from reference_server.config import DEFAULT_HOST, DEFAULT_MAX_PART_BYTES, DEFAULT_PORT, ServerConfig

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m reference_server",
        description="Reference DICOMweb server (Azure-compatible, API v1 and v2) of the conformance suite.",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to bind (default {DEFAULT_PORT})")
    parser.add_argument("--data", type=Path, required=True, help="data directory (created when missing)")
    parser.add_argument(
        "--max-part-bytes",
        type=int,
        default=DEFAULT_MAX_PART_BYTES,
        help=f"largest accepted STOW part in bytes; larger ones get 413 (default {DEFAULT_MAX_PART_BYTES})",
    )
    parser.add_argument("--log-level", default="info", choices=LOG_LEVELS, help="log level (default info)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the server until interrupted; the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = ServerConfig(
            data_dir=args.data,
            host=args.host,
            port=args.port,
            max_part_bytes=args.max_part_bytes,
            log_level=args.log_level,
        )
    except ValueError as exc:
        parser.error(str(exc))
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.captureWarnings(True)  # library warnings go to the log, not to stderr as text
    try:
        app = create_app(config)
    except OSError as exc:
        parser.error(f"cannot use data directory {config.data_dir}: {exc}")
    uvicorn.run(app, host=config.host, port=config.port, log_level=config.log_level)
    return 0
