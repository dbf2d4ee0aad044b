"""Cross-cutting behaviour of the reference server (GEN-01..13) and its small parsers."""

from __future__ import annotations

from pathlib import Path

import pytest

from reference_server import ServerConfig
from reference_server.cli import build_parser
from reference_server.negotiation import accepts_dicom_json, parse_accept, parse_media_type
from reference_server.validation import check_text, is_valid_uid

from .harness import Client


@pytest.mark.parametrize("path", ["/studies", "/v3/studies", "/v1.0-prerelease/studies", "/"])
def test_unversioned_or_unknown_version_is_404(client: Client, path: str) -> None:
    response = client.get(path, headers={"Accept": "application/dicom+json"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert "version" in response.text


def test_supported_versions_header_on_errors_too(client: Client) -> None:
    for path in ("/v1/studies/abc", "/v2/nothing-here", "/v2/api.yaml"):
        assert client.get(path).headers["api-supported-versions"] == "1.0, 2.0"


def test_method_not_allowed_is_plain_text(client: Client) -> None:
    response = client.request("PUT", "/v2/studies")
    assert response.status_code == 405
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


def test_health(client: Client) -> None:
    response = client.get("/health/check")
    assert response.status_code == 200
    body = response.json()
    assert body["overallStatus"] == "Healthy"
    assert body["details"][0]["name"] == "DicomDataStore"
    assert body["details"][0]["status"] == "Healthy"


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_openapi_document(client: Client, version: str) -> None:
    response = client.get(f"/{version}/api.yaml")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/yaml")
    assert response.text.startswith("openapi: 3.")
    assert f"url: /{version}" in response.text


def test_media_type_parsing() -> None:
    media = parse_media_type('Multipart/Related; TYPE="application/dicom"; boundary=abc;')
    assert media.essence == "multipart/related"
    assert media.param("type") == "application/dicom"
    assert parse_media_type("multipart/related; type=application/dicom").param("type") == "application/dicom"
    ranked = parse_accept('a/b; q=0.2, broken, c/d; q=0, e/f; x="1,2", g/h;q=0.9, i/j; q=x')
    assert [m.essence for m in ranked] == ["e/f", "g/h", "a/b"]
    assert not accepts_dicom_json(None)
    assert accepts_dicom_json("application/dicom+json; charset=utf-8")
    assert not accepts_dicom_json("application/dicom+json; q=0")


@pytest.mark.parametrize(
    ("uid", "valid"),
    [("1.2.3", True), ("1.02.3", True), ("1.2.3 ", True), ("1.2.", False), ("abc.123", False), ("1" * 65, False)],
)
def test_uid_rule(uid: str, valid: bool) -> None:
    assert is_valid_uid(uid) is valid


@pytest.mark.parametrize(
    ("vr", "value", "valid"),
    [
        ("DA", "20240229", True),
        ("DA", "2024-02-29", False),
        ("TM", "235959.123", True),
        ("TM", "2460", False),
        ("DT", "20240101120000.5+0100", True),
        ("IS", " 42 ", True),
        ("IS", "4.2", False),
        ("DS", "-1.5e3", True),
        ("CS", "ORIGINAL\\PRIMARY", True),
        ("CS", "lower", False),
        ("PN", "a=b=c=d", False),
        ("LO", "x" * 65, False),
        ("AS", "012Y", True),
        ("SH", "", True),
    ],
)
def test_vr_checks(vr: str, value: str, valid: bool) -> None:
    assert (check_text(vr, value) is None) is valid


def test_cli_options() -> None:
    args = build_parser().parse_args(["--data", "/tmp/x", "--port", "9000", "--max-part-bytes", "10"])
    assert (args.host, args.port, args.max_part_bytes, args.log_level) == ("127.0.0.1", 9000, 10, "info")
    with pytest.raises(ValueError, match="max_part_bytes"):
        ServerConfig(data_dir=Path("/tmp/x"), max_part_bytes=0)
