"""The ``identity/`` state-key layout (full keys): what proofs and light clients name."""

from __future__ import annotations

__all__ = ["MODULE", "did_record_state_key", "key_index_state_key"]

MODULE = "identity"


def did_record_state_key(did: str) -> str:
    """``identity/did/<did>``: the DidRecord of a person, device or vehicle DID."""
    return f"{MODULE}/did/{did}"


def key_index_state_key(public_key_hex: str) -> str:
    """``identity/keyidx/<public key hex>``: which DID a key belongs to, for ever."""
    return f"{MODULE}/keyidx/{public_key_hex}"
