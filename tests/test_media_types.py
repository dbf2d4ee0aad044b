"""Content-Type and Accept parsing (RFC 9110 8.3.1, 12.5.1)."""

from __future__ import annotations

import pytest

from conformance.core.media_types import MediaTypeError, multipart_related, parse_accept, parse_media_type


def test_parameters_quoted_and_unquoted() -> None:
    media = parse_media_type('Multipart/Related; TYPE="application/dicom"; boundary=xyz; transfer-syntax=*')
    assert media.essence == "multipart/related"
    assert media.param("type") == "application/dicom"
    assert media.param("Transfer-Syntax") == "*"
    assert media.param("boundary") == "xyz"
    # '/' is a tspecial (RFC 2045 5.1): an unquoted type=application/dicom is not a token.
    assert parse_media_type("multipart/related; type=dicom").param("type") == "dicom"


def test_quoted_pairs_are_unescaped() -> None:
    assert parse_media_type(r'a/b; x="q\"uo\\te"').param("x") == 'q"uo\\te'


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("application", "no '/subtype'"),
        ("application/", "subtype is not a token"),
        ("a/b; x", "has no '=value'"),
        ('a/b; x="open', "unterminated quoted value"),
        ("a/b; x=a b", "expected ';' before a parameter"),
        ("a/b x=1", "expected ';' before a parameter"),
        ("multipart/related; type=application/dicom", "neither a token nor a quoted string"),
        ("a/b; =1", "parameter name is not a token"),
    ],
)
def test_malformed_values_name_the_rule(value: str, rule: str) -> None:
    with pytest.raises(MediaTypeError, match=rule):
        parse_media_type(value)


def test_accept_lists_with_q_values_and_wildcards() -> None:
    ranges = parse_accept('application/dicom+json;q=0.5, */*; q=0.1, multipart/related; type="application/dicom"')
    assert [r.essence for r in ranges] == ["application/dicom+json", "*/*", "multipart/related"]
    assert [r.quality for r in ranges] == [0.5, 0.1, 1.0]
    assert ranges[1].matches("application/dicom+json")
    assert parse_accept("application/*")[0].matches("application/dicom+json")
    assert not parse_accept("image/*")[0].matches("application/dicom+json")


def test_invalid_q_value() -> None:
    with pytest.raises(MediaTypeError, match="not a qvalue"):
        parse_accept("a/b;q=2")


def test_rendering_quotes_where_needed() -> None:
    rendered = multipart_related("application/dicom", "b:1", transfer_syntax="*")
    assert rendered == 'multipart/related; type="application/dicom"; transfer-syntax=*; boundary="b:1"'
    assert parse_media_type(rendered).param("boundary") == "b:1"
    assert "type=application/dicom;" in multipart_related("application/dicom", "b", quote_type=False)
