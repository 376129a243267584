"""The ``tokens`` genesis: AMCT's 300,000,000 in pools as the white paper allocates them,
and the settlement tokens a chain starts with.

How the schedule reads "2 % a year" and "1 % a quarter": of the **total** supply (not of the
pool), one release at the end of the lock and one each period after it, the last one what
is left. Technology: 12.5 % locked 3 years, then 6,000,000 AMCT a year: six releases and a
seventh of 1,500,000. Foundation: 15 % locked 5 years, then 3,000,000 AMCT a quarter:
fifteen releases. A year is 365 days and a quarter a fourth of it (block time has no
calendar).
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from amchain.modules import consortium
from amchain.modules.base import GenesisContext, GenesisMember
from amchain.modules.tokens import keeper
from amchain.modules.tokens.errors import TokensCode, TokensError
from amchain.modules.tokens.handlers.checks import (
    MAX_AMOUNT_MINOR,
    check_denom,
    require_account,
)
from amchain.modules.tokens.handlers.issuance import check_decimals
from amchain.modules.tokens.types import (
    AmctGenesis,
    Council,
    Denomination,
    GenesisDenomination,
    GenesisPool,
    Pool,
    PoolRule,
    Schedule,
    TokensGenesis,
)

__all__ = [
    "AMCT_TOTAL_SUPPLY_MINOR",
    "DAY_MS",
    "QUARTER_MS",
    "YEAR_MS",
    "dev_genesis",
    "init_genesis",
]

DAY_MS = 86_400_000
YEAR_MS = 365 * DAY_MS
QUARTER_MS = YEAR_MS // 4
AMCT_DECIMALS = 6
AMCT_TOTAL_SUPPLY_MINOR = 300_000_000 * 10**AMCT_DECIMALS
BASIS_POINTS = 10_000
POOL_RULES: tuple[str, ...] = tuple(rule.value for rule in PoolRule)


def _member_with(members: Sequence[GenesisMember], role: str) -> str:
    """The DID of the first member holding ``role`` (else of the first member)."""
    chosen = next((m for m in members if role in m.roles), members[0])
    return consortium.org_did(chosen.id)


def dev_genesis(members: Sequence[GenesisMember]) -> TokensGenesis:
    """The section of a new development chain or local consortium: AMCT as allocated, the
    IDO's 20 % with the financier (its distribution account), technology's releases to the
    OEM, the foundation's to the financier; foundation signers oem, financier and regulator,
    2 of 3 needed; CNY-e and EUR-e issued by the financier."""
    if not members:
        return TokensGenesis()
    financier = _member_with(members, "financier")
    signers = list(
        dict.fromkeys(_member_with(members, r) for r in ("oem", "financier", "regulator"))
    )
    return TokensGenesis(
        amct=AmctGenesis(
            total_supply_minor=AMCT_TOTAL_SUPPLY_MINOR,
            pools=[
                GenesisPool(name="mining", share_bp=4300, rule=PoolRule.REWARDS.value),
                GenesisPool(
                    name="ido", share_bp=2000, rule=PoolRule.GENESIS.value, beneficiary=financier
                ),
                GenesisPool(
                    name="technology",
                    share_bp=1250,
                    rule=PoolRule.SCHEDULE.value,
                    beneficiary=_member_with(members, "oem"),
                    lock_ms=3 * YEAR_MS,
                    period_ms=YEAR_MS,
                    per_period_bp=200,
                ),
                GenesisPool(name="operations", share_bp=950, rule=PoolRule.APPROVALS.value),
                GenesisPool(
                    name="foundation",
                    share_bp=1500,
                    rule=PoolRule.SCHEDULE.value,
                    beneficiary=financier,
                    lock_ms=5 * YEAR_MS,
                    period_ms=QUARTER_MS,
                    per_period_bp=100,
                ),
            ],
            foundation_signers=signers,
            approvals_needed=min(2, len(signers)),
        ),
        denominations=[
            GenesisDenomination(
                denom="CNY-e", name="e-CNY settlement token", decimals=2, issuer=financier
            ),
            GenesisDenomination(
                denom="EUR-e", name="e-EUR settlement token", decimals=2, issuer=financier
            ),
        ],
    )


def _invalid(message: str, **details: object) -> TokensError:
    return TokensError(TokensCode.INVALID_GENESIS, f"genesis.tokens: {message}", details=details)


def _share(total_minor: int, basis_points: int, what: str) -> int:
    """``basis_points`` of ``total_minor``, which must divide exactly.

    Raises:
        TokensError: INVALID_GENESIS.
    """
    if basis_points <= 0 or (total_minor * basis_points) % BASIS_POINTS:
        raise _invalid(f"{what}: {basis_points} bp of {total_minor} is not a whole amount")
    return total_minor * basis_points // BASIS_POINTS


def _make_pool(ctx: GenesisContext, amct: AmctGenesis, entry: GenesisPool) -> Pool:
    """The pool ``entry`` describes, checked.

    Raises:
        TokensError: INVALID_GENESIS, UNKNOWN_ACCOUNT.
    """
    if entry.rule not in POOL_RULES:
        raise _invalid(f"pool {entry.name!r}: rule must be one of {', '.join(POOL_RULES)}")
    total = _share(amct.total_supply_minor, entry.share_bp, f"pool {entry.name!r}")
    needs_beneficiary = entry.rule in (PoolRule.GENESIS, PoolRule.SCHEDULE)
    if needs_beneficiary != (entry.beneficiary is not None):
        raise _invalid(
            f"pool {entry.name!r}: a {entry.rule} pool "
            + ("needs" if needs_beneficiary else "takes no")
            + " beneficiary"
        )
    if entry.beneficiary is not None:
        require_account(ctx.state, entry.beneficiary, field=f"pool {entry.name} beneficiary")
    pool = Pool(
        name=entry.name,
        denom=amct.denom,
        rule=entry.rule,
        total_minor=total,
        released_minor=0,
        beneficiary=entry.beneficiary,
    )
    if entry.rule != PoolRule.SCHEDULE:
        if entry.lock_ms or entry.period_ms or entry.per_period_bp:
            raise _invalid(f"pool {entry.name!r}: only a schedule pool has a lock and periods")
        return pool
    if entry.lock_ms < 0 or entry.period_ms <= 0:
        raise _invalid(f"pool {entry.name!r}: lock_ms must be 0 or more and period_ms positive")
    unlock_at_ms = ctx.genesis_time_ms + entry.lock_ms
    per_period = _share(
        amct.total_supply_minor, entry.per_period_bp, f"pool {entry.name!r} per period"
    )
    return msgspec.structs.replace(
        pool,
        unlock_at_ms=unlock_at_ms,
        period_ms=entry.period_ms,
        per_period_minor=per_period,
        next_release_at_ms=unlock_at_ms,
    )


def _init_amct(ctx: GenesisContext, amct: AmctGenesis) -> None:
    """AMCT, its pools, the release schedule and the foundation council.

    Raises:
        TokensError: INVALID_GENESIS, INVALID_DENOM, INVALID_DECIMALS, UNKNOWN_ACCOUNT.
    """
    check_denom(amct.denom)
    check_decimals(amct.decimals)
    if not 0 < amct.total_supply_minor <= MAX_AMOUNT_MINOR:
        raise _invalid(f"total_supply_minor must be 1 to {MAX_AMOUNT_MINOR}")
    shares = sum(entry.share_bp for entry in amct.pools)
    if shares != BASIS_POINTS:
        raise _invalid(f"the pools' shares add up to {shares} bp, not {BASIS_POINTS}")
    names = [entry.name for entry in amct.pools]
    if len(set(names)) != len(names) or any(not 0 < len(n) <= 40 for n in names):
        raise _invalid("pool names must be unique, 1 to 40 characters")
    keeper.write_denomination(
        ctx.state,
        Denomination(
            denom=amct.denom,
            name=amct.name,
            decimals=amct.decimals,
            issuer=None,
            supply_minor=0,
            total_supply_minor=amct.total_supply_minor,
        ),
    )
    scheduled: list[str] = []
    next_due: int | None = None
    for entry in amct.pools:
        pool = _make_pool(ctx, amct, entry)
        keeper.write_pool(ctx.state, pool)
        if pool.rule == PoolRule.GENESIS and pool.beneficiary is not None:
            _release_at_genesis(ctx, pool, pool.beneficiary)
        if pool.next_release_at_ms is not None:
            scheduled.append(pool.name)
            due = pool.next_release_at_ms
            next_due = due if next_due is None else min(next_due, due)
    keeper.write_schedule(ctx.state, Schedule(pools=scheduled, next_release_at_ms=next_due))
    signers = amct.foundation_signers
    if len(set(signers)) != len(signers):
        raise _invalid("foundation_signers lists a DID twice")
    for did in signers:
        require_account(ctx.state, did, field="foundation signer")
    if not 1 <= amct.approvals_needed <= max(len(signers), 1):
        raise _invalid(f"approvals_needed must be 1 to {len(signers)} (the foundation signers)")
    keeper.write_council(
        ctx.state, Council(signers=list(signers), approvals_needed=amct.approvals_needed)
    )


def _release_at_genesis(ctx: GenesisContext, pool: Pool, to: str) -> None:
    """A genesis pool's whole amount to its beneficiary (no events: there is no block)."""
    keeper.write_balance(ctx.state, pool.denom, to, pool.total_minor)
    keeper.write_pool(ctx.state, msgspec.structs.replace(pool, released_minor=pool.total_minor))
    denomination = keeper.read_denomination(ctx.state, pool.denom)
    if denomination is not None:
        keeper.write_denomination(
            ctx.state,
            msgspec.structs.replace(
                denomination, supply_minor=denomination.supply_minor + pool.total_minor
            ),
        )


def _init_denomination(ctx: GenesisContext, entry: GenesisDenomination) -> None:
    """Raises: TokensError: INVALID_DENOM, INVALID_DECIMALS, DENOM_EXISTS, UNKNOWN_ACCOUNT."""
    check_denom(entry.denom)
    check_decimals(entry.decimals)
    if keeper.read_denomination(ctx.state, entry.denom) is not None:
        raise TokensError(
            TokensCode.DENOM_EXISTS,
            f"genesis.tokens: denomination {entry.denom!r} appears twice",
            details={"denom": entry.denom},
        )
    require_account(ctx.state, entry.issuer, field=f"{entry.denom} issuer")
    keeper.write_denomination(
        ctx.state,
        Denomination(
            denom=entry.denom,
            name=entry.name,
            decimals=entry.decimals,
            issuer=entry.issuer,
            supply_minor=0,
        ),
    )


def init_genesis(ctx: GenesisContext, genesis: TokensGenesis) -> None:
    """Write AMCT with its pools (if the section has it) and the settlement tokens.

    Raises:
        TokensError: INVALID_GENESIS, INVALID_DENOM, INVALID_DECIMALS, DENOM_EXISTS,
            UNKNOWN_ACCOUNT.
    """
    if genesis.amct is not None:
        _init_amct(ctx, genesis.amct)
    for entry in genesis.denominations:
        _init_denomination(ctx, entry)
