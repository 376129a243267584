"""The block store: blocks, transactions, receipts, state and indexes in one SQLite file.

One SQLite transaction per block (WAL journal, ``synchronous=FULL``): the block, its
transactions and receipts, its state writes, the new state-tree nodes (the block's version
of the authenticated tree, see :mod:`amchain.ledger.state_tree`), its index rows and the new
chain head become durable together or not at all. A ``kill -9`` at any instant leaves either
the previous head or the new one, never half a block, and nothing acknowledged as committed
is lost. A peer catching up on a backlog may write several blocks in one transaction
(:meth:`BlockStore.block_batch`): all of them or none.

One writer connection (used by the block producer only) and one read connection per
thread; WAL lets readers see the last committed block while the writer works. The layout
is in :mod:`amchain.storage.schema`.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec

from amchain.codec import encode_canonical
from amchain.ledger import (
    BlockHeader,
    Receipt,
    SignedCommit,
    Transaction,
    TreeRoot,
    TreeUpdate,
)
from amchain.storage.checkpointer import Checkpointer
from amchain.storage.connection import connect, in_list_chunks
from amchain.storage.errors import StorageError
from amchain.storage.schema import open_schema
from amchain.storage.tree_packs import TREE_PACK_BITS, TreeNodeCache, pack_tree_nodes

__all__ = ["BlockStore", "StateView", "StoredBlock", "StoredTx"]

# Packs kept by the block producer's reader: the last ~40 blocks' written (at ~3.6 kB a
# pack, ~58 MB) and 4,000 read (~14 MB); the same 20,000 packs as one cache held before.
# An API request's reader only reads (a proof's path is ~20 levels).
WRITER_TREE_CACHE_PACKS = (16_000, 4_000)  # (written, read)
READER_TREE_CACHE_PACKS = (0, 256)
WRITER_CACHE_KIB = 64 * 1024
WAL_SIZE_LIMIT = 64 * 1024 * 1024  # bytes the WAL file is cut back to after a checkpoint


@dataclass(frozen=True, slots=True)
class StoredBlock:
    header: BlockHeader
    hash: str
    commit: SignedCommit
    tx_hashes: list[str]


@dataclass(frozen=True, slots=True)
class StoredTx:
    hash: str
    height: int
    index: int
    tx: bytes  # canonical signed transaction
    receipt: Receipt


def _stored_tx(row: tuple[bytes, int, int, bytes, bytes]) -> StoredTx:
    """Build a StoredTx from a ``hash, height, idx, tx, receipt`` row."""
    tx_hash, height, index, tx, receipt = row
    return StoredTx(
        bytes(tx_hash).hex(),
        int(height),
        int(index),
        bytes(tx),
        msgspec.json.decode(receipt, type=Receipt),
    )


class StateView:
    """Committed state, read through one connection (a :class:`amchain.ledger.StateReader`)."""

    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def get(self, key: str) -> bytes | None:
        row = self._conn.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def iter_prefix(self, prefix: str) -> Iterator[tuple[str, bytes]]:
        # Keys are compared as text; '\U0010ffff' sorts after every key with this prefix.
        # Rows come a batch at a time, so a reader that stops early (a queue read up to
        # "now") reads only what it looked at; the cursor closes with the iterator.
        cursor = self._conn.execute(
            "SELECT key, value FROM state WHERE key >= ? AND key < ? ORDER BY key",
            (prefix, prefix + "\U0010ffff"),
        )
        try:
            while rows := cursor.fetchmany(256):
                for key, value in rows:
                    yield key, bytes(value)
        finally:
            cursor.close()


class BlockStore:
    """The node's database. Create with :meth:`open`; close with :meth:`close`.

    ``background_checkpoints``: copy the WAL into the database file on a thread of its own
    instead of inside the commit that crosses SQLite's threshold (the node's store).
    """

    def __init__(self, path: Path, *, background_checkpoints: bool = False) -> None:
        self.path = path
        self._writer = connect(path)
        self._checkpointer: Checkpointer | None = None
        if background_checkpoints:
            self._writer.execute("PRAGMA wal_autocheckpoint=0")
            self._writer.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
            self._checkpointer = Checkpointer(path)
        # The block producer's page cache: 64 MiB instead of SQLite's 2 MiB, so index and
        # table pages touched by every block stay in memory as the chain grows.
        self._writer.execute(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
        # Re-entrant: a block batch holds it while its blocks are written.
        self._write_lock = threading.RLock()
        self._in_batch = False
        self._batch_broken = False  # a block of the open batch failed halfway
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._writer_tree = TreeNodeCache(self._writer, *WRITER_TREE_CACHE_PACKS)
        try:
            open_schema(self._writer, path)
        except BaseException:
            self.close()
            raise

    @classmethod
    def open(cls, path: Path, *, background_checkpoints: bool = False) -> BlockStore:
        """Open (creating if needed) the database at ``path``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        return cls(path, background_checkpoints=background_checkpoints)

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        self._writer.close()

    # -- reads -------------------------------------------------------------------------
    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def state(self) -> StateView:
        """Return a reader of committed state for the calling thread."""
        return StateView(self._reader())

    def writer_state(self) -> StateView:
        """Return a reader on the writer connection (for the block producer only)."""
        return StateView(self._writer)

    def tree_nodes(self) -> TreeNodeCache:
        """Return a reader of state-tree nodes for the calling thread."""
        return TreeNodeCache(self._reader(), *READER_TREE_CACHE_PACKS)

    def writer_tree_nodes(self) -> TreeNodeCache:
        """Return the block producer's cached reader of state-tree nodes."""
        return self._writer_tree

    def next_tree_node_id(self) -> int:
        """Return the id the next new state-tree node gets (the producer's view): the first
        of a pack not yet written, so each block's nodes start a pack of their own (id 0
        is the empty subtree)."""
        row = self._writer.execute("SELECT MAX(pack) FROM tree_node_packs").fetchone()
        return 1 if row[0] is None else (int(row[0]) + 1) << TREE_PACK_BITS

    def state_tree_root(self, height: int) -> TreeRoot | None:
        """Return the state tree version committed at ``height``, or None if unknown."""
        row = (
            self._reader()
            .execute(
                "SELECT commit_record, state_root_node FROM blocks WHERE height = ?", (height,)
            )
            .fetchone()
        )
        if row is None:
            return None
        commit = msgspec.json.decode(row[0], type=SignedCommit)
        return TreeRoot(bytes.fromhex(commit.record.state_root), int(row[1]))

    def get_meta(self, key: str) -> bytes | None:
        row = self._reader().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def latest_height(self) -> int:
        """Return the height of the last committed block, or -1 before genesis."""
        row = self._reader().execute("SELECT MAX(height) FROM blocks").fetchone()
        return -1 if row[0] is None else int(row[0])

    def get_block(self, height: int) -> StoredBlock | None:
        conn = self._reader()
        row = conn.execute(
            "SELECT header, hash, commit_record FROM blocks WHERE height = ?", (height,)
        ).fetchone()
        if row is None:
            return None
        hashes = [
            bytes(r[0]).hex()
            for r in conn.execute("SELECT hash FROM txs WHERE height = ? ORDER BY idx", (height,))
        ]
        return StoredBlock(
            header=msgspec.json.decode(row[0], type=BlockHeader),
            hash=bytes(row[1]).hex(),
            commit=msgspec.json.decode(row[2], type=SignedCommit),
            tx_hashes=hashes,
        )

    def get_tx(self, tx_hash: bytes) -> StoredTx | None:
        row = (
            self._reader()
            .execute("SELECT height, idx, tx, receipt FROM txs WHERE hash = ?", (tx_hash,))
            .fetchone()
        )
        if row is None:
            return None
        return StoredTx(
            hash=tx_hash.hex(),
            height=int(row[0]),
            index=int(row[1]),
            tx=bytes(row[2]),
            receipt=msgspec.json.decode(row[3], type=Receipt),
        )

    def known_txs(self, tx_hashes: list[bytes], *, on_writer: bool = False) -> set[bytes]:
        """The hashes among ``tx_hashes`` that are in committed blocks (few queries)."""
        conn = self._writer if on_writer else self._reader()
        known: set[bytes] = set()
        for marks, chunk in in_list_chunks(tx_hashes):
            rows = conn.execute(f"SELECT hash FROM txs WHERE hash IN ({marks})", chunk)
            known.update(bytes(row[0]) for row in rows)
        return known

    def has_tx(self, tx_hash: bytes, *, on_writer: bool = False) -> bool:
        """True if the transaction is in a committed block (``on_writer``: producer's view)."""
        conn = self._writer if on_writer else self._reader()
        row = conn.execute("SELECT 1 FROM txs WHERE hash = ?", (tx_hash,)).fetchone()
        return row is not None

    def block_hook_receipts(self, height: int) -> list[Receipt]:
        """Return the receipts of the end-of-block hooks of the block at ``height`` (the
        receipts root's leaves after the transactions'), in order."""
        rows = (
            self._reader()
            .execute("SELECT receipt FROM block_receipts WHERE height = ? ORDER BY idx", (height,))
            .fetchall()
        )
        return [msgspec.json.decode(row[0], type=Receipt) for row in rows]

    def block_txs(self, height: int) -> list[StoredTx]:
        rows = (
            self._reader()
            .execute(
                "SELECT hash, height, idx, tx, receipt FROM txs WHERE height = ? ORDER BY idx",
                (height,),
            )
            .fetchall()
        )
        return [_stored_tx(row) for row in rows]

    def get_header(self, height: int) -> BlockHeader | None:
        """Return the header of the block at ``height`` (without its transaction list)."""
        row = (
            self._reader()
            .execute("SELECT header FROM blocks WHERE height = ?", (height,))
            .fetchone()
        )
        return None if row is None else msgspec.json.decode(row[0], type=BlockHeader)

    def recent_blocks(self, top: int, limit: int) -> list[tuple[int, str, BlockHeader, int]]:
        """Return ``(height, hash, header, tx_count)`` of up to ``limit`` blocks at or below
        ``top``, newest first."""
        rows = (
            self._reader()
            .execute(
                "SELECT height, hash, header, tx_count FROM blocks WHERE height <= ? "
                "ORDER BY height DESC LIMIT ?",
                (top, limit),
            )
            .fetchall()
        )
        return [
            (int(h), bytes(b).hex(), msgspec.json.decode(hd, type=BlockHeader), int(n))
            for h, b, hd, n in rows
        ]

    def recent_txs(
        self,
        min_height: int,
        limit: int,
        *,
        failed_only: bool = False,
        module: str | None = None,
    ) -> list[StoredTx]:
        """Return up to ``limit`` transactions at heights >= ``min_height``, newest first
        (``failed_only``: those with a failed receipt, found through ``txs_failed``;
        ``module``: those calling that module)."""
        # Two statements, so that the planner sees ``ok = 0`` and reads the partial index
        # instead of walking back through every transaction.
        where = "ok = 0 AND height >= ?" if failed_only else "height >= ?"
        args: tuple[object, ...] = (min_height,)
        if module is not None:
            where += " AND json_extract(CAST(tx AS TEXT), '$.body.module') = ?"
            args += (module,)
        rows = (
            self._reader()
            .execute(
                f"SELECT hash, height, idx, tx, receipt FROM txs WHERE {where} "
                "ORDER BY height DESC, idx DESC LIMIT ?",
                (*args, limit),
            )
            .fetchall()
        )
        return [_stored_tx(row) for row in rows]

    def indexed_positions(
        self, kind: str, value: str, first_height: int, last_height: int
    ) -> set[tuple[int, int]]:
        """Return the ``(height, index)`` of the transactions indexed under ``(kind,
        value)`` between two heights (both included)."""
        rows = self._reader().execute(
            "SELECT height, idx FROM tx_index WHERE kind = ? AND value = ? "
            "AND height >= ? AND height <= ?",
            (kind, value, first_height, last_height),
        )
        return {(int(height), int(index)) for height, index in rows}

    def indexed_txs(
        self, kind: str, value: str, *, limit: int = 1000, failed_only: bool = False
    ) -> list[StoredTx]:
        """Return the transactions indexed under ``(kind, value)``, oldest first
        (``failed_only``: those with a failed receipt)."""
        table = "failed_tx_index" if failed_only else "tx_index"
        rows = (
            self._reader()
            .execute(
                f"SELECT t.hash, t.height, t.idx, t.tx, t.receipt FROM {table} i "
                "JOIN txs t ON t.height = i.height AND t.idx = i.idx "
                "WHERE i.kind = ? AND i.value = ? ORDER BY i.height, i.idx LIMIT ?",
                (kind, value, limit),
            )
            .fetchall()
        )
        return [_stored_tx(row) for row in rows]

    # -- the one write path ------------------------------------------------------------
    def commit_block(
        self,
        *,
        header: BlockHeader,
        block_hash: bytes,
        commit: SignedCommit,
        txs: list[Transaction],
        receipts: list[Receipt],
        write_set: list[tuple[str, bytes | None]],
        tree: TreeUpdate,
        index: list[tuple[str, str, int]],
        receipt_bytes: list[bytes],
        meta: dict[str, bytes] | None = None,
    ) -> None:
        """Make a block and everything it changed durable, in one SQLite transaction (inside
        :meth:`block_batch`, in the batch's transaction: durable when the batch ends).

        ``receipt_bytes``: the receipts root's leaves as the executor encoded them, the
        transactions' receipts then the end-of-block hooks' (stored in ``block_receipts``).
        ``tree``: the block's
        state-tree update, its new nodes numbered from :meth:`next_tree_node_id`.

        Raises:
            sqlite3.IntegrityError: the height, a transaction hash or a tree node's pack is
                already stored (nothing is written; in a batch, nothing of the batch).
            StorageError: a new state-tree node's encoding is empty (nothing is written).
        """
        leaves = receipt_bytes
        hook_leaves = leaves[len(txs) :]
        packs = pack_tree_nodes(tree.first_node_id, tree.new_nodes)
        with self._write_lock:
            conn = self._writer
            batched = self._in_batch
            if not batched:
                conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    "INSERT INTO blocks (height, hash, header, commit_record, tx_count, "
                    "state_root_node) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        header.height,
                        block_hash,
                        encode_canonical(header),
                        encode_canonical(commit),
                        len(txs),
                        tree.root.node_id,
                    ),
                )
                conn.executemany("INSERT INTO tree_node_packs (pack, nodes) VALUES (?, ?)", packs)
                conn.executemany(
                    "INSERT INTO txs (hash, height, idx, ok, tx, receipt) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (tx.hash, header.height, i, int(r.ok), tx.canonical, leaf)
                        for i, (tx, r, leaf) in enumerate(
                            zip(txs, receipts, leaves[: len(txs)], strict=True)
                        )
                    ],
                )
                if hook_leaves:
                    conn.executemany(
                        "INSERT INTO block_receipts (height, idx, receipt) VALUES (?, ?, ?)",
                        [(header.height, i, leaf) for i, leaf in enumerate(hook_leaves)],
                    )
                conn.executemany(
                    "INSERT INTO state (key, value) VALUES (?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    [(k, v) for k, v in write_set if v is not None],
                )
                conn.executemany(
                    "DELETE FROM state WHERE key = ?", [(k,) for k, v in write_set if v is None]
                )
                conn.executemany(
                    "INSERT OR IGNORE INTO tx_index (kind, value, height, idx) VALUES (?, ?, ?, ?)",
                    [(kind, value, header.height, i) for kind, value, i in index],
                )
                conn.executemany(
                    "INSERT OR IGNORE INTO failed_tx_index (kind, value, height, idx) "
                    "VALUES (?, ?, ?, ?)",
                    [
                        (kind, value, header.height, i)
                        for kind, value, i in index
                        if not receipts[i].ok
                    ],
                )
                for key, value in (meta or {}).items():
                    conn.execute(
                        "INSERT INTO meta (key, value) VALUES (?, ?) "
                        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                        (key, value),
                    )
                if not batched:
                    conn.execute("COMMIT")
                    if self._checkpointer is not None:
                        self._checkpointer.poke()
            except BaseException:
                if batched:
                    # Half a block is written: the batch can only be rolled back. (A
                    # savepoint per block would undo it alone, but costs a copy of every
                    # page the batch's earlier blocks dirtied.)
                    self._batch_broken = True
                else:
                    conn.execute("ROLLBACK")
                raise
            self._writer_tree.remember(packs)

    @contextlib.contextmanager
    def block_batch(self) -> Iterator[None]:
        """Commit the blocks written inside the ``with`` together: all of them or none.

        For a peer applying a backlog: one COMMIT (one fsync, one WAL copy of each page
        that several blocks touch) for the whole batch instead of one per block. Until the
        ``with`` ends the batch's blocks are neither durable nor visible to other
        connections (the writer's own reads see them), so the caller acknowledges none of
        them before. An exception inside the ``with``, or a :meth:`commit_block` that failed
        inside it, rolls the whole batch back. Batches do not nest.

        Raises:
            StorageError: a block in the batch failed to be written and the exception was
                not let through; nothing in the batch was written.
            sqlite3.Error: the COMMIT failed; nothing in the batch was written.
            RuntimeError: a batch is already open.
        """
        with self._write_lock:
            if self._in_batch:
                raise RuntimeError("a block batch is already open")
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            self._in_batch, self._batch_broken = True, False
            try:
                yield
                if self._batch_broken:
                    raise StorageError("a block of the batch failed to be written")
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                self._writer_tree.forget_written()
                raise
            finally:
                self._in_batch = False
            if self._checkpointer is not None:
                self._checkpointer.poke()
