"""A co-owning group: created by the vehicle's owner with every member's signature (a lien
on the vehicle then needs k of the n members for any change of owner); usage sessions;
bills from authorised payees split by the group's policy and paid by the members at once.

How a bill is split: ``share_weight_bp`` of it by the members' shares, the rest by the
kilometres each drove since the last bill (by share alone when nobody drove). Each part is
rounded down; what rounding leaves goes to the member with the largest share (the first of
them). The usage counters restart after each bill.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import msgspec

from amchain.modules import identity, tokens, vehicles
from amchain.modules.base import TxContext
from amchain.modules.sharing import keeper
from amchain.modules.sharing.errors import SharingCode, SharingError
from amchain.modules.sharing.types import (
    Bill,
    BillArgs,
    BillPart,
    CreateGroupArgs,
    EndSessionArgs,
    Group,
    GroupBilled,
    GroupCreated,
    GroupStatus,
    Member,
    MemberShare,
    Session,
    SessionEnded,
    SessionStarted,
    StartSessionArgs,
)

__all__ = [
    "BASIS_POINTS",
    "bill",
    "check_bill",
    "check_create_group",
    "check_id",
    "check_shares",
    "create_group",
    "end_session",
    "lien_reference",
    "member_of",
    "place_group_lien",
    "require_active_group",
    "signed_by",
    "split_bill",
    "start_session",
]

BASIS_POINTS = 10_000
MAX_MEMBERS = 20
MAX_SESSION_KM = 5_000
MAX_AMOUNT_MINOR = 2**53 - 1
ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")


def check_id(value: str, field: str) -> None:
    """Raises: SharingError: INVALID_ID."""
    if ID_PATTERN.fullmatch(value) is None:
        raise SharingError(
            SharingCode.INVALID_ID,
            f"{field} must be 1 to 64 characters of A-Z a-z 0-9 . _ -",
            details={"field": field},
        )


def check_shares(shares: Sequence[MemberShare]) -> None:
    """Raises: SharingError: INVALID_SHARES (not 1–20 distinct members with shares of
    1 bp or more adding up to 10,000 bp)."""
    dids = [share.did for share in shares]
    if (
        not 1 <= len(shares) <= MAX_MEMBERS
        or len(set(dids)) != len(dids)
        or any(share.share_bp < 1 for share in shares)
        or sum(share.share_bp for share in shares) != BASIS_POINTS
    ):
        raise SharingError(
            SharingCode.INVALID_SHARES,
            f"1 to {MAX_MEMBERS} distinct members, each with at least 1 bp, adding up to "
            f"{BASIS_POINTS} bp",
            details={"shares_bp": sum(share.share_bp for share in shares)},
        )


def signed_by(ctx: TxContext, did: str) -> bool:
    """Whether a signer of the transaction may act for ``did``."""
    return any(identity.is_controlled_by(ctx.state, did, key) for key in ctx.signers)


def lien_reference(group_id: str) -> str:
    """What the vehicle's lien names: ``sharing/group/<id>``."""
    return f"sharing/group/{group_id}"


def require_active_group(ctx: TxContext, group_id: str) -> Group:
    """Raises: SharingError: INVALID_ID, UNKNOWN_GROUP, GROUP_CLOSED."""
    check_id(group_id, "group_id")
    group = keeper.read_group(ctx.state, group_id)
    if group is None:
        raise SharingError(
            SharingCode.UNKNOWN_GROUP,
            f"there is no group {group_id!r}",
            details={"group_id": group_id},
        )
    if group.status != GroupStatus.ACTIVE:
        raise SharingError(
            SharingCode.GROUP_CLOSED,
            f"group {group_id!r} is {group.status}",
            details={"group_id": group_id, "status": group.status},
        )
    return group


def member_of(ctx: TxContext, group: Group) -> str:
    """The first member some signer may act for.

    Raises:
        SharingError: NOT_MEMBER.
    """
    for member in group.members:
        if signed_by(ctx, member.did):
            return member.did
    raise SharingError(
        SharingCode.NOT_MEMBER,
        f"no signer is a member of group {group.id!r}",
        details={"group_id": group.id},
    )


def place_group_lien(ctx: TxContext, group: Group) -> None:
    """The group's claim on the vehicle: a change of owner needs k of its n members."""
    record = vehicles.get_vehicle(ctx.state, group.vin)
    vehicles.place_lien(
        ctx.state,
        group.vin,
        holder=record.owner if record is not None else group.members[0].did,
        reference=lien_reference(group.id),
        height=ctx.height,
        time_ms=ctx.time_ms,
        tx_hash=ctx.tx_hash,
        cosigners=[member.did for member in group.members],
        needed=group.threshold,
    )


# --- create_group --------------------------------------------------------------------------------


def check_create_group(args: CreateGroupArgs) -> None:
    """Raises: SharingError: INVALID_ID, INVALID_SHARES, INVALID_THRESHOLD."""
    check_id(args.group_id, "group_id")
    check_shares(args.members)
    if not 1 <= args.threshold <= len(args.members):
        raise SharingError(
            SharingCode.INVALID_THRESHOLD,
            f"threshold must be 1 to {len(args.members)} (the members)",
            details={"threshold": args.threshold},
        )
    if not 0 <= args.share_weight_bp <= BASIS_POINTS:
        raise SharingError(SharingCode.INVALID_SHARES, "share_weight_bp must be 0 to 10000")


def create_group(ctx: TxContext, args: CreateGroupArgs) -> None:
    """The vehicle's owner makes a co-owning group of it; every member signs to accept.

    Raises:
        SharingError: INVALID_ID, INVALID_SHARES, INVALID_THRESHOLD, GROUP_EXISTS,
            VEHICLE_SHARED, UNKNOWN_ACCOUNT, NOT_OWNER (also: no such vehicle),
            MEMBER_SIGNATURE_MISSING.
        VehiclesError: VEHICLE_SCRAPPED.
    """
    # validate
    check_create_group(args)
    vin = args.vin.upper()
    if keeper.read_group(ctx.state, args.group_id) is not None:
        raise SharingError(
            SharingCode.GROUP_EXISTS,
            f"group {args.group_id!r} exists already; choose another id",
            details={"group_id": args.group_id},
        )
    if keeper.read_vehicle_group(ctx.state, vin) is not None:
        raise SharingError(
            SharingCode.VEHICLE_SHARED,
            f"vehicle {vin} belongs to a group already",
            details={"vin": vin},
        )
    for share in args.members:
        if not identity.did_exists(ctx.state, share.did):
            raise SharingError(
                SharingCode.UNKNOWN_ACCOUNT,
                f"member {share.did[:80]} is not a DID on this chain",
                details={"member": share.did[:80]},
            )
    record = vehicles.get_vehicle(ctx.state, vin)
    if record is None:
        raise SharingError(SharingCode.NOT_OWNER, f"no vehicle with VIN {vin}")

    # authorise: the owner brings the car, each member accepts its share
    if record.owner not in [share.did for share in args.members] or not signed_by(
        ctx, record.owner
    ):
        raise SharingError(
            SharingCode.NOT_OWNER,
            f"the owner {record.owner} signs and is one of the members",
            details={"owner": record.owner},
        )
    unsigned = [share.did for share in args.members if not signed_by(ctx, share.did)]
    if unsigned:
        raise SharingError(
            SharingCode.MEMBER_SIGNATURE_MISSING,
            f"every member signs to accept its share; missing: {', '.join(unsigned)}",
            details={"missing": unsigned},
        )

    # change state
    group = Group(
        id=args.group_id,
        vin=vin,
        members=[
            Member(did=share.did, share_bp=share.share_bp, usage_km=0, total_km=0, total_ms=0)
            for share in args.members
        ],
        threshold=args.threshold,
        share_weight_bp=args.share_weight_bp,
        payees=[],
        active_session=None,
        status=GroupStatus.ACTIVE.value,
        created_height=ctx.height,
    )
    keeper.write_group(ctx.state, group)
    keeper.write_vehicle_group(ctx.state, vin, group.id)
    place_group_lien(ctx, group)

    # emit events
    ctx.emit(
        GroupCreated(
            group_id=group.id,
            vin=vin,
            members=[member.did for member in group.members],
            threshold=group.threshold,
        )
    )


# --- sessions ------------------------------------------------------------------------------------


def start_session(ctx: TxContext, args: StartSessionArgs) -> None:
    """A member takes the car.

    Raises:
        SharingError: INVALID_ID, UNKNOWN_GROUP, GROUP_CLOSED, NOT_MEMBER, CAR_IN_USE.
    """
    # validate
    group = require_active_group(ctx, args.group_id)
    check_id(args.session_id, "session_id")
    if group.active_session is not None:
        raise SharingError(
            SharingCode.CAR_IN_USE,
            f"the car is in use (session {group.active_session!r})",
            details={"session_id": group.active_session},
        )
    if keeper.read_session(ctx.state, group.id, args.session_id) is not None:
        raise SharingError(SharingCode.INVALID_ID, f"session {args.session_id!r} exists")

    # authorise
    member = member_of(ctx, group)

    # change state
    keeper.write_session(
        ctx.state, group.id, Session(id=args.session_id, member=member, started_ms=ctx.time_ms)
    )
    keeper.write_group(ctx.state, msgspec.structs.replace(group, active_session=args.session_id))

    # emit events
    ctx.emit(SessionStarted(group_id=group.id, session_id=args.session_id, member=member))


def end_session(ctx: TxContext, args: EndSessionArgs) -> None:
    """The member who took the car brings it back with the distance driven.

    Raises:
        SharingError: INVALID_ID, UNKNOWN_GROUP, GROUP_CLOSED, UNKNOWN_SESSION, NOT_MEMBER,
            INVALID_DISTANCE.
    """
    # validate
    group = require_active_group(ctx, args.group_id)
    session = keeper.read_session(ctx.state, group.id, args.session_id)
    if session is None or group.active_session != args.session_id:
        raise SharingError(
            SharingCode.UNKNOWN_SESSION,
            f"session {args.session_id!r} is not the group's open session",
            details={"session_id": args.session_id},
        )
    if not 0 <= args.distance_km <= MAX_SESSION_KM:
        raise SharingError(
            SharingCode.INVALID_DISTANCE, f"distance_km must be 0 to {MAX_SESSION_KM}"
        )

    # authorise: whoever took it
    if not signed_by(ctx, session.member):
        raise SharingError(
            SharingCode.NOT_MEMBER,
            f"session {session.id!r} is {session.member}'s to end",
            details={"member": session.member},
        )

    # change state
    duration = ctx.time_ms - session.started_ms
    keeper.write_session(
        ctx.state,
        group.id,
        msgspec.structs.replace(session, ended_ms=ctx.time_ms, distance_km=args.distance_km),
    )
    members = [
        msgspec.structs.replace(
            member,
            usage_km=member.usage_km + args.distance_km,
            total_km=member.total_km + args.distance_km,
            total_ms=member.total_ms + duration,
        )
        if member.did == session.member
        else member
        for member in group.members
    ]
    keeper.write_group(
        ctx.state, msgspec.structs.replace(group, members=members, active_session=None)
    )

    # emit events
    ctx.emit(
        SessionEnded(
            group_id=group.id,
            session_id=session.id,
            member=session.member,
            distance_km=args.distance_km,
            duration_ms=duration,
        )
    )


# --- bills ---------------------------------------------------------------------------------------


def split_bill(group: Group, amount_minor: int) -> list[BillPart]:
    """Each member's part of ``amount_minor`` under the group's policy (module docstring)."""
    usage_total = sum(member.usage_km for member in group.members)
    share_weight = group.share_weight_bp if usage_total else BASIS_POINTS
    usage_weight = BASIS_POINTS - share_weight
    parts = []
    for member in group.members:
        by_share = amount_minor * share_weight * member.share_bp // (BASIS_POINTS * BASIS_POINTS)
        by_usage = (
            amount_minor * usage_weight * member.usage_km // (BASIS_POINTS * usage_total)
            if usage_total
            else 0
        )
        parts.append(BillPart(member.did, by_share + by_usage))
    largest = max(range(len(group.members)), key=lambda i: (group.members[i].share_bp, -i))
    left = amount_minor - sum(part.amount_minor for part in parts)
    parts[largest] = BillPart(parts[largest].member, parts[largest].amount_minor + left)
    return parts


def check_bill(args: BillArgs) -> None:
    """Raises: SharingError: INVALID_ID, INVALID_AMOUNT."""
    check_id(args.group_id, "group_id")
    check_id(args.bill_id, "bill_id")
    if not 1 <= args.amount_minor <= MAX_AMOUNT_MINOR:
        raise SharingError(
            SharingCode.INVALID_AMOUNT, f"amount_minor must be 1 to {MAX_AMOUNT_MINOR}"
        )
    if not args.kind.strip() or len(args.kind) > 40:
        raise SharingError(SharingCode.INVALID_ID, "kind must be 1 to 40 characters")


def bill(ctx: TxContext, args: BillArgs) -> None:
    """An authorised payee bills the group: every member pays its part now.

    Raises:
        SharingError: INVALID_ID, INVALID_AMOUNT, UNKNOWN_GROUP, GROUP_CLOSED, NOT_PAYEE,
            BILL_EXISTS, UNKNOWN_DENOM.
        TokensError: INSUFFICIENT_BALANCE (a member cannot pay: nothing is paid).
    """
    # validate
    check_bill(args)
    group = require_active_group(ctx, args.group_id)
    if keeper.read_bill(ctx.state, group.id, args.bill_id) is not None:
        raise SharingError(
            SharingCode.BILL_EXISTS,
            f"bill {args.bill_id!r} was settled already",
            details={"bill_id": args.bill_id},
        )
    if tokens.supply_of(ctx.state, args.denom) is None:
        raise SharingError(SharingCode.UNKNOWN_DENOM, f"there is no denomination {args.denom!r}")

    # authorise: a payee the group approved
    payee = next((p for p in group.payees if signed_by(ctx, p)), None)
    if payee is None:
        raise SharingError(
            SharingCode.NOT_PAYEE,
            f"group {group.id!r} has not authorised the signer to bill it "
            "(an authorise_payee decision)",
            details={"payees": list(group.payees)},
        )

    # change state: the members pay their parts
    parts = split_bill(group, args.amount_minor)
    for part in parts:
        if part.amount_minor:
            tokens.pay(ctx.state, args.denom, part.member, payee, part.amount_minor, ctx.emit)
    keeper.write_bill(
        ctx.state,
        group.id,
        Bill(
            id=args.bill_id,
            payee=payee,
            denom=args.denom,
            amount_minor=args.amount_minor,
            kind=args.kind,
            parts=parts,
            height=ctx.height,
        ),
    )
    reset = [msgspec.structs.replace(member, usage_km=0) for member in group.members]
    keeper.write_group(ctx.state, msgspec.structs.replace(group, members=reset))

    # emit events
    ctx.emit(
        GroupBilled(
            group_id=group.id,
            bill_id=args.bill_id,
            payee=payee,
            kind=args.kind,
            amount_minor=args.amount_minor,
            parts=parts,
        )
    )
