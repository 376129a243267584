"""Errors of the ledger core, each with a stable ``codespace`` and numeric ``code``.

Exception hierarchy (the whole project uses the same shape)::

    LedgerError                      codespace + code + message (+ details)
     ├── TxError         "tx"        envelope refused: signature, chain, expiry, replay, signer
     └── BlockError      "block"     a block that does not follow the rules (a peer halts)

Module errors (``amchain.modules.base.ModuleError``) derive from ``LedgerError`` too, and
``amchain.codec.DecodeError`` is mapped to the ``codec`` codespace by the runtime.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class LedgerError(Exception):
    """Any refusal with a stable ``codespace``/``code`` and a message a person can act on."""

    codespace: str = "ledger"

    def __init__(self, code: int, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = int(code)
        self.message = message
        self.details = details or {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.codespace}/{self.code}: {self.message!r})"


class TxCode(IntEnum):
    """Stable codes of the ``tx`` codespace."""

    WRONG_CHAIN = 1
    EXPIRED = 2
    EXPIRY_TOO_FAR = 3
    REPLAYED = 4
    BAD_SIGNATURE = 5
    SIGNATURE_COUNT = 6
    DUPLICATE_SIGNER = 7
    NO_SIGNERS = 8
    BAD_KEY_ENCODING = 9
    BAD_SIGNATURE_ENCODING = 10
    UNKNOWN_SIGNER = 11
    REVOKED_KEY = 12
    ROLE_NOT_ALLOWED = 13
    UNKNOWN_MODULE = 14
    UNKNOWN_MESSAGE = 15
    TOO_MANY_SIGNERS = 16
    WEAK_KEY = 17
    QUOTA_EXCEEDED = 18
    INTERNAL = 99


class TxError(LedgerError):
    """A transaction refused for its envelope (before any module sees it)."""

    codespace = "tx"


class BlockCode(IntEnum):
    """Stable codes of the ``block`` codespace."""

    WRONG_HEIGHT = 1
    WRONG_PREV_HASH = 2
    TIME_WENT_BACKWARDS = 3
    WRONG_TX_ROOT = 4
    INVALID_TRANSACTION = 5
    WRONG_CHAIN = 6
    NOT_CERTIFIED = 7


class BlockError(LedgerError):
    """A block that breaks the chain's rules."""

    codespace = "block"
