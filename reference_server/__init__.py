"""Reference DICOMweb server of the conformance suite (Starlette + SQLite, Azure-compatible).

It depends on nothing of the suite: only the standard library, starlette, uvicorn, anyio,
pydicom and numpy.
"""

from __future__ import annotations

from reference_server.app import create_app
from reference_server.cli import main
from reference_server.config import ServerConfig

__all__ = ["ServerConfig", "create_app", "main"]
