"""Errors of the ``rewards`` module: stable numeric codes in the ``rewards`` codespace."""

from __future__ import annotations

from enum import IntEnum

from amchain.modules.base import ModuleError

__all__ = ["RewardsCode", "RewardsError"]


class RewardsCode(IntEnum):
    """Stable codes of the ``rewards`` codespace (never renumber; only append)."""

    INVALID_ID = 1
    INVALID_BANDS = 2
    INVALID_AMOUNT = 3
    PROGRAMME_EXISTS = 4
    UNKNOWN_PROGRAMME = 5
    PROGRAMME_CLOSED = 6
    NOT_PROGRAMME_OWNER = 7
    INVALID_TRIP = 8
    DISTANCE_MISMATCH = 9
    UNKNOWN_VEHICLE = 10
    NOT_IN_PROGRAMME = 11
    VEHICLE_SCRAPPED = 12
    NOT_VEHICLE_KEY = 13
    TRIP_REPLAYED = 14
    ODOMETER_CONTRADICTS = 15
    INVALID_TIME = 16
    DAILY_CAP_REACHED = 17
    BUDGET_EXHAUSTED = 18


class RewardsError(ModuleError):
    """A refusal of the ``rewards`` module."""

    codespace = "rewards"
