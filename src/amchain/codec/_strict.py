from __future__ import annotations

import json
import re
from enum import IntEnum
from typing import Any, NoReturn, TypeVar

import msgspec

from amchain.codec._canonical import _FAST_PATH_DEPTH, _FastPathValue

CODESPACE = "codec"
MAX_SAFE_INTEGER = 2**53 - 1
DEFAULT_MAX_BYTES = 256 * 1024
DEFAULT_MAX_DEPTH = 16

T = TypeVar("T")


class DecodeErrorCode(IntEnum):
    """Stable codes for input that is refused before it means anything."""

    MALFORMED_JSON = 1
    DUPLICATE_KEY = 2
    NON_FINITE_NUMBER = 3
    FLOAT_NOT_ALLOWED = 4
    INTEGER_OUT_OF_RANGE = 5
    TOO_DEEP = 6
    TOO_LARGE = 7
    UNKNOWN_FIELD = 8
    MISSING_FIELD = 9
    WRONG_TYPE = 10
    INVALID_VALUE = 11
    INVALID_ENCODING = 12


class DecodeError(ValueError):
    """Input refused by the strict decoder; ``code`` is stable, ``message`` says what to fix."""

    codespace = CODESPACE

    def __init__(self, code: DecodeErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"DecodeError({self.code.name}, {self.message!r})"


def _raise(code: DecodeErrorCode, message: str) -> NoReturn:
    raise DecodeError(code, message)


_STRUCTURAL = bytes(range(256)).translate(None, b'[]{}"\\')


def _check_depth(data: bytes, max_depth: int) -> None:
    # Scan only brackets, quotes and backslashes; brackets inside strings do not nest.
    skeleton = data.translate(None, _STRUCTURAL)
    depth = 0
    in_string = False
    escaped = False
    for byte in skeleton:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > max_depth:
                _raise(
                    DecodeErrorCode.TOO_DEEP,
                    f"JSON nesting deeper than {max_depth} levels is refused",
                )
        elif byte in (0x5D, 0x7D):
            depth -= 1


def _pairs_to_dict(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            _raise(DecodeErrorCode.DUPLICATE_KEY, f"duplicate key {key!r} in a JSON object")
        result[key] = value
    return result


def _refuse_constant(name: str) -> NoReturn:
    _raise(DecodeErrorCode.NON_FINITE_NUMBER, f"{name} is not a JSON number and is refused")


def _refuse_float(text: str) -> NoReturn:
    _raise(
        DecodeErrorCode.FLOAT_NOT_ALLOWED,
        f"number {text} is not an integer: amounts are integers in named units",
    )


def _parse_int(text: str) -> int:
    if len(text) > 17:  # cheaper than int() on a megabyte of digits
        _raise(DecodeErrorCode.INTEGER_OUT_OF_RANGE, "integer beyond ±(2^53−1) is refused")
    value = int(text)
    if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        _raise(DecodeErrorCode.INTEGER_OUT_OF_RANGE, f"integer {text} is beyond ±(2^53−1)")
    return value


_NOT_COMPACT = object()
_WRAPPED = msgspec.json.Decoder(_FastPathValue)


def _decode_compact(data: bytes) -> Any:
    """The value of ``data`` if it is exactly msgspec's compact encoding of a value that
    the strict rules accept, else ``_NOT_COMPACT`` (the caller then parses it strictly).

    One pass in C (msgspec) instead of the ``json`` module with Python hooks. Canonical
    bytes (what peers forward and blocks carry, what the SDK sends) take this path. Why it
    accepts nothing the strict path refuses, with the same value: the typed decode refuses
    floats, non-finite numbers, integers beyond ±(2^53−1), nesting beyond
    ``_FAST_PATH_DEPTH`` (at most the caller's ``max_depth``) and malformed JSON or UTF-8;
    and a duplicate key (which a typed decode would let the last one win) leaves an object
    with fewer members than the input, whose encoding then differs from ``data``.
    """
    try:
        value = _WRAPPED.decode(b'{"value":' + data + b"}").value
        if msgspec.json.encode(value) == data:
            return value
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeError, ValueError, TypeError):
        pass
    return _NOT_COMPACT


def decode_json(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> Any:
    """Parse untrusted JSON bytes strictly.

    Size and depth are checked before parsing. Returns plain dicts, lists, strings, ints,
    bools and None.

    Raises:
        DecodeError: TOO_LARGE, TOO_DEEP, MALFORMED_JSON, DUPLICATE_KEY, NON_FINITE_NUMBER,
            FLOAT_NOT_ALLOWED or INTEGER_OUT_OF_RANGE.
    """
    if len(data) > max_bytes:
        _raise(DecodeErrorCode.TOO_LARGE, f"body of {len(data)} bytes exceeds {max_bytes} bytes")
    if max_depth >= _FAST_PATH_DEPTH:
        value = _decode_compact(data)
        if value is not _NOT_COMPACT:
            return value
    return _decode_strictly(data, max_depth)


def _decode_strictly(data: bytes, max_depth: int) -> Any:
    """:func:`decode_json` without the size check and the compact fast path: every rule
    checked by the ``json`` module's parser with this module's hooks."""
    _check_depth(data, max_depth)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        _raise(DecodeErrorCode.MALFORMED_JSON, "body is not valid UTF-8")
    try:
        value = json.loads(
            text,
            object_pairs_hook=_pairs_to_dict,
            parse_constant=_refuse_constant,
            parse_float=_refuse_float,
            parse_int=_parse_int,
        )
    except json.JSONDecodeError as exc:
        _raise(DecodeErrorCode.MALFORMED_JSON, f"malformed JSON: {exc.msg} at position {exc.pos}")
    except RecursionError:
        _raise(DecodeErrorCode.TOO_DEEP, "JSON nesting too deep")
    if _SURROGATE_ESCAPE.search(text):
        _refuse_lone_surrogates(value)
    return value


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _refuse_lone_surrogates(value: Any) -> None:
    """A ``\\uD800``-style escape without its pair decodes to a string no UTF-8 text can
    hold (and canonical JSON cannot carry): refused here, not later as a crash."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
        return
    except UnicodeEncodeError:
        pass
    _raise(
        DecodeErrorCode.INVALID_ENCODING,
        "a string holds a lone UTF-16 surrogate escape (\\uD800–\\uDFFF without its "
        "pair); send text as UTF-8 or as a complete surrogate pair",
    )


def _classify(message: str) -> DecodeErrorCode:
    if "unknown field" in message:
        return DecodeErrorCode.UNKNOWN_FIELD
    if "missing required field" in message:
        return DecodeErrorCode.MISSING_FIELD
    if message.startswith("Expected"):
        # "Expected `str` of length <= 200", "... matching regex ...", "`int` >= 0": the
        # type is right, the value is not.
        if (
            " of length " in message
            or " matching regex " in message
            or "` >" in message
            or ("` <" in message)
        ):
            return DecodeErrorCode.INVALID_VALUE
        return DecodeErrorCode.WRONG_TYPE
    return DecodeErrorCode.INVALID_VALUE


def convert(value: Any, type_: type[T], *, what: str = "value") -> T:
    """Type a decoded JSON value as ``type_`` (a msgspec Struct, usually), strictly.

    Unknown fields are refused when the struct says ``forbid_unknown_fields=True`` (all of
    the project's wire types do); no implicit conversions (``"5"`` is not ``5``).

    Raises:
        DecodeError: UNKNOWN_FIELD, MISSING_FIELD, WRONG_TYPE or INVALID_VALUE, with the JSON
            path of the offending field in the message.
    """
    try:
        return msgspec.convert(value, type_, strict=True)
    except msgspec.ValidationError as exc:
        message = str(exc)
        raise DecodeError(_classify(message), f"{what}: {message}") from None


def decode_typed(
    data: bytes,
    type_: type[T],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    what: str = "body",
) -> T:
    """:func:`decode_json` then :func:`convert`.

    Raises:
        DecodeError: any of the codes of the two steps.
    """
    return convert(decode_json(data, max_bytes=max_bytes, max_depth=max_depth), type_, what=what)
