"""Wire arguments and state records of the ``identity`` module."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import msgspec

from amchain.modules.base import EventAttributes
from amchain.modules.base.fields import DidText, IdText, KeyText, ListOf, NameText, UrlText

__all__ = [
    "PURPOSES",
    "AddKeyArgs",
    "AddServiceArgs",
    "CreateDidArgs",
    "DeactivateArgs",
    "DidCreated",
    "DidDeactivated",
    "DidKey",
    "DidParams",
    "DidRecord",
    "DidResolution",
    "KeyAdded",
    "KeyIndexEntry",
    "KeyRevoked",
    "KeyRotated",
    "Purpose",
    "RevokeKeyArgs",
    "RotateKeyArgs",
    "Service",
    "ServiceAdded",
]

Did = Annotated[DidText, msgspec.Meta(description="a did:amc DID")]
KeyHex = Annotated[KeyText, msgspec.Meta(description="Ed25519 public key, 64 lowercase hex digits")]
KeyId = Annotated[
    IdText, msgspec.Meta(description="a key of the DID: key-2, #key-2 or <did>#key-2")
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

    id: Annotated[IdText, msgspec.Meta(description="fragment, e.g. vault")]
    type: Annotated[NameText, msgspec.Meta(description="service type, e.g. DataVault")]
    service_endpoint: Annotated[UrlText, msgspec.Meta(description="https URL")]


class CreateDidArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``identity.create_did``: the DID is derived from ``public_key`` (lowercase hex)."""

    public_key: KeyHex
    services: Annotated[list[Service], ListOf] = []


class AddKeyArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``identity.add_key``: add ``public_key`` to ``did`` for the given ``purposes``."""

    did: Did
    public_key: KeyHex
    purposes: Annotated[
        list[IdText],
        msgspec.Meta(
            max_length=len(PURPOSES), description="authentication, assertionMethod, keyAgreement, …"
        ),
    ]


class RotateKeyArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``identity.rotate_key``: revoke ``key_id`` and add ``new_public_key`` in its place."""

    did: Did
    key_id: KeyId
    new_public_key: KeyHex


class RevokeKeyArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``identity.revoke_key``: revoke ``key_id`` (``key-2``, ``#key-2`` or ``<did>#key-2``)."""

    did: Did
    key_id: KeyId


class AddServiceArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``identity.add_service``: add ``service`` to ``did``."""

    did: Did
    service: Service


class DeactivateArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``identity.deactivate``: deactivate ``did`` for good."""

    did: Did


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


# --- events -----------------------------------------------------------------------------------


class DidCreated(EventAttributes, frozen=True, kw_only=True):
    """A person's or device's DID was created."""

    event_type = "identity.did_created"
    did: str
    key_id: str
    sponsor: str


class KeyAdded(EventAttributes, frozen=True, kw_only=True):
    """A key was added to a DID."""

    event_type = "identity.key_added"
    did: str
    key_id: str
    purposes: list[str]


class KeyRotated(EventAttributes, frozen=True, kw_only=True):
    """A key of a DID was replaced by a new one."""

    event_type = "identity.key_rotated"
    did: str
    revoked_key_id: str
    key_id: str


class KeyRevoked(EventAttributes, frozen=True, kw_only=True):
    """A key of a DID was revoked."""

    event_type = "identity.key_revoked"
    did: str
    key_id: str


class ServiceAdded(EventAttributes, frozen=True, kw_only=True):
    """A service endpoint was added to a DID."""

    event_type = "identity.service_added"
    did: str
    service_id: str
    type: str


class DidDeactivated(EventAttributes, frozen=True, kw_only=True):
    """A DID was deactivated for good."""

    event_type = "identity.did_deactivated"
    did: str


# --- queries ----------------------------------------------------------------------------------


class DidParams(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Which DID."""

    did: Annotated[
        str, msgspec.Meta(pattern="^did:amc:[A-Za-z0-9._:-]{1,128}$", description="a did:amc DID")
    ]


class DidResolution(msgspec.Struct, frozen=True, omit_defaults=True):
    """A DID resolution result (DID Core 1.0 §7.1), with a proof bundle when asked for."""

    didDocument: dict[str, Any]
    didDocumentMetadata: dict[str, Any]
    didResolutionMetadata: dict[str, Any]
    proof: dict[str, Any] | None = None
