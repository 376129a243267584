from __future__ import annotations

import base58

from amchain.crypto._ed25519 import PUBLIC_KEY_BYTES

# Multicodec prefix for an Ed25519 public key (0xed, varint-encoded), as used by W3C Multikey.
_ED25519_PUB_MULTICODEC = b"\xed\x01"


class EncodingError(ValueError):
    """Bytes that were expected in a given text encoding (hex, multibase) but are not."""


def decode_hex(text: str, *, length: int | None = None, what: str = "value") -> bytes:
    """Decode lower-case hex (the one form the chain accepts: no upper case, no spaces, so
    a value has one spelling and a transaction one hash), optionally of an exact byte length.

    Raises:
        EncodingError: not lower-case hex, or not ``length`` bytes.
    """
    if not isinstance(text, str):
        raise EncodingError(f"{what} must be a hex string")
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise EncodingError(f"{what} is not valid hex") from None
    if raw.hex() != text:
        raise EncodingError(f"{what} must be written in lower-case hex digits without spaces")
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


# Multicodec prefix for an Ed25519 private key (0x1300, varint-encoded), as in Multikey.
_ED25519_PRIV_MULTICODEC = b"\x80\x26"


def encode_private_multikey(seed: bytes) -> str:
    """Encode a 32-byte Ed25519 seed as a Multikey ``secretKeyMultibase`` (``z3u2…``)."""
    return "z" + base58.b58encode(_ED25519_PRIV_MULTICODEC + seed).decode("ascii")


def decode_private_multikey(text: str) -> bytes:
    """Decode a ``z3u2…`` Multikey secret key into the raw 32-byte Ed25519 seed.

    Raises:
        EncodingError: not base58btc multibase, not an Ed25519 secret key, or the wrong length.
    """
    if not text.startswith("z"):
        raise EncodingError("multikey must be base58btc multibase (start with 'z')")
    try:
        raw = base58.b58decode(text[1:])
    except ValueError:
        raise EncodingError("multikey is not valid base58btc") from None
    if not raw.startswith(_ED25519_PRIV_MULTICODEC):
        raise EncodingError("multikey is not an Ed25519 secret key")
    seed = raw[len(_ED25519_PRIV_MULTICODEC) :]
    if len(seed) != PUBLIC_KEY_BYTES:
        raise EncodingError(f"Ed25519 secret multikey must hold 32 bytes, got {len(seed)}")
    return seed


DID_KEY_PREFIX = "did:key:"


def did_key_for(public_key: bytes) -> str:
    """Return the ``did:key`` DID of an Ed25519 public key (``did:key:z6Mk…``)."""
    return DID_KEY_PREFIX + encode_multikey(public_key)


def public_key_of_did_key(did: str) -> bytes:
    """Return the Ed25519 public key a ``did:key`` DID (or one of its DID URLs) encodes.

    Raises:
        EncodingError: not a ``did:key`` DID of an Ed25519 key.
    """
    if not did.startswith(DID_KEY_PREFIX):
        raise EncodingError(f"{did!r} is not a did:key DID")
    return decode_multikey(did[len(DID_KEY_PREFIX) :].split("#", 1)[0])


def resolve_did_key(did: str) -> dict[str, object]:
    """Resolve a ``did:key`` DID offline to its DID document (did:key method, Ed25519).

    The single verification method ``did:key:z6Mk…#z6Mk…`` (type ``Multikey``) serves every
    verification relationship except key agreement.

    Raises:
        EncodingError: not a ``did:key`` DID of an Ed25519 key.
    """
    bare = did.split("#", 1)[0]
    multibase = encode_multikey(public_key_of_did_key(bare))
    if bare != DID_KEY_PREFIX + multibase:
        raise EncodingError(f"{did!r} is not in the canonical did:key form")
    method_id = f"{bare}#{multibase}"
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": bare,
        "verificationMethod": [
            {
                "id": method_id,
                "type": "Multikey",
                "controller": bare,
                "publicKeyMultibase": multibase,
            }
        ],
        "authentication": [method_id],
        "assertionMethod": [method_id],
        "capabilityInvocation": [method_id],
        "capabilityDelegation": [method_id],
    }
