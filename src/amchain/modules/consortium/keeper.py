"""The only code that touches the ``consortium/`` state prefix.

Layout::

    consortium/org/<org_id>              Organisation
    consortium/key/<public key hex>      KeyRecord (kept after revocation)
    consortium/orgkey/<org_id>/<hex>     index: the keys of an organisation, in key order
"""

from __future__ import annotations

from amchain.ledger import StateReader, StateWriter
from amchain.modules.base import decode_record, encode_record
from amchain.modules.consortium.keys import (
    key_record_state_key,
    org_key_index_prefix,
    organisation_state_key,
)
from amchain.modules.consortium.types import KeyRecord, Organisation


def read_organisation(state: StateReader, org_id: str) -> Organisation | None:
    """Return the organisation ``org_id``, or None."""
    raw = state.get(organisation_state_key(org_id))
    return None if raw is None else decode_record(raw, Organisation)


def write_organisation(state: StateWriter, org: Organisation) -> None:
    """Store ``org`` (create or replace)."""
    state.set(organisation_state_key(org.id), encode_record(org))


def read_organisations(state: StateReader) -> list[Organisation]:
    """Return every organisation in id order."""
    return [
        decode_record(raw, Organisation) for _, raw in state.iter_prefix(organisation_state_key(""))
    ]


def read_key(state: StateReader, public_key_hex: str) -> KeyRecord | None:
    """Return the record of a key (active or revoked), or None if it was never registered."""
    raw = state.get(key_record_state_key(public_key_hex))
    return None if raw is None else decode_record(raw, KeyRecord)


def write_key(state: StateWriter, record: KeyRecord) -> None:
    """Store ``record`` and index it under its organisation."""
    state.set(key_record_state_key(record.public_key), encode_record(record))
    state.set(
        org_key_index_prefix(record.org) + record.public_key, encode_record(record.public_key)
    )


def read_keys_of(state: StateReader, org_id: str) -> list[KeyRecord]:
    """Return every key record of ``org_id`` (active and revoked), in key order."""
    records: list[KeyRecord] = []
    for _, raw in state.iter_prefix(org_key_index_prefix(org_id)):
        record = read_key(state, decode_record(raw, str))
        if record is not None:
            records.append(record)
    return records
