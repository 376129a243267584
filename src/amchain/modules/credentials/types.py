"""Wire arguments, state records and the state-key layout of the ``credentials`` module.

The key layout is public (the car fetches exactly these keys, with proofs, into its
snapshot), so it lives here with the types, where the SDK may import it.
"""

from __future__ import annotations

from typing import Any

import msgspec

from amchain.modules.identity.documents import did_record_state_key
from amchain.modules.vehicles.history import vehicle_record_state_key
from amchain.vc import DEFAULT_LIST_BITS

__all__ = [
    "MODULE",
    "AccessLogEntry",
    "AccessLogHead",
    "CreateStatusListArgs",
    "CredentialRecord",
    "GrantAccessArgs",
    "GrantRecord",
    "LogAccessArgs",
    "LogEntryArgs",
    "RegisterCredentialArgs",
    "SetStatusArgs",
    "StatusListRecord",
    "StatusRef",
    "access_log_head_key",
    "access_log_key",
    "chunk_key",
    "credential_key",
    "did_record_key",
    "grant_key",
    "grant_prefix",
    "org_key_record_key",
    "slot_key",
    "status_list_key",
    "vehicle_record_key",
]

MODULE = "credentials"


# --- wire ---------------------------------------------------------------------------------


class CreateStatusListArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``create_status_list``: a Bitstring Status List of ``issuer`` named ``name``."""

    issuer: str
    name: str
    purpose: str
    size: int = DEFAULT_LIST_BITS


class SetStatusArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``set_status``: set bit ``index`` of ``status_list`` (a list URL) to ``value``.

    Revoke: a revocation list, ``value`` true (final). Suspend / resume: a suspension list,
    ``value`` true / false.
    """

    status_list: str
    index: int
    value: bool


class RegisterCredentialArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``register_credential``: anchor a signed credential; the chain keeps its digest."""

    credential: dict[str, Any]


class GrantAccessArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``grant_access``: register a ``VehicleAccessGrant`` signed by the vehicle's owner."""

    grant: dict[str, Any]


class LogEntryArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """One decision of the car, as it reports it."""

    seq: int
    nonce: str
    action: str
    allowed: bool
    reason: str
    decided_at_ms: int
    grant_id: str | None = None
    grantee: str | None = None


class LogAccessArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``log_access``: the vehicle (its ``#vehicle-key``) reports its decisions, in order."""

    vin: str
    entries: list[LogEntryArgs]


# --- state ----------------------------------------------------------------------------------


class StatusListRecord(msgspec.Struct, frozen=True, kw_only=True):
    """``credentials/list/<issuer>/<name>``: a status list's header; its bits are chunks."""

    issuer: str
    name: str
    purpose: str
    size: int
    created_height: int


class StatusRef(msgspec.Struct, frozen=True, kw_only=True):
    """Where a credential's status bit lives."""

    purpose: str
    status_list: str
    index: int


class CredentialRecord(msgspec.Struct, frozen=True, kw_only=True):
    """``credentials/cred/<credential id>``: an anchored credential (its digest, not its body)."""

    id: str
    issuer: str
    types: list[str]
    subject: str | None
    digest: str
    """sha256 of the canonical (JCS) signed credential, hex."""
    valid_from_ms: int | None
    valid_until_ms: int | None
    status: list[StatusRef]
    height: int
    time_ms: int
    tx_hash: str


class GrantRecord(msgspec.Struct, frozen=True, kw_only=True):
    """``credentials/grant/<VIN>/<grant id>``: a registered access grant and its use count."""

    id: str
    vin: str
    owner: str
    owner_epoch: int
    grantee: str
    scopes: list[str]
    valid_from_ms: int
    valid_until_ms: int
    max_uses: int | None
    uses: int
    digest: str
    verification_method: str
    status: list[StatusRef]
    height: int
    time_ms: int
    tx_hash: str


class AccessLogEntry(msgspec.Struct, frozen=True, kw_only=True):
    """``credentials/log/<VIN>/<seq:010d>``: one hash-chained decision of the vehicle."""

    seq: int
    nonce: str
    action: str
    allowed: bool
    reason: str
    grant_id: str | None
    grantee: str | None
    decided_at_ms: int
    height: int
    time_ms: int
    tx_hash: str
    prev_hash: str
    entry_hash: str


class AccessLogHead(msgspec.Struct, frozen=True, kw_only=True):
    """``credentials/loghead/<VIN>``: how many decisions the vehicle logged, and the last hash."""

    count: int
    head: str


# --- state-key layout (full keys, module prefix included) ------------------------------------


def status_list_key(issuer: str, name: str) -> str:
    return f"{MODULE}/list/{issuer}/{name}"


def chunk_key(issuer: str, name: str, chunk: int) -> str:
    return f"{MODULE}/chunk/{issuer}/{name}/{chunk:05d}"


def slot_key(issuer: str, name: str, index: int) -> str:
    return f"{MODULE}/slot/{issuer}/{name}/{index:07d}"


def credential_key(credential_id: str) -> str:
    return f"{MODULE}/cred/{credential_id}"


def grant_prefix(vin: str) -> str:
    return f"{MODULE}/grant/{vin}/"


def grant_key(vin: str, grant_id: str) -> str:
    return grant_prefix(vin) + grant_id


def access_log_key(vin: str, seq: int) -> str:
    return f"{MODULE}/log/{vin}/{seq:010d}"


def access_log_head_key(vin: str) -> str:
    return f"{MODULE}/loghead/{vin}"


# Keys of other modules that a car's snapshot carries (their layouts are documented in those
# modules' READMEs; listed here so the car and the node name them the same way).


def vehicle_record_key(vin: str) -> str:
    return vehicle_record_state_key(vin)


def did_record_key(did: str) -> str:
    return did_record_state_key(did)


def org_key_record_key(public_key_hex: str) -> str:
    return f"consortium/key/{public_key_hex}"
