"""The ``finance/`` state-key layout (full keys).

Ids match ``[A-Za-z0-9._-]{1,64}``, so every prefix is unambiguous. The due queue holds one
key per schedule that is waiting (a voucher's maturity, a loan's next check, a standing
order's next payment), ordered by time: the block hook reads it from the start and stops at
the first key not yet due.
"""

from __future__ import annotations

__all__ = [
    "DUE_PREFIX",
    "MODULE",
    "due_state_key",
    "loan_state_key",
    "order_state_key",
    "parse_due_key",
    "piece_state_key",
    "voucher_state_key",
]

MODULE = "finance"
DUE_PREFIX = f"{MODULE}/due/"
TIME_DIGITS = 15  # ms since the epoch, zero-padded: text order is time order until 33658 AD


def voucher_state_key(voucher_id: str) -> str:
    """``finance/voucher/<id>``: the Voucher."""
    return f"{MODULE}/voucher/{voucher_id}"


def piece_state_key(voucher_id: str, no: int) -> str:
    """``finance/piece/<voucher id>/<no, 6 digits>``: a Piece of the voucher."""
    return f"{MODULE}/piece/{voucher_id}/{no:06d}"


def loan_state_key(loan_id: str) -> str:
    """``finance/loan/<id>``: the Loan."""
    return f"{MODULE}/loan/{loan_id}"


def order_state_key(order_id: str) -> str:
    """``finance/order/<id>``: the StandingOrder."""
    return f"{MODULE}/order/{order_id}"


def due_state_key(due_ms: int, kind: str, item_id: str) -> str:
    """``finance/due/<ms, 15 digits>/<kind>/<id>``: ``kind`` (voucher, loan, order)
    ``item_id`` wants the block hook at ``due_ms``."""
    return f"{DUE_PREFIX}{due_ms:0{TIME_DIGITS}d}/{kind}/{item_id}"


def parse_due_key(key: str) -> tuple[int, str, str]:
    """``(due_ms, kind, id)`` of a due-queue key."""
    due, kind, item_id = key[len(DUE_PREFIX) :].split("/", 2)
    return int(due), kind, item_id
