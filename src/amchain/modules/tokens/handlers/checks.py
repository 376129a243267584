"""Checks the ``tokens`` handlers share: names, amounts, accounts, who acts for an account.

The stateless ones (``check_*``) also run at admission, so a malformed request is refused
before it reaches a block.
"""

from __future__ import annotations

import re

from amchain.ledger import StateReader
from amchain.modules import consortium, identity
from amchain.modules.base import KeyStatus, TxContext
from amchain.modules.tokens import keeper
from amchain.modules.tokens.errors import TokensCode, TokensError
from amchain.modules.tokens.types import Denomination

__all__ = [
    "MAX_AMOUNT_MINOR",
    "acting_account",
    "check_account_name",
    "check_amount",
    "check_denom",
    "check_proposal_id",
    "check_text",
    "require_account",
    "require_denomination",
]

MAX_AMOUNT_MINOR = 2**53 - 1  # the codec's integer range: every amount and supply fits it
DENOM_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9-]{1,15}")
ACCOUNT_PATTERN = re.compile(r"did:amc:[A-Za-z0-9._:-]{1,200}")
PROPOSAL_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")


def check_denom(denom: str) -> None:
    """Raises: TokensError: INVALID_DENOM."""
    if DENOM_PATTERN.fullmatch(denom) is None:
        raise TokensError(
            TokensCode.INVALID_DENOM,
            f"denomination {denom[:40]!r} must match [A-Za-z][A-Za-z0-9-]{{1,15}} (e.g. AMCT)",
            details={"denom": denom[:40]},
        )


def check_amount(amount_minor: int, *, field: str = "amount_minor", zero_ok: bool = False) -> None:
    """Raises: TokensError: INVALID_AMOUNT (zero unless ``zero_ok``, negative, or beyond
    2^53 − 1)."""
    lowest = 0 if zero_ok else 1
    if not lowest <= amount_minor <= MAX_AMOUNT_MINOR:
        at_least = "0 or more" if zero_ok else "at least 1"
        raise TokensError(
            TokensCode.INVALID_AMOUNT,
            f"{field} must be {at_least} and at most {MAX_AMOUNT_MINOR} minor units, "
            f"got {amount_minor}",
            details={"field": field, "value": amount_minor},
        )


def check_account_name(account: str, *, field: str) -> None:
    """Raises: TokensError: UNKNOWN_ACCOUNT for a text that is not a did:amc DID."""
    if ACCOUNT_PATTERN.fullmatch(account) is None:
        raise TokensError(
            TokensCode.UNKNOWN_ACCOUNT,
            f"{field} must be a did:amc DID (a person, an organisation or a vehicle), "
            f"got {account[:80]!r}",
            details={"field": field},
        )


def check_text(text: str, *, field: str, max_chars: int) -> None:
    """Raises: TokensError: INVALID_TEXT (empty, or longer than ``max_chars``)."""
    if not text.strip() or len(text) > max_chars:
        raise TokensError(
            TokensCode.INVALID_TEXT,
            f"{field} must be 1 to {max_chars} characters",
            details={"field": field},
        )


def check_proposal_id(proposal_id: str) -> None:
    """Raises: TokensError: INVALID_ID."""
    if PROPOSAL_ID_PATTERN.fullmatch(proposal_id) is None:
        raise TokensError(
            TokensCode.INVALID_ID,
            "proposal_id must be 1 to 64 characters of A-Z a-z 0-9 . _ -",
            details={"proposal_id": proposal_id[:80]},
        )


def require_denomination(state: StateReader, denom: str) -> Denomination:
    """Return the denomination ``denom``.

    Raises:
        TokensError: UNKNOWN_DENOM.
    """
    found = keeper.read_denomination(state, denom)
    if found is None:
        raise TokensError(
            TokensCode.UNKNOWN_DENOM,
            f"there is no denomination {denom!r} on this chain (GET /v1/tokens/denominations)",
            details={"denom": denom},
        )
    return found


def require_account(state: StateReader, account: str, *, field: str) -> None:
    """Check ``account`` is a DID this chain knows (a person's, an organisation's, a
    vehicle's), so tokens never go where no key can reach them.

    Raises:
        TokensError: UNKNOWN_ACCOUNT.
    """
    check_account_name(account, field=field)
    if not identity.did_exists(state, account):
        raise TokensError(
            TokensCode.UNKNOWN_ACCOUNT,
            f"{field} {account} is not a DID on this chain; create it first (amchain did create)",
            details={"field": field, "account": account},
        )


def acting_account(ctx: TxContext, claimed: str | None, *, field: str) -> str:
    """The account the transaction acts for: ``claimed`` if a signer may act for it, else
    (``claimed`` None) the first signer's own DID — its organisation's for a consortium
    key.

    Raises:
        TokensError: NOT_ACCOUNT_HOLDER.
    """
    if claimed is not None:
        check_account_name(claimed, field=field)
        if any(identity.is_controlled_by(ctx.state, claimed, key) for key in ctx.signers):
            return claimed
        raise TokensError(
            TokensCode.NOT_ACCOUNT_HOLDER,
            f"no signer of this transaction may act for {field} {claimed}",
            details={"field": field, "account": claimed},
        )
    for standing in ctx.standings:
        if standing is None or standing.status != KeyStatus.ACTIVE:
            continue
        if standing.org is not None:
            return consortium.org_did(standing.org)
        if standing.did is not None:
            return standing.did
    raise TokensError(
        TokensCode.NOT_ACCOUNT_HOLDER,
        f"the first signer holds no account; sign with a DID's key or give {field}",
        details={"field": field},
    )
