"""The only code that touches the ``consortium/`` state prefix.

Layout::

    consortium/org/<org_id>              Organisation
    consortium/key/<public key hex>      KeyRecord (kept after revocation)
    consortium/orgkey/<org_id>/<hex>     index: the keys of an organisation, in key order
"""

from __future__ import annotations

from amchain.ledger import StateReader, StateWriter
from amchain.modules.base import PrefixStore, decode_record, encode_record
from amchain.modules.consortium.types import KeyRecord, Organisation

MODULE = "consortium"


def _store(state: StateReader) -> PrefixStore:
    return PrefixStore(state, MODULE)


def read_organisation(state: StateReader, org_id: str) -> Organisation | None:
    """Return the organisation ``org_id``, or None."""
    raw = _store(state).get("org/" + org_id)
    return None if raw is None else decode_record(raw, Organisation)


def write_organisation(state: StateWriter, org: Organisation) -> None:
    """Store ``org`` (create or replace)."""
    _store(state).set("org/" + org.id, encode_record(org))


def read_organisations(state: StateReader) -> list[Organisation]:
    """Return every organisation in id order."""
    return [decode_record(raw, Organisation) for _, raw in _store(state).iter_prefix("org/")]


def read_key(state: StateReader, public_key_hex: str) -> KeyRecord | None:
    """Return the record of a key (active or revoked), or None if it was never registered."""
    raw = _store(state).get("key/" + public_key_hex)
    return None if raw is None else decode_record(raw, KeyRecord)


def write_key(state: StateWriter, record: KeyRecord) -> None:
    """Store ``record`` and index it under its organisation."""
    store = _store(state)
    store.set("key/" + record.public_key, encode_record(record))
    store.set(f"orgkey/{record.org}/{record.public_key}", encode_record(record.public_key))


def read_keys_of(state: StateReader, org_id: str) -> list[KeyRecord]:
    """Return every key record of ``org_id`` (active and revoked), in key order."""
    store = _store(state)
    records: list[KeyRecord] = []
    for _, raw in store.iter_prefix(f"orgkey/{org_id}/"):
        record = read_key(state, decode_record(raw, str))
        if record is not None:
            records.append(record)
    return records
