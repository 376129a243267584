"""The block hook: everything in the due queue whose time has come, oldest first —
vouchers to flag overdue, loans to collect, standing orders to pay."""

from __future__ import annotations

from amchain.modules.base import BlockContext
from amchain.modules.finance import keeper
from amchain.modules.finance.handlers.loans import LOAN, collect_instalments
from amchain.modules.finance.handlers.orders import ORDER, pay_standing_order
from amchain.modules.finance.handlers.vouchers import VOUCHER, flag_if_overdue

__all__ = ["HOOK_RECEIPT", "MAX_DUE_PER_BLOCK", "end_block"]

MAX_DUE_PER_BLOCK = 200_000  # more wait for the next block, oldest first
HOOK_RECEIPT = "end_block/finance"  # what history entries written by the hook name


def end_block(ctx: BlockContext) -> None:
    """Run what fell due by the block's time. Reads the queue up to the first entry not yet
    due: one key in a block where nothing is."""
    for _, kind, item_id in keeper.take_due(ctx.state, ctx.time_ms, MAX_DUE_PER_BLOCK):
        if kind == LOAN:
            collect_instalments(ctx, item_id, HOOK_RECEIPT)
        elif kind == ORDER:
            pay_standing_order(ctx, item_id)
        elif kind == VOUCHER:
            flag_if_overdue(ctx, item_id)
