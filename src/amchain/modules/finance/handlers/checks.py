"""Checks the ``finance`` handlers share: ids, amounts, hashes, accounts, roles of an
organisation, who acts for an account."""

from __future__ import annotations

import re

from amchain.ledger import StateReader
from amchain.modules import consortium, identity, tokens
from amchain.modules.base import KeyStatus, TxContext
from amchain.modules.finance.errors import FinanceCode, FinanceError

__all__ = [
    "MAX_AMOUNT_MINOR",
    "acting_account",
    "check_amount",
    "check_hash",
    "check_id",
    "require_account",
    "require_denom",
    "require_org_with_role",
    "signed_by",
]

MAX_AMOUNT_MINOR = 2**53 - 1
ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")
HASH_PATTERN = re.compile(r"[0-9a-f]{64}")
ORG_DID_PREFIX = "did:amc:org:"


def check_id(value: str, *, field: str) -> None:
    """Raises: FinanceError: INVALID_ID."""
    if ID_PATTERN.fullmatch(value) is None:
        raise FinanceError(
            FinanceCode.INVALID_ID,
            f"{field} must be 1 to 64 characters of A-Z a-z 0-9 . _ -",
            details={"field": field},
        )


def check_amount(amount_minor: int, *, field: str) -> None:
    """Raises: FinanceError: INVALID_AMOUNT (below 1, or beyond 2^53 − 1)."""
    if not 1 <= amount_minor <= MAX_AMOUNT_MINOR:
        raise FinanceError(
            FinanceCode.INVALID_AMOUNT,
            f"{field} must be 1 to {MAX_AMOUNT_MINOR} minor units, got {amount_minor}",
            details={"field": field, "value": amount_minor},
        )


def check_hash(value: str, *, field: str) -> None:
    """Raises: FinanceError: INVALID_HASH."""
    if HASH_PATTERN.fullmatch(value) is None:
        raise FinanceError(
            FinanceCode.INVALID_HASH,
            f"{field} must be a sha256 as 64 lowercase hex digits",
            details={"field": field},
        )


def require_denom(state: StateReader, denom: str) -> None:
    """Raises: FinanceError: UNKNOWN_DENOM."""
    if tokens.supply_of(state, denom) is None:
        raise FinanceError(
            FinanceCode.UNKNOWN_DENOM,
            f"there is no denomination {denom[:40]!r} (GET /v1/tokens/denominations)",
            details={"denom": denom[:40]},
        )


def require_account(state: StateReader, account: str, *, field: str) -> None:
    """Raises: FinanceError: UNKNOWN_ACCOUNT (not a DID this chain knows)."""
    if not identity.did_exists(state, account):
        raise FinanceError(
            FinanceCode.UNKNOWN_ACCOUNT,
            f"{field} {account[:80]} is not a DID on this chain",
            details={"field": field},
        )


def require_org_with_role(state: StateReader, did: str, role: str, code: FinanceCode) -> None:
    """Check ``did`` is an active organisation holding ``role``.

    Raises:
        FinanceError: ``code`` (NOT_A_SUPPLIER, NOT_A_FINANCIER).
    """
    org = (
        consortium.get_organisation(state, did[len(ORG_DID_PREFIX) :])
        if did.startswith(ORG_DID_PREFIX)
        else None
    )
    if org is None or role not in org.roles:
        raise FinanceError(
            code,
            f"{did[:80]} is not an organisation with the {role} role",
            details={"account": did[:80], "role": role},
        )


def signed_by(ctx: TxContext, did: str) -> bool:
    """Whether a signer of the transaction may act for ``did``."""
    return any(identity.is_controlled_by(ctx.state, did, key) for key in ctx.signers)


def acting_account(ctx: TxContext) -> str:
    """The first signer's own DID (its organisation's for a consortium key).

    Raises:
        FinanceError: NOT_ACCOUNT_HOLDER.
    """
    for standing in ctx.standings:
        if standing is None or standing.status != KeyStatus.ACTIVE:
            continue
        if standing.org is not None:
            return consortium.org_did(standing.org)
        if standing.did is not None:
            return standing.did
    raise FinanceError(
        FinanceCode.NOT_ACCOUNT_HOLDER, "the first signer holds no account (a DID's key)"
    )
