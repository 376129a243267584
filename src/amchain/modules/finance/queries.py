"""Reads of the ``finance`` module: a voucher with its pieces, a loan with where it stands,
a standing order."""

from __future__ import annotations

from amchain.modules.base import QueryContext
from amchain.modules.finance import keeper
from amchain.modules.finance.handlers.loans import due_so_far, instalments_due
from amchain.modules.finance.types import (
    LoanParams,
    LoanView,
    OrderParams,
    PieceStatus,
    StandingOrder,
    VoucherParams,
    VoucherView,
)

__all__ = ["query_loan", "query_order", "query_voucher"]


def query_voucher(ctx: QueryContext, params: VoucherParams) -> VoucherView | None:
    """A voucher and its pieces (None: no such voucher)."""
    voucher = keeper.read_voucher(ctx.state, params.voucher_id)
    if voucher is None:
        return None
    pieces = keeper.read_pieces(ctx.state, voucher.id, voucher.pieces)
    held = sum(p.amount_minor for p in pieces if p.status == PieceStatus.HELD)
    return VoucherView(voucher=voucher, pieces=pieces, held_minor=held)


def query_loan(ctx: QueryContext, params: LoanParams) -> LoanView | None:
    """A loan with what remains, the arrears at the query's block time, the instalments
    due (None: no such loan)."""
    loan = keeper.read_loan(ctx.state, params.loan_id)
    if loan is None:
        return None
    return LoanView(
        loan=loan,
        remaining_minor=loan.total_due_minor - loan.paid_minor,
        arrears_minor=max(0, due_so_far(loan, ctx.time_ms) - loan.paid_minor),
        instalments_due=instalments_due(loan, ctx.time_ms),
    )


def query_order(ctx: QueryContext, params: OrderParams) -> StandingOrder | None:
    """A standing order (None: no such order)."""
    return keeper.read_order(ctx.state, params.order_id)
