"""The ``vehicles`` codespace: stable numeric codes for every refusal of this module.

Codes are part of the public interface (receipts, the REST API's problem documents, the
history report of refused attempts): never renumber, only append.
"""

from __future__ import annotations

from enum import IntEnum

from amchain.modules.base import ModuleError

__all__ = ["CODESPACE", "VehiclesCode", "VehiclesError"]

CODESPACE = "vehicles"


class VehiclesCode(IntEnum):
    """Stable codes of the ``vehicles`` codespace."""

    INVALID_VIN = 1
    DUPLICATE_VIN = 2
    UNKNOWN_VEHICLE = 3
    UNKNOWN_OWNER = 4
    INVALID_FIELD = 5
    INVALID_ODOMETER = 6
    ODOMETER_ROLLBACK = 7
    VEHICLE_SCRAPPED = 8
    VEHICLE_STOLEN = 9
    ALREADY_STOLEN = 10
    NOT_STOLEN = 11
    NOT_MANUFACTURER = 12
    MANUFACTURER_REQUIRED = 13
    ROLE_REQUIRED = 14
    NOT_OWNER_SIGNATURE = 15
    BUYER_SIGNATURE_MISSING = 16
    SAME_OWNER = 17
    NOT_TRADE_STOCK = 18
    UNKNOWN_ACCIDENT = 19
    RECALL_NOT_OPEN = 20
    RECALL_ALREADY_OPEN = 21
    INVALID_VEHICLE_KEY = 22
    LIEN_HOLDER_SIGNATURE_MISSING = 23
    UNKNOWN_LIEN = 24
    LIEN_EXISTS = 25


class VehiclesError(ModuleError):
    """A refusal of the ``vehicles`` module.

    Raise as ``VehiclesError(VehiclesCode.X, "what to fix", details={...})``; ``details``
    holds plain JSON values only (strings, ints, bools, None, lists), as receipts carry them.
    """

    codespace = CODESPACE
