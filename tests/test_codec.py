"""Canonical JSON (RFC 8785) and the strict decoder."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from amchain.codec import (
    MAX_SAFE_INTEGER,
    CanonicalizationError,
    DecodeError,
    DecodeErrorCode,
    convert,
    decode_json,
    encode_canonical,
)


def test_jcs_vectors_canonicalize_byte_for_byte(vectors_dir: Path) -> None:
    inputs = sorted((vectors_dir / "jcs" / "input").glob("*.json"))
    assert len(inputs) >= 6
    for path in inputs:
        expected = (vectors_dir / "jcs" / "output" / path.name).read_bytes()
        assert encode_canonical(json.loads(path.read_bytes())) == expected, path.name


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b'{"a": 1', DecodeErrorCode.MALFORMED_JSON),
        (b"\xff\xfe", DecodeErrorCode.MALFORMED_JSON),
        (b'{"a": 1, "a": 2}', DecodeErrorCode.DUPLICATE_KEY),
        (b'{"a": NaN}', DecodeErrorCode.NON_FINITE_NUMBER),
        (b'{"a": Infinity}', DecodeErrorCode.NON_FINITE_NUMBER),
        (b'{"a": -Infinity}', DecodeErrorCode.NON_FINITE_NUMBER),
        (b'{"a": 1.5}', DecodeErrorCode.FLOAT_NOT_ALLOWED),
        (b'{"a": 1e3}', DecodeErrorCode.FLOAT_NOT_ALLOWED),
        (b'{"a": 9007199254740992}', DecodeErrorCode.INTEGER_OUT_OF_RANGE),
        (b'{"a": -9007199254740992}', DecodeErrorCode.INTEGER_OUT_OF_RANGE),
        (b'{"a": 1' + b"0" * 5000 + b"}", DecodeErrorCode.INTEGER_OUT_OF_RANGE),
        (b"[" * 17 + b"]" * 17, DecodeErrorCode.TOO_DEEP),
        (b"[" * 100_000, DecodeErrorCode.TOO_DEEP),
    ],
)
def test_strict_decoder_refuses_each_class_with_its_code(raw: bytes, code: DecodeErrorCode) -> None:
    with pytest.raises(DecodeError) as caught:
        decode_json(raw)
    assert caught.value.code == code
    assert caught.value.message


def test_body_size_is_checked_before_parsing() -> None:
    with pytest.raises(DecodeError) as caught:
        decode_json(b" " * 101, max_bytes=100)
    assert caught.value.code == DecodeErrorCode.TOO_LARGE


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    assert decode_json(b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[\\"{{{{{{{{{{{{{{{{{"}') == {
        "a": '[[[[[[[[[[[[[[[[[[[[[[[[[[["{{{{{{{{{{{{{{{{{'
    }


def test_largest_safe_integers_are_accepted() -> None:
    assert decode_json(b"[9007199254740991, -9007199254740991]") == [
        MAX_SAFE_INTEGER,
        -MAX_SAFE_INTEGER,
    ]


class Reading(msgspec.Struct, forbid_unknown_fields=True):
    vin: str
    odometer_km: int


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ({"vin": "X", "odometer_km": 1, "extra": 1}, DecodeErrorCode.UNKNOWN_FIELD),
        ({"vin": "X"}, DecodeErrorCode.MISSING_FIELD),
        ({"vin": "X", "odometer_km": "12000"}, DecodeErrorCode.WRONG_TYPE),
        ({"vin": 5, "odometer_km": 1}, DecodeErrorCode.WRONG_TYPE),
    ],
)
def test_typed_conversion_refuses_unknown_missing_and_mistyped_fields(
    value: dict[str, object], code: DecodeErrorCode
) -> None:
    with pytest.raises(DecodeError) as caught:
        convert(value, Reading)
    assert caught.value.code == code


def test_canonical_encoding_refuses_unsafe_integers() -> None:
    with pytest.raises(CanonicalizationError):
        encode_canonical({"a": 2**60})


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_canonical_bytes_decode_strictly_to_the_same_value(value: object) -> None:
    encoded = encode_canonical(value)
    assert decode_json(encoded, max_depth=64) == value
    assert encode_canonical(decode_json(encoded, max_depth=64)) == encoded
