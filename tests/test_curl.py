"""curl reproduction lines never carry secrets."""

from __future__ import annotations

from conformance.core.curl import curl_command


def test_basic_and_bearer_are_replaced_by_environment_references() -> None:
    basic = curl_command("GET", "http://h/v2/studies", [("Authorization", "Basic dTpw"), ("Accept", "a/b")])
    assert basic == "curl -X GET http://h/v2/studies -u \"$DICOMWEB_USER:$DICOMWEB_PASSWORD\" -H 'Accept: a/b'"
    other = curl_command("GET", "http://h", [("Authorization", "Negotiate abc"), ("Cookie", "s=1")])
    assert "abc" not in other
    assert "s=1" not in other


def test_bodies_inline_when_short_text_else_file_reference() -> None:
    text = curl_command("POST", "http://h", [], body_size=5, body_preview=b"hello")
    assert text.endswith("--data-binary hello")
    binary = curl_command("POST", "http://h", [], body_size=3000, body_preview=b"\x00\x01")
    assert "--data-binary @request-body.bin  # 3000 bytes" in binary


def test_noise_headers_are_left_out_and_values_quoted() -> None:
    line = curl_command("GET", "http://h/a b", [("Host", "h"), ("Accept", 'multipart/related; type="x"')])
    assert "Host" not in line
    assert "'http://h/a b'" in line
    assert "'Accept: multipart/related; type=\"x\"'" in line
