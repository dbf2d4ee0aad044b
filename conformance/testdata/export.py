"""Writing the fixtures as files, for users who want to try a server by hand.

``dicomweb-conformance fixtures --out DIR`` calls :func:`write_fixture_files`. The tutorial
samples keep their original UIDs (so the tutorials' commands work on them) unless a ``uid_map``
is given; every synthetic instance has fresh UIDs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydicom.uid import ExplicitVRBigEndian, ImplicitVRLittleEndian

from conformance.core.instances import DicomFile
from conformance.testdata.factory import InstanceFactory
from conformance.testdata.person_names import person_names
from conformance.testdata.tutorial import tutorial_instances, tutorial_spec


def _synthetic(factory: InstanceFactory) -> dict[str, DicomFile]:
    return {
        "explicit-vr-little-endian.dcm": factory.instance(),
        "implicit-vr-little-endian.dcm": factory.instance(transfer_syntax=ImplicitVRLittleEndian),
        "explicit-vr-big-endian.dcm": factory.instance(transfer_syntax=ExplicitVRBigEndian),
        "multiframe-3-frames.dcm": factory.multiframe(frames=3),
    }


def _broken(factory: InstanceFactory) -> dict[str, DicomFile]:
    return {
        "missing-study-instance-uid.dcm": factory.missing_attribute("StudyInstanceUID"),
        "invalid-study-instance-uid.dcm": factory.with_raw_value("StudyInstanceUID", "abc.123"),
        "invalid-study-date.dcm": factory.with_raw_value("StudyDate", "NotAValidStudyDate"),
        "tiff-preamble.dcm": factory.with_preamble(),
        "not-dicom.bin": factory.non_dicom(),
        "empty.dcm": factory.empty(),
        "truncated.dcm": factory.truncated(),
        "garbage-after-preamble.dcm": factory.garbage_after_preamble(),
        "implicit-vr-private-tag.dcm": factory.implicit_vr_with_private_tag(),
        "trailing-space-study-uid.dcm": factory.with_trailing_space_study_uid(),
    }


def write_fixture_files(
    folder: Path,
    *,
    factory: InstanceFactory | None = None,
    uid_map: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write every fixture under ``folder`` and return the paths written, in order.

    Layout: ``tutorial/`` (blue-circle, green-square, red-triangle), ``person-names/<id>.dcm``,
    ``synthetic/`` (each transfer syntax, a multi-frame instance) and ``broken/`` (inputs a
    server must reject or repair). Existing files of the same names are overwritten.
    """
    factory = factory or InstanceFactory()
    groups: dict[str, dict[str, DicomFile]] = {
        "tutorial": {
            sample.file_name: file
            for sample, file in zip(tutorial_spec().samples, tutorial_instances(uid_map), strict=True)
        },
        "person-names": {f"{sample.id}.dcm": factory.with_person_name(sample) for sample in person_names()},
        "synthetic": _synthetic(factory),
        "broken": _broken(factory),
    }
    written = []
    for group, files in groups.items():
        (folder / group).mkdir(parents=True, exist_ok=True)
        for name, file in files.items():
            path = folder / group / name
            path.write_bytes(file.data)
            written.append(path)
    return written
