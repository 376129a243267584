"""The ``rewards/`` state-key layout (full keys). Ids match ``[A-Za-z0-9._-]{1,64}`` and
VINs are 17 characters, so every prefix is unambiguous."""

from __future__ import annotations

__all__ = [
    "MODULE",
    "day_paid_state_key",
    "programme_state_key",
    "trip_state_key",
    "vehicle_trips_state_key",
]

MODULE = "rewards"


def programme_state_key(programme_id: str) -> str:
    """``rewards/programme/<id>``: the Programme."""
    return f"{MODULE}/programme/{programme_id}"


def trip_state_key(vin: str, trip_id: str) -> str:
    """``rewards/trip/<VIN>/<trip id>``: a scored trip (its id can never be used again)."""
    return f"{MODULE}/trip/{vin}/{trip_id}"


def vehicle_trips_state_key(vin: str) -> str:
    """``rewards/vehicle/<VIN>``: the vehicle's trips so far (last odometer, totals)."""
    return f"{MODULE}/vehicle/{vin}"


def day_paid_state_key(programme_id: str, vin: str, day: int) -> str:
    """``rewards/day/<programme>/<VIN>/<day>``: paid to the vehicle that UTC day (for the
    daily cap; ``day`` counts days since the Unix epoch)."""
    return f"{MODULE}/day/{programme_id}/{vin}/{day}"
