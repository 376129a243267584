"""AMCT's pools: scheduled releases (the block hook and ``release_pool``), releases that k
of n foundation signers approve (``propose_release``, ``approve_release``,
``execute_release``), and the refusals of everything else (the mining pool is released only
by reward rules, never by hand).

A release moves AMCT from a pool into an account: the denomination's circulating supply
grows by what the pool's remainder shrinks, so circulating + held by pools stays the total.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from amchain.ledger import StateReader, StateWriter
from amchain.modules import identity
from amchain.modules.base import BlockContext, EventAttributes, TxContext
from amchain.modules.tokens import keeper
from amchain.modules.tokens.errors import TokensCode, TokensError
from amchain.modules.tokens.handlers.checks import (
    check_account_name,
    check_amount,
    check_proposal_id,
    check_text,
    require_account,
    require_denomination,
)
from amchain.modules.tokens.types import (
    ApproveReleaseArgs,
    Council,
    ExecuteReleaseArgs,
    Pool,
    PoolReleased,
    PoolRule,
    ProposalStatus,
    ProposeReleaseArgs,
    ReleaseApproved,
    ReleasePoolArgs,
    ReleaseProposal,
    ReleaseProposed,
    Schedule,
    TokensTransfer,
)
from amchain.vc import format_datetime

__all__ = [
    "approve_release",
    "check_approve_release",
    "check_execute_release",
    "check_propose_release",
    "check_release_pool",
    "end_block",
    "execute_release",
    "pay_reward",
    "propose_release",
    "release_due",
    "release_from_pool",
    "release_pool",
]

MAX_PURPOSE_CHARS = 200
Emit = Callable[[EventAttributes], None]


def require_pool(state: StateReader, name: str) -> Pool:
    """Return the pool ``name``.

    Raises:
        TokensError: UNKNOWN_POOL.
    """
    pool = keeper.read_pool(state, name)
    if pool is None:
        raise TokensError(
            TokensCode.UNKNOWN_POOL,
            f"there is no pool {name[:40]!r} (GET /v1/tokens/pools lists them)",
            details={"pool": name[:40]},
        )
    return pool


def release_from_pool(
    state: StateWriter,
    pool: Pool,
    to: str,
    amount_minor: int,
    emit: Emit,
    *,
    purpose: str = "",
    proposal_id: str | None = None,
) -> Pool:
    """Move ``amount_minor`` from ``pool`` to account ``to``; return the pool as stored.

    Raises:
        TokensError: POOL_EXHAUSTED (more than the pool still holds), UNKNOWN_DENOM.
    """
    remaining = pool.total_minor - pool.released_minor
    if amount_minor > remaining:
        raise TokensError(
            TokensCode.POOL_EXHAUSTED,
            f"the {pool.name} pool holds {remaining} minor units, less than the "
            f"{amount_minor} to release",
            details={"pool": pool.name, "remaining_minor": remaining},
        )
    denomination = require_denomination(state, pool.denom)
    keeper.write_balance(
        state, pool.denom, to, keeper.read_balance(state, pool.denom, to) + amount_minor
    )
    keeper.write_denomination(
        state,
        msgspec.structs.replace(
            denomination, supply_minor=denomination.supply_minor + amount_minor
        ),
    )
    released = msgspec.structs.replace(pool, released_minor=pool.released_minor + amount_minor)
    keeper.write_pool(state, released)
    emit(
        PoolReleased(
            pool=pool.name,
            to_account=to,
            amount_minor=amount_minor,
            released_minor=released.released_minor,
            purpose=purpose,
            proposal_id=proposal_id,
        )
    )
    emit(
        TokensTransfer(
            denom=pool.denom, from_account=None, to_account=to, amount_minor=amount_minor
        )
    )
    return released


def pay_reward(
    state: StateWriter, pool_name: str, to: str, amount_minor: int, emit: Emit, *, purpose: str
) -> Pool:
    """Pay a reward out of a rewards pool (``mining``): what the reward rules of other
    modules (eco-driving, data mining) call; nothing else releases such a pool.

    Raises:
        TokensError: UNKNOWN_POOL, RELEASED_BY_RULES_ONLY (not a rewards pool),
            INVALID_AMOUNT, POOL_EXHAUSTED.
    """
    pool = require_pool(state, pool_name)
    if pool.rule != PoolRule.REWARDS:
        raise TokensError(
            TokensCode.RELEASED_BY_RULES_ONLY,
            f"the {pool.name} pool is not a rewards pool (its rule: {pool.rule})",
            details={"pool": pool.name, "rule": pool.rule},
        )
    check_amount(amount_minor)
    return release_from_pool(state, pool, to, amount_minor, emit, purpose=purpose)


def _release_due_of(state: StateWriter, pool: Pool, time_ms: int, emit: Emit) -> Pool:
    """Every release of a scheduled pool due by ``time_ms`` (several if time jumped)."""
    while (
        pool.next_release_at_ms is not None
        and pool.next_release_at_ms <= time_ms
        and pool.beneficiary is not None
    ):
        due_at_ms = pool.next_release_at_ms
        remaining = pool.total_minor - pool.released_minor
        amount = min(pool.per_period_minor, remaining)
        pool = release_from_pool(
            state, pool, pool.beneficiary, amount, emit, purpose=f"{pool.name} schedule"
        )
        left = pool.total_minor - pool.released_minor
        following = None if left == 0 else due_at_ms + pool.period_ms
        pool = msgspec.structs.replace(pool, next_release_at_ms=following)
        keeper.write_pool(state, pool)
    return pool


def release_due(state: StateWriter, time_ms: int, emit: Emit) -> int:
    """Release what every scheduled pool has due by ``time_ms``; return how many pools
    released something. Reads one key when nothing is due.

    Raises:
        TokensError: UNKNOWN_POOL (a schedule naming a pool that is gone: a broken genesis).
    """
    schedule = keeper.read_schedule(state)
    if schedule is None or schedule.next_release_at_ms is None:
        return 0
    if time_ms < schedule.next_release_at_ms:
        return 0
    releases = 0
    earliest: int | None = None
    for name in schedule.pools:
        pool = require_pool(state, name)
        before = pool.released_minor
        pool = _release_due_of(state, pool, time_ms, emit)
        releases += int(pool.released_minor != before)
        if pool.next_release_at_ms is not None:
            due = pool.next_release_at_ms
            earliest = due if earliest is None else min(earliest, due)
    keeper.write_schedule(state, Schedule(pools=schedule.pools, next_release_at_ms=earliest))
    return releases


def end_block(ctx: BlockContext) -> None:
    """The block hook: scheduled pool releases that fell due by the block's time.

    Raises:
        TokensError: UNKNOWN_POOL (a broken genesis).
    """
    release_due(ctx.state, ctx.time_ms, ctx.emit)


# --- release_pool ------------------------------------------------------------------------------


def check_release_pool(args: ReleasePoolArgs) -> None:
    """Raises: TokensError: INVALID_TEXT."""
    check_text(args.pool, field="pool", max_chars=40)


def release_pool(ctx: TxContext, args: ReleasePoolArgs) -> None:
    """Release what a scheduled pool has due now; refuse any other release by hand.

    Raises:
        TokensError: INVALID_TEXT, UNKNOWN_POOL, RELEASED_BY_RULES_ONLY,
            RELEASE_NEEDS_APPROVALS, POOL_EMPTY, RELEASE_NOT_DUE.
    """
    # validate
    check_release_pool(args)
    pool = require_pool(ctx.state, args.pool)
    remaining = pool.total_minor - pool.released_minor

    # authorise: the pool's rule decides
    if pool.rule == PoolRule.REWARDS:
        raise TokensError(
            TokensCode.RELEASED_BY_RULES_ONLY,
            f"the {pool.name} pool is released only by the reward rules, never by hand",
            details={"pool": pool.name},
        )
    if pool.rule == PoolRule.APPROVALS:
        raise TokensError(
            TokensCode.RELEASE_NEEDS_APPROVALS,
            f"the {pool.name} pool releases only what foundation signers approve: "
            "propose_release, approve_release, execute_release",
            details={"pool": pool.name},
        )
    if remaining == 0 or pool.next_release_at_ms is None:
        raise TokensError(
            TokensCode.POOL_EMPTY,
            f"the {pool.name} pool has nothing left to release",
            details={"pool": pool.name},
        )
    if ctx.time_ms < pool.next_release_at_ms:
        locked = pool.released_minor == 0
        raise TokensError(
            TokensCode.RELEASE_NOT_DUE,
            f"the {pool.name} pool's next release falls due at "
            f"{format_datetime(pool.next_release_at_ms)} (block time now "
            f"{format_datetime(ctx.time_ms)})" + ("; it is still locked" if locked else ""),
            details={
                "pool": pool.name,
                "next_release_at_ms": pool.next_release_at_ms,
                "unlock_at_ms": pool.unlock_at_ms,
                "time_ms": ctx.time_ms,
            },
        )

    # change state, emit events
    release_due(ctx.state, ctx.time_ms, ctx.emit)


# --- releases approved by foundation signers ---------------------------------------------------


def _require_council(state: StateReader) -> Council:
    council = keeper.read_council(state)
    if council is None:
        raise TokensError(
            TokensCode.NOT_FOUNDATION_SIGNER,
            "this chain has no foundation council (no AMCT in its genesis)",
        )
    return council


def _foundation_signers(ctx: TxContext, council: Council) -> list[str]:
    """The council DIDs some signer of the transaction may act for, in council order.

    Raises:
        TokensError: NOT_FOUNDATION_SIGNER (none).
    """
    found = [
        did
        for did in council.signers
        if any(identity.is_controlled_by(ctx.state, did, key) for key in ctx.signers)
    ]
    if not found:
        raise TokensError(
            TokensCode.NOT_FOUNDATION_SIGNER,
            f"no signer of this transaction is a foundation signer ({', '.join(council.signers)})",
            details={"foundation_signers": list(council.signers)},
        )
    return found


def _require_open_proposal(state: StateReader, proposal_id: str) -> ReleaseProposal:
    proposal = keeper.read_proposal(state, proposal_id)
    if proposal is None:
        raise TokensError(
            TokensCode.UNKNOWN_PROPOSAL,
            f"there is no release proposal {proposal_id!r}",
            details={"proposal_id": proposal_id},
        )
    if proposal.status != ProposalStatus.OPEN:
        raise TokensError(
            TokensCode.PROPOSAL_CLOSED,
            f"release proposal {proposal_id!r} was executed at height {proposal.executed_height}",
            details={"proposal_id": proposal_id, "executed_height": proposal.executed_height},
        )
    return proposal


def check_propose_release(args: ProposeReleaseArgs) -> None:
    """Raises: TokensError: INVALID_ID, INVALID_TEXT, INVALID_AMOUNT, UNKNOWN_ACCOUNT."""
    check_proposal_id(args.proposal_id)
    check_text(args.pool, field="pool", max_chars=40)
    check_text(args.purpose, field="purpose", max_chars=MAX_PURPOSE_CHARS)
    check_amount(args.amount_minor)
    check_account_name(args.to, field="to")


def propose_release(ctx: TxContext, args: ProposeReleaseArgs) -> None:
    """A foundation signer proposes a release from an approval-gated pool; its own approval
    counts.

    Raises:
        TokensError: INVALID_ID, INVALID_TEXT, INVALID_AMOUNT, UNKNOWN_ACCOUNT, UNKNOWN_POOL,
            RELEASED_BY_RULES_ONLY (not an approval-gated pool), POOL_EXHAUSTED,
            PROPOSAL_EXISTS, NOT_FOUNDATION_SIGNER.
    """
    # validate
    check_propose_release(args)
    pool = require_pool(ctx.state, args.pool)
    if pool.rule != PoolRule.APPROVALS:
        raise TokensError(
            TokensCode.RELEASED_BY_RULES_ONLY,
            f"the {pool.name} pool is released by its {pool.rule} rule, not by proposals",
            details={"pool": pool.name, "rule": pool.rule},
        )
    remaining = pool.total_minor - pool.released_minor
    if args.amount_minor > remaining:
        raise TokensError(
            TokensCode.POOL_EXHAUSTED,
            f"the {pool.name} pool holds {remaining} minor units, less than the "
            f"{args.amount_minor} proposed",
            details={"pool": pool.name, "remaining_minor": remaining},
        )
    require_account(ctx.state, args.to, field="to")
    if keeper.read_proposal(ctx.state, args.proposal_id) is not None:
        raise TokensError(
            TokensCode.PROPOSAL_EXISTS,
            f"release proposal {args.proposal_id!r} already exists; choose another id",
            details={"proposal_id": args.proposal_id},
        )

    # authorise
    council = _require_council(ctx.state)
    approvers = _foundation_signers(ctx, council)

    # change state
    keeper.write_proposal(
        ctx.state,
        ReleaseProposal(
            id=args.proposal_id,
            pool=pool.name,
            to=args.to,
            amount_minor=args.amount_minor,
            purpose=args.purpose,
            proposer=approvers[0],
            approvals=approvers,
            status=ProposalStatus.OPEN.value,
            proposed_height=ctx.height,
        ),
    )

    # emit events
    ctx.emit(
        ReleaseProposed(
            proposal_id=args.proposal_id,
            pool=pool.name,
            to_account=args.to,
            amount_minor=args.amount_minor,
            purpose=args.purpose,
            proposer=approvers[0],
        )
    )
    for approver in approvers:
        ctx.emit(
            ReleaseApproved(
                proposal_id=args.proposal_id,
                approver=approver,
                approvals=approvers.index(approver) + 1,
                approvals_needed=council.approvals_needed,
            )
        )


def check_approve_release(args: ApproveReleaseArgs) -> None:
    """Raises: TokensError: INVALID_ID."""
    check_proposal_id(args.proposal_id)


def approve_release(ctx: TxContext, args: ApproveReleaseArgs) -> None:
    """Foundation signers approve an open proposal (each counts once).

    Raises:
        TokensError: INVALID_ID, UNKNOWN_PROPOSAL, PROPOSAL_CLOSED, NOT_FOUNDATION_SIGNER,
            DUPLICATE_APPROVAL.
    """
    # validate
    check_approve_release(args)
    proposal = _require_open_proposal(ctx.state, args.proposal_id)

    # authorise
    council = _require_council(ctx.state)
    signers = _foundation_signers(ctx, council)
    new = [did for did in signers if did not in proposal.approvals]
    if not new:
        raise TokensError(
            TokensCode.DUPLICATE_APPROVAL,
            f"{', '.join(signers)} already approved release proposal {args.proposal_id!r}",
            details={"proposal_id": args.proposal_id, "approvals": list(proposal.approvals)},
        )

    # change state
    approvals = [*proposal.approvals, *new]
    keeper.write_proposal(ctx.state, msgspec.structs.replace(proposal, approvals=approvals))

    # emit events
    for approver in new:
        ctx.emit(
            ReleaseApproved(
                proposal_id=args.proposal_id,
                approver=approver,
                approvals=approvals.index(approver) + 1,
                approvals_needed=council.approvals_needed,
            )
        )


def check_execute_release(args: ExecuteReleaseArgs) -> None:
    """Raises: TokensError: INVALID_ID."""
    check_proposal_id(args.proposal_id)


def execute_release(ctx: TxContext, args: ExecuteReleaseArgs) -> None:
    """Release an open proposal that has the approvals it needs (a foundation signer
    signs); the release event carries its purpose.

    Raises:
        TokensError: INVALID_ID, UNKNOWN_PROPOSAL, PROPOSAL_CLOSED, NOT_FOUNDATION_SIGNER,
            NOT_ENOUGH_APPROVALS, UNKNOWN_POOL, POOL_EXHAUSTED.
    """
    # validate
    check_execute_release(args)
    proposal = _require_open_proposal(ctx.state, args.proposal_id)
    pool = require_pool(ctx.state, proposal.pool)

    # authorise
    council = _require_council(ctx.state)
    _foundation_signers(ctx, council)
    if len(proposal.approvals) < council.approvals_needed:
        raise TokensError(
            TokensCode.NOT_ENOUGH_APPROVALS,
            f"release proposal {args.proposal_id!r} has {len(proposal.approvals)} of the "
            f"{council.approvals_needed} approvals it needs",
            details={
                "proposal_id": args.proposal_id,
                "approvals": len(proposal.approvals),
                "approvals_needed": council.approvals_needed,
            },
        )

    # change state, emit events
    release_from_pool(
        ctx.state,
        pool,
        proposal.to,
        proposal.amount_minor,
        ctx.emit,
        purpose=proposal.purpose,
        proposal_id=proposal.id,
    )
    keeper.write_proposal(
        ctx.state,
        msgspec.structs.replace(
            proposal, status=ProposalStatus.EXECUTED.value, executed_height=ctx.height
        ),
    )
