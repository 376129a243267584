"""The ``consortium/`` state-key layout (full keys): what proofs and light clients name.

Only the keeper reads and writes these keys; others use these functions to name them (a car
proving that a signer's key is active fetches ``key_record_state_key(key)`` with a proof).
"""

from __future__ import annotations

__all__ = ["MODULE", "key_record_state_key", "org_key_index_prefix", "organisation_state_key"]

MODULE = "consortium"


def organisation_state_key(org_id: str) -> str:
    """``consortium/org/<org_id>``: the Organisation."""
    return f"{MODULE}/org/{org_id}"


def key_record_state_key(public_key_hex: str) -> str:
    """``consortium/key/<public key hex>``: the KeyRecord (kept after revocation)."""
    return f"{MODULE}/key/{public_key_hex}"


def org_key_index_prefix(org_id: str) -> str:
    """``consortium/orgkey/<org_id>/``: the index of an organisation's keys, in key order."""
    return f"{MODULE}/orgkey/{org_id}/"
