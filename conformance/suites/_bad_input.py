"""What the negative-input tests (``test_bad_input_*``) share.

Each of those tests stores a few instances first, then sends generated bad requests and holds
every answer to a documented 4xx (never a 5xx; a hang is a ``NoResponse`` failure, the client's
timeout bounds it), and at the end proves that what was stored before is intact: retrieved
byte for byte, its metadata read and its study searched. The generated requests come from
hypothesis, bounded by ``--dicomweb-hypothesis-examples`` and deterministic (``derandomize``);
there is no shrinking, so a failure shows the first bad request that broke a rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import nullcontext

from hypothesis import HealthCheck, Phase, settings

from conformance.checks import checking, expect, expect_status, expect_stored, stored_bytes_match
from conformance.client.client import DicomwebClient
from conformance.client.responses import DicomwebResponse
from conformance.core.instances import DicomFile
from conformance.plugin import Dicomweb
from conformance.profile import Profile


def bounded(dicomweb: Dicomweb) -> settings:
    """Hypothesis settings: ``--dicomweb-hypothesis-examples`` examples, deterministic, no shrinking
    (each example is a request to the target), no time limits (the client timeout bounds each)."""
    return settings(
        max_examples=dicomweb.settings.hypothesis_examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=(Phase.explicit, Phase.generate),
        report_multiple_bugs=False,
        print_blob=False,
        suppress_health_check=list(HealthCheck),
    )


def store_before(dicomweb: Dicomweb) -> list[DicomFile]:
    """The data the bad requests must leave alone: a study of a single-frame and a multi-frame
    instance (two series), stored one request each."""
    factory = dicomweb.instances
    study = factory.new_uid()
    files = [factory.instance(study_uid=study), factory.multiframe(frames=3, study_uid=study)]
    for file in files:
        response = dicomweb.client.store_instances([file])
        expect_status(response, 200, why="the instances stored before the bad requests are valid")
    return files


def expect_intact(client: DicomwebClient, files: list[DicomFile]) -> None:
    """Everything in ``files`` is still there as it was stored: the same bytes (apart from the
    preamble, GEN-09), the same metadata identity, and found by a search of its study."""
    for file in files:
        assert file.study_uid
        assert file.series_uid
        assert file.sop_instance_uid
        why = "data stored before the bad requests is intact"
        returned = expect_stored(client, file, why=why)
        expect(
            stored_bytes_match(file.data, returned),
            why,
            expected=f"the {file.size} bytes stored for {file.sop_instance_uid}",
            received=f"{len(returned)} bytes that differ",
        )
        metadata = client.retrieve_instance_metadata(file.study_uid, file.series_uid, file.sop_instance_uid)
        expect_status(metadata, 200, why=f"{why}: its metadata is readable")
        uids = [str(ds.get("SOPInstanceUID", "")) for ds in metadata.datasets]
        expect(
            uids == [file.sop_instance_uid], why, response=metadata, expected=file.sop_instance_uid, received=repr(uids)
        )
        found = client.search_for_instances(study=file.study_uid)
        expect_status(found, 200, why=f"{why}: a search of its study finds it")
        listed = [str(ds.get("SOPInstanceUID", "")) for ds in found.datasets]
        expect(
            file.sop_instance_uid in listed,
            f"{why}: a search of its study finds it",
            response=found,
            expected=f"{file.sop_instance_uid} among the instances",
            received=", ".join(listed) or "none",
        )


def expect_refused(
    response: DicomwebResponse, profile: Profile, *allowed: int, why: str, message_behavior: str | None = "GEN-07"
) -> None:
    """The answer is one of ``allowed`` (all 4xx), and, from a target that claims the service's
    conventions, carries a message saying what was wrong (GEN-07; 406 has no body, GEN-06).
    A missing message counts against ``message_behavior`` (a behaviour the test carries), or,
    with None, against whatever the status check counts against."""
    expect_status(response, *allowed, why=why)
    if profile.azure_compatible and response.status != 406:
        with checking(message_behavior) if message_behavior else nullcontext():
            expect(
                bool(response.content.strip()),
                f"{why}: the refusal says what was wrong",
                response=response,
                expected="a message in the body",
                received="an empty body",
            )


def send_chunked(
    client: DicomwebClient,
    method: str,
    path: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    chunk: int,
    sent: Iterable[DicomFile] = (),
) -> DicomwebResponse:
    """Send ``body`` with ``Transfer-Encoding: chunked`` (chunks of ``chunk`` bytes), recorded in the
    test's exchange log like any other request; a transport problem is a ``NoResponse`` failure.
    ``sent`` names the instances in the body: the cleanup learns of them before they are sent."""
    if client.on_store is not None:
        for file in sent:
            client.on_store(file, client.base_url)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), chunk):
            yield body[start : start + chunk]

    request = client.http.build_request(method, client.url(path), headers=dict(headers), content=chunks())
    return client.send_request(request, body, DicomwebResponse)
