"""Small DICOM files built with pydicom for the server tests (UIDs under ``2.25.``)."""

from __future__ import annotations

import io
import uuid
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"


def new_uid() -> str:
    return f"2.25.{uuid.uuid4().int}"


@dataclass(frozen=True)
class Instance:
    data: bytes
    study: str
    series: str
    sop: str
    sop_class: str = CT_IMAGE


def build(
    *,
    study: str | None = None,
    series: str | None = None,
    sop: str | None = None,
    transfer_syntax: str = ExplicitVRLittleEndian,
    frames: int = 0,
    rows: int = 4,
    columns: int = 4,
    omit: Iterable[str] = (),
    raw: dict[int, tuple[str, bytes]] | None = None,
    preamble: bytes = b"\0" * 128,
    **attributes: Any,
) -> Instance:
    """A Part-10 file; ``attributes`` set by keyword, ``raw`` sets (tag -> (VR, bytes)) verbatim."""
    study = study or new_uid()
    series = series or new_uid()
    sop = sop or new_uid()
    ds = Dataset()
    defaults: dict[str, Any] = {
        "SOPClassUID": CT_IMAGE,
        "SOPInstanceUID": sop,
        "StudyInstanceUID": study,
        "SeriesInstanceUID": series,
        "PatientID": "PID-1",
        "PatientName": "Doe^John",
        "StudyDate": "20240102",
        "Modality": "CT",
    }
    defaults.update(attributes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for keyword, value in defaults.items():
            if keyword not in omit:
                setattr(ds, keyword, value)
        if frames:
            ds.Rows, ds.Columns = rows, columns
            ds.SamplesPerPixel = 1
            ds.PhotometricInterpretation = "MONOCHROME2"
            ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
            ds.NumberOfFrames = frames
            pixels = np.arange(frames * rows * columns, dtype=np.uint16)
            big = transfer_syntax == ExplicitVRBigEndian
            ds.PixelData = pixels.astype(">u2" if big else "<u2").tobytes()
        for tag, (vr, value) in (raw or {}).items():
            ds.add_new(tag, vr, value)
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = UID(CT_IMAGE)
        ds.file_meta.MediaStorageSOPInstanceUID = UID(sop.rstrip() or new_uid())
        ds.file_meta.TransferSyntaxUID = UID(transfer_syntax)
        out = io.BytesIO()
        ds.preamble = preamble
        ds.save_as(
            out,
            enforce_file_format=True,
            implicit_vr=transfer_syntax == ImplicitVRLittleEndian,
            little_endian=transfer_syntax != ExplicitVRBigEndian,
        )
    return Instance(out.getvalue(), study, series, sop)


def frame_bytes(instance_frames: int, index: int, rows: int = 4, columns: int = 4) -> bytes:
    pixels = np.arange(instance_frames * rows * columns, dtype=np.uint16)
    size = rows * columns
    return pixels[index * size : (index + 1) * size].astype("<u2").tobytes()


def multipart(
    parts: list[bytes], boundary: str = "XBOUNDARYX", content_type: str | None = "application/dicom"
) -> bytes:
    out = b""
    for part in parts:
        out += b"--" + boundary.encode() + b"\r\n"
        if content_type is not None:
            out += f"Content-Type: {content_type}\r\n".encode()
        out += b"\r\n" + part + b"\r\n"
    return out + b"--" + boundary.encode() + b"--\r\n"


def related(boundary: str = "XBOUNDARYX") -> str:
    return f'multipart/related; type="application/dicom"; boundary={boundary}'
