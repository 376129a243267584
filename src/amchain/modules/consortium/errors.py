"""Errors of the ``consortium`` module: stable numeric codes in the ``consortium`` codespace."""

from __future__ import annotations

from enum import IntEnum

from amchain.modules.base import ModuleError

__all__ = ["ConsortiumCode", "ConsortiumError"]


class ConsortiumCode(IntEnum):
    """Stable codes of the ``consortium`` codespace (never renumber; only append)."""

    INVALID_KEY_ENCODING = 1
    INVALID_KEY = 2
    UNKNOWN_ORG = 3
    NOT_ORG_ADMIN = 4
    KEY_IN_USE = 5
    NEW_KEY_NOT_SIGNED = 6
    UNKNOWN_KEY = 7
    KEY_ALREADY_REVOKED = 8
    LAST_ADMIN_KEY = 9
    INVALID_KIND = 10
    KEY_NOT_IN_ORG = 11
    INVALID_ORG_ID = 12
    DUPLICATE_ORG = 13
    INVALID_ROLE = 14
    NO_ROLES = 15
    NO_ADMIN_KEY = 16
    INVALID_NAME = 17
    ORG_INACTIVE = 18


class ConsortiumError(ModuleError):
    """A refusal of the ``consortium`` module."""

    codespace = "consortium"
