"""Wire arguments, genesis and state records of the ``consortium`` module."""

from __future__ import annotations

from enum import StrEnum

import msgspec

__all__ = [
    "AddKeyArgs",
    "ConsortiumGenesis",
    "GenesisOrganisation",
    "KeyKind",
    "KeyRecord",
    "OrgStatus",
    "Organisation",
    "RevokeKeyArgs",
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

    org: str
    public_key: str
    kind: str


class RevokeKeyArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``consortium.revoke_key``: revoke ``public_key`` (lowercase hex) of ``org``."""

    org: str
    public_key: str


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
