"""Handlers of the ``finance`` module, by topic: vouchers, loans, standing orders, and the
block hook that runs the due queue.

Each handler validates, authorises, changes state and emits events, in that order. A handler
may write and then raise: the runtime drops every change of a failed transaction.
"""

from amchain.modules.finance.handlers.loans import (
    check_record_loan,
    check_repay_loan,
    due_so_far,
    instalments_due,
    lien_reference,
    record_loan,
    repay_loan,
    roles_record_loan,
)
from amchain.modules.finance.handlers.orders import (
    cancel_standing_order,
    check_cancel_standing_order,
    check_create_standing_order,
    create_standing_order,
)
from amchain.modules.finance.handlers.schedule import end_block
from amchain.modules.finance.handlers.vouchers import (
    check_discount_piece,
    check_issue_voucher,
    check_split_piece,
    check_transfer_piece,
    discount_piece,
    issue_voucher,
    redeem_voucher,
    roles_issue_voucher,
    split_piece,
    transfer_piece,
)

__all__ = [
    "cancel_standing_order",
    "check_cancel_standing_order",
    "check_create_standing_order",
    "check_discount_piece",
    "check_issue_voucher",
    "check_record_loan",
    "check_repay_loan",
    "check_split_piece",
    "check_transfer_piece",
    "create_standing_order",
    "discount_piece",
    "due_so_far",
    "end_block",
    "instalments_due",
    "issue_voucher",
    "lien_reference",
    "record_loan",
    "redeem_voucher",
    "repay_loan",
    "roles_issue_voucher",
    "roles_record_loan",
    "split_piece",
    "transfer_piece",
]
