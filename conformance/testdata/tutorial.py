"""The three sample instances of the Azure DICOMweb tutorials, rebuilt rather than copied.

``fixtures/tutorial-samples.json`` states every attribute, the file meta and the picture of
blue-circle, green-square and red-triangle (one study; green-square and red-triangle share a
series, blue-circle is alone in another). The pictures are drawn with numpy; everything else is
written with pydicom so that the data sets equal the originals attribute by attribute, and with
the original UIDs the files have the originals' sizes.

Against real servers the suite does not store foreign UIDs: ``tutorial_uid_map()`` gives fresh
``2.25.`` replacements that keep the study / series structure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache

from pydicom import Dataset
from pydicom.dataset import FileMetaDataset

from conformance.core.instances import DicomFile
from conformance.core.uids import new_uid
from conformance.testdata.drawing import Color, Shape, color_from_json, draw_rgb, shape_from_json
from conformance.testdata.files import dicom_file
from conformance.testdata.fixture_data import AttributeSpec, attribute_specs, load_json, require
from conformance.testdata.part10 import check_transfer_syntax, write_part10
from conformance.testdata.pixels import pad_even

TUTORIAL_FIXTURE = "tutorial-samples.json"
_SOURCE = f"fixtures/{TUTORIAL_FIXTURE}"

#: The UID attributes a ``uid_map`` applies to; SOP class and transfer syntax are not identities.
REMAPPED_KEYWORDS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")


@dataclass(frozen=True, slots=True)
class TutorialSample:
    """One of the three instances: its own attributes and its picture."""

    name: str
    file_name: str
    #: Size of the original file, which a build with the original UIDs reproduces.
    file_size: int
    attributes: tuple[AttributeSpec, ...]
    shape: Shape
    color: Color


@dataclass(frozen=True, slots=True)
class TutorialSpec:
    """The whole fixture: what the three instances share, and each one."""

    transfer_syntax: str
    file_meta: tuple[AttributeSpec, ...]
    attributes: tuple[AttributeSpec, ...]
    rows: int
    columns: int
    background: Color
    pixel_data_length: int
    samples: tuple[TutorialSample, ...]

    def uids(self) -> list[str]:
        """The original study, series and instance UIDs, each once, in order of appearance."""
        found: dict[str, None] = {}
        for sample in self.samples:
            for spec in (*self.attributes, *sample.attributes):
                if spec.keyword in REMAPPED_KEYWORDS and isinstance(spec.value, str):
                    found.setdefault(spec.value)
        return list(found)


def _sample(item: object) -> TutorialSample:
    if not isinstance(item, Mapping):
        raise ValueError(f"{_SOURCE}: an instance is an object, not {item!r}")
    name = require(item, "name", str, _SOURCE)
    shape = require(item, "shape", dict, _SOURCE)
    return TutorialSample(
        name=name,
        file_name=require(item, "file_name", str, _SOURCE),
        file_size=require(item, "file_size", int, _SOURCE),
        attributes=attribute_specs(item.get("attributes"), f"{_SOURCE} {name}"),
        shape=shape_from_json(shape),
        color=color_from_json(shape.get("color")),
    )


@cache
def tutorial_spec() -> TutorialSpec:
    """``fixtures/tutorial-samples.json``, parsed and checked."""
    document = load_json(TUTORIAL_FIXTURE)
    image = require(document, "image", dict, _SOURCE)
    spec = TutorialSpec(
        transfer_syntax=check_transfer_syntax(require(document, "transfer_syntax", str, _SOURCE)),
        file_meta=attribute_specs(document.get("file_meta"), f"{_SOURCE} file_meta"),
        attributes=attribute_specs(document.get("attributes"), f"{_SOURCE} attributes"),
        rows=require(image, "rows", int, _SOURCE),
        columns=require(image, "columns", int, _SOURCE),
        background=color_from_json(image.get("background")),
        pixel_data_length=require(image, "pixel_data_length", int, _SOURCE),
        samples=tuple(_sample(item) for item in require(document, "instances", list, _SOURCE)),
    )
    # The picture must fit the declared PixelData length (PS3.5 8.1.1: even after padding).
    if len(pad_even(bytes(spec.rows * spec.columns * 3))) != spec.pixel_data_length:
        raise ValueError(f"{_SOURCE}: {spec.rows} x {spec.columns} RGB is not {spec.pixel_data_length} bytes")
    return spec


def tutorial_uid_map(uid_factory: Callable[[], str] = new_uid) -> dict[str, str]:
    """A fresh UID for each original study, series and instance UID (same structure, new identity)."""
    return {uid: uid_factory() for uid in tutorial_spec().uids()}


def _dataset(spec: TutorialSpec, sample: TutorialSample, uid_map: Mapping[str, str]) -> Dataset:
    ds = Dataset()
    for attribute in (*spec.attributes, *sample.attributes):
        element = attribute.element()
        if attribute.keyword in REMAPPED_KEYWORDS and isinstance(attribute.value, str):
            element.value = uid_map.get(attribute.value, attribute.value)
        ds.add(element)
    picture = draw_rgb(
        sample.shape, rows=spec.rows, columns=spec.columns, background=spec.background, color=sample.color
    )
    ds.PixelData = pad_even(picture)
    ds["PixelData"].VR = "OB"  # 8 bits allocated (PS3.5 8.1.1); the dictionary leaves OB or OW open
    return ds


def _file_meta(spec: TutorialSpec, ds: Dataset) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.FileMetaInformationVersion = b"\x00\x01"
    for attribute in spec.file_meta:
        meta.add(attribute.element())
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return meta


def tutorial_instances(uid_map: Mapping[str, str] | None = None) -> list[DicomFile]:
    """blue-circle, green-square and red-triangle as Part-10 files, in that order.

    With no ``uid_map`` they carry the original UIDs. ``uid_map`` replaces original study, series
    and instance UIDs by others (see :func:`tutorial_uid_map`); UIDs it does not mention stay.
    """
    spec = tutorial_spec()
    files = []
    for sample in spec.samples:
        ds = _dataset(spec, sample, uid_map or {})
        ds.file_meta = _file_meta(spec, ds)
        data = write_part10(ds, file_meta=ds.file_meta, transfer_syntax=spec.transfer_syntax)
        files.append(dicom_file(ds, data, label=f"tutorial {sample.name}", transfer_syntax=spec.transfer_syntax))
    return files
