"""Reads of the ``rewards`` module: a programme, a trip, a vehicle's trip totals."""

from __future__ import annotations

from amchain.modules.base import QueryContext
from amchain.modules.rewards import keeper
from amchain.modules.rewards.types import (
    Programme,
    ProgrammeParams,
    TripParams,
    TripRecord,
    VehicleParams,
    VehicleTrips,
)

__all__ = ["query_programme", "query_trip", "query_vehicle"]


def query_programme(ctx: QueryContext, params: ProgrammeParams) -> Programme | None:
    """A programme: its bands, cap, budget, what it paid (None: no such programme)."""
    return keeper.read_programme(ctx.state, params.programme_id)


def query_trip(ctx: QueryContext, params: TripParams) -> TripRecord | None:
    """A scored trip (None: no such trip)."""
    return keeper.read_trip(ctx.state, params.vin.upper(), params.trip_id)


def query_vehicle(ctx: QueryContext, params: VehicleParams) -> VehicleTrips | None:
    """A vehicle's trips so far (None: no trip yet)."""
    return keeper.read_vehicle_trips(ctx.state, params.vin.upper())
