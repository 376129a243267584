"""Solo ordering: the node itself cuts blocks from its mempool.

A block is cut when ``max_txs`` transactions or ``max_bytes`` bytes are waiting, or when the
oldest waiting transaction has waited ``max_wait_ms``. Blocks are produced one at a time by
``produce`` (which executes and commits them), so there is never more than one writer.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from amchain.consensus.signer_quota import SignerQuota
from amchain.ledger import Transaction


class MempoolFull(RuntimeError):
    """Too many transactions are waiting; the client should retry later."""


class SoloOrderer:
    """Mempool plus block cutter for the embedded single-node chain."""

    def __init__(
        self,
        *,
        max_txs: int,
        max_bytes: int,
        max_wait_ms: int,
        max_pending: int,
        produce: Callable[[list[Transaction]], Awaitable[None]],
        quota: SignerQuota | None = None,
    ) -> None:
        self._max_txs = max_txs
        self._max_bytes = max_bytes
        self._max_wait_s = max_wait_ms / 1000
        self._max_pending = max_pending
        self._produce = produce
        self._quota = quota
        self._pending: OrderedDict[bytes, Transaction] = OrderedDict()
        self._pending_bytes = 0
        self._in_block: dict[bytes, Transaction] = {}
        self._arrived = asyncio.Event()
        self._stopping = False

    def __len__(self) -> int:
        return len(self._pending)

    def knows(self, tx_hash: bytes) -> bool:
        """True if the transaction waits here or is in the block being produced."""
        return tx_hash in self._pending or tx_hash in self._in_block

    def add(self, tx: Transaction) -> bool:
        """Queue an admitted transaction; False if it was already queued.

        Raises:
            MempoolFull: the mempool holds ``max_pending`` transactions.
            QuotaExceeded: the signer has its quota waiting.
        """
        if self.knows(tx.hash):
            return False
        if len(self._pending) >= self._max_pending:
            raise MempoolFull(f"{len(self._pending)} transactions are waiting; retry shortly")
        if self._quota is not None:
            self._quota.reserve(tx)
        self._pending[tx.hash] = tx
        self._pending_bytes += len(tx.canonical)
        self._arrived.set()
        return True

    def _take(self) -> list[Transaction]:
        batch: list[Transaction] = []
        size = 0
        while self._pending and len(batch) < self._max_txs:
            tx_hash, tx = next(iter(self._pending.items()))
            if batch and size + len(tx.canonical) > self._max_bytes:
                break
            del self._pending[tx_hash]
            self._pending_bytes -= len(tx.canonical)
            if self._quota is not None:
                self._quota.release(tx)
            batch.append(tx)
            size += len(tx.canonical)
        return batch

    def _full(self) -> bool:
        return len(self._pending) >= self._max_txs or self._pending_bytes >= self._max_bytes

    async def run(self) -> None:
        """Cut and produce blocks until :meth:`stop`."""
        loop = asyncio.get_running_loop()
        while not self._stopping:
            if not self._pending:
                self._arrived.clear()
                await self._arrived.wait()
                continue
            deadline = loop.time() + self._max_wait_s
            while not self._full() and not self._stopping:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                self._arrived.clear()
                try:
                    await asyncio.wait_for(self._arrived.wait(), remaining)
                except TimeoutError:
                    break
            batch = self._take()
            if not batch:
                continue
            self._in_block = {tx.hash: tx for tx in batch}
            try:
                await self._produce(batch)
            finally:
                self._in_block = {}

    def stop(self) -> None:
        self._stopping = True
        self._arrived.set()
