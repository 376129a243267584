"""The ``sharing/`` state-key layout (full keys). Ids match ``[A-Za-z0-9._-]{1,64}``."""

from __future__ import annotations

__all__ = [
    "MODULE",
    "bill_state_key",
    "group_state_key",
    "proposal_state_key",
    "session_state_key",
    "vehicle_group_state_key",
]

MODULE = "sharing"


def group_state_key(group_id: str) -> str:
    """``sharing/group/<id>``: the Group."""
    return f"{MODULE}/group/{group_id}"


def vehicle_group_state_key(vin: str) -> str:
    """``sharing/vehicle/<VIN>``: the id of the group that owns the vehicle (one at a time)."""
    return f"{MODULE}/vehicle/{vin}"


def session_state_key(group_id: str, session_id: str) -> str:
    """``sharing/session/<group>/<id>``: a usage session."""
    return f"{MODULE}/session/{group_id}/{session_id}"


def bill_state_key(group_id: str, bill_id: str) -> str:
    """``sharing/bill/<group>/<id>``: a settled bill and each member's part."""
    return f"{MODULE}/bill/{group_id}/{bill_id}"


def proposal_state_key(group_id: str, proposal_id: str) -> str:
    """``sharing/proposal/<group>/<id>``: a decision of the group."""
    return f"{MODULE}/proposal/{group_id}/{proposal_id}"
