"""Plain records passed between the store, the index and the retrieve code."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

JsonObject = dict[str, Any]

# PART-01: the partition that always exists, and holds everything stored with the feature off.
DEFAULT_PARTITION_KEY = 1
DEFAULT_PARTITION_NAME = "Microsoft.Default"


@dataclass(frozen=True, slots=True)
class Partition:
    """A data partition (PART-09): its system-assigned key, its name and when it was created."""

    key: int
    name: str
    created_date: str

    def to_json(self) -> JsonObject:
        """The partition as ``GET /partitions`` lists it (camelCase, GEN-11)."""
        return {"partitionKey": self.key, "partitionName": self.name, "createdDate": self.created_date}


@dataclass(frozen=True, slots=True)
class PixelInfo:
    """Where an instance's Pixel Data lies in its file and how frames are laid out."""

    offset: int
    length: int | None  # None: encapsulated (undefined length)
    rows: int
    columns: int
    samples_per_pixel: int
    bits_allocated: int
    number_of_frames: int

    def to_json(self) -> JsonObject:
        return asdict(self)

    @classmethod
    def from_json(cls, data: JsonObject) -> PixelInfo:
        return cls(**data)

    @property
    def frame_bits(self) -> int:
        return self.rows * self.columns * self.samples_per_pixel * self.bits_allocated


@dataclass(frozen=True, slots=True)
class NewInstance:
    """Everything the index keeps about an instance being stored."""

    study_uid: str
    series_uid: str
    sop_uid: str
    sop_class_uid: str
    transfer_syntax: str
    file_size: int
    pixel: PixelInfo | None
    metadata: JsonObject
    dropped: tuple[int, ...]

    @property
    def frame_count(self) -> int:
        return self.pixel.number_of_frames if self.pixel else 0


@dataclass(frozen=True, slots=True)
class StoredInstance:
    """An instance as the index knows it; ``path`` is absolute."""

    key: int
    study_uid: str
    series_uid: str
    sop_uid: str
    sop_class_uid: str
    path: Path
    file_size: int
    transfer_syntax: str
    frame_count: int
    pixel: PixelInfo | None
