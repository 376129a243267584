"""The ``credentials`` codespace: stable numeric codes for every refusal of this module.

Codes are part of the public interface (receipts, the REST API's problem documents): never
renumber, only append.
"""

from __future__ import annotations

from enum import IntEnum

from amchain.modules.base import ModuleError

__all__ = ["CODESPACE", "CredentialsCode", "CredentialsError"]

CODESPACE = "credentials"


class CredentialsCode(IntEnum):
    """Stable codes of the ``credentials`` codespace."""

    INVALID_CREDENTIAL = 1
    PROOF_INVALID = 2
    NOT_ISSUER = 3
    DUPLICATE_CREDENTIAL = 4
    STATUS_LIST_EXISTS = 5
    UNKNOWN_STATUS_LIST = 6
    INVALID_STATUS_LIST = 7
    INDEX_OUT_OF_RANGE = 8
    SLOT_TAKEN = 9
    INVALID_STATUS_ENTRY = 10
    REVOCATION_IS_FINAL = 11
    STATUS_UNCHANGED = 12
    UNKNOWN_VEHICLE = 13
    NOT_CURRENT_OWNER = 14
    OWNER_EPOCH_MISMATCH = 15
    INVALID_GRANT = 16
    VEHICLE_NOT_ACTIVE = 17
    NOT_VEHICLE_KEY = 18
    LOG_SEQ_MISMATCH = 19
    INVALID_LOG_ENTRY = 20
    GRANT_STATUS_MISSING = 21
    GRANT_NOT_REGISTERED_HERE = 22
    INVALID_DRAFT = 23
    NO_FREE_INDEX = 24


class CredentialsError(ModuleError):
    """A refusal of the ``credentials`` module.

    Raise as ``CredentialsError(CredentialsCode.X, "what to fix", details={...})``.
    """

    codespace = CODESPACE
