"""SQLite storage: blocks, transactions, receipts, state and indexes in one file.

One SQLite transaction per block (WAL journal, ``synchronous=FULL``): the block, its
transactions and receipts, its state writes, the new state-tree nodes (the block's version
of the authenticated tree, see :mod:`amchain.ledger.state_tree`), its index rows and the new
chain head become durable together or not at all. A ``kill -9`` at any instant leaves either
the previous head or the new one, never half a block, and nothing acknowledged as committed
is lost.

One writer connection (used by the block producer only) and one read connection per
thread; WAL lets readers see the last committed block while the writer works.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
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
    encode_receipts,
)

SCHEMA_VERSION = 3
_MAX_SQL_VARIABLES = 900
WRITER_TREE_CACHE_NODES = 300_000
WRITER_CACHE_KIB = 64 * 1024
WAL_SIZE_LIMIT = 64 * 1024 * 1024  # bytes the WAL file is cut back to after a checkpoint
CHECKPOINT_PAUSE_S = 0.5  # the background checkpointer's rest between two copies

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blocks (
    height  INTEGER PRIMARY KEY,
    hash    BLOB NOT NULL UNIQUE,
    header  BLOB NOT NULL,
    commit_record BLOB NOT NULL,
    tx_count INTEGER NOT NULL,
    state_root_node INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS txs (
    hash    BLOB PRIMARY KEY,
    height  INTEGER NOT NULL,
    idx     INTEGER NOT NULL,
    ok      INTEGER NOT NULL,
    tx      BLOB NOT NULL,
    receipt BLOB NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS txs_by_position ON txs (height, idx);
CREATE TABLE IF NOT EXISTS state (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tree_nodes (
    id   INTEGER PRIMARY KEY,
    node BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS tx_index (
    kind   TEXT NOT NULL,
    value  TEXT NOT NULL,
    height INTEGER NOT NULL,
    idx    INTEGER NOT NULL,
    PRIMARY KEY (kind, value, height, idx)
) WITHOUT ROWID;
-- The rows of tx_index whose transaction failed (a refused odometer rollback, ...): a
-- vehicle's refusals are read on every history answer, and finding them through tx_index
-- alone would read every one of its transactions' rows (random pages of the largest table).
CREATE TABLE IF NOT EXISTS failed_tx_index (
    kind   TEXT NOT NULL,
    value  TEXT NOT NULL,
    height INTEGER NOT NULL,
    idx    INTEGER NOT NULL,
    PRIMARY KEY (kind, value, height, idx)
) WITHOUT ROWID;
"""


class StorageError(RuntimeError):
    """The database is unusable (wrong schema, another chain, corrupt)."""


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


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


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


class _StateView:
    """Committed state, read through one connection (a :class:`amchain.ledger.StateReader`)."""

    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def get(self, key: str) -> bytes | None:
        row = self._conn.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def iter_prefix(self, prefix: str) -> Iterator[tuple[str, bytes]]:
        # Keys are compared as text; '\U0010ffff' sorts after every key with this prefix.
        rows = self._conn.execute(
            "SELECT key, value FROM state WHERE key >= ? AND key < ? ORDER BY key",
            (prefix, prefix + "\U0010ffff"),
        ).fetchall()
        for key, value in rows:
            yield key, bytes(value)


class _TreeNodes:
    """State-tree nodes read through one connection (a :class:`amchain.ledger.TreeNodeReader`).

    Nodes never change once written, so the writer's reader keeps the ones it has seen in a
    bounded cache: the upper levels of the tree are read once, not once per block.
    """

    __slots__ = ("_cache", "_cache_limit", "_conn")

    def __init__(self, conn: sqlite3.Connection, cache_limit: int = 0) -> None:
        self._conn = conn
        self._cache: dict[int, bytes] = {}
        self._cache_limit = cache_limit

    def get_tree_nodes(self, node_ids: Sequence[int]) -> dict[int, bytes]:
        cache = self._cache
        found = {i: cache[i] for i in node_ids if i in cache}
        if len(found) == len(node_ids):  # the producer's upper levels: all cached
            return found
        missing = [i for i in node_ids if i not in found]
        for start in range(0, len(missing), _MAX_SQL_VARIABLES):
            chunk = missing[start : start + _MAX_SQL_VARIABLES]
            rows = self._conn.execute(
                f"SELECT id, node FROM tree_nodes WHERE id IN ({','.join('?' * len(chunk))})",
                chunk,
            ).fetchall()
            for node_id, node in rows:
                found[node_id] = node
        if self._cache_limit:
            if len(cache) + len(missing) > self._cache_limit:
                cache.clear()
            for i in missing:
                if i in found:
                    cache[i] = found[i]
        return found

    def remember(self, nodes: list[tuple[int, bytes]]) -> None:
        """Keep nodes just written (the next block's paths start from them)."""
        if self._cache_limit:
            if len(self._cache) + len(nodes) > self._cache_limit:
                self._cache.clear()
            self._cache.update(nodes)


class _Checkpointer:
    """Copies the WAL back into the database file from its own connection and thread.

    SQLite's automatic checkpoint runs inside the COMMIT of the transaction that crosses
    the threshold, so the block producer would wait for it (copying pages, an fsync of the
    database file) before it can start the next block. Here the producer only wakes this
    thread after each commit. ``PASSIVE`` never blocks the writer or readers; durability is
    the WAL's, fsynced at every commit (``synchronous=FULL``), whether or not the copy ran.

    After a copy the thread rests ``CHECKPOINT_PAUSE_S``: a page that several blocks in a
    row rewrote (upper B-tree levels, the tails of the append-only tables) is copied and
    fsynced once for all of them instead of once per block.
    """

    def __init__(self, path: Path) -> None:
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(
            target=self._run, args=(path,), name="wal-checkpoint", daemon=True
        )
        self._thread.start()

    def _run(self, path: Path) -> None:
        conn = _connect(path)
        try:
            while not self._stopping:
                self._wake.wait(1.0)
                self._wake.clear()
                if not self._stopping:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                    self._stop.wait(CHECKPOINT_PAUSE_S)
        finally:
            conn.close()

    def poke(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._stop.set()
        self._wake.set()
        self._thread.join()


class BlockStore:
    """The node's database. Create with :meth:`open`; close with :meth:`close`.

    ``background_checkpoints``: copy the WAL into the database file on a thread of its own
    instead of inside the commit that crosses SQLite's threshold (the node's store).
    """

    def __init__(self, path: Path, *, background_checkpoints: bool = False) -> None:
        self.path = path
        self._writer = _connect(path)
        self._checkpointer: _Checkpointer | None = None
        if background_checkpoints:
            self._writer.execute("PRAGMA wal_autocheckpoint=0")
            self._writer.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
            self._checkpointer = _Checkpointer(path)
        # The block producer's page cache: 64 MiB instead of SQLite's 2 MiB, so index and
        # table pages touched by every block stay in memory as the chain grows.
        self._writer.execute(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
        self._writer.executescript(_SCHEMA)
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._writer_tree = _TreeNodes(self._writer, cache_limit=WRITER_TREE_CACHE_NODES)
        version = self.get_meta("schema_version")
        if version is None:
            self._writer.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION).encode(),),
            )
        elif int(version) == 2:
            self._migrate_from_version_2()
        elif int(version) != SCHEMA_VERSION:
            raise StorageError(
                f"{path} has schema version {int(version)}, this release reads "
                f"{SCHEMA_VERSION}; start with a new data directory (or move this one away)"
            )

    def _migrate_from_version_2(self) -> None:
        """Version 3 added ``failed_tx_index``: fill it from the chain already stored."""
        with self._write_lock:
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    "INSERT OR IGNORE INTO failed_tx_index (kind, value, height, idx) "
                    "SELECT i.kind, i.value, i.height, i.idx FROM tx_index i "
                    "JOIN txs t ON t.height = i.height AND t.idx = i.idx WHERE t.ok = 0"
                )
                conn.execute(
                    "UPDATE meta SET value = ? WHERE key = 'schema_version'",
                    (str(SCHEMA_VERSION).encode(),),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
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
            conn = _connect(self.path)
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def state(self) -> _StateView:
        """Return a reader of committed state for the calling thread."""
        return _StateView(self._reader())

    def writer_state(self) -> _StateView:
        """Return a reader on the writer connection (for the block producer only)."""
        return _StateView(self._writer)

    def tree_nodes(self) -> _TreeNodes:
        """Return a reader of state-tree nodes for the calling thread."""
        return _TreeNodes(self._reader())

    def writer_tree_nodes(self) -> _TreeNodes:
        """Return the block producer's cached reader of state-tree nodes."""
        return self._writer_tree

    def next_tree_node_id(self) -> int:
        """Return the id the next new state-tree node gets (the producer's view)."""
        row = self._writer.execute("SELECT MAX(id) FROM tree_nodes").fetchone()
        return 1 if row[0] is None else int(row[0]) + 1

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
        for i in range(0, len(tx_hashes), _MAX_SQL_VARIABLES):
            chunk = tx_hashes[i : i + _MAX_SQL_VARIABLES]
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(f"SELECT hash FROM txs WHERE hash IN ({marks})", chunk)
            known.update(bytes(row[0]) for row in rows)
        return known

    def has_tx(self, tx_hash: bytes, *, on_writer: bool = False) -> bool:
        """True if the transaction is in a committed block (``on_writer``: producer's view)."""
        conn = self._writer if on_writer else self._reader()
        row = conn.execute("SELECT 1 FROM txs WHERE hash = ?", (tx_hash,)).fetchone()
        return row is not None

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
        self, min_height: int, limit: int, *, failed_only: bool = False
    ) -> list[StoredTx]:
        """Return up to ``limit`` transactions at heights >= ``min_height``, newest first."""
        rows = (
            self._reader()
            .execute(
                "SELECT hash, height, idx, tx, receipt FROM txs "
                "WHERE height >= ? AND (ok = 0 OR ? = 0) ORDER BY height DESC, idx DESC LIMIT ?",
                (min_height, int(failed_only), limit),
            )
            .fetchall()
        )
        return [_stored_tx(row) for row in rows]

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
        tree_nodes: list[tuple[int, bytes]],
        state_root_node: int,
        index: list[tuple[str, str, int]],
        meta: dict[str, bytes] | None = None,
        receipt_bytes: list[bytes] | None = None,
    ) -> None:
        """Make a block and everything it changed durable, in one SQLite transaction.

        ``receipt_bytes``: the receipts' canonical JSON if the caller has it already.

        Raises:
            sqlite3.IntegrityError: the height or a transaction hash is already stored
                (nothing is written).
        """
        leaves = encode_receipts(receipts) if receipt_bytes is None else receipt_bytes
        with self._write_lock:
            conn = self._writer
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
                        state_root_node,
                    ),
                )
                conn.executemany("INSERT INTO tree_nodes (id, node) VALUES (?, ?)", tree_nodes)
                conn.executemany(
                    "INSERT INTO txs (hash, height, idx, ok, tx, receipt) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (tx.hash, header.height, i, int(r.ok), tx.canonical, leaf)
                        for i, (tx, r, leaf) in enumerate(zip(txs, receipts, leaves, strict=True))
                    ],
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
                conn.execute("COMMIT")
                if self._checkpointer is not None:
                    self._checkpointer.poke()
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            self._writer_tree.remember(tree_nodes)
