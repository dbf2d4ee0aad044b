"""The DICOMweb client on httpx.MockTransport: requests sent, exchanges recorded, answers parsed."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from conformance.client.client import DicomwebClient
from conformance.client.exchange import ExchangeLog
from conformance.core.errors import MalformedResponse, NoResponse
from conformance.core.instances import DicomFile
from conformance.core.multipart import encode_multipart_related, parse_multipart_related

BASE = "http://dicom.test/v2"

STORE_ANSWER = {
    "00081198": {
        "vr": "SQ",
        "Value": [
            {
                "00081150": {"vr": "UI", "Value": ["1.2.3"]},
                "00081155": {"vr": "UI", "Value": ["2.25.9"]},
                "00081197": {"vr": "US", "Value": [43265]},
            }
        ],
    },
    "00081199": {
        "vr": "SQ",
        "Value": [
            {
                "00081150": {"vr": "UI", "Value": ["1.2.3"]},
                "00081155": {"vr": "UI", "Value": ["2.25.8"]},
                "00081190": {"vr": "UR", "Value": [f"{BASE}/studies/2.25.1/series/2.25.2/instances/2.25.8"]},
                "00081196": {"vr": "US", "Value": [1]},
                "00741048": {
                    "vr": "SQ",
                    "Value": [{"00000902": {"vr": "LO", "Value": ["DICOM100: (0008,0020) - bad"]}}],
                },
            }
        ],
    },
}


def client_for(handler: Callable[[httpx.Request], httpx.Response], **kwargs: object) -> DicomwebClient:
    http = httpx.Client(transport=httpx.MockTransport(handler))
    del http.headers["accept"]
    http.headers["authorization"] = "Bearer s3cret"
    return DicomwebClient(http, BASE, log=ExchangeLog(), **kwargs)  # type: ignore[arg-type]


def file(uid: str = "2.25.8") -> DicomFile:
    return DicomFile(
        data=b"\0" * 128 + b"DICM" + b"x" * 20,
        label="test",
        study_uid="2.25.1",
        series_uid="2.25.2",
        sop_instance_uid=uid,
        sop_class_uid="1.2.3",
    )


def test_store_instances_sends_multipart_and_parses_the_answer() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json=STORE_ANSWER, headers={"content-type": "application/dicom+json"})

    announced: list[tuple[str, str]] = []
    client = client_for(handler, on_store=lambda f, base: announced.append((f.sop_instance_uid, base)))
    response = client.store_instances([file()], study_uid="2.25.1")
    request = seen[0]
    assert request.method == "POST"
    assert str(request.url) == f"{BASE}/studies/2.25.1"
    assert request.headers["accept"] == "application/dicom+json"
    assert request.headers["content-type"].startswith('multipart/related; type="application/dicom"; boundary=')
    parts = parse_multipart_related(request.content, request.headers["content-type"]).parts
    assert parts[0].content_type == "application/dicom"
    assert parts[0].body == file().data
    assert announced == [("2.25.8", BASE)]
    result = response.result
    assert result.failed[0].failure_reason == 43265
    assert result.failed[0].sop_instance_uid == "2.25.9"
    referenced = result.referenced[0]
    assert referenced.warning_reason == 1
    assert referenced.retrieve_url
    assert referenced.retrieve_url.startswith(BASE)
    assert referenced.error_comments == ("DICOM100: (0008,0020) - bad",)
    assert len(client.log) == 1


def test_type_parameter_variants_and_no_accept() -> None:
    types: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        types.append(request.headers["content-type"])
        assert "accept" not in request.headers
        return httpx.Response(406)

    client = client_for(handler)
    client.store_instances([file()], accept=None, type_param="unquoted")
    client.store_instances([file()], accept=None, type_param="absent")
    assert types[0].startswith("multipart/related; type=application/dicom;")
    assert types[1].startswith("multipart/related; boundary=")


def test_paths_are_percent_encoded_and_queries_kept_in_order() -> None:
    urls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        urls.append(str(request.url))
        return httpx.Response(204)

    client = client_for(handler)
    client.retrieve_instance_metadata("1.2 ", "../x", "a/b")
    client.search_for_series([("Modality", "CT"), ("includefield", "all")], study="2.25.1")
    client.delete_series("2.25.1", "2.25.2")
    assert urls[0] == f"{BASE}/studies/1.2%20/series/..%2Fx/instances/a%2Fb/metadata"
    assert urls[1] == f"{BASE}/studies/2.25.1/series?Modality=CT&includefield=all"
    assert urls[2] == f"{BASE}/studies/2.25.1/series/2.25.2"


def test_service_and_version_roots() -> None:
    client = client_for(lambda r: httpx.Response(200))
    assert client.service_root == "http://dicom.test"
    partitioned = client.in_partition("p1")
    assert partitioned.base_url == f"{BASE}/partitions/p1"
    assert partitioned.version_root == BASE
    orthanc = DicomwebClient(client.http, "http://o:8042/dicom-web")
    assert orthanc.service_root == "http://o:8042/dicom-web"


def test_exchange_masks_credentials_and_renders_curl() -> None:
    client = client_for(lambda r: httpx.Response(400, text="bad query", headers={"content-type": "text/plain"}))
    client.search_for_studies([("limit", "0")])
    exchange = client.log.last
    assert exchange is not None
    assert dict(exchange.request.headers)["authorization"] == "Bearer ***"
    curl = exchange.curl()
    assert "s3cret" not in curl
    assert "$DICOMWEB_TOKEN" in curl
    assert curl.startswith("curl -X GET 'http://dicom.test/v2/studies?limit=0'")
    described = exchange.describe_response()
    assert described.splitlines()[0] == "400 Bad Request"
    assert "body: bad query" in described
    assert json.dumps(exchange.to_json())


def test_transport_errors_become_no_response_failures() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def reset(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("peer closed connection", request=request)

    for handler, text in ((timeout, "no answer within the timeout"), (reset, "RemoteProtocolError")):
        client = client_for(handler)
        with pytest.raises(NoResponse) as info:
            client.retrieve_study("2.25.1")
        assert info.value.exchange is not None
        assert text in str(info.value.exchange.error)
        assert len(client.log) == 1


@pytest.mark.parametrize(
    ("body", "ctype", "message"),
    [
        (b"not json", "application/dicom+json", "not valid UTF-8 JSON"),
        (b"[1, 2]", "application/dicom+json", "not a DICOM JSON object"),
        (b'{"00100010": {"vr": "PN", "Value": "x"}}', "application/dicom+json", "not a DICOM JSON dataset"),
        (b"", "application/dicom+json", "body is empty"),
    ],
)
def test_garbage_store_answers_are_named_failures(body: bytes, ctype: str, message: str) -> None:
    client = client_for(lambda r: httpx.Response(200, content=body, headers={"content-type": ctype}))
    response = client.store_instances([file()])
    with pytest.raises(MalformedResponse, match=message) as info:
        _ = response.result
    assert info.value.exchange is response.exchange


def test_search_answers_and_multipart_retrieval() -> None:
    boundary = "b1"
    payload = encode_multipart_related([([("Content-Type", "application/dicom")], b"ONE")], boundary=boundary)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/studies"):
            return httpx.Response(200, json=[{"0020000D": {"vr": "UI", "Value": ["2.25.1"]}}])
        if request.url.path.endswith("/series"):
            return httpx.Response(200, json={"not": "an array"})
        if request.url.path.endswith("/instances"):
            return httpx.Response(204)
        return httpx.Response(
            200,
            content=payload,
            headers={"content-type": f'multipart/related; type="application/dicom"; boundary={boundary}'},
        )

    client = client_for(handler)
    assert client.search_for_studies().datasets[0].StudyInstanceUID == "2.25.1"
    assert client.search_for_instances().objects == []
    with pytest.raises(MalformedResponse, match="not an array of datasets"):
        _ = client.search_for_series().objects
    assert client.retrieve_study("2.25.1").part_bodies() == [b"ONE"]


def test_broken_multipart_answer_is_a_named_failure() -> None:
    client = client_for(
        lambda r: httpx.Response(
            200, content=b"--b1\r\n\r\nONE", headers={"content-type": "multipart/related; boundary=b1"}
        )
    )
    with pytest.raises(MalformedResponse, match="malformed multipart/related body: part 1"):
        client.retrieve_study("2.25.1").part_bodies()
