"""The consortium roles a message may require (DESIGN.md §4)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ROLES", "Role"]


class Role(StrEnum):
    """Consortium roles; an organisation holds one or more (the ``consortium`` module)."""

    OEM = "oem"
    SUPPLIER = "supplier"
    DEALER = "dealer"
    SERVICE_CENTER = "service_center"
    INSURER = "insurer"
    REGISTRY = "registry"
    REGULATOR = "regulator"
    CHARGING_OPERATOR = "charging_operator"
    GRID_OPERATOR = "grid_operator"
    FINANCIER = "financier"
    FLEET = "fleet"
    EDGE_OPERATOR = "edge_operator"


ROLES: tuple[str, ...] = tuple(role.value for role in Role)
