"""Ed25519 keys and signatures (RFC 8032, via PyNaCl/libsodium), hashing and key encodings.

One verifier for every peer: :func:`verify_signature` uses libsodium's strict verification,
which refuses small-order and non-canonical points and the cofactor residue (the C2SP
edge-case vectors pin this down). :func:`validate_public_key` is the stricter check made
when a key is *registered*: the point must be canonical, on the curve, of prime order.
"""

from amchain.crypto._ed25519 import (
    PUBLIC_KEY_BYTES,
    SIGNATURE_BYTES,
    InvalidPublicKey,
    KeyPair,
    is_valid_public_key,
    validate_public_key,
    verify_signature,
)
from amchain.crypto._encoding import (
    DID_KEY_PREFIX,
    EncodingError,
    decode_hex,
    decode_multikey,
    decode_private_multikey,
    did_key_for,
    encode_multikey,
    encode_private_multikey,
    public_key_of_did_key,
    resolve_did_key,
)
from amchain.crypto._hashing import sha256

__all__ = [
    "DID_KEY_PREFIX",
    "PUBLIC_KEY_BYTES",
    "SIGNATURE_BYTES",
    "EncodingError",
    "InvalidPublicKey",
    "KeyPair",
    "decode_hex",
    "decode_multikey",
    "decode_private_multikey",
    "did_key_for",
    "encode_multikey",
    "encode_private_multikey",
    "is_valid_public_key",
    "public_key_of_did_key",
    "resolve_did_key",
    "sha256",
    "validate_public_key",
    "verify_signature",
]
