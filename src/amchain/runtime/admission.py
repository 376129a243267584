"""The admission pipeline: refuse bad transactions before they can reach a block.

Steps, in order, each refusing with a stable code: **size** (the caller bounds the body
before parsing; each transaction's canonical size is bounded here) → **decode** (strict
schema of the envelope, text in Unicode NFC, the message's arguments typed by its struct,
every field bounded in size, and the message's stateless check)
→ **signatures** (every signer, Ed25519) → **replay** (chain id, expiry window,
already included or already pending) → **permission** (signers known and active, role
held).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from amchain.codec import DecodeError, DecodeErrorCode, check_normal_form
from amchain.ledger import (
    MAX_TX_BYTES,
    StateReader,
    Transaction,
    TxCode,
    TxError,
    decode_transaction,
    validate_transaction_window,
    verify_transaction_signatures,
)
from amchain.runtime.authorise import authorise_signers, decode_args
from amchain.runtime.registry import ModuleRegistry


def admit_transaction(
    value: Any,
    *,
    registry: ModuleRegistry,
    state: StateReader,
    chain_id: str,
    now_ms: int,
    is_known: Callable[[bytes], bool],
) -> Transaction:
    """Run one parsed JSON value through the admission pipeline.

    ``is_known(hash)`` says whether a transaction is already included or pending.

    Raises:
        DecodeError: TOO_LARGE, INVALID_ENCODING (text not NFC), or a schema problem
            (unknown/missing/mistyped field, a value over its size).
        TxError: a bad envelope (encoding, signature, chain, expiry, replay, signer, role).
        ModuleError: the message's stateless check refused the arguments.
    """
    # size and decode
    tx = decode_transaction(value)
    if len(tx.canonical) > MAX_TX_BYTES:
        raise DecodeError(
            DecodeErrorCode.TOO_LARGE,
            f"transaction of {len(tx.canonical)} bytes exceeds {MAX_TX_BYTES} bytes",
        )
    spec = registry.message(tx.body.module, tx.body.message)
    check_normal_form(tx.body.args)
    args = decode_args(spec, tx)
    spec.check(args)
    # signatures
    verify_transaction_signatures(tx)
    # replay
    validate_transaction_window(tx, chain_id=chain_id, now_ms=now_ms)
    if is_known(tx.hash):
        raise replay_refusal(tx.hash)
    # permission
    authorise_signers(registry, state, tx, spec, args)
    return tx


def replay_refusal(tx_hash: bytes) -> TxError:
    """The refusal of a transaction that is already included or pending (REPLAYED)."""
    return TxError(
        TxCode.REPLAYED,
        f"transaction {tx_hash.hex()} was already submitted; it is not applied twice",
    )
