"""Store Instances (STOW-RS, PS3.18 10.5), including the non-standard single-part form."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from conformance.client.base import BaseClient, TypeParam
from conformance.client.responses import StoreResponse
from conformance.core.instances import DicomFile
from conformance.core.media_types import DICOM, DICOM_JSON, multipart_related
from conformance.core.multipart import encode_multipart_related, new_boundary


class StoreMixin(BaseClient):
    """Store Instances (STOW-RS, PS3.18 10.5), including the non-standard single-part form."""

    def store_instances(
        self,
        files: Sequence[DicomFile],
        study_uid: str | None = None,
        *,
        accept: str | None = DICOM_JSON,
        type_param: TypeParam = "quoted",
        part_headers: Callable[[DicomFile], Sequence[tuple[str, str]]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> StoreResponse:
        """Store Instances: one ``application/dicom`` part per file."""
        boundary = new_boundary()
        body = encode_multipart_related(
            ((part_headers(f) if part_headers else [("Content-Type", DICOM)], f.data) for f in files),
            boundary=boundary,
        )
        if type_param == "absent":
            content_type = f"multipart/related; boundary={boundary}"
        else:
            content_type = multipart_related(DICOM, boundary, quote_type=type_param == "quoted")
        return self.store_body(body, content_type, study_uid, accept=accept, headers=headers, sent=files)

    def store_single_part(
        self,
        file: DicomFile,
        study_uid: str | None = None,
        *,
        content_type: str = DICOM,
        accept: str | None = DICOM_JSON,
    ) -> StoreResponse:
        """The non-standard single-part upload: the body is one Part-10 file."""
        return self.store_body(file.data, content_type, study_uid, accept=accept, sent=[file])

    def store_body(
        self,
        body: bytes,
        content_type: str | None,
        study_uid: str | None = None,
        *,
        accept: str | None = DICOM_JSON,
        headers: Mapping[str, str] | None = None,
        sent: Iterable[DicomFile] = (),
    ) -> StoreResponse:
        """Store a hand-made body; ``sent`` names the files it contains, for the cleanup."""
        self._announce(sent)
        all_headers = dict(headers or {})
        if content_type is not None:
            all_headers["Content-Type"] = content_type
        if accept is not None:
            all_headers["Accept"] = accept
        path = self.study_path(study_uid) if study_uid is not None else "studies"
        return self._send("POST", path, StoreResponse, headers=all_headers, content=body)
