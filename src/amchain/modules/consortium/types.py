"""Wire arguments, genesis and state records of the ``consortium`` module."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import msgspec

from amchain.modules.base import EventAttributes
from amchain.modules.base.fields import IdText, KeyText

__all__ = [
    "AddKeyArgs",
    "ConsortiumGenesis",
    "GenesisOrganisation",
    "KeyAdded",
    "KeyKind",
    "KeyParams",
    "KeyRecord",
    "KeyRevoked",
    "OrgParams",
    "OrgStatus",
    "Organisation",
    "OrganisationList",
    "OrganisationView",
    "RevokeKeyArgs",
]

OrgId = Annotated[IdText, msgspec.Meta(description="organisation id, e.g. oem")]
PublicKeyHex = Annotated[
    KeyText, msgspec.Meta(description="Ed25519 public key, 64 lowercase hex digits")
]


class KeyKind(StrEnum):
    """What a consortium key is for. Only ``admin`` keys may add or revoke keys."""

    ADMIN = "admin"
    MEMBER = "member"
    DEVICE = "device"


class OrgStatus(StrEnum):
    ACTIVE = "active"


# --- wire arguments ---------------------------------------------------------------------------


class AddKeyArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``consortium.add_key``: register ``public_key`` (lowercase hex) as a key of ``org``."""

    org: OrgId
    public_key: PublicKeyHex
    kind: Annotated[IdText, msgspec.Meta(description="admin, member or device")]


class RevokeKeyArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``consortium.revoke_key``: revoke ``public_key`` (lowercase hex) of ``org``."""

    org: OrgId
    public_key: PublicKeyHex


# --- genesis ----------------------------------------------------------------------------------


class GenesisOrganisation(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """An organisation created at genesis, with its first keys (lowercase hex)."""

    id: str
    name: str
    roles: list[str]
    admin_keys: list[str]
    member_keys: list[str] = []
    device_keys: list[str] = []


class ConsortiumGenesis(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """The consortium at height 0."""

    organisations: list[GenesisOrganisation]


# --- state records ----------------------------------------------------------------------------


class Organisation(msgspec.Struct, frozen=True):
    """``consortium/org/<id>``. ``roles`` are sorted."""

    id: str
    name: str
    roles: list[str]
    status: str = OrgStatus.ACTIVE.value


class KeyRecord(msgspec.Struct, frozen=True):
    """``consortium/key/<public key hex>``. Never deleted: a revoked key stays revoked."""

    public_key: str
    org: str
    kind: str
    status: str
    added_height: int
    revoked_height: int | None = None


# --- events -----------------------------------------------------------------------------------


class KeyAdded(EventAttributes, frozen=True, kw_only=True):
    """A key was registered for an organisation."""

    event_type = "consortium.key_added"
    org: str
    public_key: str
    kind: str


class KeyRevoked(EventAttributes, frozen=True, kw_only=True):
    """A key of an organisation was revoked (for good)."""

    event_type = "consortium.key_revoked"
    org: str
    public_key: str
    kind: str


# --- queries ----------------------------------------------------------------------------------


class OrgParams(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Which organisation."""

    org: OrgId


class KeyParams(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Which key."""

    public_key: PublicKeyHex


class OrganisationView(msgspec.Struct, frozen=True, kw_only=True):
    """An organisation with its DID and every key it ever had."""

    id: str
    name: str
    roles: list[str]
    status: str
    did: str
    keys: list[KeyRecord]


class OrganisationList(msgspec.Struct, frozen=True):
    """Every organisation of the consortium, in id order."""

    organisations: list[OrganisationView]
