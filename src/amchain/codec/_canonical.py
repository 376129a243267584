"""RFC 8785 (JCS) canonical JSON, fast.

For the values a ledger holds (objects, arrays, strings, booleans, null and integers within
±(2^53−1)) JCS output is exactly what msgspec writes with sorted keys and no whitespace:
the same string escapes (``\\b \\t \\n \\f \\r``, ``\\u00xx`` for other control characters,
everything else as UTF-8) and the same key order as long as no key holds a character beyond
the Basic Multilingual Plane (JCS sorts by UTF-16 code units, msgspec by code points; the
two orders agree within the BMP). So :func:`encode_canonical` writes with msgspec (C) and
falls back to the reference implementation (``rfc8785``, pure Python) for anything else:
floats (JCS number formatting), integers out of range and non-string keys (refused), and
output holding a character beyond the BMP (key order). The JCS conformance vectors and a
property test against ``rfc8785`` hold both paths to the same bytes.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Union

import msgspec
import rfc8785

_MAX_SAFE = 2**53 - 1
_SafeInt = Annotated[int, msgspec.Meta(ge=-_MAX_SAFE, le=_MAX_SAFE)]
_FAST_PATH_DEPTH = 12
_ENCODER = msgspec.json.Encoder(order="sorted")
_ASTRAL_LEAD = re.compile(rb"[\xf0-\xf4]")  # the first byte of a 4-byte UTF-8 sequence


class CanonicalizationError(ValueError):
    """A value that has no RFC 8785 canonical form (e.g. an integer beyond ±(2^53−1))."""


def to_builtins(value: Any) -> Any:
    """Turn structs into plain dicts and lists (bytes are not allowed: encode them first)."""
    return msgspec.to_builtins(value)


def _json_tree(depth: int) -> Any:
    """The type of a JSON value without floats, with safe integers, ``depth`` levels deep."""
    leaf: Any = Union[None, bool, _SafeInt, str]  # noqa: UP007 (built at run time)
    tree = leaf
    for _ in range(depth):
        tree = Union[None, bool, _SafeInt, str, list[tree], dict[str, tree]]  # type: ignore[valid-type]  # noqa: UP007
    return tree


class _FastPathValue(msgspec.Struct):
    """Holder whose one field is checked by msgspec (C) in one pass (see the docstring)."""

    value: _json_tree(_FAST_PATH_DEPTH)  # type: ignore[valid-type]


# msgspec compiles a type on first use; compiling this one walks 2^depth typing objects in
# Python, so two threads doing it at once race inside msgspec (seen as a segfault). Compile
# it here, while the module is imported, once.
msgspec.convert({"value": None}, _FastPathValue, strict=True)


def _fits_fast_path(value: Any) -> bool:
    """True if ``value`` holds only dicts with string keys, lists, strings, booleans, null
    and safe integers, at most ``_FAST_PATH_DEPTH`` levels deep (no float, no big integer,
    nothing else). Deeper values take the reference path, which handles any depth."""
    try:
        msgspec.convert({"value": value}, _FastPathValue, strict=True)
    except msgspec.ValidationError:
        return False
    return True


def _encode_reference(plain: Any) -> bytes:
    try:
        return bytes(rfc8785.dumps(plain))
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise CanonicalizationError(str(exc)) from exc


def encode_canonical(value: Any) -> bytes:
    """Return the RFC 8785 canonical JSON bytes of ``value`` (structs are converted first).

    Raises:
        CanonicalizationError: the value holds something JSON cannot carry canonically.
    """
    try:
        plain = to_builtins(value)
    except (TypeError, ValueError) as exc:
        raise CanonicalizationError(str(exc)) from exc
    if _fits_fast_path(plain):
        return _encode_plain(plain)
    return _encode_reference(plain)


def _encode_plain(plain: Any) -> bytes:
    """:func:`encode_canonical` of a value already known to fit the fast path."""
    try:
        out = _ENCODER.encode(plain)
    except UnicodeEncodeError:  # a lone surrogate: the reference path refuses it
        return _encode_reference(plain)
    if out.isascii() or _ASTRAL_LEAD.search(out) is None:
        return out
    return _encode_reference(plain)


def encode_canonical_many(values: list[Any]) -> list[bytes]:
    """Return :func:`encode_canonical` of each value: the same bytes, with the conversion
    and the fast-path check done once for the whole list (a block's receipts, a vehicle's
    history) instead of once per value.

    Raises:
        CanonicalizationError: a value holds something JSON cannot carry canonically.
    """
    try:
        plain = to_builtins(values)
    except (TypeError, ValueError) as exc:
        raise CanonicalizationError(str(exc)) from exc
    if _fits_fast_path(plain):  # one level deeper than each value: the list
        return [_encode_plain(item) for item in plain]
    return [encode_canonical(item) for item in plain]
