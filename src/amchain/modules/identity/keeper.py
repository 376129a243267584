"""The only code that touches the ``identity/`` state prefix.

Layout::

    identity/did/<did>                  DidRecord (person, device and vehicle DIDs)
    identity/keyidx/<public key hex>    KeyIndexEntry: which DID a key belongs to, for ever

Organisation DIDs are never stored: they are synthesised from the consortium module.
"""

from __future__ import annotations

from amchain.ledger import StateReader, StateWriter
from amchain.modules.base import decode_record, encode_record
from amchain.modules.identity.keys import did_record_state_key, key_index_state_key
from amchain.modules.identity.types import DidRecord, KeyIndexEntry


def read_did(state: StateReader, did: str) -> DidRecord | None:
    """Return the stored DID record, or None."""
    raw = state.get(did_record_state_key(did))
    return None if raw is None else decode_record(raw, DidRecord)


def write_did(state: StateWriter, record: DidRecord) -> None:
    """Store ``record`` (create or replace)."""
    state.set(did_record_state_key(record.did), encode_record(record))


def read_key_index(state: StateReader, public_key_hex: str) -> KeyIndexEntry | None:
    """Return the DID and key id a key was registered under, or None."""
    raw = state.get(key_index_state_key(public_key_hex))
    return None if raw is None else decode_record(raw, KeyIndexEntry)


def write_key_index(state: StateWriter, public_key_hex: str, entry: KeyIndexEntry) -> None:
    """Index a key under its DID (never removed)."""
    state.set(key_index_state_key(public_key_hex), encode_record(entry))
