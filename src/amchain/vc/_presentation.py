"""Verifiable presentations: a holder proves control of its DID over a verifier's challenge.

The proof purpose is ``authentication``; ``challenge`` (the verifier's fresh nonce) and
``domain`` (who the presentation is for, e.g. the vehicle's DID) are signed, so a
presentation cannot be replayed to another verifier or at another time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from amchain.crypto import KeyPair
from amchain.vc._dataintegrity import DocumentLoader, VerifiedProof, create_proof, verify_proof
from amchain.vc._errors import VcError, VcReason
from amchain.vc._vehicle import PRESENTATION_TYPE, VC_CONTEXT, presentation

__all__ = ["sign_presentation", "verify_presentation"]


def sign_presentation(
    *,
    holder: str,
    credentials: list[dict[str, Any]],
    key: KeyPair,
    verification_method: str,
    challenge: str,
    domain: str,
    created: str | None = None,
) -> dict[str, Any]:
    """Return a presentation of ``credentials`` by ``holder``, signed over the challenge."""
    return create_proof(
        presentation(holder=holder, credentials=credentials),
        key,
        verification_method=verification_method,
        proof_purpose="authentication",
        created=created,
        challenge=challenge,
        domain=domain,
    )


def verify_presentation(
    vp: Mapping[str, Any], *, load: DocumentLoader | None, challenge: str, domain: str
) -> tuple[VerifiedProof, list[Mapping[str, Any]]]:
    """Verify a presentation's proof and holder; return the proof and the credentials.

    The credentials themselves are not verified here (the caller verifies each).

    Raises:
        VcError: MALFORMED, HOLDER_MISMATCH, and every reason of :func:`verify_proof`.
    """
    context = vp.get("@context")
    types = vp.get("type")
    if not isinstance(context, list) or not context or context[0] != VC_CONTEXT:
        raise VcError(VcReason.MALFORMED, f"presentation @context must start with {VC_CONTEXT}")
    if not isinstance(types, list) or PRESENTATION_TYPE not in types:
        raise VcError(VcReason.MALFORMED, f"presentation type must include {PRESENTATION_TYPE}")
    holder = vp.get("holder")
    if not isinstance(holder, str):
        raise VcError(VcReason.MALFORMED, "presentation holder must be a DID")
    proof = verify_proof(
        vp, load=load, expected_purpose="authentication", challenge=challenge, domain=domain
    )
    if proof.verification_method.split("#", 1)[0] != holder:
        raise VcError(
            VcReason.HOLDER_MISMATCH,
            f"the presentation is signed by {proof.verification_method}, not by its holder "
            f"{holder}",
        )
    raw = vp.get("verifiableCredential", [])
    credentials = raw if isinstance(raw, list) else [raw]
    if not all(isinstance(c, Mapping) for c in credentials):
        raise VcError(VcReason.MALFORMED, "verifiableCredential must hold credential objects")
    return proof, list(credentials)
