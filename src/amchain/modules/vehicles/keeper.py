"""The only code that touches the ``vehicles/`` key prefix.

Layout::

    vehicles/v/<VIN>                       VehicleRecord
    vehicles/h/<VIN>/<seq, 10 digits>      HistoryEntry (seq 0 = "produced")
"""

from __future__ import annotations

from amchain.ledger import StateReader, StateWriter
from amchain.modules.base import decode_record, encode_record
from amchain.modules.vehicles.keys import (
    history_entry_state_key,
    history_state_prefix,
    vehicle_record_state_key,
)
from amchain.modules.vehicles.types import HistoryEntry, VehicleRecord


def read_history_entries_raw(state: StateReader, vin: str, count: int) -> list[bytes]:
    """Return the stored bytes of a vehicle's first ``count`` history entries, in seq order
    (one range read)."""
    rows = state.iter_prefix(history_state_prefix(vin))
    return [value for _, (_, value) in zip(range(count), rows, strict=False)]


def get_vehicle(state: StateReader, vin: str) -> VehicleRecord | None:
    """Return the stored vehicle record, or None."""
    data = state.get(vehicle_record_state_key(vin))
    return None if data is None else decode_record(data, VehicleRecord)


def has_vehicle(state: StateReader, vin: str) -> bool:
    """Return whether a vehicle with this VIN is registered."""
    return state.get(vehicle_record_state_key(vin)) is not None


def set_vehicle(state: StateWriter, record: VehicleRecord) -> None:
    """Store a vehicle record under its VIN."""
    state.set(vehicle_record_state_key(record.vin), encode_record(record))


def get_history_entry(state: StateReader, vin: str, seq: int) -> HistoryEntry | None:
    """Return one history entry, or None."""
    data = state.get(history_entry_state_key(vin, seq))
    return None if data is None else decode_record(data, HistoryEntry)


def set_history_entry(state: StateWriter, vin: str, entry: HistoryEntry) -> None:
    """Store a history entry under its VIN and seq."""
    state.set(history_entry_state_key(vin, entry.seq), encode_record(entry))
