"""Command line: ``python -m reference_server --host 127.0.0.1 --port 8080 --data DIR``."""

from __future__ import annotations

import argparse
import ipaddress
import logging
from pathlib import Path

import uvicorn

from reference_server.app import create_app
from reference_server.auth import (
    PASSWORD_VARIABLE,
    TOKEN_VARIABLE,
    USER_VARIABLE,
    AuthConfigError,
    AuthMode,
    AuthSettings,
)
from reference_server.config import DEFAULT_HOST, DEFAULT_MAX_PART_BYTES, DEFAULT_PORT, ServerConfig
from reference_server.partitions import PartitionsCannotBeDisabled

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
    parser.add_argument(
        "--partitions",
        action="store_true",
        help="enable data partitions: STOW, WADO, QIDO, delete and workitem routes then take /partitions/{name} "
        "after the version; once partitions exist the data directory cannot be served without it",
    )
    parser.add_argument(
        "--export-dir",
        type=Path,
        default=None,
        help='root folder of the server\'s own export destination ({"type": "localfolder", "settings": '
        '{"folder": NAME}} writes under ROOT/NAME); default DATA/exports',
    )
    parser.add_argument(
        "--auth",
        choices=[m.value for m in AuthMode],
        default=None,
        help=f"authentication of every route but /health/check: basic ({USER_VARIABLE}, {PASSWORD_VARIABLE}) or "
        f"bearer ({TOKEN_VARIABLE}), secrets from the environment only; default none on a loopback address, "
        "required on any other",
    )
    return parser


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable only from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def auth_settings(mode: str | None, host: str) -> AuthSettings:
    """GEN-08: off by default on loopback; elsewhere the operator must choose (``--auth none`` included)."""
    if mode is None:
        if not is_loopback(host):
            raise AuthConfigError(
                f"--host {host} is reachable from other machines: choose --auth basic or bearer "
                "(or --auth none to serve without authentication)"
            )
        mode = AuthMode.NONE.value
    return AuthSettings.from_environment(mode)


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
            partitions=args.partitions,
            export_dir=args.export_dir,
            auth=auth_settings(args.auth, args.host),
        )
    except ValueError as exc:
        parser.error(str(exc))
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.captureWarnings(True)  # library warnings go to the log, not to stderr as text
    try:
        app = create_app(config)
    except OSError as exc:
        parser.error(f"cannot use data directory {config.data_dir}: {exc}")
    except PartitionsCannotBeDisabled as exc:
        parser.error(str(exc))
    uvicorn.run(app, host=config.host, port=config.port, log_level=config.log_level)
    return 0
