"""Read-only queries: status lists and bits, anchored credentials, grants and their standing,
the access log, and the keys a car's snapshot is made of."""

from __future__ import annotations

from typing import Any

from amchain.codec import to_builtins
from amchain.crypto import EncodingError, decode_multikey
from amchain.ledger import StateReader
from amchain.modules import vehicles
from amchain.modules.credentials import keeper
from amchain.modules.credentials.types import (
    AccessLogEntry,
    AccessLogHead,
    CredentialRecord,
    GrantRecord,
    StatusListRecord,
    access_log_head_key,
    chunk_key,
    did_record_key,
    grant_key,
    org_key_record_key,
    vehicle_record_key,
)
from amchain.vc import (
    CHUNK_BITS,
    VcError,
    chunk_position,
    format_datetime,
    parse_list_url,
    read_bit,
    status_list_credential,
)

__all__ = [
    "GRANT_STANDINGS",
    "get_access_log",
    "get_access_log_head",
    "get_credential",
    "get_grant",
    "get_status_list",
    "grant_standing",
    "grant_to_json",
    "list_bits",
    "list_grants",
    "read_status",
    "snapshot_keys",
    "status_list_document",
]

GRANT_STANDINGS: tuple[str, ...] = (
    "active",
    "not_yet_valid",
    "expired",
    "revoked",
    "suspended",
    "used_up",
    "ownership_changed",
)


def _split(url: str) -> tuple[str, str] | None:
    try:
        return parse_list_url(url)
    except VcError:
        return None


def get_status_list(state: StateReader, url: str) -> StatusListRecord | None:
    """Return the header of the status list named by ``url``, or None."""
    parts = _split(url)
    return None if parts is None else keeper.read_status_list(state, *parts)


def read_status(state: StateReader, url: str, index: int) -> bool | None:
    """Return the status bit at ``index`` of a list (None: no such list or index)."""
    parts = _split(url)
    if parts is None:
        return None
    record = keeper.read_status_list(state, *parts)
    if record is None or not 0 <= index < record.size:
        return None
    chunk, offset = chunk_position(index)
    return read_bit(keeper.read_chunk(state, *parts, chunk), offset)


def list_bits(state: StateReader, record: StatusListRecord) -> bytes:
    """Return every bit of a list, assembled from its chunks."""
    chunks = (record.size + CHUNK_BITS - 1) // CHUNK_BITS
    data = b"".join(keeper.read_chunk(state, record.issuer, record.name, i) for i in range(chunks))
    return data[: record.size // 8]


def status_list_document(state: StateReader, url: str, time_ms: int) -> dict[str, Any] | None:
    """Return the ``BitstringStatusListCredential`` of a list as of ``time_ms`` (unsecured:
    its authenticity is the chain's), or None."""
    record = get_status_list(state, url)
    if record is None:
        return None
    return status_list_credential(
        issuer=record.issuer,
        name=record.name,
        purpose=record.purpose,
        bits=list_bits(state, record),
        valid_from=format_datetime(time_ms - time_ms % 1000),
    )


def get_credential(state: StateReader, credential_id: str) -> CredentialRecord | None:
    """Return an anchored credential's record, or None."""
    return keeper.read_credential(state, credential_id)


def get_grant(state: StateReader, vin: str, grant_id: str) -> GrantRecord | None:
    """Return a vehicle's grant, or None."""
    return keeper.read_grant(state, vin, grant_id)


def list_grants(state: StateReader, vin: str) -> list[GrantRecord]:
    """Return every grant ever registered for a vehicle (dead ones included)."""
    return keeper.read_grants(state, vin)


def _bit(state: StateReader, grant: GrantRecord, purpose: str) -> bool:
    for ref in grant.status:
        if ref.purpose == purpose:
            return read_status(state, ref.status_list, ref.index) is True
    return False


def grant_standing(state: StateReader, grant: GrantRecord, now_ms: int) -> str:
    """Return the grant's standing at ``now_ms``: one of :data:`GRANT_STANDINGS`.

    Checked in this order: ownership (a grant of an earlier owner is dead), revocation,
    suspension, time window, use count.
    """
    vehicle = vehicles.get_vehicle(state, grant.vin)
    if vehicle is None or vehicle.owner != grant.owner or len(vehicle.owners) != grant.owner_epoch:
        return "ownership_changed"
    if _bit(state, grant, "revocation"):
        return "revoked"
    if _bit(state, grant, "suspension"):
        return "suspended"
    if now_ms < grant.valid_from_ms:
        return "not_yet_valid"
    if now_ms > grant.valid_until_ms:
        return "expired"
    if grant.max_uses is not None and grant.uses >= grant.max_uses:
        return "used_up"
    return "active"


def grant_to_json(state: StateReader, grant: GrantRecord, now_ms: int) -> dict[str, Any]:
    """Return a grant as plain JSON with its standing."""
    data: dict[str, Any] = to_builtins(grant)
    data["standing"] = grant_standing(state, grant, now_ms)
    return data


def get_access_log_head(state: StateReader, vin: str) -> AccessLogHead | None:
    return keeper.read_log_head(state, vin)


def get_access_log(
    state: StateReader, vin: str, *, start_seq: int = 0, limit: int = 1000
) -> list[AccessLogEntry]:
    """Return a vehicle's logged decisions from ``start_seq`` on (at most ``limit``)."""
    head = keeper.read_log_head(state, vin)
    if head is None:
        return []
    entries: list[AccessLogEntry] = []
    for seq in range(max(0, start_seq), min(head.count, max(0, start_seq) + max(0, limit))):
        entry = keeper.read_log_entry(state, vin, seq)
        if entry is None:
            break
        entries.append(entry)
    return entries


def _method_keys(did: str, method: str) -> list[str]:
    """State keys that say whether ``method`` (a DID URL) is a live key of ``did``."""
    if did.startswith("did:amc:org:"):
        try:
            return [org_key_record_key(decode_multikey(method.split("#", 1)[1]).hex())]
        except (EncodingError, IndexError):
            return []
    if did.startswith("did:amc:"):
        return [did_record_key(did)]
    return []  # did:key: resolved offline


def snapshot_keys(state: StateReader, vin: str, now_ms: int) -> list[str]:
    """Return the state keys a vehicle's agent needs to decide on access offline.

    The vehicle record (current owner, ownership epoch); for each grant of the current
    epoch that has not expired: the grant, the owner's signing key record, the grantee's
    DID record (did:amc grantees) and the status chunks of its revocation and suspension
    bits; the vehicle's access-log head. Keys are returned sorted and without duplicates.
    """
    keys = {vehicle_record_key(vin), access_log_head_key(vin)}
    vehicle = vehicles.get_vehicle(state, vin)
    if vehicle is None:
        return sorted(keys)
    for grant in keeper.read_grants(state, vin):
        if grant.owner != vehicle.owner or grant.owner_epoch != len(vehicle.owners):
            continue
        if grant.valid_until_ms < now_ms:
            continue
        keys.add(grant_key(vin, grant.id))
        keys.update(_method_keys(grant.owner, grant.verification_method))
        if grant.grantee.startswith("did:amc:"):
            keys.add(did_record_key(grant.grantee))
        for ref in grant.status:
            parts = _split(ref.status_list)
            if parts is not None:
                keys.add(chunk_key(*parts, chunk_position(ref.index)[0]))
    return sorted(keys)
