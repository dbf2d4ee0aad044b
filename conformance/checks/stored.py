"""Checks that a STOW answer told the truth: what it acknowledged is really there, what it
refused is really not (interop pitfall 1: "never answer 2xx without storing")."""

from __future__ import annotations

import io
import warnings

from pydicom import dcmread
from pydicom.errors import InvalidDicomError

from conformance.client.client import MULTIPART_DICOM_ANY, DicomwebClient
from conformance.client.responses import RetrieveResponse
from conformance.core.errors import ConformanceFailure
from conformance.core.instances import DicomFile

PREAMBLE = 128


def stored_bytes_match(sent: bytes, returned: bytes) -> bool:
    """Equal apart from the 128-byte preamble, which the service may zero (GEN-09)."""
    return len(sent) == len(returned) and sent[PREAMBLE:] == returned[PREAMBLE:]


def _retrieve(client: DicomwebClient, file: DicomFile) -> RetrieveResponse:
    if not (file.study_uid and file.series_uid and file.sop_instance_uid):
        raise ValueError(f"{file.label}: a file without identifiers cannot be retrieved")
    return client.retrieve_instance(file.study_uid, file.series_uid, file.sop_instance_uid, accept=MULTIPART_DICOM_ANY)


def expect_stored(client: DicomwebClient, file: DicomFile, *, why: str) -> bytes:
    """WADO-RS retrieval of ``file`` (``transfer-syntax=*``) gives 200 and a Part-10 file with its
    SOP Instance UID; returns the bytes retrieved."""
    response = _retrieve(client, file)
    if response.status != 200:
        raise ConformanceFailure(
            why,
            expected=f"instance {file.sop_instance_uid} retrievable (WADO-RS 200)",
            received=f"status {response.status}",
            exchange=response.exchange,
        )
    bodies = response.part_bodies()
    if len(bodies) != 1:
        raise ConformanceFailure(
            why,
            expected="exactly one instance in the retrieve answer",
            received=f"{len(bodies)} parts",
            exchange=response.exchange,
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = dcmread(io.BytesIO(bodies[0]), stop_before_pixels=True)
    except (InvalidDicomError, Exception) as exc:  # any reader error means "not a DICOM file"
        raise ConformanceFailure(
            why, expected="a DICOM Part-10 file", received=f"unreadable: {exc}", exchange=response.exchange
        ) from None
    uid = str(ds.get("SOPInstanceUID", ""))
    if uid != file.sop_instance_uid:
        raise ConformanceFailure(
            why,
            expected=f"SOPInstanceUID {file.sop_instance_uid}",
            received=f"SOPInstanceUID {uid or 'absent'}",
            exchange=response.exchange,
        )
    return bodies[0]


def expect_not_stored(client: DicomwebClient, file: DicomFile, *, why: str) -> None:
    """WADO-RS retrieval of ``file`` gives 404: nothing of it was kept."""
    response = _retrieve(client, file)
    if response.status != 404:
        raise ConformanceFailure(
            why,
            expected=f"instance {file.sop_instance_uid} not retrievable (404)",
            received=f"status {response.status}",
            exchange=response.exchange,
        )
