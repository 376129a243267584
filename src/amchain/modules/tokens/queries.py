"""Reads of the ``tokens`` module: for other modules (``balance_of``, ``supply_of``) and the
queries of ``SPEC`` (denominations, balances with proofs, accounts, allowances, pools,
release proposals)."""

from __future__ import annotations

from amchain.ledger import StateReader
from amchain.modules.base import NoParams, QueryContext
from amchain.modules.tokens import keeper
from amchain.modules.tokens.keys import balance_state_key
from amchain.modules.tokens.types import (
    AccountBalance,
    AccountParams,
    AccountView,
    AllowanceParams,
    AllowanceView,
    BalanceParams,
    BalanceView,
    Denomination,
    DenominationList,
    DenomParams,
    Holder,
    HoldersParams,
    HoldersView,
    Pool,
    PoolRule,
    PoolsView,
    PoolView,
    ProposalParams,
    ReleaseProposal,
)

__all__ = [
    "balance_of",
    "pool_view",
    "query_account",
    "query_allowance",
    "query_balance",
    "query_denomination",
    "query_denominations",
    "query_pools",
    "query_proposal",
    "supply_of",
]


def balance_of(state: StateReader, denom: str, account: str) -> int:
    """Return ``account``'s balance of ``denom`` in minor units (0 if none)."""
    return keeper.read_balance(state, denom, account)


def supply_of(state: StateReader, denom: str) -> int | None:
    """Return the circulating supply of ``denom`` (None: no such denomination)."""
    found = keeper.read_denomination(state, denom)
    return None if found is None else found.supply_minor


def pool_view(pool: Pool) -> PoolView:
    """A pool with what is locked and what comes next."""
    remaining = pool.total_minor - pool.released_minor
    next_release = 0
    if pool.rule == PoolRule.SCHEDULE and pool.next_release_at_ms is not None:
        next_release = min(pool.per_period_minor, remaining)
    return PoolView(
        name=pool.name,
        rule=pool.rule,
        total_minor=pool.total_minor,
        released_minor=pool.released_minor,
        locked_minor=remaining,
        beneficiary=pool.beneficiary,
        unlock_at_ms=pool.unlock_at_ms,
        next_release_at_ms=pool.next_release_at_ms,
        next_release_minor=next_release,
    )


# --- queries served by the API (see SPEC.queries) ------------------------------------------------


def query_denominations(ctx: QueryContext, _params: NoParams) -> DenominationList:
    """Every denomination with its issuer and supply."""
    return DenominationList(denominations=keeper.read_denominations(ctx.latest))


def query_denomination(ctx: QueryContext, params: DenomParams) -> Denomination | None:
    """One denomination (None: no such denomination)."""
    return keeper.read_denomination(ctx.state, params.denom)


def query_holders(ctx: QueryContext, params: HoldersParams) -> HoldersView | None:
    """A page of the denomination's holders in account order (None: no such denomination).
    Reads the balances from the page's start, ``limit`` + 1 entries past it at most."""
    denomination = keeper.read_denomination(ctx.latest, params.denom)
    if denomination is None:
        return None
    holders: list[Holder] = []
    next_after = None
    for account, amount in keeper.iter_balances(ctx.latest, params.denom, after=params.after):
        if len(holders) == params.limit:
            next_after = holders[-1].account
            break
        holders.append(Holder(account, amount))
    return HoldersView(
        denom=params.denom,
        decimals=denomination.decimals,
        holders=holders,
        next_after=next_after,
    )


def query_balance(ctx: QueryContext, params: BalanceParams) -> BalanceView | None:
    """An account's balance (None: no such denomination); with a proof, a ``state`` bundle
    of the balance's key (absent: a proven zero)."""
    denomination = keeper.read_denomination(ctx.state, params.denom)
    if denomination is None:
        return None
    proof = None
    if ctx.prove:
        proof = ctx.chain.bundle(
            "state", entry=ctx.chain.prove(balance_state_key(params.denom, params.account))
        )
    return BalanceView(
        denom=params.denom,
        account=params.account,
        amount_minor=keeper.read_balance(ctx.state, params.denom, params.account),
        decimals=denomination.decimals,
        proof=proof,
    )


def query_account(ctx: QueryContext, params: AccountParams) -> AccountView:
    """An account's non-zero balances in every denomination."""
    balances = []
    for denomination in keeper.read_denominations(ctx.latest):
        amount = keeper.read_balance(ctx.latest, denomination.denom, params.account)
        if amount:
            balances.append(AccountBalance(denomination.denom, amount, denomination.decimals))
    return AccountView(account=params.account, balances=balances)


def query_allowance(ctx: QueryContext, params: AllowanceParams) -> AllowanceView:
    """What a spender may still move from an owner's account."""
    return AllowanceView(
        denom=params.denom,
        owner=params.owner,
        spender=params.spender,
        amount_minor=keeper.read_allowance(ctx.state, params.denom, params.owner, params.spender),
    )


def query_pools(ctx: QueryContext, _params: NoParams) -> PoolsView | None:
    """AMCT's pools: released, locked, next release (None: no AMCT on this chain)."""
    pools = keeper.read_pools(ctx.latest)
    if not pools:
        return None
    denomination = keeper.read_denomination(ctx.latest, pools[0].denom)
    council = keeper.read_council(ctx.latest)
    if denomination is None or council is None:
        return None
    held = sum(pool.total_minor - pool.released_minor for pool in pools)
    return PoolsView(
        denom=denomination.denom,
        decimals=denomination.decimals,
        total_supply_minor=denomination.total_supply_minor or 0,
        circulating_minor=denomination.supply_minor,
        held_by_pools_minor=held,
        pools=[pool_view(pool) for pool in pools],
        foundation_signers=list(council.signers),
        approvals_needed=council.approvals_needed,
    )


def query_proposal(ctx: QueryContext, params: ProposalParams) -> ReleaseProposal | None:
    """A release proposal with its approvals (None: no such proposal)."""
    return keeper.read_proposal(ctx.state, params.proposal_id)
