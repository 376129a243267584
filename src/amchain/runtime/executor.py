"""Apply a block of transactions to state, each atomically, and say what happened.

For each transaction, in block order:

1. find the module message and type its arguments;
2. authorise the signers (known, active, role);
3. run the handler on an overlay of its own;
4. on success merge the overlay into the block's, on refusal drop it: a failed transaction
   changes nothing but still gets a receipt (with ``codespace``/``code``), so refusals such
   as an odometer rollback stay on chain.

Envelope rules (chain id, expiry, replay, signatures) are a block's validity conditions,
checked before execution: a block holding such a transaction is invalid as a whole.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from amchain.codec import DecodeError
from amchain.ledger import (
    BlockHeader,
    LedgerError,
    Overlay,
    Receipt,
    StateReader,
    Transaction,
    TxCode,
    compute_receipts_root,
)
from amchain.modules.base import TxContext
from amchain.runtime.authorise import authorise_signers, decode_args
from amchain.runtime.registry import ModuleRegistry

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """An index row: transaction ``tx_index`` of the block is about ``(kind, value)``."""

    kind: str
    value: str
    tx_index: int


@dataclass(frozen=True, slots=True)
class BlockResult:
    """What executing a block produced; storage commits it in one transaction."""

    receipts: list[Receipt]
    write_set: list[tuple[str, bytes | None]]
    receipts_root: bytes
    index: list[IndexEntry]


def _failed(tx: Transaction, error: LedgerError | DecodeError) -> Receipt:
    details = error.details if isinstance(error, LedgerError) else {}
    return Receipt(
        tx_hash=tx.hash_hex,
        ok=False,
        codespace=error.codespace,
        code=int(error.code),
        message=error.message,
        details=details,
    )


def _index_entries(
    tx: Transaction, pairs: list[tuple[str, str]], tx_index: int
) -> list[IndexEntry]:
    entries = [IndexEntry("signer", key.hex(), tx_index) for key in tx.signer_keys]
    seen: set[tuple[str, str]] = set()
    for kind, value in pairs:
        if (kind, value) not in seen:  # membership only; order comes from the list
            seen.add((kind, value))
            entries.append(IndexEntry(kind, value, tx_index))
    return entries


def execute_transaction(
    registry: ModuleRegistry,
    state: Overlay,
    header: BlockHeader,
    tx: Transaction,
) -> tuple[Receipt, list[tuple[str, str]]]:
    """Apply one transaction to ``state`` (the block's overlay), atomically.

    Returns the receipt and the ``(kind, value)`` pairs the message names (for the index;
    empty if the arguments do not even decode). Never raises for a refusal: a refused
    transaction gets a failed receipt and leaves ``state`` unchanged.
    """
    overlay = Overlay(state)
    pairs: list[tuple[str, str]] = []
    try:
        # find and type
        spec = registry.message(tx.body.module, tx.body.message)
        args: Any = decode_args(spec, tx)
        pairs = spec.index(args)
        # authorise (the handler runs the message's stateless check itself)
        standings = authorise_signers(registry, overlay, tx, spec, args)
        # change state
        ctx = TxContext(
            chain_id=header.chain_id,
            height=header.height,
            time_ms=header.time_ms,
            tx_hash=tx.hash_hex,
            signers=tx.signer_keys,
            standings=standings,
            state=overlay,
        )
        spec.handler(ctx, args)
    except (LedgerError, DecodeError) as error:
        return _failed(tx, error), pairs
    except Exception:
        # A bug in a handler. Deterministic on every peer (same code, same input), so the
        # transaction fails the same way everywhere; the traceback goes to the log.
        log.exception(
            "handler %s.%s crashed on tx %s", tx.body.module, tx.body.message, tx.hash_hex
        )
        failed = Receipt(
            tx_hash=tx.hash_hex,
            ok=False,
            codespace="tx",
            code=int(TxCode.INTERNAL),
            message="internal error while executing the transaction; it changed nothing",
        )
        return failed, pairs
    # emit events (the receipt carries them)
    overlay.flush_into(state)
    return Receipt(tx_hash=tx.hash_hex, ok=True, events=list(ctx.events)), pairs


def execute_block(
    registry: ModuleRegistry,
    state: StateReader,
    header: BlockHeader,
    txs: list[Transaction],
) -> BlockResult:
    """Execute ``txs`` on top of ``state`` and return receipts, write set, receipts root and
    index rows.

    ``state`` is not modified; the caller applies :attr:`BlockResult.write_set` to the state
    tree (:func:`amchain.ledger.apply_state_updates`) and commits both.
    """
    block_state = Overlay(state)
    receipts: list[Receipt] = []
    index: list[IndexEntry] = []
    for tx_index, tx in enumerate(txs):
        receipt, pairs = execute_transaction(registry, block_state, header, tx)
        receipts.append(receipt)
        index.extend(_index_entries(tx, pairs, tx_index))
    write_set = block_state.write_set()
    return BlockResult(
        receipts=receipts,
        write_set=write_set,
        receipts_root=compute_receipts_root(receipts),
        index=index,
    )
