"""Apply a block of transactions to state, each atomically, and say what happened.

For each transaction, in block order:

1. find the module message and type its arguments;
2. authorise the signers (known, active, role);
3. run the handler on an overlay of its own;
4. on success merge the overlay into the block's, on refusal drop it: a failed transaction
   changes nothing but still gets a receipt (with ``codespace``/``code``), so refusals such
   as an odometer rollback stay on chain.

Then each module's end-of-block hook runs, in registry order, on the block's state, each on
an overlay of its own: a hook that refuses (or crashes) changes nothing. A hook that emitted
events or refused gets a receipt of its own (``tx_hash`` ``end_block/<module>``), after the
transactions' receipts: the receipts root covers both.

Envelope rules (chain id, expiry, replay, signatures) are a block's validity conditions,
checked before execution: a block holding such a transaction is invalid as a whole.

Only the ledger's and the modules' own refusals (``LedgerError``, ``DecodeError``) become
failed receipts: they are the same on every peer. Anything else (a bug, ``MemoryError``,
``RecursionError``) may not be: a peer short of memory would write a receipt the others do
not. So it raises :class:`ExecutionHalted` and the block is not committed; the node logs
it and leaves the transaction out (a solo node) or retries and halts (a consortium peer).
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
    compute_merkle_root,
    encode_receipts,
)
from amchain.modules.base import BlockContext, TxContext
from amchain.runtime.authorise import authorise_signers, decode_args
from amchain.runtime.registry import ModuleRegistry

log = logging.getLogger(__name__)


class ExecutionHalted(Exception):
    """Executing a block raised something other than a refusal; the block must not be
    committed. ``tx_hash``: the transaction that raised (None: an end-of-block hook)."""

    def __init__(self, message: str, *, tx_hash: bytes | None, module: str) -> None:
        super().__init__(message)
        self.tx_hash = tx_hash
        self.module = module


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
    """One per transaction, in block order."""
    hook_receipts: list[Receipt]
    """Of the end-of-block hooks that emitted events or refused, in registry order."""
    write_set: list[tuple[str, bytes | None]]
    receipts_root: bytes
    index: list[IndexEntry]
    receipt_bytes: list[bytes]
    """The canonical JSON of ``receipts`` then ``hook_receipts`` (the receipts root's
    leaves and the stored rows), encoded once."""


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

    Raises:
        ExecutionHalted: the handler raised something other than a refusal.
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
    except Exception as exc:
        log.exception(
            "handler %s.%s raised on tx %s; the block is not committed",
            tx.body.module,
            tx.body.message,
            tx.hash_hex,
        )
        raise ExecutionHalted(
            f"{tx.body.module}.{tx.body.message} raised {type(exc).__name__} on tx {tx.hash_hex}",
            tx_hash=tx.hash,
            module=tx.body.module,
        ) from exc
    # emit events (the receipt carries them)
    overlay.flush_into(state)
    return Receipt(tx_hash=tx.hash_hex, ok=True, events=list(ctx.events)), pairs


def hook_receipt_id(module: str) -> str:
    """The ``tx_hash`` of the receipt of ``module``'s end-of-block hook."""
    return f"end_block/{module}"


def run_end_block_hooks(
    registry: ModuleRegistry, state: Overlay, header: BlockHeader
) -> list[Receipt]:
    """Run every module's end-of-block hook on ``state`` (the block's overlay), in registry
    order, each atomically. Returns the receipts of the hooks that emitted events or
    refused. A refusal drops the hook's changes and its receipt says why, the same on every
    peer.

    Raises:
        ExecutionHalted: a hook raised something other than a refusal.
    """
    receipts: list[Receipt] = []
    for module, hook in registry.end_block_hooks:
        overlay = Overlay(state)
        ctx = BlockContext(
            chain_id=header.chain_id, height=header.height, time_ms=header.time_ms, state=overlay
        )
        receipt_id = hook_receipt_id(module)
        try:
            hook(ctx)
        except LedgerError as error:
            receipts.append(
                Receipt(
                    tx_hash=receipt_id,
                    ok=False,
                    codespace=error.codespace,
                    code=int(error.code),
                    message=error.message,
                    details=error.details,
                )
            )
            continue
        except Exception as exc:
            log.exception(
                "end-of-block hook of %s raised at height %d; the block is not committed",
                module,
                header.height,
            )
            raise ExecutionHalted(
                f"the end-of-block hook of {module} raised {type(exc).__name__} at height "
                f"{header.height}",
                tx_hash=None,
                module=module,
            ) from exc
        overlay.flush_into(state)
        if ctx.events:
            receipts.append(Receipt(tx_hash=receipt_id, ok=True, events=list(ctx.events)))
    return receipts


def execute_block(
    registry: ModuleRegistry,
    state: StateReader,
    header: BlockHeader,
    txs: list[Transaction],
) -> BlockResult:
    """Execute ``txs`` on top of ``state``, then the end-of-block hooks, and return
    receipts, write set, receipts root and index rows.

    ``state`` is not modified; the caller applies :attr:`BlockResult.write_set` to the state
    tree (:func:`amchain.ledger.apply_state_updates`) and commits both.

    Raises:
        ExecutionHalted: a handler or hook raised something other than a refusal; commit
            nothing of this block.
    """
    block_state = Overlay(state)
    receipts: list[Receipt] = []
    index: list[IndexEntry] = []
    for tx_index, tx in enumerate(txs):
        receipt, pairs = execute_transaction(registry, block_state, header, tx)
        receipts.append(receipt)
        index.extend(_index_entries(tx, pairs, tx_index))
    hook_receipts = run_end_block_hooks(registry, block_state, header)
    write_set = block_state.write_set()
    receipt_bytes = encode_receipts(receipts + hook_receipts if hook_receipts else receipts)
    return BlockResult(
        receipts=receipts,
        hook_receipts=hook_receipts,
        write_set=write_set,
        receipts_root=compute_merkle_root(receipt_bytes),
        index=index,
        receipt_bytes=receipt_bytes,
    )
