"""SQLite storage: blocks, transactions, receipts, state and indexes in one file.

One SQLite transaction per block (WAL journal, ``synchronous=FULL``): the block, its
transactions and receipts, its state writes, the new state-tree nodes (the block's version
of the authenticated tree, see :mod:`amchain.ledger.state_tree`), its index rows and the new
chain head become durable together or not at all. A ``kill -9`` at any instant leaves either
the previous head or the new one, never half a block, and nothing acknowledged as committed
is lost. A peer catching up on a backlog may write several blocks in one transaction
(:meth:`BlockStore.block_batch`): all of them or none.

One writer connection (used by the block producer only) and one read connection per
thread; WAL lets readers see the last committed block while the writer works.

Layout (schema 4). Every block appends: ``txs`` is a rowid table written in block order
(a transaction row is ~0.8 kB; keyed by hash, as in schema 3, each one landed on a random
page and four filled a page), found by hash through the small ``txs_by_hash`` index. The
state tree's nodes are stored in *packs* of 32 consecutive ids (``tree_node_packs``, see
:func:`pack_tree_nodes`): a block creates ~12 nodes per written key, and one row per pack
instead of one per node halves the cost of storing them; nodes created together (a path
rebuilt by one write) are read together. Files of schema 2 and 3 are upgraded on open.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import sqlite3
import struct
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import msgspec

from amchain.codec import encode_canonical
from amchain.ledger import (
    BlockHeader,
    Receipt,
    SignedCommit,
    Transaction,
    TreeRoot,
    TreeUpdate,
    encode_receipts,
)

SCHEMA_VERSION = 4
_MAX_IN_LIST = 512  # values per "x IN (?, ...)" query; a power of two (see _in_list_chunks)
TREE_PACK_BITS = 5
TREE_PACK_NODES = 1 << TREE_PACK_BITS  # node ids per pack: pack p holds ids 32p .. 32p + 31
# Packs kept by the block producer's reader: the last ~40 blocks' written (at ~3.6 kB a
# pack, ~58 MB) and 4,000 read (~14 MB); the same 20,000 packs as one cache held before.
# An API request's reader only reads (a proof's path is ~20 levels).
WRITER_TREE_CACHE_PACKS = (16_000, 4_000)  # (written, read)
READER_TREE_CACHE_PACKS = (0, 256)
WRITER_CACHE_KIB = 64 * 1024
WAL_SIZE_LIMIT = 64 * 1024 * 1024  # bytes the WAL file is cut back to after a checkpoint
CHECKPOINT_PAUSE_S = 0.5  # the background checkpointer's rest between two copies
_log = logging.getLogger(__name__)
_Value = TypeVar("_Value")

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
    hash    BLOB NOT NULL,
    height  INTEGER NOT NULL,
    idx     INTEGER NOT NULL,
    ok      INTEGER NOT NULL,
    tx      BLOB NOT NULL,
    receipt BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS txs_by_hash ON txs (hash);
CREATE UNIQUE INDEX IF NOT EXISTS txs_by_position ON txs (height, idx);
-- Failed transactions are few: the explorer lists the latest of them on its front page.
CREATE INDEX IF NOT EXISTS txs_failed ON txs (height, idx) WHERE ok = 0;
CREATE TABLE IF NOT EXISTS state (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tree_node_packs (
    pack  INTEGER PRIMARY KEY,
    nodes BLOB NOT NULL
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


def _in_list_chunks(values: Sequence[_Value]) -> Iterator[tuple[str, Sequence[_Value]]]:
    """Split ``values`` for ``... IN (?, ?, ...)`` queries: ``(marks, chunk)`` pairs, each
    chunk padded to a power-of-two length by repeating its last value (``x IN (...)``
    matches a row once however often a value is listed).

    Why: the statement's text depends on the list's length, and a text not in the
    connection's statement cache is prepared again. Unpadded, nearly every call prepared a
    new statement (~50 us, as long as reading ~8 state-tree packs); padded, a connection
    needs at most 10 of them, prepared once.
    """
    for start in range(0, len(values), _MAX_IN_LIST):
        chunk = values[start : start + _MAX_IN_LIST]
        size = 1 << (len(chunk) - 1).bit_length()
        if size > len(chunk):
            chunk = [*chunk, *[chunk[-1]] * (size - len(chunk))]
        yield ",".join("?" * size), chunk


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


_PACK_HEADER = struct.Struct(f"<{TREE_PACK_NODES + 1}I")
_PACK_SLOT = struct.Struct("<II")
_PACK_MASK = TREE_PACK_NODES - 1


def pack_tree_nodes(first_id: int, nodes: Sequence[bytes]) -> list[tuple[int, bytes]]:
    """Return the ``(pack, bytes)`` rows that store ``nodes``, whose ids are ``first_id``,
    ``first_id + 1``, ... (as :class:`amchain.ledger.TreeUpdate` holds a block's new nodes).

    A pack holds the nodes whose ids share ``id >> TREE_PACK_BITS``::

        offsets  (TREE_PACK_NODES + 1) x uint32, little-endian
        payload  the nodes' encodings, in slot order

    Slot ``s`` is ``payload[offsets[s]:offsets[s + 1]]``; an empty range is an id with no
    node (a node's encoding is never empty).

    Raises:
        StorageError: a node's encoding is empty.
    """
    rows: list[tuple[int, bytes]] = []
    at, count = 0, len(nodes)
    while at < count:
        node_id = first_id + at
        slot = node_id & _PACK_MASK
        chunk = list(nodes[at : at + TREE_PACK_NODES - slot])
        if not all(chunk):
            empty = node_id + chunk.index(b"")
            raise StorageError(f"state-tree node {empty} is empty; it cannot be stored")
        rows.append((node_id >> TREE_PACK_BITS, _encode_pack([b""] * slot + chunk)))
        at += len(chunk)
    return rows


def _pack_stored_nodes(nodes: Iterable[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    """:func:`pack_tree_nodes` for ``(id, encoding)`` pairs in ascending id order, with
    gaps allowed (the upgrade from schema 3, whose nodes were stored one per row).

    Raises:
        StorageError: a node's encoding is empty.
    """
    rows: list[tuple[int, bytes]] = []
    for pack, group in itertools.groupby(nodes, lambda node: node[0] >> TREE_PACK_BITS):
        slots = [b""] * TREE_PACK_NODES
        for node_id, data in group:
            if not data:
                raise StorageError(f"state-tree node {node_id} is empty; it cannot be stored")
            slots[node_id & _PACK_MASK] = data
        rows.append((pack, _encode_pack(slots)))
    return rows


def _encode_pack(slots: list[bytes]) -> bytes:
    """Return the pack whose slot ``s`` holds ``slots[s]`` (``b""`` and slots past the
    list's end: no node)."""
    offsets = list(itertools.accumulate(map(len, slots), initial=0))
    offsets += [offsets[-1]] * (TREE_PACK_NODES + 1 - len(offsets))
    return _PACK_HEADER.pack(*offsets) + b"".join(slots)


def _find_packed_nodes_in_python(
    packs: dict[int, bytes], node_ids: Sequence[int]
) -> tuple[dict[int, bytes], list[int]]:
    """Return the nodes with these ids found in ``packs`` (ids whose slot is empty are left
    out) and the ids whose pack is not in ``packs``: the reference the compiled
    ``_tree_packs.find_packed_nodes`` follows, and what runs where it could not be built.

    Raises:
        StorageError: a pack holding one of them is malformed.
    """
    found: dict[int, bytes] = {}
    absent: list[int] = []
    header = _PACK_HEADER.size
    for node_id in node_ids:
        pack = node_id >> TREE_PACK_BITS
        data = packs.get(pack)
        if data is None:
            absent.append(node_id)
            continue
        payload = len(data) - header
        start, end = (1, 0)  # a pack shorter than its header: malformed
        if payload >= 0:
            start, end = _PACK_SLOT.unpack_from(data, 4 * (node_id & _PACK_MASK))
        if start == end:
            continue
        if not start < end <= payload:
            raise StorageError(f"state-tree pack {pack} is malformed ({len(data)} bytes)")
        found[node_id] = data[header + start : header + end]
    return found, absent


def _load_compiled_find() -> Callable[..., tuple[dict[int, bytes], list[int]]] | None:
    """The node lookup compiled at install (it needs a C compiler)."""
    try:
        from amchain.storage._tree_packs import find_packed_nodes
    except ImportError:  # pragma: no cover - the pure-Python lookup does the same work
        return None
    return find_packed_nodes


_compiled_find = _load_compiled_find()
COMPILED_PACK_READER = _compiled_find is not None
"""Whether the readers of state-tree packs run the compiled lookup."""


def _find_packed_nodes(
    packs: dict[int, bytes], node_ids: Sequence[int]
) -> tuple[dict[int, bytes], list[int]]:
    if _compiled_find is None:
        return _find_packed_nodes_in_python(packs, node_ids)
    return _compiled_find(packs, node_ids, TREE_PACK_BITS, StorageError)


class _TreeNodes:
    """State-tree nodes read through one connection (a :class:`amchain.ledger.TreeNodeReader`).

    Packs never change once written, so the reader keeps them in two bounded caches, each
    first in, first out (when one is full its older half goes):

    - the packs the block producer wrote (:meth:`remember`): the last blocks' packs hold the
      latest version of the top of the tree, which every block reads again;
    - the packs read from the database: mostly the old, deep parts of single paths, rarely
      wanted again soon. Kept apart so they do not push the first kind out (a block reads
      ~8 times as many packs as it writes).

    An API request's reader has only the second: it reads a proof's path in a few packs,
    not one query per level.
    """

    __slots__ = ("_conn", "_read", "_read_limit", "_written", "_written_limit")

    def __init__(self, conn: sqlite3.Connection, written_packs: int, read_packs: int) -> None:
        self._conn = conn
        self._written: dict[int, bytes] = {}
        self._written_limit = written_packs
        self._read: dict[int, bytes] = {}
        self._read_limit = read_packs

    def get_tree_nodes(self, node_ids: Sequence[int]) -> dict[int, bytes]:
        """Return the encoded nodes with these ids (ids that do not exist are left out).

        Raises:
            StorageError: a pack holding one of them is malformed.
        """
        found, absent = _find_packed_nodes(self._written, node_ids)
        if absent:
            more, absent = _find_packed_nodes(self._read, absent)
            found.update(more)
        if absent:
            missing = list(dict.fromkeys(i >> TREE_PACK_BITS for i in absent))
            _make_room(self._read, self._read_limit, len(missing))
            for marks, chunk in _in_list_chunks(missing):
                self._read.update(
                    self._conn.execute(
                        f"SELECT pack, nodes FROM tree_node_packs WHERE pack IN ({marks})", chunk
                    ).fetchall()
                )
            found.update(_find_packed_nodes(self._read, absent)[0])
        return found

    def remember(self, packs: list[tuple[int, bytes]]) -> None:
        """Keep packs just written (the next block's paths start from them)."""
        _make_room(self._written, self._written_limit, len(packs))
        self._written.update(packs)

    def forget_written(self) -> None:
        """Drop the packs kept by :meth:`remember` (a block batch holding some of them was
        rolled back, and their ids will be written again with other nodes)."""
        self._written.clear()


def _make_room(cache: dict[int, bytes], limit: int, incoming: int) -> None:
    """If ``incoming`` more packs would overfill ``cache``, drop its oldest packs so that
    it is half full with them."""
    if len(cache) + incoming > limit:
        for pack in list(itertools.islice(cache, len(cache) + incoming - limit // 2)):
            del cache[pack]


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
        # Re-entrant: a block batch holds it while its blocks are written.
        self._write_lock = threading.RLock()
        self._in_batch = False
        self._batch_broken = False  # a block of the open batch failed halfway
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._writer_tree = _TreeNodes(self._writer, *WRITER_TREE_CACHE_PACKS)
        try:
            self._open_schema()
        except BaseException:
            self.close()
            raise

    def _open_schema(self) -> None:
        """Create the tables of a new file, or upgrade or refuse an older one.

        Raises:
            StorageError: the file has a schema version this release cannot read.
        """
        conn = self._writer
        row = None
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone():
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = None if row is None else int(row[0])
        if version in (2, 3):
            self._upgrade(from_version=version)
        elif version is not None and version != SCHEMA_VERSION:
            raise StorageError(
                f"{self.path} has schema version {version}, this release reads "
                f"{SCHEMA_VERSION}; start with a new data directory (or move this one away)"
            )
        conn.executescript(_SCHEMA)
        if version is None:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION).encode(),),
            )

    def _upgrade(self, *, from_version: int) -> None:
        """Bring a file of schema 2 or 3 to :data:`SCHEMA_VERSION`, in one transaction.

        Version 3 added ``failed_tx_index`` (filled from the chain already stored).
        Version 4 stores transactions in block order (``txs`` becomes a rowid table) and
        the state tree's nodes in packs (``tree_nodes`` becomes ``tree_node_packs``).
        Rewrites both tables: on a large chain this takes minutes and needs free disk
        space about the size of the two tables.
        """
        _log.warning(
            "upgrading %s from schema %d to %d (rewrites transactions and state-tree nodes)",
            self.path,
            from_version,
            SCHEMA_VERSION,
        )
        with self._write_lock:
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("DROP INDEX txs_by_position")
                conn.execute("ALTER TABLE txs RENAME TO txs_v3")
                for statement in _SCHEMA.split(";"):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO txs (hash, height, idx, ok, tx, receipt) "
                    "SELECT hash, height, idx, ok, tx, receipt FROM txs_v3 ORDER BY height, idx"
                )
                conn.execute("DROP TABLE txs_v3")
                if from_version == 2:
                    conn.execute(
                        "INSERT OR IGNORE INTO failed_tx_index (kind, value, height, idx) "
                        "SELECT i.kind, i.value, i.height, i.idx FROM tx_index i "
                        "JOIN txs t ON t.height = i.height AND t.idx = i.idx WHERE t.ok = 0"
                    )
                (top,) = conn.execute("SELECT MAX(id) FROM tree_nodes").fetchone()
                step = TREE_PACK_NODES << 11  # 65,536 ids: whole packs per query
                for low in range(0, (top or 0) + 1, step):
                    rows = conn.execute(
                        "SELECT id, node FROM tree_nodes WHERE id >= ? AND id < ? ORDER BY id",
                        (low, low + step),
                    ).fetchall()
                    conn.executemany(
                        "INSERT INTO tree_node_packs (pack, nodes) VALUES (?, ?)",
                        _pack_stored_nodes(rows),
                    )
                conn.execute("DROP TABLE tree_nodes")
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
        return _TreeNodes(self._reader(), *READER_TREE_CACHE_PACKS)

    def writer_tree_nodes(self) -> _TreeNodes:
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
        for marks, chunk in _in_list_chunks(tx_hashes):
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
        """Return up to ``limit`` transactions at heights >= ``min_height``, newest first
        (``failed_only``: those with a failed receipt, found through ``txs_failed``)."""
        # Two statements, so that the planner sees ``ok = 0`` and reads the partial index
        # instead of walking back through every transaction.
        where = "ok = 0 AND height >= ?" if failed_only else "height >= ?"
        rows = (
            self._reader()
            .execute(
                f"SELECT hash, height, idx, tx, receipt FROM txs WHERE {where} "
                "ORDER BY height DESC, idx DESC LIMIT ?",
                (min_height, limit),
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
        tree: TreeUpdate,
        index: list[tuple[str, str, int]],
        meta: dict[str, bytes] | None = None,
        receipt_bytes: list[bytes] | None = None,
    ) -> None:
        """Make a block and everything it changed durable, in one SQLite transaction (inside
        :meth:`block_batch`, in the batch's transaction: durable when the batch ends).

        ``receipt_bytes``: the receipts' canonical JSON if the caller has it already.
        ``tree``: the block's state-tree update, its new nodes numbered from
        :meth:`next_tree_node_id`.

        Raises:
            sqlite3.IntegrityError: the height, a transaction hash or a tree node's pack is
                already stored (nothing is written; in a batch, nothing of the batch).
            StorageError: a new state-tree node's encoding is empty (nothing is written).
        """
        leaves = encode_receipts(receipts) if receipt_bytes is None else receipt_bytes
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
