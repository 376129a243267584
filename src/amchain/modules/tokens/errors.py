"""Errors of the ``tokens`` module: stable numeric codes in the ``tokens`` codespace."""

from __future__ import annotations

from enum import IntEnum

from amchain.modules.base import ModuleError

__all__ = ["TokensCode", "TokensError"]


class TokensCode(IntEnum):
    """Stable codes of the ``tokens`` codespace (never renumber; only append)."""

    INVALID_DENOM = 1
    UNKNOWN_DENOM = 2
    DENOM_EXISTS = 3
    INVALID_AMOUNT = 4
    INSUFFICIENT_BALANCE = 5
    INSUFFICIENT_ALLOWANCE = 6
    UNKNOWN_ACCOUNT = 7
    NOT_ACCOUNT_HOLDER = 8
    NOT_ISSUER = 9
    FIXED_SUPPLY = 10
    SUPPLY_LIMIT = 11
    INVALID_DECIMALS = 12
    INVALID_TEXT = 13
    UNKNOWN_POOL = 14
    RELEASE_NOT_DUE = 15
    RELEASED_BY_RULES_ONLY = 16
    RELEASE_NEEDS_APPROVALS = 17
    NOT_FOUNDATION_SIGNER = 18
    DUPLICATE_APPROVAL = 19
    NOT_ENOUGH_APPROVALS = 20
    UNKNOWN_PROPOSAL = 21
    PROPOSAL_EXISTS = 22
    PROPOSAL_CLOSED = 23
    POOL_EXHAUSTED = 24
    INVALID_ID = 25
    INVALID_GENESIS = 26
    POOL_EMPTY = 27


class TokensError(ModuleError):
    """A refusal of the ``tokens`` module."""

    codespace = "tokens"
