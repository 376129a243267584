"""The ``rewards`` module: eco-driving programmes (Daimler's mobiCOINS). An OEM sets the
bands, the daily cap per vehicle and the budget; a car's on-board key signs a trip summary;
the module scores it and pays the owner from AMCT's mining pool (the only way, with other
reward rules, that the pool is released).

See ``README.md`` for state layout, messages, events, errors and who may do what.
"""

from __future__ import annotations

from amchain.modules.base import CliCommand, MessageSpec, ModuleSpec, QuerySpec
from amchain.modules.rewards import handlers, queries
from amchain.modules.rewards.demo import demo_steps
from amchain.modules.rewards.errors import RewardsCode, RewardsError
from amchain.modules.rewards.scoring import earned_minor, score_trip
from amchain.modules.rewards.types import (
    SPEED_BANDS,
    Band,
    CloseProgrammeArgs,
    CreateProgrammeArgs,
    Programme,
    ProgrammeClosed,
    ProgrammeCreated,
    ProgrammeParams,
    SubmitTripArgs,
    TripParams,
    TripRecord,
    TripRewarded,
    VehicleParams,
    VehicleTrips,
)

__all__ = [
    "SPEC",
    "SPEED_BANDS",
    "Band",
    "Programme",
    "RewardsCode",
    "RewardsError",
    "SubmitTripArgs",
    "TripRecord",
    "VehicleTrips",
    "earned_minor",
    "score_trip",
]


def _index_trip(args: SubmitTripArgs) -> list[tuple[str, str]]:
    return [("vehicle", args.vin.upper())]


SPEC = ModuleSpec(
    name="rewards",
    codespace="rewards",
    title="Rewards",
    description="Eco-driving programmes: trips signed by the car, scored, paid to the owner "
    "from AMCT's mining pool under a daily cap and a budget.",
    messages={
        "create_programme": MessageSpec(
            name="create_programme",
            args_type=CreateProgrammeArgs,
            handler=handlers.create_programme,
            summary="Start an eco-driving programme for your vehicles (an OEM signs).",
            roles=handlers.roles_create_programme,
            check=handlers.check_create_programme,
            signers="an OEM's key",
            example={
                "programme_id": "eco-2027",
                "name": "Eco-driving coins",
                "bands": [{"min_score": 60, "minor_per_km": 10_000}],
                "daily_cap_minor": 20_000_000,
                "budget_minor": 1_000_000_000_000,
            },
        ),
        "close_programme": MessageSpec(
            name="close_programme",
            args_type=CloseProgrammeArgs,
            handler=handlers.close_programme,
            summary="Close your programme: no more trips are rewarded.",
            signers="the programme's OEM",
        ),
        "submit_trip": MessageSpec(
            name="submit_trip",
            args_type=SubmitTripArgs,
            handler=handlers.submit_trip,
            summary="A trip summary signed by the car's on-board key: scored, and its owner paid.",
            check=handlers.check_submit_trip,
            index=_index_trip,
            signers="the vehicle's current on-board key",
        ),
    },
    queries={
        "programme": QuerySpec(
            name="programme",
            params_type=ProgrammeParams,
            result_type=Programme,
            handler=queries.query_programme,
            summary="A reward programme: bands, cap, budget and what it paid",
            path="/rewards/programmes/{programme_id}",
            not_found="there is no reward programme {programme_id!r}",
        ),
        "trip": QuerySpec(
            name="trip",
            params_type=TripParams,
            result_type=TripRecord,
            handler=queries.query_trip,
            summary="A scored trip",
            path="/rewards/trips/{vin}/{trip_id}",
            not_found="no trip {trip_id!r} of {vin}",
        ),
        "vehicle": QuerySpec(
            name="vehicle",
            params_type=VehicleParams,
            result_type=VehicleTrips,
            handler=queries.query_vehicle,
            summary="A vehicle's trips so far: last odometer, count, rewards",
            path="/rewards/vehicles/{vin}",
            not_found="no trip of {vin} yet",
            cli=CliCommand("reward show", positional=("vin",), summary="A vehicle's rewards."),
        ),
    },
    events=(ProgrammeCreated, ProgrammeClosed, TripRewarded),
    demo=demo_steps,
)
