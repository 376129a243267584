"""The only code that touches the ``sharing/`` state prefix (layout: :mod:`.keys`)."""

from __future__ import annotations

from amchain.ledger import StateReader, StateWriter
from amchain.modules.base import decode_record, encode_record
from amchain.modules.sharing.keys import (
    bill_state_key,
    group_state_key,
    proposal_state_key,
    session_state_key,
    vehicle_group_state_key,
)
from amchain.modules.sharing.types import Bill, Group, Proposal, Session


def read_group(state: StateReader, group_id: str) -> Group | None:
    """Return the group ``group_id``, or None."""
    raw = state.get(group_state_key(group_id))
    return None if raw is None else decode_record(raw, Group)


def write_group(state: StateWriter, group: Group) -> None:
    """Store ``group`` (create or replace)."""
    state.set(group_state_key(group.id), encode_record(group))


def read_vehicle_group(state: StateReader, vin: str) -> str | None:
    """The id of the active group that owns ``vin``, or None."""
    raw = state.get(vehicle_group_state_key(vin))
    return None if raw is None else decode_record(raw, str)


def write_vehicle_group(state: StateWriter, vin: str, group_id: str | None) -> None:
    """Record (or, with None, clear) the group that owns ``vin``."""
    if group_id is None:
        state.delete(vehicle_group_state_key(vin))
    else:
        state.set(vehicle_group_state_key(vin), encode_record(group_id))


def read_session(state: StateReader, group_id: str, session_id: str) -> Session | None:
    """Return a usage session, or None."""
    raw = state.get(session_state_key(group_id, session_id))
    return None if raw is None else decode_record(raw, Session)


def write_session(state: StateWriter, group_id: str, session: Session) -> None:
    """Store a usage session."""
    state.set(session_state_key(group_id, session.id), encode_record(session))


def read_bill(state: StateReader, group_id: str, bill_id: str) -> Bill | None:
    """Return a settled bill, or None."""
    raw = state.get(bill_state_key(group_id, bill_id))
    return None if raw is None else decode_record(raw, Bill)


def write_bill(state: StateWriter, group_id: str, bill: Bill) -> None:
    """Store a settled bill."""
    state.set(bill_state_key(group_id, bill.id), encode_record(bill))


def read_proposal(state: StateReader, group_id: str, proposal_id: str) -> Proposal | None:
    """Return a proposal of the group, or None."""
    raw = state.get(proposal_state_key(group_id, proposal_id))
    return None if raw is None else decode_record(raw, Proposal)


def write_proposal(state: StateWriter, group_id: str, proposal: Proposal) -> None:
    """Store a proposal (create or replace)."""
    state.set(proposal_state_key(group_id, proposal.id), encode_record(proposal))
