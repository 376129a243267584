"""The node: storage, runtime and ordering wired together.

Life of a transaction: ``submit`` runs the admission pipeline in worker threads (signature
checks off the event loop, on every core), queues it in the orderer; the orderer cuts a
block; ``_produce_block`` (on the single writer thread) executes it and commits block,
receipts, state and indexes in one SQLite transaction; then waiters and event subscribers
hear about it. Only then is a transaction acknowledged as committed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from amchain.codec import DecodeError, convert
from amchain.consensus import MempoolFull, Orderer, SoloOrderer
from amchain.consensus.etcd import OrderedBlock
from amchain.crypto import KeyPair
from amchain.ledger import (
    EMPTY_TREE,
    GENESIS_PREV_HASH,
    BlockHeader,
    CommitRecord,
    LedgerError,
    MemoryState,
    Receipt,
    SignedCommit,
    StateReader,
    Transaction,
    TreeRoot,
    TxError,
    apply_state_updates,
    compute_block_hash,
    compute_merkle_root,
    compute_tx_root,
    encode_receipts,
    make_block_header,
    sign_commit_record,
    validate_transaction_window,
)
from amchain.node.admission_pool import (
    admit_part,
    error_from_refusal,
    init_worker,
    parse_submission,
    transaction_from_admitted,
    warm_up,
)
from amchain.node.cache import StateCache
from amchain.node.config import NodeConfig
from amchain.node.devnet import create_dev_chain, load_node_key
from amchain.node.lock import DataDirLock
from amchain.node.peer import validate_ordered_block
from amchain.runtime import (
    Genesis,
    ModuleRegistry,
    admit_transaction,
    apply_genesis,
    default_registry,
    execute_block,
    replay_refusal,
)
from amchain.storage import BlockStore, StoredTx

log = logging.getLogger(__name__)

ADMISSION_CACHE_ENTRIES = 20_000


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class Head:
    height: int
    hash: str
    time_ms: int
    state: TreeRoot

    @property
    def state_root(self) -> bytes:
        return self.state.hash


@dataclass(slots=True)
class SubmitOutcome:
    """The answer to one submitted transaction: admitted (with its hash) or refused."""

    index: int
    tx_hash: str | None = None
    error: LedgerError | DecodeError | None = None
    accepted: bool = False


@dataclass(slots=True)
class CommittedBlock:
    height: int
    hash: str
    time_ms: int
    receipts: list[Receipt] = field(default_factory=list)
    txs: list[Transaction] = field(default_factory=list)


class NodeUnavailable(RuntimeError):
    """The node cannot take transactions now (mempool full, shutting down)."""


class Node:
    """A single AutoMobile Chain peer with solo ordering. Create with :meth:`open`."""

    def __init__(
        self,
        *,
        config: NodeConfig,
        store: BlockStore,
        registry: ModuleRegistry,
        genesis: Genesis,
        node_key: KeyPair,
    ) -> None:
        self.config = config
        self.store = store
        self.registry = registry
        self.genesis = genesis
        self.chain_id = genesis.chain_id
        self.node_key = node_key
        self._admission_pool = ThreadPoolExecutor(
            max_workers=config.admission_threads, thread_name_prefix="admission"
        )
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="block-writer")
        self._processes: ProcessPoolExecutor | None = None
        self._admission_local = threading.local()
        if config.admission_processes and [m.name for m in registry.modules] != [
            m.name for m in default_registry().modules
        ]:
            raise ValueError("admission processes run the default registry only")
        # Two heads: ``_tip`` is the last block the writer wrote, which the next block builds
        # on; ``_head`` is the last one durable and visible to readers, which the API serves.
        # They differ only inside a block batch (a consortium peer applying a backlog).
        self._head = self._load_head()
        self._tip = self._head
        self._state_cache = StateCache(config.state_cache_entries)
        self._waiters: dict[bytes, list[asyncio.Future[StoredTx | None]]] = {}
        self._subscribers: set[asyncio.Queue[CommittedBlock]] = set()
        self._dropped: dict[bytes, TxError] = {}
        self._orderer: Orderer | None = None
        self.last_commit: SignedCommit | None = None
        self._task: asyncio.Task[None] | None = None
        self.started_at_ms = now_ms()
        self._data_dir_lock: DataDirLock | None = None  # set by the opening class methods

    # -- opening ---------------------------------------------------------------------
    @classmethod
    def open(cls, config: NodeConfig, *, registry: ModuleRegistry | None = None) -> Node:
        """Open the node in ``config.data_dir``, creating a development chain if it is empty.

        Raises:
            amchain.node.lock.DataDirInUse: another node has this data dir open.
            amchain.storage.StorageError: the database belongs to another chain or version.
        """
        lock = DataDirLock.acquire(config.data_dir)  # before anything is created in it
        try:
            if not config.genesis_path.exists():
                create_dev_chain(config)
            genesis = convert(
                json.loads(config.genesis_path.read_text()), Genesis, what="genesis.json"
            )
            store = BlockStore.open(config.db_path, background_checkpoints=True)
            node = cls(
                config=config,
                store=store,
                registry=registry or default_registry(),
                genesis=genesis,
                node_key=load_node_key(config),
            )
            node._data_dir_lock = lock
            node._ensure_genesis_block()
        except BaseException:
            lock.release()
            raise
        return node

    def _load_head(self) -> Head:
        height = self.store.latest_height()
        if height < 0:
            return Head(-1, GENESIS_PREV_HASH, 0, EMPTY_TREE)
        block = self.store.get_block(height)
        state = self.store.state_tree_root(height)
        assert block is not None and state is not None
        return Head(height, block.hash, block.header.time_ms, state)

    def _ensure_genesis_block(self) -> None:
        if self._head.height >= 0:
            stored = self.store.get_meta("genesis_hash")
            if stored is not None and stored.decode() != self.genesis.hash().hex():
                raise RuntimeError(
                    f"{self.config.db_path} was created from another genesis than "
                    f"{self.config.genesis_path}; refusing to start"
                )
            return
        state = MemoryState()
        apply_genesis(self.registry, state, self.genesis)
        write_set: list[tuple[str, bytes | None]] = list(state.items())
        header = BlockHeader(
            chain_id=self.chain_id,
            height=0,
            prev_hash=GENESIS_PREV_HASH,
            time_ms=self.genesis.genesis_time_ms,
            tx_root=compute_tx_root([]).hex(),
            tx_count=0,
            proposer=GENESIS_PREV_HASH,
        )
        self._commit(
            header,
            [],
            [],
            write_set,
            [],
            meta={
                "genesis_hash": self.genesis.hash().hex().encode(),
                "chain_id": self.chain_id.encode(),
            },
        )

    # -- block production (writer thread only) -----------------------------------------
    def _commit(
        self,
        header: BlockHeader,
        txs: list[Transaction],
        receipts: list[Receipt],
        write_set: list[tuple[str, bytes | None]],
        index: list[tuple[str, str, int]],
        *,
        meta: dict[str, bytes] | None = None,
        receipt_bytes: list[bytes] | None = None,
        in_batch: bool = False,
    ) -> CommittedBlock:
        """Write a block on top of the tip (``in_batch``: inside :meth:`BlockStore.block_batch`,
        whose caller moves the head to the tip once the batch is durable)."""
        block_hash = compute_block_hash(header)
        if receipt_bytes is None:
            receipt_bytes = encode_receipts(receipts)
        tree = apply_state_updates(
            self.store.writer_tree_nodes(),
            self._tip.state,
            write_set,
            next_node_id=self.store.next_tree_node_id(),
        )
        record = CommitRecord(
            chain_id=self.chain_id,
            height=header.height,
            block_hash=block_hash.hex(),
            state_root=tree.root.hash.hex(),
            receipts_root=compute_merkle_root(receipt_bytes).hex(),
        )
        commit = sign_commit_record(record, self.node_key)
        self.last_commit = commit
        self.store.commit_block(
            header=header,
            block_hash=block_hash,
            commit=commit,
            txs=txs,
            receipts=receipts,
            write_set=write_set,
            tree=tree,
            index=index,
            meta=meta,
            receipt_bytes=receipt_bytes,
        )
        self._tip = Head(header.height, block_hash.hex(), header.time_ms, tree.root)
        if not in_batch:
            self._head = self._tip
        return CommittedBlock(header.height, block_hash.hex(), header.time_ms, receipts, txs)

    def _apply_ordered_block(self, block: OrderedBlock) -> CommittedBlock:
        """Validate, execute and commit a block ordered elsewhere on top of the tip, inside
        :meth:`BlockStore.block_batch` (a consortium peer's block writer; the catch-up
        benchmark times this same path). Signatures are checked by the caller, in parallel.

        Raises:
            BlockError: the block may not follow the tip (it wrote nothing).
        """
        head = self._tip
        validate_ordered_block(
            block,
            chain_id=self.chain_id,
            height=head.height,
            head_hash=head.hash,
            head_time_ms=head.time_ms,
            committed_among=lambda hashes: self.store.known_txs(hashes, on_writer=True),
        )
        # State through the writer's cache, as the solo producer reads it: this thread is
        # the only writer, and the cache takes each block's writes once they are written
        # (in a batch not yet durable, but the batch's next block must read them).
        writer = self._state_cache.reader(self.store.writer_state())
        result = execute_block(self.registry, writer, block.header, block.txs)
        committed = self._commit(
            block.header,
            block.txs,
            result.receipts,
            result.write_set,
            [(e.kind, e.value, e.tx_index) for e in result.index],
            receipt_bytes=result.receipt_bytes,
            in_batch=True,
        )
        self._state_cache.apply(result.write_set)
        return committed

    def _produce_block(
        self, batch: list[Transaction]
    ) -> tuple[CommittedBlock, dict[bytes, TxError]]:
        head = self._tip
        block_time_ms = max(now_ms(), head.time_ms)
        # A block never holds a transaction that is expired, foreign or already included.
        valid: list[Transaction] = []
        dropped: dict[bytes, TxError] = {}
        seen: set[bytes] = set()
        writer = self._state_cache.reader(self.store.writer_state())
        included = self.store.known_txs([tx.hash for tx in batch], on_writer=True)
        for tx in batch:
            try:
                validate_transaction_window(tx, chain_id=self.chain_id, now_ms=block_time_ms)
            except TxError as error:
                dropped[tx.hash] = error
                continue
            if tx.hash in seen or tx.hash in included:
                continue
            seen.add(tx.hash)
            valid.append(tx)
        header = make_block_header(
            chain_id=self.chain_id,
            height=head.height + 1,
            prev_hash=head.hash,
            time_ms=block_time_ms,
            txs=valid,
            proposer=self.node_key.public_key,
        )
        result = execute_block(self.registry, writer, header, valid)
        block = self._commit(
            header,
            valid,
            result.receipts,
            result.write_set,
            [(e.kind, e.value, e.tx_index) for e in result.index],
            receipt_bytes=result.receipt_bytes,
        )
        self._state_cache.apply(result.write_set)
        return block, dropped

    async def _produce(self, batch: list[Transaction]) -> None:
        loop = asyncio.get_running_loop()
        block, dropped = await loop.run_in_executor(self._writer, self._produce_block, batch)
        self._dropped.update(dropped)
        if len(self._dropped) > 100_000:
            self._dropped.clear()
        self._announce(block, block.txs)
        for tx in batch:  # those still waited for were dropped from the block: None
            for fut in self._waiters.pop(tx.hash, ()):
                if not fut.done():
                    fut.set_result(None)

    def _announce(self, block: CommittedBlock, txs: list[Transaction]) -> None:
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

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        """Start cutting blocks (call from the event loop that serves the API)."""
        self._orderer = SoloOrderer(
            max_txs=self.config.max_block_txs,
            max_bytes=self.config.max_block_bytes,
            max_wait_ms=self.config.max_block_wait_ms,
            max_pending=self.config.max_mempool_txs,
            produce=self._produce,
        )
        self._task = asyncio.create_task(self._orderer.run(), name="solo-orderer")
        if self.config.admission_processes:
            await self._start_processes()

    async def _start_processes(self) -> None:
        """Start the admission worker processes and wait until each has imported the code."""
        count = self.config.admission_processes
        self._processes = ProcessPoolExecutor(
            max_workers=count,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=init_worker,
            initargs=(str(self.config.db_path), self.chain_id, os.getpid()),
        )
        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(loop.run_in_executor(self._processes, warm_up) for _ in range(count))
        )

    async def stop(self) -> None:
        """Stop cutting blocks after the one being produced; pending transactions are dropped."""
        if self._orderer is not None:
            self._orderer.stop()
        if self._task is not None:
            await self._task
        self._writer.shutdown(wait=True)
        self._admission_pool.shutdown(wait=True)
        if self._processes is not None:
            self._processes.shutdown(wait=True, cancel_futures=True)
        self.store.close()
        self._release_data_dir()

    def _release_data_dir(self) -> None:
        """Let another node open the data dir (the last step of stopping)."""
        if self._data_dir_lock is not None:
            self._data_dir_lock.release()

    # -- reads ----------------------------------------------------------------------------
    @property
    def head(self) -> Head:
        return self._head

    def pending_count(self) -> int:
        return len(self._orderer) if self._orderer is not None else 0

    def tx_status(self, tx_hash: bytes) -> tuple[str, StoredTx | None, TxError | None]:
        """Return the status ("committed", "pending", "dropped" or "unknown"), the stored
        transaction if committed, and why it was dropped if it was."""
        stored = self.store.get_tx(tx_hash)
        if stored is not None:
            return "committed", stored, None
        if self._orderer is not None and self._orderer.knows(tx_hash):
            return "pending", None, None
        if tx_hash in self._dropped:
            return "dropped", None, self._dropped[tx_hash]
        return "unknown", None, None

    # -- writes ---------------------------------------------------------------------------
    def _admit_chunk(
        self, items: list[tuple[int, Any]]
    ) -> list[tuple[int, Transaction | None, Exception | None]]:
        state = self._admission_state()
        now = now_ms()
        out: list[tuple[int, Transaction | None, Exception | None]] = []
        # The replay check against committed blocks is one query for the chunk: the pipeline
        # asks only the orderer, notes each transaction that reached the check, and those
        # the query finds committed are refused as REPLAYED (whatever a later step said,
        # exactly as if the check had refused them in place).
        reached: list[tuple[int, bytes]] = []

        def is_pending(tx_hash: bytes) -> bool:
            if self._orderer is not None and self._orderer.knows(tx_hash):
                return True
            reached.append((len(out), tx_hash))
            return False

        for index, value in items:
            try:
                tx = admit_transaction(
                    value,
                    registry=self.registry,
                    state=state,
                    chain_id=self.chain_id,
                    now_ms=now,
                    is_known=is_pending,
                )
                out.append((index, tx, None))
            except (LedgerError, DecodeError) as error:
                out.append((index, None, error))
        if reached:
            committed = self.store.known_txs([tx_hash for _, tx_hash in reached])
            for position, tx_hash in reached:
                if tx_hash in committed:
                    out[position] = (out[position][0], None, replay_refusal(tx_hash))
        return out

    def _admission_state(self) -> StateReader:
        """Committed state for an admission thread, through a cache of its own that lives
        while the head stays at one height (the keys every transaction reads, consortium
        keys and organisations, are read once per block), as in the admission processes."""
        local = self._admission_local
        height = self._head.height
        if getattr(local, "height", None) != height:
            local.cache = StateCache(ADMISSION_CACHE_ENTRIES)
            local.height = height
        cache: StateCache = local.cache
        return cache.reader(self.store.state())

    async def submit(self, values: list[Any]) -> list[SubmitOutcome]:
        """Admit parsed transactions and queue the good ones; one outcome per value, in order.

        Raises:
            NodeUnavailable: the mempool is full (nothing of this batch was queued).
        """
        self._check_room(len(values))
        loop = asyncio.get_running_loop()
        items = list(enumerate(values))
        workers = max(1, min(self.config.admission_threads, len(items) // 64 or 1))
        # Contiguous chunks, queued in order below: a batch keeps its order in the block.
        size = -(-len(items) // workers)
        chunks = [items[i : i + size] for i in range(0, len(items), size)]
        results = await asyncio.gather(
            *(loop.run_in_executor(self._admission_pool, self._admit_chunk, c) for c in chunks)
        )
        # Queue in submission order, whatever order the admission workers finished in: a
        # batch of dependent transactions (odometer readings, say) executes as it was sent.
        admitted = sorted((item for chunk in results for item in chunk), key=lambda r: r[0])
        return self._queue(len(values), admitted)

    async def submit_body(self, raw: bytes, *, max_depth: int) -> tuple[bool, list[SubmitOutcome]]:
        """Parse a ``POST /v1/txs`` body (one transaction or ``{"txs": [...]}``), admit and
        queue; returns whether it was a batch and one outcome per transaction, in order.

        With admission processes, parsing and admission run in them (a large body is split
        between them); otherwise parsing runs here and admission in threads.

        Raises:
            DecodeError: the body as a whole is refused (malformed, too deep, bad ``txs``).
            NodeUnavailable: the mempool is full, or the admission workers had to restart.
        """
        if self._processes is None:
            values, is_batch = parse_submission(
                raw, max_bytes=self.config.max_body_bytes, max_depth=max_depth
            )
            return is_batch, await self.submit(values)
        if self._orderer is None:
            raise NodeUnavailable("the node is not producing blocks")
        loop = asyncio.get_running_loop()
        parts = max(1, min(self.config.admission_processes, len(raw) // 32_768))
        now = now_ms()
        try:
            answers = await asyncio.gather(
                *(
                    loop.run_in_executor(
                        self._processes, admit_part, raw, part, parts, now,
                        self.config.max_body_bytes, max_depth,
                    )
                    for part in range(parts)
                )
            )  # fmt: skip
        except BrokenProcessPool as exc:
            log.error("an admission worker died; starting new ones")
            await self._start_processes()
            raise NodeUnavailable("admission workers restarted; retry the request") from exc
        admitted: list[tuple[int, Transaction | None, Exception | None]] = []
        is_batch = False
        for answer in answers:
            if not isinstance(answer[1], list):
                raise error_from_refusal(answer)
            is_batch = bool(answer[0])
            for index, canonical, tail in answer[1]:
                if canonical is None:
                    admitted.append((index, None, error_from_refusal(tail)))  # type: ignore[arg-type]
                else:
                    tx = transaction_from_admitted(canonical, tail)  # type: ignore[arg-type]
                    admitted.append((index, tx, None))
        self._check_room(len(admitted))
        return is_batch, self._queue(len(admitted), admitted)

    def _check_room(self, count: int) -> None:
        if self._orderer is None:
            raise NodeUnavailable("the node is not producing blocks")
        if len(self._orderer) + count > self.config.max_mempool_txs:
            raise NodeUnavailable(
                f"{len(self._orderer)} transactions are waiting; retry in a moment"
            )

    def _queue(
        self, count: int, admitted: list[tuple[int, Transaction | None, Exception | None]]
    ) -> list[SubmitOutcome]:
        """Queue admitted transactions in index order; one outcome per index."""
        assert self._orderer is not None
        outcomes: list[SubmitOutcome] = [SubmitOutcome(index=i) for i in range(count)]
        for index, tx, error in admitted:
            outcome = outcomes[index]
            if tx is None:
                outcome.error = error  # type: ignore[assignment]
                continue
            outcome.tx_hash = tx.hash_hex
            try:
                if self._orderer.add(tx):
                    outcome.accepted = True
                else:
                    outcome.error = replay_refusal(tx.hash)
            except MempoolFull as exc:
                raise NodeUnavailable(str(exc)) from exc
        return outcomes

    async def wait_for_commit(self, tx_hash: bytes, timeout_s: float) -> StoredTx | None:
        """Wait until the transaction is committed (or ``timeout_s`` passes); None on timeout
        or if it was dropped from its block."""
        return (await self.wait_for_commits([tx_hash], timeout_s))[0]

    async def wait_for_commits(
        self, tx_hashes: list[bytes], timeout_s: float
    ) -> list[StoredTx | None]:
        """Wait until every transaction is committed, or ``timeout_s`` passes; one answer per
        hash (None: not committed in time, dropped, or unknown)."""
        # The event loop is the only thread that resolves waiters, so a transaction the
        # orderer knows now is still to be committed: wait for its block without reading
        # the database. Only a transaction it does not know may already be committed.
        loop = asyncio.get_running_loop()
        answers: list[StoredTx | None] = [None] * len(tx_hashes)
        futures: list[tuple[int, bytes, asyncio.Future[StoredTx | None]]] = []
        for i, tx_hash in enumerate(tx_hashes):
            if self._orderer is None or not self._orderer.knows(tx_hash):
                answers[i] = self.store.get_tx(tx_hash)
                if answers[i] is not None or timeout_s <= 0 or not self._commit_may_arrive():
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
                answers[i] = fut.result() or self.store.get_tx(tx_hash)
                continue
            fut.cancel()
            waiters = self._waiters.get(tx_hash)
            if waiters and fut in waiters:
                waiters.remove(fut)
                if not waiters:
                    del self._waiters[tx_hash]
        return answers

    def _commit_may_arrive(self) -> bool:
        """Whether a transaction this node's orderer does not hold may still be committed
        here. A solo node orders everything itself, so no; a consortium peer, yes (another
        peer may have admitted it)."""
        return False

    @property
    def certified_height(self) -> int:
        """The latest height whose commit record is certified (a solo node: the head)."""
        return self._head.height

    def certified_commits(self, height: int) -> list[SignedCommit]:
        """The signed commit records that certify ``height`` (a solo node: its own)."""
        block = self.store.get_block(height)
        return [] if block is None else [block.commit]

    async def wait_for_final(
        self, tx_hash: bytes, timeout_s: float
    ) -> tuple[StoredTx | None, bool]:
        """Wait until the transaction's block is final. A solo node is its own quorum, so
        final means committed; the cluster peer overrides this."""
        stored = await self.wait_for_commit(tx_hash, timeout_s)
        return stored, stored is not None

    async def wait_for_finals(
        self, tx_hashes: list[bytes], timeout_s: float
    ) -> list[tuple[StoredTx | None, bool]]:
        """:meth:`wait_for_final` for a batch (a solo node: committed is final)."""
        committed = await self.wait_for_commits(tx_hashes, timeout_s)
        return [(stored, stored is not None) for stored in committed]

    def subscribe(self, maxsize: int = 1024) -> asyncio.Queue[CommittedBlock]:
        queue: asyncio.Queue[CommittedBlock] = asyncio.Queue(maxsize=maxsize)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[CommittedBlock]) -> None:
        self._subscribers.discard(queue)
