"""Frozen response objects, one per kind of DICOMweb answer.

Each keeps the raw ``httpx`` request and response and the recorded ``Exchange``. Parsing
accessors are strict and raise ``MalformedResponse`` (a conformance failure) naming what was
wrong, so a garbage answer becomes a named failure rather than a crash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import httpx
from pydicom import Dataset

from conformance.client.exchange import Exchange
from conformance.core.dicom_json import DicomJsonError, dataset_from_json
from conformance.core.errors import MalformedResponse
from conformance.core.media_types import MediaType, MediaTypeError, parse_media_type
from conformance.core.multipart import MultipartError, MultipartMessage, parse_multipart_related


@dataclass(frozen=True, eq=False)
class DicomwebResponse:
    """Any answer of the target."""

    exchange: Exchange
    raw: httpx.Response

    @property
    def status(self) -> int:
        return self.raw.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.raw.headers

    @property
    def content(self) -> bytes:
        return self.raw.content

    def header(self, name: str) -> str | None:
        value: str | None = self.raw.headers.get(name)
        return value

    def header_values(self, name: str) -> list[str]:
        return self.raw.headers.get_list(name)

    def media_type(self) -> MediaType | None:
        """The parsed Content-Type, or None when absent; malformed values are failures."""
        value = self.header("content-type")
        if value is None:
            return None
        try:
            return parse_media_type(value)
        except MediaTypeError as exc:
            raise self.malformed(f"Content-Type {value!r} is not a media type: {exc}") from None

    def text(self) -> str:
        try:
            return self.content.decode("utf-8")
        except UnicodeDecodeError:
            raise self.malformed("body is not UTF-8 text") from None

    def json(self) -> Any:
        if not self.content:
            raise self.malformed("body is empty where JSON was expected")
        try:
            return json.loads(self.content.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise self.malformed(f"body is not valid UTF-8 JSON: {exc}") from None

    def multipart(self) -> MultipartMessage:
        ctype = self.header("content-type")
        if ctype is None:
            raise self.malformed("multipart answer has no Content-Type")
        try:
            return parse_multipart_related(self.content, ctype)
        except MultipartError as exc:
            raise self.malformed(f"malformed multipart/related body: {exc}") from None

    def malformed(self, message: str) -> MalformedResponse:
        return MalformedResponse(message, exchange=self.exchange)


def _first(ds: Dataset, keyword: str) -> Any:
    element = ds.get(keyword)
    if element is None:
        return None
    value = element.value if hasattr(element, "value") else element
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        return value[0] if len(value) else None
    return value


@dataclass(frozen=True, slots=True)
class ReferencedInstance:
    """One item of ReferencedSOPSequence (0008,1199), PS3.18 Table I.1-1."""

    raw: dict[str, Any]
    sop_class_uid: str | None
    sop_instance_uid: str | None
    retrieve_url: str | None
    warning_reason: int | None
    error_comments: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class FailedInstance:
    """One item of FailedSOPSequence (0008,1198), PS3.18 Table I.1-1."""

    raw: dict[str, Any]
    sop_class_uid: str | None
    sop_instance_uid: str | None
    failure_reason: int | None
    error_comments: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class StoreResult:
    """The Store Instances Response Module (PS3.18 I.1) of a STOW-RS answer."""

    raw: dict[str, Any]
    retrieve_url: str | None
    referenced: tuple[ReferencedInstance, ...]
    failed: tuple[FailedInstance, ...]

    def referenced_uid(self, sop_instance_uid: str) -> ReferencedInstance | None:
        return next((r for r in self.referenced if r.sop_instance_uid == sop_instance_uid), None)

    def failed_uid(self, sop_instance_uid: str) -> FailedInstance | None:
        return next((f for f in self.failed if f.sop_instance_uid == sop_instance_uid), None)


def _comments(item: Dataset) -> tuple[str, ...] | None:
    if "FailedAttributesSequence" not in item:
        return None
    return tuple(str(sub.get("ErrorComment", "")) for sub in item.FailedAttributesSequence)


@dataclass(frozen=True, eq=False)
class StoreResponse(DicomwebResponse):
    """Answer to Store Instances (STOW-RS, PS3.18 10.5)."""

    @cached_property
    def result(self) -> StoreResult:
        """The parsed body; a body that is not one DICOM JSON object is a failure."""
        obj = self.json()
        if not isinstance(obj, dict):
            raise self.malformed(f"store response body is a JSON {type(obj).__name__}, not a DICOM JSON object")
        try:
            ds = dataset_from_json(obj)
        except DicomJsonError as exc:
            raise self.malformed(str(exc)) from None
        referenced = tuple(
            ReferencedInstance(
                raw=raw_item,
                sop_class_uid=_first(item, "ReferencedSOPClassUID"),
                sop_instance_uid=_first(item, "ReferencedSOPInstanceUID"),
                retrieve_url=_first(item, "RetrieveURL"),
                warning_reason=_first(item, "WarningReason"),
                error_comments=_comments(item),
            )
            for raw_item, item in zip(_raw_items(obj, "00081199"), ds.get("ReferencedSOPSequence", []), strict=False)
        )
        failed = tuple(
            FailedInstance(
                raw=raw_item,
                sop_class_uid=_first(item, "ReferencedSOPClassUID"),
                sop_instance_uid=_first(item, "ReferencedSOPInstanceUID"),
                failure_reason=_first(item, "FailureReason"),
                error_comments=_comments(item),
            )
            for raw_item, item in zip(_raw_items(obj, "00081198"), ds.get("FailedSOPSequence", []), strict=False)
        )
        return StoreResult(raw=obj, retrieve_url=_first(ds, "RetrieveURL"), referenced=referenced, failed=failed)


def _raw_items(obj: dict[str, Any], key: str) -> list[dict[str, Any]]:
    element = obj.get(key)
    if not isinstance(element, dict):
        return []
    value = element.get("Value")
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


@dataclass(frozen=True, eq=False)
class JsonDatasetsResponse(DicomwebResponse):
    """Answers whose body is a JSON array of DICOM JSON objects (QIDO-RS, metadata)."""

    @cached_property
    def objects(self) -> list[dict[str, Any]]:
        """The raw DICOM JSON objects; an empty body (204) gives an empty list."""
        if self.status == 204 and not self.content:
            return []
        body = self.json()
        if not isinstance(body, list):
            raise self.malformed(f"body is a JSON {type(body).__name__}, not an array of datasets")
        for index, item in enumerate(body, start=1):
            if not isinstance(item, dict):
                raise self.malformed(f"item {index} of the array is a JSON {type(item).__name__}, not a dataset")
        return body

    @cached_property
    def datasets(self) -> list[Dataset]:
        out = []
        for index, obj in enumerate(self.objects, start=1):
            try:
                out.append(dataset_from_json(obj))
            except DicomJsonError as exc:
                raise self.malformed(f"item {index}: {exc}") from None
        return out


@dataclass(frozen=True, eq=False)
class RetrieveResponse(DicomwebResponse):
    """Answer to a WADO-RS retrieval of instances, frames or bulk data."""

    def part_bodies(self) -> list[bytes]:
        """Bodies of a multipart answer, or the single body of a single-part answer."""
        media = self.media_type()
        if media is not None and media.essence == "multipart/related":
            return [p.body for p in self.multipart().parts]
        return [self.content]
