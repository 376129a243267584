"""Canonical bytes and strict decoding.

What is signed or hashed is RFC 8785 (JCS) canonical JSON: :func:`encode_canonical`.
What arrives from outside is decoded by :func:`decode_json` (bounded size and depth checked
before parsing; duplicate keys, NaN/Infinity, floats and integers beyond ±(2^53−1) refused)
and then typed by :func:`convert` (unknown, missing and mistyped fields refused). Every
refusal is a :class:`DecodeError` with a stable numeric ``code`` in the ``codec`` codespace.
:func:`check_normal_form` holds text to one spelling (Unicode NFC).
"""

from amchain.codec._canonical import (
    CanonicalizationError,
    encode_canonical,
    encode_canonical_many,
    to_builtins,
)
from amchain.codec._strict import (
    CODESPACE,
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_DEPTH,
    MAX_SAFE_INTEGER,
    DecodeError,
    DecodeErrorCode,
    convert,
    decode_json,
    decode_typed,
)
from amchain.codec._text import check_normal_form

__all__ = [
    "CODESPACE",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DEPTH",
    "MAX_SAFE_INTEGER",
    "CanonicalizationError",
    "DecodeError",
    "DecodeErrorCode",
    "check_normal_form",
    "convert",
    "decode_json",
    "decode_typed",
    "encode_canonical",
    "encode_canonical_many",
    "to_builtins",
]
