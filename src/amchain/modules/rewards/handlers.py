"""Handlers of the ``rewards`` module: an OEM's eco-driving programme, and the trips its
vehicles' on-board keys sign, scored and paid to the owner from AMCT's mining pool.

Each handler validates, authorises, changes state and emits events, in that order.
"""

from __future__ import annotations

import re

import msgspec

from amchain.modules import identity, tokens, vehicles
from amchain.modules.base import KeyStatus, TxContext
from amchain.modules.rewards import keeper
from amchain.modules.rewards.errors import RewardsCode, RewardsError
from amchain.modules.rewards.scoring import earned_minor, score_trip
from amchain.modules.rewards.types import (
    SPEED_BANDS,
    CloseProgrammeArgs,
    CreateProgrammeArgs,
    Programme,
    ProgrammeClosed,
    ProgrammeCreated,
    SubmitTripArgs,
    TripRecord,
    TripRewarded,
    VehicleTrips,
)

__all__ = [
    "MINING_POOL",
    "check_create_programme",
    "check_submit_trip",
    "close_programme",
    "create_programme",
    "roles_create_programme",
    "submit_trip",
]

MINING_POOL = "mining"
DAY_MS = 86_400_000
MAX_TRIP_KM = 2_000
MAX_TRIP_AGE_MS = 7 * DAY_MS
MAX_CLOCK_SKEW_MS = 5 * 60_000
MAX_AMOUNT_MINOR = 2**53 - 1
MAX_BANDS = 10
ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _check_id(value: str, field: str) -> None:
    if ID_PATTERN.fullmatch(value) is None:
        raise RewardsError(
            RewardsCode.INVALID_ID,
            f"{field} must be 1 to 64 characters of A-Z a-z 0-9 . _ -",
            details={"field": field},
        )


def _require_programme(ctx: TxContext, programme_id: str) -> Programme:
    programme = keeper.read_programme(ctx.state, programme_id)
    if programme is None:
        raise RewardsError(
            RewardsCode.UNKNOWN_PROGRAMME,
            f"there is no reward programme {programme_id!r}",
            details={"programme_id": programme_id},
        )
    if not programme.active:
        raise RewardsError(
            RewardsCode.PROGRAMME_CLOSED,
            f"reward programme {programme_id!r} is closed",
            details={"programme_id": programme_id},
        )
    return programme


def _signing_org(ctx: TxContext) -> str | None:
    for standing in ctx.standings:
        if (
            standing is not None
            and standing.org is not None
            and standing.status == KeyStatus.ACTIVE
        ):
            return standing.org
    return None


# --- programmes ----------------------------------------------------------------------------------


def roles_create_programme(_args: CreateProgrammeArgs) -> tuple[str, ...]:
    return ("oem",)


def check_create_programme(args: CreateProgrammeArgs) -> None:
    """Raises: RewardsError: INVALID_ID, INVALID_BANDS, INVALID_AMOUNT."""
    _check_id(args.programme_id, "programme_id")
    if not 1 <= len(args.bands) <= MAX_BANDS or len({band.min_score for band in args.bands}) != len(
        args.bands
    ):
        raise RewardsError(
            RewardsCode.INVALID_BANDS, f"1 to {MAX_BANDS} bands, each with its own min_score"
        )
    for band in args.bands:
        if not 0 <= band.min_score <= 100 or not 0 <= band.minor_per_km <= 10**9:
            raise RewardsError(
                RewardsCode.INVALID_BANDS,
                "a band's min_score is 0 to 100 and its minor_per_km 0 to 10^9",
            )
    for field, value in (
        ("daily_cap_minor", args.daily_cap_minor),
        ("budget_minor", args.budget_minor),
    ):
        if not 1 <= value <= MAX_AMOUNT_MINOR:
            raise RewardsError(
                RewardsCode.INVALID_AMOUNT,
                f"{field} must be 1 to {MAX_AMOUNT_MINOR} minor units",
                details={"field": field},
            )
    if not args.name.strip() or len(args.name) > 100:
        raise RewardsError(RewardsCode.INVALID_ID, "name must be 1 to 100 characters")


def create_programme(ctx: TxContext, args: CreateProgrammeArgs) -> None:
    """An OEM starts an eco-driving programme for its vehicles (role checked by the runtime).

    Raises:
        RewardsError: INVALID_ID, INVALID_BANDS, INVALID_AMOUNT, PROGRAMME_EXISTS,
            NOT_PROGRAMME_OWNER (no organisation signs).
    """
    # validate
    check_create_programme(args)
    if keeper.read_programme(ctx.state, args.programme_id) is not None:
        raise RewardsError(
            RewardsCode.PROGRAMME_EXISTS,
            f"reward programme {args.programme_id!r} exists already; choose another id",
            details={"programme_id": args.programme_id},
        )

    # authorise
    oem = _signing_org(ctx)
    if oem is None:
        raise RewardsError(RewardsCode.NOT_PROGRAMME_OWNER, "an OEM's key signs a programme")

    # change state
    programme = Programme(
        id=args.programme_id,
        oem=oem,
        name=args.name,
        bands=sorted(args.bands, key=lambda band: band.min_score),
        daily_cap_minor=args.daily_cap_minor,
        budget_minor=args.budget_minor,
        paid_minor=0,
        trips=0,
        active=True,
        created_height=ctx.height,
    )
    keeper.write_programme(ctx.state, programme)

    # emit events
    ctx.emit(
        ProgrammeCreated(programme_id=programme.id, oem=oem, budget_minor=programme.budget_minor)
    )


def close_programme(ctx: TxContext, args: CloseProgrammeArgs) -> None:
    """The OEM closes its programme.

    Raises:
        RewardsError: INVALID_ID, UNKNOWN_PROGRAMME, PROGRAMME_CLOSED, NOT_PROGRAMME_OWNER.
    """
    _check_id(args.programme_id, "programme_id")
    programme = _require_programme(ctx, args.programme_id)
    if _signing_org(ctx) != programme.oem:
        raise RewardsError(
            RewardsCode.NOT_PROGRAMME_OWNER,
            f"only {programme.oem} closes programme {programme.id!r}",
            details={"oem": programme.oem},
        )
    keeper.write_programme(ctx.state, msgspec.structs.replace(programme, active=False))
    ctx.emit(ProgrammeClosed(programme_id=programme.id, paid_minor=programme.paid_minor))


# --- trips ---------------------------------------------------------------------------------------


def check_submit_trip(args: SubmitTripArgs) -> None:
    """Raises: RewardsError: INVALID_ID, INVALID_TRIP, DISTANCE_MISMATCH."""
    _check_id(args.programme_id, "programme_id")
    _check_id(args.trip_id, "trip_id")
    problems = []
    if not 0 <= args.start_odometer_km <= args.end_odometer_km <= 10_000_000:
        problems.append("odometer readings must be 0 ≤ start ≤ end ≤ 10,000,000 km")
    if not 0 < args.distance_km <= MAX_TRIP_KM:
        problems.append(f"distance_km must be 1 to {MAX_TRIP_KM}")
    for field in ("harsh_accelerations_per_100km", "harsh_brakes_per_100km"):
        if not 0 <= getattr(args, field) <= 1_000:
            problems.append(f"{field} must be 0 to 1000")
    for field in ("coasting_share_bp", "eco_mode_share_bp"):
        if not 0 <= getattr(args, field) <= 10_000:
            problems.append(f"{field} must be 0 to 10000 bp")
    if args.speed_band not in SPEED_BANDS:
        problems.append(f"speed_band must be one of {', '.join(SPEED_BANDS)}")
    if problems:
        raise RewardsError(RewardsCode.INVALID_TRIP, "; ".join(problems))
    if args.distance_km != args.end_odometer_km - args.start_odometer_km:
        raise RewardsError(
            RewardsCode.DISTANCE_MISMATCH,
            f"distance_km {args.distance_km} is not end − start "
            f"({args.end_odometer_km} − {args.start_odometer_km})",
            details={"distance_km": args.distance_km},
        )


def submit_trip(ctx: TxContext, args: SubmitTripArgs) -> None:
    """Score a trip the vehicle's own key signed and pay its owner from the mining pool.

    Raises:
        RewardsError: INVALID_ID, INVALID_TRIP, DISTANCE_MISMATCH, UNKNOWN_PROGRAMME,
            PROGRAMME_CLOSED, UNKNOWN_VEHICLE, NOT_IN_PROGRAMME, VEHICLE_SCRAPPED,
            NOT_VEHICLE_KEY, TRIP_REPLAYED, ODOMETER_CONTRADICTS, INVALID_TIME,
            DAILY_CAP_REACHED, BUDGET_EXHAUSTED.
        TokensError: POOL_EXHAUSTED (the mining pool is empty).
    """
    # validate: the summary, then against the chain
    check_submit_trip(args)
    programme = _require_programme(ctx, args.programme_id)
    vin = args.vin.upper()
    vehicle = vehicles.get_vehicle(ctx.state, vin)
    if vehicle is None:
        raise RewardsError(
            RewardsCode.UNKNOWN_VEHICLE, f"no vehicle with VIN {vin}", details={"vin": vin}
        )
    if vehicle.manufacturer != programme.oem:
        raise RewardsError(
            RewardsCode.NOT_IN_PROGRAMME,
            f"{vin} is not a vehicle of {programme.oem}, whose programme this is",
            details={"vin": vin, "oem": programme.oem},
        )
    if vehicle.status == "scrapped":
        raise RewardsError(
            RewardsCode.VEHICLE_SCRAPPED, f"{vin} was scrapped", details={"vin": vin}
        )
    age_ms = ctx.time_ms - args.ended_at_ms
    if age_ms < -MAX_CLOCK_SKEW_MS or age_ms > MAX_TRIP_AGE_MS:
        raise RewardsError(
            RewardsCode.INVALID_TIME,
            "a trip is submitted within 7 days of its end, and not before it ended",
            details={"ended_at_ms": args.ended_at_ms, "time_ms": ctx.time_ms},
        )

    # authorise: the car's current on-board key, nothing else
    if not any(identity.is_controlled_by(ctx.state, vehicle.did, key) for key in ctx.signers):
        raise RewardsError(
            RewardsCode.NOT_VEHICLE_KEY,
            f"a trip summary is signed by the on-board key of {vin} ({vehicle.did})",
            details={"vin": vin},
        )
    if keeper.read_trip(ctx.state, vin, args.trip_id) is not None:
        raise RewardsError(
            RewardsCode.TRIP_REPLAYED,
            f"trip {args.trip_id!r} of {vin} was submitted already",
            details={"vin": vin, "trip_id": args.trip_id},
        )
    totals = keeper.read_vehicle_trips(ctx.state, vin) or VehicleTrips(
        last_end_odometer_km=0, trips=0, paid_minor=0
    )
    if (
        args.end_odometer_km < vehicle.last_odometer_km
        or args.start_odometer_km < totals.last_end_odometer_km
    ):
        raise RewardsError(
            RewardsCode.ODOMETER_CONTRADICTS,
            f"the trip ({args.start_odometer_km}–{args.end_odometer_km} km) contradicts the "
            f"vehicle's history: last reading {vehicle.last_odometer_km} km, last trip ended "
            f"at {totals.last_end_odometer_km} km",
            details={
                "last_odometer_km": vehicle.last_odometer_km,
                "last_trip_end_km": totals.last_end_odometer_km,
            },
        )

    # score, and what may be paid under the daily cap and the budget
    score = score_trip(args)
    earned = earned_minor(score, args.distance_km, programme.bands)
    day = args.ended_at_ms // DAY_MS
    paid_today = keeper.read_day_paid(ctx.state, programme.id, vin, day)
    if earned and paid_today >= programme.daily_cap_minor:
        raise RewardsError(
            RewardsCode.DAILY_CAP_REACHED,
            f"{vin} has had its {programme.daily_cap_minor} minor units for that day",
            details={"vin": vin, "day": day, "daily_cap_minor": programme.daily_cap_minor},
        )
    left = programme.budget_minor - programme.paid_minor
    if earned and left <= 0:
        raise RewardsError(
            RewardsCode.BUDGET_EXHAUSTED,
            f"programme {programme.id!r} has paid its whole budget",
            details={"programme_id": programme.id},
        )
    reward = min(earned, programme.daily_cap_minor - paid_today, left)

    # change state
    if reward:
        tokens.pay_reward(
            ctx.state,
            MINING_POOL,
            vehicle.owner,
            reward,
            ctx.emit,
            purpose=f"eco-driving {programme.id}",
        )
        keeper.write_day_paid(ctx.state, programme.id, vin, day, paid_today + reward)
    keeper.write_trip(
        ctx.state,
        TripRecord(
            trip_id=args.trip_id,
            vin=vin,
            programme_id=programme.id,
            score=score,
            distance_km=args.distance_km,
            reward_minor=reward,
            earned_minor=earned,
            owner=vehicle.owner,
            ended_at_ms=args.ended_at_ms,
            height=ctx.height,
        ),
    )
    keeper.write_vehicle_trips(
        ctx.state,
        vin,
        VehicleTrips(
            last_end_odometer_km=args.end_odometer_km,
            trips=totals.trips + 1,
            paid_minor=totals.paid_minor + reward,
        ),
    )
    keeper.write_programme(
        ctx.state,
        msgspec.structs.replace(
            programme, paid_minor=programme.paid_minor + reward, trips=programme.trips + 1
        ),
    )

    # emit events
    ctx.emit(
        TripRewarded(
            programme_id=programme.id,
            vin=vin,
            trip_id=args.trip_id,
            score=score,
            distance_km=args.distance_km,
            earned_minor=earned,
            reward_minor=reward,
            owner=vehicle.owner,
        )
    )
