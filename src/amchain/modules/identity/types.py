"""Wire arguments and state records of the ``identity`` module."""

from __future__ import annotations

from enum import StrEnum

import msgspec

__all__ = [
    "PURPOSES",
    "AddKeyArgs",
    "AddServiceArgs",
    "CreateDidArgs",
    "DeactivateArgs",
    "DidKey",
    "DidRecord",
    "KeyIndexEntry",
    "Purpose",
    "RevokeKeyArgs",
    "RotateKeyArgs",
    "Service",
]


class Purpose(StrEnum):
    """W3C DID Core verification relationships."""

    AUTHENTICATION = "authentication"
    ASSERTION_METHOD = "assertionMethod"
    KEY_AGREEMENT = "keyAgreement"
    CAPABILITY_INVOCATION = "capabilityInvocation"
    CAPABILITY_DELEGATION = "capabilityDelegation"


# Document order of the verification relationships.
PURPOSES: tuple[str, ...] = tuple(purpose.value for purpose in Purpose)


# --- wire arguments ---------------------------------------------------------------------------


class Service(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A DID service: ``id`` is a fragment (``vault``), ``service_endpoint`` a URL."""

    id: str
    type: str
    service_endpoint: str


class CreateDidArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``identity.create_did``: the DID is derived from ``public_key`` (lowercase hex)."""

    public_key: str
    services: list[Service] = []


class AddKeyArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``identity.add_key``: add ``public_key`` to ``did`` for the given ``purposes``."""

    did: str
    public_key: str
    purposes: list[str]


class RotateKeyArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``identity.rotate_key``: revoke ``key_id`` and add ``new_public_key`` in its place."""

    did: str
    key_id: str
    new_public_key: str


class RevokeKeyArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``identity.revoke_key``: revoke ``key_id`` (``key-2``, ``#key-2`` or ``<did>#key-2``)."""

    did: str
    key_id: str


class AddServiceArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``identity.add_service``: add ``service`` to ``did``."""

    did: str
    service: Service


class DeactivateArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``identity.deactivate``: deactivate ``did`` for good."""

    did: str


# --- state records ----------------------------------------------------------------------------


class DidKey(msgspec.Struct, frozen=True):
    """A verification method of a stored DID. ``id`` is the fragment (``key-1``)."""

    id: str
    public_key: str
    purposes: list[str]
    status: str
    added_height: int
    revoked_height: int | None = None


class DidRecord(msgspec.Struct, frozen=True):
    """``identity/did/<did>``. Keys are never removed, only revoked."""

    did: str
    controller: str | None
    keys: list[DidKey]
    services: list[Service]
    next_key: int
    created_height: int
    updated_height: int
    deactivated: bool = False


class KeyIndexEntry(msgspec.Struct, frozen=True):
    """``identity/keyidx/<public key hex>``: the DID a key belongs to (for ever)."""

    did: str
    key_id: str
