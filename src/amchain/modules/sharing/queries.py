"""Reads of the ``sharing`` module: a group, the group of a vehicle, a proposal."""

from __future__ import annotations

from amchain.modules.base import QueryContext
from amchain.modules.sharing import keeper
from amchain.modules.sharing.types import (
    Group,
    GroupParams,
    Proposal,
    ProposalParams,
    VehicleGroupParams,
)

__all__ = ["query_group", "query_proposal", "query_vehicle_group"]


def query_group(ctx: QueryContext, params: GroupParams) -> Group | None:
    """A group: members, shares, usage, payees, status (None: no such group)."""
    return keeper.read_group(ctx.state, params.group_id)


def query_vehicle_group(ctx: QueryContext, params: VehicleGroupParams) -> Group | None:
    """The group that owns a vehicle (None: the vehicle is not shared)."""
    group_id = keeper.read_vehicle_group(ctx.state, params.vin.upper())
    return None if group_id is None else keeper.read_group(ctx.state, group_id)


def query_proposal(ctx: QueryContext, params: ProposalParams) -> Proposal | None:
    """A proposal and its approvals (None: no such proposal)."""
    return keeper.read_proposal(ctx.state, params.group_id, params.proposal_id)
