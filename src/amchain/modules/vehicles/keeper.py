"""The only code that touches the ``vehicles/`` key prefix.

Layout::

    vehicles/v/<VIN>                       VehicleRecord
    vehicles/h/<VIN>/<seq, 10 digits>      HistoryEntry (seq 0 = "produced")
"""

from __future__ import annotations

from amchain.ledger import StateReader, StateWriter
from amchain.modules.base import PrefixStore, decode_record, encode_record
from amchain.modules.vehicles.history import vehicle_record_state_key
from amchain.modules.vehicles.types import HistoryEntry, VehicleRecord

MODULE = "vehicles"


def _store(state: StateReader) -> PrefixStore:
    return PrefixStore(state, MODULE)


def vehicle_key(vin: str) -> str:
    """Return the key (without the module prefix) of a vehicle record."""
    return f"v/{vin}"


def history_key(vin: str, seq: int) -> str:
    """Return the key (without the module prefix) of a history entry."""
    return f"h/{vin}/{seq:010d}"


def get_vehicle(state: StateReader, vin: str) -> VehicleRecord | None:
    """Return the stored vehicle record, or None."""
    data = state.get(vehicle_record_state_key(vin))
    return None if data is None else decode_record(data, VehicleRecord)


def has_vehicle(state: StateReader, vin: str) -> bool:
    """Return whether a vehicle with this VIN is registered."""
    return _store(state).get(vehicle_key(vin)) is not None


def set_vehicle(state: StateWriter, record: VehicleRecord) -> None:
    """Store a vehicle record under its VIN."""
    _store(state).set(vehicle_key(record.vin), encode_record(record))


def get_history_entry(state: StateReader, vin: str, seq: int) -> HistoryEntry | None:
    """Return one history entry, or None."""
    data = _store(state).get(history_key(vin, seq))
    return None if data is None else decode_record(data, HistoryEntry)


def set_history_entry(state: StateWriter, vin: str, entry: HistoryEntry) -> None:
    """Store a history entry under its VIN and seq."""
    _store(state).set(history_key(vin, entry.seq), encode_record(entry))
