"""The content of a synthetic instance: a small, valid Secondary Capture image.

Secondary Capture Image Storage (PS3.3 A.8.1) is the simplest image IOD every archive accepts.
The data set holds its mandatory modules (Patient, General Study, General Series, SC Equipment,
General Image, Image Pixel, SOP Common) and, for more than one frame, the Multi-frame and Cine
modules the IOD allows (PS3.3 C.7.6.6, C.7.6.5). Values are passed in: fresh identifiers are
the factory's business, not this module's.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydicom import Dataset
from pydicom.dataelem import DataElement
from pydicom.tag import Tag

from conformance.testdata.elements import element, person_name
from conformance.testdata.pixels import monochrome_frames, pad_even

#: What StudyDescription says, so that anyone browsing a target can tell where the data came from.
STUDY_DESCRIPTION = "DICOMweb conformance test data"


@dataclass(frozen=True, slots=True, kw_only=True)
class InstanceContent:
    """Every value a synthetic instance carries."""

    study_uid: str
    series_uid: str
    sop_instance_uid: str
    sop_class_uid: str
    patient_id: str
    patient_name: str
    modality: str
    study_date: str
    study_time: str
    accession_number: str
    series_number: int
    instance_number: int
    rows: int
    columns: int
    #: More than one frame adds the Multi-frame and Cine modules (NumberOfFrames and its pointer).
    frames: int
    specific_character_set: tuple[str, ...] = ("ISO_IR 192",)

    def dataset(self) -> Dataset:
        """The data set; PixelData holds :func:`~conformance.testdata.pixels.monochrome_frames`."""
        charset = self.specific_character_set
        ds = Dataset()
        if charset:
            ds.add(element("SpecificCharacterSet", charset[0] if len(charset) == 1 else list(charset)))
        for keyword, value in (
            ("SOPClassUID", self.sop_class_uid),
            ("SOPInstanceUID", self.sop_instance_uid),
            ("StudyDate", self.study_date),
            ("StudyTime", self.study_time),
            ("AccessionNumber", self.accession_number),
            ("Modality", self.modality),
            # SC Equipment module: Type 1; WSD = workstation (PS3.3 C.8.6.1).
            ("ConversionType", "WSD"),
            ("PatientID", self.patient_id),
            ("PatientBirthDate", "19700101"),
            ("PatientSex", "O"),
            ("StudyInstanceUID", self.study_uid),
            ("SeriesInstanceUID", self.series_uid),
            ("StudyID", "1"),
            ("SeriesNumber", str(self.series_number)),
            ("InstanceNumber", str(self.instance_number)),
            ("StudyDescription", STUDY_DESCRIPTION),
            ("PatientOrientation", ""),
            ("SamplesPerPixel", 1),
            ("PhotometricInterpretation", "MONOCHROME2"),
            ("Rows", self.rows),
            ("Columns", self.columns),
            ("BitsAllocated", 8),
            ("BitsStored", 8),
            ("HighBit", 7),
            ("PixelRepresentation", 0),
        ):
            ds.add(element(keyword, value))
        # PN values go through person_name so that they are written exactly (see there).
        ds.add(DataElement(Tag("PatientName"), "PN", person_name(self.patient_name, charset)))
        ds.add(DataElement(Tag("ReferringPhysicianName"), "PN", person_name("Physician^Referring", charset)))
        if self.frames > 1:
            ds.add(element("NumberOfFrames", str(self.frames)))
            # Multi-frame module: FrameIncrementPointer is Type 1; it points to FrameTime (Cine module).
            ds.add(element("FrameIncrementPointer", Tag("FrameTime")))
            ds.add(element("FrameTime", "100"))
        # With 8 bits allocated the bytes are the same whatever the byte order, so one value serves
        # all three transfer syntaxes (OB when explicit; implicit readers assume OW, PS3.5 A.1).
        ds.add(element("PixelData", pad_even(monochrome_frames(self.frames, self.rows, self.columns)), "OB"))
        return ds
