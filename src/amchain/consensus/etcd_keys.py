"""The etcd key layout of one chain (under ``/amchain/<chain id>/``)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["HEIGHT_DIGITS", "ClusterKeys"]

HEIGHT_DIGITS = 12


@dataclass(frozen=True, slots=True)
class ClusterKeys:
    """The etcd key layout of one chain."""

    prefix: bytes

    @classmethod
    def for_chain(cls, chain_id: str) -> ClusterKeys:
        return cls(f"/amchain/{chain_id}/".encode())

    @property
    def blocks(self) -> bytes:
        return self.prefix + b"blocks/"

    @property
    def commits(self) -> bytes:
        return self.prefix + b"commits/"

    @property
    def cutter(self) -> bytes:
        return self.prefix + b"cutter"

    def block(self, height: int) -> bytes:
        return self.blocks + str(height).zfill(HEIGHT_DIGITS).encode()

    def commit(self, height: int, signer_hex: str) -> bytes:
        return self.commits + str(height).zfill(HEIGHT_DIGITS).encode() + b"/" + signer_hex.encode()

    def commits_of(self, height: int) -> bytes:
        return self.commits + str(height).zfill(HEIGHT_DIGITS).encode() + b"/"

    def height_of(self, key: bytes) -> int:
        """The height named by a ``blocks/`` or ``commits/`` key."""
        rest = key[len(self.blocks) :] if key.startswith(self.blocks) else key[len(self.commits) :]
        return int(rest[:HEIGHT_DIGITS])
