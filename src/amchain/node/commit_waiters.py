"""Who waits for which transaction's commit, and who follows committed blocks.

Everything here runs on the node's event loop, which is the only thread that resolves
waiters: a transaction the orderer holds now is still to be committed, so its waiter needs
no database read; only one the orderer does not hold may be committed already.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from amchain.ledger import Transaction
from amchain.node.block_writer import CommittedBlock
from amchain.storage import StoredTx

__all__ = ["CommitWaiters"]


class CommitWaiters:
    """Futures waiting for transactions' commits, and queues following committed blocks."""

    def __init__(self) -> None:
        self._waiters: dict[bytes, list[asyncio.Future[StoredTx | None]]] = {}
        self._subscribers: set[asyncio.Queue[CommittedBlock]] = set()

    def announce(self, block: CommittedBlock, txs: list[Transaction]) -> None:
        """Wake the waiters of ``txs`` (the block's transactions, in order) with their
        receipts from the block just committed (no database read), then hand the block to
        its subscribers."""
        waiters = self._waiters
        for index, tx in enumerate(txs):
            futures = waiters.pop(tx.hash, None)
            if not futures:
                continue
            stored = StoredTx(tx.hash_hex, block.height, index, tx.canonical, block.receipts[index])
            for fut in futures:
                if not fut.done():
                    fut.set_result(stored)
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(block)
            except asyncio.QueueFull:
                self._subscribers.discard(queue)  # a slow reader resumes from its height

    def release(self, tx_hashes: Iterable[bytes]) -> None:
        """Answer None to whoever still waits for these transactions (left out of the block
        they were cut into: expired, foreign or repeated)."""
        for tx_hash in tx_hashes:
            for fut in self._waiters.pop(tx_hash, ()):
                if not fut.done():
                    fut.set_result(None)

    async def wait(
        self,
        tx_hashes: list[bytes],
        timeout_s: float,
        *,
        is_pending: Callable[[bytes], bool],
        find_committed: Callable[[bytes], StoredTx | None],
        may_arrive: bool,
    ) -> list[StoredTx | None]:
        """Wait until every transaction is committed, or ``timeout_s`` passes; one answer per
        hash (None: not committed in time, dropped, or unknown).

        ``is_pending(hash)``: this node's orderer holds it; ``find_committed(hash)``: read it
        from storage; ``may_arrive``: a transaction this node's orderer does not hold may
        still be committed here (a consortium peer: another peer may have admitted it).
        """
        loop = asyncio.get_running_loop()
        answers: list[StoredTx | None] = [None] * len(tx_hashes)
        futures: list[tuple[int, bytes, asyncio.Future[StoredTx | None]]] = []
        for i, tx_hash in enumerate(tx_hashes):
            if not is_pending(tx_hash):
                answers[i] = find_committed(tx_hash)
                if answers[i] is not None or timeout_s <= 0 or not may_arrive:
                    continue
            fut: asyncio.Future[StoredTx | None] = loop.create_future()
            self._waiters.setdefault(tx_hash, []).append(fut)
            futures.append((i, tx_hash, fut))
        if futures:
            await asyncio.wait([f for _, _, f in futures], timeout=timeout_s)
        for i, tx_hash, fut in futures:
            if fut.done():
                # A waker that knows the receipt hands it over; one that does not (a peer
                # applying another peer's block) leaves it to be read.
                answers[i] = fut.result() or find_committed(tx_hash)
                continue
            fut.cancel()
            waiters = self._waiters.get(tx_hash)
            if waiters and fut in waiters:
                waiters.remove(fut)
                if not waiters:
                    del self._waiters[tx_hash]
        return answers

    def subscribe(self, maxsize: int = 1024) -> asyncio.Queue[CommittedBlock]:
        """A queue that receives every block committed from now on (dropped when full)."""
        queue: asyncio.Queue[CommittedBlock] = asyncio.Queue(maxsize=maxsize)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[CommittedBlock]) -> None:
        self._subscribers.discard(queue)
