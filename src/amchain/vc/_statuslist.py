"""Bitstring Status List 1.0: bit addressing, chunks, the encoded list, status entries.

Index ``i`` of a list is bit ``7 - i % 8`` of byte ``i // 8`` (the first index is the
left-most bit). On chain a list is stored as fixed-size chunks of :data:`CHUNK_BYTES`, so
changing one credential's status rewrites one small chunk, never the whole list; a chunk
that was never written is all zeros.

A list is named by a DID URL of its issuer: ``<issuer DID>/status/<name>``.
"""

from __future__ import annotations

import base64
import gzip
import re
from typing import Any

from amchain.vc._errors import VcError, VcReason

__all__ = [
    "CHUNK_BITS",
    "CHUNK_BYTES",
    "DEFAULT_LIST_BITS",
    "MAX_LIST_BITS",
    "MIN_LIST_BITS",
    "STATUS_ENTRY_TYPE",
    "STATUS_LIST_CREDENTIAL_TYPE",
    "STATUS_PURPOSES",
    "chunk_position",
    "decode_encoded_list",
    "encode_list",
    "list_url",
    "parse_list_url",
    "read_bit",
    "status_entry",
    "status_list_credential",
    "write_bit",
]

CHUNK_BYTES = 256
CHUNK_BITS = CHUNK_BYTES * 8
MIN_LIST_BITS = 131_072
"""The spec's minimum (16 KiB): herd privacy for every credential on the list."""
DEFAULT_LIST_BITS = MIN_LIST_BITS
MAX_LIST_BITS = 8 * MIN_LIST_BITS
STATUS_PURPOSES: tuple[str, ...] = ("revocation", "suspension")
STATUS_ENTRY_TYPE = "BitstringStatusListEntry"
STATUS_LIST_CREDENTIAL_TYPE = "BitstringStatusListCredential"
LIST_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,47}")
_LIST_PATH = "/status/"


def list_url(issuer: str, name: str) -> str:
    """Return the DID URL naming ``issuer``'s status list ``name``."""
    return f"{issuer}{_LIST_PATH}{name}"


def parse_list_url(url: str) -> tuple[str, str]:
    """Split a status list URL into (issuer DID, list name).

    Raises:
        VcError: STATUS_INVALID (not ``<did>/status/<name>`` with a valid name).
    """
    issuer, sep, name = url.rpartition(_LIST_PATH) if isinstance(url, str) else ("", "", "")
    if not sep or not issuer.startswith("did:") or LIST_NAME.fullmatch(name) is None:
        raise VcError(
            VcReason.STATUS_INVALID,
            f"{url!r} is not a status list URL <issuer DID>/status/<name> (name: 1-48 of "
            "a-z 0-9 . _ -)",
        )
    return issuer, name


def chunk_position(index: int) -> tuple[int, int]:
    """Return (chunk number, bit offset inside the chunk) of list index ``index``."""
    return divmod(index, CHUNK_BITS)


def read_bit(data: bytes, offset: int) -> bool:
    """Return bit ``offset`` (0 = left-most) of ``data``; bits past the end read as 0."""
    byte = offset // 8
    if byte >= len(data):
        return False
    return bool(data[byte] & (0x80 >> (offset % 8)))


def write_bit(data: bytes, offset: int, value: bool) -> bytes:
    """Return ``data`` with bit ``offset`` (0 = left-most) set to ``value``."""
    buffer = bytearray(data)
    byte = offset // 8
    mask = 0x80 >> (offset % 8)
    if value:
        buffer[byte] |= mask
    else:
        buffer[byte] &= ~mask & 0xFF
    return bytes(buffer)


def encode_list(bits: bytes) -> str:
    """Return ``encodedList``: multibase base64url (no padding) of the GZIP-compressed bits."""
    compressed = gzip.compress(bits, compresslevel=9, mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).decode("ascii").rstrip("=")


def decode_encoded_list(encoded: str) -> bytes:
    """Return the bits of an ``encodedList``.

    Raises:
        VcError: STATUS_INVALID (not multibase base64url of GZIP data).
    """
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise VcError(VcReason.STATUS_INVALID, "encodedList must be multibase base64url ('u…')")
    text = encoded[1:]
    try:
        compressed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return gzip.decompress(compressed)
    except (ValueError, OSError, EOFError) as exc:
        raise VcError(VcReason.STATUS_INVALID, f"encodedList cannot be decoded: {exc}") from None


def status_entry(list_url_: str, index: int, purpose: str) -> dict[str, Any]:
    """Return a ``BitstringStatusListEntry`` pointing at ``index`` of a list."""
    return {
        "id": f"{list_url_}#{index}",
        "type": STATUS_ENTRY_TYPE,
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url_,
    }


def status_list_credential(
    *, issuer: str, name: str, purpose: str, bits: bytes, valid_from: str
) -> dict[str, Any]:
    """Return the (unsecured) ``BitstringStatusListCredential`` of a list."""
    url = list_url(issuer, name)
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": url,
        "type": ["VerifiableCredential", STATUS_LIST_CREDENTIAL_TYPE],
        "issuer": issuer,
        "validFrom": valid_from,
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encode_list(bits),
        },
    }
