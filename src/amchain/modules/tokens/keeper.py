"""The only code that touches the ``tokens/`` state prefix (layout: :mod:`.keys`).

A zero balance or allowance is not stored: writing 0 deletes the key, so the state holds
only what someone has.
"""

from __future__ import annotations

from collections.abc import Iterator

from amchain.ledger import StateReader, StateWriter
from amchain.modules.base import decode_record, encode_record
from amchain.modules.tokens.keys import (
    allowance_state_key,
    balance_state_key,
    council_state_key,
    denomination_state_key,
    pool_state_key,
    proposal_state_key,
    schedule_state_key,
)
from amchain.modules.tokens.types import (
    Council,
    Denomination,
    Pool,
    ReleaseProposal,
    Schedule,
)


def read_denomination(state: StateReader, denom: str) -> Denomination | None:
    """Return the denomination ``denom``, or None."""
    raw = state.get(denomination_state_key(denom))
    return None if raw is None else decode_record(raw, Denomination)


def write_denomination(state: StateWriter, denomination: Denomination) -> None:
    """Store ``denomination`` (create or replace)."""
    state.set(denomination_state_key(denomination.denom), encode_record(denomination))


def read_denominations(state: StateReader) -> list[Denomination]:
    """Return every denomination, in key order (needs a reader that can list keys)."""
    return [
        decode_record(raw, Denomination) for _, raw in state.iter_prefix(denomination_state_key(""))
    ]


def iter_balances(
    state: StateReader, denom: str, *, after: str | None = None
) -> Iterator[tuple[str, int]]:
    """Yield ``(account, balance)`` of every holder of ``denom`` in account order, starting
    after ``after`` (needs a reader that can list keys)."""
    prefix = balance_state_key(denom, "")
    for key, raw in state.iter_prefix(prefix):
        account = key[len(prefix) :]
        if after is not None and account <= after:
            continue
        yield account, decode_record(raw, int)


def read_balance(state: StateReader, denom: str, account: str) -> int:
    """Return ``account``'s balance of ``denom`` in minor units (0 if none)."""
    raw = state.get(balance_state_key(denom, account))
    return 0 if raw is None else decode_record(raw, int)


def write_balance(state: StateWriter, denom: str, account: str, amount_minor: int) -> None:
    """Store a balance; 0 deletes it."""
    key = balance_state_key(denom, account)
    if amount_minor == 0:
        state.delete(key)
    else:
        state.set(key, encode_record(amount_minor))


def read_allowance(state: StateReader, denom: str, owner: str, spender: str) -> int:
    """Return what ``spender`` may still move from ``owner`` (0 if nothing)."""
    raw = state.get(allowance_state_key(denom, owner, spender))
    return 0 if raw is None else decode_record(raw, int)


def write_allowance(
    state: StateWriter, denom: str, owner: str, spender: str, amount_minor: int
) -> None:
    """Store an allowance; 0 deletes it."""
    key = allowance_state_key(denom, owner, spender)
    if amount_minor == 0:
        state.delete(key)
    else:
        state.set(key, encode_record(amount_minor))


def read_pool(state: StateReader, name: str) -> Pool | None:
    """Return the pool ``name``, or None."""
    raw = state.get(pool_state_key(name))
    return None if raw is None else decode_record(raw, Pool)


def write_pool(state: StateWriter, pool: Pool) -> None:
    """Store ``pool`` (create or replace)."""
    state.set(pool_state_key(pool.name), encode_record(pool))


def read_pools(state: StateReader) -> list[Pool]:
    """Return every pool, in name order (needs a reader that can list keys)."""
    return [decode_record(raw, Pool) for _, raw in state.iter_prefix(pool_state_key(""))]


def read_schedule(state: StateReader) -> Schedule | None:
    """Return the release schedule, or None on a chain without scheduled pools."""
    raw = state.get(schedule_state_key())
    return None if raw is None else decode_record(raw, Schedule)


def write_schedule(state: StateWriter, schedule: Schedule) -> None:
    """Store the release schedule."""
    state.set(schedule_state_key(), encode_record(schedule))


def read_council(state: StateReader) -> Council | None:
    """Return the foundation council, or None on a chain without AMCT."""
    raw = state.get(council_state_key())
    return None if raw is None else decode_record(raw, Council)


def write_council(state: StateWriter, council: Council) -> None:
    """Store the foundation council."""
    state.set(council_state_key(), encode_record(council))


def read_proposal(state: StateReader, proposal_id: str) -> ReleaseProposal | None:
    """Return the release proposal ``proposal_id``, or None."""
    raw = state.get(proposal_state_key(proposal_id))
    return None if raw is None else decode_record(raw, ReleaseProposal)


def write_proposal(state: StateWriter, proposal: ReleaseProposal) -> None:
    """Store ``proposal`` (create or replace)."""
    state.set(proposal_state_key(proposal.id), encode_record(proposal))
