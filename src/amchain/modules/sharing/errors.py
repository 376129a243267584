"""Errors of the ``sharing`` module: stable numeric codes in the ``sharing`` codespace."""

from __future__ import annotations

from enum import IntEnum

from amchain.modules.base import ModuleError

__all__ = ["SharingCode", "SharingError"]


class SharingCode(IntEnum):
    """Stable codes of the ``sharing`` codespace (never renumber; only append)."""

    INVALID_ID = 1
    INVALID_SHARES = 2
    INVALID_THRESHOLD = 3
    GROUP_EXISTS = 4
    VEHICLE_SHARED = 5
    UNKNOWN_GROUP = 6
    GROUP_CLOSED = 7
    NOT_OWNER = 8
    MEMBER_SIGNATURE_MISSING = 9
    NOT_MEMBER = 10
    UNKNOWN_ACCOUNT = 11
    CAR_IN_USE = 12
    UNKNOWN_SESSION = 13
    INVALID_DISTANCE = 14
    NOT_PAYEE = 15
    BILL_EXISTS = 16
    INVALID_AMOUNT = 17
    PROPOSAL_EXISTS = 18
    UNKNOWN_PROPOSAL = 19
    PROPOSAL_CLOSED = 20
    DUPLICATE_APPROVAL = 21
    NOT_ENOUGH_APPROVALS = 22
    BUYER_SIGNATURE_MISSING = 23
    NEW_MEMBER_SIGNATURE_MISSING = 24
    ALREADY_MEMBER = 25
    UNKNOWN_DENOM = 26


class SharingError(ModuleError):
    """A refusal of the ``sharing`` module."""

    codespace = "sharing"
