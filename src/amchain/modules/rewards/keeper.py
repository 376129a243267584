"""The only code that touches the ``rewards/`` state prefix (layout: :mod:`.keys`)."""

from __future__ import annotations

from amchain.ledger import StateReader, StateWriter
from amchain.modules.base import decode_record, encode_record
from amchain.modules.rewards.keys import (
    day_paid_state_key,
    programme_state_key,
    trip_state_key,
    vehicle_trips_state_key,
)
from amchain.modules.rewards.types import Programme, TripRecord, VehicleTrips


def read_programme(state: StateReader, programme_id: str) -> Programme | None:
    """Return the programme, or None."""
    raw = state.get(programme_state_key(programme_id))
    return None if raw is None else decode_record(raw, Programme)


def write_programme(state: StateWriter, programme: Programme) -> None:
    """Store ``programme`` (create or replace)."""
    state.set(programme_state_key(programme.id), encode_record(programme))


def read_trip(state: StateReader, vin: str, trip_id: str) -> TripRecord | None:
    """Return a scored trip, or None."""
    raw = state.get(trip_state_key(vin, trip_id))
    return None if raw is None else decode_record(raw, TripRecord)


def write_trip(state: StateWriter, trip: TripRecord) -> None:
    """Store a scored trip (once)."""
    state.set(trip_state_key(trip.vin, trip.trip_id), encode_record(trip))


def read_vehicle_trips(state: StateReader, vin: str) -> VehicleTrips | None:
    """Return the vehicle's trip totals, or None before its first trip."""
    raw = state.get(vehicle_trips_state_key(vin))
    return None if raw is None else decode_record(raw, VehicleTrips)


def write_vehicle_trips(state: StateWriter, vin: str, trips: VehicleTrips) -> None:
    """Store the vehicle's trip totals."""
    state.set(vehicle_trips_state_key(vin), encode_record(trips))


def read_day_paid(state: StateReader, programme_id: str, vin: str, day: int) -> int:
    """Return what the programme paid the vehicle that day (0 if nothing)."""
    raw = state.get(day_paid_state_key(programme_id, vin, day))
    return 0 if raw is None else decode_record(raw, int)


def write_day_paid(state: StateWriter, programme_id: str, vin: str, day: int, paid: int) -> None:
    """Store what the programme paid the vehicle that day."""
    state.set(day_paid_state_key(programme_id, vin, day), encode_record(paid))
