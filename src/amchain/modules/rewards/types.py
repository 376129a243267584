"""Wire arguments, state records, events and query types of the ``rewards`` module:
eco-driving programmes (Daimler's mobiCOINS) paid from AMCT's mining pool."""

from __future__ import annotations

from typing import Annotated

import msgspec

from amchain.modules.base import EventAttributes
from amchain.modules.base.fields import IdText, ListOf, NameText

__all__ = [
    "SPEED_BANDS",
    "Band",
    "CloseProgrammeArgs",
    "CreateProgrammeArgs",
    "Programme",
    "ProgrammeClosed",
    "ProgrammeCreated",
    "ProgrammeParams",
    "SubmitTripArgs",
    "TripParams",
    "TripRecord",
    "TripRewarded",
    "VehicleParams",
    "VehicleTrips",
]

SPEED_BANDS: tuple[str, ...] = ("0-50", "50-90", "90-120", "120+")
"""Average speed bands of a trip, km/h."""

Id = Annotated[IdText, msgspec.Meta(description="an id of your choosing ([A-Za-z0-9._-]{1,64})")]


class Band(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A score band: a trip scoring at least ``min_score`` earns ``minor_per_km`` AMCT
    minor units per km (the highest band it reaches)."""

    min_score: Annotated[int, msgspec.Meta(description="0 to 100")]
    minor_per_km: Annotated[int, msgspec.Meta(description="AMCT minor units per km")]


class CreateProgrammeArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``rewards.create_programme``: an OEM rewards eco-driving in its vehicles."""

    programme_id: Id
    name: Annotated[NameText, msgspec.Meta(description="what drivers see, e.g. 'Eco Coins 2027'")]
    bands: Annotated[list[Band], ListOf]
    daily_cap_minor: Annotated[int, msgspec.Meta(description="most paid per vehicle a day")]
    budget_minor: Annotated[int, msgspec.Meta(description="most the programme pays in all")]


class CloseProgrammeArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``rewards.close_programme``: no more trips are rewarded."""

    programme_id: Id


class SubmitTripArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``rewards.submit_trip``: the car's on-board key signs a trip summary."""

    programme_id: Id
    vin: IdText
    trip_id: Id
    start_odometer_km: int
    end_odometer_km: int
    distance_km: int
    harsh_accelerations_per_100km: Annotated[int, msgspec.Meta(description="0 to 1000")]
    harsh_brakes_per_100km: Annotated[int, msgspec.Meta(description="0 to 1000")]
    coasting_share_bp: Annotated[int, msgspec.Meta(description="share of time coasting, bp")]
    eco_mode_share_bp: Annotated[int, msgspec.Meta(description="share of time in eco mode, bp")]
    speed_band: Annotated[
        IdText, msgspec.Meta(description="average speed: 0-50, 50-90, 90-120, 120+")
    ]
    ended_at_ms: Annotated[int, msgspec.Meta(description="when the trip ended (ms)")]


# --- state ---------------------------------------------------------------------------------------


class Programme(msgspec.Struct, frozen=True, kw_only=True):
    """``rewards/programme/<id>``."""

    id: str
    oem: str
    """The OEM's organisation id: its vehicles take part."""
    name: str
    bands: list[Band]
    daily_cap_minor: int
    budget_minor: int
    paid_minor: int
    trips: int
    active: bool
    created_height: int


class TripRecord(msgspec.Struct, frozen=True, kw_only=True):
    """``rewards/trip/<VIN>/<trip id>``."""

    trip_id: str
    vin: str
    programme_id: str
    score: int
    distance_km: int
    reward_minor: int
    """What was paid (after the daily cap and the budget)."""
    earned_minor: int
    """What the score earned before them."""
    owner: str
    ended_at_ms: int
    height: int


class VehicleTrips(msgspec.Struct, frozen=True, kw_only=True):
    """``rewards/vehicle/<VIN>``."""

    last_end_odometer_km: int
    trips: int
    paid_minor: int


# --- events --------------------------------------------------------------------------------------


class ProgrammeCreated(EventAttributes, frozen=True, kw_only=True):
    event_type = "rewards.programme_created"
    programme_id: str
    oem: str
    budget_minor: int


class ProgrammeClosed(EventAttributes, frozen=True, kw_only=True):
    event_type = "rewards.programme_closed"
    programme_id: str
    paid_minor: int


class TripRewarded(EventAttributes, frozen=True, kw_only=True):
    """A trip was scored (and paid, if it earned something)."""

    event_type = "rewards.trip_rewarded"
    programme_id: str
    vin: str
    trip_id: str
    score: int
    distance_km: int
    earned_minor: int
    reward_minor: int
    owner: str


# --- queries -------------------------------------------------------------------------------------


class ProgrammeParams(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Which programme."""

    programme_id: Annotated[str, msgspec.Meta(pattern="^[A-Za-z0-9._-]{1,64}$")]


class TripParams(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Which trip."""

    vin: Annotated[str, msgspec.Meta(pattern="^[A-Za-z0-9]{17}$", description="the VIN")]
    trip_id: Annotated[str, msgspec.Meta(pattern="^[A-Za-z0-9._-]{1,64}$")]


class VehicleParams(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Which vehicle."""

    vin: Annotated[str, msgspec.Meta(pattern="^[A-Za-z0-9]{17}$", description="the VIN")]
