"""How a keeper stores its records: canonical JSON in, typed structs out."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from amchain.codec import encode_canonical

__all__ = ["decode_record", "encode_record"]

Record = TypeVar("Record")


def encode_record(record: Any) -> bytes:
    """Encode a state record as canonical JSON."""
    return encode_canonical(record)


def decode_record(data: bytes, type_: type[Record]) -> Record:
    """Decode a state record written by :func:`encode_record` (trusted: it is our own state)."""
    return msgspec.json.decode(data, type=type_)
