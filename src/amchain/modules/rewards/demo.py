"""The ``rewards`` part of ``amchain up --demo``: the OEM's eco-driving programme, a demo
car's trip signed by its on-board key and paid to its owner from the mining pool, and the
refusals (the same trip again, a summary signed by the owner instead of the car, a distance
that is not end − start, a trip below the last odometer reading)."""

from __future__ import annotations

from typing import Any

from amchain.modules.base import DemoStep, DemoWorld
from amchain.modules.rewards.errors import RewardsCode

__all__ = ["demo_steps"]

AMCT = 1_000_000


def _trip(
    programme: str, vin: str, trip_id: str, start_km: int, end_km: int, ended_at_ms: int
) -> dict[str, Any]:
    return {
        "programme_id": programme,
        "vin": vin,
        "trip_id": trip_id,
        "start_odometer_km": start_km,
        "end_odometer_km": end_km,
        "distance_km": end_km - start_km,
        "harsh_accelerations_per_100km": 1,
        "harsh_brakes_per_100km": 0,
        "coasting_share_bp": 2_400,
        "eco_mode_share_bp": 8_000,
        "speed_band": "50-90",
        "ended_at_ms": ended_at_ms,
    }


def demo_steps(world: DemoWorld) -> list[DemoStep]:
    """The demo's reward traffic for its first vehicle with a person as owner."""
    if "oem" not in world.orgs:
        return []
    oem = world.orgs["oem"]
    people = set(world.people)
    cars = [vin for vin, owner in world.vehicles.items() if owner in people]
    if not cars:
        return []
    vin = cars[0]
    car = f"did:amc:vin:{vin}"
    owner = world.vehicles[vin]
    programme = f"eco-{world.time_ms}"
    start = world.odometer_km.get(vin, 0)
    trip = _trip(programme, vin, f"trip-{world.time_ms}", start, start + 42, world.time_ms)
    return [
        DemoStep(
            "create_programme",
            {
                "programme_id": programme,
                "name": "Eco-driving coins",
                "bands": [
                    {"min_score": 60, "minor_per_km": 10_000},
                    {"min_score": 80, "minor_per_km": 50_000},
                    {"min_score": 95, "minor_per_km": 100_000},
                ],
                "daily_cap_minor": 20 * AMCT,
                "budget_minor": 1_000_000 * AMCT,
            },
            (oem,),
            note="the OEM starts an eco-driving programme paid from the mining pool",
        ),
        DemoStep(
            "submit_trip",
            trip,
            (car,),
            note=f"{vin}'s on-board key signs a 42 km trip; its owner is paid",
        ),
        DemoStep(
            "submit_trip",
            trip,
            (car,),
            note="the same trip again",
            refused_with=("rewards", RewardsCode.TRIP_REPLAYED),
        ),
        DemoStep(
            "submit_trip",
            {**trip, "trip_id": f"forged-{world.time_ms}"},
            (owner,),
            note="a trip signed by the owner, not the car",
            refused_with=("rewards", RewardsCode.NOT_VEHICLE_KEY),
        ),
        DemoStep(
            "submit_trip",
            {**trip, "trip_id": f"odd-{world.time_ms}", "distance_km": 99},
            (car,),
            note="a distance that is not end − start",
            refused_with=("rewards", RewardsCode.DISTANCE_MISMATCH),
        ),
        DemoStep(
            "submit_trip",
            _trip(programme, vin, f"back-{world.time_ms}", start + 10, start + 20, world.time_ms),
            (car,),
            note="a trip that starts before the last one ended",
            refused_with=("rewards", RewardsCode.ODOMETER_CONTRADICTS),
        ),
    ]
