"""The transactions a peer admitted and keeps until they are committed or expire.

A peer passes them to the cutter (:mod:`.etcd_forwarding`), passing again whatever is not
committed in time; the cutter takes its blocks from them (:mod:`.etcd_cutting`). A
transaction in a block cut but not yet applied here is *ordered*: still held, never taken
again.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass

from amchain.consensus.etcd_blocks import OrderedBlock
from amchain.consensus.etcd_context import OrderingContext, now_ms
from amchain.consensus.signer_quota import SignerQuota
from amchain.consensus.solo import MempoolFull
from amchain.ledger import Transaction, TxError, validate_transaction_window

__all__ = ["Waiting", "WaitingTxs"]


@dataclass(slots=True)
class Waiting:
    """A transaction waiting to be ordered, and where and when it was last passed."""

    tx: Transaction
    sent_to: str = ""
    sent_at: float = 0.0


class WaitingTxs:
    """The waiting transactions of one peer, in the order they arrived."""

    def __init__(self, ctx: OrderingContext, quota: SignerQuota | None = None) -> None:
        self._ctx = ctx
        self._quota = quota
        self.pending: OrderedDict[bytes, Waiting] = OrderedDict()
        self._by_bytes: dict[bytes, Transaction] = {}  # admitted here, by canonical bytes
        self.ordered: dict[bytes, int] = {}  # tx hash -> height of a block not yet applied
        self.arrived = asyncio.Event()
        """Set when a transaction arrives (and when a cutter is elected)."""
        self.fresh = asyncio.Event()
        """Set when there are new transactions to pass to the cutter."""
        self.fresh_hashes: list[bytes] = []
        self.applied = asyncio.Event()
        """Set when the peer applied a block."""

    def __len__(self) -> int:
        return len(self.pending)

    def knows(self, tx_hash: bytes) -> bool:
        return tx_hash in self.pending or tx_hash in self.ordered

    def add(self, tx: Transaction) -> bool:
        """Queue an admitted transaction; False if it is already waiting or ordered.

        Raises:
            MempoolFull: ``max_pending`` transactions are waiting.
            QuotaExceeded: the signer has its quota waiting.
        """
        if self.knows(tx.hash):
            return False
        if len(self.pending) >= self._ctx.config.max_pending:
            raise MempoolFull(f"{len(self.pending)} transactions are waiting; retry shortly")
        if self._quota is not None:
            self._quota.reserve(tx)
        self.pending[tx.hash] = Waiting(tx)
        self._by_bytes[tx.canonical] = tx
        self.fresh_hashes.append(tx.hash)
        self.fresh.set()
        self.arrived.set()
        return True

    def admitted(self, canonical: bytes) -> Transaction | None:
        """The transaction admitted here with exactly these canonical bytes, if any."""
        return self._by_bytes.get(canonical)

    def block_applied(self, block: OrderedBlock) -> None:
        """The peer committed ``block``: its transactions stop waiting."""
        for tx in block.txs:
            self.ordered.pop(tx.hash, None)
            self.forget(tx.hash)
        self.applied.set()

    def forget(self, tx_hash: bytes) -> None:
        gone = self.pending.pop(tx_hash, None)
        if gone is not None:
            self._by_bytes.pop(gone.tx.canonical, None)
            if self._quota is not None:
                self._quota.release(gone.tx)

    def drop_expired(self) -> None:
        """Forget the transactions that expired (the peer hears why)."""
        now = now_ms()
        expired = [h for h, w in self.pending.items() if w.tx.body.expires_at_ms <= now]
        for tx_hash in expired:
            waiting = self.pending[tx_hash]
            self.forget(tx_hash)
            try:
                validate_transaction_window(waiting.tx, chain_id=self._ctx.chain_id, now_ms=now)
            except TxError as error:
                self._ctx.hooks.dropped(tx_hash, error)

    def unordered(self) -> int:
        """How many waiting transactions are in no block yet."""
        return len(self.pending) - len(self.ordered)

    def ready(self, max_block_txs: int) -> bool:
        """Whether a block could be cut now."""
        if not self.pending:
            return False
        if self.unordered() >= max_block_txs:
            return True
        return any(h not in self.ordered for h in self.pending)

    def take(self, block_time_ms: int) -> list[Transaction]:
        """The transactions of the next block, at the block's time: valid then, in no
        committed block, within the block's limits; those that expired are dropped."""
        config = self._ctx.config
        candidates: list[Transaction] = []
        gone: list[bytes] = []
        for tx_hash, waiting in self.pending.items():
            if len(candidates) >= config.max_block_txs:
                break
            if tx_hash in self.ordered:
                continue
            tx = waiting.tx
            try:
                # Exactly the check every peer makes at the block's time.
                validate_transaction_window(tx, chain_id=self._ctx.chain_id, now_ms=block_time_ms)
            except TxError as error:
                gone.append(tx_hash)
                self._ctx.hooks.dropped(tx_hash, error)
                continue
            candidates.append(tx)
        # One query for the block: a transaction already in a block (passed again by a peer
        # that had not heard of its commit yet) is forgotten quietly; the block is smaller.
        committed = self._ctx.hooks.committed_among([tx.hash for tx in candidates])
        batch: list[Transaction] = []
        size = 0
        for tx in candidates:
            if tx.hash in committed:
                gone.append(tx.hash)
                continue
            if batch and size + len(tx.canonical) + 1 > config.max_block_bytes - 4096:
                break
            batch.append(tx)
            size += len(tx.canonical) + 1
        for tx_hash in gone:
            self.forget(tx_hash)
        return batch

    def mark_ordered(self, txs: list[Transaction], height: int) -> None:
        """``txs`` are in the block cut at ``height`` (not applied here yet)."""
        for tx in txs:
            self.ordered[tx.hash] = height
