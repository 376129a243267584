"""Canonical JSON (RFC 8785) and the strict decoder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest
import rfc8785
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
    encode_canonical_many,
)
from amchain.codec._strict import _decode_strictly


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


def outcome(data: bytes, depth: int, *, fast: bool) -> object:
    """decode_json's value (``fast``) or the strict parser's, or the refusal's code and
    message."""
    try:
        value = decode_json(data, max_depth=depth) if fast else _decode_strictly(data, depth)
    except DecodeError as error:
        return ("refused", error.code, error.message)
    return ("value", value)


compact_inputs = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.floats()
    | st.text(alphabet=st.characters(), max_size=12),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=4), children, max_size=3)
        | st.tuples(st.text(max_size=2), children, children).map(lambda t: ("dup", t))
    ),
    max_leaves=30,
)


def compact_bytes(value: Any) -> bytes:
    """Compact JSON as a client might send it, with duplicate keys where asked for."""
    if isinstance(value, tuple) and value and value[0] == "dup":
        key, first, second = value[1]
        name = json.dumps(key).encode()
        return (
            b"{"
            + name
            + b":"
            + compact_bytes(first)
            + b","
            + name
            + b":"
            + compact_bytes(second)
            + b"}"
        )
    if isinstance(value, list):
        return b"[" + b",".join(compact_bytes(v) for v in value) + b"]"
    if isinstance(value, dict):
        return (
            b"{"
            + b",".join(json.dumps(k).encode() + b":" + compact_bytes(v) for k, v in value.items())
            + b"}"
        )
    try:
        return msgspec.json.encode(value)
    except (TypeError, ValueError, UnicodeEncodeError):
        return json.dumps(value).encode()


@given(compact_inputs, st.sampled_from([12, 13, 16, 64]))
def test_compact_input_decodes_as_the_strict_parser_decodes_it(value: Any, depth: int) -> None:
    # decode_json takes a C fast path for compact input; whatever the input (floats, big
    # integers, duplicate keys, lone surrogates, deep nesting), the answer must be the
    # strict parser's: the same value, or the same refusal.
    data = compact_bytes(value)
    assert outcome(data, depth, fast=True) == outcome(data, depth, fast=False)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a":1,"a":2}',
        b'{"a":{"b":1,"b":1}}',
        b'[{"x":1.0}]',
        b'{"a":9007199254740992}',
        rb'"\ud800"',  # a lone surrogate escape (JSON allows it)
        rb'"\ud83d\ude00"',  # an escaped surrogate pair
        b'"\xed\xa0\x80"',  # a surrogate encoded as UTF-8: not UTF-8
        b"[" * 13 + b"]" * 13,
        b'{"a":1}{"b":2}',
        b'1,"value":2',
    ],
)
def test_compact_edge_cases_decode_or_are_refused_as_the_strict_parser_does(raw: bytes) -> None:
    for depth in (12, 16):
        assert outcome(raw, depth, fast=True) == outcome(raw, depth, fast=False)


# Any text, including control characters, characters beyond the BMP in keys (JCS sorts them
# by UTF-16 code units) and floats (JCS number formatting): the fast encoder must give the
# reference implementation's bytes, or refuse what it refuses.
any_text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=12)
reference_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | any_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=5)
    ),
    max_leaves=25,
)


@given(reference_values)
def test_canonical_encoding_gives_the_reference_implementations_bytes(value: object) -> None:
    try:
        expected = rfc8785.dumps(value)
    except rfc8785.CanonicalizationError:
        with pytest.raises(CanonicalizationError):
            encode_canonical(value)
        return
    assert encode_canonical(value) == expected


@given(st.lists(reference_values, max_size=6))
def test_encoding_a_list_at_once_gives_each_values_own_bytes(values: list[object]) -> None:
    try:
        expected = [encode_canonical(v) for v in values]
    except CanonicalizationError:
        with pytest.raises(CanonicalizationError):
            encode_canonical_many(values)
        return
    assert encode_canonical_many(values) == expected


@pytest.mark.parametrize(
    "value",
    [
        {"\ue000": 1, "\U0001f600": 2},  # UTF-16 order puts the emoji (a surrogate pair) first
        {"b": '\u2028\x7f\x00\x1f"\\', "a": "é漢字"},
        {"a": [1.5, -0.0, 1e21, 5e-324], "b": 2**53 - 1, "c": -(2**53 - 1)},
        {"type": "x", "a": {"z": None, "y": [True, False]}},
    ],
)
def test_canonical_encoding_matches_the_reference_on_edge_cases(value: object) -> None:
    assert encode_canonical(value) == rfc8785.dumps(value)


@pytest.mark.parametrize("value", [float("nan"), {"a": float("inf")}, {"a": -(2**53)}, "\ud800"])
def test_canonical_encoding_refuses_what_has_no_canonical_form(value: object) -> None:
    with pytest.raises(CanonicalizationError):
        encode_canonical(value)


def test_canonical_encoding_of_structs_sorts_fields_and_tags() -> None:
    class Event(msgspec.Struct, tag_field="type", tag="serviced"):
        odometer_km: int
        work_items: list[str]
        after: str | None = None

    event = Event(odometer_km=12_000, work_items=["oil", "filter"])
    assert encode_canonical(event) == rfc8785.dumps(msgspec.to_builtins(event))
    assert encode_canonical(event) == (
        b'{"after":null,"odometer_km":12000,"type":"serviced","work_items":["oil","filter"]}'
    )


def test_canonical_encoding_of_deep_values_matches_the_reference() -> None:
    deep: object = {"leaf": [1, "x", None]}
    for level in range(20):  # deeper than the fast path checks: the reference path answers
        deep = {"level": level, "next": [deep]}
    assert encode_canonical(deep) == rfc8785.dumps(deep)
