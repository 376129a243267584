"""The only code that touches the ``credentials/`` key prefix.

Layout (full keys; see :mod:`.types` for the functions that build them)::

    credentials/list/<issuer>/<name>                  StatusListRecord
    credentials/chunk/<issuer>/<name>/<chunk:05d>     bits: a JSON string, base64 of CHUNK_BYTES
                                                      (absent = zeros)
    credentials/slot/<issuer>/<name>/<index:07d>      the credential id holding that index
    credentials/cred/<credential id>                  CredentialRecord
    credentials/grant/<VIN>/<grant id>                GrantRecord
    credentials/log/<VIN>/<seq:010d>                  AccessLogEntry (hash-chained)
    credentials/loghead/<VIN>                         AccessLogHead
"""

from __future__ import annotations

import base64

from amchain.ledger import StateReader, StateWriter
from amchain.modules.base import decode_record, encode_record
from amchain.modules.credentials.keys import (
    access_log_head_key,
    access_log_key,
    chunk_key,
    credential_key,
    grant_key,
    grant_prefix,
    slot_key,
    status_list_key,
)
from amchain.modules.credentials.types import (
    AccessLogEntry,
    AccessLogHead,
    CredentialRecord,
    GrantRecord,
    StatusListRecord,
)
from amchain.vc import CHUNK_BYTES

EMPTY_CHUNK = bytes(CHUNK_BYTES)


def read_status_list(state: StateReader, issuer: str, name: str) -> StatusListRecord | None:
    """Return a status list's header, or None."""
    raw = state.get(status_list_key(issuer, name))
    return None if raw is None else decode_record(raw, StatusListRecord)


def write_status_list(state: StateWriter, record: StatusListRecord) -> None:
    """Store a status list's header."""
    state.set(status_list_key(record.issuer, record.name), encode_record(record))


def read_chunk(state: StateReader, issuer: str, name: str, chunk: int) -> bytes:
    """Return one chunk of a list's bits (all zeros if never written)."""
    raw = state.get(chunk_key(issuer, name, chunk))
    return EMPTY_CHUNK if raw is None else decode_chunk(decode_record(raw, str))


def write_chunk(state: StateWriter, issuer: str, name: str, chunk: int, data: bytes) -> None:
    """Store one chunk of a list's bits (exactly CHUNK_BYTES)."""
    assert len(data) == CHUNK_BYTES
    state.set(chunk_key(issuer, name, chunk), encode_record(base64.b64encode(data).decode()))


def decode_chunk(text: str) -> bytes:
    """Return the bits of a stored chunk (its JSON string is base64 of CHUNK_BYTES)."""
    return base64.b64decode(text, validate=True)


def read_slot(state: StateReader, issuer: str, name: str, index: int) -> str | None:
    """Return the id of the credential holding ``index`` of a list, or None."""
    raw = state.get(slot_key(issuer, name, index))
    return None if raw is None else decode_record(raw, str)


def write_slot(state: StateWriter, issuer: str, name: str, index: int, credential_id: str) -> None:
    """Record that ``credential_id`` holds ``index`` of a list (for ever)."""
    state.set(slot_key(issuer, name, index), encode_record(credential_id))


def read_credential(state: StateReader, credential_id: str) -> CredentialRecord | None:
    """Return an anchored credential's record, or None."""
    raw = state.get(credential_key(credential_id))
    return None if raw is None else decode_record(raw, CredentialRecord)


def write_credential(state: StateWriter, record: CredentialRecord) -> None:
    """Store an anchored credential's record."""
    state.set(credential_key(record.id), encode_record(record))


def read_grant(state: StateReader, vin: str, grant_id: str) -> GrantRecord | None:
    """Return a grant of a vehicle, or None."""
    raw = state.get(grant_key(vin, grant_id))
    return None if raw is None else decode_record(raw, GrantRecord)


def read_grants(state: StateReader, vin: str) -> list[GrantRecord]:
    """Return every grant ever registered for a vehicle, in grant id order."""
    return [decode_record(raw, GrantRecord) for _, raw in state.iter_prefix(grant_prefix(vin))]


def write_grant(state: StateWriter, record: GrantRecord) -> None:
    """Store a grant record."""
    state.set(grant_key(record.vin, record.id), encode_record(record))


def read_log_head(state: StateReader, vin: str) -> AccessLogHead | None:
    """Return a vehicle's access-log head, or None if it never logged."""
    raw = state.get(access_log_head_key(vin))
    return None if raw is None else decode_record(raw, AccessLogHead)


def write_log_head(state: StateWriter, vin: str, head: AccessLogHead) -> None:
    state.set(access_log_head_key(vin), encode_record(head))


def read_log_entry(state: StateReader, vin: str, seq: int) -> AccessLogEntry | None:
    raw = state.get(access_log_key(vin, seq))
    return None if raw is None else decode_record(raw, AccessLogEntry)


def write_log_entry(state: StateWriter, vin: str, entry: AccessLogEntry) -> None:
    state.set(access_log_key(vin, entry.seq), encode_record(entry))
