"""Read-only queries of the ``identity`` module: DID names, resolution, control checks."""

from __future__ import annotations

import re
from typing import Any

import base58

from amchain.crypto import encode_multikey, sha256
from amchain.ledger import StateReader
from amchain.modules import consortium
from amchain.modules.base import (
    KeyStanding,
    KeyStatus,
    ProofCode,
    ProofUnavailable,
    QueryContext,
)
from amchain.modules.identity import keeper
from amchain.modules.identity.documents import (
    DID_CONTEXT,
    build_did_document,
    document_from_record,
)
from amchain.modules.identity.errors import IdentityCode, IdentityError
from amchain.modules.identity.keys import did_record_state_key
from amchain.modules.identity.types import DidKey, DidParams, DidRecord, DidResolution, Purpose

__all__ = [
    "DID_CONTEXT",
    "did_exists",
    "did_for_key",
    "get_did_record",
    "is_controlled_by",
    "parse_did",
    "query_did",
    "resolve_did",
    "resolve_key",
    "vehicle_did",
]

DID_PATTERN = re.compile(r"did:amc:[A-Za-z0-9._:-]{1,128}")
ORG_PREFIX = "did:amc:org:"
VIN_PREFIX = "did:amc:vin:"
# Relationships of an organisation's active keys in its synthesised document.
ORG_KEY_PURPOSES: tuple[str, ...] = (
    Purpose.AUTHENTICATION.value,
    Purpose.ASSERTION_METHOD.value,
)


def did_for_key(public_key: bytes) -> str:
    """Return the DID of a person or device: ``did:amc:`` + base58btc(sha256(key)[:16])."""
    return "did:amc:" + base58.b58encode(sha256(public_key)[:16]).decode("ascii")


def vehicle_did(vin: str) -> str:
    """Return the DID of a vehicle: ``did:amc:vin:<VIN>`` (formats only; no VIN check)."""
    return VIN_PREFIX + vin


def parse_did(did: str) -> tuple[str, str]:
    """Split a ``did:amc`` DID into its kind and value.

    Kinds: ``"org"`` (value: org id), ``"vin"`` (value: VIN), ``"key"`` (a DID derived from a
    key; value: the method-specific id) and ``"other"``.

    Raises:
        IdentityError: INVALID_DID (not ``did:amc:`` + 1 to 128 of ``[A-Za-z0-9._:-]``).
    """
    if not isinstance(did, str) or DID_PATTERN.fullmatch(did) is None:
        raise IdentityError(
            IdentityCode.INVALID_DID,
            "a DID must look like did:amc:<id> with 1 to 128 characters of [A-Za-z0-9._:-]",
            details={"did": did if isinstance(did, str) else repr(did)},
        )
    if did.startswith(ORG_PREFIX):
        return "org", did[len(ORG_PREFIX) :]
    if did.startswith(VIN_PREFIX):
        return "vin", did[len(VIN_PREFIX) :]
    rest = did[len("did:amc:") :]
    if ":" not in rest:
        return "key", rest
    return "other", rest


def _kind_or_none(did: str) -> tuple[str, str] | None:
    try:
        return parse_did(did)
    except IdentityError:
        return None


def get_did_record(state: StateReader, did: str) -> DidRecord | None:
    """Return the stored record of a person, device or vehicle DID, or None."""
    return keeper.read_did(state, did)


def is_active_auth_key(record: DidRecord, public_key_hex: str) -> bool:
    """Return True if ``public_key_hex`` is an active authentication key of ``record``."""
    return any(
        key.public_key == public_key_hex
        and key.status == KeyStatus.ACTIVE
        and Purpose.AUTHENTICATION in key.purposes
        for key in record.keys
    )


def is_controlled_by(state: StateReader, did: str, public_key: bytes) -> bool:
    """Return True if ``public_key`` may act for ``did``.

    For a stored DID (not deactivated): the key is one of its active authentication keys.
    For ``did:amc:org:<id>``: the key is an active consortium key of that organisation.
    """
    parsed = _kind_or_none(did)
    if parsed is None:
        return False
    kind, value = parsed
    if kind == "org":
        standing = consortium.resolve_key(state, public_key)
        return (
            standing is not None and standing.org == value and standing.status == KeyStatus.ACTIVE
        )
    record = keeper.read_did(state, did)
    if record is None or record.deactivated:
        return False
    return is_active_auth_key(record, public_key.hex())


def did_exists(state: StateReader, did: str) -> bool:
    """Return True for a stored DID that is not deactivated (vehicle DIDs included) and for
    the DID of an existing organisation."""
    parsed = _kind_or_none(did)
    if parsed is None:
        return False
    kind, value = parsed
    if kind == "org":
        return consortium.get_organisation(state, value) is not None
    record = keeper.read_did(state, did)
    return record is not None and not record.deactivated


def resolve_key(state: StateReader, public_key: bytes) -> KeyStanding | None:
    """Return the standing of a DID key, or None if no DID ever held it.

    A key of a deactivated DID stands as revoked.
    """
    entry = keeper.read_key_index(state, public_key.hex())
    if entry is None:
        return None
    record = keeper.read_did(state, entry.did)
    active = (
        record is not None
        and not record.deactivated
        and any(key.id == entry.key_id and key.status == KeyStatus.ACTIVE for key in record.keys)
    )
    status = KeyStatus.ACTIVE if active else KeyStatus.REVOKED
    return KeyStanding(status=status, did=entry.did)


def _resolve_org(state: StateReader, did: str, org_id: str) -> dict[str, Any] | None:
    if consortium.get_organisation(state, org_id) is None:
        return None
    records = consortium.list_keys_of(state, org_id)
    methods = [
        (
            encode_multikey(bytes.fromhex(r.public_key)),
            bytes.fromhex(r.public_key),
            list(ORG_KEY_PURPOSES),
        )
        for r in records
        if r.status == KeyStatus.ACTIVE
    ]
    updated = 0
    for r in records:
        updated = max(updated, r.added_height, r.revoked_height or 0)
    return {
        "didDocument": build_did_document(did, None, methods, []),
        "didDocumentMetadata": {
            "created_height": 0,
            "updated_height": updated,
            "deactivated": False,
        },
    }


def resolve_did(state: StateReader, did: str) -> dict[str, Any] | None:
    """Resolve a DID to ``{"didDocument": ..., "didDocumentMetadata": ...}`` (DID Core 1.0).

    Organisation DIDs are synthesised from the consortium (their active keys, ids
    ``#<multikey>``). A deactivated DID resolves to a document without verification methods
    and ``deactivated: true``. Returns None for a DID the chain does not know.

    Raises:
        IdentityError: INVALID_DID.
    """
    kind, value = parse_did(did)
    if kind == "org":
        return _resolve_org(state, did, value)
    record = keeper.read_did(state, did)
    if record is None:
        return None
    return document_from_record(record)


def find_key(record: DidRecord, fragment: str) -> DidKey | None:
    """Return the key of ``record`` with id ``fragment`` (``key-1``), or None."""
    for key in record.keys:
        if key.id == fragment:
            return key
    return None


# --- queries served by the API (see SPEC.queries) ------------------------------------------------

RESOLUTION_METADATA: dict[str, Any] = {"contentType": "application/did+json"}


def query_did(ctx: QueryContext, params: DidParams) -> DidResolution | None:
    """Resolve a DID (None: not known on this chain).

    At an older height or with a proof, the answer is read from the proven DID record;
    organisation DIDs (synthesised from a listing of the organisation's keys) cannot be
    proven.

    Raises:
        IdentityError: INVALID_DID.
        ProofUnavailable: NOT_PROVABLE for an organisation DID with a proof or an older
            height.
    """
    kind, _ = parse_did(params.did)
    if kind == "org" and (ctx.prove or ctx.historical):
        raise ProofUnavailable(
            ProofCode.NOT_PROVABLE,
            "organisation DIDs are built from a listing of the organisation's keys, and a "
            "state tree over hashed keys cannot prove a listing complete; ask for the "
            "proof of each key's consortium record instead (GET /v1/state/{key}?proof=true)",
        )
    resolved = resolve_did(ctx.state, params.did)
    if resolved is None:
        return None
    proof: dict[str, Any] | None = None
    if ctx.prove:
        proof = ctx.chain.bundle(
            "did",
            did=params.did,
            resolution=resolved,
            record=ctx.chain.prove(did_record_state_key(params.did)),
        )
    return DidResolution(
        didDocument=resolved["didDocument"],
        didDocumentMetadata=resolved["didDocumentMetadata"],
        didResolutionMetadata=dict(RESOLUTION_METADATA),
        proof=proof,
    )
