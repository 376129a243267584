"""The only code that touches the ``finance/`` state prefix (layout: :mod:`.keys`)."""

from __future__ import annotations

from amchain.ledger import StateReader, StateWriter
from amchain.modules.base import decode_record, encode_record
from amchain.modules.finance.keys import (
    DUE_PREFIX,
    due_state_key,
    loan_state_key,
    order_state_key,
    parse_due_key,
    piece_state_key,
    voucher_state_key,
)
from amchain.modules.finance.types import Loan, Piece, StandingOrder, Voucher


def read_voucher(state: StateReader, voucher_id: str) -> Voucher | None:
    """Return the voucher ``voucher_id``, or None."""
    raw = state.get(voucher_state_key(voucher_id))
    return None if raw is None else decode_record(raw, Voucher)


def write_voucher(state: StateWriter, voucher: Voucher) -> None:
    """Store ``voucher`` (create or replace)."""
    state.set(voucher_state_key(voucher.id), encode_record(voucher))


def read_piece(state: StateReader, voucher_id: str, no: int) -> Piece | None:
    """Return piece ``no`` of a voucher, or None."""
    raw = state.get(piece_state_key(voucher_id, no))
    return None if raw is None else decode_record(raw, Piece)


def write_piece(state: StateWriter, piece: Piece) -> None:
    """Store ``piece`` (create or replace)."""
    state.set(piece_state_key(piece.voucher_id, piece.no), encode_record(piece))


def read_pieces(state: StateReader, voucher_id: str, count: int) -> list[Piece]:
    """Return pieces 0 to ``count`` − 1 of a voucher (reads by key: works at any height)."""
    pieces = []
    for no in range(count):
        piece = read_piece(state, voucher_id, no)
        if piece is not None:
            pieces.append(piece)
    return pieces


def read_loan(state: StateReader, loan_id: str) -> Loan | None:
    """Return the loan ``loan_id``, or None."""
    raw = state.get(loan_state_key(loan_id))
    return None if raw is None else decode_record(raw, Loan)


def write_loan(state: StateWriter, loan: Loan) -> None:
    """Store ``loan`` (create or replace)."""
    state.set(loan_state_key(loan.id), encode_record(loan))


def read_order(state: StateReader, order_id: str) -> StandingOrder | None:
    """Return the standing order ``order_id``, or None."""
    raw = state.get(order_state_key(order_id))
    return None if raw is None else decode_record(raw, StandingOrder)


def write_order(state: StateWriter, order: StandingOrder) -> None:
    """Store ``order`` (create or replace)."""
    state.set(order_state_key(order.id), encode_record(order))


def schedule_due(state: StateWriter, due_ms: int, kind: str, item_id: str) -> None:
    """Queue ``kind`` ``item_id`` for the block hook at ``due_ms``."""
    state.set(due_state_key(due_ms, kind, item_id), encode_record(item_id))


def unschedule_due(state: StateWriter, due_ms: int, kind: str, item_id: str) -> None:
    """Take a queued entry out (a cancelled order)."""
    state.delete(due_state_key(due_ms, kind, item_id))


def take_due(state: StateWriter, now_ms: int, limit: int) -> list[tuple[int, str, str]]:
    """Remove and return the queued ``(due_ms, kind, id)`` due by ``now_ms``, oldest first,
    at most ``limit`` (the rest wait for the next block). Reads the queue only up to the
    first entry not yet due."""
    due: list[tuple[int, str, str]] = []
    keys: list[str] = []
    for key, _ in state.iter_prefix(DUE_PREFIX):
        entry = parse_due_key(key)
        if entry[0] > now_ms or len(due) == limit:
            break
        due.append(entry)
        keys.append(key)
    for key in keys:
        state.delete(key)
    return due
