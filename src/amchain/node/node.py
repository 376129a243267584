"""The node: storage, runtime and ordering wired together.

Life of a transaction: ``submit`` runs the admission pipeline (:mod:`amchain.node.intake`)
and queues it in the orderer; the orderer cuts a block; the block writer
(:mod:`amchain.node.block_writer`, on the single writer thread) executes it and commits
block, receipts, state and indexes in one SQLite transaction; then waiters and event
subscribers hear about it (:mod:`amchain.node.commit_waiters`). Only then is a transaction
acknowledged as committed.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from amchain.codec import convert
from amchain.consensus import Orderer, SignerQuota, SoloOrderer
from amchain.crypto import KeyPair
from amchain.ledger import SignedCommit, Transaction, TxError
from amchain.node.block_writer import BlockWriter, CommittedBlock, Head
from amchain.node.commit_waiters import CommitWaiters
from amchain.node.config import NodeConfig
from amchain.node.devnet import create_dev_chain, load_node_key
from amchain.node.intake import NodeUnavailable, SubmitOutcome, TxIntake
from amchain.node.lock import DataDirLock
from amchain.node.metrics import NodeMetrics
from amchain.runtime import Genesis, ModuleRegistry, default_registry
from amchain.storage import BlockStore, StoredTx

__all__ = ["CommittedBlock", "Head", "Node", "NodeUnavailable", "SubmitOutcome", "now_ms"]

MAX_DROPPED_KEPT = 100_000
T = TypeVar("T")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def restrict_database_files(db_path: Path) -> None:
    """Make the database and its WAL files readable by the node's user only (SQLite gives
    the journal files the database file's mode, so a new database starts as an empty 0600
    file)."""
    if not db_path.exists():
        os.close(os.open(db_path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
    for path in (db_path, db_path.with_name(db_path.name + "-wal"),
                 db_path.with_name(db_path.name + "-shm")):  # fmt: skip
        if path.exists():
            path.chmod(0o600)


class Node:
    """A single AutoMobile Chain peer with solo ordering. Create with :meth:`open`.

    Parts others build on (the consortium peer, the API, the benchmarks): ``store``,
    ``writer`` (the :class:`BlockWriter`), ``waiters`` (:class:`CommitWaiters`),
    ``intake`` (:class:`TxIntake`) and ``orderer``.
    """

    ordering = "solo"
    orders_everything = True
    """Every transaction this node commits went through its own orderer (a consortium peer
    also commits transactions other peers admitted)."""

    def __init__(
        self,
        *,
        config: NodeConfig,
        store: BlockStore,
        registry: ModuleRegistry,
        genesis: Genesis,
        node_key: KeyPair,
        data_dir_lock: DataDirLock | None = None,
    ) -> None:
        if config.admission_processes and [m.name for m in registry.modules] != [
            m.name for m in default_registry().modules
        ]:
            raise ValueError("admission processes run the default registry only")
        self.config = config
        self.store = store
        self.registry = registry
        self.genesis = genesis
        self.chain_id = genesis.chain_id
        self.node_key = node_key
        self.writer = BlockWriter(
            store=store,
            registry=registry,
            chain_id=genesis.chain_id,
            node_key=node_key,
            state_cache_entries=config.state_cache_entries,
        )
        self.waiters = CommitWaiters()
        self.metrics = NodeMetrics()
        self.orderer: Orderer | None = None
        self.intake = TxIntake(
            config=config,
            store=store,
            registry=registry,
            chain_id=genesis.chain_id,
            orderer=lambda: self.orderer,
            head_height=lambda: self.writer.head.height,
            now_ms=now_ms,
            metrics=self.metrics,
        )
        self._writer_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="block-writer")
        self._dropped: dict[bytes, TxError] = {}
        self._task: asyncio.Task[None] | None = None
        self._data_dir_lock = data_dir_lock
        self.started_at_ms = now_ms()

    # -- opening ---------------------------------------------------------------------
    @classmethod
    def open(cls, config: NodeConfig, *, registry: ModuleRegistry | None = None) -> Node:
        """Open the node in ``config.data_dir``, creating a development chain if it is empty.

        Raises:
            amchain.node.lock.DataDirInUse: another node has this data dir open.
            amchain.storage.StorageError: the database belongs to another chain or version.
            RuntimeError: the database was made from another genesis.
        """
        lock = DataDirLock.acquire(config.data_dir)  # before anything is created in it
        try:
            registry = registry or default_registry()
            if not config.genesis_path.exists():
                create_dev_chain(config, registry)
            genesis = convert(
                json.loads(config.genesis_path.read_text()), Genesis, what="genesis.json"
            )
            restrict_database_files(config.db_path)
            store = BlockStore.open(config.db_path, background_checkpoints=True)
            node = cls(
                config=config,
                store=store,
                registry=registry,
                genesis=genesis,
                node_key=load_node_key(config),
                data_dir_lock=lock,
            )
            node.writer.write_genesis(genesis)
        except BaseException:
            lock.release()
            raise
        return node

    # -- the writer thread -------------------------------------------------------------
    async def run_on_writer(self, work: Callable[..., T], *args: Any) -> T:
        """Run ``work(*args)`` on the node's one writer thread (where the block writer and
        everything that writes blocks runs)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer_thread, work, *args)

    def _produce_block(
        self, batch: list[Transaction]
    ) -> tuple[CommittedBlock, dict[bytes, TxError]]:
        return self.writer.produce(batch, now_ms=now_ms())

    async def _produce(self, batch: list[Transaction]) -> None:
        started = time.perf_counter()
        block, dropped = await self.run_on_writer(self._produce_block, batch)
        self.metrics.committed(
            blocks=1,
            txs=len(block.txs),
            seconds=time.perf_counter() - started,
            last_time_ms=block.time_ms,
        )
        for tx_hash, error in dropped.items():
            self.record_dropped(tx_hash, error)
        self.waiters.announce(block, block.txs)
        self.waiters.release(tx.hash for tx in batch)  # those left out of the block

    def record_dropped(self, tx_hash: bytes, error: TxError) -> None:
        """Remember why an admitted transaction was left out of its block (for its status)."""
        if len(self._dropped) >= MAX_DROPPED_KEPT:
            self._dropped.clear()
        self._dropped[tx_hash] = error

    # -- lifecycle ------------------------------------------------------------------------
    def start_ordering(self, orderer: Orderer, *, name: str) -> None:
        """Take transactions into ``orderer`` from now on and run its loop."""
        self.orderer = orderer
        self._task = asyncio.create_task(orderer.run(), name=name)

    async def start(self) -> None:
        """Start cutting blocks (call from the event loop that serves the API)."""
        orderer = SoloOrderer(
            max_txs=self.config.max_block_txs,
            max_bytes=self.config.max_block_bytes,
            max_wait_ms=self.config.max_block_wait_ms,
            max_pending=self.config.max_mempool_txs,
            produce=self._produce,
            quota=SignerQuota(
                max_txs=self.config.max_pending_per_signer,
                max_bytes=self.config.max_pending_bytes_per_signer,
            ),
        )
        self.start_ordering(orderer, name="solo-orderer")
        if self.config.admission_processes:
            await self.intake.start_processes()

    async def stop(self) -> None:
        """Stop cutting blocks after the one being produced; pending transactions are dropped."""
        if self.orderer is not None:
            self.orderer.stop()
        if self._task is not None:
            await self._task
        self.close()

    def close(self) -> None:
        """Release what the node holds: threads, worker processes, the database and, last,
        the data dir (another node may open it then)."""
        self._writer_thread.shutdown(wait=True)
        self.intake.shutdown()
        self.store.close()
        if self._data_dir_lock is not None:
            self._data_dir_lock.release()

    # -- reads ----------------------------------------------------------------------------
    @property
    def head(self) -> Head:
        """The latest block readers may see."""
        return self.writer.head

    @property
    def last_commit(self) -> SignedCommit | None:
        return self.writer.last_commit

    def pending_count(self) -> int:
        return len(self.orderer) if self.orderer is not None else 0

    def _is_pending(self, tx_hash: bytes) -> bool:
        return self.orderer is not None and self.orderer.knows(tx_hash)

    def tx_status(self, tx_hash: bytes) -> tuple[str, StoredTx | None, TxError | None]:
        """Return the status ("committed", "pending", "dropped" or "unknown"), the stored
        transaction if committed, and why it was dropped if it was."""
        stored = self.store.get_tx(tx_hash)
        if stored is not None:
            return "committed", stored, None
        if self._is_pending(tx_hash):
            return "pending", None, None
        if tx_hash in self._dropped:
            return "dropped", None, self._dropped[tx_hash]
        return "unknown", None, None

    # -- writes ---------------------------------------------------------------------------
    def check_can_order(self) -> None:
        """Refuse at once if this node cannot order transactions now.

        Raises:
            NodeUnavailable: the node is not running its orderer.
        """
        if self.orderer is None:
            raise NodeUnavailable("the node is not producing blocks")

    async def submit(self, values: list[Any]) -> list[SubmitOutcome]:
        """Admit parsed transactions and queue the good ones; one outcome per value, in order.

        Raises:
            NodeUnavailable: see :meth:`check_can_order`; or the mempool is full (nothing
                of this batch was queued).
        """
        self.check_can_order()
        return await self.intake.submit(values)

    async def submit_body(self, raw: bytes, *, max_depth: int) -> tuple[bool, list[SubmitOutcome]]:
        """Parse, admit and queue a ``POST /v1/txs`` body (:meth:`TxIntake.submit_body`).

        Raises:
            DecodeError: the body as a whole is refused.
            NodeUnavailable: see :meth:`submit`.
        """
        self.check_can_order()
        return await self.intake.submit_body(raw, max_depth=max_depth)

    async def wait_for_commit(self, tx_hash: bytes, timeout_s: float) -> StoredTx | None:
        """Wait until the transaction is committed (or ``timeout_s`` passes); None on timeout
        or if it was dropped from its block."""
        return (await self.wait_for_commits([tx_hash], timeout_s))[0]

    async def wait_for_commits(
        self, tx_hashes: list[bytes], timeout_s: float
    ) -> list[StoredTx | None]:
        """Wait until every transaction is committed, or ``timeout_s`` passes; one answer per
        hash (None: not committed in time, dropped, or unknown)."""
        return await self.waiters.wait(
            tx_hashes,
            timeout_s,
            is_pending=self._is_pending,
            find_committed=self.store.get_tx,
            may_arrive=not self.orders_everything,
        )

    @property
    def certified_height(self) -> int:
        """The latest height whose commit record is certified (a solo node: the head)."""
        return self.head.height

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
        return self.waiters.subscribe(maxsize)

    def unsubscribe(self, queue: asyncio.Queue[CommittedBlock]) -> None:
        self.waiters.unsubscribe(queue)
