"""Verifying a credential end to end: proof, issuer, validity window, schema, status.

The verifier is told how to get DID documents (``load``) and status bits (``read_status``);
``did:key`` is always resolved offline. Each check lands in the report with ``ok`` True,
False, or None (could not be checked, e.g. status while offline); a credential is verified
when no check failed and its proof verified.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from amchain.vc._dataintegrity import DocumentLoader, VerifiedProof, verify_proof
from amchain.vc._errors import VcError, VcReason
from amchain.vc._schemas import check_credential_schemas
from amchain.vc._statuslist import STATUS_ENTRY_TYPE, STATUS_PURPOSES, parse_list_url
from amchain.vc._time import DateTimeError, parse_datetime_ms
from amchain.vc._vehicle import VC_CONTEXT

__all__ = [
    "Check",
    "StatusReader",
    "VerificationReport",
    "credential_issuer",
    "credential_status_refs",
    "verify_credential",
]

StatusReader = Callable[[str, int], bool | None]
"""``read_status(list_url, index)``: the bit, or None when it cannot be read (offline)."""


@dataclass(frozen=True, slots=True)
class Check:
    """One check of a verification: ``ok`` None means it could not be made."""

    name: str
    ok: bool | None
    detail: str
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class VerificationReport:
    """What a verifier found out about one credential."""

    checks: tuple[Check, ...]
    credential_id: str | None = None
    issuer: str | None = None
    types: tuple[str, ...] = ()
    subject: str | None = None
    proof: VerifiedProof | None = field(default=None, repr=False)

    @property
    def verified(self) -> bool:
        return self.proof is not None and all(c.ok is not False for c in self.checks)

    @property
    def failure(self) -> Check | None:
        """The first failed check, or None."""
        return next((c for c in self.checks if c.ok is False), None)

    @property
    def unchecked(self) -> list[Check]:
        return [c for c in self.checks if c.ok is None]

    def to_json(self) -> dict[str, Any]:
        failure = self.failure
        return {
            "verified": self.verified,
            "reason": None if failure is None else failure.reason,
            "credential_id": self.credential_id,
            "issuer": self.issuer,
            "types": list(self.types),
            "subject": self.subject,
            "verification_method": None if self.proof is None else self.proof.verification_method,
            "checks": [c.to_json() for c in self.checks],
        }


def credential_issuer(credential: Mapping[str, Any]) -> str | None:
    """Return the issuer's id (``issuer`` may be a string or an object with ``id``)."""
    issuer = credential.get("issuer")
    if isinstance(issuer, Mapping):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def credential_status_refs(credential: Mapping[str, Any]) -> list[tuple[str, str, int]]:
    """Return ``(purpose, list url, index)`` of each Bitstring status entry.

    Raises:
        VcError: STATUS_INVALID (an entry that is not a well-formed BitstringStatusListEntry).
    """
    raw = credential.get("credentialStatus")
    if raw is None:
        return []
    entries = raw if isinstance(raw, list) else [raw]
    refs: list[tuple[str, str, int]] = []
    for entry in entries:
        if not isinstance(entry, Mapping) or entry.get("type") != STATUS_ENTRY_TYPE:
            raise VcError(
                VcReason.STATUS_INVALID,
                f"credentialStatus entries must be {STATUS_ENTRY_TYPE}",
            )
        purpose = entry.get("statusPurpose")
        index_text = entry.get("statusListIndex")
        url = entry.get("statusListCredential")
        if purpose not in STATUS_PURPOSES:
            raise VcError(
                VcReason.STATUS_INVALID,
                f"statusPurpose must be one of {', '.join(STATUS_PURPOSES)}, got {purpose!r}",
            )
        if not isinstance(index_text, str) or not index_text.isdigit() or len(index_text) > 9:
            raise VcError(VcReason.STATUS_INVALID, "statusListIndex must be a decimal string")
        if not isinstance(url, str):
            raise VcError(VcReason.STATUS_INVALID, "statusListCredential must be a URL")
        parse_list_url(url)
        refs.append((str(purpose), url, int(index_text)))
    return refs


def _types(credential: Mapping[str, Any]) -> tuple[str, ...]:
    raw = credential.get("type")
    if isinstance(raw, str):
        return (raw,)
    if isinstance(raw, list):
        return tuple(str(t) for t in raw)
    return ()


def _subject_id(credential: Mapping[str, Any]) -> str | None:
    subject = credential.get("credentialSubject")
    if isinstance(subject, list) and subject:
        subject = subject[0]
    if isinstance(subject, Mapping) and isinstance(subject.get("id"), str):
        return str(subject["id"])
    return None


def _structure(credential: Mapping[str, Any]) -> Check:
    context = credential.get("@context")
    if not isinstance(context, list) or not context or context[0] != VC_CONTEXT:
        return Check("structure", False, f"@context must start with {VC_CONTEXT}", "malformed")
    if "VerifiableCredential" not in _types(credential):
        return Check("structure", False, "type must include VerifiableCredential", "malformed")
    if credential_issuer(credential) is None:
        return Check("structure", False, "issuer must be a URL or an object with id", "malformed")
    if not isinstance(credential.get("credentialSubject"), Mapping | list):
        return Check("structure", False, "credentialSubject is missing", "malformed")
    return Check("structure", True, "VC Data Model 2.0")


def _window(credential: Mapping[str, Any], now_ms: int) -> Check:
    try:
        start = credential.get("validFrom")
        end = credential.get("validUntil")
        if start is not None and parse_datetime_ms(str(start)) > now_ms:
            return Check("validity", False, f"not valid before {start}", VcReason.NOT_YET_VALID)
        if end is not None and parse_datetime_ms(str(end)) < now_ms:
            return Check("validity", False, f"expired at {end}", VcReason.EXPIRED)
    except DateTimeError as exc:
        return Check("validity", False, str(exc), VcReason.MALFORMED)
    if start is None and end is None:
        return Check("validity", True, "no validity window given")
    return Check("validity", True, f"valid from {start or '-'} until {end or '-'}")


def verify_credential(
    credential: Mapping[str, Any],
    *,
    load: DocumentLoader | None,
    read_status: StatusReader | None,
    now_ms: int,
) -> VerificationReport:
    """Verify a credential and report every check (never raises for a bad credential)."""
    checks: list[Check] = [_structure(credential)]
    issuer = credential_issuer(credential)
    proof: VerifiedProof | None = None
    try:
        proof = verify_proof(
            credential, load=load, expected_purpose="assertionMethod", now_ms=now_ms
        )
        checks.append(Check("proof", True, f"eddsa-jcs-2022 by {proof.verification_method}"))
    except VcError as exc:
        checks.append(Check("proof", False, exc.message, exc.reason))
    if proof is not None:
        signer = proof.verification_method.split("#", 1)[0]
        if issuer == signer:
            checks.append(Check("issuer", True, f"signed by the issuer {issuer}"))
        else:
            checks.append(
                Check(
                    "issuer",
                    False,
                    f"signed by {signer}, but the issuer is {issuer}: the proof does not show "
                    "who issued it",
                    VcReason.ISSUER_MISMATCH,
                )
            )
    checks.append(_window(credential, now_ms))
    try:
        schemas = check_credential_schemas(credential)
        detail = ", ".join(schemas) if schemas else "no credentialSchema given"
        checks.append(Check("schema", True, detail))
    except VcError as exc:
        checks.append(Check("schema", False, exc.message, exc.reason))
    checks.extend(_status_checks(credential, issuer, read_status))
    return VerificationReport(
        checks=tuple(checks),
        credential_id=credential.get("id") if isinstance(credential.get("id"), str) else None,
        issuer=issuer,
        types=_types(credential),
        subject=_subject_id(credential),
        proof=proof,
    )


def _status_checks(
    credential: Mapping[str, Any], issuer: str | None, read_status: StatusReader | None
) -> list[Check]:
    try:
        refs = credential_status_refs(credential)
    except VcError as exc:
        return [Check("status", False, exc.message, exc.reason)]
    if not refs:
        return [Check("status", True, "no credentialStatus given")]
    checks: list[Check] = []
    for purpose, url, index in refs:
        name = f"status:{purpose}"
        list_issuer, _ = parse_list_url(url)
        if list_issuer != issuer:
            checks.append(
                Check(
                    name, False, f"status list {url} is not the issuer's", VcReason.STATUS_INVALID
                )
            )
            continue
        bit = None if read_status is None else read_status(url, index)
        if bit is None:
            checks.append(
                Check(
                    name,
                    None,
                    f"not checked: status list {url} could not be read",
                    VcReason.STATUS_UNAVAILABLE,
                )
            )
        elif bit:
            reason = VcReason.REVOKED if purpose == "revocation" else VcReason.SUSPENDED
            checks.append(Check(name, False, f"{reason.value} ({url} #{index})", reason))
        else:
            state = "revoked" if purpose == "revocation" else "suspended"
            checks.append(Check(name, True, f"not {state} ({url} #{index})"))
    return checks
