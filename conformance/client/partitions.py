"""Data partitions (DDP): the partition list, never partitioned itself (PART-04, PART-09)."""

from __future__ import annotations

import uuid

from conformance.client.base import BaseClient
from conformance.client.responses import DicomwebResponse

#: Every partition the suite names starts with this, so a service owner can tell them apart.
PARTITION_PREFIX = "dwc-"


def fresh_partition_name(length: int = 16) -> str:
    """A partition name nobody else uses: ``dwc-`` and random hex digits, ``length`` characters in
    all (5 to 64; PART-02 allows 64 of ``A-Z a-z 0-9 . - _``)."""
    if not len(PARTITION_PREFIX) < length <= 64:
        raise ValueError(f"a partition name of {length} characters cannot be fresh and valid")
    digits = "".join(uuid.uuid4().hex for _ in range(2))
    return PARTITION_PREFIX + digits[: length - len(PARTITION_PREFIX)]


class PartitionsMixin(BaseClient):
    """Data partitions (DDP): the partition list. The partitioned routes themselves are reached
    through ``in_partition``."""

    def list_partitions(self, *, accept: str | None = "application/json") -> DicomwebResponse:
        """``GET {v}/partitions`` (at the version root, whatever partition this client addresses)."""
        headers = {"Accept": accept} if accept is not None else None
        return self.request("GET", f"{self.version_root}/partitions", headers=headers)
