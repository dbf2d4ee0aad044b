"""The strict multipart/related parser and encoder (RFC 2046 5.1.1, PS3.18 8.6)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.core.multipart import (
    BoundaryError,
    FramingError,
    LimitExceeded,
    MultipartLimits,
    PartHeaderError,
    encode_multipart_related,
    new_boundary,
    parse_multipart_related,
    validate_boundary,
)

CT = 'multipart/related; type="application/dicom"; boundary=abc'


def message(*parts: bytes, close: bytes = b"--abc--\r\n", preamble: bytes = b"") -> bytes:
    body = preamble
    for index, part in enumerate(parts):
        body += (b"\r\n" if index or preamble else b"") + b"--abc\r\n" + part
    return body + b"\r\n" + close


def test_parses_parts_headers_and_bodies() -> None:
    body = message(
        b"Content-Type: application/dicom\r\n\r\nONE", b"Content-Type: application/dicom\r\nX-A: 1\r\n\r\nTWO"
    )
    parsed = parse_multipart_related(body, CT)
    assert [p.body for p in parsed.parts] == [b"ONE", b"TWO"]
    assert parsed.parts[1].headers == (("Content-Type", "application/dicom"), ("X-A", "1"))
    assert parsed.parts[0].content_type == "application/dicom"
    assert parsed.boundary == "abc"
    assert parsed.media_type.param("type") == "application/dicom"


def test_preamble_epilogue_and_transport_padding_are_allowed() -> None:
    body = b"preamble text\r\n--abc  \t\r\nContent-Type: a/b\r\n\r\nX\r\n--abc--  \r\nepilogue"
    parsed = parse_multipart_related(body, CT)
    assert parsed.preamble == b"preamble text"
    assert parsed.epilogue == b"epilogue"
    assert parsed.parts[0].body == b"X"


def test_part_without_headers_and_empty_part() -> None:
    parsed = parse_multipart_related(message(b"\r\nRAW", b"\r\n"), CT)
    assert parsed.parts[0].headers == ()
    assert parsed.parts[0].body == b"RAW"
    assert parsed.parts[1].body == b""


def test_quoted_boundary_parameter() -> None:
    body = b"--a b:c\r\n\r\nX\r\n--a b:c--"
    parsed = parse_multipart_related(body, 'multipart/related; boundary="a b:c"')
    assert parsed.parts[0].body == b"X"


def test_body_may_contain_boundary_text_not_at_line_start() -> None:
    parsed = parse_multipart_related(message(b"\r\nxx--abc yy\n--abc"), CT)
    assert parsed.parts[0].body == b"xx--abc yy\n--abc"


@pytest.mark.parametrize(
    ("content_type", "rule"),
    [
        ("multipart/form-data; boundary=abc", "not multipart/related"),
        ('multipart/related; type="application/dicom"', "no boundary parameter"),
        ("multipart/related; type=application/dicom; boundary=abc", "neither a token nor a quoted string"),
        ("multipart/related; boundary=" + "x" * 71, "1-70 characters"),
        ('multipart/related; boundary="ends with space "', "1-70 characters"),
        ("multipart/related; boundary=a\\b", "not a valid media type"),
        ("not a media type", "not a valid media type"),
    ],
)
def test_content_type_errors_name_the_rule(content_type: str, rule: str) -> None:
    with pytest.raises(BoundaryError, match=rule):
        parse_multipart_related(message(b"\r\nX"), content_type)


@pytest.mark.parametrize(
    ("body", "error", "rule", "part"),
    [
        (b"no delimiter here", FramingError, "no opening delimiter", None),
        (b"--abc--\r\n", FramingError, "no body part", None),
        (b"--abc\r\n\r\nX", FramingError, "not followed by a delimiter", 1),
        (b"--abc\r\n\r\nX\r\n--abc", FramingError, "close delimiter missing", 2),
        (b"--abc\nContent-Type: a/b\r\n\r\nX\r\n--abc--", FramingError, "not terminated by CRLF", 1),
        (b"--abc\r\nContent-Type: a/b\n\r\nX\r\n--abc--", FramingError, "LF without CR", 1),
        (b"--abc\r\nContent-Type: a/b\r\n", FramingError, "not terminated by an empty line", 1),
        (b"--abc\r\nno colon\r\n\r\nX\r\n--abc--", PartHeaderError, "not 'field-name: value'", 1),
        (b"--abc\r\nA: b\r\n folded\r\n\r\nX\r\n--abc--", PartHeaderError, "folded", 1),
        (b"--abc\r\n\r\nX\r\n--abcdef\r\n\r\nY\r\n--abc--", FramingError, "not terminated by CRLF", 2),
        (b"--abc\r\n\r\nX\r\n--abc--garbage", FramingError, "followed by bytes other than CRLF", None),
    ],
)
def test_framing_errors_name_part_and_rule(body: bytes, error: type[Exception], rule: str, part: int | None) -> None:
    with pytest.raises(error, match=rule) as info:
        parse_multipart_related(body, CT)
    assert getattr(info.value, "part", None) == part


def test_error_message_names_part_and_offset() -> None:
    with pytest.raises(FramingError) as info:
        parse_multipart_related(b"--abc\r\n\r\nX\r\n--abc\r\n\r\nY", CT)
    assert str(info.value).startswith("part 2, byte ")
    assert info.value.offset is not None


def test_limits_are_enforced_before_the_work() -> None:
    two = message(b"\r\nA", b"\r\nB")
    with pytest.raises(LimitExceeded, match="more than 1 parts"):
        parse_multipart_related(two, CT, limits=MultipartLimits(max_parts=1))
    with pytest.raises(LimitExceeded, match="exceeds 2 bytes"):
        parse_multipart_related(message(b"\r\nABC"), CT, limits=MultipartLimits(max_part_size=2))
    big_header = b"X-H: " + b"v" * 100 + b"\r\n\r\nA"
    with pytest.raises(LimitExceeded, match="header block exceeds 50 bytes"):
        parse_multipart_related(message(big_header), CT, limits=MultipartLimits(max_header_bytes=50))
    many = b"".join(f"X-{i}: v\r\n".encode() for i in range(5)) + b"\r\nA"
    with pytest.raises(LimitExceeded, match="more than 3 header fields"):
        parse_multipart_related(message(many), CT, limits=MultipartLimits(max_headers_per_part=3))


def test_encoder_refuses_ambiguous_content_and_bad_boundaries() -> None:
    with pytest.raises(FramingError, match="contains the boundary delimiter"):
        encode_multipart_related([([], b"a\r\n--abc b")], boundary="abc")
    with pytest.raises(PartHeaderError, match="line break"):
        encode_multipart_related([([("X", "a\r\nb")], b"")], boundary="abc")
    with pytest.raises(BoundaryError):
        encode_multipart_related([([], b"")], boundary="")


def test_new_boundaries_are_valid_and_distinct() -> None:
    first, second = new_boundary(), new_boundary()
    validate_boundary(first)
    assert first != second


headers = st.lists(
    st.tuples(
        st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,15}", fullmatch=True),
        st.from_regex(r"[ -~]{0,40}", fullmatch=True).map(str.strip),
    ),
    max_size=4,
)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(parts=st.lists(st.tuples(headers, st.binary(max_size=300)), min_size=1, max_size=6))
def test_encode_then_parse_round_trips(parts: list[tuple[list[tuple[str, str]], bytes]]) -> None:
    boundary = new_boundary()
    body = encode_multipart_related(parts, boundary=boundary)
    parsed = parse_multipart_related(body, f"multipart/related; boundary={boundary}")
    assert [(list(p.headers), p.body) for p in parsed.parts] == [(list(h), b) for h, b in parts]


@settings(max_examples=200, deadline=None, derandomize=True)
@given(body=st.binary(max_size=400), cut=st.integers(min_value=0, max_value=400))
def test_arbitrary_bytes_never_crash_the_parser(body: bytes, cut: int) -> None:
    """Any input either parses or raises a MultipartError (a ValueError), never anything else."""
    framed = encode_multipart_related([([("Content-Type", "a/b")], body.replace(b"--", b"- "))], boundary="abc")
    for candidate in (body, framed[:cut], framed):
        try:
            parse_multipart_related(candidate, CT)
        except ValueError:
            pass
