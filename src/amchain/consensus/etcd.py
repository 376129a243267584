"""etcd ordering: an etcd cluster (Raft) orders blocks for a consortium of peers.

Keys under ``/amchain/<chain id>/``:

| key | value |
|---|---|
| ``blocks/<height, 12 digits>`` | a block: header and signed transactions, zlib-compressed |
| ``commits/<height>/<peer key hex>`` | a peer's signed commit record for that height |
| ``cutter`` | the current block cutter (JSON: name, url, key), attached to its lease |

**Cutting.** Peers admit client transactions and pass them to the current cutter (over its
HTTP API), keeping each until it is committed or expires, and passing it again if it is not
committed in time (a cutter that died loses nothing a peer admitted). The cutter is
elected with a lease (``create_revision == 0`` on ``cutter``), but the lease is never
trusted for exclusivity: block ``N`` is appended with a transaction guarded by
``create_revision == 0`` on ``blocks/N``, so a height is written exactly once even if two
cutters race. A cutter that loses such a race (or just won an election) re-synchronises:
it waits until its own peer has applied every block in etcd, so it never orders a
transaction twice, then cuts on top of the latest block.

**Peers.** Every peer (the cutter too) reads blocks from etcd in height order: a watch for
new ones, range reads to fill gaps, and the block source of the node (other peers' APIs)
when etcd no longer holds a height. Duplicates (a height already applied) are ignored.

**Retention.** etcd is not the archive: the cutter deletes block and commit keys more than
``keep_blocks`` below the quorum-final height and compacts etcd's history.

This module orders; it does not execute. The node supplies a :class:`PeerHooks` (apply a
block, read the head, fetch from other peers, hear about finality) — see
``amchain.node.peer``. :class:`EtcdOrderer` composes the parts, one job a file:
:mod:`.etcd_election` (who cuts), :mod:`.etcd_forwarding` (peers pass transactions to the
cutter), :mod:`.etcd_cutting` (the cutter writes blocks), :mod:`.etcd_intake` (every peer
reads and applies them), :mod:`.etcd_commits` (signed commit records), with
:mod:`.etcd_mempool` (the waiting transactions), :mod:`.etcd_blocks` (the wire format),
:mod:`.etcd_keys` and :mod:`.etcd_context` (what they share, etcd's health).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from amchain.consensus.etcd_blocks import (
    BLOCK_VALUE_LIMIT,
    BlockDecodeError,
    OrderedBlock,
    decode_block,
    encode_block,
    pack_block_value,
    unpack_block_value,
)
from amchain.consensus.etcd_commits import CommitRecords
from amchain.consensus.etcd_context import (
    CutterInfo,
    EtcdOrderingConfig,
    OrderingContext,
    PeerHooks,
    log,
)
from amchain.consensus.etcd_cutting import BlockCutter
from amchain.consensus.etcd_election import CutterElection
from amchain.consensus.etcd_forwarding import TxForwarder
from amchain.consensus.etcd_intake import BLOCKS_PER_WRITE, CATCH_UP_READ_BLOCKS, BlockIntake
from amchain.consensus.etcd_keys import ClusterKeys
from amchain.consensus.etcd_mempool import WaitingTxs
from amchain.consensus.signer_quota import SignerQuota
from amchain.ledger import SignedCommit, Transaction

__all__ = [
    "BLOCKS_PER_WRITE",
    "BLOCK_VALUE_LIMIT",
    "CATCH_UP_READ_BLOCKS",
    "BlockDecodeError",
    "ClusterKeys",
    "CutterInfo",
    "EtcdOrderer",
    "EtcdOrderingConfig",
    "OrderedBlock",
    "PeerHooks",
    "decode_block",
    "encode_block",
    "pack_block_value",
    "unpack_block_value",
]


class EtcdOrderer:
    """The etcd ordering adapter of one peer: waiting transactions, forwarding, election,
    cutting, block intake and commit records. Same interface as the solo orderer towards
    the node (``add``, ``knows``, ``len``, ``run``, ``stop``)."""

    def __init__(self, config: EtcdOrderingConfig, *, chain_id: str, hooks: PeerHooks) -> None:
        self.context = OrderingContext(config, chain_id=chain_id, hooks=hooks)
        self.waiting = WaitingTxs(
            self.context,
            SignerQuota(
                max_txs=config.max_pending_per_signer,
                max_bytes=config.max_pending_bytes_per_signer,
            ),
        )
        self.election = CutterElection(self.context, on_elected=self.waiting.arrived.set)
        self.forwarder = TxForwarder(self.context, self.waiting, self.election)
        self.cutter_part = BlockCutter(self.context, self.waiting, self.election)
        self.intake = BlockIntake(self.context, self.waiting)
        self.commits = CommitRecords(self.context)
        self._tasks: list[asyncio.Task[Any]] = []

    # -- the node-facing interface ---------------------------------------------------------
    def __len__(self) -> int:
        return len(self.waiting)

    def knows(self, tx_hash: bytes) -> bool:
        return self.waiting.knows(tx_hash)

    def add(self, tx: Transaction) -> bool:
        """Queue an admitted transaction; False if it is already waiting or ordered.

        Raises:
            MempoolFull: ``max_pending`` transactions are waiting.
        """
        return self.waiting.add(tx)

    def unavailable_reason(self) -> str | None:
        """Why submissions should be refused now (etcd unreachable or without quorum)."""
        if not self.context.etcd_ok:
            return (
                "the ordering service (etcd) has no quorum or cannot be reached; "
                f"retry when it is back ({self.context.etcd_error[:300]})"
            )
        return None

    def block_applied(self, block: OrderedBlock) -> None:
        """The node committed ``block``: its transactions stop waiting."""
        self.waiting.block_applied(block)

    def publish(self, commit: SignedCommit) -> None:
        """Publish this peer's signed commit record (asynchronously)."""
        self.commits.publish(commit)

    # -- what the peer's status shows ---------------------------------------------------------
    @property
    def is_cutter(self) -> bool:
        return self.election.is_cutter

    @property
    def cutter(self) -> CutterInfo:
        return self.election.cutter

    @property
    def latest_seen(self) -> int:
        return self.context.latest_seen

    @property
    def etcd_ok(self) -> bool:
        return self.context.etcd_ok

    @property
    def etcd_error(self) -> str:
        return self.context.etcd_error

    @property
    def blocks_cut(self) -> int:
        return self.cutter_part.blocks_cut

    @property
    def races_lost(self) -> int:
        return self.cutter_part.races_lost

    @property
    def duplicates_ignored(self) -> int:
        return self.intake.duplicates_ignored

    # -- running -----------------------------------------------------------------------------
    async def run(self) -> None:
        """Run every loop until :meth:`stop`."""
        loops: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("health", self.context.health_loop),
            ("election", self.election.loop),
            ("cutter", self.cutter_part.loop),
            ("forwarder", self.forwarder.loop),
            ("blocks", self.intake.loop),
            ("commits", self.commits.follow_loop),
            ("publisher", self.commits.publish_loop),
        ]
        self._tasks = [asyncio.create_task(self._guard(n, f), name=f"etcd-{n}") for n, f in loops]
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._tasks)

    async def _guard(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        """Run a loop; restart it after an unexpected error (logged), until stopping."""
        while not self.context.stopping:
            try:
                await loop()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("etcd %s loop failed; restarting it", name)
                await asyncio.sleep(0.5)

    def stop(self) -> None:
        self.context.stopping = True
        self.waiting.arrived.set()
        for task in self._tasks:
            task.cancel()

    async def aclose(self) -> None:
        """Give up the cutter role and close connections (after :meth:`stop`)."""
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.resign()
        await self.context.aclose()
        self.intake.shutdown()

    async def resign(self) -> None:
        """Stop cutting and release the cutter key so another peer takes over at once."""
        await self.election.resign()
