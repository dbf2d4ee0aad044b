"""Stored files: one Part-10 file per instance under ``<data>/objects/p{partition key}``.

Uploads are spilled to ``<data>/tmp`` while the request is read; once an instance is accepted
its spill file gets a zeroed preamble (GEN-09), is flushed to disk (fsync) and is moved into
place with ``os.replace``. The spill area lies inside the data directory, on the same file
system, so the move is atomic: a stored path never shows a partial file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import BinaryIO

from reference_server.structure import PREAMBLE_LENGTH

logger = logging.getLogger("reference_server")


class Storage:
    """Files of one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.objects_dir = data_dir / "objects"
        self.spill_dir = data_dir / "tmp"
        self.objects_dir.mkdir(parents=True, exist_ok=True)
        # Spill files left by an earlier run that stopped mid-request are of no use.
        shutil.rmtree(self.spill_dir, ignore_errors=True)
        self.spill_dir.mkdir(parents=True, exist_ok=True)

    def new_spill_file(self) -> tuple[BinaryIO, Path]:
        """An empty temporary file for one uploaded part, open for writing."""
        fd, name = tempfile.mkstemp(prefix="part-", suffix=".bin", dir=self.spill_dir)
        return os.fdopen(fd, "wb"), Path(name)

    @staticmethod
    def prepare(spill_path: Path) -> None:
        """GEN-09: replace the 128-byte preamble with zeros, then flush the file to disk."""
        with open(spill_path, "r+b") as fp:
            fp.write(b"\0" * PREAMBLE_LENGTH)
            fp.flush()
            os.fsync(fp.fileno())

    def place(self, spill_path: Path, partition: int) -> str:
        """Move a prepared spill file to its final place in the folder of ``partition`` (PART-07);
        returns the path relative to the data dir."""
        name = uuid.uuid4().hex
        folder = self.objects_dir / f"p{partition}" / name[:2] / name[2:4]
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"{name}.dcm"
        os.replace(spill_path, final)
        _fsync_directory(folder)
        return final.relative_to(self.data_dir).as_posix()

    @staticmethod
    def remove(path: Path) -> None:
        """Remove a file; a file already gone is fine."""
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

    def remove_relative(self, relative_path: str) -> None:
        self.remove(self.data_dir / relative_path)


def _fsync_directory(folder: Path) -> None:
    """Make the rename durable (POSIX); harmless to skip where directories cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        logger.debug("fsync of %s not supported", folder)
    finally:
        os.close(fd)
