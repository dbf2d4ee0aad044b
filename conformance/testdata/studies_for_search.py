"""Studies for QIDO-RS tests, described by their searchable values and built as test instances.

A ``StudySpec`` says what a study's instances carry: study-level values (patient name,
dates, description, ...), and for each series its series-level values (modality, model, ...)
and how many instances it has; an instance may override study-level values, which is how the
"latest stored value wins" rule (QIDO-19) is exercised. ``build_corpus`` turns specs into
instances with fresh ``2.25.`` UIDs.

Each study belongs to a patient of its own: a fresh PatientID, with the study's PatientName
and PatientBirthDate. Patient-level attributes describe the patient the PatientID identifies,
so studies that shared one PatientID but disagreed on the name would be inconsistent data,
which servers with a patient level (dcm4chee, Orthanc's patient resources) resolve by keeping
one name per patient. What ties the corpus together instead is one fresh AccessionNumber
carried by every instance (SH, 13 characters): a study-level matching key every origin server
supports (PS3.18 Table 10.6.1-5), searchable on the three "all" resources, and not a patient
attribute. A search scoped to it can only find the corpus.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from conformance.core.instances import DicomFile
from conformance.testdata.factory import InstanceFactory

#: Study-level and series-level attributes a spec may set (besides the UIDs).
STUDY_ATTRIBUTES = (
    "PatientName",
    "ReferringPhysicianName",
    "PatientBirthDate",
    "StudyDate",
    "StudyDescription",
)
SERIES_ATTRIBUTES = ("Modality", "PerformedProcedureStepStartDate", "ManufacturerModelName")
#: The attribute every instance of a corpus shares, and searches are scoped by (see the module doc).
SCOPE_KEYWORD = "AccessionNumber"
#: Attributes the corpus sets itself: a spec that set them would break the scope or the patients.
_SET_BY_THE_CORPUS = (SCOPE_KEYWORD, "PatientID")

Values = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class SeriesSpec:
    """One series: its values and, per instance, study-level values that instance overrides."""

    values: Values = ()
    instances: tuple[Values, ...] = ((),)


@dataclass(frozen=True, slots=True)
class StudySpec:
    values: Values = ()
    series: tuple[SeriesSpec, ...] = (SeriesSpec(),)


@dataclass(frozen=True, slots=True)
class BuiltInstance:
    """An instance of the corpus: the file, where it sits, and the searchable values it carries."""

    file: DicomFile
    label: str
    values: Mapping[str, str]


@dataclass
class Corpus:
    """The built instances, in the order they are to be stored (one request each), all with the
    AccessionNumber ``accession_number``."""

    accession_number: str
    instances: list[BuiltInstance] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)  # UID -> "S1", "S1/se2", "S1/se2/i1"

    @property
    def files(self) -> list[DicomFile]:
        return [i.file for i in self.instances]

    def label(self, uid: str) -> str:
        return self.labels.get(uid, uid)

    def study_uids(self) -> list[str]:
        return list(dict.fromkeys(str(i.file.study_uid) for i in self.instances))

    def patient_ids(self) -> list[str]:
        """One PatientID per study, in storing order."""
        return list(dict.fromkeys(i.values["PatientID"] for i in self.instances))

    def series_uids(self, study_uid: str | None = None) -> list[str]:
        return list(
            dict.fromkeys(
                str(i.file.series_uid) for i in self.instances if study_uid is None or i.file.study_uid == study_uid
            )
        )

    def describe(self) -> str:
        """One line per instance: its label and the values it carries."""
        lines = []
        for instance in self.instances:
            values = ", ".join(f"{k}={v!r}" for k, v in sorted(instance.values.items()))
            lines.append(f"  {instance.label}: {values}")
        return "\n".join(lines)


def build_corpus(
    factory: InstanceFactory, studies: Sequence[StudySpec], *, accession_number: str | None = None
) -> Corpus:
    """Instances for ``studies``, study after study, series after series (the storing order);
    each study with a fresh PatientID, every instance with the corpus's AccessionNumber."""
    corpus = Corpus(accession_number=accession_number or factory.short_id("QIDO"))
    for s_index, study in enumerate(studies, start=1):
        study_uid = factory.new_uid()
        study_label = f"S{s_index}"
        corpus.labels[study_uid] = study_label
        study_values = dict(study.values)
        patient_id = factory.short_id("QIDO")
        for se_index, series in enumerate(study.series, start=1):
            series_uid = factory.new_uid()
            series_label = f"{study_label}/se{se_index}"
            corpus.labels[series_uid] = series_label
            for i_index, overrides in enumerate(series.instances, start=1):
                values = {**study_values, **dict(overrides), **dict(series.values)}
                if taken := [k for k in _SET_BY_THE_CORPUS if k in values]:
                    raise ValueError(f"{study_label}: the corpus sets {', '.join(taken)} itself")
                values[SCOPE_KEYWORD] = corpus.accession_number
                file = _instance(factory, study_uid, series_uid, patient_id, values, se_index, i_index)
                label = f"{series_label}/i{i_index}"
                corpus.labels[str(file.sop_instance_uid)] = label
                assert file.dataset is not None
                carried = {
                    k: str(file.dataset[k].value)
                    for k in (*STUDY_ATTRIBUTES, *SERIES_ATTRIBUTES, SCOPE_KEYWORD)
                    if k in file.dataset
                }
                carried["PatientID"] = patient_id
                corpus.instances.append(BuiltInstance(file, label, carried))
    return corpus


def _instance(
    factory: InstanceFactory,
    study_uid: str,
    series_uid: str,
    patient_id: str,
    values: Mapping[str, str],
    series_number: int,
    instance_number: int,
) -> DicomFile:
    attributes: dict[str, object] = {
        k: v for k, v in values.items() if k not in ("PatientName", "Modality", "StudyDate")
    }
    return factory.instance(
        study_uid=study_uid,
        series_uid=series_uid,
        patient_id=patient_id,
        patient_name=values.get("PatientName", "Conformance^Test"),
        modality=values.get("Modality", "OT"),
        study_date=values.get("StudyDate", "20240102"),
        series_number=series_number,
        instance_number=instance_number,
        attributes=attributes,
        label=f"QIDO corpus instance {series_number}.{instance_number}",
    )


def _series(modality: str, date: str, model: str, instances: int = 1) -> SeriesSpec:
    values = (("Modality", modality), ("PerformedProcedureStepStartDate", date), ("ManufacturerModelName", model))
    return SeriesSpec(values=values, instances=((),) * instances)


#: The fixed corpus of the hand-written QIDO tests: names from the documents' examples (D1, D2,
#: E2E), accents, case variants, three dates in January 2020 and one in 2021.
SEARCH_CORPUS: tuple[StudySpec, ...] = (
    StudySpec(
        values=(
            ("PatientName", "Doe^John"),
            ("ReferringPhysicianName", "Smith^Anna"),
            ("PatientBirthDate", "19800101"),
            ("StudyDate", "20200110"),
            ("StudyDescription", "Brain MRI"),
        ),
        series=(_series("CT", "20200110", "ScannerOne", instances=2), _series("MR", "20200111", "ScannerTwo")),
    ),
    StudySpec(
        values=(
            ("PatientName", "Jonathan^X^Stone Hall^^"),
            ("ReferringPhysicianName", "Jones^Bob"),
            ("PatientBirthDate", "19900505"),
            ("StudyDate", "20200115"),
            ("StudyDescription", "Chest CT"),
        ),
        series=(_series("CT", "20200115", "ScannerOne"),),
    ),
    StudySpec(
        values=(
            ("PatientName", "Jon^X^StoneHall"),
            ("ReferringPhysicianName", "Smith^Anna"),
            ("PatientBirthDate", "19750310"),
            ("StudyDate", "20200120"),
            ("StudyDescription", "Tête Scan"),
        ),
        series=(_series("MR", "20200121", "ScannerTwo"),),
    ),
    StudySpec(
        values=(
            ("PatientName", "Hall^X^Tá"),
            ("ReferringPhysicianName", "Müller^Jörg"),
            ("PatientBirthDate", "19800101"),
            ("StudyDate", "20210101"),
            ("StudyDescription", "brain mri"),
        ),
        series=(_series("US", "20210101", "EchoMaster"),),
    ),
)
