"""Standing orders: a payer's recurring payment (an insurance premium, a parking
subscription) that the block hook pays when due, until the payer cancels it or it has run
``count`` times. A payment the balance cannot cover is missed (recorded), not retried."""

from __future__ import annotations

import msgspec

from amchain.modules import tokens
from amchain.modules.base import BlockContext, TxContext
from amchain.modules.finance import keeper
from amchain.modules.finance.errors import FinanceCode, FinanceError
from amchain.modules.finance.handlers.checks import (
    acting_account,
    check_amount,
    check_id,
    require_account,
    require_denom,
    signed_by,
)
from amchain.modules.finance.types import (
    CancelStandingOrderArgs,
    CreateStandingOrderArgs,
    OrderStatus,
    StandingOrder,
    StandingOrderCancelled,
    StandingOrderCreated,
    StandingOrderPaid,
)

__all__ = [
    "ORDER",
    "cancel_standing_order",
    "check_cancel_standing_order",
    "check_create_standing_order",
    "create_standing_order",
    "pay_standing_order",
]

ORDER = "order"  # its kind in the due queue
MIN_PERIOD_MS = 1_000
MAX_PURPOSE_CHARS = 200


def check_create_standing_order(args: CreateStandingOrderArgs) -> None:
    """Raises: FinanceError: INVALID_ID, INVALID_AMOUNT, INVALID_TERMS."""
    check_id(args.order_id, field="order_id")
    check_amount(args.amount_minor, field="amount_minor")
    if args.period_ms < MIN_PERIOD_MS or args.count < 0 or len(args.purpose) > MAX_PURPOSE_CHARS:
        raise FinanceError(
            FinanceCode.INVALID_TERMS,
            f"period_ms must be at least {MIN_PERIOD_MS}, count 0 or more, purpose at most "
            f"{MAX_PURPOSE_CHARS} characters",
        )


def create_standing_order(ctx: TxContext, args: CreateStandingOrderArgs) -> None:
    """The signer sets up a recurring payment from its own account.

    Raises:
        FinanceError: INVALID_ID, INVALID_AMOUNT, INVALID_TERMS, INVALID_TIME, ORDER_EXISTS,
            UNKNOWN_DENOM, UNKNOWN_ACCOUNT, NOT_ACCOUNT_HOLDER.
    """
    # validate
    check_create_standing_order(args)
    if keeper.read_order(ctx.state, args.order_id) is not None:
        raise FinanceError(
            FinanceCode.ORDER_EXISTS,
            f"standing order {args.order_id!r} exists already; choose another id",
            details={"order_id": args.order_id},
        )
    if args.first_due_ms <= ctx.time_ms:
        raise FinanceError(
            FinanceCode.INVALID_TIME,
            "first_due_ms must be after the block's time",
            details={"first_due_ms": args.first_due_ms, "time_ms": ctx.time_ms},
        )
    require_denom(ctx.state, args.denom)
    require_account(ctx.state, args.payee, field="payee")

    # authorise: the payer is the signer
    payer = acting_account(ctx)

    # change state
    keeper.write_order(
        ctx.state,
        StandingOrder(
            id=args.order_id,
            payer=payer,
            payee=args.payee,
            denom=args.denom,
            amount_minor=args.amount_minor,
            period_ms=args.period_ms,
            count=args.count,
            purpose=args.purpose,
            next_due_ms=args.first_due_ms,
            paid_count=0,
            missed_count=0,
            status=OrderStatus.ACTIVE.value,
            created_height=ctx.height,
        ),
    )
    keeper.schedule_due(ctx.state, args.first_due_ms, ORDER, args.order_id)

    # emit events
    ctx.emit(
        StandingOrderCreated(
            order_id=args.order_id,
            payer=payer,
            payee=args.payee,
            amount_minor=args.amount_minor,
            first_due_ms=args.first_due_ms,
        )
    )


def check_cancel_standing_order(args: CancelStandingOrderArgs) -> None:
    """Raises: FinanceError: INVALID_ID."""
    check_id(args.order_id, field="order_id")


def cancel_standing_order(ctx: TxContext, args: CancelStandingOrderArgs) -> None:
    """The payer stops a standing order; nothing more is paid.

    Raises:
        FinanceError: INVALID_ID, UNKNOWN_ORDER, ORDER_NOT_ACTIVE, NOT_PAYER.
    """
    # validate
    check_cancel_standing_order(args)
    order = keeper.read_order(ctx.state, args.order_id)
    if order is None:
        raise FinanceError(
            FinanceCode.UNKNOWN_ORDER,
            f"there is no standing order {args.order_id!r}",
            details={"order_id": args.order_id},
        )
    if order.status != OrderStatus.ACTIVE:
        raise FinanceError(
            FinanceCode.ORDER_NOT_ACTIVE,
            f"standing order {order.id!r} is {order.status}",
            details={"status": order.status},
        )

    # authorise
    if not signed_by(ctx, order.payer):
        raise FinanceError(
            FinanceCode.NOT_PAYER,
            f"only the payer {order.payer} cancels standing order {order.id!r}",
            details={"payer": order.payer},
        )

    # change state
    if order.next_due_ms is not None:
        keeper.unschedule_due(ctx.state, order.next_due_ms, ORDER, order.id)
    keeper.write_order(
        ctx.state,
        msgspec.structs.replace(order, status=OrderStatus.CANCELLED.value, next_due_ms=None),
    )

    # emit events
    ctx.emit(StandingOrderCancelled(order_id=order.id))


def pay_standing_order(ctx: BlockContext, order_id: str) -> None:
    """The block hook when a standing order falls due: pay it if the balance covers it,
    else record it missed; queue the next one."""
    order = keeper.read_order(ctx.state, order_id)
    if order is None or order.status != OrderStatus.ACTIVE or order.next_due_ms is None:
        return
    paid = tokens.balance_of(ctx.state, order.denom, order.payer) >= order.amount_minor
    if paid:
        tokens.pay(ctx.state, order.denom, order.payer, order.payee, order.amount_minor, ctx.emit)
    paid_count = order.paid_count + int(paid)
    missed_count = order.missed_count + int(not paid)
    finished = order.count and paid_count + missed_count >= order.count
    following = None if finished else order.next_due_ms + order.period_ms
    keeper.write_order(
        ctx.state,
        msgspec.structs.replace(
            order,
            paid_count=paid_count,
            missed_count=missed_count,
            next_due_ms=following,
            status=(OrderStatus.FINISHED if finished else OrderStatus.ACTIVE).value,
        ),
    )
    if following is not None:
        keeper.schedule_due(ctx.state, following, ORDER, order.id)
    ctx.emit(
        StandingOrderPaid(
            order_id=order.id,
            paid=paid,
            amount_minor=order.amount_minor,
            paid_count=paid_count,
            missed_count=missed_count,
        )
    )
