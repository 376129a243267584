"""Read-only queries: a vehicle, its history, and a history report summary."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from amchain.codec import to_builtins
from amchain.ledger import StateReader
from amchain.modules.vehicles import keeper
from amchain.modules.vehicles.errors import VehiclesError
from amchain.modules.vehicles.history import verify_history_chain
from amchain.modules.vehicles.types import HistoryEntry, VehicleRecord
from amchain.modules.vehicles.validation import validate_vin


def _is_vin(vin: str) -> bool:
    try:
        validate_vin(vin)
    except VehiclesError:
        return False
    return True


def get_vehicle(state: StateReader, vin: str) -> VehicleRecord | None:
    """Return the vehicle record, or None (also for a string that is not a valid VIN)."""
    if not _is_vin(vin):
        return None
    return keeper.get_vehicle(state, vin)


def get_history(
    state: StateReader, vin: str, *, start_seq: int = 0, limit: int | None = None
) -> list[HistoryEntry]:
    """Return history entries from ``start_seq`` on (at most ``limit``), in seq order.

    An unknown vehicle has an empty history.
    """
    record = get_vehicle(state, vin)
    if record is None:
        return []
    start = max(start_seq, 0)
    stop = record.event_count if limit is None else min(record.event_count, start + max(limit, 0))
    entries: list[HistoryEntry] = []
    for seq in range(start, stop):
        entry = keeper.get_history_entry(state, vin, seq)
        if entry is None:  # cannot happen in a consistent state; stop at the gap
            break
        entries.append(entry)
    return entries


def summarize_history(record: VehicleRecord, entries: Sequence[HistoryEntry]) -> dict[str, Any]:
    """Return a history report's headline facts as plain JSON.

    Pass the complete history (``get_history(state, vin)``): ``complete`` is True only when
    the entries form the hash chain the record commits to (``history_head``, ``event_count``).
    ``odometer_consistent`` is True when readings never go down and the last one is the
    record's ``last_odometer_km``.
    """
    accident_seqs = [e.seq for e in entries if e.type == "accident"]
    readings = [e.odometer_km for e in entries if e.odometer_km is not None]
    non_decreasing = all(a <= b for a, b in pairwise(readings))
    last_matches = (readings[-1] if readings else 0) == record.last_odometer_km
    return {
        "vin": record.vin,
        "did": record.did,
        "make": record.make,
        "model": record.model,
        "model_year": record.model_year,
        "manufacturer": record.manufacturer,
        "owner": record.owner,
        "owners_count": len(record.owners),
        "owners": list(record.owners),
        "accidents": {"count": len(accident_seqs), "seqs": accident_seqs},
        "stolen": record.status == "stolen",
        "scrapped": record.status == "scrapped",
        "open_recalls": list(record.open_recalls),
        "odometer_consistent": non_decreasing and last_matches,
        "last_odometer_km": record.last_odometer_km,
        "event_count": record.event_count,
        "complete": verify_history_chain(entries, record.history_head, record.event_count),
    }


def vehicle_to_json(record: VehicleRecord) -> dict[str, Any]:
    """Return the vehicle record as plain JSON."""
    plain: dict[str, Any] = to_builtins(record)
    return plain
