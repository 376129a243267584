"""W3C Data Integrity proofs with the ``eddsa-jcs-2022`` cryptosuite (Data Integrity EdDSA
Cryptosuites v1.0, §3.3).

Creating a proof::

    proofConfig   = the proof options without proofValue; its @context is the document's
    hashData      = SHA-256(JCS(proofConfig)) ‖ SHA-256(JCS(document without proof))
    proofValue    = "z" + base58btc(Ed25519-sign(hashData))

Verifying recomputes ``hashData`` from the secured document and checks the signature with
the key of the proof's verification method, which must be authorised for the expected
proof purpose in its controller's DID document.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import base58

from amchain.codec import CanonicalizationError, encode_canonical
from amchain.crypto import (
    DID_KEY_PREFIX,
    EncodingError,
    KeyPair,
    decode_multikey,
    resolve_did_key,
    sha256,
    verify_signature,
)
from amchain.vc._errors import VcError, VcReason
from amchain.vc._time import DateTimeError, parse_datetime_ms

__all__ = [
    "CRYPTOSUITE",
    "PROOF_TYPE",
    "DocumentLoader",
    "VerifiedProof",
    "canonical_document",
    "canonical_proof_config",
    "compute_hash_data",
    "create_proof",
    "method_public_key",
    "proof_config",
    "verify_proof",
]

CRYPTOSUITE = "eddsa-jcs-2022"
PROOF_TYPE = "DataIntegrityProof"

DocumentLoader = Callable[[str], Mapping[str, Any] | None]
"""Returns the DID document of a DID (``did:amc:…``), or None when it cannot be resolved.
``did:key`` DIDs are always resolved offline, without calling the loader."""


@dataclass(frozen=True, slots=True)
class VerifiedProof:
    """A proof that verified: who signed (controller DID), with which method and key."""

    verification_method: str
    controller: str
    public_key: bytes
    proof_purpose: str
    created_ms: int | None


def proof_config(
    document: Mapping[str, Any],
    *,
    verification_method: str,
    proof_purpose: str,
    created: str | None = None,
    expires: str | None = None,
    challenge: str | None = None,
    domain: str | None = None,
) -> dict[str, Any]:
    """Return the proof options of a new proof (no ``proofValue``), with the document's
    ``@context`` as the spec asks."""
    config: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
    }
    if created is not None:
        config["created"] = created
    if expires is not None:
        config["expires"] = expires
    if challenge is not None:
        config["challenge"] = challenge
    if domain is not None:
        config["domain"] = domain
    if "@context" in document:
        config["@context"] = document["@context"]
    return config


def _jcs(value: Any, what: str) -> bytes:
    try:
        return encode_canonical(value)
    except CanonicalizationError as exc:
        raise VcError(VcReason.MALFORMED, f"{what} has no canonical JSON form: {exc}") from None


def canonical_document(document: Mapping[str, Any]) -> bytes:
    """JCS of the document without its ``proof`` (the transformed data)."""
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    return _jcs(unsecured, "the document")


def canonical_proof_config(config: Mapping[str, Any]) -> bytes:
    """JCS of the proof configuration (without ``proofValue``)."""
    return _jcs({k: v for k, v in config.items() if k != "proofValue"}, "the proof")


def compute_hash_data(document: Mapping[str, Any], config: Mapping[str, Any]) -> bytes:
    """``SHA-256(JCS(proof config)) ‖ SHA-256(JCS(document))``: the 64 bytes that are signed."""
    return sha256(canonical_proof_config(config)) + sha256(canonical_document(document))


def create_proof(
    document: Mapping[str, Any],
    key: KeyPair,
    *,
    verification_method: str,
    proof_purpose: str = "assertionMethod",
    created: str | None = None,
    expires: str | None = None,
    challenge: str | None = None,
    domain: str | None = None,
) -> dict[str, Any]:
    """Return a copy of ``document`` secured with an ``eddsa-jcs-2022`` proof by ``key``.

    Raises:
        VcError: MALFORMED (the document already has a proof, or is not canonical JSON).
    """
    if "proof" in document:
        raise VcError(VcReason.MALFORMED, "the document already carries a proof")
    config = proof_config(
        document,
        verification_method=verification_method,
        proof_purpose=proof_purpose,
        created=created,
        expires=expires,
        challenge=challenge,
        domain=domain,
    )
    signature = key.sign(compute_hash_data(document, config))
    proof = dict(config)
    proof["proofValue"] = "z" + base58.b58encode(signature).decode("ascii")
    secured = dict(document)
    secured["proof"] = proof
    return secured


def _did_of(method_id: str) -> str:
    return method_id.split("#", 1)[0]


def _load_document(did: str, load: DocumentLoader | None) -> Mapping[str, Any] | None:
    if did.startswith(DID_KEY_PREFIX):
        try:
            return resolve_did_key(did)
        except EncodingError:
            return None
    return None if load is None else load(did)


def _absolute(did: str, ref: Any) -> Any:
    if isinstance(ref, str) and ref.startswith("#"):
        return did + ref
    return ref


def method_public_key(
    method_id: str, purpose: str, load: DocumentLoader | None
) -> tuple[bytes, str]:
    """Return (public key, controller DID) of a verification method authorised for ``purpose``.

    Raises:
        VcError: UNKNOWN_METHOD (DID or method not found, or not a Multikey Ed25519 key),
            WRONG_PURPOSE (the method is not listed under ``purpose``).
    """
    did = _did_of(method_id)
    document = _load_document(did, load)
    if document is None:
        raise VcError(
            VcReason.UNKNOWN_METHOD,
            f"cannot resolve {did} to find verification method {method_id}",
        )
    methods = document.get("verificationMethod", [])
    method = next(
        (m for m in methods if isinstance(m, Mapping) and _absolute(did, m.get("id")) == method_id),
        None,
    )
    if method is None:
        raise VcError(
            VcReason.UNKNOWN_METHOD,
            f"{did} has no active verification method {method_id}",
        )
    allowed = [_absolute(did, ref) for ref in document.get(purpose, [])]
    if method_id not in allowed:
        raise VcError(
            VcReason.WRONG_PURPOSE,
            f"verification method {method_id} is not authorised for {purpose} by {did}",
        )
    try:
        key = decode_multikey(str(method.get("publicKeyMultibase", "")))
    except EncodingError as exc:
        raise VcError(VcReason.UNKNOWN_METHOD, f"{method_id}: {exc}") from None
    return key, str(method.get("controller", did))


def verify_proof(
    secured: Mapping[str, Any],
    *,
    load: DocumentLoader | None,
    expected_purpose: str = "assertionMethod",
    challenge: str | None = None,
    domain: str | None = None,
    now_ms: int | None = None,
) -> VerifiedProof:
    """Verify the ``eddsa-jcs-2022`` proof of ``secured``.

    ``challenge``/``domain``, when given, must equal the proof's. ``now_ms``, when given,
    refuses a proof whose ``expires`` has passed.

    Raises:
        VcError: NO_PROOF, MALFORMED, UNSUPPORTED_PROOF, WRONG_PURPOSE, CHALLENGE_MISMATCH,
            DOMAIN_MISMATCH, PROOF_EXPIRED, UNKNOWN_METHOD, BAD_SIGNATURE.
    """
    proof = secured.get("proof")
    if proof is None:
        raise VcError(VcReason.NO_PROOF, "the document carries no proof")
    if not isinstance(proof, Mapping):
        raise VcError(
            VcReason.UNSUPPORTED_PROOF, "proof must be one object (proof sets are not supported)"
        )
    if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
        raise VcError(
            VcReason.UNSUPPORTED_PROOF,
            f"proof must be a {PROOF_TYPE} with cryptosuite {CRYPTOSUITE}, got "
            f"{proof.get('type')!r}/{proof.get('cryptosuite')!r}",
        )
    purpose = proof.get("proofPurpose")
    if purpose != expected_purpose:
        raise VcError(
            VcReason.WRONG_PURPOSE,
            f"proof purpose is {purpose!r}; expected {expected_purpose!r}",
        )
    if challenge is not None and proof.get("challenge") != challenge:
        raise VcError(VcReason.CHALLENGE_MISMATCH, "the proof does not answer this challenge")
    if domain is not None and proof.get("domain") != domain:
        raise VcError(
            VcReason.DOMAIN_MISMATCH,
            f"the proof is for domain {proof.get('domain')!r}, not {domain!r}",
        )
    created_ms: int | None = None
    try:
        if "created" in proof:
            created_ms = parse_datetime_ms(str(proof["created"]))
        expired = (
            now_ms is not None
            and "expires" in proof
            and parse_datetime_ms(str(proof["expires"])) < now_ms
        )
        if expired:
            raise VcError(VcReason.PROOF_EXPIRED, f"the proof expired at {proof['expires']}")
    except DateTimeError as exc:
        raise VcError(VcReason.MALFORMED, f"proof: {exc}") from None
    context = secured.get("@context")
    if "@context" in proof:
        wanted = proof["@context"]
        if (
            not isinstance(wanted, list)
            or not isinstance(context, list)
            or (context[: len(wanted)] != wanted)
        ):
            raise VcError(VcReason.MALFORMED, "the proof's @context does not match the document's")
    value = proof.get("proofValue")
    if not isinstance(value, str) or not value.startswith("z"):
        raise VcError(VcReason.MALFORMED, "proofValue must be base58btc multibase ('z…')")
    try:
        signature = base58.b58decode(value[1:])
    except ValueError:
        raise VcError(VcReason.MALFORMED, "proofValue is not base58btc") from None
    method_id = proof.get("verificationMethod")
    if not isinstance(method_id, str):
        raise VcError(VcReason.MALFORMED, "proof.verificationMethod must be a string")
    public_key, controller = method_public_key(method_id, expected_purpose, load)
    config = {k: v for k, v in proof.items() if k != "proofValue"}
    if not verify_signature(public_key, compute_hash_data(secured, config), signature):
        raise VcError(
            VcReason.BAD_SIGNATURE,
            f"the {CRYPTOSUITE} signature does not verify with {method_id}",
        )
    return VerifiedProof(
        verification_method=method_id,
        controller=controller,
        public_key=public_key,
        proof_purpose=expected_purpose,
        created_ms=created_ms,
    )
