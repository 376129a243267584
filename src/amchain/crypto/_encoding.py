from __future__ import annotations

import base58

from amchain.crypto._ed25519 import PUBLIC_KEY_BYTES

# Multicodec prefix for an Ed25519 public key (0xed, varint-encoded), as used by W3C Multikey.
_ED25519_PUB_MULTICODEC = b"\xed\x01"


class EncodingError(ValueError):
    """Bytes that were expected in a given text encoding (hex, multibase) but are not."""


def decode_hex(text: str, *, length: int | None = None, what: str = "value") -> bytes:
    """Decode lower- or upper-case hex, optionally requiring an exact byte length.

    Raises:
        EncodingError: not hex, or not ``length`` bytes.
    """
    if not isinstance(text, str):
        raise EncodingError(f"{what} must be a hex string")
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise EncodingError(f"{what} is not valid hex") from None
    if length is not None and len(raw) != length:
        raise EncodingError(
            f"{what} must be {length} bytes ({2 * length} hex digits), got {len(raw)}"
        )
    return raw


def encode_multikey(public_key: bytes) -> str:
    """Encode an Ed25519 public key as a W3C Multikey ``publicKeyMultibase`` (``z6Mk...``)."""
    return "z" + base58.b58encode(_ED25519_PUB_MULTICODEC + public_key).decode("ascii")


def decode_multikey(text: str) -> bytes:
    """Decode a ``z6Mk...`` Multikey into the raw 32-byte Ed25519 public key.

    Raises:
        EncodingError: not base58btc multibase, not an Ed25519 key, or the wrong length.
    """
    if not text.startswith("z"):
        raise EncodingError("multikey must be base58btc multibase (start with 'z')")
    try:
        raw = base58.b58decode(text[1:])
    except ValueError:
        raise EncodingError("multikey is not valid base58btc") from None
    if not raw.startswith(_ED25519_PUB_MULTICODEC):
        raise EncodingError("multikey is not an Ed25519 public key")
    key = raw[len(_ED25519_PUB_MULTICODEC) :]
    if len(key) != PUBLIC_KEY_BYTES:
        raise EncodingError(f"Ed25519 multikey must hold {PUBLIC_KEY_BYTES} bytes, got {len(key)}")
    return key
