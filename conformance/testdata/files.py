"""``DicomFile`` values for written data sets: the identifiers come from the data set itself."""

from __future__ import annotations

from pydicom import Dataset

from conformance.core.instances import DicomFile


def _text(ds: Dataset, keyword: str) -> str | None:
    value = ds.get(keyword)
    return None if value is None else str(value)


def dicom_file(
    ds: Dataset,
    data: bytes,
    *,
    label: str,
    transfer_syntax: str | None,
    study_uid: str | None = None,
    series_uid: str | None = None,
) -> DicomFile:
    """``data``, written from ``ds``, with the study, series, instance and class UIDs ``ds`` holds.

    An attribute that is absent gives None. ``study_uid`` / ``series_uid`` override what ``ds``
    says, for files whose value in the file is not the identifier (a padded UID, say).
    """
    return DicomFile(
        data=data,
        label=label,
        study_uid=study_uid if study_uid is not None else _text(ds, "StudyInstanceUID"),
        series_uid=series_uid if series_uid is not None else _text(ds, "SeriesInstanceUID"),
        sop_instance_uid=_text(ds, "SOPInstanceUID"),
        sop_class_uid=_text(ds, "SOPClassUID"),
        transfer_syntax=transfer_syntax,
        dataset=ds,
    )
