"""Where the data folders (``schemas/``, ``fixtures/``) are, installed or in a checkout.

A wheel carries them inside the package as ``conformance/_data/<name>``; in a source
checkout (including an editable install) they are the repository's top-level folders.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


@cache
def data_dir(name: str) -> Path:
    """The folder ``name`` (``"schemas"`` or ``"fixtures"``)."""
    for candidate in (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"data folder {name!r} is neither packaged nor beside the package")
