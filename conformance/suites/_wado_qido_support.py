"""Helpers shared by the WADO-RS and QIDO-RS test modules.

* ``shared_data``: data stored once for a module's read-only tests, through the session's
  target and removed when the module ends; a failed store becomes a failure of each test that
  uses the data, never a harness error.
* ``encoded``: test instances in the transfer syntaxes the retrieve tests need (compressed
  with pydicom's and Pillow's encoders, or wrapped as an opaque video stream).
* The profile's rules for transcoding, retrieval Accept negotiation and QIDO matching.
"""

from __future__ import annotations

import io
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import pytest
from PIL import Image
from pydicom import Dataset, dcmread, dcmwrite
from pydicom.encaps import encapsulate
from pydicom.uid import UID

from conformance.client.exchange import ExchangeLog
from conformance.core.errors import ConformanceFailure
from conformance.core.instances import DicomFile
from conformance.ledger import Ledger, remove
from conformance.oracle import MatchingRules, SearchModel, SearchQuery, StoredRecord, searchable
from conformance.profile import Profile, Rule
from conformance.session import TargetSession
from conformance.testdata import InstanceFactory
from conformance.testdata.studies_for_search import SCOPE_KEYWORD, Corpus

IMPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2"
EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
EXPLICIT_VR_BIG_ENDIAN = "1.2.840.10008.1.2.2"
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
JPEG_2000_LOSSLESS = "1.2.840.10008.1.2.4.90"
RLE_LOSSLESS = "1.2.840.10008.1.2.5"
MPEG2 = "1.2.840.10008.1.2.4.100"
HEVC = "1.2.840.10008.1.2.4.107"

MULTIPART_DICOM = 'multipart/related; type="application/dicom"'
MULTIPART_DICOM_ANY = MULTIPART_DICOM + "; transfer-syntax=*"
MULTIPART_OCTETS = 'multipart/related; type="application/octet-stream"'
MULTIPART_OCTETS_ANY = MULTIPART_OCTETS + "; transfer-syntax=*"

#: The content of the MPEG-2 / HEVC instances: a start code and bytes no decoder understands.
OPAQUE_STREAM = b"\x00\x00\x01\xb3" + bytes(range(256)) * 4

T = TypeVar("T")


# -- data shared by a module's tests ------------------------------------------------------------


@dataclass
class SharedData:
    """Files stored for a module; ``problem`` is why storing them failed, if it did."""

    files: list[DicomFile]
    problem: ConformanceFailure | None = None
    named: dict[str, DicomFile] = field(default_factory=dict)

    def require(self) -> None:
        """Fail the running test (not the fixture) when the shared data could not be stored."""
        if self.problem is not None:
            raise ConformanceFailure(
                f"the test data of this module could not be stored: {self.problem.message}",
                expected=self.problem.detail.expected,
                received=self.problem.detail.received,
                exchange=self.problem.exchange,
            )

    def __getitem__(self, name: str) -> DicomFile:
        self.require()
        return self.named[name]


def shared_data(
    session: TargetSession, batches: Sequence[Sequence[DicomFile]], **named: DicomFile
) -> Iterator[SharedData]:
    """Store ``batches`` (one STOW request each, in order) for a module-scoped fixture; remove
    them when the module ends. Use as ``yield from shared_data(dicomweb_session, ...)``."""
    ledger = Ledger()
    client = session.client.bound_to(ExchangeLog(), on_store=ledger.record)
    data = SharedData([f for batch in batches for f in batch], named=dict(named))
    try:
        for batch in batches:
            response = client.store_instances(list(batch))
            if response.status not in (200, 202):
                data.problem = ConformanceFailure(
                    "the instances are stored",
                    expected="status 200 or 202",
                    received=f"status {response.status}",
                    exchange=response.exchange,
                )
                break
    except ConformanceFailure as exc:  # no answer: reported by each test, not as a harness error
        data.problem = exc
    try:
        yield data
    finally:
        outcome = remove(session.client.bound_to(ExchangeLog()), ledger.take_all(), session.settings.profile.cleanup)
        session.cleanup.deleted += outcome.deleted
        session.cleanup.left += outcome.left
        session.cleanup.problems += outcome.problems


def uids(file: DicomFile) -> tuple[str, str, str]:
    """(study, series, instance) of a file the suite built."""
    assert file.study_uid, file.label
    assert file.series_uid, file.label
    assert file.sop_instance_uid, file.label
    return file.study_uid, file.series_uid, file.sop_instance_uid


def patient_of(file: DicomFile) -> str:
    """The PatientID of a file the suite built."""
    assert file.dataset is not None, file.label
    return str(file.dataset.PatientID)


# -- instances in other transfer syntaxes -----------------------------------------------------


def _write(ds: Dataset, transfer_syntax: str, label: str) -> DicomFile:
    ds.file_meta.TransferSyntaxUID = UID(transfer_syntax)
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dcmwrite(out, ds, enforce_file_format=True)
    return DicomFile(
        data=out.getvalue(),
        label=label,
        study_uid=str(ds.StudyInstanceUID),
        series_uid=str(ds.SeriesInstanceUID),
        sop_instance_uid=str(ds.SOPInstanceUID),
        sop_class_uid=str(ds.SOPClassUID),
        transfer_syntax=transfer_syntax,
        dataset=ds,
    )


def _encapsulated(ds: Dataset, fragments: list[bytes]) -> None:
    ds.PixelData = encapsulate(fragments)
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True


def encoded(
    factory: InstanceFactory, transfer_syntax: str, *, frames: int = 2, rows: int = 32, columns: int = 32, **kw: str
) -> DicomFile:
    """A multi-frame instance in ``transfer_syntax``: uncompressed syntaxes as the factory writes
    them; RLE and JPEG 2000 lossless through pydicom's encoders; JPEG baseline through Pillow
    (quality 95); MPEG-2 and HEVC as one opaque fragment (a stream no one can decode)."""
    if transfer_syntax in (IMPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN):
        return factory.multiframe(frames=frames, rows=rows, columns=columns, transfer_syntax=transfer_syntax, **kw)  # type: ignore[arg-type]
    base = factory.multiframe(frames=frames, rows=rows, columns=columns, **kw)  # type: ignore[arg-type]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = dcmread(io.BytesIO(base.data))
        label = f"{frames}-frame {rows}x{columns} instance in {UID(transfer_syntax).name}"
        if transfer_syntax in (RLE_LOSSLESS, JPEG_2000_LOSSLESS):
            ds.compress(transfer_syntax)
        elif transfer_syntax == JPEG_BASELINE:
            pictures = []
            for frame in ds.pixel_array.reshape(frames, rows, columns):
                out = io.BytesIO()
                Image.fromarray(frame).save(out, "JPEG", quality=95)
                pictures.append(out.getvalue())
            _encapsulated(ds, pictures)
            ds.LossyImageCompression = "01"
        elif transfer_syntax in (MPEG2, HEVC):
            ds.NumberOfFrames = "1"
            _encapsulated(ds, [OPAQUE_STREAM])
            label = f"opaque {UID(transfer_syntax).name} stream"
        else:
            raise ValueError(f"cannot build an instance in {transfer_syntax}")
    return _write(ds, transfer_syntax, label)


def larger_than(factory: InstanceFactory, limit: int, transfer_syntax: str = IMPLICIT_VR_LITTLE_ENDIAN) -> DicomFile:
    """A multi-frame instance of more than ``limit`` bytes (1024x1024 8-bit frames of zeros),
    written directly rather than through the factory's byte-exact writer, which is slow at
    this size."""
    side = 1024
    frames = limit // (side * side) + 1
    small = factory.multiframe(frames=2, rows=2, columns=2, transfer_syntax=transfer_syntax)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = dcmread(io.BytesIO(small.data))
        ds.Rows, ds.Columns, ds.NumberOfFrames = side, side, str(frames)
        ds.PixelData = bytes(frames * side * side)
    return _write(ds, transfer_syntax, f"{frames}-frame {side}x{side} instance over {limit} bytes")


# -- what the profile says --------------------------------------------------------------------


def transcodes_to(profile: Profile, transfer_syntax: str) -> bool:
    return transfer_syntax in profile.transcode_to


def require_transcoding(profile: Profile, transfer_syntax: str) -> None:
    if not transcodes_to(profile, transfer_syntax):
        pytest.skip(f"not supported: profile {profile.name!r} does not transcode to {transfer_syntax}")


def follows(profile: Profile, ambiguity: str, rule: Rule) -> bool:
    """Whether the profile follows exactly ``rule`` for ``ambiguity``."""
    return profile.follows(ambiguity) is rule


def matching_rules(profile: Profile) -> MatchingRules:
    """The QIDO matching rules the target is held to.

    An Azure-compatible target follows the service's documented rules (QIDO-12..16), with
    AMB-04 and AMB-05 deciding where ranges and fuzzy matching apply; any other target only the
    rules PS3.4 C.2.2.2 fixes (case-sensitive strings, no fuzzy matching, server-defined order).
    """
    if not profile.azure_compatible:
        return MatchingRules(
            fold_case_strings=False,
            fold_case_names=False,
            fold_accents_names=False,
            range_keywords=frozenset({"StudyDate"}),
            fuzzy_keywords=frozenset(),
            reversed_range_is_error=False,
            newest_first=False,
        )
    ranges = {"StudyDate", "PatientBirthDate"}
    if follows(profile, "AMB-04", Rule.IMPLEMENTED):
        ranges.add("PerformedProcedureStepStartDate")
    fuzzy = {"PatientName"}
    if follows(profile, "AMB-05", Rule.IMPLEMENTED):
        fuzzy.add("ReferringPhysicianName")
    return MatchingRules(range_keywords=frozenset(ranges), fuzzy_keywords=frozenset(fuzzy))


def poll(call: Callable[[], T], done: Callable[[T], bool], *, timeout: float, interval: float = 1.0) -> T:
    """``call()`` until ``done`` holds or ``timeout`` seconds have passed; the last answer.

    For results that may lag behind a store (QIDO-13: fuzzy matching uses a full-text index
    that is updated a few seconds after STOW)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = call()
        if done(answer) or time.monotonic() >= deadline:
            return answer
        time.sleep(interval)


# -- search corpora ----------------------------------------------------------------------------


@dataclass
class SearchData:
    """A stored corpus, the model of what the target must answer about it, and the store outcome."""

    shared: SharedData
    corpus: Corpus
    model: SearchModel
    #: Whether a search has already waited for the target's indexes to catch up with the store.
    settled: bool = False

    def scoped(self, query: SearchQuery) -> SearchQuery:
        """``query`` limited to the corpus: the "all" resources get the corpus's AccessionNumber as
        first filter, unless the query filters on it itself (path-scoped resources are limited by
        their fresh path UIDs already). Each corpus study has a PatientID of its own, so PatientID
        is a filter like any other."""
        named = (searchable(name) for name, _ in query.params)
        if query.resource.needs_study or any(a is not None and a.keyword == SCOPE_KEYWORD for a in named):
            return query
        return SearchQuery(query.resource, params=((SCOPE_KEYWORD, self.corpus.accession_number), *query.params))


def records_of(corpus: Corpus) -> list[StoredRecord]:
    """The corpus as the oracle sees it, in storing order."""
    return [
        StoredRecord(str(i.file.study_uid), str(i.file.series_uid), str(i.file.sop_instance_uid), dict(i.values))
        for i in corpus.instances
    ]


def search_data(session: TargetSession, corpus: Corpus) -> Iterator[SearchData]:
    """Store ``corpus`` one instance per request (so "newest" is well defined) for a module."""
    model = SearchModel(matching_rules(session.settings.profile), records_of(corpus))
    for shared in shared_data(session, [[file] for file in corpus.files]):
        yield SearchData(shared, corpus, model)
