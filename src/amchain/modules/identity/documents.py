"""DID documents built from stored records: pure functions, no state access.

Kept apart from the keeper so that a light client (``amchain.sdk.light``) can rebuild a DID
document from a proven :class:`DidRecord` and compare it with what a node served.
"""

from __future__ import annotations

from typing import Any

from amchain.crypto import encode_multikey
from amchain.modules.base import KeyStatus
from amchain.modules.identity.types import PURPOSES, DidRecord

DID_CONTEXT: tuple[str, ...] = (
    "https://www.w3.org/ns/did/v1",
    "https://w3id.org/security/multikey/v1",
)


def _verification_method(did: str, fragment: str, public_key: bytes) -> dict[str, Any]:
    return {
        "id": f"{did}#{fragment}",
        "type": "Multikey",
        "controller": did,
        "publicKeyMultibase": encode_multikey(public_key),
    }


def build_did_document(
    did: str,
    controller: str | None,
    methods: list[tuple[str, bytes, list[str]]],
    services: list[dict[str, Any]],
) -> dict[str, Any]:
    """Return a DID Core 1.0 document from ``(fragment, public key, purposes)`` methods."""
    document: dict[str, Any] = {"@context": list(DID_CONTEXT), "id": did}
    if controller is not None and controller != did:
        document["controller"] = controller
    if methods:
        document["verificationMethod"] = [
            _verification_method(did, fragment, key) for fragment, key, _ in methods
        ]
    for purpose in PURPOSES:
        ids = [f"{did}#{fragment}" for fragment, _, purposes in methods if purpose in purposes]
        if ids:
            document[purpose] = ids
    if services:
        document["service"] = services
    return document


def document_from_record(record: DidRecord) -> dict[str, Any]:
    """Resolve a stored DID record to ``{"didDocument": ..., "didDocumentMetadata": ...}``.

    A deactivated DID resolves to a document without verification methods.
    """
    did = record.did
    metadata = {
        "created_height": record.created_height,
        "updated_height": record.updated_height,
        "deactivated": record.deactivated,
    }
    if record.deactivated:
        return {
            "didDocument": build_did_document(did, None, [], []),
            "didDocumentMetadata": metadata,
        }
    methods = [
        (key.id, bytes.fromhex(key.public_key), list(key.purposes))
        for key in record.keys
        if key.status == KeyStatus.ACTIVE
    ]
    services = [
        {"id": f"{did}#{s.id}", "type": s.type, "serviceEndpoint": s.service_endpoint}
        for s in record.services
    ]
    return {
        "didDocument": build_did_document(did, record.controller, methods, services),
        "didDocumentMetadata": metadata,
    }
