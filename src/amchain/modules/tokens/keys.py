"""The ``tokens/`` state-key layout (full keys): what proofs and light clients name.

Only the keeper reads and writes these keys; others use these functions to name them (a
wallet proving a balance fetches ``balance_state_key(denom, account)`` with a proof).
Denominations match ``[A-Za-z][A-Za-z0-9-]{1,15}`` and accounts are ``did:amc:`` DIDs
without ``/``, so every prefix below is unambiguous.
"""

from __future__ import annotations

__all__ = [
    "MODULE",
    "allowance_state_key",
    "balance_state_key",
    "council_state_key",
    "denomination_state_key",
    "pool_state_key",
    "proposal_state_key",
    "schedule_state_key",
]

MODULE = "tokens"


def denomination_state_key(denom: str) -> str:
    """``tokens/denom/<denom>``: the Denomination (its issuer and supply)."""
    return f"{MODULE}/denom/{denom}"


def balance_state_key(denom: str, account: str) -> str:
    """``tokens/bal/<denom>/<account>``: an account's balance in minor units (absent: 0)."""
    return f"{MODULE}/bal/{denom}/{account}"


def allowance_state_key(denom: str, owner: str, spender: str) -> str:
    """``tokens/allow/<denom>/<owner>/<spender>``: what ``spender`` may still move from
    ``owner`` (absent: 0)."""
    return f"{MODULE}/allow/{denom}/{owner}/{spender}"


def pool_state_key(pool: str) -> str:
    """``tokens/pool/<pool>``: an AMCT pool held by the module (total, released, its rule)."""
    return f"{MODULE}/pool/{pool}"


def schedule_state_key() -> str:
    """``tokens/schedule``: when the next scheduled pool release falls due (the block hook
    reads only this key in a block where nothing is due)."""
    return f"{MODULE}/schedule"


def council_state_key() -> str:
    """``tokens/council``: the foundation signers and how many must approve a release."""
    return f"{MODULE}/council"


def proposal_state_key(proposal_id: str) -> str:
    """``tokens/proposal/<id>``: a release proposal of an approval-gated pool."""
    return f"{MODULE}/proposal/{proposal_id}"
