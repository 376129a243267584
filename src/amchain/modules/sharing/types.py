"""Wire arguments, state records, events and query types of the ``sharing`` module: a
vehicle owned by a group of DIDs with shares in basis points (EY Tesseract)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import msgspec

from amchain.modules.base import EventAttributes
from amchain.modules.base.fields import DidText, IdText, ListOf

__all__ = [
    "Action",
    "AdmitMember",
    "ApproveArgs",
    "AuthorisePayee",
    "Bill",
    "BillArgs",
    "BillPart",
    "ChangeShares",
    "CreateGroupArgs",
    "Dissolve",
    "EndSessionArgs",
    "ExecuteArgs",
    "Group",
    "GroupBilled",
    "GroupCreated",
    "GroupParams",
    "GroupStatus",
    "Member",
    "MemberShare",
    "Proposal",
    "ProposalApproved",
    "ProposalExecuted",
    "ProposalParams",
    "ProposalStatus",
    "ProposeArgs",
    "Sell",
    "Session",
    "SessionEnded",
    "SessionStarted",
    "StartSessionArgs",
    "VehicleGroupParams",
]

Id = Annotated[IdText, msgspec.Meta(description="an id of your choosing ([A-Za-z0-9._-]{1,64})")]
Account = Annotated[DidText, msgspec.Meta(description="a did:amc DID")]
IdParam = Annotated[str, msgspec.Meta(pattern="^[A-Za-z0-9._-]{1,64}$", description="the id")]


class GroupStatus(StrEnum):
    ACTIVE = "active"
    SOLD = "sold"
    DISSOLVED = "dissolved"


class ProposalStatus(StrEnum):
    OPEN = "open"
    EXECUTED = "executed"


class MemberShare(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A member and its share."""

    did: Account
    share_bp: Annotated[int, msgspec.Meta(description="share of the vehicle, basis points")]


# --- actions a group decides k of n -------------------------------------------------------------


class AdmitMember(msgspec.Struct, tag="admit_member", forbid_unknown_fields=True, frozen=True):
    """Admit ``did`` with ``share_bp`` taken from ``from_member``'s share (the new member
    signs the execution)."""

    did: Account
    share_bp: int
    from_member: Account


class ChangeShares(msgspec.Struct, tag="change_shares", forbid_unknown_fields=True, frozen=True):
    """The members' new shares (every member, adding up to 10,000 bp)."""

    shares: Annotated[list[MemberShare], ListOf]


class AuthorisePayee(
    msgspec.Struct, tag="authorise_payee", forbid_unknown_fields=True, frozen=True
):
    """Let ``payee`` (an insurer, a charging operator, a workshop) bill the group."""

    payee: Account


class Sell(msgspec.Struct, tag="sell", forbid_unknown_fields=True, frozen=True):
    """Sell the vehicle to ``buyer`` for ``price_minor``, paid to the members by share
    (the buyer signs the execution and pays in it)."""

    buyer: Account
    denom: IdText
    price_minor: int


class Dissolve(msgspec.Struct, tag="dissolve", forbid_unknown_fields=True, frozen=True):
    """End the group (the vehicle stays with its registered owner)."""


Action = AdmitMember | ChangeShares | AuthorisePayee | Sell | Dissolve


# --- wire arguments ------------------------------------------------------------------------------


class CreateGroupArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``sharing.create_group``: the vehicle's owner and every member sign."""

    group_id: Id
    vin: IdText
    members: Annotated[list[MemberShare], ListOf]
    threshold: Annotated[int, msgspec.Meta(description="approvals a decision needs (k of n)")]
    share_weight_bp: Annotated[
        int,
        msgspec.Meta(
            description="how much of a bill is split by share (the rest by usage): 10000 "
            "by share, 0 by usage"
        ),
    ]


class StartSessionArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``sharing.start_session``: a member takes the car (one session at a time)."""

    group_id: Id
    session_id: Id


class EndSessionArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``sharing.end_session``: the member brings it back and says how far it went."""

    group_id: Id
    session_id: Id
    distance_km: int


class BillArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``sharing.bill``: an authorised payee bills the group; the members pay it by the
    group's policy in the same transaction."""

    group_id: Id
    bill_id: Id
    denom: IdText
    amount_minor: int
    kind: Annotated[IdText, msgspec.Meta(description="insurance, charging, service, parking, …")]


class ProposeArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``sharing.propose``: a member proposes a decision (its approval counts)."""

    group_id: Id
    proposal_id: Id
    action: Action


class ApproveArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``sharing.approve``: a member approves a proposal."""

    group_id: Id
    proposal_id: Id


class ExecuteArgs(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``sharing.execute``: carry out a proposal with k approvals."""

    group_id: Id
    proposal_id: Id


# --- state ---------------------------------------------------------------------------------------


class Member(msgspec.Struct, frozen=True, kw_only=True):
    did: str
    share_bp: int
    usage_km: int
    """Driven since the last bill (what "by usage" splits by)."""
    total_km: int
    total_ms: int


class Group(msgspec.Struct, frozen=True, kw_only=True):
    """``sharing/group/<id>``."""

    id: str
    vin: str
    members: list[Member]
    threshold: int
    share_weight_bp: int
    payees: list[str]
    active_session: str | None
    status: str
    created_height: int


class Session(msgspec.Struct, frozen=True, kw_only=True):
    """``sharing/session/<group>/<id>``."""

    id: str
    member: str
    started_ms: int
    ended_ms: int | None = None
    distance_km: int | None = None


class BillPart(msgspec.Struct, frozen=True):
    member: str
    amount_minor: int


class Bill(msgspec.Struct, frozen=True, kw_only=True):
    """``sharing/bill/<group>/<id>``."""

    id: str
    payee: str
    denom: str
    amount_minor: int
    kind: str
    parts: list[BillPart]
    height: int


class Proposal(msgspec.Struct, frozen=True, kw_only=True):
    """``sharing/proposal/<group>/<id>``."""

    id: str
    action: Action
    proposer: str
    approvals: list[str]
    status: str
    proposed_height: int
    executed_height: int | None = None


# --- events --------------------------------------------------------------------------------------


class GroupCreated(EventAttributes, frozen=True, kw_only=True):
    event_type = "sharing.group_created"
    group_id: str
    vin: str
    members: list[str]
    threshold: int


class SessionStarted(EventAttributes, frozen=True, kw_only=True):
    event_type = "sharing.session_started"
    group_id: str
    session_id: str
    member: str


class SessionEnded(EventAttributes, frozen=True, kw_only=True):
    event_type = "sharing.session_ended"
    group_id: str
    session_id: str
    member: str
    distance_km: int
    duration_ms: int


class GroupBilled(EventAttributes, frozen=True, kw_only=True):
    event_type = "sharing.group_billed"
    group_id: str
    bill_id: str
    payee: str
    kind: str
    amount_minor: int
    parts: list[BillPart]


class ProposalApproved(EventAttributes, frozen=True, kw_only=True):
    event_type = "sharing.proposal_approved"
    group_id: str
    proposal_id: str
    approver: str
    approvals: int
    threshold: int


class ProposalExecuted(EventAttributes, frozen=True, kw_only=True):
    event_type = "sharing.proposal_executed"
    group_id: str
    proposal_id: str
    action: str


# --- queries -------------------------------------------------------------------------------------


class GroupParams(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Which group."""

    group_id: IdParam


class VehicleGroupParams(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Which vehicle."""

    vin: Annotated[str, msgspec.Meta(pattern="^[A-Za-z0-9]{17}$", description="the VIN")]


class ProposalParams(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Which proposal."""

    group_id: IdParam
    proposal_id: IdParam
