"""What the parts of one peer's etcd ordering share: its configuration, the chain's etcd
keys, the etcd client, the peer it serves (:class:`PeerHooks`), etcd's health and how far
the chain has got."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Protocol

import httpx

from amchain.consensus.etcd_blocks import OrderedBlock
from amchain.consensus.etcd_keys import ClusterKeys
from amchain.consensus.etcdv3 import EtcdClient, EtcdUnavailable
from amchain.ledger import SignedCommit, TxError

__all__ = [
    "ETCD_REQUEST_LIMIT",
    "PAUSE_S",
    "CutterInfo",
    "EtcdOrderingConfig",
    "OrderingContext",
    "PeerHooks",
    "now_ms",
]

log = logging.getLogger("amchain.consensus.etcd")

PAUSE_S = 5.0  # a wait for a block event that overran this much means the process was paused
ETCD_REQUEST_LIMIT = 1536 * 1024  # etcd's default --max-request-bytes (1.5 MiB)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class PeerHooks(Protocol):
    """What the ordering adapter needs from the peer it serves."""

    def applied(self) -> tuple[int, str, int]:
        """(height, hash, time_ms) of the last block this peer committed."""
        ...

    def committed_among(self, tx_hashes: list[bytes]) -> set[bytes]:
        """Those of ``tx_hashes`` that are in blocks this peer committed."""
        ...

    def halted(self) -> str | None:
        """Why this peer stopped, or None while it runs."""
        ...

    def halt(self, reason: str) -> None:
        """Stop this peer: it serves no reads or writes and says ``reason``."""
        ...

    async def apply(self, blocks: list[tuple[OrderedBlock, list[SignedCommit] | None]]) -> None:
        """Validate, execute and commit the next blocks, in height order, each with the
        quorum certificate it came with, if any (halting the peer at an invalid one)."""
        ...

    async def fetch(self, height: int, count: int) -> list[tuple[OrderedBlock, list[SignedCommit]]]:
        """Blocks from ``height`` on, with quorum certificates, from other peers."""
        ...

    def on_commit_record(self, commit: SignedCommit) -> None:
        """A peer's signed commit record arrived."""
        ...

    def final_height(self) -> int:
        """The highest height known to be final (signed by a quorum)."""
        ...

    def dropped(self, tx_hash: bytes, error: TxError) -> None:
        """A waiting transaction will never be ordered (expired)."""
        ...


@dataclass(frozen=True, kw_only=True, slots=True)
class EtcdOrderingConfig:
    endpoints: list[str]
    name: str
    url: str
    node_key_hex: str
    max_block_txs: int = 2000
    max_block_bytes: int = 1024 * 1024
    max_block_wait_ms: int = 50
    max_pending: int = 50_000
    max_pending_per_signer: int = 10_000
    max_pending_bytes_per_signer: int = 16 * 1024 * 1024
    lease_ttl_s: int = 3
    keep_blocks: int = 200
    compact_every: int = 50
    max_blocks_ahead: int = 4
    forward_interval_ms: int = 10
    resend_after_ms: int = 3000
    etcd_timeout_s: float = 1.5

    def __post_init__(self) -> None:
        if self.max_block_bytes > ETCD_REQUEST_LIMIT - 64 * 1024:
            raise ValueError(
                f"max_block_bytes {self.max_block_bytes} is too close to etcd's request "
                f"limit of {ETCD_REQUEST_LIMIT} bytes"
            )


@dataclass(slots=True)
class CutterInfo:
    """Who cuts blocks now, as the ``cutter`` key says."""

    name: str = ""
    url: str = ""
    key: str = ""


class OrderingContext:
    """The state the ordering parts share, and etcd's health (a linearizable read every
    0.5 s; any failed call marks ordering unavailable at once, any success available)."""

    def __init__(self, config: EtcdOrderingConfig, *, chain_id: str, hooks: PeerHooks) -> None:
        self.config = config
        self.chain_id = chain_id
        self.hooks = hooks
        self.keys = ClusterKeys.for_chain(chain_id)
        self.etcd = EtcdClient(config.endpoints, timeout_s=config.etcd_timeout_s)
        self.http = httpx.AsyncClient(timeout=5)
        self.stopping = False
        self.etcd_ok = True
        self.etcd_error = ""
        self.latest_seen = -1
        """The highest block height seen in etcd."""
        self.resumed_at = 0.0
        """Loop time when a pause of this process was noticed."""

    def see_height(self, height: int) -> None:
        self.latest_seen = max(self.latest_seen, height)

    def mark_etcd(self, ok: bool, error: str = "") -> None:
        if ok:
            if not self.etcd_ok:
                log.warning("etcd is reachable again")
            self.etcd_ok = True
            self.etcd_error = ""
            return
        self.etcd_error = error
        if self.etcd_ok:
            log.warning("etcd unavailable: %s", error)
        self.etcd_ok = False

    async def health_loop(self) -> None:
        """A linearizable read every 0.5 s; a failure marks ordering unavailable at once."""
        while not self.stopping:
            if time.monotonic() - self.etcd.last_ok < 0.5 and self.etcd_ok:
                await self.sleep_noting_pauses(0.5)  # another call just proved etcd answers
                continue
            try:
                await self.etcd.range(self.keys.cutter, count_only=True, timeout_s=1.0)
                self.mark_etcd(True)
            except (EtcdUnavailable, RuntimeError) as exc:
                self.mark_etcd(False, str(exc))
            await self.sleep_noting_pauses(0.5)

    async def sleep_noting_pauses(self, seconds: float) -> None:
        """Sleep; if the sleep overran by more than PAUSE_S, the process was paused."""
        loop = asyncio.get_running_loop()
        before = loop.time()
        await asyncio.sleep(seconds)
        if loop.time() - before > seconds + PAUSE_S:
            log.warning("this process was paused for %.0f s", loop.time() - before)
            self.resumed_at = loop.time()

    async def aclose(self) -> None:
        await self.etcd.aclose()
        await self.http.aclose()
