"""Why a credential, a presentation or a proof is refused: stable reason codes."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

__all__ = ["VcError", "VcReason"]


class VcReason(StrEnum):
    """Stable reasons (never renamed, only added): they reach verification reports, the car's
    decisions and the CLI's output."""

    MALFORMED = "malformed"
    NO_PROOF = "no_proof"
    UNSUPPORTED_PROOF = "unsupported_proof"
    WRONG_PURPOSE = "wrong_purpose"
    CHALLENGE_MISMATCH = "challenge_mismatch"
    DOMAIN_MISMATCH = "domain_mismatch"
    PROOF_EXPIRED = "proof_expired"
    UNKNOWN_METHOD = "unknown_method"
    BAD_SIGNATURE = "bad_signature"
    ISSUER_MISMATCH = "issuer_mismatch"
    HOLDER_MISMATCH = "holder_mismatch"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    SCHEMA_INVALID = "schema_invalid"
    SCHEMA_UNKNOWN = "schema_unknown"
    REVOKED = "revoked"
    SUSPENDED = "suspended"
    STATUS_UNAVAILABLE = "status_unavailable"
    STATUS_INVALID = "status_invalid"


class VcError(ValueError):
    """A refusal with a stable :class:`VcReason` and an actionable message."""

    def __init__(self, reason: VcReason, message: str, **details: Any) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return f"{self.reason.value}: {self.message}"
