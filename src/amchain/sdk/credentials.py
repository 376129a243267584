"""Issuing, signing and verifying credentials from the SDK.

Pure helpers (no network) live here: the verification method a signer signs with, signing a
credential or a presentation, and verifying a credential with whatever resolution is at hand.
``client.credentials`` (:class:`amchain.sdk.Client`) adds what needs the node.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from amchain.crypto import did_key_for, encode_multikey
from amchain.sdk._errors import ApiError, TxBuildError
from amchain.sdk._signer import Signer, did_for_key
from amchain.vc import (
    VerificationReport,
    create_proof,
    credential_status_refs,
    format_datetime,
    sign_presentation,
    verify_credential,
)

__all__ = [
    "device_signer",
    "now_ms",
    "sign_credential",
    "sign_presentation_as",
    "verification_method",
    "verify",
]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def device_signer(signer: Signer) -> Signer:
    """The same key acting as its own ``did:key`` (a device that is not on chain)."""
    return Signer(signer.key, did=did_key_for(signer.public_key), name=signer.name)


def verification_method(signer: Signer, document: Mapping[str, Any] | None = None) -> str:
    """Return the DID URL of the signer's key in its DID document.

    Organisation keys are ``did:amc:org:<id>#<multikey>``, ``did:key`` keys
    ``did:key:<mk>#<mk>``, and the key a person's DID was created from is ``#key-1``. For a
    later key of a DID, pass its resolved ``document`` to find it.

    Raises:
        TxBuildError: the key is not a verification method of the signer's DID.
    """
    did = signer.did
    multikey = encode_multikey(signer.public_key)
    if did.startswith("did:amc:org:") or did.startswith("did:key:"):
        return f"{did}#{multikey}"
    if document is not None:
        for method in document.get("verificationMethod", []):
            if method.get("publicKeyMultibase") == multikey:
                return str(method["id"])
        raise TxBuildError(f"the signer's key is not an active key of {did}")
    if did == did_for_key(signer.public_key):
        return f"{did}#key-1"
    raise TxBuildError(f"cannot tell which key of {did} this is; pass its resolved DID document")


def sign_credential(
    document: Mapping[str, Any],
    signer: Signer,
    *,
    method: str | None = None,
    created_ms: int | None = None,
) -> dict[str, Any]:
    """Secure a credential with an ``eddsa-jcs-2022`` proof by ``signer`` (its issuer)."""
    created = now_ms() if created_ms is None else created_ms
    return create_proof(
        document,
        signer.key,
        verification_method=method or verification_method(signer),
        proof_purpose="assertionMethod",
        created=format_datetime(created - created % 1000),
    )


def sign_presentation_as(
    holder: Signer,
    credentials: list[dict[str, Any]],
    *,
    challenge: str,
    domain: str,
    method: str | None = None,
) -> dict[str, Any]:
    """A presentation of ``credentials`` by ``holder``, signed over a verifier's challenge."""
    created = now_ms()
    return sign_presentation(
        holder=holder.did,
        credentials=credentials,
        key=holder.key,
        verification_method=method or verification_method(holder),
        challenge=challenge,
        domain=domain,
        created=format_datetime(created - created % 1000),
    )


Resolver = Callable[[str], Mapping[str, Any] | None]
StatusLookup = Callable[[str, int], bool | None]


def verify(
    credential: Mapping[str, Any],
    *,
    resolve: Resolver | None = None,
    read_status: StatusLookup | None = None,
    at_ms: int | None = None,
) -> VerificationReport:
    """Verify a credential: ``did:key`` offline; ``did:amc`` only through ``resolve``.

    With no ``resolve``/``read_status`` nothing touches the network: a ``did:amc`` issuer
    cannot be resolved (the proof check fails) and status checks are reported as not made.
    """
    return verify_credential(
        credential,
        load=resolve,
        read_status=read_status,
        now_ms=now_ms() if at_ms is None else at_ms,
    )


def status_refs(credential: Mapping[str, Any]) -> dict[str, tuple[str, int]]:
    """``{purpose: (list url, index)}`` of a credential's status entries."""
    return {purpose: (url, index) for purpose, url, index in credential_status_refs(credential)}


def is_not_found(exc: ApiError) -> bool:
    return exc.status == 404
