"""Every peer (the cutter too) takes blocks from etcd in height order and hands them to its
node: range reads to catch up, then a watch for new ones; below etcd's retained history, the
node's block source (other peers' APIs). Duplicates (a height already applied) are
ignored; a block that does not decode halts the peer.

Blocks are decoded and their signatures checked in worker threads ahead of being applied
(*prepared*), so the block writer does not wait for them. A peer far behind writes final
blocks ``BLOCKS_PER_WRITE`` to a COMMIT.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from amchain.consensus.etcd_blocks import (
    BlockDecodeError,
    OrderedBlock,
    decode_block,
    unpack_block_value,
)
from amchain.consensus.etcd_context import OrderingContext, log
from amchain.consensus.etcd_mempool import WaitingTxs
from amchain.consensus.etcdv3 import EtcdCompacted, EtcdUnavailable, KeyValue, prefix_end
from amchain.ledger import SignedCommit, TxError, verify_transaction_signatures

__all__ = ["BLOCKS_PER_WRITE", "CATCH_UP_READ_BLOCKS", "BlockIntake"]

# A peer catching up (further behind than this) commits up to this many blocks that are
# final already with one COMMIT (see BlockIntake.apply_in_writes).
BLOCKS_PER_WRITE = 16
CATCH_UP_READ_BLOCKS = 4 * BLOCKS_PER_WRITE  # blocks per range read (values ≤ 1.5 MiB each)


class BlockIntake:
    """Blocks from etcd (and other peers) to this peer's node, in height order."""

    def __init__(self, ctx: OrderingContext, waiting: WaitingTxs) -> None:
        self._ctx = ctx
        self._waiting = waiting
        self._prepare_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="prepare")
        self.prepared: dict[tuple[int, int], asyncio.Future[OrderedBlock]] = {}
        """Blocks being decoded and checked ahead, by (height, etcd mod revision)."""
        self.duplicates_ignored = 0

    def shutdown(self) -> None:
        self._prepare_pool.shutdown(wait=True, cancel_futures=True)

    async def loop(self) -> None:
        """Apply blocks in height order: range reads to catch up, then a watch."""
        while not self._ctx.stopping:
            if self._ctx.hooks.halted() is not None:
                await asyncio.sleep(1)
                continue
            try:
                revision = await self._catch_up()
                await self._follow(revision)
            except (EtcdUnavailable, EtcdCompacted) as exc:
                log.info("block intake: %s; catching up again", exc)
                await asyncio.sleep(0.3)

    async def _catch_up(self) -> int:
        """Apply every block etcd (or, below its history, another peer) holds; return the
        etcd revision to watch from.

        Blocks are read ``CATCH_UP_READ_BLOCKS`` at a time; while one read's blocks are
        applied, the next read is under way and its first blocks are prepared, so the block
        writer does not stop between reads.
        """
        ahead: asyncio.Task[tuple[list[KeyValue], int]] | None = None
        ahead_from = 0  # the height the read ahead starts at
        try:
            while not self._ctx.stopping and self._ctx.hooks.halted() is None:
                applied = self._ctx.hooks.applied()[0]
                kvs: list[KeyValue] = []
                if ahead is not None:
                    task, ahead = ahead, None
                    if ahead_from == applied + 1:
                        kvs, revision = await task
                        if not kvs:
                            return revision  # nothing after this peer's head: watch
                    else:  # read for a head this peer did not reach: read again
                        task.cancel()
                        with contextlib.suppress(BaseException):
                            await task
                if not kvs:
                    kvs, revision = await self._read_blocks(applied + 1)
                if not kvs:
                    return revision
                self._ctx.see_height(self._ctx.keys.height_of(kvs[-1].key))
                first = self._ctx.keys.height_of(kvs[0].key)
                if first > applied + 1:
                    await self._fetch_from_peers(applied + 1, first - applied - 1)
                    continue
                if len(kvs) == CATCH_UP_READ_BLOCKS:  # more may follow
                    ahead_from = self._ctx.keys.height_of(kvs[-1].key) + 1
                    ahead = asyncio.create_task(self._read_blocks(ahead_from))
                await self.offer_in_writes(kvs, ahead)
            return 0
        finally:
            if ahead is not None:
                ahead.cancel()
                with contextlib.suppress(BaseException):
                    await ahead

    async def _read_blocks(self, height: int) -> tuple[list[KeyValue], int]:
        """Up to ``CATCH_UP_READ_BLOCKS`` blocks from ``height`` on, and etcd's revision."""
        return await self._ctx.etcd.range(
            self._ctx.keys.block(height),
            prefix_end(self._ctx.keys.blocks),
            limit=CATCH_UP_READ_BLOCKS,
        )

    async def _fetch_from_peers(self, height: int, count: int) -> None:
        blocks = await self._ctx.hooks.fetch(height, min(count, 64))
        if not blocks:
            await asyncio.sleep(0.5)
            return
        # The blocks that follow on from this peer's head, in order.
        run: list[tuple[OrderedBlock, list[SignedCommit] | None]] = []
        for block, certificate in blocks:
            if block.height != height + len(run):
                break
            run.append((block, certificate))
        await self.apply_in_writes(run)

    async def apply_in_writes(
        self, blocks: list[tuple[OrderedBlock, list[SignedCommit] | None]]
    ) -> None:
        """Have the peer apply consecutive ``blocks``: while it is more than
        ``BLOCKS_PER_WRITE`` blocks behind the network and they are final already, up to
        that many to one write; otherwise one block to a write.

        A final block is one a quorum of other peers signed, so this peer's commit record
        cannot make it final any sooner, and a peer that far behind is catching up: one
        COMMIT for many blocks gets it back faster. A peer a few blocks behind writes each
        block alone, so that neither its record nor its clients' answers wait for the blocks
        after it.
        """
        start = 0
        while start < len(blocks) and self._ctx.hooks.halted() is None:
            final = self._ctx.hooks.final_height()
            end = start + 1
            # How far the network is ahead: the highest block read from etcd, or the final
            # height the other peers' records show (a read of etcd may not reach the head).
            behind = max(self._ctx.latest_seen, final) - self._ctx.hooks.applied()[0]
            if behind > BLOCKS_PER_WRITE and _is_final(blocks[start], final):
                while (
                    end < len(blocks)
                    and end - start < BLOCKS_PER_WRITE
                    and _is_final(blocks[end], final)
                ):
                    end += 1
            await self._ctx.hooks.apply(blocks[start:end])
            start = end

    async def offer_in_writes(
        self,
        kvs: list[KeyValue],
        ahead: asyncio.Task[tuple[list[KeyValue], int]] | None = None,
    ) -> bool:
        """Offer ``kvs`` a write's worth at a time, preparing the next write's blocks while
        one is applied (past the end of ``kvs``, the first of the read ``ahead`` once it
        has arrived). Returns False where :meth:`offer` does."""
        for start in range(0, len(kvs), BLOCKS_PER_WRITE):
            window = kvs[start : start + 2 * BLOCKS_PER_WRITE]
            if len(window) < 2 * BLOCKS_PER_WRITE and _succeeded(ahead):
                assert ahead is not None
                window += ahead.result()[0][: 2 * BLOCKS_PER_WRITE - len(window)]
            for kv in window:
                self.prefetch(kv)
            if not await self.offer(kvs[start : start + BLOCKS_PER_WRITE]):
                return False
        return True

    async def offer(self, kvs: list[KeyValue]) -> bool:
        """Hand block events to the node: ignore old heights, apply the next ones, as many
        to a write as are prepared already (the block writer does not wait for a whole
        write's worth while the first are ready). Returns False at a gap (the caller catches
        up first) or a halt."""
        applied = self._ctx.hooks.applied()[0]
        for stale in [k for k in self.prepared if k[0] <= applied]:
            self.prepared.pop(stale).cancel()
        next_height = applied + 1
        blocks: list[tuple[OrderedBlock, list[SignedCommit] | None]] = []
        for kv in kvs:
            height = self._ctx.keys.height_of(kv.key)
            self._ctx.see_height(height)
            if height < next_height:
                self.duplicates_ignored += 1
                log.info(
                    "ignoring a block event for height %d (already at %d)", height, next_height - 1
                )
                continue
            if height > next_height:
                break  # a gap: apply what follows on, then catch up
            future = self.prepared.pop((height, kv.mod_revision), None)
            if future is None:
                future = self._start_prepare(kv)
            if blocks and not future.done():
                await self.apply_in_writes(blocks)  # while this one is being prepared
                blocks = []
                if self._ctx.hooks.halted() is not None:
                    return False
            try:
                blocks.append((await future, None))
            except BlockDecodeError as exc:
                await self.apply_in_writes(blocks)
                self._ctx.hooks.halt(f"block {height} in etcd is invalid: {exc}")
                return False
            next_height += 1
        else:
            await self.apply_in_writes(blocks)
            return self._ctx.hooks.halted() is None
        await self.apply_in_writes(blocks)
        return False

    def _prepare(self, data: bytes) -> OrderedBlock:
        """Decode a block and check its signatures (worker thread: decoding re-hashes every
        transaction, and the event loop serves the API). A signature that does not verify
        is left unmarked: the peer checks it again and halts with the reason."""
        block = decode_block(unpack_block_value(data), self._waiting.admitted)
        verified = set(block.verified)
        for tx in block.txs:
            if tx.hash not in verified:
                with contextlib.suppress(TxError):
                    verify_transaction_signatures(tx)
                    verified.add(tx.hash)
        return dataclasses.replace(block, verified=frozenset(verified))

    def _start_prepare(self, kv: KeyValue) -> asyncio.Future[OrderedBlock]:
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(self._prepare_pool, self._prepare, kv.value)

    def prefetch(self, kv: KeyValue) -> None:
        """Start preparing a block that will be applied soon (while the ones before it
        execute), at most two writes' worth ahead."""
        height = self._ctx.keys.height_of(kv.key)
        if height <= self._ctx.hooks.applied()[0] or len(self.prepared) >= 2 * BLOCKS_PER_WRITE:
            return
        key = (height, kv.mod_revision)
        if key not in self.prepared:
            self.prepared[key] = self._start_prepare(kv)

    async def _follow(self, revision: int) -> None:
        """Watch for new blocks from ``revision``; return to catch up on a gap or silence."""
        if revision == 0:
            return
        queue: asyncio.Queue[list[KeyValue] | None] = asyncio.Queue()

        async def pump() -> None:
            try:
                async for events in self._ctx.etcd.watch(
                    self._ctx.keys.blocks,
                    prefix_end(self._ctx.keys.blocks),
                    start_revision=revision + 1,
                ):
                    await queue.put([e.kv for e in events if not e.deleted])
            except (EtcdUnavailable, EtcdCompacted) as exc:
                log.info("block watch ended: %s", exc)
            except httpx.HTTPError as exc:
                log.info("block watch broke: %s", exc)
            finally:
                await queue.put(None)

        task = asyncio.create_task(pump())
        following_since = asyncio.get_running_loop().time()
        try:
            while not self._ctx.stopping and self._ctx.hooks.halted() is None:
                try:
                    kvs = await asyncio.wait_for(queue.get(), 2.0)
                except TimeoutError:
                    return  # quiet for 2 s: look again with a range read
                if kvs is None:
                    return
                if self._ctx.resumed_at > following_since:
                    # This process was paused (SIGSTOP, a suspended VM): what the stream
                    # buffered meanwhile may be cut short or cancelled by etcd. Start over
                    # from a range read (and other peers, below etcd's history).
                    log.warning("resumed after a pause; re-reading blocks")
                    return
                ended = False
                while not queue.empty():  # a backlog (after a pause): prepare ahead
                    more = queue.get_nowait()
                    if more is None:
                        ended = True
                        break
                    kvs.extend(more)
                if not await self.offer_in_writes(kvs):
                    return
                if ended:
                    return
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def _succeeded(task: asyncio.Task[Any] | None) -> bool:
    """Whether ``task`` finished with a result (not cancelled, no exception)."""
    return task is not None and task.done() and not task.cancelled() and task.exception() is None


def _is_final(entry: tuple[OrderedBlock, list[SignedCommit] | None], final_height: int) -> bool:
    """Whether a block is final: at or below the final height this peer knows, or come with
    a quorum certificate (fetched from another peer; the peer checks it before applying)."""
    block, certificate = entry
    return certificate is not None or block.height <= final_height
