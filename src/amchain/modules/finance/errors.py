"""Errors of the ``finance`` module: stable numeric codes in the ``finance`` codespace."""

from __future__ import annotations

from enum import IntEnum

from amchain.modules.base import ModuleError

__all__ = ["FinanceCode", "FinanceError"]


class FinanceCode(IntEnum):
    """Stable codes of the ``finance`` codespace (never renumber; only append)."""

    INVALID_ID = 1
    INVALID_AMOUNT = 2
    INVALID_HASH = 3
    INVALID_TIME = 4
    UNKNOWN_DENOM = 5
    UNKNOWN_ACCOUNT = 6
    NOT_A_SUPPLIER = 7
    NOT_A_FINANCIER = 8
    VOUCHER_EXISTS = 9
    UNKNOWN_VOUCHER = 10
    UNKNOWN_PIECE = 11
    NOT_HOLDER = 12
    PIECE_NOT_HELD = 13
    SPLIT_MISMATCH = 14
    INVALID_SPLIT = 15
    NOT_MATURE = 16
    ALREADY_REDEEMED = 17
    MATURED = 18
    NOT_ISSUER = 19
    INVALID_PRICE = 20
    FINANCIER_SIGNATURE_MISSING = 21
    LOAN_EXISTS = 22
    UNKNOWN_LOAN = 23
    NOT_VEHICLE_OWNER = 24
    BORROWER_SIGNATURE_MISSING = 25
    INVALID_TERMS = 26
    LOAN_CLOSED = 27
    NOT_BORROWER = 28
    OVERPAYMENT = 29
    ORDER_EXISTS = 30
    UNKNOWN_ORDER = 31
    NOT_PAYER = 32
    ORDER_NOT_ACTIVE = 33
    NOT_ACCOUNT_HOLDER = 34


class FinanceError(ModuleError):
    """A refusal of the ``finance`` module."""

    codespace = "finance"
