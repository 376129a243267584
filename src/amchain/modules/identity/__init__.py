"""The ``identity`` module: ``did:amc`` DIDs of people, devices and vehicles (DID Core 1.0).

Organisation DIDs (``did:amc:org:<id>``) are not stored: they are synthesised from the
consortium module when resolved. Other modules use only what this package exports.
"""

from __future__ import annotations

from amchain.modules.base import ROLES, MessageSpec, ModuleSpec, QuerySpec
from amchain.modules.identity import handlers, queries
from amchain.modules.identity.documents import document_from_record
from amchain.modules.identity.errors import IdentityCode, IdentityError
from amchain.modules.identity.handlers import register_vehicle_did
from amchain.modules.identity.keys import did_record_state_key
from amchain.modules.identity.queries import (
    did_exists,
    did_for_key,
    get_did_record,
    is_controlled_by,
    parse_did,
    resolve_did,
    resolve_key,
    vehicle_did,
)
from amchain.modules.identity.types import (
    PURPOSES,
    AddKeyArgs,
    AddServiceArgs,
    CreateDidArgs,
    DeactivateArgs,
    DidCreated,
    DidDeactivated,
    DidKey,
    DidParams,
    DidRecord,
    DidResolution,
    KeyAdded,
    KeyRevoked,
    KeyRotated,
    RevokeKeyArgs,
    RotateKeyArgs,
    Service,
    ServiceAdded,
)

__all__ = [
    "PURPOSES",
    "SPEC",
    "AddKeyArgs",
    "AddServiceArgs",
    "CreateDidArgs",
    "DeactivateArgs",
    "DidKey",
    "DidRecord",
    "DidResolution",
    "IdentityCode",
    "IdentityError",
    "RevokeKeyArgs",
    "RotateKeyArgs",
    "Service",
    "did_exists",
    "did_for_key",
    "did_record_state_key",
    "document_from_record",
    "get_did_record",
    "is_controlled_by",
    "parse_did",
    "register_vehicle_did",
    "resolve_did",
    "resolve_key",
    "vehicle_did",
]


def _hex_key(text: str) -> list[bytes]:
    # Only well-formed hex can be introduced; the handler refuses the rest with a clear code.
    try:
        return [bytes.fromhex(text)]
    except ValueError:
        return []


def _any_role(_args: CreateDidArgs) -> tuple[str, ...]:
    return ROLES


def _index_created(args: CreateDidArgs) -> list[tuple[str, str]]:
    return [("did", did_for_key(key)) for key in _hex_key(args.public_key)]


def _index_did(
    args: AddKeyArgs | RotateKeyArgs | RevokeKeyArgs | AddServiceArgs | DeactivateArgs,
) -> list[tuple[str, str]]:
    return [("did", args.did)]


def _introduced_by_create(args: CreateDidArgs) -> list[bytes]:
    return _hex_key(args.public_key)


def _introduced_by_add(args: AddKeyArgs) -> list[bytes]:
    return _hex_key(args.public_key)


def _introduced_by_rotate(args: RotateKeyArgs) -> list[bytes]:
    return _hex_key(args.new_public_key)


SPEC = ModuleSpec(
    name="identity",
    codespace="identity",
    messages={
        "create_did": MessageSpec(
            name="create_did",
            args_type=CreateDidArgs,
            handler=handlers.create_did,
            check=handlers.check_create_did,
            summary="Create a person's or device's DID (a consortium member sponsors, the "
            "key co-signs).",
            roles=_any_role,
            index=_index_created,
            introduced_keys=_introduced_by_create,
            signers="a consortium member's key (the sponsor), and the new key",
            example={"public_key": "<64 hex digits>"},
        ),
        "add_key": MessageSpec(
            name="add_key",
            args_type=AddKeyArgs,
            handler=handlers.add_key,
            check=handlers.check_add_key,
            summary="Add a key to a DID (controller signs, new key co-signs).",
            index=_index_did,
            signers="a controller key of the DID, and the new key",
            introduced_keys=_introduced_by_add,
        ),
        "rotate_key": MessageSpec(
            name="rotate_key",
            args_type=RotateKeyArgs,
            handler=handlers.rotate_key,
            check=handlers.check_rotate_key,
            summary="Replace a key of a DID (controller signs, new key co-signs).",
            index=_index_did,
            signers="a controller key of the DID, and the new key",
            introduced_keys=_introduced_by_rotate,
        ),
        "revoke_key": MessageSpec(
            name="revoke_key",
            args_type=RevokeKeyArgs,
            handler=handlers.revoke_key,
            summary="Revoke a key of a DID (controller signs; never the last auth key).",
            index=_index_did,
            signers="a controller key of the DID",
        ),
        "add_service": MessageSpec(
            name="add_service",
            args_type=AddServiceArgs,
            handler=handlers.add_service,
            check=handlers.check_add_service,
            summary="Add a service endpoint to a DID (controller signs).",
            index=_index_did,
            signers="a controller key of the DID",
        ),
        "deactivate": MessageSpec(
            name="deactivate",
            args_type=DeactivateArgs,
            handler=handlers.deactivate,
            summary="Deactivate a DID for good (controller signs).",
            index=_index_did,
            signers="a controller key of the DID",
        ),
    },
    queries={
        "did": QuerySpec(
            name="did",
            params_type=DidParams,
            result_type=DidResolution,
            handler=queries.query_did,
            summary="Resolve a DID to its DID document",
            description="`proof=true` adds a bundle proving the stored DID record, from "
            "which a verifier rebuilds the document (not for organisation DIDs).",
            path="/dids/{did:path}",
            not_found="{did} is not known on this chain",
            proof="on_request",
            historical=True,
        ),
    },
    events=(DidCreated, KeyAdded, KeyRotated, KeyRevoked, ServiceAdded, DidDeactivated),
    resolve_key=resolve_key,
    title="Identity",
    description="did:amc DIDs of people, devices and vehicles (W3C DID Core 1.0).",
)
