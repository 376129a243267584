"""Errors of the ``identity`` module: stable numeric codes in the ``identity`` codespace."""

from __future__ import annotations

from enum import IntEnum

from amchain.modules.base import ModuleError

__all__ = ["IdentityCode", "IdentityError"]


class IdentityCode(IntEnum):
    """Stable codes of the ``identity`` codespace (never renumber; only append)."""

    INVALID_DID = 1
    UNKNOWN_DID = 2
    DID_EXISTS = 3
    DID_DEACTIVATED = 4
    NOT_CONTROLLER = 5
    INVALID_KEY_ENCODING = 6
    INVALID_KEY = 7
    KEY_IN_USE = 8
    NEW_KEY_NOT_SIGNED = 9
    UNKNOWN_KEY_ID = 10
    KEY_ALREADY_REVOKED = 11
    LAST_AUTH_KEY = 12
    INVALID_PURPOSE = 13
    NO_PURPOSES = 14
    DUPLICATE_PURPOSE = 15
    INVALID_SERVICE = 16
    DUPLICATE_SERVICE = 17
    TOO_MANY_KEYS = 18
    TOO_MANY_SERVICES = 19
    ORG_DID_NOT_MANAGED = 20
    VEHICLE_DID_NOT_REGISTERED = 21
    INVALID_VIN = 22
    INVALID_KEY_ID = 23
    NO_SPONSOR = 24


class IdentityError(ModuleError):
    """A refusal of the ``identity`` module."""

    codespace = "identity"
