"""A consortium peer's own checks: block validity, quorum finality, certificates, catch-up.

A peer trusts neither the cutter nor the other peers:

* every ordered block must follow this peer's head (height, ``prev_hash``, time), commit to
  its transactions (Merkle root), and hold only transactions whose envelope is valid at
  the block's time (chain, expiry, signatures) and that are not already on the chain; a
  block that breaks a rule halts the peer with the reason (:func:`validate_ordered_block`);
* a height is *final* when a quorum of the consortium's peers signed the same commit record
  (block hash, state root, receipts root) (:class:`QuorumTracker`); a peer whose own record
  differs from the quorum's halts instead of serving a forked state;
* blocks fetched from another peer (below etcd's retained history) come with the quorum's
  signed commit records, which are checked before the block is applied
  (:func:`verify_certificate`), and the peer's own result must match them.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import msgspec

from amchain.codec import encode_canonical
from amchain.consensus.etcd import BlockDecodeError, OrderedBlock, decode_block
from amchain.ledger import (
    BlockCode,
    BlockError,
    CommitRecord,
    SignedCommit,
    TxError,
    validate_block_header,
    validate_transaction_window,
    verify_commit_signature,
)

log = logging.getLogger(__name__)


# -- block validity -----------------------------------------------------------------------


def validate_ordered_block(
    block: OrderedBlock,
    *,
    chain_id: str,
    height: int,
    head_hash: str,
    head_time_ms: int,
    committed_among: Callable[[list[bytes]], set[bytes]],
) -> None:
    """Check that ``block`` may follow the block ``(height, head_hash, head_time_ms)``.

    ``committed_among(hashes)`` returns those of ``hashes`` that are in committed blocks
    (asked once for the whole block). Signatures are checked separately (in parallel) by the
    caller.

    Raises:
        BlockError: WRONG_CHAIN, WRONG_HEIGHT, WRONG_PREV_HASH, TIME_WENT_BACKWARDS,
            WRONG_TX_ROOT, or INVALID_TRANSACTION (expired, foreign, repeated or replayed).
    """
    validate_block_header(
        block.header,
        block.txs,
        chain_id=chain_id,
        expected_height=height + 1,
        prev_hash=head_hash,
        prev_time_ms=head_time_ms,
    )
    committed = committed_among([tx.hash for tx in block.txs]) if block.txs else set()
    seen: set[bytes] = set()
    for index, tx in enumerate(block.txs):
        try:
            validate_transaction_window(tx, chain_id=chain_id, now_ms=block.header.time_ms)
        except TxError as error:
            raise BlockError(
                BlockCode.INVALID_TRANSACTION,
                f"transaction {index} ({tx.hash_hex}) is not valid at the block's time: "
                f"{error.codespace}/{error.code} {error.message}",
            ) from None
        if tx.hash in seen or tx.hash in committed:
            raise BlockError(
                BlockCode.INVALID_TRANSACTION,
                f"transaction {index} ({tx.hash_hex}) is already on the chain; "
                "a block must not replay it",
            )
        seen.add(tx.hash)


# -- quorum -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PeerInfo:
    name: str
    org: str
    url: str
    node_key: str  # hex


@dataclass(frozen=True, slots=True)
class Finality:
    """A height signed by a quorum: the record they agree on and their signed commits."""

    height: int
    record: CommitRecord
    commits: list[SignedCommit]


def majority(count: int) -> int:
    return count // 2 + 1


class QuorumTracker:
    """Collects peers' signed commit records; says when a quorum agrees on a height.

    After a height is final, later signatures of the same record still count (for the
    last :data:`KEEP_FINAL` final heights): every peer's certificate grows to all the
    peers that agree, so every peer ends up serving the same certificate (and the same
    proofs), whatever order the signatures reached it in.
    """

    KEEP_FINAL = 256

    def __init__(self, peers: list[PeerInfo], quorum: int, chain_id: str) -> None:
        if not 1 <= quorum <= len(peers):
            raise ValueError(f"quorum must be between 1 and {len(peers)} peers, got {quorum}")
        self.peers = {p.node_key: p for p in peers}
        self.quorum = quorum
        self.chain_id = chain_id
        self._votes: dict[int, dict[str, SignedCommit]] = {}
        self._final: dict[int, Finality] = {}
        self.final_height = -1

    def add(self, commit: SignedCommit) -> Finality | None:
        """Count one signed record; return the finality it completes or extends, if any.

        Records from unknown signers, with bad signatures or for another chain are ignored.
        """
        record = commit.record
        if record.chain_id != self.chain_id or commit.signer not in self.peers:
            return None
        final = self._final.get(record.height)
        if final is not None:
            if record != final.record or any(c.signer == commit.signer for c in final.commits):
                return None
            if not verify_commit_signature(commit):
                return None
            return self.note_final(Finality(final.height, record, [*final.commits, commit]))
        if record.height <= self.final_height:
            return None
        votes = self._votes.setdefault(record.height, {})
        if commit.signer in votes:
            return None
        if not verify_commit_signature(commit):
            log.warning("ignoring a commit record with a bad signature from %s", commit.signer)
            return None
        votes[commit.signer] = commit
        agreeing = [c for c in votes.values() if c.record == record]
        if len(agreeing) < self.quorum:
            return None
        return self.note_final(Finality(record.height, record, agreeing))

    def note_final(self, finality: Finality) -> Finality:
        """Record a final height (from a quorum of votes, or a verified certificate);
        return it with its signatures in signer order."""
        finality = Finality(
            finality.height, finality.record, sorted(finality.commits, key=lambda c: c.signer)
        )
        self._final[finality.height] = finality
        self.skip_to(finality.height)
        for height in [h for h in self._final if h <= self.final_height - self.KEEP_FINAL]:
            del self._final[height]
        return finality

    def skip_to(self, height: int) -> None:
        """Heights up to ``height`` are final."""
        self.final_height = max(self.final_height, height)
        for h in [h for h in self._votes if h <= height]:
            del self._votes[h]

    def disagreement(self, height: int) -> list[SignedCommit]:
        return list(self._votes.get(height, {}).values())

    def names(self, commits: list[SignedCommit]) -> str:
        return ", ".join(self.peers[c.signer].name for c in commits if c.signer in self.peers)


def verify_certificate(
    block: OrderedBlock, certificate: list[SignedCommit], tracker: QuorumTracker
) -> CommitRecord:
    """Check that a quorum of known peers signed one commit record for ``block``.

    Raises:
        BlockError: NOT_CERTIFIED if fewer than a quorum of known peers signed one record,
            or the record is for another chain, height or block hash.
    """
    signers: set[str] = set()
    record: CommitRecord | None = None
    for commit in certificate:
        if commit.signer not in tracker.peers or commit.signer in signers:
            continue
        if not verify_commit_signature(commit):
            continue
        if record is None:
            record = commit.record
        if commit.record != record:
            continue
        signers.add(commit.signer)
    if record is None or len(signers) < tracker.quorum:
        raise BlockError(
            BlockCode.NOT_CERTIFIED,
            f"block {block.height} came with {len(signers)} valid signatures, "
            f"{tracker.quorum} are needed",
        )
    if record.height != block.height or record.chain_id != tracker.chain_id:
        raise BlockError(BlockCode.NOT_CERTIFIED, "certificate is for another height or chain")
    if record.block_hash != block.hash:
        raise BlockError(
            BlockCode.NOT_CERTIFIED,
            f"certificate names block {record.block_hash[:16]}…, the block is {block.hash[:16]}…",
        )
    return record


# -- certificates on disk -----------------------------------------------------------------


class CertificateStore:
    """The quorum's signed commit records per final height (``certificates.db``).

    Kept beside the chain so a peer can prove to a lagging peer that a block it serves is
    the one the consortium committed. Rebuilt from etcd or other peers if lost.
    """

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS certificates (height INTEGER PRIMARY KEY, commits BLOB)"
        )
        self._lock = threading.Lock()

    def put_many(self, items: list[Finality]) -> None:
        with self._lock:
            self._conn.execute("BEGIN")
            self._conn.executemany(
                "INSERT OR REPLACE INTO certificates (height, commits) VALUES (?, ?)",
                [(f.height, encode_canonical(f.commits)) for f in items],
            )
            self._conn.execute("COMMIT")

    def get_raw(self, height: int) -> bytes | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT commits FROM certificates WHERE height = ?", (height,)
            ).fetchone()
        return None if row is None else bytes(row[0])

    def top(self) -> int:
        with self._lock:
            row = self._conn.execute("SELECT MAX(height) FROM certificates").fetchone()
        return -1 if row[0] is None else int(row[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()


# -- catch-up from other peers ------------------------------------------------------------


class _FetchedBlock(msgspec.Struct, forbid_unknown_fields=True):
    block: msgspec.Raw
    certificate: list[SignedCommit]


class _FetchAnswer(msgspec.Struct, forbid_unknown_fields=True):
    blocks: list[_FetchedBlock]


async def fetch_blocks_from_peers(
    http: httpx.AsyncClient,
    peers: list[PeerInfo],
    height: int,
    count: int,
    tracker: QuorumTracker,
) -> list[tuple[OrderedBlock, list[SignedCommit]]]:
    """Ask other peers (in random order) for blocks from ``height``; return the first
    answer whose blocks each carry a valid quorum certificate. Empty if none could."""
    order = list(peers)
    random.shuffle(order)
    for peer in order:
        try:
            response = await http.get(
                f"{peer.url}/v1/cluster/blocks",
                params={"from_height": height, "count": count},
                timeout=30,
            )
        except httpx.HTTPError as exc:
            log.info("catch-up: %s unreachable (%s)", peer.name, exc)
            continue
        if response.status_code != 200:
            continue
        try:
            answer = msgspec.json.decode(response.content, type=_FetchAnswer)
            out: list[tuple[OrderedBlock, list[SignedCommit]]] = []
            for item in answer.blocks:
                block = decode_block(bytes(item.block))
                if block.height != height + len(out):
                    break
                verify_certificate(block, item.certificate, tracker)
                out.append((block, item.certificate))
        except (msgspec.DecodeError, msgspec.ValidationError, BlockDecodeError, BlockError) as exc:
            log.warning("catch-up: %s served a block that does not verify: %s", peer.name, exc)
            continue
        if out:
            log.info(
                "catch-up: %d blocks from %d fetched from %s and verified",
                len(out),
                height,
                peer.name,
            )
            return out
    return []
