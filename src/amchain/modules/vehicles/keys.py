"""The ``vehicles/`` state-key layout (full keys): what proofs and light clients name."""

from __future__ import annotations

__all__ = [
    "MODULE",
    "history_entry_state_key",
    "history_state_prefix",
    "vehicle_record_state_key",
]

MODULE = "vehicles"


def vehicle_record_state_key(vin: str) -> str:
    """``vehicles/v/<VIN>``: the VehicleRecord."""
    return f"{MODULE}/v/{vin}"


def history_state_prefix(vin: str) -> str:
    """``vehicles/h/<VIN>/``: the prefix of a vehicle's history entries, in seq order."""
    return f"{MODULE}/h/{vin}/"


def history_entry_state_key(vin: str, seq: int) -> str:
    """``vehicles/h/<VIN>/<seq, 10 digits>``: one HistoryEntry (seq 0 is ``produced``)."""
    return f"{history_state_prefix(vin)}{seq:010d}"
