"""Settlement tokens: a ``financier`` creates a denomination, then mints against money it
holds and burns what it pays out. Only a denomination's issuer may mint or burn it; AMCT
has a fixed supply and no issuer."""

from __future__ import annotations

import msgspec

from amchain.modules import identity
from amchain.modules.base import TxContext
from amchain.modules.tokens import keeper
from amchain.modules.tokens.errors import TokensCode, TokensError
from amchain.modules.tokens.handlers.checks import (
    MAX_AMOUNT_MINOR,
    acting_account,
    check_account_name,
    check_amount,
    check_denom,
    check_text,
    require_account,
    require_denomination,
)
from amchain.modules.tokens.types import (
    BurnArgs,
    CreateDenominationArgs,
    Denomination,
    DenominationCreated,
    MintArgs,
    TokensTransfer,
)

__all__ = [
    "MAX_DECIMALS",
    "burn",
    "check_burn",
    "check_create_denomination",
    "check_decimals",
    "check_mint",
    "create_denomination",
    "mint",
    "roles_create_denomination",
]

MAX_DECIMALS = 18
MAX_NAME_CHARS = 100


def check_decimals(decimals: int) -> None:
    """Raises: TokensError: INVALID_DECIMALS."""
    if not 0 <= decimals <= MAX_DECIMALS:
        raise TokensError(
            TokensCode.INVALID_DECIMALS,
            f"decimals must be 0 to {MAX_DECIMALS}, got {decimals}",
            details={"decimals": decimals},
        )


def _require_issuer(ctx: TxContext, denomination: Denomination) -> str:
    """Return the issuer's DID if a signer may act for it.

    Raises:
        TokensError: FIXED_SUPPLY, NOT_ISSUER.
    """
    issuer = denomination.issuer
    if issuer is None:
        raise TokensError(
            TokensCode.FIXED_SUPPLY,
            f"{denomination.denom} has a fixed supply held in pools; nobody mints or burns it",
            details={"denom": denomination.denom},
        )
    if not any(identity.is_controlled_by(ctx.state, issuer, key) for key in ctx.signers):
        raise TokensError(
            TokensCode.NOT_ISSUER,
            f"only {denomination.denom}'s issuer {issuer} may mint or burn it",
            details={"denom": denomination.denom, "issuer": issuer},
        )
    return issuer


def roles_create_denomination(_args: CreateDenominationArgs) -> tuple[str, ...]:
    return ("financier",)


def check_create_denomination(args: CreateDenominationArgs) -> None:
    """Raises: TokensError: INVALID_DENOM, INVALID_TEXT, INVALID_DECIMALS."""
    check_denom(args.denom)
    check_text(args.name, field="name", max_chars=MAX_NAME_CHARS)
    check_decimals(args.decimals)


def create_denomination(ctx: TxContext, args: CreateDenominationArgs) -> None:
    """Create a settlement token issued by the signing financier (role checked by the
    runtime).

    Raises:
        TokensError: INVALID_DENOM, INVALID_TEXT, INVALID_DECIMALS, DENOM_EXISTS,
            NOT_ACCOUNT_HOLDER.
    """
    # validate
    check_create_denomination(args)
    if keeper.read_denomination(ctx.state, args.denom) is not None:
        raise TokensError(
            TokensCode.DENOM_EXISTS,
            f"denomination {args.denom!r} already exists",
            details={"denom": args.denom},
        )

    # authorise: the issuer is the signer's organisation
    issuer = acting_account(ctx, None, field="issuer")

    # change state
    keeper.write_denomination(
        ctx.state,
        Denomination(
            denom=args.denom,
            name=args.name,
            decimals=args.decimals,
            issuer=issuer,
            supply_minor=0,
            created_height=ctx.height,
        ),
    )

    # emit events
    ctx.emit(DenominationCreated(denom=args.denom, issuer=issuer, decimals=args.decimals))


def check_mint(args: MintArgs) -> None:
    """Raises: TokensError: INVALID_DENOM, INVALID_AMOUNT, UNKNOWN_ACCOUNT."""
    check_denom(args.denom)
    check_amount(args.amount_minor)
    check_account_name(args.to, field="to")


def mint(ctx: TxContext, args: MintArgs) -> None:
    """The issuer creates tokens and credits ``to``.

    Raises:
        TokensError: INVALID_DENOM, INVALID_AMOUNT, UNKNOWN_ACCOUNT, UNKNOWN_DENOM,
            FIXED_SUPPLY, NOT_ISSUER, SUPPLY_LIMIT.
    """
    # validate
    check_mint(args)
    denomination = require_denomination(ctx.state, args.denom)
    require_account(ctx.state, args.to, field="to")

    # authorise
    _require_issuer(ctx, denomination)
    if denomination.supply_minor + args.amount_minor > MAX_AMOUNT_MINOR:
        raise TokensError(
            TokensCode.SUPPLY_LIMIT,
            f"{args.denom}'s supply would pass {MAX_AMOUNT_MINOR} minor units, the most an "
            "amount may be",
            details={"denom": args.denom, "supply_minor": denomination.supply_minor},
        )

    # change state
    keeper.write_balance(
        ctx.state,
        args.denom,
        args.to,
        keeper.read_balance(ctx.state, args.denom, args.to) + args.amount_minor,
    )
    keeper.write_denomination(
        ctx.state,
        msgspec.structs.replace(
            denomination, supply_minor=denomination.supply_minor + args.amount_minor
        ),
    )

    # emit events
    ctx.emit(
        TokensTransfer(
            denom=args.denom, from_account=None, to_account=args.to, amount_minor=args.amount_minor
        )
    )


def check_burn(args: BurnArgs) -> None:
    """Raises: TokensError: INVALID_DENOM, INVALID_AMOUNT."""
    check_denom(args.denom)
    check_amount(args.amount_minor)


def burn(ctx: TxContext, args: BurnArgs) -> None:
    """The issuer destroys tokens from its own balance.

    Raises:
        TokensError: INVALID_DENOM, INVALID_AMOUNT, UNKNOWN_DENOM, FIXED_SUPPLY, NOT_ISSUER,
            INSUFFICIENT_BALANCE.
    """
    # validate
    check_burn(args)
    denomination = require_denomination(ctx.state, args.denom)

    # authorise
    issuer = _require_issuer(ctx, denomination)
    require_account(ctx.state, issuer, field="issuer")
    balance = keeper.read_balance(ctx.state, args.denom, issuer)
    if balance < args.amount_minor:
        raise TokensError(
            TokensCode.INSUFFICIENT_BALANCE,
            f"the issuer holds {balance} minor units of {args.denom}, less than the "
            f"{args.amount_minor} to burn",
            details={"account": issuer, "denom": args.denom, "balance_minor": balance},
        )

    # change state
    keeper.write_balance(ctx.state, args.denom, issuer, balance - args.amount_minor)
    keeper.write_denomination(
        ctx.state,
        msgspec.structs.replace(
            denomination, supply_minor=denomination.supply_minor - args.amount_minor
        ),
    )

    # emit events
    ctx.emit(
        TokensTransfer(
            denom=args.denom, from_account=issuer, to_account=None, amount_minor=args.amount_minor
        )
    )
