"""The block writer: the one path by which blocks reach storage.

A solo node *produces* blocks (cuts a batch of admitted transactions, executes it, commits);
a consortium peer *applies* blocks ordered elsewhere (validates, executes, commits), several
at a time in one SQLite transaction when it catches up. Both go through
:class:`BlockWriter`, and so do the benchmarks that time them. Every call runs on one
thread, the node's writer thread: the writer keeps the chain tip and a cache of the state it
wrote, which only that thread may touch.

Two heads: :attr:`BlockWriter.tip` is the last block written, which the next block builds
on; :attr:`BlockWriter.head` is the last one durable and visible to readers, which the API
serves. They differ only inside :meth:`BlockWriter.batch`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from amchain.consensus.etcd import OrderedBlock
from amchain.crypto import KeyPair
from amchain.ledger import (
    EMPTY_TREE,
    GENESIS_PREV_HASH,
    BlockHeader,
    CommitRecord,
    MemoryState,
    Receipt,
    SignedCommit,
    Transaction,
    TreeRoot,
    TxCode,
    TxError,
    apply_state_updates,
    compute_block_hash,
    compute_merkle_root,
    compute_tx_root,
    make_block_header,
    sign_commit_record,
    validate_transaction_window,
)
from amchain.node.cache import StateCache
from amchain.node.peer import validate_ordered_block
from amchain.runtime import (
    BlockResult,
    ExecutionHalted,
    Genesis,
    ModuleRegistry,
    apply_genesis,
    execute_block,
)
from amchain.storage import BlockStore

__all__ = ["BlockWriter", "CommittedBlock", "Head"]


@dataclass(frozen=True, slots=True)
class Head:
    """A block of the chain as the writer and the readers know it."""

    height: int
    hash: str
    time_ms: int
    state: TreeRoot

    @property
    def state_root(self) -> bytes:
        return self.state.hash


@dataclass(slots=True)
class CommittedBlock:
    """A block just written: what waiters and event subscribers hear about."""

    height: int
    hash: str
    time_ms: int
    receipts: list[Receipt] = field(default_factory=list)
    txs: list[Transaction] = field(default_factory=list)
    hook_receipts: list[Receipt] = field(default_factory=list)


def load_head(store: BlockStore) -> Head:
    """Return the store's latest committed block as a :class:`Head` (before genesis: the
    empty chain at height -1)."""
    height = store.latest_height()
    if height < 0:
        return Head(-1, GENESIS_PREV_HASH, 0, EMPTY_TREE)
    block = store.get_block(height)
    state = store.state_tree_root(height)
    assert block is not None and state is not None
    return Head(height, block.hash, block.header.time_ms, state)


class BlockWriter:
    """Produces, applies and commits blocks on top of the chain's tip (one thread only).

    ``state_cache_entries``: how many state values the writer keeps (the keys every block
    reads, consortium keys and organisations, cost a dict lookup instead of a query).
    """

    def __init__(
        self,
        *,
        store: BlockStore,
        registry: ModuleRegistry,
        chain_id: str,
        node_key: KeyPair,
        state_cache_entries: int,
    ) -> None:
        self.store = store
        self.registry = registry
        self.chain_id = chain_id
        self.node_key = node_key
        self._head = load_head(store)
        self._tip = self._head
        self._cache = StateCache(state_cache_entries)
        self._in_batch = False
        self.last_commit: SignedCommit | None = None
        """This peer's signed commit record of the last block it wrote."""

    @property
    def head(self) -> Head:
        """The last block that is durable and visible to readers."""
        return self._head

    @property
    def tip(self) -> Head:
        """The last block written (inside a batch: not durable yet)."""
        return self._tip

    # -- genesis -----------------------------------------------------------------------
    def write_genesis(self, genesis: Genesis) -> None:
        """Commit block 0 from ``genesis``, or check that the stored chain was made from it.

        Raises:
            RuntimeError: the database holds a chain made from another genesis.
            TxError, DecodeError, ModuleError: a genesis section is refused.
        """
        if self._head.height >= 0:
            stored = self.store.get_meta("genesis_hash")
            if stored is not None and stored.decode() != genesis.hash().hex():
                raise RuntimeError(
                    f"{self.store.path} was created from another genesis; refusing to start"
                )
            return
        state = MemoryState()
        apply_genesis(self.registry, state, genesis)
        header = BlockHeader(
            chain_id=self.chain_id,
            height=0,
            prev_hash=GENESIS_PREV_HASH,
            time_ms=genesis.genesis_time_ms,
            tx_root=compute_tx_root([]).hex(),
            tx_count=0,
            proposer=GENESIS_PREV_HASH,
        )
        result = BlockResult(
            receipts=[],
            hook_receipts=[],
            write_set=list(state.items()),
            receipts_root=compute_merkle_root([]),
            index=[],
            receipt_bytes=[],
        )
        self._commit(
            header,
            [],
            result,
            meta={
                "genesis_hash": genesis.hash().hex().encode(),
                "chain_id": self.chain_id.encode(),
            },
        )

    # -- producing (a solo node) ---------------------------------------------------------
    def produce(
        self, batch: list[Transaction], *, now_ms: int
    ) -> tuple[CommittedBlock, dict[bytes, TxError]]:
        """Cut a block of ``batch`` on top of the tip, execute and commit it.

        A block never holds a transaction that is expired, foreign or already included:
        those are left out (the expired and foreign ones are returned with why, for their
        submitters), and so is the second copy of a repeated one.
        """
        head = self._tip
        block_time_ms = max(now_ms, head.time_ms)
        valid: list[Transaction] = []
        dropped: dict[bytes, TxError] = {}
        seen: set[bytes] = set()
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
        while True:
            header = make_block_header(
                chain_id=self.chain_id,
                height=head.height + 1,
                prev_hash=head.hash,
                time_ms=block_time_ms,
                txs=valid,
                proposer=self.node_key.public_key,
            )
            try:
                result = self.execute(header, valid)
            except ExecutionHalted as halted:
                if halted.tx_hash is None:
                    raise  # an end-of-block hook: no block can be made; the node stops
                # This node alone orders: the block is cut again without the transaction,
                # so no receipt depends on how this machine failed.
                valid = [tx for tx in valid if tx.hash != halted.tx_hash]
                dropped[halted.tx_hash] = TxError(
                    TxCode.INTERNAL,
                    "the node failed while executing this transaction (it is logged); it "
                    "was left out of the block and changed nothing",
                )
                continue
            return self.commit(header, valid, result), dropped

    # -- applying (a consortium peer) ----------------------------------------------------
    def apply_ordered(self, block: OrderedBlock) -> CommittedBlock:
        """Validate, execute and commit a block ordered elsewhere, on top of the tip.

        Signatures are checked by the caller (in parallel, before). Inside :meth:`batch`
        the block is durable when the batch ends.

        Raises:
            BlockError: the block may not follow the tip (nothing was written).
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
        return self.commit(block.header, block.txs, self.execute(block.header, block.txs))

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Write the blocks produced or applied inside the ``with`` in one SQLite
        transaction: all durable together (the head moves to the tip) or none.

        Raises:
            Whatever :meth:`BlockStore.block_batch` raises; the head stays where it was.
        """
        with self.store.block_batch():
            self._in_batch = True
            try:
                yield
            finally:
                self._in_batch = False
        self._head = self._tip

    # -- the two steps of every block (public for the benchmarks that time them) ---------
    def execute(self, header: BlockHeader, txs: list[Transaction]) -> BlockResult:
        """Execute ``txs`` as the block ``header`` on the tip's state (nothing is written)."""
        # State through the writer's cache: this thread is the only writer, and the cache
        # takes each block's writes once they are written (in a batch not yet durable, but
        # the batch's next block must read them).
        state = self._cache.reader(self.store.writer_state())
        return execute_block(self.registry, state, header, txs)

    def commit(
        self, header: BlockHeader, txs: list[Transaction], result: BlockResult
    ) -> CommittedBlock:
        """Commit the block ``header`` that :meth:`execute` gave ``result`` for, on top of
        the tip (inside :meth:`batch`: durable when the batch ends).

        Raises:
            sqlite3.IntegrityError, StorageError: nothing was written (see
                :meth:`BlockStore.commit_block`).
        """
        committed = self._commit(header, txs, result)
        self._cache.apply(result.write_set)
        return committed

    def _commit(
        self,
        header: BlockHeader,
        txs: list[Transaction],
        result: BlockResult,
        *,
        meta: dict[str, bytes] | None = None,
    ) -> CommittedBlock:
        block_hash = compute_block_hash(header)
        tree = apply_state_updates(
            self.store.writer_tree_nodes(),
            self._tip.state,
            result.write_set,
            next_node_id=self.store.next_tree_node_id(),
        )
        record = CommitRecord(
            chain_id=self.chain_id,
            height=header.height,
            block_hash=block_hash.hex(),
            state_root=tree.root.hash.hex(),
            receipts_root=result.receipts_root.hex(),
        )
        commit = sign_commit_record(record, self.node_key)
        self.store.commit_block(
            header=header,
            block_hash=block_hash,
            commit=commit,
            txs=txs,
            receipts=result.receipts,
            write_set=result.write_set,
            tree=tree,
            index=[(e.kind, e.value, e.tx_index) for e in result.index],
            receipt_bytes=result.receipt_bytes,
            meta=meta,
        )
        self.last_commit = commit
        self._tip = Head(header.height, block_hash.hex(), header.time_ms, tree.root)
        if not self._in_batch:
            self._head = self._tip
        return CommittedBlock(
            header.height,
            block_hash.hex(),
            header.time_ms,
            result.receipts,
            txs,
            result.hook_receipts,
        )
