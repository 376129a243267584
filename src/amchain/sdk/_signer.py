"""Signers: a key pair with its DID, used to sign transactions."""

from __future__ import annotations

import base58

from amchain.crypto import KeyPair, sha256

__all__ = ["Signer", "did_for_key"]

ORG_DID_PREFIX = "did:amc:org:"


def did_for_key(public_key: bytes) -> str:
    """Return the ``did:amc`` DID of a person's or device's key.

    Same derivation as the ``identity`` module: ``did:amc:`` + base58btc(sha256(key)[:16]).
    """
    return "did:amc:" + base58.b58encode(sha256(public_key)[:16]).decode("ascii")


class Signer:
    """A key pair that signs transactions, with the DID it acts for.

    ``did`` defaults to the key's own DID (:func:`did_for_key`); pass ``did=`` for a key that
    acts for an organisation (``did:amc:org:<id>``) or for a DID whose later key it is.
    """

    __slots__ = ("_did", "key", "name")

    def __init__(self, key: KeyPair, *, did: str | None = None, name: str | None = None) -> None:
        if not isinstance(key, KeyPair):
            raise TypeError(f"Signer needs an amchain.crypto.KeyPair, got {type(key).__name__}")
        self.key = key
        self._did = did
        self.name = name

    @classmethod
    def generate(cls, *, name: str | None = None) -> Signer:
        """A signer with a fresh random key."""
        return cls(KeyPair.generate(), name=name)

    @classmethod
    def from_seed(
        cls, seed: bytes | str, *, did: str | None = None, name: str | None = None
    ) -> Signer:
        """A signer from a 32-byte seed (bytes or hex)."""
        raw = bytes.fromhex(seed) if isinstance(seed, str) else seed
        return cls(KeyPair.from_seed(raw), did=did, name=name)

    @classmethod
    def for_org(cls, key: KeyPair, org: str, *, name: str | None = None) -> Signer:
        """A signer acting for consortium organisation ``org``."""
        return cls(key, did=ORG_DID_PREFIX + org, name=name)

    @property
    def public_key(self) -> bytes:
        return self.key.public_key

    @property
    def public_key_hex(self) -> str:
        return self.key.public_key.hex()

    @property
    def did(self) -> str:
        return self._did if self._did is not None else did_for_key(self.key.public_key)

    def sign(self, message: bytes) -> bytes:
        return self.key.sign(message)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Signer) and other.key.public_key == self.key.public_key

    def __hash__(self) -> int:
        return hash(self.key.public_key)

    def __repr__(self) -> str:
        label = f"{self.name!r}, " if self.name else ""
        return f"Signer({label}public_key={self.public_key_hex[:16]}…, did={self.did!r})"


def as_keypair(signer: Signer | KeyPair) -> KeyPair:
    if isinstance(signer, Signer):
        return signer.key
    if isinstance(signer, KeyPair):
        return signer
    raise TypeError(f"expected a Signer or a KeyPair, got {type(signer).__name__}")
