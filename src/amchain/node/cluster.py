"""A consortium peer: the same node as the embedded mode, with etcd ordering.

``ClusterNode`` is :class:`amchain.node.Node` with the ``etcd`` ordering adapter in place of
``solo``: client transactions go through the same admission pipeline, blocks are executed
by the same executor and committed by the same storage code. What differs is where blocks
come from (etcd, in height order, or other peers below etcd's history) and what happens
after a commit: the peer signs and publishes its commit record, and a height becomes final
when a quorum of peers signed the same record.

The peer's configuration is a TOML file (:mod:`amchain.node.cluster_config`,
``amchain node start --config FILE``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import msgspec

from amchain.codec import convert, encode_canonical
from amchain.consensus.etcd import (
    EtcdOrderer,
    EtcdOrderingConfig,
    OrderedBlock,
    encode_block,
)
from amchain.crypto import KeyPair
from amchain.ledger import (
    BlockCode,
    BlockError,
    SignedCommit,
    Transaction,
    TxError,
    verify_transaction_signatures,
)
from amchain.modules import consortium
from amchain.node.block_writer import CommittedBlock
from amchain.node.cluster_config import ClusterConfig, ClusterConfigError
from amchain.node.intake import NodeUnavailable
from amchain.node.lock import DataDirLock
from amchain.node.node import Node
from amchain.node.peer import (
    CertificateStore,
    Finality,
    QuorumTracker,
    fetch_blocks_from_peers,
    verify_certificate,
)
from amchain.runtime import Genesis, default_registry
from amchain.storage import BlockStore, StoredTx

log = logging.getLogger(__name__)

HALT_FILE = "HALTED.json"


class OrderingUnavailable(NodeUnavailable):
    """The ordering service cannot take transactions (etcd down or without quorum)."""

    title = "Ordering service unavailable"
    code = 2


class PeerHalted(NodeUnavailable):
    """This peer stopped (invalid block, or a state root different from the quorum's)."""

    title = "Peer halted"
    code = 3


class ClusterNode(Node):
    """A consortium peer. Create with :meth:`open_cluster`."""

    ordering = "etcd"
    orders_everything = False  # other peers' admitted transactions arrive in their blocks

    def __init__(self, *, cluster: ClusterConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cluster = cluster
        self.tracker = QuorumTracker(cluster.peers, cluster.quorum, self.chain_id)
        self.certificates = CertificateStore(cluster.data_dir / "certificates.db")
        # Genesis is every peer's by construction; later heights are final with a quorum.
        self.tracker.skip_to(max(0, min(self.certificates.top(), self.head.height)))
        self._own: dict[int, SignedCommit] = {}
        self._final_records: dict[int, Finality] = {}
        self._final_waiters: dict[int, list[asyncio.Future[None]]] = {}
        self._to_persist: list[Finality] = []
        self._halted: str | None = None
        self.blocks_fetched = 0
        self.most_blocks_in_one_write = 0
        self.tx_count = _count_txs(self.config.db_path)
        self._verify_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="verify")
        self._http: httpx.AsyncClient | None = None
        self._etcd_orderer: EtcdOrderer | None = None
        self._background: list[asyncio.Task[Any]] = []
        halt_file = cluster.data_dir / HALT_FILE
        if halt_file.exists():
            reason = json.loads(halt_file.read_text()).get("reason", "unknown")
            self._halted = f"{reason} (halted earlier; remove {halt_file} after repairing)"

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def open_cluster(cls, cluster: ClusterConfig) -> ClusterNode:
        """Open (creating if new) this peer's database from the shared genesis.

        Raises:
            ClusterConfigError: no genesis, a key that is not this peer's, or peers whose
                node keys are not registered consortium keys in the genesis.
            amchain.node.lock.DataDirInUse: another node has this peer's data dir open.
            amchain.storage.StorageError: the database belongs to another chain.
        """
        config = cluster.node_config()
        lock = DataDirLock.acquire(config.data_dir)
        try:
            if not cluster.genesis_path.exists():
                raise ClusterConfigError(f"no genesis at {cluster.genesis_path}")
            if cluster.genesis_path.resolve() != config.genesis_path.resolve():
                if config.genesis_path.exists():
                    if config.genesis_path.read_bytes() != cluster.genesis_path.read_bytes():
                        raise ClusterConfigError(
                            f"{config.genesis_path} differs from {cluster.genesis_path}"
                        )
                else:
                    shutil.copyfile(cluster.genesis_path, config.genesis_path)
            genesis = convert(json.loads(config.genesis_path.read_text()), Genesis, what="genesis")
            key = KeyPair.from_seed(
                bytes.fromhex(json.loads(cluster.node_key_path.read_text())["seed"])
            )
            if key.public_key.hex() != cluster.me.node_key:
                raise ClusterConfigError(
                    f"{cluster.node_key_path} holds key {key.public_key.hex()[:16]}…, but "
                    f"[[peers]] lists {cluster.me.node_key[:16]}… for {cluster.name}"
                )
            # As the solo node: the WAL is copied back on a thread of its own, not inside the
            # COMMIT of whichever block crosses SQLite's threshold (the block writer's path).
            store = BlockStore.open(config.db_path, background_checkpoints=True)
            node = cls(
                cluster=cluster,
                config=config,
                store=store,
                registry=default_registry(),
                genesis=genesis,
                node_key=key,
                data_dir_lock=lock,
            )
            node.writer.write_genesis(genesis)
            state = store.state()
            for peer in cluster.peers:
                record = consortium.get_key(state, bytes.fromhex(peer.node_key))
                if record is None or record.status != "active":
                    raise ClusterConfigError(
                        f"peer {peer.name}'s node key {peer.node_key[:16]}… is not an active "
                        "consortium key in the genesis"
                    )
        except BaseException:
            lock.release()
            raise
        return node

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        cluster = self.cluster
        self._http = httpx.AsyncClient(timeout=10)
        self._etcd_orderer = EtcdOrderer(
            EtcdOrderingConfig(
                endpoints=cluster.etcd_endpoints,
                name=cluster.name,
                url=cluster.url,
                node_key_hex=self.node_key.public_key.hex(),
                max_block_txs=cluster.max_block_txs,
                max_block_bytes=cluster.max_block_bytes,
                max_block_wait_ms=cluster.max_block_wait_ms,
                max_pending=self.config.max_mempool_txs,
                max_pending_per_signer=self.config.max_pending_per_signer,
                max_pending_bytes_per_signer=self.config.max_pending_bytes_per_signer,
                lease_ttl_s=cluster.lease_ttl_s,
                keep_blocks=cluster.keep_blocks,
                compact_every=cluster.compact_every,
            ),
            chain_id=self.chain_id,
            hooks=self,
        )
        if self.head.height > 0 and self._halted is None:
            # Publish the head's record again: a crash may have come between commit and
            # publication, and the quorum may need this peer's signature.
            head = self.store.get_block(self.head.height)
            if head is not None:
                self._own[self.head.height] = head.commit
                self._etcd_orderer.publish(head.commit)
        self.start_ordering(self._etcd_orderer, name="etcd-orderer")
        self._background.append(asyncio.create_task(self._persist_loop(), name="certificates"))

    async def stop(self) -> None:
        for task in self._background:
            task.cancel()
        if self._etcd_orderer is not None:
            self._etcd_orderer.stop()
            await self._etcd_orderer.aclose()
        if self._http is not None:
            await self._http.aclose()
        self._flush_certificates()
        self._verify_pool.shutdown(wait=True)
        self.certificates.close()
        self.close()

    # -- writes ----------------------------------------------------------------------------
    def check_can_order(self) -> None:
        """Refuse at once if this peer cannot order transactions now.

        Raises:
            PeerHalted: this peer stopped (the reason says why).
            OrderingUnavailable: etcd has no quorum or cannot be reached.
            NodeUnavailable: the peer is starting.
        """
        if self._halted is not None:
            raise PeerHalted(self._halted)
        if self._etcd_orderer is None:
            raise NodeUnavailable("the peer is starting")
        reason = self._etcd_orderer.unavailable_reason()
        if reason is not None:
            raise OrderingUnavailable(reason)

    # -- PeerHooks (called by the etcd orderer) --------------------------------------------
    def applied(self) -> tuple[int, str, int]:
        head = self.head
        return head.height, head.hash, head.time_ms

    def committed_among(self, tx_hashes: list[bytes]) -> set[bytes]:
        return self.store.known_txs(tx_hashes) if tx_hashes else set()

    def halted(self) -> str | None:
        return self._halted

    def halt(self, reason: str) -> None:
        if self._halted is not None:
            return
        self._halted = reason
        log.critical("peer %s halts: %s", self.cluster.name, reason)
        path = self.cluster.data_dir / HALT_FILE
        with contextlib.suppress(OSError):
            path.write_text(json.dumps({"reason": reason, "time_ms": time.time_ns() // 10**6}))
        if self._etcd_orderer is not None:
            self._background.append(asyncio.ensure_future(self._etcd_orderer.resign()))
        for waiters in self._final_waiters.values():
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)

    def dropped(self, tx_hash: bytes, error: TxError) -> None:
        self.record_dropped(tx_hash, error)

    def final_height(self) -> int:
        return self.tracker.final_height

    async def fetch(self, height: int, count: int) -> list[tuple[OrderedBlock, list[SignedCommit]]]:
        assert self._http is not None
        others = [p for p in self.cluster.peers if p.name != self.cluster.name]
        blocks = await fetch_blocks_from_peers(self._http, others, height, count, self.tracker)
        self.blocks_fetched += len(blocks)
        return blocks

    async def apply(self, blocks: list[tuple[OrderedBlock, list[SignedCommit] | None]]) -> None:
        """Validate, execute and commit the next blocks in height order, then publish their
        signed commit records. Several blocks (a backlog) are written with one COMMIT. An
        invalid block halts the peer; the valid blocks before it are committed first."""
        blocks = [(b, c) for b, c in blocks if b.height > self.head.height]
        if self._halted is not None or not blocks:
            return
        checked: list[OrderedBlock] = []
        failure: str | None = None
        for block, certificate in blocks:
            try:
                if certificate is not None:
                    verify_certificate(block, certificate, self.tracker)
                await self._verify_signatures(block)
            except BlockError as error:
                failure = _invalid_block(block, error)
                break
            except Exception as exc:
                log.exception("checking block %d failed", block.height)
                failure = f"block {block.height} could not be applied: {type(exc).__name__}: {exc}"
                break
            checked.append(block)
        if not checked:
            self.halt(failure or "")
            return
        started = time.perf_counter()
        try:
            applied, error_in_batch = await self.run_on_writer(self._apply_on_writer, checked)
        except Exception as exc:
            # Storage or a bug: the batch was rolled back, and retrying it would fail the
            # same way. The writer's tip and caches are ahead of the file; a restart (which
            # reads the file) starts again from the last durable block.
            first, last = checked[0].height, checked[-1].height
            log.exception("applying blocks %d..%d failed", first, last)
            which = f"block {first}" if first == last else f"blocks {first}..{last}"
            self.halt(f"{which} could not be applied: {type(exc).__name__}: {exc}")
            return
        if applied:
            self.metrics.committed(
                blocks=len(applied),
                txs=sum(len(block.txs) for block, _, _ in applied),
                seconds=time.perf_counter() - started,
                last_time_ms=applied[-1][0].header.time_ms,
            )
        self.most_blocks_in_one_write = max(self.most_blocks_in_one_write, len(applied))
        certificates = dict((b.height, c) for b, c in blocks)
        for block, committed, commit in applied:
            self._announce_applied(block, committed, commit, certificates[block.height])
        if error_in_batch is not None or failure is not None:
            self.halt(error_in_batch or failure or "")

    def _announce_applied(
        self,
        block: OrderedBlock,
        committed: CommittedBlock,
        commit: SignedCommit,
        certificate: list[SignedCommit] | None,
    ) -> None:
        """A block is durable here: publish its commit record, wake its waiters, compare."""
        self._own[commit.record.height] = commit
        self.tx_count += len(block.txs)
        assert self._etcd_orderer is not None
        self._etcd_orderer.block_applied(block)
        self._etcd_orderer.publish(commit)
        self.waiters.announce(committed, block.txs)
        if certificate is not None:
            self._finalize(
                self.tracker.note_final(Finality(block.height, certificate[0].record, certificate))
            )
        else:
            final = self._final_records.get(block.height)
            if final is not None:
                self._compare(final)

    async def _verify_signatures(self, block: OrderedBlock) -> None:
        todo = [tx for tx in block.txs if tx.hash not in block.verified]
        if not todo:
            return
        loop = asyncio.get_running_loop()
        chunks = [todo[i::2] for i in range(2)]

        def verify(txs: list[Transaction]) -> None:
            for tx in txs:
                try:
                    verify_transaction_signatures(tx)
                except TxError as error:
                    raise BlockError(
                        BlockCode.INVALID_TRANSACTION,
                        f"transaction {tx.hash_hex} has an invalid signature: {error.message}",
                    ) from None

        await asyncio.gather(*(loop.run_in_executor(self._verify_pool, verify, c) for c in chunks))

    def _apply_on_writer(
        self, blocks: list[OrderedBlock]
    ) -> tuple[list[tuple[OrderedBlock, CommittedBlock, SignedCommit]], str | None]:
        """Apply ``blocks`` in order as one batch (the block writer thread). Returns the
        blocks applied and, if one was invalid, why (the blocks after it are not tried;
        the ones before it are committed).

        Raises:
            Exception: storage failed, or a bug; nothing of the batch was committed.
        """
        applied: list[tuple[OrderedBlock, CommittedBlock, SignedCommit]] = []
        failure: str | None = None
        with self.writer.batch():  # durable when it ends: readers then see the batch's blocks
            for block in blocks:
                try:
                    committed = self.writer.apply_ordered(block)
                except BlockError as error:  # raised before the block writes anything
                    failure = _invalid_block(block, error)
                    break
                assert self.writer.last_commit is not None
                applied.append((block, committed, self.writer.last_commit))
        return applied, failure

    # -- finality --------------------------------------------------------------------------
    def on_commit_record(self, commit: SignedCommit) -> None:
        if self._halted is not None:
            return
        finality = self.tracker.add(commit)
        if finality is not None:
            self._finalize(finality)

    def _finalize(self, finality: Finality) -> None:
        """A height became final (or its certificate gained a signature)."""
        first = finality.height not in self._final_records
        self._final_records[finality.height] = finality
        self._to_persist.append(finality)
        if not first:
            return
        if finality.height in self._own:
            self._compare(finality)
        for height in [h for h in self._final_waiters if h <= finality.height]:
            for fut in self._final_waiters.pop(height):
                if not fut.done():
                    fut.set_result(None)
        for height in [h for h in self._own if h < finality.height - 64]:
            del self._own[height]
        floor = min(finality.height, self.head.height) - 64
        for height in [h for h in self._final_records if h < floor]:
            del self._final_records[height]

    def _compare(self, finality: Finality) -> None:
        own = self._own.get(finality.height)
        if own is None or own.record == finality.record:
            return
        self.halt(
            f"state diverged at height {finality.height}: this peer computed state root "
            f"{own.record.state_root} (receipts {own.record.receipts_root[:16]}…, block "
            f"{own.record.block_hash[:16]}…), but a quorum of {len(finality.commits)} peers "
            f"({self.tracker.names(finality.commits)}) signed state root "
            f"{finality.record.state_root} (block {finality.record.block_hash[:16]}…); "
            "this peer stops serving instead of serving a forked state"
        )

    def is_final(self, height: int) -> bool:
        return height <= self.tracker.final_height and self._halted is None

    async def wait_final_height(self, height: int, timeout_s: float) -> bool:
        if self.is_final(height):
            return True
        if self._halted is not None:
            return False
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._final_waiters.setdefault(height, []).append(fut)
        try:
            await asyncio.wait_for(fut, timeout_s)
        except TimeoutError:
            return False
        return self.is_final(height)

    async def wait_for_finals(
        self, tx_hashes: list[bytes], timeout_s: float
    ) -> list[tuple[StoredTx | None, bool]]:
        """Wait until every transaction's block is final (one wait for the batch)."""
        deadline = time.monotonic() + timeout_s
        committed = await self.wait_for_commits(tx_hashes, timeout_s)
        heights = [s.height for s in committed if s is not None]
        if heights:
            await self.wait_final_height(max(heights), max(0.0, deadline - time.monotonic()))
        return [(s, s is not None and self.is_final(s.height)) for s in committed]

    async def wait_for_final(
        self, tx_hash: bytes, timeout_s: float
    ) -> tuple[StoredTx | None, bool]:
        deadline = time.monotonic() + timeout_s
        stored = await self.wait_for_commit(tx_hash, timeout_s)
        if stored is None:
            return None, False
        final = await self.wait_final_height(stored.height, max(0.0, deadline - time.monotonic()))
        return stored, final

    async def _persist_loop(self) -> None:
        while True:
            await asyncio.sleep(0.2)
            if self._to_persist:
                items, self._to_persist = self._to_persist, []
                await asyncio.get_running_loop().run_in_executor(
                    self._verify_pool, self.certificates.put_many, items
                )

    def _flush_certificates(self) -> None:
        if self._to_persist:
            items, self._to_persist = self._to_persist, []
            with contextlib.suppress(Exception):
                self.certificates.put_many(items)

    # -- certificates for proofs --------------------------------------------------------------
    @property
    def certified_height(self) -> int:
        """Proofs default to the latest final height: its certificate has a quorum."""
        return max(0, min(self.head.height, self.tracker.final_height))

    def certified_commits(self, height: int) -> list[SignedCommit]:
        """The quorum's signed commit records for a final height; this peer's own record
        (one signature, which a light client refuses) for a height not final yet."""
        finality = self._final_records.get(height)
        if finality is not None:
            return list(finality.commits)
        raw = self.certificates.get_raw(height)
        if raw is not None:
            return msgspec.json.decode(raw, type=list[SignedCommit])
        return super().certified_commits(height)

    # -- serving other peers ---------------------------------------------------------------
    def export_blocks(self, from_height: int, count: int) -> bytes:
        """Final blocks from ``from_height`` with their certificates, for a lagging peer."""
        parts: list[bytes] = []
        top = min(self.head.height, self.tracker.final_height)
        for height in range(from_height, min(from_height + count, top + 1)):
            header = self.store.get_header(height)
            certificate = self.certificates.get_raw(height)
            if certificate is None:
                finality = self._final_records.get(height)
                if finality is None:
                    break
                certificate = encode_canonical(finality.commits)
            if header is None:
                break
            block = encode_block(header, (t.tx for t in self.store.block_txs(height)))
            parts.append(b'{"block":' + block + b',"certificate":' + certificate + b"}")
        return b'{"blocks":[' + b",".join(parts) + b"]}"

    def cluster_status(self) -> dict[str, Any]:
        orderer = self._etcd_orderer
        head = self.head
        latest = max(orderer.latest_seen if orderer else -1, head.height)
        return {
            "name": self.cluster.name,
            "org": self.cluster.org,
            "url": self.cluster.url,
            "node_key": self.node_key.public_key.hex(),
            "height": head.height,
            "latest_block_hash": head.hash,
            "state_root": head.state_root.hex(),
            "final_height": self.tracker.final_height,
            "latest_ordered_height": latest,
            "lag": latest - head.height,
            "role": "cutter" if orderer is not None and orderer.is_cutter else "peer",
            "cutter": orderer.cutter.name if orderer is not None else "",
            "pending_txs": self.pending_count(),
            "quorum": self.tracker.quorum,
            "peers": [p.name for p in self.cluster.peers],
            "etcd_ok": orderer.etcd_ok if orderer is not None else False,
            "etcd_error": orderer.etcd_error if orderer is not None else "",
            "halted": self._halted is not None,
            "halt_reason": self._halted,
            "blocks_cut": orderer.blocks_cut if orderer is not None else 0,
            "blocks_fetched": self.blocks_fetched,
            "most_blocks_in_one_write": self.most_blocks_in_one_write,
            "duplicate_block_events_ignored": orderer.duplicates_ignored if orderer else 0,
            "tx_count": self.tx_count,
        }


def _count_txs(db_path: Path) -> int:
    """Transactions committed in the database (for status; blocks record their counts)."""
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        row = conn.execute("SELECT COALESCE(SUM(tx_count), 0) FROM blocks").fetchone()
    return int(row[0])


def _invalid_block(block: OrderedBlock, error: BlockError) -> str:
    return f"block {block.height} is invalid ({error.codespace}/{error.code}): {error.message}"
