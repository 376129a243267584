from __future__ import annotations

from dataclasses import dataclass, field

import nacl.bindings
import nacl.exceptions
import nacl.signing

PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64
SEED_BYTES = 32


class InvalidPublicKey(ValueError):
    """A public key that must not be registered: wrong length, non-canonical or small order."""


def is_valid_public_key(public_key: bytes) -> bool:
    """Return True if ``public_key`` is a canonical encoding of a prime-order curve point."""
    if len(public_key) != PUBLIC_KEY_BYTES:
        return False
    # libsodium: canonical, on the curve, in the prime-order subgroup, not of small order.
    return bool(nacl.bindings.crypto_core_ed25519_is_valid_point(public_key))


def validate_public_key(public_key: bytes) -> None:
    """Check a key before it is registered.

    Raises:
        InvalidPublicKey: wrong length, non-canonical encoding, small order or mixed order.
    """
    if len(public_key) != PUBLIC_KEY_BYTES:
        raise InvalidPublicKey(
            f"an Ed25519 public key is {PUBLIC_KEY_BYTES} bytes, got {len(public_key)}"
        )
    if not is_valid_public_key(public_key):
        raise InvalidPublicKey(
            "public key is not a canonical prime-order Ed25519 point (small-order or "
            "non-canonical keys are refused)"
        )


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Return True if ``signature`` is a valid Ed25519 signature of ``message``.

    Strict (libsodium): refuses small-order and non-canonical ``A`` and ``R``, non-canonical
    ``S``, and signatures that verify only with the cofactored equation. Never raises.
    """
    if len(public_key) != PUBLIC_KEY_BYTES or len(signature) != SIGNATURE_BYTES:
        return False
    try:
        nacl.bindings.crypto_sign_open(signature + message, public_key)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.CryptoError, ValueError):
        return False
    return True


def _derive_key_pair(seed: bytes) -> tuple[bytes, bytes]:
    """Return (public key, libsodium's 64-byte secret key) of a 32-byte seed.

    Raises:
        ValueError: the seed is not 32 bytes.
    """
    if len(seed) != SEED_BYTES:
        raise ValueError(f"an Ed25519 seed is {SEED_BYTES} bytes, got {len(seed)}")
    public_key, secret_key = nacl.bindings.crypto_sign_seed_keypair(seed)
    return public_key, secret_key


@dataclass(frozen=True, slots=True)
class KeyPair:
    """An Ed25519 key pair held by a client, a node or a device. The seed never leaves it.

    Raises (on construction):
        ValueError: the seed is not 32 bytes, or ``public_key`` is not the seed's key.
    """

    seed: bytes
    public_key: bytes
    # libsodium's 64-byte secret key (seed and public key), derived once: deriving it is a
    # scalar multiplication, about what a signature itself costs.
    _secret_key: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        public_key, secret_key = _derive_key_pair(self.seed)
        if public_key != self.public_key:
            raise ValueError("the public key is not the one this seed derives")
        object.__setattr__(self, "_secret_key", secret_key)

    @classmethod
    def generate(cls) -> KeyPair:
        """Create a new key pair from the operating system's randomness."""
        key = nacl.signing.SigningKey.generate()
        return cls(seed=bytes(key), public_key=bytes(key.verify_key))

    @classmethod
    def from_seed(cls, seed: bytes) -> KeyPair:
        """Rebuild a key pair from its 32-byte seed.

        Raises:
            ValueError: the seed is not 32 bytes.
        """
        return cls(seed=seed, public_key=_derive_key_pair(seed)[0])

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of ``message``."""
        return nacl.bindings.crypto_sign(message, self._secret_key)[:SIGNATURE_BYTES]

    def __repr__(self) -> str:  # never print the seed
        return f"KeyPair(public_key={self.public_key.hex()})"
