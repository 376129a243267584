"""Decisions of a co-owning group, k of n: admitting a member, changing shares, authorising
a payee, selling the vehicle, dissolving the group. A member proposes (its approval counts),
members approve once each, and a proposal with ``threshold`` approvals is executed — a sale
by the buyer, who pays the price to the members by share in the same transaction; an
admission by the new member, who accepts in it."""

from __future__ import annotations

import msgspec

from amchain.modules import identity, tokens, vehicles
from amchain.modules.base import TxContext
from amchain.modules.sharing import keeper
from amchain.modules.sharing.errors import SharingCode, SharingError
from amchain.modules.sharing.handlers.group import (
    BASIS_POINTS,
    check_id,
    check_shares,
    lien_reference,
    member_of,
    place_group_lien,
    require_active_group,
    signed_by,
)
from amchain.modules.sharing.types import (
    AdmitMember,
    ApproveArgs,
    AuthorisePayee,
    ChangeShares,
    Dissolve,
    ExecuteArgs,
    Group,
    GroupStatus,
    Member,
    Proposal,
    ProposalApproved,
    ProposalExecuted,
    ProposalStatus,
    ProposeArgs,
    Sell,
)

__all__ = ["approve", "execute", "propose"]


def _action_name(action: object) -> str:
    """The action's tag (``sell``, ``admit_member``, …)."""
    return str(msgspec.to_builtins(action)["type"])


def _check_action(ctx: TxContext, group: Group, action: object) -> None:
    """Refuse an action that could not be carried out as proposed.

    Raises:
        SharingError: INVALID_SHARES, UNKNOWN_ACCOUNT, ALREADY_MEMBER, NOT_MEMBER,
            INVALID_AMOUNT, UNKNOWN_DENOM.
    """
    dids = [member.did for member in group.members]
    match action:
        case AdmitMember(did=did, share_bp=share, from_member=giver):
            if did in dids:
                raise SharingError(SharingCode.ALREADY_MEMBER, f"{did} is a member already")
            if not identity.did_exists(ctx.state, did):
                raise SharingError(SharingCode.UNKNOWN_ACCOUNT, f"{did[:80]} is not a DID here")
            giving = next((m for m in group.members if m.did == giver), None)
            if giving is None:
                raise SharingError(SharingCode.NOT_MEMBER, f"{giver[:80]} is not a member")
            if not 1 <= share < giving.share_bp:
                raise SharingError(
                    SharingCode.INVALID_SHARES,
                    f"{giver} holds {giving.share_bp} bp: it can give 1 to "
                    f"{giving.share_bp - 1} bp",
                )
        case ChangeShares(shares=shares):
            check_shares(shares)
            if sorted(s.did for s in shares) != sorted(dids):
                raise SharingError(
                    SharingCode.INVALID_SHARES, "new shares name every member, and only them"
                )
        case AuthorisePayee(payee=payee):
            if not identity.did_exists(ctx.state, payee):
                raise SharingError(SharingCode.UNKNOWN_ACCOUNT, f"{payee[:80]} is not a DID here")
        case Sell(buyer=buyer, denom=denom, price_minor=price):
            if not identity.did_exists(ctx.state, buyer):
                raise SharingError(SharingCode.UNKNOWN_ACCOUNT, f"{buyer[:80]} is not a DID here")
            if not 1 <= price <= 2**53 - 1:
                raise SharingError(SharingCode.INVALID_AMOUNT, "price_minor must be at least 1")
            if tokens.supply_of(ctx.state, denom) is None:
                raise SharingError(SharingCode.UNKNOWN_DENOM, f"no denomination {denom!r}")
        case _:
            pass


def _require_open_proposal(ctx: TxContext, group: Group, proposal_id: str) -> Proposal:
    check_id(proposal_id, "proposal_id")
    proposal = keeper.read_proposal(ctx.state, group.id, proposal_id)
    if proposal is None:
        raise SharingError(
            SharingCode.UNKNOWN_PROPOSAL,
            f"group {group.id!r} has no proposal {proposal_id!r}",
            details={"proposal_id": proposal_id},
        )
    if proposal.status != ProposalStatus.OPEN:
        raise SharingError(
            SharingCode.PROPOSAL_CLOSED,
            f"proposal {proposal_id!r} was executed at height {proposal.executed_height}",
            details={"proposal_id": proposal_id},
        )
    return proposal


def propose(ctx: TxContext, args: ProposeArgs) -> None:
    """A member proposes a decision; its approval counts.

    Raises:
        SharingError: INVALID_ID, UNKNOWN_GROUP, GROUP_CLOSED, NOT_MEMBER, PROPOSAL_EXISTS,
            and the refusals of the action itself (INVALID_SHARES, UNKNOWN_ACCOUNT, …).
    """
    # validate
    group = require_active_group(ctx, args.group_id)
    check_id(args.proposal_id, "proposal_id")
    if keeper.read_proposal(ctx.state, group.id, args.proposal_id) is not None:
        raise SharingError(
            SharingCode.PROPOSAL_EXISTS,
            f"proposal {args.proposal_id!r} exists already; choose another id",
            details={"proposal_id": args.proposal_id},
        )
    _check_action(ctx, group, args.action)

    # authorise
    member = member_of(ctx, group)

    # change state
    keeper.write_proposal(
        ctx.state,
        group.id,
        Proposal(
            id=args.proposal_id,
            action=args.action,
            proposer=member,
            approvals=[member],
            status=ProposalStatus.OPEN.value,
            proposed_height=ctx.height,
        ),
    )

    # emit events
    ctx.emit(
        ProposalApproved(
            group_id=group.id,
            proposal_id=args.proposal_id,
            approver=member,
            approvals=1,
            threshold=group.threshold,
        )
    )


def approve(ctx: TxContext, args: ApproveArgs) -> None:
    """Members approve a proposal, each once.

    Raises:
        SharingError: INVALID_ID, UNKNOWN_GROUP, GROUP_CLOSED, UNKNOWN_PROPOSAL,
            PROPOSAL_CLOSED, NOT_MEMBER, DUPLICATE_APPROVAL.
    """
    # validate
    group = require_active_group(ctx, args.group_id)
    proposal = _require_open_proposal(ctx, group, args.proposal_id)

    # authorise
    signing = [m.did for m in group.members if signed_by(ctx, m.did)]
    if not signing:
        raise SharingError(SharingCode.NOT_MEMBER, f"no signer is a member of {group.id!r}")
    new = [did for did in signing if did not in proposal.approvals]
    if not new:
        raise SharingError(
            SharingCode.DUPLICATE_APPROVAL,
            f"{', '.join(signing)} approved proposal {proposal.id!r} already",
            details={"approvals": list(proposal.approvals)},
        )

    # change state
    approvals = [*proposal.approvals, *new]
    keeper.write_proposal(
        ctx.state, group.id, msgspec.structs.replace(proposal, approvals=approvals)
    )

    # emit events
    for did in new:
        ctx.emit(
            ProposalApproved(
                group_id=group.id,
                proposal_id=proposal.id,
                approver=did,
                approvals=approvals.index(did) + 1,
                threshold=group.threshold,
            )
        )


def execute(ctx: TxContext, args: ExecuteArgs) -> None:
    """Carry out a proposal that has ``threshold`` approvals.

    Raises:
        SharingError: INVALID_ID, UNKNOWN_GROUP, GROUP_CLOSED, UNKNOWN_PROPOSAL,
            PROPOSAL_CLOSED, NOT_ENOUGH_APPROVALS, NOT_MEMBER, BUYER_SIGNATURE_MISSING,
            NEW_MEMBER_SIGNATURE_MISSING, and the action's own refusals.
        TokensError: INSUFFICIENT_BALANCE (a buyer who cannot pay).
        VehiclesError: from the sale's change of owner (e.g. another lien's holder missing).
    """
    # validate
    group = require_active_group(ctx, args.group_id)
    proposal = _require_open_proposal(ctx, group, args.proposal_id)
    # the approvals of members still in the group (a share change may have left them)
    dids = {member.did for member in group.members}
    counted = [did for did in proposal.approvals if did in dids]
    if len(counted) < group.threshold:
        raise SharingError(
            SharingCode.NOT_ENOUGH_APPROVALS,
            f"proposal {proposal.id!r} has {len(counted)} of the {group.threshold} approvals "
            "it needs",
            details={"approvals": len(counted), "threshold": group.threshold},
        )
    action = proposal.action
    _check_action(ctx, group, action)

    # authorise, change state: by action
    match action:
        case Sell():
            _sell(ctx, group, action)
        case AdmitMember():
            if not signed_by(ctx, action.did):
                raise SharingError(
                    SharingCode.NEW_MEMBER_SIGNATURE_MISSING,
                    f"the new member {action.did} signs the execution to accept",
                )
            _admit(ctx, group, action)
        case ChangeShares():
            member_of(ctx, group)
            shares = {s.did: s.share_bp for s in action.shares}
            members = [msgspec.structs.replace(m, share_bp=shares[m.did]) for m in group.members]
            _rewrite_lien(ctx, msgspec.structs.replace(group, members=members))
        case AuthorisePayee():
            member_of(ctx, group)
            if action.payee not in group.payees:
                keeper.write_group(
                    ctx.state,
                    msgspec.structs.replace(group, payees=[*group.payees, action.payee]),
                )
        case Dissolve():
            member_of(ctx, group)
            _close(ctx, group, GroupStatus.DISSOLVED)
    keeper.write_proposal(
        ctx.state,
        group.id,
        msgspec.structs.replace(
            proposal, status=ProposalStatus.EXECUTED.value, executed_height=ctx.height
        ),
    )

    # emit events
    ctx.emit(
        ProposalExecuted(group_id=group.id, proposal_id=proposal.id, action=_action_name(action))
    )


def _release_lien(ctx: TxContext, group: Group) -> None:
    vehicles.release_lien(
        ctx.state,
        group.vin,
        reference=lien_reference(group.id),
        height=ctx.height,
        time_ms=ctx.time_ms,
        tx_hash=ctx.tx_hash,
    )


def _rewrite_lien(ctx: TxContext, group: Group) -> None:
    """Store the group and put its lien back with its members as they now are."""
    _release_lien(ctx, group)
    keeper.write_group(ctx.state, group)
    place_group_lien(ctx, group)


def _close(ctx: TxContext, group: Group, status: GroupStatus) -> None:
    _release_lien(ctx, group)
    keeper.write_group(ctx.state, msgspec.structs.replace(group, status=status.value))
    keeper.write_vehicle_group(ctx.state, group.vin, None)


def _admit(ctx: TxContext, group: Group, action: AdmitMember) -> None:
    members = [
        msgspec.structs.replace(m, share_bp=m.share_bp - action.share_bp)
        if m.did == action.from_member
        else m
        for m in group.members
    ]
    members.append(
        Member(did=action.did, share_bp=action.share_bp, usage_km=0, total_km=0, total_ms=0)
    )
    _rewrite_lien(ctx, msgspec.structs.replace(group, members=members))


def _sell(ctx: TxContext, group: Group, action: Sell) -> None:
    """The buyer pays the members by share and becomes the owner; the group ends."""
    if not signed_by(ctx, action.buyer):
        raise SharingError(
            SharingCode.BUYER_SIGNATURE_MISSING,
            f"the buyer {action.buyer} signs the sale's execution and pays in it",
        )
    largest = max(group.members, key=lambda m: m.share_bp)
    for member in group.members:
        part = action.price_minor * member.share_bp // BASIS_POINTS
        if member is largest:
            part += action.price_minor - sum(
                action.price_minor * m.share_bp // BASIS_POINTS for m in group.members
            )
        if part and member.did != action.buyer:
            tokens.pay(ctx.state, action.denom, action.buyer, member.did, part, ctx.emit)
    _close(ctx, group, GroupStatus.SOLD)
    vehicles.transfer_ownership(ctx, group.vin, action.buyer, recorded_by=lien_reference(group.id))
