"""``transfer``, ``approve`` and ``transfer_from``, with ERC-20's semantics: a transfer is
refused beyond the balance, a spender is refused beyond its allowance, an approval replaces
the one before, and every movement emits a ``tokens.transfer`` event."""

from __future__ import annotations

from collections.abc import Callable

from amchain.ledger import StateWriter
from amchain.modules.base import EventAttributes, TxContext
from amchain.modules.tokens import keeper
from amchain.modules.tokens.errors import TokensCode, TokensError
from amchain.modules.tokens.handlers.checks import (
    acting_account,
    check_account_name,
    check_amount,
    check_denom,
    require_account,
    require_denomination,
)
from amchain.modules.tokens.types import (
    ApproveArgs,
    TokensApproval,
    TokensTransfer,
    TransferArgs,
    TransferFromArgs,
)

__all__ = [
    "approve",
    "check_approve",
    "check_transfer",
    "check_transfer_from",
    "move",
    "pay",
    "transfer",
    "transfer_from",
]


def move(state: StateWriter, denom: str, source: str, target: str, amount_minor: int) -> None:
    """Move ``amount_minor`` of ``denom`` from ``source`` to ``target`` (the same account:
    nothing changes).

    Raises:
        TokensError: INSUFFICIENT_BALANCE.
    """
    balance = keeper.read_balance(state, denom, source)
    if balance < amount_minor:
        raise TokensError(
            TokensCode.INSUFFICIENT_BALANCE,
            f"{source} holds {balance} minor units of {denom}, less than the {amount_minor} asked",
            details={"account": source, "denom": denom, "balance_minor": balance},
        )
    if source == target:
        return
    keeper.write_balance(state, denom, source, balance - amount_minor)
    keeper.write_balance(
        state, denom, target, keeper.read_balance(state, denom, target) + amount_minor
    )


def pay(
    state: StateWriter,
    denom: str,
    source: str,
    target: str,
    amount_minor: int,
    emit: Callable[[EventAttributes], None],
) -> None:
    """Move tokens for another module (a voucher's discount, a loan's instalment) and emit
    the ``tokens.transfer`` event every movement has. The caller authorised it.

    Raises:
        TokensError: INVALID_AMOUNT, UNKNOWN_DENOM, INSUFFICIENT_BALANCE.
    """
    check_amount(amount_minor)
    require_denomination(state, denom)
    move(state, denom, source, target, amount_minor)
    emit(
        TokensTransfer(
            denom=denom, from_account=source, to_account=target, amount_minor=amount_minor
        )
    )


def check_transfer(args: TransferArgs) -> None:
    """Raises: TokensError: INVALID_DENOM, INVALID_AMOUNT, UNKNOWN_ACCOUNT."""
    check_denom(args.denom)
    check_amount(args.amount_minor)
    check_account_name(args.to, field="to")
    if args.from_account is not None:
        check_account_name(args.from_account, field="from_account")


def transfer(ctx: TxContext, args: TransferArgs) -> None:
    """Move tokens from the signer's account to ``to``.

    Raises:
        TokensError: INVALID_DENOM, INVALID_AMOUNT, UNKNOWN_ACCOUNT, UNKNOWN_DENOM,
            NOT_ACCOUNT_HOLDER, INSUFFICIENT_BALANCE.
    """
    # validate
    check_transfer(args)
    require_denomination(ctx.state, args.denom)
    require_account(ctx.state, args.to, field="to")

    # authorise
    source = acting_account(ctx, args.from_account, field="from_account")

    # change state
    move(ctx.state, args.denom, source, args.to, args.amount_minor)

    # emit events
    ctx.emit(
        TokensTransfer(
            denom=args.denom,
            from_account=source,
            to_account=args.to,
            amount_minor=args.amount_minor,
        )
    )


def check_approve(args: ApproveArgs) -> None:
    """Raises: TokensError: INVALID_DENOM, INVALID_AMOUNT, UNKNOWN_ACCOUNT."""
    check_denom(args.denom)
    check_amount(args.amount_minor, zero_ok=True)
    check_account_name(args.spender, field="spender")
    if args.owner is not None:
        check_account_name(args.owner, field="owner")


def approve(ctx: TxContext, args: ApproveArgs) -> None:
    """Let ``spender`` move up to ``amount_minor`` from the owner's account (replacing any
    earlier allowance; 0 withdraws it).

    Raises:
        TokensError: INVALID_DENOM, INVALID_AMOUNT, UNKNOWN_ACCOUNT, UNKNOWN_DENOM,
            NOT_ACCOUNT_HOLDER.
    """
    # validate
    check_approve(args)
    require_denomination(ctx.state, args.denom)
    require_account(ctx.state, args.spender, field="spender")

    # authorise
    owner = acting_account(ctx, args.owner, field="owner")

    # change state
    keeper.write_allowance(ctx.state, args.denom, owner, args.spender, args.amount_minor)

    # emit events
    ctx.emit(
        TokensApproval(
            denom=args.denom, owner=owner, spender=args.spender, amount_minor=args.amount_minor
        )
    )


def check_transfer_from(args: TransferFromArgs) -> None:
    """Raises: TokensError: INVALID_DENOM, INVALID_AMOUNT, UNKNOWN_ACCOUNT."""
    check_denom(args.denom)
    check_amount(args.amount_minor)
    check_account_name(args.owner, field="owner")
    check_account_name(args.to, field="to")
    if args.spender is not None:
        check_account_name(args.spender, field="spender")


def transfer_from(ctx: TxContext, args: TransferFromArgs) -> None:
    """The spender moves tokens from ``owner`` to ``to`` within its allowance, which
    shrinks by the amount.

    Raises:
        TokensError: INVALID_DENOM, INVALID_AMOUNT, UNKNOWN_ACCOUNT, UNKNOWN_DENOM,
            NOT_ACCOUNT_HOLDER, INSUFFICIENT_ALLOWANCE, INSUFFICIENT_BALANCE.
    """
    # validate
    check_transfer_from(args)
    require_denomination(ctx.state, args.denom)
    require_account(ctx.state, args.to, field="to")

    # authorise: the signer spends an allowance the owner gave it
    spender = acting_account(ctx, args.spender, field="spender")
    allowance = keeper.read_allowance(ctx.state, args.denom, args.owner, spender)
    if allowance < args.amount_minor:
        raise TokensError(
            TokensCode.INSUFFICIENT_ALLOWANCE,
            f"{spender} may move {allowance} minor units of {args.denom} from {args.owner}, "
            f"less than the {args.amount_minor} asked",
            details={"owner": args.owner, "spender": spender, "allowance_minor": allowance},
        )

    # change state
    move(ctx.state, args.denom, args.owner, args.to, args.amount_minor)
    keeper.write_allowance(
        ctx.state, args.denom, args.owner, spender, allowance - args.amount_minor
    )

    # emit events
    ctx.emit(
        TokensTransfer(
            denom=args.denom,
            from_account=args.owner,
            to_account=args.to,
            amount_minor=args.amount_minor,
            spender=spender,
        )
    )
