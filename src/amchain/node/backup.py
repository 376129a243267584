"""Backups of a node's data dir, taken while it runs, and restores that prove the chain.

**Backup**: SQLite's online backup API copies ``chain.db`` page by page inside one read
transaction, so the copy is the database as of one instant (a WAL reader does not stop the
node's writer, and the copy is never half a block). ``genesis.json``, the node key and the
keystore are copied beside it (owner-only permissions), with ``backup.json`` naming the
chain, the height and a SHA-256 of every file.

**Restore** trusts nothing in the backup but ``genesis.json``: it checks the files against
the manifest, then rebuilds the chain by applying every block of the backup on a fresh
database from genesis — each transaction's signatures checked, every block executed — and
compares each block's state root and receipts root with the commit record the backup holds
(whose signature it checks too). A backup whose blocks do not reproduce their own records
is refused, and nothing is left in the target.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from amchain.consensus.etcd_blocks import OrderedBlock
from amchain.ledger import (
    decode_transaction_bytes,
    verify_commit_signature,
    verify_transaction_signatures,
)
from amchain.node.config import NodeConfig
from amchain.node.keystore import KEYSTORE_FILE
from amchain.node.node import Node
from amchain.storage import BlockStore

__all__ = ["BackupError", "BackupManifest", "backup_data_dir", "restore_data_dir"]

MANIFEST = "backup.json"
DATABASE = "chain.db"
PLAIN_FILES = ("genesis.json",)
SECRET_FILES = ("node_key.json", KEYSTORE_FILE)
BLOCKS_PER_WRITE = 200


class BackupError(RuntimeError):
    """A backup cannot be taken, or a backup cannot be restored (the message says why)."""


@dataclasses.dataclass(frozen=True, slots=True)
class BackupManifest:
    chain_id: str
    height: int
    block_hash: str
    state_root: str
    files: dict[str, str]
    """file name -> SHA-256 (hex)"""
    taken_at_ms: int


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _empty_dir(path: Path, what: str) -> None:
    if path.exists() and any(path.iterdir()):
        raise BackupError(f"{what} {path} is not empty; give a new or empty directory")
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)


def backup_data_dir(data_dir: Path, target: Path) -> BackupManifest:
    """Copy the node's data dir into ``target`` (new or empty), consistently, while the
    node may be running.

    Raises:
        BackupError: no chain in ``data_dir``, or ``target`` is not empty.
    """
    source_db = data_dir / DATABASE
    if not source_db.is_file() or not (data_dir / "genesis.json").is_file():
        raise BackupError(f"no chain in {data_dir} (no {DATABASE} or genesis.json)")
    _empty_dir(target, "backup directory")
    copy = target / DATABASE
    source = sqlite3.connect(f"file:{source_db}?mode=ro", uri=True, timeout=30)
    try:
        destination = sqlite3.connect(copy)
        try:
            source.backup(destination)  # one read transaction: one instant of the chain
            # One self-contained file (the copy inherits the node's WAL mode otherwise).
            destination.execute("PRAGMA journal_mode=DELETE")
            row = destination.execute(
                "SELECT height, hash, commit_record FROM blocks ORDER BY height DESC LIMIT 1"
            ).fetchone()
        finally:
            destination.close()
    finally:
        source.close()
    copy.chmod(0o600)
    if row is None:
        raise BackupError(f"the chain in {data_dir} has no block yet")
    height, block_hash, commit_bytes = row
    record = json.loads(commit_bytes)["record"]
    for name in PLAIN_FILES + SECRET_FILES:
        if (data_dir / name).is_file():
            shutil.copyfile(data_dir / name, target / name)
            (target / name).chmod(0o600 if name in SECRET_FILES else 0o644)
    files = {
        name: _sha256(target / name)
        for name in (DATABASE, *PLAIN_FILES, *SECRET_FILES)
        if (target / name).is_file()
    }
    manifest = BackupManifest(
        chain_id=str(record["chain_id"]),
        height=int(height),
        block_hash=bytes(block_hash).hex(),
        state_root=str(record["state_root"]),
        files=files,
        taken_at_ms=time.time_ns() // 1_000_000,
    )
    (target / MANIFEST).write_text(json.dumps(dataclasses.asdict(manifest), indent=2) + "\n")
    return manifest


def _read_manifest(backup: Path) -> BackupManifest:
    try:
        data: dict[str, Any] = json.loads((backup / MANIFEST).read_text())
        return BackupManifest(**data)
    except (OSError, ValueError, TypeError) as exc:
        raise BackupError(f"{backup} is not an amchain backup ({MANIFEST}: {exc})") from None


def restore_data_dir(
    backup: Path,
    data_dir: Path,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> BackupManifest:
    """Rebuild ``data_dir`` (new or empty) from ``backup`` by re-executing every block and
    checking it against the backup's commit records; ``progress(height, of)`` as it goes.

    Raises:
        BackupError: the files do not match the manifest, or a block does not reproduce
            its commit record (nothing is left in ``data_dir``).
    """
    manifest = _read_manifest(backup)
    for name, digest in manifest.files.items():
        path = backup / name
        if not path.is_file() or _sha256(path) != digest:
            raise BackupError(f"{path} is missing or changed since the backup was taken")
    _empty_dir(data_dir, "data directory")
    try:
        for name in (*PLAIN_FILES, *SECRET_FILES):
            if name in manifest.files:
                shutil.copyfile(backup / name, data_dir / name)
                (data_dir / name).chmod(0o600 if name in SECRET_FILES else 0o644)
        # Read from a scratch copy: opening the database writes to it, and the backup stays
        # as it was taken (restorable again, its digests still right).
        scratch = data_dir / ".restore-source.db"
        shutil.copyfile(backup / DATABASE, scratch)
        try:
            _replay(scratch, data_dir, manifest, progress)
        finally:
            for leftover in data_dir.glob(".restore-source.db*"):
                leftover.unlink()
    except BaseException:
        shutil.rmtree(data_dir, ignore_errors=True)
        raise
    return manifest


def _replay(
    source_db: Path,
    data_dir: Path,
    manifest: BackupManifest,
    progress: Callable[[int, int], None] | None,
) -> None:
    source = BlockStore(source_db)
    node = Node.open(NodeConfig(data_dir=data_dir))
    try:
        if node.chain_id != manifest.chain_id:
            raise BackupError(
                f"genesis.json is for chain {node.chain_id}, the backup for {manifest.chain_id}"
            )
        height = 1
        while height <= manifest.height:
            with node.writer.batch():
                for _ in range(BLOCKS_PER_WRITE):
                    if height > manifest.height:
                        break
                    _apply_checked(source, node, height)
                    height += 1
            if progress is not None:
                progress(height - 1, manifest.height)
        if node.head.hash != manifest.block_hash:
            raise BackupError(
                f"the rebuilt chain ends at {node.head.hash}, the manifest says "
                f"{manifest.block_hash}"
            )
    finally:
        node.close()
        source.close()


def _apply_checked(source: BlockStore, node: Node, height: int) -> None:
    stored = source.get_block(height)
    if stored is None:
        raise BackupError(f"the backup has no block {height}")
    if not verify_commit_signature(stored.commit):
        raise BackupError(f"the commit record of block {height} is not validly signed")
    txs = [decode_transaction_bytes(row.tx) for row in source.block_txs(height)]
    for tx in txs:
        verify_transaction_signatures(tx)
    committed = node.writer.apply_ordered(OrderedBlock(stored.header, txs, stored.hash))
    record = node.writer.last_commit
    assert record is not None
    if committed.hash != stored.hash or (
        record.record.state_root,
        record.record.receipts_root,
    ) != (stored.commit.record.state_root, stored.commit.record.receipts_root):
        raise BackupError(
            f"block {height} does not reproduce its commit record: state root "
            f"{record.record.state_root} against {stored.commit.record.state_root} in the "
            "backup"
        )
