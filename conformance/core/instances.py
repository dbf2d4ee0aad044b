"""``DicomFile``: bytes the suite sends to a target, with the identifiers they carry."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydicom import Dataset


@dataclass(frozen=True, slots=True, eq=False)
class DicomFile:
    """A (possibly deliberately broken) Part-10 file and what the suite knows about it.

    ``dataset`` is the dataset the bytes were written from, kept for attribute-by-attribute
    comparison with what a target returns; it is None for bytes that are not DICOM at all.
    """

    data: bytes
    label: str
    study_uid: str | None = None
    series_uid: str | None = None
    sop_instance_uid: str | None = None
    sop_class_uid: str | None = None
    transfer_syntax: str | None = None
    dataset: Dataset | None = field(default=None, repr=False)

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def identifies_instance(self) -> bool:
        return bool(self.study_uid and self.series_uid and self.sop_instance_uid)
