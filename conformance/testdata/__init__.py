"""Test data: the instances the suite stores on a target, valid and deliberately broken.

- :class:`InstanceFactory` builds fresh, small Secondary Capture instances (new ``2.25.`` UIDs,
  chosen transfer syntax, frames with distinct bytes, multi-component and ideographic person
  names) and broken variants (missing or invalid attributes, foreign preambles, truncated and
  non-DICOM bytes).
- :func:`tutorial_instances` rebuilds the three sample files of the Azure DICOMweb tutorials
  from ``fixtures/tutorial-samples.json``.
- :func:`write_part10` writes a data set as a Part-10 file (PS3.10 7.1), with values pydicom
  would refuse written verbatim; :func:`frame_bytes` reads frame *n* back.
- :func:`write_fixture_files` writes all of it to a folder for manual use.
"""

from conformance.testdata.broken import GARBAGE
from conformance.testdata.export import write_fixture_files
from conformance.testdata.factory import (
    PRIVATE_CREATOR,
    PRIVATE_CREATOR_TAG,
    PRIVATE_TAG,
    PRIVATE_VALUE,
    REQUIRED_ATTRIBUTES,
    InstanceFactory,
    InstanceOptions,
    MultiframeOptions,
    StudyOptions,
)
from conformance.testdata.part10 import (
    IMPLEMENTATION_CLASS_UID,
    IMPLEMENTATION_VERSION_NAME,
    SUPPORTED_TRANSFER_SYNTAXES,
    TIFF_PREAMBLE,
    ZERO_PREAMBLE,
    RawElement,
    file_meta_for,
    write_part10,
)
from conformance.testdata.person_names import PersonNameSample, person_name_sample, person_names
from conformance.testdata.pixels import MAX_DISTINCT_FRAMES, frame_bytes, monochrome_frames
from conformance.testdata.tutorial import (
    TutorialSample,
    TutorialSpec,
    tutorial_instances,
    tutorial_spec,
    tutorial_uid_map,
)

__all__ = [
    "GARBAGE",
    "IMPLEMENTATION_CLASS_UID",
    "IMPLEMENTATION_VERSION_NAME",
    "MAX_DISTINCT_FRAMES",
    "PRIVATE_CREATOR",
    "PRIVATE_CREATOR_TAG",
    "PRIVATE_TAG",
    "PRIVATE_VALUE",
    "REQUIRED_ATTRIBUTES",
    "SUPPORTED_TRANSFER_SYNTAXES",
    "TIFF_PREAMBLE",
    "ZERO_PREAMBLE",
    "InstanceFactory",
    "InstanceOptions",
    "MultiframeOptions",
    "PersonNameSample",
    "RawElement",
    "StudyOptions",
    "TutorialSample",
    "TutorialSpec",
    "file_meta_for",
    "frame_bytes",
    "monochrome_frames",
    "person_name_sample",
    "person_names",
    "tutorial_instances",
    "tutorial_spec",
    "tutorial_uid_map",
    "write_fixture_files",
    "write_part10",
]
