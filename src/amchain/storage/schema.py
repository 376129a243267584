"""The database's layout (schema 4) and the upgrade of older files.

Every block appends: ``txs`` is a rowid table written in block order (a transaction row is
~0.8 kB; keyed by hash, as in schema 3, each one landed on a random page and four filled a
page), found by hash through the small ``txs_by_hash`` index. The state tree's nodes are
stored in packs of 32 consecutive ids (``tree_node_packs``, see
:mod:`amchain.storage.tree_packs`). Tables added within schema 4 (``block_receipts``) are
created when a file is opened. Files of schema 2 and 3 are upgraded on open.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from amchain.storage.errors import StorageError
from amchain.storage.tree_packs import TREE_PACK_NODES, pack_stored_nodes

__all__ = ["SCHEMA", "SCHEMA_VERSION", "open_schema"]

SCHEMA_VERSION = 4
_log = logging.getLogger(__name__)

SCHEMA = """
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
-- The receipts of the end-of-block hooks that emitted events or refused (few blocks have
-- any): leaves ``tx_count + idx`` of the block's receipts root.
CREATE TABLE IF NOT EXISTS block_receipts (
    height  INTEGER NOT NULL,
    idx     INTEGER NOT NULL,
    receipt BLOB NOT NULL,
    PRIMARY KEY (height, idx)
) WITHOUT ROWID;
"""


def open_schema(conn: sqlite3.Connection, path: Path) -> None:
    """Create the tables of a new file, or upgrade or refuse an older one (on the writer
    connection, before any other use).

    Raises:
        StorageError: the file has a schema version this release cannot read.
    """
    row = None
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone():
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    version = None if row is None else int(row[0])
    if version in (2, 3):
        _upgrade(conn, path, from_version=version)
    elif version is not None and version != SCHEMA_VERSION:
        raise StorageError(
            f"{path} has schema version {version}, this release reads "
            f"{SCHEMA_VERSION}; start with a new data directory (or move this one away)"
        )
    conn.executescript(SCHEMA)
    if version is None:
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION).encode(),),
        )


def _upgrade(conn: sqlite3.Connection, path: Path, *, from_version: int) -> None:
    """Bring a file of schema 2 or 3 to :data:`SCHEMA_VERSION`, in one transaction.

    Version 3 added ``failed_tx_index`` (filled from the chain already stored).
    Version 4 stores transactions in block order (``txs`` becomes a rowid table) and
    the state tree's nodes in packs (``tree_nodes`` becomes ``tree_node_packs``).
    Rewrites both tables: on a large chain this takes minutes and needs free disk
    space about the size of the two tables.
    """
    _log.warning(
        "upgrading %s from schema %d to %d (rewrites transactions and state-tree nodes)",
        path,
        from_version,
        SCHEMA_VERSION,
    )
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("DROP INDEX txs_by_position")
        conn.execute("ALTER TABLE txs RENAME TO txs_v3")
        for statement in SCHEMA.split(";"):
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
                pack_stored_nodes(rows),
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
